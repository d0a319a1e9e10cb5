"""The command line of project-level codemods (``layered-layout``): plan table, git-style
patch, findings; ``--write-plan FILE`` to edit the plan, ``--plan FILE`` to apply it.

Output: the plan and the report go to stderr, the patch to stdout (so that
``fastapi-fix --select layered-layout --dry-run . > layout.patch`` gives a file
``git apply`` takes, renames included).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click
from rich.text import Text

from fastapi_fix.cli.errors import OptionError
from fastapi_fix.cli.render import Renderer
from fastapi_fix.engine import report
from fastapi_fix.engine.codemod import Codemod, ProjectCodemod, SourceFile
from fastapi_fix.engine.config import ConfigError
from fastapi_fix.engine.deep import call_deep, too_deep
from fastapi_fix.engine.project_change import (
    ApplyError,
    ProjectChange,
    apply_change,
    change_patch,
)
from fastapi_fix.engine.results import FileResult, Status

EXIT_OK, EXIT_PENDING, EXIT_USAGE, EXIT_FAILED = 0, 1, 2, 123


def run_project_codemods(
    instances: Sequence[Codemod],
    paths: Sequence[Path],
    files: Sequence[SourceFile],
    renderer: Renderer,
    *,
    dry_run: bool,
    check: bool,
    json_output: bool = False,
) -> int:
    """Plan, show, and (unless previewing) apply the project-level codemod selected; with
    ``json_output`` the report is one JSON document on stdout (the renderer is quiet)."""
    if len(instances) != 1:
        names = ", ".join(c.name for c in instances)
        raise click.UsageError(
            f"a project-level codemod runs on its own (selected: {names}); "
            "apply the other codemods first, then run it with --select alone"
        )
    codemod = instances[0]
    assert isinstance(codemod, ProjectCodemod)
    if len(paths) != 1 or not paths[0].is_dir():
        raise click.UsageError(
            f"{codemod.name} takes the project's folder as its one PATH (for example: .)"
        )
    root = Path(os.path.abspath(paths[0]))
    try:
        renderer.phase(f"plan {codemod.name}", 0, 1)
        change = call_deep(codemod.plan_project, root, files)
        renderer.phase(f"plan {codemod.name}", 1, 1)
    except ConfigError as exc:  # its options or its plan file: nothing was planned
        raise OptionError(str(exc)) from None
    except (RecursionError, MemoryError) as exc:
        renderer.error(f"{codemod.name}: a file is {too_deep(exc)}; nothing was changed")
        change = None
    except Exception as exc:  # noqa: BLE001 - a bug must not leave a traceback and half a plan behind
        renderer.error(
            f"internal error in {codemod.name} while planning: {exc!r}; nothing was changed"
        )
        change = None
    code, written = (
        (EXIT_FAILED, False)
        if change is None
        else _show_and_apply(
            codemod, change, renderer, dry_run=dry_run, check=check, stdout=not json_output
        )
    )
    if json_output:
        mode = "check" if check else "dry-run" if dry_run else "apply"
        click.echo(report.dumps(json_document(change, codemod.name, mode, code, written)), nl=False)
    return code


def _show_and_apply(
    codemod: ProjectCodemod,
    change: ProjectChange,
    renderer: Renderer,
    *,
    dry_run: bool,
    check: bool,
    stdout: bool,
) -> tuple[int, bool]:
    """(exit code, whether the change is on disk now)."""
    prefix = _prefix(change.root)
    for note in change.notes:
        renderer.note(note)
    render_plan(renderer, change, prefix)
    write_plan = _path_option(codemod, "write-plan")
    if write_plan:
        return _write_plan(renderer, change, write_plan), False
    if dry_run and stdout:
        print_patch(renderer, change, prefix)
    elif check and stdout:
        for file in change.files:
            renderer.out.print(Text(f"would {file.kind} {prefix}{file.path}"))
    render_findings(renderer, change, prefix)
    if change.errors:
        for error in change.errors:
            renderer.error(error)
        return (EXIT_USAGE if change.refused else EXIT_FAILED), False
    if dry_run or check:
        _summary(renderer, change, applied=False)
        return (EXIT_PENDING if change.files else EXIT_OK), False
    if not change.files:
        return EXIT_OK, False
    plan_file = _path_option(codemod, "plan")
    staged = [0]

    def staging(step: str) -> None:  # a move can take two steps: the total is a floor
        staged[0] += 1
        renderer.phase("write", staged[0], max(staged[0] + 1, len(change.files)))

    try:
        applied = apply_change(
            change,
            allow_dirty=bool(_option(codemod, "allow-dirty")),
            ignore_dirty=[plan_file] if plan_file else [],
            step_hook=staging,
            verify=lambda: codemod.verify_applied(change),
        )
        renderer.phase("write", staged[0], staged[0])
    except ApplyError as exc:
        renderer.error(str(exc))
        return EXIT_FAILED, False
    for old, new in applied.moved:
        renderer.note(
            f"moved {prefix}{old} -> {prefix}{new}" + (" (git mv)" if applied.used_git else "")
        )
    for path in applied.created:
        renderer.note(f"created {prefix}{path}")
    for path in applied.removed:
        renderer.note(f"removed {prefix}{path}")
    _summary(renderer, change, applied=True)
    return EXIT_OK, True


def json_document(
    change: ProjectChange | None, codemod: str, mode: str, code: int, written: bool
) -> dict[str, Any]:
    """The ``--format json`` report: one entry per file changed (``new_path`` for moves)
    or reported, plus a ``layout`` section with the plan rows, notes and errors."""
    results: dict[str, FileResult] = {}
    # A refused plan changes no file: its files and rows would say otherwise.
    refused = change is not None and bool(change.errors)
    if change is not None and not refused:
        root = change.root
        for file in change.files:
            path = file.old_path or file.path
            result = FileResult(
                root / path,
                path,
                Status.CHANGED,
                "removed" if file.kind == "delete" else "",
                written=written,
                # The preview's patch (renames included), as --dry-run prints it.
                patch=change_patch(file) if mode != "apply" else None,
            )
            if file.kind == "move":
                result.new_path = root / file.path
            results[path] = result
    if change is not None:
        root = change.root
        for finding in change.findings:
            result = results.setdefault(
                finding.path, FileResult(root / finding.path, finding.path, Status.UNCHANGED)
            )
            result.findings.append(finding)
    layout = (
        None
        if change is None
        else {
            "rows": [
                {
                    "kind": r.kind,
                    "from": r.source or None,
                    "to": r.target or None,
                    "reason": r.reason,
                }
                for r in change.rows  # a refused plan's rows: what was refused
            ],
            "notes": change.notes,
            "errors": change.errors,
        }
    )
    ordered = [results[path] for path in sorted(results)]
    return report.document(ordered, mode=mode, codemods=[codemod], exit_code=code, layout=layout)


def _option(codemod: Codemod, name: str) -> object:
    return codemod.option(name) if name in codemod.option_values else None


def _path_option(codemod: Codemod, name: str) -> Path | None:
    """A path option's file; None when it is not given (its default is "")."""
    value = _option(codemod, name)
    return Path(value) if isinstance(value, str) and value else None


