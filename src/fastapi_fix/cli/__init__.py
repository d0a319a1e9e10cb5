"""The ``fastapi-fix`` command: parse options, call the engine, render what it yields."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import click

from fastapi_fix import __version__, codemods
from fastapi_fix.cli.render import Renderer
from fastapi_fix.engine.codemod import Codemod, Option, Settings
from fastapi_fix.engine.config import (
    ConfigError,
    find_pyproject,
    load_pyproject,
    parse_target_version,
    project_target_version,
)
from fastapi_fix.engine.discover import discover
from fastapi_fix.engine.results import FileResult, Status
from fastapi_fix.engine.runner import Runner

EXIT_OK, EXIT_PENDING, EXIT_USAGE, EXIT_FAILED = 0, 1, 2, 123


def _option_param(codemod: type[Codemod], option: Option) -> click.Option:
    """A command-line flag for a codemod's option, e.g. ``--no-aliases``, ``--reraise``."""
    dest = f"opt__{codemod.name}__{option.name}".replace("-", "_")
    help_text = f"[{codemod.name}] {option.help}"
    if isinstance(option.default, bool):
        return click.Option([f"--{option.name}/--no-{option.name}", dest], default=None, help=help_text)
    if isinstance(option.default, list):
        return click.Option([f"--{option.name}", dest], multiple=True, help=help_text)
    return click.Option([f"--{option.name}", dest], type=type(option.default), default=None, help=help_text)


def _codemod_options(params: dict[str, Any]) -> dict[str, dict[str, Any]]:
    chosen: dict[str, dict[str, Any]] = {}
    for codemod in codemods.REGISTRY:
        for option in codemod.options:
            value = params.pop(f"opt__{codemod.name}__{option.name}".replace("-", "_"), None)
            if value is not None and value != ():
                chosen.setdefault(codemod.name, {})[option.name] = list(value) if isinstance(value, tuple) else value
    return chosen


def _target_version(given: str | None, paths: tuple[Path, ...]) -> tuple[int, int] | None:
    if given:
        return parse_target_version(given)
    pyproject = find_pyproject(paths)
    return project_target_version(load_pyproject(pyproject)) if pyproject else None


@click.command(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option("--dry-run", "--diff", "dry_run", is_flag=True, help="Write nothing; print a unified diff.")
@click.option("--check", is_flag=True, help="Write nothing; list the files that would change.")
@click.option("--select", multiple=True, metavar="NAME", help="Run only these codemods (repeatable, comma lists).")
@click.option("--ignore", multiple=True, metavar="NAME", help="Do not run these codemods.")
@click.option("--list-codemods", is_flag=True, help="List the codemods and exit.")
@click.option("--exclude", multiple=True, metavar="GLOB", help="Skip files matching this glob (repeatable).")
@click.option("--target-version", metavar="PYXY", help="Oldest Python the project supports (default: requires-python).")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=None, help="Processes to use [default: all cores].")
@click.option("-q", "--quiet", is_flag=True, help="Print only diffs and errors.")
@click.option("-v", "--verbose", is_flag=True, help="Also list unchanged files.")
@click.version_option(__version__, "--version", prog_name="fastapi-fix")
@click.pass_context
def main(ctx: click.Context, paths: tuple[Path, ...], dry_run: bool, check: bool, select: tuple[str, ...],
         ignore: tuple[str, ...], list_codemods: bool, exclude: tuple[str, ...], target_version: str | None,
         jobs: int | None, quiet: bool, verbose: bool, **codemod_params: Any) -> None:
    """Fix the common pitfalls of a FastAPI code base, in place (or preview with --dry-run)."""
    renderer = Renderer(quiet=quiet, verbose=verbose)
    try:
        chosen = codemods.select(select, ignore)
    except codemods.UnknownCodemod as exc:
        raise click.UsageError(str(exc)) from None
    if list_codemods:
        renderer.codemod_list(codemods.REGISTRY)
        ctx.exit(EXIT_OK)
    if not paths:
        raise click.UsageError("give at least one PATH (for example: fastapi-fix --dry-run .)")
    if dry_run and check:
        raise click.UsageError("--dry-run and --check cannot be combined")
    try:
        settings = Settings(_target_version(target_version, paths), _codemod_options(codemod_params))
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from None
    instances = [codemod(settings) for codemod in chosen]
    ctx.exit(run(instances, chosen, paths, exclude, jobs, renderer, write=not (dry_run or check), check=check))


def run(instances: list[Codemod], chosen: list[type[Codemod]], paths: tuple[Path, ...], exclude: tuple[str, ...],
        jobs: int | None, renderer: Renderer, *, write: bool, check: bool) -> int:
    found = discover(paths, exclude)
    for display, reason in found.skipped:
        renderer.file_problem(FileResult(Path(display), display, Status.SKIPPED, reason))
    results: list[FileResult] = []
    progress = renderer.progress(len(found.files))
    tasks: dict[str, Any] = {}

    def advance(phase: str, done: int, total: int) -> None:
        if progress is not None:
            if phase not in tasks:
                tasks[phase] = progress.add_task(phase, total=total)
            progress.update(tasks[phase], completed=done)

    runner = Runner(instances, jobs=jobs, progress=advance)
    with progress or contextlib.nullcontext():
        for result in runner.run(found.files, write=write, roots=found.roots):
            _render_result(renderer, result, write=write, check=check)
            result.old = result.new = None  # rendered: keep memory flat in the project's size
            results.append(result)
    renderer.summary(chosen, results, applied=write)
    return _exit_code(results, write=write)


def _render_result(renderer: Renderer, result: FileResult, *, write: bool, check: bool) -> None:
    if result.status is Status.CHANGED:
        if write:
            renderer.fixed(result)
        elif check:
            renderer.would_fix(result)
        else:
            renderer.diff(result)
    renderer.file_problem(result)
    renderer.findings(result)


def _exit_code(results: list[FileResult], *, write: bool) -> int:
    if any(r.status is Status.FAILED or r.write_refused for r in results):
        return EXIT_FAILED
    if not write and any(r.status is Status.CHANGED for r in results):
        return EXIT_PENDING
    return EXIT_OK


def _dynamic_params() -> None:
    for codemod in codemods.REGISTRY:
        for option in codemod.options:
            main.params.append(_option_param(codemod, option))


_dynamic_params()
