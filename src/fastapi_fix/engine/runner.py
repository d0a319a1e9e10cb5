"""Run codemods over many files: parallel gather, index, parallel transform, one transaction."""

from __future__ import annotations

import contextlib
import functools
import gc
import hashlib
import multiprocessing
import os
import sys
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi_fix.engine.cache import (
    GATHER,
    TRANSFORM,
    Cache,
    CachedResult,
    NotFingerprintable,
    RunRecord,
    content_hash,
    file_identity,
    fingerprint,
)
from fastapi_fix.engine.codemod import Codemod, FixedPoints, SourceFile, Wanted
from fastapi_fix.engine.deep import call_deep
from fastapi_fix.engine.diff import unified_diff
from fastapi_fix.engine.files import RealPaths, SkipFile, read_snapshot, write_refusal
from fastapi_fix.engine.results import FileResult, Status
from fastapi_fix.engine.signals import quiet_worker, signals_blocked, terminate_workers
from fastapi_fix.engine.transaction import Gate, Transaction, change_sets

if TYPE_CHECKING:  # the pipeline (LibCST) is imported by the runs that gather or transform:
    # a run replayed from the cache starts without it
    from fastapi_fix.engine.pipeline import GatherOutcome

# (phase, files done, files in phase) -> None
ProgressCallback = Callable[[str, int, int], None]
# Below this many files per process, starting processes costs more than it saves.
MIN_FILES_PER_JOB = 16


@dataclass(frozen=True)
class _Job:
    file: SourceFile
    # Codemod names to apply (transform) or to gather for (later gather rounds; empty in
    # the first round: every codemod that wants the file), in registry order.
    codemods: tuple[str, ...] = ()
    # In-memory source (tests); None means read the file from disk.
    data: bytes | None = None
    # Transform: the gather measured the file's nesting already (see `GatherOutcome`).
    nesting_checked: bool = False
    # The key of its cache entry (`Cache.entry_key`) and the content hash it is for; None
    # when the run keeps no cache (or, for a transform, a plan cannot be fingerprinted).
    cache_key: str | None = None
    content: str | None = None
    # Transform: a change comes with its unified diff (a preview), made where it was computed.
    diff: bool = False


# Per-process state: the codemods, their project indexes and the run's cache, set once per worker.
_codemods: dict[str, Codemod] = {}
_indexes: dict[str, Any] = {}
_cache: list[Cache] = []


def _init_worker(
    codemods: Sequence[Codemod], indexes: Mapping[str, Any], cache: Cache | None = None
) -> None:
    if multiprocessing.parent_process() is not None:
        quiet_worker()
    _codemods.clear()
    _codemods.update({cm.name: cm for cm in codemods})
    _indexes.clear()
    _indexes.update(indexes)
    _cache[:] = [cache] if cache is not None else []


def _gather_job(job: _Job) -> GatherOutcome:
    return call_deep(_gather_one, job)


def _gather_one(job: _Job) -> GatherOutcome:
    from fastapi_fix.engine import pipeline

    try:
        data = job.data if job.data is not None else read_snapshot(job.file.path).data
    except SkipFile as exc:
        return pipeline.GatherOutcome(job.file, skip=str(exc))
    chosen = [_codemods[name] for name in job.codemods] if job.codemods else None
    outcome = pipeline.gather_file(job.file, data, list(_codemods.values()), chosen)
    # Stored by the process that gathered it, and only for the bytes the key was made for.
    if _cache and job.cache_key is not None and content_hash(data) == job.content:
        _cache[0].store(GATHER, job.cache_key, outcome)
    return outcome


def _transform_job(job: _Job) -> FileResult:
    return call_deep(_transform_one, job)


