"""Writing many files as one transaction: all or nothing, even across a crash.

Like SQLite's rollback journal. Every new content first goes to a temp file beside its target,
with a backup of the old bytes beside it too, both flushed to disk. Then a journal (a JSON
file in the project root) names each target with its old and new digests, its temp file and
its backup; only then are the temp files renamed over their targets, in order; the journal is
removed last. A run that stops half-way (a signal, a crash, a power cut) leaves the journal
behind, and the next run rolls back from it (`recover`) before doing anything else.

A `Transaction` is used by every write path of the tool; an exception (a signal raises one)
anywhere before the journal is removed undoes what was done.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
import sys
import tempfile
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from fastapi_fix.engine.files import (
    SkipFile,
    Snapshot,
    fsync_directory,
    is_within,
    read_snapshot,
    write_refusal,
)

JOURNAL_NAME = ".fastapi-fix.journal"
TEMP_SUFFIX = ".fastapi-fix.tmp"
# Folders never searched for stale temp files: no run writes there (see discover.py).
_UNSEARCHED_DIRS = frozenset(
    {".git", ".hg", ".svn", ".venv", "venv", ".tox", ".nox", "node_modules", "__pycache__"}
)

if sys.platform != "win32":
    import fcntl

# New contents by path -> problems; any problem vetoes the change set (see `Transaction`).
Gate = Callable[[Mapping[Path, bytes]], list[str]]


@dataclass
class _Entry:
    """One target of the transaction, as the journal records it."""

    target: Path  # the real path (a symlink's target is what changes)
    temp: Path | None  # the new content; None: the target is removed
    backup: Path | None  # the old content; None: the target is created
    old_digest: str | None
    new_digest: str | None

    def as_json(self) -> dict[str, str | bool | None]:
        return {
            "path": str(self.target),
            "old_sha256": self.old_digest,
            "new_sha256": self.new_digest,
            "temp": str(self.temp) if self.temp else None,
            "backup": str(self.backup) if self.backup else None,
        }


# What `_Entry.as_json` writes: a journal entry without all of them is not one of ours.
_ENTRY_KEYS = frozenset({"path", "old_sha256", "new_sha256", "temp", "backup"})


# Each file this process has written: (its digest before the first write, its digest now).
# What an interruption that comes after them must not claim to have rolled back.
_written: dict[Path, tuple[str | None, str | None]] = {}


def files_changed_by_this_process() -> int:
    """Files written whole by a committed transaction and not put back since (by a rollback
    of ``--verify``, say)."""
    return sum(1 for before, now in _written.values() if before != now)


class Transaction:
    """Files staged one by one (`write`, `create`, `remove`), then all applied by `commit`.

    ``root``: where the journal goes (the project root); ``roots``: the only folders it may
    write in (default: ``root``). Staging checks each target (inside the
    roots, writable, unchanged since read) and raises `SkipFile` with the reason otherwise.
    Until `commit` nothing the user sees has changed; `discard` drops staged files.
    """

    def __init__(self, root: Path, roots: Sequence[Path] = ()) -> None:
        self.root = Path(os.path.realpath(root))
        self.roots = [Path(os.path.realpath(r)) for r in roots] or [self.root]
        self.journal = self.root / JOURNAL_NAME
        self._staged: dict[Path, _Entry] = {}  # by the path the caller gave
        self._done: list[_Entry] = []
        # Files a rollback found changed by someone else since, and left alone.
        self.left_alone: list[Path] = []
        # Folders `create` made for new files: removed again if the transaction is not done.
        self.created_folders: list[Path] = []
        self._lock = _ProjectLock(self.root)

    # -- staging -------------------------------------------------------------------------

    def write(self, path: Path, data: bytes, snapshot: Snapshot) -> None:
        """Stage ``data`` as ``path``'s new content; ``snapshot``: the content it was made from."""
        real = self._checked_target(path)
        refusal = write_refusal(real, self.roots)
        if refusal is not None:
            raise SkipFile(refusal)
        info = os.stat(real)
        current = read_snapshot(real)
        if current.digest != snapshot.digest:
            raise SkipFile("changed on disk during the run")
        self._stage(path, real, data, current.data, info)

    def create(self, path: Path, data: bytes, mode: int = 0o644) -> None:
        """Stage a new file, making its folders if needed."""
        real = self._checked_target(path)
        if os.path.lexists(real):
            raise SkipFile("already exists")
        self._make_folders(real.parent)
        self._stage(path, real, data, None, None, mode)

    def _make_folders(self, folder: Path) -> None:
        missing = []
        while not folder.exists():
            missing.append(folder)
            folder = folder.parent
        for path in reversed(missing):
            path.mkdir()
            self.created_folders.append(path)

    def remove(self, path: Path, snapshot: Snapshot) -> None:
        real = self._checked_target(path)
        current = read_snapshot(real)
        if current.digest != snapshot.digest:
            raise SkipFile("changed on disk during the run")
        self._stage(path, real, None, current.data, os.stat(real))

    def _checked_target(self, path: Path) -> Path:
        real = Path(os.path.realpath(path))
        if not is_within(real, self.roots):
            raise SkipFile("resolves outside the paths given on the command line")
        if path in self._staged or any(e.target == real for e in self._staged.values()):
            raise SkipFile("written twice in one change")
        return real

    def _stage(
        self,
        path: Path,
        real: Path,
        new: bytes | None,
        old: bytes | None,
        info: os.stat_result | None,
        mode: int = 0o644,
    ) -> None:
        self._lock.acquire()  # from the first staged file: see `_ProjectLock`
        entry = _Entry(real, None, None, _digest(old), _digest(new))
        self._staged[path] = entry  # before writing: a signal mid-way still cleans up
        try:
            if old is not None:
                entry.backup = _write_aside(
                    real, old, "old", stat.S_IMODE(info.st_mode) if info else mode
                )
            if new is not None:
                entry.temp = _write_aside(
                    real, new, "new", stat.S_IMODE(info.st_mode) if info else mode, info
                )
        except OSError as exc:
            self._drop(path)
            raise SkipFile(f"cannot write beside it: {exc.strerror or exc}") from None
        except BaseException:
            self._drop(path)
            raise

    # -- reading and dropping staged files ------------------------------------------------

    def staged(self) -> list[Path]:
        return list(self._staged)

    def new_contents(self, paths: Sequence[Path]) -> dict[Path, bytes]:
        """The staged new contents of ``paths`` (what a `Gate` checks)."""
        contents = {}
        for path in paths:
            entry = self._staged[path]
            if entry.temp is not None:
                contents[path] = entry.temp.read_bytes()
        return contents

    def discard(self, paths: Sequence[Path]) -> None:
        for path in paths:
            self._drop(path)

    def _drop(self, path: Path) -> None:
        entry = self._staged.pop(path, None)
        if entry is not None:
            _unlink_quietly(entry.temp, entry.backup)

    # -- committing ----------------------------------------------------------------------

    def commit(
        self,
        side_step: Callable[[], object] | None = None,
        undo_side_step: Callable[[], object] | None = None,
    ) -> None:
        """Apply every staged file, all or nothing.

        The journal is on disk before the first rename and goes last, so a crash in between
        is rolled back by the next run's `recover`; an exception (a signal) is rolled back here
        and raised again. `OSError` if a rename failed (everything was rolled back).
        ``side_step`` runs after the renames (updating git's index, say); if it or anything
        after it fails, ``undo_side_step`` runs (it must be safe to run even if the step did
        not happen) and the files are rolled back.
        """
        entries = list(self._staged.values())
        if not entries:
            return
        side_step_started = False
        try:
            _write_json_atomically(self.journal, self._journal_document(entries))
            for entry in entries:
                _apply(entry)
                self._done.append(entry)
            for folder in {e.target.parent for e in entries}:
                fsync_directory(folder)
            if side_step is not None:
                side_step_started = True
                side_step()
            self.journal.unlink()
        except BaseException:
            if side_step_started and undo_side_step is not None:
                with contextlib.suppress(Exception):
                    undo_side_step()
            self._undo()
            raise
        fsync_directory(self.root)
        for entry in entries:
            first = _written.get(entry.target, (entry.old_digest, None))[0]
            _written[entry.target] = (first, entry.new_digest)
        self._done.clear()
        self._staged.clear()
        self.created_folders.clear()
        _unlink_quietly(*(e.backup for e in entries))
        self._lock.release()

    def _journal_document(self, entries: Sequence[_Entry]) -> dict[str, object]:
        return {
            "entries": [e.as_json() for e in entries],
            "created_folders": [str(folder) for folder in self.created_folders],
        }

    def _undo(self) -> None:
        """Put back what `commit` changed (newest first), then drop everything staged."""
        self.left_alone = _restore([e.as_json() for e in self._done])[1]
        self._done.clear()
        with contextlib.suppress(OSError):
            self.journal.unlink()
        self.abort()

    def abort(self) -> None:
        """Drop every staged file; nothing on disk changes (the temp files go)."""
        for path in list(self._staged):
            self._drop(path)
        _remove_empty_folders(self.created_folders)
        self.created_folders.clear()
        self._lock.release()

    def __enter__(self) -> Transaction:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.abort()  # after a commit, nothing is left to drop


