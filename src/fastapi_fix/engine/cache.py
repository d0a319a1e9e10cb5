"""A cache of what runs found, so that a run over a tree that barely changed costs little.

Every entry is keyed so that a hit gives exactly what a cold run would have given (after ruff,
mypy and black; research: project-model.md §4). The run's settings (`settings_key`: the tool
and its sources, the Python, each codemod with every option) are part of every key.

- **gather entries**: what the codemods gathered from one file in one gather step, keyed by
  the file's bytes, its place in the project (path, display path, module name, aliases) and
  the codemods asked for. One edited file costs one re-gather. The process that gathered a
  file writes its entry.
- **transform entries**: a file's rewrite, keyed by its bytes, its place and the plan each of
  its codemods made for it (`Codemod.file_plan`, `fingerprint`): an edit elsewhere that leaves
  a file's plans as they were re-transforms nothing there (mypy's early cut-off, on plans).
- **remembered entries** (`Cache.remembered`): what a function of the whole tree answered
  (discovery, module names), keyed by its inputs.
- **run records**, one per settings key and set of paths given: the digest of every input of the last run (each
  file's place and bytes, which files it may write, what a codemod reads besides:
  `Codemod.external_state`) and its results. The same digest replays them: nothing parsed,
  no index built.

On disk, under the cache folder (``.fastapi-fix_cache/`` at the project root): a
``CACHEDIR.TAG`` and a ``.gitignore`` of ``*``, then ``<SCHEMA>-<version>/`` holding
``<kind>/<2 hex>/<rest>`` entries, ``runs/<key>`` and ``stats`` (a file's size, times
and inode when its bytes were hashed: an unchanged file is not read again). Every entry is
written to a temp file then renamed, and starts with a magic line and the digest of its
payload: a truncated or foreign entry is a miss and gets rewritten, never trusted. Entries
are pickles: the cache lives in the project and is as trusted as its code (as black's is).
Entries unused for 30 days are removed, at most once a day (ruff's rule).
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import itertools
import os
import pickle
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path, PurePath
from typing import Any, TypeVar

import fastapi_fix
from fastapi_fix.engine.codemod import Codemod, SourceFile
from fastapi_fix.engine.results import Edit, FileResult, Finding, Status

T = TypeVar("T")

ENV_VAR = "FASTAPI_FIX_CACHE_DIR"
DEFAULT_FOLDER = ".fastapi-fix_cache"
# Bumped whenever what an entry holds changes shape.
SCHEMA = "1"
_MAGIC = b"fastapi-fix cache " + SCHEMA.encode() + b"\n"
_DIGEST_SIZE = 20
# The kinds of entries: about one file, and about the whole tree (`Cache.remembered`).
GATHER, TRANSFORM, REMEMBERED = "gather", "transform", "remembered"
_PRUNE_AFTER_SECONDS = 30 * 24 * 3600
_PRUNE_EVERY_SECONDS = 24 * 3600
# A file changed less than this long before its bytes were hashed may change again within
# the same timestamp tick: its stat is not recorded (git's "racily clean" rule).
_RACY_NANOSECONDS = 2_000_000_000
_written = itertools.count()
_CACHEDIR_TAG = (
    b"Signature: 8a477f597d28d172789f06886806bc55\n"
    b"# This file is a cache directory tag created by fastapi-fix.\n"
    b"# For information about cache directory tags see https://bford.info/cachedir/\n"
)


def content_hash(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=_DIGEST_SIZE).hexdigest()


@cache
def tool_fingerprint() -> str:
    """The tool's version, its own sources and the Python running it: a build changed without
    a new version number must not read the old entries (mypy appends its git revision), and
    ``ast`` output differs between Python versions."""
    digest = hashlib.blake2b(digest_size=_DIGEST_SIZE)
    digest.update(f"{fastapi_fix.__version__} {sys.version_info[:2]}".encode())
    package = Path(fastapi_fix.__file__).parent
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def file_signature(path: Path) -> tuple[int, int, int, int] | None:
    """What changes whenever a file's bytes do (mtime, ctime, size, inode); None: no such file."""
    try:
        info = os.stat(path)
    except OSError:
        return None
    return (info.st_mtime_ns, info.st_ctime_ns, info.st_size, info.st_ino)


