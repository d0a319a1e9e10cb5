"""Everything the user sees: diffs on stdout; progress, findings and the summary on stderr."""

from __future__ import annotations

import contextlib
import sys
import textwrap
import threading
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Literal

from rich.console import Console
from rich.table import Table
from rich.text import Text

from fastapi_fix.engine.codemod import Codemod
from fastapi_fix.engine.diff import unified_diff
from fastapi_fix.engine.results import FINDING_WIDTH, FileResult, Finding, Status

if TYPE_CHECKING:
    from rich.progress import TaskID

# Progress shows once a command's first phase has run this long (seconds): a quick run never
# flickers, however long it took to start (a run imports the rewriting machinery first).
PROGRESS_DELAY = 0.5
# With -q, a kind of finding seen this many times or more is one line with its count.
QUIET_KIND_THRESHOLD = 3
# "listed": one line per finding, then each kind explained; "counted" (-q): the same, but a
# kind seen many times is one counted line and not explained; None: no findings (JSON).
FindingMode = Literal["listed", "counted"] | None


class Renderer:
    def __init__(
        self, *, quiet: bool = False, verbose: bool = False, finding_mode: FindingMode = None
    ) -> None:
        """``finding_mode``: how findings show on stderr; by default listed unless ``quiet``."""
        self.quiet = quiet
        self.verbose = verbose
        self.finding_mode: FindingMode = finding_mode or (None if quiet else "listed")
        self.pending_findings: list[Finding] = []
        self._phases: PhaseProgress | None = None
        self.out = Console(file=sys.stdout, highlight=False, soft_wrap=True)
        self.err = Console(file=sys.stderr, highlight=False, soft_wrap=True)

    # -- diffs -----------------------------------------------------------------
    def diff(self, result: FileResult) -> None:
        if result.patch is None:  # the engine makes it where it rewrote the file
            assert result.old is not None and result.new is not None
            result.patch = unified_diff(result.old, result.new, result.display_path)
        self.patch(result.patch)

    def patch(self, patch: bytes) -> None:
        """The bytes as they are when piped (so `git apply` gets them exactly), coloured on a terminal."""
        if not self.out.is_terminal:
            sys.stdout.flush()
            sys.stdout.buffer.write(patch)
            sys.stdout.buffer.flush()
            return
        with self._phases.paused() if self._phases else contextlib.nullcontext():
            self._print_patch(patch)

    def _print_patch(self, patch: bytes) -> None:
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
        """Kept for `finding_list`, printed once the run is over (so, grouped and ordered)."""
        self.pending_findings.extend(result.findings)

    def finding_list(self, findings: Sequence[Finding] | None = None) -> None:
        """Every finding as one line, ``path:line:col: codemod: what``, grouped by file (the
        files with the most to review first); then each kind's explanation once. ``-v`` adds
        each finding's whole text; ``-q`` shows a kind repeated many times as one counted line."""
        if findings is None:
            findings, self.pending_findings = self.pending_findings, []
        if not findings or not self.finding_mode:
            return
        kinds = Counter((f.codemod, f.kind) for f in findings if f.kind)
        counted = {key for key, count in kinds.items() if count >= QUIET_KIND_THRESHOLD}
        if self.finding_mode != "counted":
            counted = set()
        by_file: dict[str, list[Finding]] = defaultdict(list)
        for finding in findings:
            if (finding.codemod, finding.kind) not in counted:
                by_file[finding.path].append(finding)
        for path in sorted(by_file, key=lambda p: (-len(by_file[p]), p)):
            for finding in sorted(by_file[path], key=lambda f: (f.line, f.column, f.codemod)):
                self.err.print(Text(finding.one_line()))
                if self.verbose and finding.message != finding.headline:
                    self.err.print(Text(f"    {finding.message}", style="dim"))
        for codemod, kind in sorted(counted, key=lambda key: -kinds[key]):
            example = next(f for f in findings if (f.codemod, f.kind) == (codemod, kind))
            self.err.print(
                Text(
                    f"{codemod}: {kind}: {kinds[codemod, kind]} findings "
                    f"(first: {example.path}:{example.line}:{example.column})"
                )
            )
        if self.finding_mode == "listed" or self.verbose:
            self._kind_details(findings, kinds)

    def _kind_details(self, findings: Sequence[Finding], kinds: Counter[tuple[str, str]]) -> None:
        details = {(f.codemod, f.kind): f.detail for f in findings if f.kind and f.detail}
        for (codemod, kind), detail in sorted(details.items()):
            self.err.print(Text(f"{kind} ({codemod}, {kinds[codemod, kind]}):"))
            indent = " " * 4
            wrapped = textwrap.fill(
                detail, FINDING_WIDTH, initial_indent=indent, subsequent_indent=indent
            )
            self.err.print(Text(wrapped, style="dim"))

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
    def phases(self) -> PhaseProgress | contextlib.nullcontext[None]:
        """The whole command's progress display, to enter once around it: on a terminal only
        (never in a pipe, nor with -q or --format json); `phase` reports to it."""
        if self.quiet or not sys.stderr.isatty():
            return contextlib.nullcontext()
        self._phases = PhaseProgress(self.err)
        return self._phases

    def phase(self, phase: str, done: int, total: int) -> None:
        """A phase's progress (the engine's `ProgressCallback`): shown if a display is open."""
        if self._phases is not None:
            self._phases.update(phase, done, total)

    def codemod_list(self, codemods: Sequence[type[Codemod]]) -> None:
        table = Table(show_edge=False, header_style="bold")
        table.add_column("name")
        table.add_column("what it does")
        table.add_column("safety")
        for codemod in codemods:
            name = codemod.name + ("" if codemod.default_enabled else " (only with --select)")
            table.add_row(Text(name), Text(codemod.summary), Text(codemod.safety))
        self.out.print(table)


class PhaseProgress:
    """One transient line per phase under way (gather, index, transform, write, --verify's
    imports, --branch's steps), on stderr. It appears only once the command has run for
    `PROGRESS_DELAY` after its first phase began, so a quick run prints nothing of it; a
    finished phase's line goes away."""

    def __init__(self, console: Console) -> None:
        # Imported here: only a run shows progress; --list-codemods starts without it.
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
        )

        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        )
        self.tasks: dict[str, TaskID] = {}
        self._lock = threading.Lock()
        self._shown = self._closed = self._timing = False
        # A phase may report nothing for seconds (an index, an import): a timer shows it.
        self._timer = threading.Timer(PROGRESS_DELAY, self._show)
        self._timer.daemon = True

    def __enter__(self) -> PhaseProgress:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._timer.cancel()
        with self._lock:
            self._closed = True
            if self._shown:
                self.progress.stop()

    def _show(self) -> None:
        with self._lock:
            if not self._closed:
                self.progress.start()
                self._shown = True

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """Hidden while something else is printed on the terminal (a diff on stdout)."""
        with self._lock:
            shown = self._shown and not self._closed
            if shown:
                self.progress.stop()
            try:
                yield
            finally:
                if shown:
                    self.progress.start()

    def update(self, phase: str, done: int, total: int) -> None:
        with self._lock:
            if not (self._timing or self._closed):
                self._timing = True  # from the first phase on: start-up and imports do not count
                self._timer.start()
        task = self.tasks.get(phase)
        if task is None:
            task = self.tasks[phase] = self.progress.add_task(phase, total=total)
        elif self.progress.tasks[task].finished and done < total:  # the phase runs again
            self.progress.reset(task, total=total)
        self.progress.update(task, completed=done, total=total, visible=done < total)
