"""Everything the user sees: diffs on stdout; progress, findings and the summary on stderr."""

from __future__ import annotations

import sys
from collections import Counter, defaultdict
from collections.abc import Sequence

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from fastapi_fix.engine.codemod import Codemod
from fastapi_fix.engine.diff import unified_diff
from fastapi_fix.engine.results import FileResult, Status

# Show a progress bar only for runs long enough to want one.
PROGRESS_MIN_FILES = 200


class Renderer:
    def __init__(self, *, quiet: bool = False, verbose: bool = False) -> None:
        self.quiet = quiet
        self.verbose = verbose
        self.out = Console(file=sys.stdout, highlight=False, soft_wrap=True)
        self.err = Console(file=sys.stderr, highlight=False, soft_wrap=True)

    # -- diffs -----------------------------------------------------------------
    def diff(self, result: FileResult) -> None:
        assert result.old is not None and result.new is not None
        self.patch(unified_diff(result.old, result.new, result.display_path))

    def patch(self, patch: bytes) -> None:
        """The bytes as they are when piped (so `git apply` gets them exactly), coloured on a terminal."""
        if not self.out.is_terminal:
            sys.stdout.flush()
            sys.stdout.buffer.write(patch)
            sys.stdout.buffer.flush()
            return
        for line in patch.decode("utf-8", errors="replace").splitlines():
            style = {"+": "green", "-": "red", "@": "cyan"}.get(line[:1], "")
            if line.startswith(
                ("+++", "---", "diff --git", "rename ", "new file", "deleted file", "similarity")
            ):
                style = "bold"
            self.out.print(Text(line, style=style))

    def would_fix(self, result: FileResult) -> None:
        self.out.print(Text(f"would fix {result.display_path}"))

    def fixed(self, result: FileResult) -> None:
        if not self.quiet:
            self.err.print(Text(f"fixed {result.display_path}"))

    # -- per-file problems -----------------------------------------------------
    def file_problem(self, result: FileResult) -> None:
        if self.verbose and result.status is Status.UNCHANGED:
            self.err.print(Text(f"{result.display_path}: unchanged", style="dim"))
        if result.status is Status.FAILED:
            self.err.print(Text(f"{result.display_path}: error: {result.reason}", style="red"))
        elif result.status is Status.SKIPPED and (not self.quiet or result.write_refused):
            self.err.print(Text(f"{result.display_path}: skipped: {result.reason}", style="yellow"))

    def findings(self, result: FileResult) -> None:
        if self.quiet:
            return
        for finding in sorted(result.findings, key=lambda f: (f.line, f.column)):
            self.err.print(Text(str(finding)))

    def say(self, message: str, is_error: bool) -> None:
        (self.error if is_error else self.note)(message)

    def error(self, message: str) -> None:
        self.err.print(Text(f"error: {message}", style="red"))

    def note(self, message: str) -> None:
        if not self.quiet:
            self.err.print(Text(message))

    def differences(self, lines: Sequence[str]) -> None:
        """What --verify found changed: unified diffs of routes and OpenAPI schema."""
        if self.quiet:
            return
        for line in lines:
            style = {"+": "green", "-": "red", "@": "cyan"}.get(line[:1], "")
            self.err.print(Text(line, style="bold" if line.startswith(("+++", "---")) else style))

    # -- summary ---------------------------------------------------------------
    def summary(
        self, codemods: Sequence[type[Codemod]], results: Sequence[FileResult], *, applied: bool
    ) -> None:
        if self.quiet:
            return
        changed_files: dict[str, set[str]] = defaultdict(set)
        edits: Counter[str] = Counter()
        findings: Counter[str] = Counter()
        for result in results:
            for edit in result.edits if result.status is Status.CHANGED else ():
                changed_files[edit.codemod].add(result.display_path)
                edits[edit.codemod] += 1
            for finding in result.findings:
                findings[finding.codemod] += 1
        table = Table(title=None, show_edge=False, header_style="bold")
        table.add_column("codemod")
        table.add_column("files fixed" if applied else "files to fix", justify="right")
        table.add_column("edits", justify="right")
        table.add_column("left for review", justify="right")
        for codemod in codemods:
            table.add_row(
                codemod.name,
                str(len(changed_files[codemod.name])),
                str(edits[codemod.name]),
                str(findings[codemod.name]),
            )
        self.err.print(table)
        counts = Counter(r.status for r in results)
        self.err.print(
            Text(
                f"{len(results)} files: {counts[Status.CHANGED]} {'fixed' if applied else 'to fix'}, "
                f"{counts[Status.UNCHANGED]} unchanged, {counts[Status.SKIPPED]} skipped, "
                f"{counts[Status.FAILED]} failed"
            )
        )

    # -- progress --------------------------------------------------------------
    def progress(self, total_files: int) -> Progress | None:
        if self.quiet or not self.err.is_terminal or total_files < PROGRESS_MIN_FILES:
            return None
        return Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=self.err,
            transient=True,
        )

    def codemod_list(self, codemods: Sequence[type[Codemod]]) -> None:
        table = Table(show_edge=False, header_style="bold")
        table.add_column("name")
        table.add_column("what it does")
        table.add_column("safety")
        for codemod in codemods:
            name = codemod.name + ("" if codemod.default_enabled else " (only with --select)")
            table.add_row(Text(name), Text(codemod.summary), Text(codemod.safety))
        self.out.print(table)