def _transform_one(job: _Job) -> FileResult:
    from fastapi_fix.engine import pipeline

    file = job.file
    data, snapshot = job.data, None
    if data is None:
        try:
            snapshot = read_snapshot(file.path)
        except SkipFile as exc:
            return FileResult(file.path, file.display_path, Status.SKIPPED, str(exc))
        data = snapshot.data
    plan = [(_codemods[name], _indexes.get(name)) for name in job.codemods]
    with _cyclic_gc_paused():  # a LibCST tree is many acyclic objects, freed by reference counting
        outcome = pipeline.transform_source(file, data, plan, nesting_checked=job.nesting_checked)
    result = FileResult(
        file.path,
        file.display_path,
        Status.UNCHANGED,
        old=data,
        findings=outcome.findings,
        edits=outcome.edits,
        requires=outcome.requires,
    )
    if outcome.skip:
        result.status, result.reason = Status.SKIPPED, outcome.skip
    elif outcome.failure:
        result.status, result.reason = Status.FAILED, outcome.failure
    elif outcome.new is not None:
        result.status, result.new = Status.CHANGED, outcome.new
        if job.diff:
            result.patch = unified_diff(data, outcome.new, file.display_path)
    result.snapshot = snapshot
    if _cache and job.cache_key is not None and content_hash(data) == job.content:
        _cache[0].store(TRANSFORM, job.cache_key, CachedResult.of(result))
    return result


