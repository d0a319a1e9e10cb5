"""Codemods that change the project as a whole: files move, appear and disappear.

A `ProjectCodemod` does not work file by file: it reads the whole project and returns one
`ProjectChange` (moves, new contents, removals, findings, and the plan rows that explain
them). The engine shows it as a git-style patch and applies it transactionally:
everything is computed in memory, checked, then applied with a journal (``git mv`` for
renames inside a git repository, so history follows), and any failure rolls every step
back: the user's tree is left as it was.
"""

from __future__ import annotations

import contextlib
import difflib
import hashlib
import os
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import libcst as cst

from fastapi_fix.engine.codemod import Codemod, FileContext, SourceFile
from fastapi_fix.engine.diff import hunks
from fastapi_fix.engine.parsing import compile_error
from fastapi_fix.engine.results import Finding


@dataclass(frozen=True)
class FileChange:
    """One file of a project change, paths relative to the project root.

    ``old_path`` None: created; ``new_path`` None: removed; both: moved and/or rewritten.
    """

    old_path: str | None
    new_path: str | None
    old: bytes | None = None
    new: bytes | None = None

    @property
    def kind(self) -> str:
        if self.old_path is None:
            return "create"
        if self.new_path is None:
            return "delete"
        return "move" if self.old_path != self.new_path else "modify"

    @property
    def path(self) -> str:
        return self.new_path or self.old_path or ""


@dataclass(frozen=True)
class PlanRow:
    """A line of the plan table: ``kind`` is move, split, create, delete or keep."""

    kind: str
    source: str
    target: str
    reason: str = ""


@dataclass
class ProjectChange:
    root: Path
    files: list[FileChange] = field(default_factory=list)
    rows: list[PlanRow] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # blocking: the change must not be applied
    notes: list[str] = field(default_factory=list)  # "already layered: nothing to do", ...
    plan_text: str | None = None  # the editable plan, for writing to a file

    @property
    def is_empty(self) -> bool:
        return not self.files


class ProjectCodemod(Codemod):
    """A codemod that plans a change of the whole project instead of rewriting files one by
    one. The per-file pipeline never runs it (no markers)."""

    markers = ()
    default_enabled = False

    def plan_project(self, root: Path, files: Sequence[SourceFile]) -> ProjectChange:
        raise NotImplementedError

    def transform(self, ctx: FileContext, module: cst.Module, index: Any) -> cst.Module:
        return module


# -- showing a change --------------------------------------------------------------------


def change_patch(change: FileChange, prefix: str = "") -> bytes:
    """The change as ``git diff`` prints it (``rename from/to`` for moves): ``git apply``
    applies it. ``prefix`` is the root's path relative to where the patch is applied."""
    old_name = f"{prefix}{change.old_path}" if change.old_path else None
    new_name = f"{prefix}{change.new_path}" if change.new_path else None
    header = f"diff --git a/{old_name or new_name} b/{new_name or old_name}\n"
    lines = [header.encode()]
    if change.kind == "create":
        lines.append(b"new file mode 100644\n")
    elif change.kind == "delete":
        lines.append(b"deleted file mode 100644\n")
    elif change.kind == "move":
        lines.append(
            f"similarity index {_similarity(change.old or b'', change.new or b'')}%\n".encode()
        )
        lines.append(f"rename from {old_name}\nrename to {new_name}\n".encode())
    old = change.old or b""
    new = change.new if change.new is not None else b""
    if old == new:
        return b"".join(lines)
    from_file = f"a/{old_name}" if change.kind != "create" else "/dev/null"
    to_file = f"b/{new_name}" if change.kind != "delete" else "/dev/null"
    lines.append(hunks(old, new, from_file, to_file))
    return b"".join(lines)


def _similarity(old: bytes, new: bytes) -> int:
    matcher = difflib.SequenceMatcher(None, old.splitlines(), new.splitlines(), autojunk=False)
    return round(matcher.ratio() * 100)


# -- applying a change ---------------------------------------------------------------------


class ApplyError(Exception):
    """The change was not applied (refused, or rolled back after a failure)."""


def fingerprint(root: Path, paths: Sequence[str]) -> str:
    """A digest of the files a plan was made from: applying refuses if they changed."""
    digest = hashlib.sha256()
    for rel in sorted(paths):
        try:
            data = (root / rel).read_bytes()
        except OSError:
            data = b"<missing>"
        digest.update(rel.encode() + b"\0" + hashlib.sha256(data).digest())
    return digest.hexdigest()[:16]


