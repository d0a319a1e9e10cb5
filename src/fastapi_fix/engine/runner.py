"""Run codemods over many files: parallel gather, index, parallel transform, one transaction."""

from __future__ import annotations

import contextlib
import functools
import gc
import multiprocessing
import os
import sys
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi_fix.engine.codemod import Codemod, FixedPoints, SourceFile, Wanted
from fastapi_fix.engine.deep import call_deep
from fastapi_fix.engine.files import SkipFile, read_snapshot, write_refusal
from fastapi_fix.engine.pipeline import GatherOutcome, gather_file, transform_source
from fastapi_fix.engine.results import FileResult, Status
from fastapi_fix.engine.signals import quiet_worker, signals_blocked, terminate_workers
from fastapi_fix.engine.transaction import Gate, Transaction, change_sets

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


# Per-process state: the codemods and their project indexes, set once per worker.
_codemods: dict[str, Codemod] = {}
_indexes: dict[str, Any] = {}


def _init_worker(codemods: Sequence[Codemod], indexes: Mapping[str, Any]) -> None:
    if multiprocessing.parent_process() is not None:
        quiet_worker()
    _codemods.clear()
    _codemods.update({cm.name: cm for cm in codemods})
    _indexes.clear()
    _indexes.update(indexes)


def _gather_job(job: _Job) -> GatherOutcome:
    return call_deep(_gather_one, job)


def _gather_one(job: _Job) -> GatherOutcome:
    try:
        data = job.data if job.data is not None else read_snapshot(job.file.path).data
    except SkipFile as exc:
        return GatherOutcome(job.file, skip=str(exc))
    chosen = [_codemods[name] for name in job.codemods] if job.codemods else None
    return gather_file(job.file, data, list(_codemods.values()), chosen)


def _transform_job(job: _Job) -> FileResult:
    return call_deep(_transform_one, job)