def _prefix(root: Path) -> str:
    """Paths are shown from the current folder when the project is below it (the patch
    then applies from here), else from the project's root."""
    relative = Path(os.path.relpath(root, Path.cwd())).as_posix()
    return "" if relative == "." or relative.startswith("..") else f"{relative}/"


def render_plan(renderer: Renderer, change: ProjectChange, prefix: str) -> None:
    """One line per move or split, then one per group of definitions leaving a module."""
    if renderer.quiet or not change.rows:
        return
    renderer.err.print(Text("layout plan:", style="bold"))
    width = (
        max(len(f"{prefix}{row.source}") for row in change.rows if row.kind != "create")
        if any(row.kind != "create" for row in change.rows)
        else 0
    )
    previous = None
    for row in change.rows:
        source = f"{prefix}{row.source}" if row.source else ""
        target = f"{prefix}{row.target}" if row.target else ""
        if row.kind == "split" and source == previous:
            names, _, why = row.reason.partition(" (")
            line = f"  {'':6} {'  ' + names:<{width}} -> {target}" + (f"  ({why}" if why else "")
        elif row.kind == "create":
            line = f"  {'create':6} {'':<{width}}    {target}  ({row.reason})"
        elif row.kind == "delete":
            line = f"  {'delete':6} {source:<{width}}  ({row.reason})"
        else:
            line = f"  {row.kind:6} {source:<{width}} -> {target}" + (
                f"  ({row.reason})" if row.reason else ""
            )
        previous = source
        renderer.err.print(Text(line.rstrip()))


def print_patch(renderer: Renderer, change: ProjectChange, prefix: str) -> None:
    renderer.patch(b"".join(change_patch(file, prefix) for file in change.files))


def render_findings(renderer: Renderer, change: ProjectChange, prefix: str) -> None:
    renderer.finding_list(
        [
            dataclasses.replace(finding, path=f"{prefix}{finding.path}")
            for finding in change.findings
        ]
    )


def _summary(renderer: Renderer, change: ProjectChange, *, applied: bool) -> None:
    counts: dict[str, int] = {}
    for file in change.files:
        counts[file.kind] = counts.get(file.kind, 0) + 1
    parts = [
        f"{counts.get(kind, 0)} {label}"
        for kind, label in (
            ("move", "moved"),
            ("create", "created"),
            ("modify", "rewritten"),
            ("delete", "removed"),
        )
    ]
    if not change.files:
        renderer.note(f"layout: nothing to change; {len(change.findings)} left for review")
        return
    verb = "" if applied else " (planned)"
    renderer.note(f"layout: {', '.join(parts)}{verb}; {len(change.findings)} left for review")


def _write_plan(renderer: Renderer, change: ProjectChange, path: Path) -> int:
    if change.plan_text is None:
        renderer.error("nothing to plan")
        return EXIT_FAILED
    try:
        path.write_text(change.plan_text, encoding="utf-8")
    except OSError as exc:
        raise click.UsageError(f"cannot write the plan to {path}: {exc.strerror or exc}") from None
    renderer.note(f"plan written to {path}; edit it, then apply it with --plan {path}")
    for error in change.errors:
        renderer.error(error)
    return EXIT_FAILED if change.errors else EXIT_OK