def settings_key(codemods: Sequence[Codemod]) -> str:
    """Everything but the files that decides a run's outcome: the tool, and each codemod run
    with every setting it was given (`Codemod.cache_key`)."""
    digest = hashlib.blake2b(tool_fingerprint().encode(), digest_size=_DIGEST_SIZE)
    for codemod in codemods:
        digest.update(repr(codemod.cache_key()).encode())
    # Every option given to the run: one codemod reads another's (blocking-calls).
    for options in sorted({repr(sorted(codemod.settings.options.items())) for codemod in codemods}):
        digest.update(options.encode())
    return digest.hexdigest()


class NotFingerprintable(Exception):
    """A value holds an object whose equality `fingerprint` cannot vouch for."""


def fingerprint(value: object) -> str:
    """A digest equal for equal values, from run to run: sets are sorted (their order follows
    each process's string hashing), dataclasses and tuples taken field by field. Raises
    `NotFingerprintable` for any other object (a codemod's plan that holds one is not cached)."""
    return hashlib.blake2b(repr(_canonical(value)).encode(), digest_size=_DIGEST_SIZE).hexdigest()


def _canonical(value: object) -> object:
    if value is None or isinstance(value, (str, bytes, int, float)):
        return value  # bool and IntEnum are ints; an Enum is handled below
    if isinstance(value, (set, frozenset)):
        return ("set", sorted((_canonical(item) for item in value), key=repr))
    if isinstance(value, (list, tuple)):  # NamedTuples too: their fields are in order
        return (type(value).__qualname__, [_canonical(item) for item in value])
    if isinstance(value, Mapping):
        return (
            type(value).__qualname__,
            [(_canonical(key), _canonical(item)) for key, item in value.items()],
        )
    if isinstance(value, PurePath):
        return ("path", str(value))
    if isinstance(value, enum.Enum):
        return (type(value).__qualname__, value.name)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return (
            type(value).__module__ + "." + type(value).__qualname__,
            [_canonical(getattr(value, f.name)) for f in dataclasses.fields(value)],
        )
    raise NotFingerprintable(type(value).__qualname__)


def file_identity(file: SourceFile) -> bytes:
    """What of a file, besides its bytes, its facts and results may mention."""
    return repr((str(file.path), file.display_path, file.module_name, file.aliases)).encode()


@dataclass
class CachedResult:
    """A file's result as a run produced it, before anything was written."""

    status: Status
    reason: str
    findings: list[Finding]
    edits: list[Edit]
    requires: frozenset[Path]
    new: bytes | None
    patch: bytes | None = None

    @classmethod
    def of(cls, result: FileResult) -> CachedResult:
        return cls(
            result.status,
            result.reason,
            list(result.findings),
            list(result.edits),
            result.requires,
            result.new,
            result.patch,
        )

    def result(self, file: SourceFile) -> FileResult:
        return FileResult(
            file.path,
            file.display_path,
            self.status,
            self.reason,
            new=self.new,
            findings=list(self.findings),
            edits=list(self.edits),
            requires=self.requires,
            patch=self.patch,
        )


@dataclass
class RunRecord:
    digest: str
    # Per file, in the run's order; the content hash the digest took for each (a replay of a
    # change reads the file again and checks it is still those bytes).
    results: list[tuple[str | None, CachedResult]] = field(default_factory=list)