def _transform_one(job: _Job) -> FileResult:
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
        outcome = transform_source(file, data, plan, nesting_checked=job.nesting_checked)
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
    result.snapshot = snapshot
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
    ) -> None:
        self.codemods = list(codemods)
        self.jobs = jobs or os.cpu_count() or 1
        self.progress = progress or (lambda phase, done, total: None)
        self.gate = gate

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
        """
        sources = sources or {}
        jobs = [_Job(f, data=sources.get(f)) for f in (*files, *context)]
        codemods = self._seeded(jobs)
        with _cyclic_gc_paused():
            gathered = self._gather(jobs, codemods)
            fixed = _fixed_points(gathered, len(files), roots, sources)
            indexes = self._build_indexes(codemods, gathered, fixed)
        outcomes = gathered[: len(files)]
        targets = {codemod.name: codemod.targets(indexes[codemod.name]) for codemod in codemods}
        planned = {
            o.file: self._plan(codemods, o, targets) for o in outcomes if not (o.skip or o.failure)
        }
        checked = {o.file for o in outcomes if o.nesting_checked}
        transform_jobs = [
            _Job(f, names, sources.get(f), f in checked) for f, names in planned.items() if names
        ]
        # Results arrive in file order: stream them, so memory stays flat in the project's size.
        transformed = iter(
            self._progress(
                "transform",
                _streamed(_Workers(self.jobs, codemods, indexes), _transform_job, transform_jobs),
                len(transform_jobs),
            )
        )
        if not write:
            for outcome in outcomes:
                yield next(transformed) if planned.get(outcome.file) else self._result(outcome)
            return
        root = journal_root or (roots[0] if roots else Path.cwd())
        with Transaction(root, roots) as transaction:
            changed: list[FileResult] = []
            for outcome in outcomes:
                result = next(transformed) if planned.get(outcome.file) else self._result(outcome)
                if result.status is Status.CHANGED:
                    self._stage(transaction, result)
                    changed.append(result)
                yield result
            self._commit(transaction, changed)

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
        with _Workers(self.jobs, codemods, {}) as workers:
            return self._gather_rounds(workers, jobs, codemods)

    def _gather_rounds(
        self, workers: _Workers, jobs: Sequence[_Job], codemods: Sequence[Codemod]
    ) -> list[GatherOutcome]:
        outcomes = list(self._progress("gather", workers.map(_gather_job, jobs), len(jobs)))
        by_module: dict[str, list[GatherOutcome]] = {}
        rounds = 1
        for outcome in outcomes:
            for name in (outcome.file.module_name, *outcome.file.aliases):
                by_module.setdefault(name, []).append(outcome)
        while True:
            wanted: dict[SourceFile, list[str]] = {}
            for codemod in codemods:
                facts = {o.file: o.facts[codemod.name] for o in outcomes if codemod.name in o.facts}
                for outcome in _wanted_files(codemod.more_to_gather(facts), outcomes, by_module):
                    if codemod.name not in outcome.gathered and not (
                        outcome.skip or outcome.failure
                    ):
                        wanted.setdefault(outcome.file, []).append(codemod.name)
            if not wanted:
                break
            rounds += 1
            more = [
                _Job(job.file, tuple(wanted[job.file]), job.data)
                for job in jobs
                if job.file in wanted
            ]
            positions = {o.file: o for o in outcomes}
            phase = f"gather, round {rounds}"
            for later in self._progress(phase, workers.map(_gather_job, more), len(more)):
                positions[later.file].merge(later)
        for outcome in outcomes:
            outcome.words = frozenset()
        return outcomes

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


def _fixed_points(
    outcomes: Sequence[GatherOutcome],
    named: int,
    roots: Sequence[Path],
    sources: Mapping[SourceFile, bytes],
) -> dict[Path, str]:
    """The files this run will not write, and why: the first ``named`` outcomes are the files
    to rewrite, the others context. Checked before any index is built (see `FixedPoints`);
    a file given in memory (``sources``) has no disk state to check."""
    fixed: dict[Path, str] = {}
    for position, outcome in enumerate(outcomes):
        file = outcome.file
        if position >= named:
            reason: str | None = "it is not among the files to rewrite (not named, or excluded)"
        else:
            reason = outcome.skip or outcome.failure
            if reason is None and file not in sources:
                reason = write_refusal(file.path, list(roots))
        if reason is not None:
            fixed[file.path] = reason
    return fixed


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

    def __init__(self, jobs: int, codemods: Sequence[Codemod], indexes: Mapping[str, Any]) -> None:
        self.jobs = jobs
        self.initargs = (codemods, indexes)
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


def _wanted_files(
    wanted: Wanted,
    outcomes: Sequence[GatherOutcome],
    by_module: Mapping[str, Sequence[GatherOutcome]],
) -> Iterator[GatherOutcome]:
    if not wanted:
        return
    for module in wanted.modules:
        yield from by_module.get(module, ())
    groups = [wanted.names, *wanted.together, *(group for _, group in wanted.within)]
    if any(not name.isascii() for group in groups for name in group):
        yield from outcomes  # a word match needs ASCII; any other name could be anywhere
        return
    names = {name.encode() for name in wanted.names}
    # (package the file must be inside, or None; the words it must hold)
    word_groups = [
        *((None, _encoded(group)) for group in wanted.together),
        *((package, _encoded(group)) for package, group in wanted.within),
    ]
    holding = _files_holding(outcomes, frozenset().union(*(words for _, words in word_groups)))
    matched = {
        index
        for index, outcome in enumerate(outcomes)
        if names and not names.isdisjoint(outcome.words)
    }
    for package, words in word_groups:
        # Only the files holding the group's rarest word can hold the whole group.
        candidates = (
            min((holding[word] for word in words), key=len) if words else range(len(outcomes))
        )
        for index in candidates:
            if (
                index not in matched
                and words <= outcomes[index].words
                and (package is None or package in _packages(outcomes[index].file.module_name))
            ):
                matched.add(index)
    yield from (outcomes[index] for index in sorted(matched))


@functools.lru_cache(maxsize=1 << 16)  # the same groups come back round after round
def _encoded(group: frozenset[str]) -> frozenset[bytes]:
    return frozenset(name.encode() for name in group)


def _files_holding(
    outcomes: Sequence[GatherOutcome], words: frozenset[bytes]
) -> dict[bytes, list[int]]:
    """Word -> the indexes of the files holding it, for the words of the groups."""
    holding: dict[bytes, list[int]] = {word: [] for word in words}
    if words:
        for index, outcome in enumerate(outcomes):
            for word in words.intersection(outcome.words):
                holding[word].append(index)
    return holding


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