def _git(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"}
    return subprocess.run(
        ["git", *args], cwd=root, capture_output=True, text=True, env=env, check=False
    )


def git_root(root: Path) -> Path | None:
    try:
        completed = _git(root, "rev-parse", "--show-toplevel")
    except FileNotFoundError:
        return None
    return Path(completed.stdout.strip()) if completed.returncode == 0 else None


def dirty_paths(root: Path, ignore: Sequence[Path] = ()) -> list[str]:
    """``git status --porcelain`` lines under ``root`` (changes and untracked files)."""
    completed = _git(root, "status", "--porcelain", "--untracked-files=normal", "--", ".")
    ignored = {os.path.realpath(p) for p in ignore}
    top = git_root(root) or root
    lines = []
    for line in completed.stdout.splitlines():
        path = line[3:].split(" -> ")[-1].strip('"')
        if os.path.realpath(top / path) not in ignored:
            lines.append(line)
    return lines


@dataclass
class Applied:
    moved: list[tuple[str, str]] = field(default_factory=list)
    written: list[str] = field(default_factory=list)
    created: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    used_git: bool = False


def apply_change(
    change: ProjectChange,
    *,
    allow_dirty: bool = False,
    ignore_dirty: Sequence[Path] = (),
    step_hook: Callable[[str], None] | None = None,
) -> Applied:
    """Apply ``change`` under ``change.root``, all or nothing.

    Refuses when the change has errors, when a file changed since it was planned, when a
    file would be overwritten, or (unless ``allow_dirty``) when the git tree is dirty.
    ``step_hook`` is called before each step (tests use it to inject failures).
    """
    root = Path(os.path.abspath(change.root))
    if change.errors:
        raise ApplyError(
            "the plan has errors; nothing was changed:\n  " + "\n  ".join(change.errors)
        )
    use_git = git_root(root) is not None
    if use_git and not allow_dirty:
        dirty = dirty_paths(root, ignore_dirty)
        if dirty:
            raise ApplyError(
                "the git tree has uncommitted changes (commit or stash them, or pass --allow-dirty):\n  "
                + "\n  ".join(dirty[:10])
            )
    _preflight(root, change)
    journal = _Journal(root, use_git)
    try:
        for file in _ordered(change.files):
            if step_hook is not None:
                step_hook(f"{file.kind} {file.path}")
            journal.apply(file)
        journal.remove_empty_folders()
    except BaseException as exc:
        problems = journal.rollback()
        detail = f"; rollback problems: {'; '.join(problems)}" if problems else ""
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise
        raise ApplyError(f"applying failed ({exc}); every change was rolled back{detail}") from exc
    finally:
        journal.close()
    return journal.applied


def _preflight(root: Path, change: ProjectChange) -> None:
    leaving = {f.old_path for f in change.files if f.old_path and f.new_path != f.old_path}
    for file in change.files:
        if file.old_path is not None:
            path = root / file.old_path
            try:
                current = path.read_bytes()
            except OSError as exc:
                raise ApplyError(
                    f"{file.old_path}: cannot read it ({exc.strerror}); nothing was changed"
                ) from None
            if file.old is not None and current != file.old:
                raise ApplyError(
                    f"{file.old_path} changed since the plan was made; plan again. Nothing was changed"
                )
            if not os.access(path, os.W_OK):
                raise ApplyError(f"{file.old_path} is read-only; nothing was changed")
        if file.new_path is not None and file.new_path != file.old_path:
            target = root / file.new_path
            if (target.exists() or target.is_symlink()) and file.new_path not in leaving:
                raise ApplyError(f"{file.new_path} already exists; nothing was changed")
        if (
            file.new is not None
            and file.old is not None
            and file.new_path
            and file.new_path.endswith(".py")
            and compile_error(file.old, file.old_path or "") is None
        ):
            _check_compiles(file.new_path, file.new)


def _check_compiles(path: str, data: bytes) -> None:
    """A rewrite of code that compiled must compile (new files were checked when planned)."""
    problem = compile_error(data, path)
    if problem is not None:
        raise ApplyError(
            f"{path}: the new content does not compile ({problem}); nothing was changed"
        )


def _ordered(files: Sequence[FileChange]) -> list[FileChange]:
    """Moves first (a move may free the path another file goes to), then the rest."""
    moves = [f for f in files if f.kind == "move"]
    pending = list(moves)
    ordered: list[FileChange] = []
    while pending:
        targets_taken = {f.old_path for f in pending}
        ready = next(
            (f for f in pending if f.new_path not in targets_taken or f.new_path == f.old_path),
            pending[0],
        )
        ordered.append(ready)
        pending.remove(ready)
    return (
        ordered
        + [f for f in files if f.kind == "modify"]
        + [f for f in files if f.kind == "delete"]
        + [f for f in files if f.kind == "create"]
    )


class _Journal:
    """Every step done, so that it can be undone in reverse order."""

    def __init__(self, root: Path, use_git: bool) -> None:
        self.root = root
        self.use_git = use_git
        self.backup = Path(tempfile.mkdtemp(prefix="fastapi-fix-backup-"))
        self.steps: list[tuple[str, Any]] = []
        self.applied = Applied(used_git=use_git)
        self.created_folders: list[Path] = []

    def apply(self, file: FileChange) -> None:
        if file.kind in ("move", "create"):
            self._make_folders((self.root / file.path).parent)
        if file.kind == "move":
            assert file.old_path and file.new_path
            self._move(file.old_path, file.new_path)
            self.applied.moved.append((file.old_path, file.new_path))
            if file.new is not None and file.new != file.old:
                self._write(file.new_path, file.new)
        elif file.kind == "modify":
            assert file.new is not None
            self._write(file.path, file.new)
            self.applied.written.append(file.path)
        elif file.kind == "create":
            assert file.new is not None
            self._write(file.path, file.new, new=True)
            self.applied.created.append(file.path)
        else:
            self._remove(file.path)
            self.applied.removed.append(file.path)

    def _make_folders(self, folder: Path) -> None:
        missing = []
        while not folder.exists():
            missing.append(folder)
            folder = folder.parent
        for path in reversed(missing):
            path.mkdir()
            self.created_folders.append(path)
            self.steps.append(("mkdir", path))

    def _tracked(self, rel: str) -> bool:
        return _git(self.root, "ls-files", "--error-unmatch", "--", rel).returncode == 0

    def _move(self, old: str, new: str) -> None:
        if self.use_git and self._tracked(old):
            completed = _git(self.root, "mv", "--", old, new)
            if completed.returncode != 0:
                raise OSError(f"git mv {old} {new}: {completed.stderr.strip()}")
            self.steps.append(("git-mv", (old, new)))
        else:
            os.rename(self.root / old, self.root / new)
            self.steps.append(("rename", (old, new)))

    def _write(self, rel: str, data: bytes, new: bool = False) -> None:
        path = self.root / rel
        saved = None
        if not new:
            saved = self.backup / f"{len(self.steps)}"
            shutil.copy2(path, saved)
        self.steps.append(("write", (rel, saved)))
        mode = stat.S_IMODE(path.stat().st_mode) if path.exists() else 0o644
        fd, tmp = tempfile.mkstemp(
            dir=path.parent, prefix=f".{path.name}.", suffix=".fastapi-fix.tmp"
        )
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.chmod(tmp, mode)
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    def _remove(self, rel: str) -> None:
        path = self.root / rel
        saved = self.backup / f"{len(self.steps)}"
        shutil.copy2(path, saved)
        self.steps.append(("remove", (rel, saved)))
        path.unlink()

    def remove_empty_folders(self) -> None:
        """Folders emptied by moves go (never ones that were empty before)."""
        emptied = {(self.root / old).parent for old, _new in self.applied.moved}
        emptied |= {(self.root / rel).parent for rel in self.applied.removed}
        for folder in sorted(emptied, key=lambda p: len(p.parts), reverse=True):
            with contextlib.suppress(OSError):
                if folder != self.root and folder.is_dir() and not any(folder.iterdir()):
                    folder.rmdir()
                    self.steps.append(("rmdir", folder))

    def rollback(self) -> list[str]:
        problems = []
        for kind, data in reversed(self.steps):
            try:
                self._undo(kind, data)
            except Exception as exc:  # noqa: BLE001 - whatever fails, keep undoing the rest
                problems.append(f"{kind} {data}: {exc}")
        return problems

    def _undo(self, kind: str, data: Any) -> None:
        if kind == "mkdir":
            data.rmdir()
        elif kind == "rmdir":
            data.mkdir()
        elif kind == "git-mv":
            old, new = data
            completed = _git(self.root, "mv", "--", new, old)
            if completed.returncode != 0:
                raise OSError(completed.stderr.strip())
        elif kind == "rename":
            old, new = data
            os.rename(self.root / new, self.root / old)
        elif kind == "write":
            rel, saved = data
            if saved is None:
                (self.root / rel).unlink()
            else:
                shutil.copy2(saved, self.root / rel)
        elif kind == "remove":
            rel, saved = data
            shutil.copy2(saved, self.root / rel)

    def close(self) -> None:
        shutil.rmtree(self.backup, ignore_errors=True)