class _ProjectLock:
    """An advisory lock on the project's root folder (``flock`` on the folder itself: no lock
    file is left in the tree), held while a transaction has files staged: another run waits
    to stage its own, and its `recover` never takes this run's files for a crashed run's."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.fd: int | None = None

    def acquire(self, wait: bool = True) -> bool:
        """False only if ``wait`` is False and another run holds the lock. Where locks are not
        available (Windows, some network file systems) runs are simply not serialised."""
        if self.fd is not None or sys.platform == "win32":
            return True
        try:
            fd = os.open(self.root, os.O_RDONLY)
        except OSError:
            return True
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            os.close(fd)
            return False
        except OSError:
            os.close(fd)
            return True
        self.fd = fd
        return True

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)  # closing the folder releases its lock
            self.fd = None


def _apply(entry: _Entry) -> None:
    if entry.temp is None:
        os.unlink(entry.target)
    else:
        os.replace(entry.temp, entry.target)


# -- change sets -------------------------------------------------------------------------


def change_sets(requires: Mapping[Path, Collection[Path]]) -> list[list[Path]]:
    """Files linked by ``requires`` (path -> the paths it needs), as connected components,
    each in the order of ``requires``; a needed path that is not a key is in its set too."""
    parent: dict[Path, Path] = {}

    def find(path: Path) -> Path:
        parent.setdefault(path, path)
        while parent[path] != path:
            parent[path] = parent[parent[path]]
            path = parent[path]
        return path

    for path, needed in requires.items():
        for other in needed:
            parent[find(path)] = find(other)
    sets: dict[Path, list[Path]] = {}
    for path in [*requires, *(p for needed in requires.values() for p in needed)]:
        members = sets.setdefault(find(path), [])
        if path not in members:
            members.append(path)
    return list(sets.values())


# -- recovery ----------------------------------------------------------------------------


@dataclass
class Recovery:
    """What `recover` found and did."""

    restored: list[Path]
    # Files whose content was neither the old nor the new one: left alone.
    left_alone: list[Path]
    stale_files: int

    def message(self, root: Path) -> str:
        text = (
            f"an earlier run of fastapi-fix in {root} was interrupted while writing; "
            f"rolled back {len(self.restored)} file(s)"
        )
        if self.left_alone:
            names = ", ".join(str(p) for p in self.left_alone)
            text += f"; left alone (changed since): {names}"
        return text


def recover(root: Path) -> Recovery | None:
    """Roll back an interrupted transaction under ``root`` and remove stale temp files.

    Returns what was done if a journal was found, else None (stale temp files are removed
    either way: a run killed while staging leaves them without a journal).
    """
    journal = Path(os.path.realpath(root)) / JOURNAL_NAME
    lock = _ProjectLock(journal.parent)
    if not lock.acquire(wait=False):
        return None  # another run is writing: its journal and temp files are not stale
    try:
        return _recover(journal)
    finally:
        lock.release()


def _recover(journal: Path) -> Recovery | None:
    try:
        text = journal.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):  # absent (the usual case), or not a journal of ours
        text = None
    if text is not None:
        try:
            document = json.loads(text)
            entries, folders = document["entries"], document.get("created_folders", [])
            entries = [e for e in entries if e.keys() >= _ENTRY_KEYS]
            folders = [str(folder) for folder in folders]
        except (ValueError, KeyError, TypeError, AttributeError):
            entries, folders = [], []  # written atomically: never torn, but not ours to trust
        restored, left_alone = _restore(entries, journal.parent)
        stale = _remove_stale_temp_files(journal.parent)
        _remove_empty_folders([Path(folder) for folder in folders])
        with contextlib.suppress(OSError):
            journal.unlink()
        fsync_directory(journal.parent)
        return Recovery(restored, left_alone, stale)
    _remove_stale_temp_files(journal.parent)
    return None


def _remove_empty_folders(folders: Sequence[Path]) -> None:
    for folder in sorted(folders, key=lambda f: len(f.parts), reverse=True):
        with contextlib.suppress(OSError):
            folder.rmdir()  # only if empty: a folder someone filled meanwhile stays


def _restore(
    entries: list[dict[str, str | bool | None]], root: Path | None = None
) -> tuple[list[Path], list[Path]]:
    """Put back each entry's old content (newest first) where the new content is found.
    With ``root`` (a journal read from disk), only entries that a transaction under ``root``
    can have written are trusted."""
    restored, left_alone = [], []
    for entry in reversed(entries):
        target = Path(str(entry["path"]))
        if root is not None and not _trusted(entry, root):
            left_alone.append(target)
            continue
        try:
            current = _digest(target.read_bytes())
        except OSError:
            current = None
        if current == entry["old_sha256"]:
            continue  # not renamed yet
        backup = Path(str(entry["backup"])) if entry["backup"] else None
        if current != entry["new_sha256"] or (backup is None) != (entry["old_sha256"] is None):
            left_alone.append(target)
            continue
        try:
            _put_back(target, backup)
        except OSError:  # its backup is gone, the folder is read-only now, ...
            left_alone.append(target)
        else:
            restored.append(target)
    return restored, left_alone


def _trusted(entry: dict[str, str | bool | None], root: Path) -> bool:
    """The journal is a file in the user's tree: it must not lead a write anywhere else."""
    target = Path(os.path.realpath(str(entry["path"])))
    backup = entry["backup"]
    return is_within(target, [root]) and (
        backup is None
        or (
            Path(str(backup)).parent == target.parent
            and Path(str(backup)).name.endswith(TEMP_SUFFIX)
        )
    )


