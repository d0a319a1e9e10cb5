"""The few git operations ``--branch`` needs, through the git command line.

The command line is on every machine that has a repository, and it honours everything the
user configured (hooks aside, see `Worktree.commit_all`): attributes, line-ending
conversion, filters, signing.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path


class GitError(Exception):
    """A git command failed; the message is git's own, prefixed by the command."""


def _git(cwd: Path, *args: str, input: str | None = None) -> str:
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"}
    try:
        completed = subprocess.run(
            ["git", *args],
            cwd=cwd,
            input=input,
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
    except FileNotFoundError:
        raise GitError("git is not installed (or not on PATH)") from None
    if completed.returncode != 0:
        detail = (completed.stderr or completed.stdout).strip()
        raise GitError(f"git {args[0]} failed: {detail}")
    return completed.stdout


class Repository:
    """The repository whose working tree holds a path (the user's checkout)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @classmethod
    def containing(cls, path: Path) -> Repository | None:
        start = path if path.is_dir() else path.parent
        try:
            top = _git(start, "rev-parse", "--show-toplevel").strip()
        except GitError:
            return None
        return cls(Path(top))

    def git(self, *args: str, input: str | None = None) -> str:
        return _git(self.root, *args, input=input)

    def head(self) -> str | None:
        """The commit HEAD points to; None in a repository without commits."""
        try:
            return self.git("rev-parse", "--verify", "--quiet", "HEAD^{commit}").strip()
        except GitError:
            return None

    def current_branch(self) -> str | None:
        """The checked-out branch's short name; None on a detached HEAD."""
        try:
            return self.git("symbolic-ref", "--quiet", "--short", "HEAD").strip()
        except GitError:
            return None

    def uncommitted(self) -> list[str]:
        """``git status --porcelain`` lines: changes, staged or not, and untracked files."""
        return self.git("status", "--porcelain", "--untracked-files=normal").splitlines()

    def branch_exists(self, name: str) -> bool:
        try:
            self.git("rev-parse", "--verify", "--quiet", f"refs/heads/{name}")
        except GitError:
            return False
        return True

    def check_branch_name(self, name: str) -> None:
        """`GitError` unless ``name`` is a valid new branch name."""
        self.git("check-ref-format", "--branch", name)

    def check_identity(self) -> None:
        """`GitError` if git does not know who commits (user.name / user.email)."""
        self.git("var", "GIT_COMMITTER_IDENT")

    def create_branch(self, name: str, start: str) -> None:
        self.git("branch", "--no-track", name, start)

    def delete_branch_if_at(self, name: str, commit: str) -> None:
        """Delete a branch this run created, only if it still points to ``commit``."""
        self.git("update-ref", "-d", f"refs/heads/{name}", commit)

    @contextlib.contextmanager
    def worktree(self, branch: str) -> Iterator[Worktree]:
        """A temporary checkout of ``branch`` beside the user's, removed afterwards: the
        user's own working tree, index and HEAD never change."""
        holder = Path(tempfile.mkdtemp(prefix="fastapi-fix-"))
        path = holder / "worktree"
        try:  # an interruption while git adds it must remove it too
            self.git("worktree", "add", "--quiet", str(path), branch)
            yield Worktree(path)
        finally:
            with contextlib.suppress(GitError):
                self.git("worktree", "remove", "--force", str(path))
            shutil.rmtree(holder, ignore_errors=True)
            with contextlib.suppress(GitError):
                self.git("worktree", "prune")


class Worktree:
    """A checkout made by `Repository.worktree`, on the branch being built."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def git(self, *args: str, input: str | None = None) -> str:
        return _git(self.root, *args, input=input)

    def stage(self, paths: Iterable[Path]) -> None:
        """Stage these files as they are now: changed, created or deleted (a move is both).
        Only these: whatever else appeared (a database the app created on import) stays out."""
        listed = "\0".join(os.path.relpath(path, self.root) for path in paths)
        if listed:
            self.git("add", "--all", "--pathspec-from-file=-", "--pathspec-file-nul", input=listed)

    def has_staged_changes(self) -> bool:
        return bool(self.git("diff", "--cached", "--name-only").strip())

    def commit_staged(self, message: str) -> str:
        """Commit the staged changes; the new commit.

        ``--no-verify``: like ``git rebase`` and ``git cherry-pick``, an automated sequence of
        commits does not run pre-commit hooks, which could rewrite or refuse the files.
        """
        self.git(
            "commit", "--quiet", "--no-verify", "--cleanup=whitespace", "--file", "-", input=message
        )
        return self.git("rev-parse", "HEAD").strip()

    def discard_changes(self) -> None:
        self.git("reset", "--quiet", "--hard", "HEAD")
        self.git("clean", "--quiet", "-d", "--force")