class Runner:
    """Runs a fixed list of codemods over files; ``jobs`` processes (1 = in this process).

    ``gate``: asked about each change set once its new contents are staged, before anything is
    written; the problems it returns keep the set from being written.
    """

    def __init__(
        self,
        codemods: Sequence[Codemod],
        jobs: int | None = None,
        progress: ProgressCallback | None = None,
        gate: Gate | None = None,
        cache: Cache | None = None,
    ) -> None:
        self.codemods = list(codemods)
        self.jobs = jobs or os.cpu_count() or 1
        self.progress = progress or (lambda phase, done, total: None)
        self.gate = gate
        # Where what this run gathers and finds is kept for the next one (see `engine.cache`).
        self.cache = cache

    def run(
        self,
        files: Sequence[SourceFile],
        *,
        write: bool = False,
        roots: Sequence[Path] = (),
        sources: Mapping[SourceFile, bytes] | None = None,
        context: Sequence[SourceFile] = (),
        journal_root: Path | None = None,
    ) -> Iterator[FileResult]:
        """Yield one result per file, in the order of ``files``; write changes if asked.

        Writing is one transaction (see `engine.transaction`), its journal in ``journal_root``
        (default: the first of ``roots``): each change is staged as its result comes, and all
        are written after the last result was yielded, change set by change set (files linked
        by `FileResult.requires` are written together or not at all). A result whose write is
        refused then is updated in place (``status``, ``reason``, ``write_refused``), and a
        written one gets ``written``.

        ``context``: other files of the project, gathered (so the codemods know every caller)
        but never transformed.

        With a cache, a run whose every input is as in the cached run replays its results;
        otherwise each file's gather, and each transform, is reused where the cache keeps one
        for the same bytes (and plans).
        """
        sources = sources or {}
        hashes = self._content_hashes((*files, *context), sources)
        refusals = _write_refusals(files, roots, sources)
        digest = self._run_digest(files, context, refusals, hashes)
        replayed = self._replayed(digest, files, roots, sources) if digest else None
        results = (
            self._computed(files, context, sources, hashes, refusals, diff=not write)
            if replayed is None
            else iter(replayed)
        )
        recorded: list[tuple[str | None, CachedResult]] | None = [] if digest else None
        root = journal_root or (roots[0] if roots else Path.cwd())
        for result in self._delivered(results, write, roots, root):
            if write:  # a diff is a preview's (one from the cache may come with it)
                result.patch = None
            if recorded is not None:
                recorded.append((hashes.get(result.path), CachedResult.of(result)))
            yield result
        if self.cache is not None:
            # A run that wrote files changed its own inputs: its record would never match. Nor
            # is a run recorded whose files changed while it read them.
            if (
                digest
                and recorded is not None
                and not (write and _changes(recorded))
                and self._content_hashes((*files, *context), sources, again=True) == hashes
            ):
                self.cache.store_run(RunRecord(digest, recorded), _scope(roots))
            self.cache.close()

    def _computed(
        self,
        files: Sequence[SourceFile],
        context: Sequence[SourceFile],
        sources: Mapping[SourceFile, bytes],
        hashes: Mapping[Path, str | None],
        refusals: Mapping[Path, str | None],
        *,
        diff: bool,
    ) -> Iterator[FileResult]:
        """Each file's result, from gather, index and transform; with its diff if ``diff``."""
        for codemod in self.codemods:
            codemod.load()
        jobs = [self._gather_job_for(f, sources.get(f), hashes) for f in (*files, *context)]
        codemods = self._seeded(jobs)
        with _cyclic_gc_paused():
            gathered = self._gather(jobs, codemods)
            fixed = _fixed_points(gathered, len(files), refusals)
            indexes = self._build_indexes(codemods, gathered, fixed)
        outcomes = gathered[: len(files)]
        targets = {codemod.name: codemod.targets(indexes[codemod.name]) for codemod in codemods}
        planned = {
            o.file: self._plan(codemods, o, targets) for o in outcomes if not (o.skip or o.failure)
        }
        checked = {o.file for o in outcomes if o.nesting_checked}
        transform_jobs = [
            self._transform_job_for(
                _Job(f, names, sources.get(f), f in checked, diff=diff), codemods, indexes, hashes
            )
            for f, names in planned.items()
            if names
        ]
        stored = {job.file: self._cached_transform(job) for job in transform_jobs}
        fresh = [job for job in transform_jobs if stored[job.file] is None]
        # Results arrive in file order: stream them, so memory stays flat in the project's size.
        transformed = _streamed(
            _Workers(self.jobs, codemods, indexes, self.cache), _transform_job, fresh
        )
        results = (
            next(transformed) if (hit := stored[job.file]) is None else hit
            for job in transform_jobs
        )
        in_order = iter(self._progress("transform", results, len(transform_jobs)))
        for outcome in outcomes:
            yield next(in_order) if planned.get(outcome.file) else self._result(outcome)

    def _delivered(
        self, results: Iterable[FileResult], write: bool, roots: Sequence[Path], journal_root: Path
    ) -> Iterator[FileResult]:
        """The results as they come; when writing, each change staged, then all committed."""
        if not write:
            yield from results
            return
        with Transaction(journal_root, roots) as transaction:
            changed: list[FileResult] = []
            for result in results:
                if result.status is Status.CHANGED:
                    self._stage(transaction, result)
                    changed.append(result)
                yield result
            self._commit(transaction, changed)

    # -- the cache ------------------------------------------------------------------------------

    def _content_hashes(
        self, files: Sequence[SourceFile], sources: Mapping[SourceFile, bytes], again: bool = False
    ) -> dict[Path, str | None]:
        if self.cache is None:
            return {}
        hashes = self.cache.content_hashes((f.path for f in files if f not in sources), again)
        hashes.update({f.path: content_hash(data) for f, data in sources.items()})
        return hashes

    def _run_digest(
        self,
        files: Sequence[SourceFile],
        context: Sequence[SourceFile],
        refusals: Mapping[Path, str | None],
        hashes: Mapping[Path, str | None],
    ) -> str | None:
        """Every input of the run's outcome, hashed: each file's place and bytes, which files
        may be written, and what the codemods read besides (None: not all are known, such
        as an unreadable file, so the run is not replayed)."""
        if self.cache is None or any(hashes.get(f.path) is None for f in (*files, *context)):
            return None
        digest = hashlib.blake2b(self.cache.settings.encode(), digest_size=20)
        for kind, group in ((b"file", files), (b"context", context)):
            for file in group:
                refusal = refusals.get(file.path)
                digest.update(kind + file_identity(file) + repr(refusal).encode())
                digest.update(str(hashes[file.path]).encode())
        everything = [*files, *context]
        for codemod in self.codemods:
            digest.update(repr(codemod.external_state(everything)).encode())
        return digest.hexdigest()

    def _replayed(
        self,
        digest: str,
        files: Sequence[SourceFile],
        roots: Sequence[Path],
        sources: Mapping[SourceFile, bytes],
    ) -> list[FileResult] | None:
        """The cached run's results, when its digest is this run's (None otherwise). A change
        comes with the file's bytes read again, and is replayed only if they are still the
        bytes it was computed from."""
        assert self.cache is not None
        record = self.cache.load_run(_scope(roots))
        if record is None or record.digest != digest or len(record.results) != len(files):
            return None
        results = []
        for file, (content, cached) in zip(files, record.results, strict=True):
            result = cached.result(file)
            if not _read_again(result, file, sources.get(file), content):
                return None
            results.append(result)
        self.progress("replay", len(results), len(results))
        return results

    def _gather_job_for(
        self, file: SourceFile, data: bytes | None, hashes: Mapping[Path, str | None]
    ) -> _Job:
        content = hashes.get(file.path)
        if self.cache is None or content is None:
            return _Job(file, data=data)
        return _Job(
            file, data=data, cache_key=self.cache.entry_key(file, content, ()), content=content
        )

    def _cached_gather(self, job: _Job) -> GatherOutcome | None:
        """The job's gather, as an earlier run stored it."""
        if self.cache is None or job.cache_key is None:
            return None
        from fastapi_fix.engine.pipeline import GatherOutcome

        outcome = self.cache.load(GATHER, job.cache_key)
        if isinstance(outcome, GatherOutcome) and outcome.file == job.file:
            return outcome
        return None

    def _transform_job_for(
        self,
        job: _Job,
        codemods: Sequence[Codemod],
        indexes: Mapping[str, Any],
        hashes: Mapping[Path, str | None],
    ) -> _Job:
        """The job, keyed for the cache by the file's bytes and every plan its codemods read."""
        content = hashes.get(job.file.path)
        if self.cache is None or content is None:
            return job
        by_name = {codemod.name: codemod for codemod in codemods}
        try:
            plans = []
            for name in job.codemods:
                plan = by_name[name].file_plan(indexes[name], job.file)
                if plan is None:
                    return job
                plans.append(fingerprint(plan))
        except NotFingerprintable:
            return job
        key = self.cache.entry_key(job.file, content, job.codemods, *plans)
        return replace(job, cache_key=key, content=content)

    def _cached_transform(self, job: _Job) -> FileResult | None:
        """The job's result as an earlier run stored it; a change comes with the file as read
        now, if it still holds the bytes the result was computed from."""
        if self.cache is None or job.cache_key is None:
            return None
        cached = self.cache.load(TRANSFORM, job.cache_key)
        if not isinstance(cached, CachedResult):
            return None
        result = cached.result(job.file)
        return result if _read_again(result, job.file, job.data, job.content) else None

    def _seeded(self, jobs: Sequence[_Job]) -> list[Codemod]:
        """The codemods that have something to do in this project (see ``Codemod.seed_markers``).

        One cheap byte scan, stopping as soon as every codemod found a seed, saves a
        whole-project gather for each codemod that found none.
        """
        waiting = [cm for cm in self.codemods if cm.seed_markers]
        for job in jobs:
            if not waiting:
                break
            data = job.data if job.data is not None else _read_for_scan(job.file.path)
            waiting = [cm for cm in waiting if not cm.seeded_by(data)]
        return [cm for cm in self.codemods if cm not in waiting]

    def _gather(self, jobs: Sequence[_Job], codemods: Sequence[Codemod]) -> list[GatherOutcome]:
        """Gather rounds: first the files each codemod wants by their bytes, then, until no
        codemod wants more, the further files each asks for (`Codemod.more_to_gather`)."""
        with _Workers(self.jobs, codemods, {}, self.cache) as workers:
            return self._gather_rounds(workers, jobs, codemods)

    def _gather_rounds(
        self, workers: _Workers, jobs: Sequence[_Job], codemods: Sequence[Codemod]
    ) -> list[GatherOutcome]:
        words = _WordIndex()
        first = self._progress("gather", self._gathered(workers, jobs), len(jobs))
        outcomes = [words.take(outcome) for outcome in first]
        by_module: dict[str, list[GatherOutcome]] = {}
        rounds = 1
        for outcome in outcomes:
            for name in (outcome.file.module_name, *outcome.file.aliases):
                by_module.setdefault(name, []).append(outcome)
        # How many files' facts each codemod had when last asked: a codemod whose facts did not
        # grow since would ask for what it asked before, all gathered by now (facts only grow:
        # a file is gathered again only for codemods that have not gathered it).
        asked: dict[str, int] = {}
        while True:
            wanted: dict[SourceFile, list[str]] = {}
            for codemod in codemods:
                facts = {o.file: o.facts[codemod.name] for o in outcomes if codemod.name in o.facts}
                if asked.get(codemod.name) == len(facts):
                    continue
                asked[codemod.name] = len(facts)
                asking = codemod.more_to_gather(facts)
                for outcome in _wanted_files(asking, outcomes, by_module, words):
                    if codemod.name not in outcome.gathered and not (
                        outcome.skip or outcome.failure
                    ):
                        wanted.setdefault(outcome.file, []).append(codemod.name)
            if not wanted:
                break
            rounds += 1
            more = [
                self._later_job(job, tuple(wanted[job.file])) for job in jobs if job.file in wanted
            ]
            positions = {o.file: o for o in outcomes}
            phase = f"gather, round {rounds}"
            for later in self._progress(phase, self._gathered(workers, more), len(more)):
                positions[later.file].merge(later)
        return outcomes

    def _gathered(self, workers: _Workers, jobs: Sequence[_Job]) -> Iterator[GatherOutcome]:
        """Each job's outcome, in order: from the cache where an earlier run stored it, else
        gathered now (in processes only when the files left are worth starting them)."""
        stored = [self._cached_gather(job) for job in jobs]
        fresh = workers.map(
            _gather_job, [job for job, hit in zip(jobs, stored, strict=True) if hit is None]
        )
        for hit in stored:
            yield hit if hit is not None else next(fresh)

    def _later_job(self, job: _Job, codemods: tuple[str, ...]) -> _Job:
        """A later gather round's job: the same file, for these codemods."""
        if self.cache is None or job.content is None:
            return _Job(job.file, codemods, job.data)
        key = self.cache.entry_key(job.file, job.content, codemods)
        return _Job(job.file, codemods, job.data, cache_key=key, content=job.content)

    def _build_indexes(
        self,
        codemods: Sequence[Codemod],
        outcomes: Sequence[GatherOutcome],
        fixed: Mapping[Path, str],
    ) -> dict[str, Any]:
        indexes: dict[str, Any] = {}
        for codemod in codemods:
            phase = f"index {codemod.name}"
            self.progress(phase, 0, 1)  # one step, maybe long: the display shows it under way
            facts = {o.file: o.facts[codemod.name] for o in outcomes if codemod.name in o.facts}
            unparsed = [o.file for o in outcomes if not o.ast_ok and codemod.name in o.gathered]
            suppressed = {
                o.file.path: "it holds a `# fastapi-fix: ignore` for this codemod"
                for o in outcomes
                if o.suppresses(codemod.name) and o.file.path not in fixed
            }
            indexes[codemod.name] = codemod.build_index(
                facts, unparsed, fixed=FixedPoints({**fixed, **suppressed})
            )
            self.progress(phase, 1, 1)
        return indexes

    @staticmethod
    def _plan(
        codemods: Sequence[Codemod],
        outcome: GatherOutcome,
        targets: Mapping[str, Collection[Path] | None],
    ) -> tuple[str, ...]:
        """The codemods to run on this file, in registry order."""
        names = []
        for codemod in codemods:
            wanted = targets[codemod.name]
            applicable = codemod.name in outcome.applicable
            if (
                (wanted is None and applicable)
                or (wanted is not None and outcome.file.path in wanted)
                or (applicable and not outcome.ast_ok)
            ):
                names.append(codemod.name)
        return tuple(names)

    @staticmethod
    def _result(outcome: GatherOutcome) -> FileResult:
        """The result of a file that needed no transform."""
        file = outcome.file
        if outcome.skip:
            return FileResult(file.path, file.display_path, Status.SKIPPED, outcome.skip)
        if outcome.failure:
            return FileResult(file.path, file.display_path, Status.FAILED, outcome.failure)
        return FileResult(file.path, file.display_path, Status.UNCHANGED)

    @staticmethod
    def _stage(transaction: Transaction, result: FileResult) -> None:
        assert result.new is not None and result.snapshot is not None
        try:
            transaction.write(result.path, result.new, result.snapshot)
        except SkipFile as exc:
            result.status, result.reason, result.write_refused = Status.SKIPPED, str(exc), True

    def _commit(self, transaction: Transaction, changed: Sequence[FileResult]) -> None:
        """Write the change sets whose files are all staged and that the gate lets through."""
        by_path = {result.path: result for result in changed}
        staged = set(transaction.staged())
        sets = change_sets({result.path: result.requires for result in changed})
        # Checking each change set, then the one commit that writes them all.
        self.progress("write", 0, len(sets) + 1)
        for done, members in enumerate(sets, 1):
            results = [by_path[path] for path in members if path in staged]
            blocker = next((path for path in members if path not in staged), None)
            if blocker is not None:
                _refuse(transaction, results, _needs(blocker, by_path.get(blocker)))
            elif self.gate is not None:
                problems = self.gate(transaction.new_contents(members))
                if problems:
                    _refuse(transaction, results, "; ".join(problems))
            self.progress("write", done, len(sets) + 1)
        written = [by_path[path] for path in transaction.staged()]
        try:
            transaction.commit()
        except OSError as exc:
            for result in written:
                result.status = Status.FAILED
                result.reason = f"write failed, nothing written: {exc}"
            return
        finally:
            self.progress("write", len(sets) + 1, len(sets) + 1)
        for result in written:
            result.written = True

    def _progress(self, phase: str, results: Iterable[Any], total: int) -> Iterator[Any]:
        for done, result in enumerate(results, 1):
            self.progress(phase, done, total)
            yield result