class Cache:
    """One cache folder, for the runs of one settings key."""

    def __init__(self, folder: Path, settings: str) -> None:
        self.folder = folder
        self.settings = settings
        self.base = folder / f"{SCHEMA}-{fastapi_fix.__version__}"
        # The first problem met while writing (a read-only folder, a full disk): the cache then
        # only reads. Said under --verbose; a run never fails for its cache.
        self.problem: str | None = None
        self._stats: dict[str, tuple[int, int, int, int, str]] | None = None
        self._stats_changed = False
        self._ready = False
        self._folders: set[Path] = set()  # made already
        self._hashed: dict[Path, str | None] = {}  # this run's content hashes

    def __getstate__(self) -> dict[str, Any]:
        # Sent to worker processes, which only store gather entries: not the stat table.
        return {**self.__dict__, "_stats": None, "_stats_changed": False, "_hashed": {}}

    # -- files' content hashes -------------------------------------------------------------

    def content_hashes(self, paths: Iterable[Path], again: bool = False) -> dict[Path, str | None]:
        """Each file's content hash (None: unreadable), read only where its stat moved since
        it was hashed. Looked up once per run, unless ``again`` (did a file change meanwhile?)."""
        stats = self._load_stats()
        now = time.time_ns()
        hashes: dict[Path, str | None] = {}
        for path in paths:
            if again or path not in self._hashed:
                self._hashed[path] = self._content_hash(path, stats, now)
            hashes[path] = self._hashed[path]
        return hashes

    def _content_hash(
        self, path: Path, stats: dict[str, tuple[int, int, int, int, str]], now: int
    ) -> str | None:
        key = str(path)
        signature = file_signature(path)
        if signature is None:
            return None
        known = stats.get(key)
        if known is not None and known[:4] == signature:
            return known[4]
        try:
            data = path.read_bytes()
        except OSError:
            return None
        digest = content_hash(data)
        if now - max(signature[0], signature[1]) > _RACY_NANOSECONDS:
            stats[key] = (*signature, digest)
            self._stats_changed = True
        elif known is not None:
            del stats[key]
            self._stats_changed = True
        return digest

    def _load_stats(self) -> dict[str, tuple[int, int, int, int, str]]:
        if self._stats is None:
            loaded = self._read(self.base / "stats")
            self._stats = loaded if isinstance(loaded, dict) else {}
        return self._stats

    # -- entries: a file's gather, a file's transform -----------------------------------------

    def entry_key(self, file: SourceFile, content: str, *parts: object) -> str:
        """The key of an entry about ``file`` holding ``content`` (its hash); ``parts``: what
        else the entry depends on (the codemods gathered, the plans transformed)."""
        digest = hashlib.blake2b(self.settings.encode(), digest_size=_DIGEST_SIZE)
        digest.update(file_identity(file))
        digest.update(content.encode())
        digest.update(repr(parts).encode())
        return digest.hexdigest()

    def load(self, kind: str, key: str) -> Any:
        return self._read(self._entry_path(kind, key))

    def store(self, kind: str, key: str, value: Any) -> None:
        self._write(self._entry_path(kind, key), value)

    def key(self, *inputs: object) -> str:
        """A key for what the run's settings and ``inputs`` decide (anything whose ``repr``
        tells every input apart: paths, content hashes, names)."""
        digest = hashlib.blake2b(self.settings.encode(), digest_size=_DIGEST_SIZE)
        digest.update(repr(inputs).encode())
        return digest.hexdigest()

    def remembered(self, kind: str, inputs: object, compute: Callable[[], T], type_: type[T]) -> T:
        """``compute()``, or what it returned in an earlier run given the same ``inputs``."""
        key = self.key(inputs)
        value = self.load(kind, key)
        if not isinstance(value, type_):
            value = compute()
            self.store(kind, key, value)
        return value

    def _entry_path(self, kind: str, key: str) -> Path:
        return self.base / kind / key[:2] / key[2:]

    # -- run records -----------------------------------------------------------------------------

    def load_run(self, scope: object = ()) -> RunRecord | None:
        """The last run's record for ``scope`` (what was asked for: the paths given), so
        that projects, or parts of one, sharing a cache each keep their own."""
        record = self._read(self._run_path(scope))
        return record if isinstance(record, RunRecord) else None

    def store_run(self, record: RunRecord, scope: object = ()) -> None:
        self._write(self._run_path(scope), record)

    def _run_path(self, scope: object) -> Path:
        return self.base / "runs" / self.key("run", scope)

    # -- the end of a run ----------------------------------------------------------------------

    def close(self) -> None:
        """Save what was learnt of the files' stats, and prune once a day."""
        self._hashed.clear()  # the next run looks again
        if self._stats is not None and self._stats_changed:
            self._write(self.base / "stats", self._stats)
            self._stats_changed = False
        if self.problem is None:
            self._prune()

    def _prune(self) -> None:
        marker = self.base / "pruned"
        now = time.time()
        try:
            if now - marker.stat().st_mtime < _PRUNE_EVERY_SECONDS:
                return
        except OSError:
            pass
        if not self.prepared():
            return
        try:
            marker.touch()
        except OSError:
            return
        for kind in (GATHER, TRANSFORM, REMEMBERED, "runs"):
            folder = self.base / kind
            for path in folder.rglob("*"):
                try:
                    if path.is_file() and now - path.stat().st_mtime > _PRUNE_AFTER_SECONDS:
                        path.unlink()
                except OSError:
                    continue

    # -- reading and writing entries ----------------------------------------------------------

    def _read(self, path: Path) -> Any:
        """The entry's value, or None when missing, truncated, foreign or unreadable. An entry
        read a day after it was last written or read is marked as used, for `_prune`."""
        try:
            with open(path, "rb") as entry:
                data = entry.read()
                if time.time() - os.fstat(entry.fileno()).st_mtime > _PRUNE_EVERY_SECONDS:
                    os.utime(entry.fileno())
        except OSError:
            return None
        header = len(_MAGIC) + _DIGEST_SIZE
        if not data.startswith(_MAGIC) or len(data) < header:
            return None
        payload = data[header:]
        if (
            hashlib.blake2b(payload, digest_size=_DIGEST_SIZE).digest()
            != data[len(_MAGIC) : header]
        ):
            return None
        try:
            return pickle.loads(payload)
        except Exception:  # noqa: BLE001 - a cache entry that does not load is a miss
            return None

    def _write(self, path: Path, value: Any) -> None:
        if self.problem is not None or not self.prepared():
            return
        try:
            payload = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:  # noqa: BLE001 - an unpicklable value is simply not cached
            self.problem = f"cannot store an entry: {exc!r}"
            return
        digest = hashlib.blake2b(payload, digest_size=_DIGEST_SIZE).digest()
        folder = path.parent
        # Named by process and count: unique among the runs and workers writing at once.
        temporary = folder / f".{os.getpid()}-{next(_written)}.tmp"
        try:
            if folder not in self._folders:
                folder.mkdir(parents=True, exist_ok=True)
                self._folders.add(folder)
            try:
                with open(temporary, "xb") as out:
                    out.write(_MAGIC + digest + payload)
                os.replace(temporary, path)
            except BaseException:
                temporary.unlink(missing_ok=True)
                raise
        except OSError as exc:
            self.problem = f"cannot write to {self.folder}: {exc.strerror or exc}"

    def prepared(self) -> bool:
        """The cache folder exists, tagged as one (CACHEDIR.TAG, a .gitignore of ``*``); False
        when it cannot be made (`problem` says why)."""
        if self._ready or (self.folder / "CACHEDIR.TAG").is_file():
            self._ready = True
            return True
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            for name, content in (("CACHEDIR.TAG", _CACHEDIR_TAG), (".gitignore", b"*\n")):
                try:
                    with open(self.folder / name, "xb") as out:  # never overwrite (mypy does so)
                        out.write(content)
                except FileExistsError:
                    pass
        except OSError as exc:
            self.problem = f"cannot write to {self.folder}: {exc.strerror or exc}"
            return False
        self._ready = True
        return True


def cache_folder(
    given: Path | None, project_root: Path | None, first_path: Path, environ: Mapping[str, str]
) -> Path:
    """``--cache-dir``, else the environment variable, else ``.fastapi-fix_cache`` at the
    project's root (else beside the first path)."""
    if given is not None:
        return given
    if environ.get(ENV_VAR):
        return Path(environ[ENV_VAR])
    if project_root is not None:
        return project_root / DEFAULT_FOLDER
    first = Path(os.path.abspath(first_path))
    return (first if first.is_dir() else first.parent) / DEFAULT_FOLDER
