"""Reading source files exactly, and writing them back without ever losing one."""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import re
import stat
import tokenize
from dataclasses import dataclass
from pathlib import Path


class SkipFile(Exception):
    """The file cannot be processed; the message is the one-line reason."""


@dataclass(frozen=True)
class Snapshot:
    """The bytes of a file as read, and what identifies that version of it."""

    data: bytes
    digest: str


def read_snapshot(path: Path) -> Snapshot:
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        raise SkipFile(f"cannot read: {exc.strerror or exc}") from None
    return Snapshot(data, hashlib.sha256(data).hexdigest())


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


# Identifiers and keywords; ASCII only, which `Wanted` matching allows for.
_WORD = re.compile(rb"[A-Za-z_][A-Za-z0-9_]*")


def words_of(data: bytes) -> frozenset[bytes]:
    """The words of a source: what a file may name, found without parsing it."""
    return frozenset(_WORD.findall(data))


def is_within(path: Path, roots: list[Path]) -> bool:
    return real_is_within(os.path.realpath(path), roots)


def real_is_within(real: str, roots: list[Path]) -> bool:
    """``real`` (resolved) is one of ``roots`` (resolved) or below one."""
    return any(
        real == (folder := os.fspath(root)) or real.startswith(folder.rstrip(os.sep) + os.sep)
        for root in roots
    )


class RealPaths:
    """``os.path.realpath`` of many files: a folder is resolved from its resolved parent with
    one ``lstat``, where ``realpath`` (pure Python) stats every component of every path."""

    def __init__(self) -> None:
        self._folders: dict[str, str] = {}

    def __call__(self, path: Path | str) -> Path:
        return Path(self.text(path))

    def text(self, path: Path | str) -> str:
        folder, name = os.path.split(os.path.abspath(path))
        real = os.path.join(self.folder(folder), name)
        return os.path.realpath(real) if os.path.islink(real) else real

    def folder(self, folder: str) -> str:
        """The resolved form of an absolute, normalised ``folder``."""
        real = self._folders.get(folder)
        if real is None:
            parent, name = os.path.split(folder)
            if not name or os.path.islink(folder):
                real = os.path.realpath(folder)
            else:
                real = os.path.join(self.folder(parent), name)
            self._folders[folder] = real
        return real


def write_refusal(path: Path, roots: list[Path], real_paths: RealPaths | None = None) -> str | None:
    """Why a run would refuse to write ``path`` as it is now, or None.

    ``roots`` empty: no confinement to check (a run that only previews). Read before any
    index is built, so that codemods plan around the files that will not be written.
    ``real_paths``: for many files, one resolver shared by all.
    """
    real = (real_paths or RealPaths()).text(path)
    if roots and not real_is_within(real, roots):
        return "resolves outside the paths given on the command line"
    try:
        info = os.stat(real)
    except OSError as exc:
        return f"cannot read: {exc.strerror or exc}"
    if not os.access(real, os.W_OK) or not info.st_mode & stat.S_IWUSR:
        return "read-only file"
    if info.st_nlink > 1:
        # Its other names may be anywhere (a backup made with `cp -al`, another project):
        # writing in place would change them too, and a rename would split them from it.
        return f"hard-linked file ({info.st_nlink} names): left for you to decide"
    return None


def fsync_directory(directory: Path) -> None:
    """Make a rename or a new entry in ``directory`` durable (a power cut keeps it)."""
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