def _write_refusals(
    files: Sequence[SourceFile], roots: Sequence[Path], sources: Mapping[SourceFile, bytes]
) -> dict[Path, str | None]:
    """Why this run would refuse to write each file it names, as they are before it starts (a
    file given in memory, ``sources``, has no disk state to check)."""
    real_paths = RealPaths()
    return {
        file.path: write_refusal(file.path, list(roots), real_paths)
        for file in files
        if file not in sources
    }


def _fixed_points(
    outcomes: Sequence[GatherOutcome], named: int, refusals: Mapping[Path, str | None]
) -> dict[Path, str]:
    """The files this run will not write, and why: the first ``named`` outcomes are the files
    to rewrite, the others context. Known before any index is built (see `FixedPoints`)."""
    fixed: dict[Path, str] = {}
    for position, outcome in enumerate(outcomes):
        if position >= named:
            reason: str | None = "it is not among the files to rewrite (not named, or excluded)"
        else:
            reason = outcome.skip or outcome.failure or refusals.get(outcome.file.path)
        if reason is not None:
            fixed[outcome.file.path] = reason
    return fixed


def _read_again(
    result: FileResult, file: SourceFile, data: bytes | None, content: str | None
) -> bool:
    """A cached change gets the file as it is now (bytes, and the snapshot a write checks
    against); False when those are no longer the bytes it was computed from."""
    if result.status is not Status.CHANGED:
        return True
    if data is None:
        try:
            result.snapshot = read_snapshot(file.path)
        except SkipFile:
            return False
        data = result.snapshot.data
    result.old = data
    return content_hash(data) == content