def _put_back(target: Path, backup: Path | None) -> None:
    if backup is None:  # created by the transaction
        os.unlink(target)
    else:
        mode = stat.S_IMODE(os.stat(backup).st_mode)
        temp = _write_aside(target, backup.read_bytes(), "restore", mode)
        os.replace(temp, target)
    fsync_directory(target.parent)


def _remove_stale_temp_files(root: Path) -> int:
    removed = 0
    for path in list(stale_temp_files(root)):
        with contextlib.suppress(OSError):
            os.unlink(path)
            removed += 1
    return removed


def stale_temp_files(root: Path) -> Iterator[Path]:
    """The temp files a transaction left under ``root`` (for tests and diagnostics)."""
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d not in _UNSEARCHED_DIRS]
        yield from (Path(folder, name) for name in files if name.endswith(TEMP_SUFFIX))


# -- small file helpers ------------------------------------------------------------------


def _digest(data: bytes | None) -> str | None:
    return None if data is None else hashlib.sha256(data).hexdigest()


def _write_aside(
    target: Path, data: bytes, role: str, mode: int, owner: os.stat_result | None = None
) -> Path:
    """A flushed temp file beside ``target`` (same file system: the rename is atomic)."""
    fd, name = tempfile.mkstemp(
        dir=target.parent, prefix=f".{target.name}.", suffix=f".{role}{TEMP_SUFFIX}"
    )
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fchmod(fh.fileno(), mode)
            if owner is not None:
                with contextlib.suppress(OSError):
                    os.fchown(fh.fileno(), owner.st_uid, owner.st_gid)
            os.fsync(fh.fileno())
    except BaseException:
        _unlink_quietly(Path(name))
        raise
    return Path(name)


def _write_json_atomically(path: Path, document: object) -> None:
    temp = _write_aside(path, json.dumps(document, indent=1).encode(), "journal", 0o644)
    try:
        os.replace(temp, path)
    except BaseException:
        _unlink_quietly(temp)
        raise
    fsync_directory(path.parent)


def _unlink_quietly(*paths: Path | None) -> None:
    for path in paths:
        if path is not None:
            with contextlib.suppress(OSError):
                os.unlink(path)
