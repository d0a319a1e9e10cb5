"""Reading source files exactly, and writing them back without ever losing one."""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import stat
import tempfile
import tokenize
from dataclasses import dataclass
from pathlib import Path


class SkipFile(Exception):
    """The file cannot be processed; the message is the one-line reason."""


@dataclass(frozen=True)
class Snapshot:
    """The bytes of a file as read, and what identifies that version of it."""

    data: bytes
    mtime_ns: int
    size: int
    digest: str


def read_snapshot(path: Path) -> Snapshot:
    try:
        with open(path, "rb") as fh:
            info = os.fstat(fh.fileno())
            data = fh.read()
    except OSError as exc:
        raise SkipFile(f"cannot read: {exc.strerror or exc}") from None
    return Snapshot(data, info.st_mtime_ns, info.st_size, hashlib.sha256(data).hexdigest())


def source_encoding(data: bytes) -> str:
    """The encoding Python itself would use for these bytes; `SkipFile` if they don't decode."""
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        data.decode(encoding)
    except SyntaxError as exc:
        raise SkipFile(f"undecodable: {exc.msg}") from None
    except (UnicodeDecodeError, LookupError) as exc:
        raise SkipFile(f"undecodable: {exc}") from None
    return encoding


def is_within(path: Path, roots: list[Path]) -> bool:
    real = Path(os.path.realpath(path))
    return any(real == root or root in real.parents for root in roots)


def write_refusal(path: Path, roots: list[Path]) -> str | None:
    """Why `safe_write` would refuse to write ``path`` as it is now, or None.

    ``roots`` empty: no confinement to check (a run that only previews). Read before any
    index is built, so that codemods plan around the files that will not be written.
    """
    real = Path(os.path.realpath(path))
    if roots and not is_within(real, roots):
        return "resolves outside the paths given on the command line"
    try:
        info = os.stat(real)
    except OSError as exc:
        return f"cannot read: {exc.strerror or exc}"
    if not os.access(real, os.W_OK) or not info.st_mode & stat.S_IWUSR:
        return "read-only file"
    return None


def safe_write(path: Path, data: bytes, snapshot: Snapshot, roots: list[Path]) -> None:
    """Replace ``path``'s content by ``data`` atomically, or raise `SkipFile` and change nothing.

    Refuses files outside the roots, read-only files and files changed since ``snapshot``.
    Keeps the file mode, symlinks (the target is written) and hard links (written in place,
    since a rename would split the link).
    """
    real = Path(os.path.realpath(path))
    if not is_within(real, roots):
        raise SkipFile("resolves outside the paths given on the command line")
    try:
        info = os.stat(real)
    except OSError as exc:
        raise SkipFile(f"vanished during the run: {exc.strerror}") from None
    if not os.access(real, os.W_OK) or not info.st_mode & stat.S_IWUSR:
        raise SkipFile("read-only file")
    if (info.st_mtime_ns, info.st_size) != (snapshot.mtime_ns, snapshot.size) or (
        read_snapshot(real).digest != snapshot.digest
    ):
        raise SkipFile("changed on disk during the run")
    if info.st_nlink > 1:
        _write_in_place(real, data)
    else:
        _replace_atomically(real, data, info)


def _write_in_place(real: Path, data: bytes) -> None:
    with open(real, "r+b") as fh:
        fh.write(data)
        fh.truncate()
        fh.flush()
        os.fsync(fh.fileno())


def _replace_atomically(real: Path, data: bytes, info: os.stat_result) -> None:
    fd, tmp = tempfile.mkstemp(dir=real.parent, prefix=f".{real.name}.", suffix=".fastapi-fix.tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fchmod(fh.fileno(), stat.S_IMODE(info.st_mode))
            with contextlib.suppress(OSError):
                os.fchown(fh.fileno(), info.st_uid, info.st_gid)
            os.fsync(fh.fileno())
        os.replace(tmp, real)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_directory(real.parent)


def _fsync_directory(directory: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
