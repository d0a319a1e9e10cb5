"""``--branch NAME``: the migration branch, one commit per codemod.

NAME is created from HEAD and built in a temporary ``git worktree``, so the user's checkout,
index and current branch never change, whatever happens: like ``git branch NAME``, the user
stays where they were and switches when they have reviewed. Codemods run in registry order;
each one that changes something gets its own commit, whose message lists its files, its edits
and the places it left for review. If one fails (or ``--verify`` finds the API changed), it
gets no commit and the run stops: the branch keeps the commits before it.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypedDict

from fastapi_fix.engine.codemod import Codemod
from fastapi_fix.engine.config import Targets
from fastapi_fix.engine.git import GitError, Repository, Worktree
from fastapi_fix.engine.report import new_display_path
from fastapi_fix.engine.results import FileResult, Status
from fastapi_fix.engine.signals import Interrupted
from fastapi_fix.engine.verify import (
    AppSnapshot,
    Progress,
    Verification,
    VerifyError,
    import_phase,
    snapshot_app,
    verify_rewrite,
)

# Runs codemods over targets and writes the changes (the CLI's own apply path).
Apply = Callable[[Sequence[Codemod], Targets], list[FileResult]]
# Tells the user how the run goes: (message, is_error). The engine never prints.
Say = Callable[[str, bool], None]


class BranchRefused(Exception):
    """The branch cannot be made (not a repository, dirty tree, name taken, ...): usage error."""


class CodemodStepJson(TypedDict):
    codemod: str
    commit: str | None
    failure: str | None
    files: list[str]
    edits: int
    findings: int
    differences: list[str]


class BranchJson(TypedDict):
    """``branch`` of the JSON report (README, "JSON output")."""

    name: str
    base: str
    origin: str
    kept: bool
    steps: list[CodemodStepJson]


@dataclass
class CodemodStep:
    codemod: str
    results: list[FileResult]
    commit: str | None = None
    # Why this codemod stopped the run (failed files, API changed); None if it did not.
    failure: str | None = None
    differences: list[str] = field(default_factory=list)
    # --verify compared the API before and after this step (it had changes to commit).
    verified: bool = False

    def as_json(self) -> CodemodStepJson:
        changed = [r for r in self.results if r.status is Status.CHANGED]
        return {
            "codemod": self.codemod,
            "commit": self.commit,
            "failure": self.failure,
            "files": [r.display_path for r in changed],
            "edits": sum(len(r.edits) for r in changed),
            "findings": sum(len(r.findings) for r in self.results),
            "differences": self.differences,
        }


@dataclass
class BranchOutcome:
    name: str
    base: str
    # The user's branch (or the short commit of a detached HEAD): where they stay.
    origin: str
    steps: list[CodemodStep] = field(default_factory=list)
    kept: bool = False

    @property
    def failed(self) -> bool:
        return any(step.failure for step in self.steps)

    @property
    def api_changed(self) -> bool:
        return any(step.differences for step in self.steps)

    @property
    def commits(self) -> list[CodemodStep]:
        return [step for step in self.steps if step.commit]

    def verification(self, app: str) -> Verification:
        """``--verify`` over the whole branch, as a run in place reports it: unchanged when
        each step that changed files kept the API; changed (that step not committed) else."""
        verification = Verification(app)
        for step in self.steps:
            if step.differences:
                verification.status, verification.differences = "changed", step.differences
                verification.rolled_back = [
                    r.display_path for r in step.results if r.status is Status.CHANGED
                ]
                return verification
            if step.verified:
                verification.status = "unchanged"
        return verification

    def as_json(self) -> BranchJson:
        return {
            "name": self.name,
            "base": self.base,
            "origin": self.origin,
            "kept": self.kept,
            "steps": [step.as_json() for step in self.steps],
        }


@dataclass(frozen=True)
class VerifyRequest:
    app: str
    python: str


def prepare(name: str, targets: Targets) -> tuple[Repository, str]:
    """The repository and its HEAD commit, or `BranchRefused` saying what is wrong."""
    repo = Repository.containing(targets.paths[0])
    if repo is None:
        raise BranchRefused(f"--branch needs a git repository; {targets.paths[0]} is not in one")
    root = os.path.realpath(repo.root)
    outside = [
        str(p) for p in targets.paths if not _is_within(Path(os.path.realpath(p)), Path(root))
    ]
    if outside:
        raise BranchRefused(
            f"--branch: {', '.join(outside)} is outside the repository at {repo.root}"
        )
    head = repo.head()
    if head is None:
        raise BranchRefused("--branch needs a commit to start from; this repository has none yet")
    dirty = repo.uncommitted()
    if dirty:
        shown = "\n".join(f"  {line}" for line in dirty[:10]) + (
            "\n  ..." if len(dirty) > 10 else ""
        )
        raise BranchRefused(
            "--branch needs a clean working tree (commit or stash first); "
            f"uncommitted changes:\n{shown}"
        )
    try:
        repo.check_branch_name(name)
    except GitError:
        raise BranchRefused(f"--branch: {name!r} is not a valid branch name") from None
    if repo.branch_exists(name):
        raise BranchRefused(f"--branch: a branch named {name!r} already exists")
    try:
        repo.check_identity()
    except GitError as exc:
        raise BranchRefused(f"--branch: git cannot commit: {exc}") from None
    return repo, head


def _is_within(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def build_branch(
    name: str,
    instances: Sequence[Codemod],
    targets: Targets,
    apply: Apply,
    say: Say,
    verify: VerifyRequest | None = None,
    progress: Progress | None = None,
) -> BranchOutcome:
    """Create ``name`` and commit each codemod's changes on it (see the module docstring).
    `BranchRefused` if the branch cannot be made; a branch without commits is not kept.
    ``progress`` hears of each step and of each import of the app (phase, done, total)."""
    repo, head = prepare(name, targets)
    outcome = BranchOutcome(name, head, repo.current_branch() or head[:10])
    try:
        repo.create_branch(name, head)
        with repo.worktree(name) as tree:
            relocated = targets.relocated(Path(os.path.realpath(repo.root)), tree.root)
            _commit_codemods(
                outcome,
                tree,
                instances,
                relocated,
                apply,
                say,
                verify,
                _app_root(repo, tree.root),
                progress or _no_progress,
            )
    except Interrupted as exc:  # the worktree is gone already; say what becomes of the branch
        commits = _commits_on(repo, name, head)  # one may have landed as the signal came
        exc.details.append(
            f"branch {name} kept with {commits} commit(s) made before the interruption"
            if commits
            else f"branch {name} deleted (no commit yet)"
        )
        raise
    finally:
        outcome.kept = bool(outcome.commits)
        if not outcome.kept:  # nothing on it: no empty branch left behind
            with contextlib.suppress(GitError):
                repo.delete_branch_if_at(name, head)
    return outcome


def _commits_on(repo: Repository, name: str, base: str) -> int:
    try:
        return int(repo.git("rev-list", "--count", f"{base}..refs/heads/{name}"))
    except (GitError, ValueError):
        return 0  # no such branch (yet)


def _commit_codemods(
    outcome: BranchOutcome,
    tree: Worktree,
    instances: Sequence[Codemod],
    targets: Targets,
    apply: Apply,
    say: Say,
    verify: VerifyRequest | None,
    app_root: Path,
    progress: Progress,
) -> None:
    baseline = _baseline(verify, app_root, progress)
    for number, codemod in enumerate(instances, 1):
        phase = f"branch {outcome.name}: step {number}/{len(instances)}, {codemod.name}"
        progress(phase, 0, 1)
        try:
            step = CodemodStep(codemod.name, apply([codemod], targets))
        finally:
            progress(phase, 1, 1)
        outcome.steps.append(step)
        failed = [r for r in step.results if r.status is Status.FAILED or r.write_refused]
        if failed:
            step.failure = f"{len(failed)} file{'s' * (len(failed) != 1)} failed"
        else:
            tree.stage(
                path for r in step.results if r.written for path in (r.path, r.new_path) if path
            )
            if verify is not None and baseline is not None and tree.has_staged_changes():
                with import_phase(progress, f"verify {verify.app}: import after {codemod.name}"):
                    step.differences = verify_rewrite(
                        verify.app,
                        app_root,
                        baseline,
                        verify.python,
                        codemod.allowed_api_changes,
                    )
                step.verified = True
                say(f"{codemod.name}: {_verify_line(verify.app, step.differences)}", False)
                if step.differences:
                    step.failure = "the API changed (--verify)"
        if step.failure:
            tree.discard_changes()
            say(
                f"{codemod.name}: {step.failure}; nothing committed for it, the run stops here",
                True,
            )
            return
        if tree.has_staged_changes():
            step.commit = tree.commit_staged(commit_message(codemod, step.results))
            say(f"committed {step.commit[:10]} {subject(codemod, step.results)}", False)
        else:
            say(f"{codemod.name}: nothing to change, no commit", False)


def _no_progress(phase: str, done: int, total: int) -> None:
    pass


def _verify_line(app: str, differences: Sequence[str]) -> str:
    if differences:
        return f"verify {app}: the API changed"
    return f"verify {app}: OpenAPI and routes unchanged"


def _app_root(repo: Repository, tree_root: Path) -> Path:
    """The worktree's twin of the current folder: where ``--verify`` imports the app from."""
    relative = os.path.relpath(os.path.realpath(Path.cwd()), os.path.realpath(repo.root))
    return tree_root if relative.startswith("..") else tree_root / relative