def _scope(roots: Sequence[Path]) -> list[str]:
    """What a run record is kept for: the paths the run was given."""
    return sorted(os.fspath(root) for root in roots)


def _changes(recorded: Sequence[tuple[str | None, CachedResult]]) -> bool:
    return any(cached.status is Status.CHANGED for _, cached in recorded)


def _refuse(transaction: Transaction, results: Sequence[FileResult], reason: str) -> None:
    transaction.discard([result.path for result in results])
    for result in results:
        result.status, result.reason, result.write_refused = Status.SKIPPED, reason, True


def _needs(path: Path, result: FileResult | None) -> str:
    """Why a change set is not written: a file it needs is not written."""
    shown = result.display_path if result is not None else os.path.relpath(path)
    why = result.reason if result is not None else "which this run does not rewrite"
    return f"not written: needs {shown} rewritten with it ({why})"


class _Workers:
    """The processes of one phase: started when a batch is worth it, kept for its later
    batches (gather rounds), stopped on exit. Small batches run in this process."""

    def __init__(
        self,
        jobs: int,
        codemods: Sequence[Codemod],
        indexes: Mapping[str, Any],
        cache: Cache | None = None,
    ) -> None:
        self.jobs = jobs
        self.initargs = (codemods, indexes, cache)
        self.executor: ProcessPoolExecutor | None = None
        self.processes = 1

    def map(self, fn: Callable[[_Job], Any], jobs: Sequence[_Job]) -> Iterator[Any]:
        processes = min(self.jobs, len(jobs) // MIN_FILES_PER_JOB)
        if processes <= 1 and self.executor is None:
            _init_worker(*self.initargs)
            return map(fn, jobs)
        if self.executor is None:
            self.executor = ProcessPoolExecutor(
                processes,
                mp_context=_mp_context(),
                initializer=_init_worker,
                initargs=self.initargs,
            )
            self.processes = processes
        chunksize = max(1, min(64, len(jobs) // (self.processes * 8)))
        return _in_order(self.executor, fn, jobs, chunksize)

    def __enter__(self) -> _Workers:
        return self

    def __exit__(self, kind: type[BaseException] | None, *exc_info: object) -> None:
        if self.executor is None:
            return
        if kind is not None and not issubclass(kind, Exception):
            # Interrupted (or abandoned): the processes are not waited for, they are stopped.
            # Its futures are left for the pool's own thread to mark broken.
            terminate_workers()
            self.executor.shutdown(wait=False)
        else:
            self.executor.shutdown(cancel_futures=True)


def _in_order(
    executor: ProcessPoolExecutor, fn: Callable[[_Job], Any], jobs: Sequence[_Job], chunksize: int
) -> Iterator[Any]:
    """``executor.map`` without its cancelling of the futures left when the caller stops: on
    Python 3.11 a pool whose processes are then terminated fails on cancelled futures
    (InvalidStateError in its thread, a traceback and a hang at exit)."""
    chunks = [jobs[start : start + chunksize] for start in range(0, len(jobs), chunksize)]
    with signals_blocked():  # the first submit starts the processes
        futures = [executor.submit(_run_chunk, fn, chunk) for chunk in chunks]
    for future in futures:
        yield from future.result()


def _run_chunk(fn: Callable[[_Job], Any], chunk: Sequence[_Job]) -> list[Any]:
    return [fn(job) for job in chunk]


def _streamed(workers: _Workers, fn: Callable[[_Job], Any], jobs: Sequence[_Job]) -> Iterator[Any]:
    """Results in order, as they come; the processes stop when the caller stops reading."""
    with workers:
        yield from workers.map(fn, jobs)


class _WordIndex:
    """Word -> the positions of the first round's files holding it (the files some codemod
    did not gather then: any may be wanted later). One table for the project, filled as the
    files come, where a set per file took 90 MB for 6,000 files."""

    def __init__(self) -> None:
        self.files: dict[bytes, list[int]] = {}
        self.taken = 0

    def take(self, outcome: GatherOutcome) -> GatherOutcome:
        """``outcome``, its words moved into the table."""
        for word in outcome.words:
            self.files.setdefault(word, []).append(self.taken)
        outcome.words = frozenset()
        self.taken += 1
        return outcome

    def holding_any(self, words: Iterable[bytes]) -> set[int]:
        return set().union(*(self.files.get(word, ()) for word in words))

    def holding_all(self, words: Collection[bytes]) -> set[int]:
        postings = sorted((self.files.get(word, []) for word in words), key=len)
        return set(postings[0]).intersection(*postings[1:]) if postings else set()


def _wanted_files(
    wanted: Wanted,
    outcomes: Sequence[GatherOutcome],
    by_module: Mapping[str, Sequence[GatherOutcome]],
    words: _WordIndex,
) -> Iterator[GatherOutcome]:
    if not wanted:
        return
    for module in wanted.modules:
        yield from by_module.get(module, ())
    groups = [wanted.names, *wanted.together, *(group for _, group in wanted.within)]
    if any(not name.isascii() for group in groups for name in group):
        yield from outcomes  # a word match needs ASCII; any other name could be anywhere
        return
    matched = words.holding_any(name.encode() for name in wanted.names)
    # (package the file must be inside, or None; the words it must hold)
    word_groups = [
        *((None, _encoded(group)) for group in wanted.together),
        *((package, _encoded(group)) for package, group in wanted.within),
    ]
    for package, group in word_groups:
        candidates = words.holding_all(group) if group else range(len(outcomes))
        for position in candidates:
            if position not in matched and (
                package is None or package in _packages(outcomes[position].file.module_name)
            ):
                matched.add(position)
    yield from (outcomes[position] for position in sorted(matched))


@functools.lru_cache(maxsize=1 << 16)  # the same groups come back round after round
def _encoded(group: frozenset[str]) -> frozenset[bytes]:
    return frozenset(name.encode() for name in group)


def _packages(module: str) -> Iterator[str]:
    """The packages a module is inside: ``a`` and ``a.b`` for ``a.b.c``."""
    parts = module.split(".")
    return (".".join(parts[:end]) for end in range(1, len(parts)))


def _read_for_scan(path: Path) -> bytes:
    """The file's bytes for the seed scan; an unreadable file seeds nothing (gather reports it)."""
    try:
        return path.read_bytes()
    except OSError:
        return b""


def _mp_context() -> multiprocessing.context.BaseContext:
    # fork shares the already-imported codemods for free; elsewhere fall back to spawn.
    if sys.platform == "linux":
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


@contextlib.contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """For phases that create many objects and no garbage cycles: facts of a whole project
    (small objects that live until the run ends) and LibCST trees (acyclic, freed by
    reference counting). The cyclic collector would walk them over and over for nothing."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
