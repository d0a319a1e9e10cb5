"""Codemods that change the project as a whole: files move, appear and disappear.

A `ProjectCodemod` (declared in `engine.codemod`) does not work file by file: it reads the
whole project and returns one `ProjectChange` (moves, new contents, removals, findings, and
the plan rows that explain them). The engine shows it as a git-style patch and applies it
transactionally: everything is computed in memory, checked, then applied with a journal
(``git mv`` for renames inside a git repository, so history follows), and any failure rolls
every step back: the user's tree is left as it was.
"""

from __future__ import annotations

import contextlib
import difflib
import hashlib
import os
import stat
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from fastapi_fix.engine.diff import hunks
from fastapi_fix.engine.files import SkipFile, read_snapshot
from fastapi_fix.engine.parsing import compile_error
from fastapi_fix.engine.results import Finding
from fastapi_fix.engine.transaction import Gate, Transaction


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
    # The errors refuse the plan itself (ambiguous, or no one folder runs it): the user edits
    # the plan or the project (exit 2); no file failed.
    refused: bool = False
    plan_text: str | None = None  # the editable plan, for writing to a file

    @property
    def is_empty(self) -> bool:
        return not self.files


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
    gate: Gate | None = None,
    verify: Callable[[], list[str]] | None = None,
) -> Applied:
    """Apply ``change`` under ``change.root``, all or nothing, as one `Transaction` (a crash
    half-way is rolled back by the next run); moves of tracked files are staged in git's
    index as ``git mv`` does, in the same transaction.

    Refuses when the change has errors, when a file changed since it was planned, when a
    file would be overwritten, when ``gate`` finds problems in the new contents, or (unless
    ``allow_dirty``) when the git tree is dirty. ``step_hook`` is called before each file is
    staged (tests use it to inject failures). ``verify`` runs once the change is in place
    (files and index): the problems it returns roll every step back.
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
    applied = Applied(used_git=use_git)
    index = _IndexMoves(root, change.files) if use_git else None
    with Transaction(root) as transaction:
        try:
            moved_from = {f.new_path: f.old_path for f in change.files if f.kind == "move"}
            for rel, content in _final_contents(root, change.files).items():
                if step_hook is not None:
                    step_hook(f"{'remove' if content is None else 'write'} {rel}")
                origin = moved_from.get(rel)
                _stage(transaction, root / rel, content, root / origin if origin else None)
            if gate is not None:
                problems = gate(transaction.new_contents(transaction.staged()))
                if problems:
                    raise ApplyError(
                        "the change would break imports; nothing was changed:\n  "
                        + "\n  ".join(problems)
                    )

            def in_place() -> None:
                if index is not None:
                    index.apply()
                problems = verify() if verify is not None else []
                if problems:
                    raise ApplyError(
                        "once applied, the change broke imports; every change was rolled back:\n  "
                        + "\n  ".join(problems)
                    )

            transaction.commit(in_place, index.restore if index is not None else None)
        except (OSError, SkipFile) as exc:
            raise ApplyError(f"applying failed ({exc}); every change was rolled back") from exc
    for file in change.files:
        if file.kind == "move" and file.old_path and file.new_path:
            applied.moved.append((file.old_path, file.new_path))
        elif file.kind == "modify":
            applied.written.append(file.path)
        elif file.kind == "create":
            applied.created.append(file.path)
        elif file.kind == "delete":
            applied.removed.append(file.path)
    _remove_emptied_folders(root, applied)
    return applied


def _final_contents(root: Path, files: Sequence[FileChange]) -> dict[str, bytes | None]:
    """Each path the change touches -> its content afterwards (None: it is gone). A path one
    file leaves and another arrives at (moves in a chain) simply gets new content."""
    final: dict[str, bytes | None] = {}
    for file in files:
        if file.old_path is not None and file.new_path != file.old_path:
            final.setdefault(file.old_path, None)
    for file in files:
        if file.new_path is not None:
            content = file.new if file.new is not None else file.old
            if content is None and file.old_path is not None:
                content = (root / file.old_path).read_bytes()
            final[file.new_path] = content
    return final


def _stage(
    transaction: Transaction, path: Path, content: bytes | None, origin: Path | None
) -> None:
    """``origin``: the file moved to ``path``, whose mode a new file keeps."""
    if content is None:
        transaction.remove(path, read_snapshot(path))
    elif os.path.lexists(path):
        transaction.write(path, content, read_snapshot(path))
    else:
        mode = stat.S_IMODE(os.stat(origin).st_mode) if origin is not None else 0o644
        transaction.create(path, content, mode)


class _IndexMoves:
    """Git's index after the change: every path the change moved, created, rewrote or removed
    is staged, as ``git mv`` + ``git add`` leave it (a move shows as a rename in ``git
    status``). `apply` and `restore` are each one git command (git replaces its index
    atomically), and `restore` is right whether `apply` ran or not."""

    def __init__(self, root: Path, files: Sequence[FileChange]) -> None:
        self.root = root
        self.paths = sorted({p for f in files for p in (f.old_path, f.new_path) if p is not None})
        self.before = self._entries(self.paths)

    def _entries(self, paths: Sequence[str]) -> dict[str, str]:
        """Path -> ``mode sha stage`` of its index entry, for the tracked ones."""
        if not paths:
            return {}
        listed = _git(self.root, "ls-files", "-s", "-z", "--", *paths).stdout
        entries = {}
        for record in filter(None, listed.split("\0")):
            info, _, path = record.partition("\t")
            entries[os.path.relpath(self.root / path, self.root)] = info
        return entries

    def apply(self) -> None:
        """Stage each path as it is on disk now (a path no longer there: its entry goes)."""
        self._run(
            ["update-index", "--add", "--remove", "-z", "--stdin"],
            "".join(f"{path}\0" for path in self.paths),
        )

    def restore(self) -> None:
        self._run(
            ["update-index", "--index-info"],
            "".join(
                f"{self.before[path]}\t{path}\n"
                if path in self.before
                else f"0 {'0' * 40}\t{path}\n"
                for path in self.paths
            ),
        )

    def _run(self, args: Sequence[str], stdin: str) -> None:
        if not self.paths:
            return
        completed = subprocess.run(
            ["git", *args],
            cwd=self.root,
            input=stdin,
            capture_output=True,
            text=True,
            env={**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"},
            check=False,
        )
        if completed.returncode != 0:
            raise OSError(f"git {args[0]}: {completed.stderr.strip()}")


def _remove_emptied_folders(root: Path, applied: Applied) -> None:
    """Folders emptied by moves go (never ones that were empty before)."""
    emptied = {(root / old).parent for old, _new in applied.moved}
    emptied |= {(root / rel).parent for rel in applied.removed}
    for folder in sorted(emptied, key=lambda p: len(p.parts), reverse=True):
        with contextlib.suppress(OSError):
            if folder != root and folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()


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