def _baseline(
    verify: VerifyRequest | None, app_root: Path, progress: Progress
) -> AppSnapshot | None:
    if verify is None:
        return None
    try:
        with import_phase(progress, f"verify {verify.app}: import before any rewrite"):
            return snapshot_app(verify.app, app_root, verify.python)
    except VerifyError as exc:
        raise BranchRefused(f"--verify: cannot inspect the app before any rewrite: {exc}") from None


# -- commit messages ---------------------------------------------------------------------


def subject(codemod: Codemod, results: Sequence[FileResult]) -> str:
    changed = [r for r in results if r.status is Status.CHANGED]
    edits = sum(len(r.edits) for r in changed)
    return (
        f"fastapi-fix: {codemod.name} ({len(changed)} file{'s' * (len(changed) != 1)}, "
        f"{edits} edit{'s' * (edits != 1)})"
    )


def commit_message(codemod: Codemod, results: Sequence[FileResult]) -> str:
    """Subject, the codemod's summary, then its files with their edits, then what it left."""
    lines = [subject(codemod, results), "", codemod.summary, "", "Files and edits:"]
    for result in sorted(
        (r for r in results if r.status is Status.CHANGED), key=lambda r: r.display_path
    ):
        moved = f" (moved to {new_display_path(result)})" if result.new_path else ""
        lines.append(f"- {result.display_path}{moved}")
        for edit in sorted(result.edits, key=lambda e: (e.line, e.end_line)):
            span = f"{edit.line}" if edit.end_line == edit.line else f"{edit.line}-{edit.end_line}"
            lines.append(f"  - line {span}: {edit.description or 'rewritten'}")
    findings = sorted(
        (f for r in results for f in r.findings), key=lambda f: (f.path, f.line, f.column)
    )
    if findings:
        lines += ["", f"Left for review ({len(findings)}):"]
        lines += [
            f"- {finding.path}:{finding.line}:{finding.column}: {finding.message}"
            for finding in findings
        ]
    return "\n".join(lines) + "\n"
