"""The ``fastapi-fix`` command: parse options, call the engine, render what it yields."""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from fastapi_fix import __version__, codemods
from fastapi_fix.cli.errors import OptionError
from fastapi_fix.engine import report
from fastapi_fix.engine.cache import (
    DEFAULT_FOLDER,
    ENV_VAR,
    REMEMBERED,
    Cache,
    cache_folder,
    settings_key,
)
from fastapi_fix.engine.codemod import Codemod, Option, ProjectCodemod, Settings
from fastapi_fix.engine.results import FileResult, Status
from fastapi_fix.engine.signals import Interrupted, interrupts_raised, terminate_workers

# The engine's running parts (LibCST, pathspec, packaging, rich) are imported where a run
# needs them: `--version`, `--help` and `--list-codemods` start without them (start-up).
if TYPE_CHECKING:
    from fastapi_fix.cli.render import Renderer
    from fastapi_fix.engine.branch import VerifyRequest
    from fastapi_fix.engine.config import Targets, ToolConfig
    from fastapi_fix.engine.discover import Discovery
    from fastapi_fix.engine.verify import Rollback, Verification

EXIT_OK, EXIT_PENDING, EXIT_USAGE, EXIT_FAILED = 0, 1, 2, 123
# --verify found the API changed: the rewrite was rolled back (or the branch stopped).
EXIT_API_CHANGED = 3


class RunRefused(Exception):
    """The run could not start (``--branch`` on a dirty tree, an app ``--verify`` cannot
    import): its reason was said; no summary follows, only the exit code."""

    def __init__(self, exit_code: int) -> None:
        super().__init__(exit_code)
        self.exit_code = exit_code


def _option_param(codemod: type[Codemod], option: Option) -> click.Option:
    """A command-line flag for a codemod's option, e.g. ``--no-aliases``, ``--reraise``."""
    dest = f"opt__{codemod.name}__{option.name}".replace("-", "_")
    help_text = f"[{codemod.name}] {option.help}"
    if isinstance(option.default, bool):
        return click.Option(
            [f"--{option.name}/--no-{option.name}", dest], default=None, help=help_text
        )
    if isinstance(option.default, list):
        return click.Option([f"--{option.name}", dest], multiple=True, help=help_text)
    return click.Option(
        [f"--{option.name}", dest], type=type(option.default), default=None, help=help_text
    )


def _codemod_options(params: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The codemod options given on the command line, checked as the configuration's are."""
    from fastapi_fix.engine.config import ConfigError

    chosen: dict[str, dict[str, Any]] = {}
    for codemod in codemods.REGISTRY:
        for option in codemod.options:
            value = params.pop(f"opt__{codemod.name}__{option.name}".replace("-", "_"), None)
            if isinstance(value, tuple):  # a repeatable flag; comma lists too, as --select
                value = codemods.split_names(value) or None
            if value is not None:
                try:
                    option.validate(value)
                except ValueError as exc:
                    raise ConfigError(f"--{exc}") from None
                chosen.setdefault(codemod.name, {})[option.name] = value
    return chosen


class FastapiFixCommand(click.Command):
    """Every run ends with an exit code and one line, never a traceback; with ``--format json``
    also one JSON document on stdout, even when click itself rejects the command line."""

    json_output = False

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        argv = list(sys.argv[1:] if args is None else args)
        json_output = self.json_output = _asks_for_json(argv)
        try:
            code = super().main(argv, prog_name, complete_var, standalone_mode=False, **extra)
        except click.ClickException as exc:
            exc.show()
            code = exc.exit_code
            if json_output:
                _echo_error_document(exc.format_message(), code)
        except click.Abort as exc:
            click.echo("Aborted!", err=True)
            code = 130 if isinstance(exc.__context__, KeyboardInterrupt) else 1
        except Exception as exc:  # noqa: BLE001 -- the last resort: a bug still ends in one line
            if "-v" in argv or "--verbose" in argv:
                import traceback  # only for a bug: the CLI starts without it

                traceback.print_exc()
            message = f"internal error: {type(exc).__name__}: {exc}"
            click.echo(f"fastapi-fix: {message}", err=True)
            code = EXIT_FAILED
            if json_output:
                _echo_error_document(message, code)
        if standalone_mode:
            sys.exit(code)
        return code

    def invoke(self, ctx: click.Context) -> Any:
        """SIGINT/SIGTERM/SIGHUP: what is in progress is undone on the way out (see
        `engine.signals`), then one line and exit 128 + the signal's number (130, 143, 129)."""
        with interrupts_raised():
            try:
                return super().invoke(ctx)
            except Interrupted as exc:
                from fastapi_fix.engine.transaction import files_changed_by_this_process

                terminate_workers()
                message = exc.message(written_before=files_changed_by_this_process())
                click.echo(f"fastapi-fix: {message}", err=True)
                if self.json_output:
                    _echo_error_document(message, exc.exit_code)
                _leave_now_if_a_thread_would_hold_the_exit(exc.exit_code)
                ctx.exit(exc.exit_code)


def _leave_now_if_a_thread_would_hold_the_exit(code: int) -> None:
    """Everything is undone and said: leave without joining the threads still alive. A worker
    stopped while it sent a result leaves half a message in the pool's pipe, and the pool's
    thread, which the interpreter joins at exit, would wait for the rest of it forever."""
    main_thread = threading.main_thread()
    if any(not t.daemon and t is not main_thread for t in threading.enumerate()):
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _asks_for_json(argv: Sequence[str]) -> bool:
    """``--format json`` (or ``--format=json``) among the raw arguments: read before click
    parses them, so that even its own usage errors come as a document."""
    for index, arg in enumerate(argv):
        if arg == "--":
            break
        if arg == "--format=json" or (
            arg == "--format" and argv[index + 1 : index + 2] == ["json"]
        ):
            return True
    return False


def _echo_error_document(message: str, code: int) -> None:
    click.echo(report.dumps(report.error_document(message, exit_code=code)), nl=False)


def _target_version(given: str | None, config: ToolConfig) -> tuple[int, int] | None:
    from fastapi_fix.engine.config import parse_target_version

    return parse_target_version(given) if given else config.target_version


def _chosen_codemods(
    config: ToolConfig, select: tuple[str, ...], ignore: tuple[str, ...]
) -> list[type[Codemod]]:
    from fastapi_fix.engine.config import effective_selection

    return codemods.select(*effective_selection(config, select, ignore))


@click.command(
    cls=FastapiFixCommand,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--dry-run", "--diff", "dry_run", is_flag=True, help="Write nothing; print a unified diff."
)
@click.option("--check", is_flag=True, help="Write nothing; list the files that would change.")
@click.option(
    "--select",
    multiple=True,
    metavar="NAME",
    help="Run only these codemods (repeatable, comma lists).",
)
@click.option("--ignore", multiple=True, metavar="NAME", help="Do not run these codemods.")
@click.option("--list-codemods", is_flag=True, help="List the codemods and exit.")
@click.option(
    "--exclude", multiple=True, metavar="GLOB", help="Skip files matching this glob (repeatable)."
)
@click.option(
    "--target-version",
    metavar="PYXY",
    help="Oldest Python the project supports (default: requires-python).",
)
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(min=1),
    default=None,
    help="Processes to use [default: all cores].",
)
@click.option(
    "--no-cache",
    is_flag=True,
    help="Neither read nor write the cache of earlier runs.",
)
@click.option(
    "--cache-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help=f"Keep the cache here [default: ${ENV_VAR}, else {DEFAULT_FOLDER}/ at the project's root].",
)
@click.option(
    "--branch",
    metavar="NAME",
    help="Apply on a new git branch NAME, one commit per codemod; your checkout is untouched.",
)
@click.option(
    "--verify",
    metavar="MODULE:APP",
    help="Import the app before and after (runs your code); undo the rewrite if its OpenAPI "
    "schema or routes change.",
)
@click.option(
    "--verify-python",
    metavar="PATH",
    default=sys.executable,
    show_default="this Python",
    help="Interpreter that imports the app for --verify (your project's environment).",
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    help="json: one machine-readable document on stdout (schema in the README).",
)
@click.option(
    "-q",
    "--quiet",
    is_flag=True,
    help="Print only diffs, errors and findings (a frequent kind counted); no progress.",
)
@click.option(
    "-v", "--verbose", is_flag=True, help="Also list unchanged files and each finding's whole text."
)
@click.version_option(__version__, "--version", prog_name="fastapi-fix")
@click.pass_context
def main(
    ctx: click.Context,
    /,  # click passes the context by position
    paths: tuple[Path, ...],
    dry_run: bool,
    check: bool,
    select: tuple[str, ...],
    ignore: tuple[str, ...],
    list_codemods: bool,
    exclude: tuple[str, ...],
    target_version: str | None,
    jobs: int | None,
    no_cache: bool,
    cache_dir: Path | None,
    branch: str | None,
    verify: str | None,
    verify_python: str,
    output_format: str,
    quiet: bool,
    verbose: bool,
    **codemod_params: Any,
) -> None:
    """Fix the common pitfalls of a FastAPI code base, in place (or preview with --dry-run).

    Settings come from [tool.fastapi-fix] in the nearest pyproject.toml; options given here win.
    """
    from fastapi_fix.cli.render import Renderer

    text = output_format == "text"
    renderer = Renderer(
        quiet=quiet or not text,
        verbose=verbose and text,
        finding_mode=None if not text else "counted" if quiet else "listed",
    )
    if list_codemods:
        if text:
            renderer.codemod_list(codemods.REGISTRY)
        else:
            click.echo(report.dumps(report.codemods_document(codemods.REGISTRY)), nl=False)
        ctx.exit(EXIT_OK)
    # A run from here on: what it needs is imported now (see the module's imports).
    from fastapi_fix.engine.config import (
        ConfigError,
        Targets,
        check_globs,
        effective_options,
        load_tool_config,
    )

    if not paths:
        raise click.UsageError("give at least one PATH (for example: fastapi-fix --dry-run .)")
    _check_combinations(dry_run, check, branch, verify)
    try:
        if select and not codemods.split_names(select):
            raise ConfigError("--select: no codemod named (see --list-codemods)")
        check_globs(exclude, "--exclude")
        config = load_tool_config(paths, codemods.REGISTRY)
        chosen = _chosen_codemods(config, select, ignore)
        options = effective_options(config, _codemod_options(codemod_params))
        settings = Settings(_target_version(target_version, config), options)
    except (ConfigError, codemods.UnknownCodemod) as exc:
        raise OptionError(str(exc)) from None
    if not chosen:
        renderer.note("no codemod selected: nothing to do (see --list-codemods)")
    instances = [codemod(settings) for codemod in chosen]
    targets = Targets(paths, exclude, config.exclude, config.root)
    _recover_interrupted_run(renderer, targets)
    # --branch rewrites a checkout of its own, codemod after codemod: nothing to reuse there.
    if not (no_cache or branch):
        targets = replace(
            targets, cache=cache_folder(cache_dir, targets.project_root, paths[0], os.environ)
        )
    if any(isinstance(c, ProjectCodemod) for c in instances):  # its own plan/patch/apply flow
        from fastapi_fix.cli import layout as layout_cli

        if branch or verify:
            raise click.UsageError("layered-layout does not take --branch or --verify")
        with renderer.phases():
            code = layout_cli.run_project_codemods(
                instances,
                paths,
                _discover(targets).files,
                renderer,
                dry_run=dry_run,
                check=check,
                json_output=not text,
            )
        ctx.exit(code)
    verify_request = None
    if verify:
        from fastapi_fix.engine.branch import VerifyRequest

        verify_request = VerifyRequest(verify, verify_python)
    refused = False
    try:
        with renderer.phases():  # one progress display for the whole run
            if branch:
                code, results, sections = _run_on_branch(
                    branch, instances, targets, jobs, renderer, verify_request, text
                )
            else:
                code, results, sections = _run_in_place(
                    instances,
                    targets,
                    jobs,
                    renderer,
                    verify_request,
                    text,
                    write=not (dry_run or check),
                    check=check,
                )
    except RunRefused as exc:  # nothing ran: its reason is all there is to say
        refused, code, results, sections = True, exc.exit_code, [], {}
    if text:
        renderer.finding_list()
        if not refused:
            renderer.summary(chosen, results, applied=not (dry_run or check))
    else:
        mode = "branch" if branch else "check" if check else "dry-run" if dry_run else "apply"
        doc = report.document(
            results, mode=mode, codemods=[c.name for c in chosen], exit_code=code, **sections
        )
        click.echo(report.dumps(doc), nl=False)
    ctx.exit(code)


def journal_root(targets: Targets) -> Path:
    """Where a run keeps its transaction journal: the project's root (else the first path's
    folder). Every run looks there first for a run that was interrupted while writing."""
    if targets.project_root is not None:
        return targets.project_root
    first = Path(os.path.abspath(targets.paths[0]))
    return first if first.is_dir() else first.parent


def _recover_interrupted_run(renderer: Renderer, targets: Targets) -> None:
    from fastapi_fix.engine.transaction import recover

    root = journal_root(targets)
    recovery = recover(root)
    if recovery is not None:
        renderer.error(recovery.message(root))


def _check_combinations(dry_run: bool, check: bool, branch: str | None, verify: str | None) -> None:
    if dry_run and check:
        raise click.UsageError("--dry-run and --check cannot be combined")
    if branch is not None and not branch.strip():
        raise click.UsageError("--branch needs a branch name")
    if branch and (dry_run or check):
        raise click.UsageError(
            "--branch applies and commits; preview with --dry-run first, without --branch"
        )
    if verify:
        if dry_run or check:
            raise click.UsageError(
                "--verify checks a rewrite it applies; it cannot be combined with "
                "--dry-run or --check"
            )
        from fastapi_fix.engine.verify import parse_app_spec

        try:
            parse_app_spec(verify)
        except ValueError as exc:
            raise click.UsageError(str(exc)) from None


def _run_in_place(
    instances: list[Codemod],
    targets: Targets,
    jobs: int | None,
    renderer: Renderer,
    verify: VerifyRequest | None,
    text: bool,
    *,
    write: bool,
    check: bool,
) -> tuple[int, list[FileResult], dict[str, Any]]:
    from fastapi_fix.engine.verify import VerifyError, apply_verified

    if verify is None:
        results = run(instances, targets, jobs, renderer, write=write, check=check, show=text)
        return _exit_code(results, write=write), results, {}

    def apply(rollback: Rollback) -> list[FileResult]:
        return run(
            instances,
            targets,
            jobs,
            renderer,
            write=True,
            check=False,
            show=text,
            rollback=rollback,
        )

    try:
        results, verification = apply_verified(
            verify.app,
            Path.cwd(),
            verify.python,
            apply,
            progress=renderer.phase,
            allowed=frozenset().union(*(c.allowed_api_changes for c in instances)),
        )
    except VerifyError as exc:
        renderer.error(f"--verify: cannot inspect the app before the rewrite: {exc}")
        raise RunRefused(EXIT_USAGE) from None
    code = _exit_code(results, write=True)
    if verification.differences:
        code = EXIT_FAILED if verification.not_restored else EXIT_API_CHANGED
    _render_verification(renderer, verification)
    return code, results, {"verify": verification.as_json()}


def _render_verification(renderer: Renderer, verification: Verification) -> None:
    if verification.status == "unchanged":
        renderer.note(f"--verify {verification.app}: OpenAPI schema and routes unchanged")
    if verification.status == "not-run":
        renderer.note(f"--verify {verification.app}: nothing was rewritten, nothing to compare")
    if verification.status != "changed":
        return
    renderer.error(
        f"--verify {verification.app}: the rewrite changed the API; "
        f"rolled back {len(verification.rolled_back)} file(s)"
    )
    renderer.differences(verification.differences)
    for path, reason in verification.not_restored:
        renderer.error(f"{path}: could not be rolled back: {reason}")


def _run_on_branch(
    name: str,
    instances: list[Codemod],
    targets: Targets,
    jobs: int | None,
    renderer: Renderer,
    verify: VerifyRequest | None,
    text: bool,
) -> tuple[int, list[FileResult], dict[str, Any]]:
    from fastapi_fix.engine.branch import BranchRefused, build_branch
    from fastapi_fix.engine.git import GitError

    def apply(selected: Sequence[Codemod], where: Targets) -> list[FileResult]:
        return run(list(selected), where, jobs, renderer, write=True, check=False, show=text)

    try:
        outcome = build_branch(
            name, instances, targets, apply, renderer.say, verify, progress=renderer.phase
        )
    except BranchRefused as exc:
        renderer.error(str(exc))
        raise RunRefused(EXIT_USAGE) from None
    except GitError as exc:
        renderer.error(str(exc))
        raise RunRefused(EXIT_FAILED) from None
    for step in outcome.steps:
        renderer.differences(step.differences)
    results = report.merge_results([step.results for step in outcome.steps])
    if outcome.kept:
        renderer.note(
            f"branch {name}: {len(outcome.commits)} commit(s) on top of {outcome.origin}; you are "
            f"still on {outcome.origin}, your files untouched. Review: git log -p {outcome.origin}..{name}"
            f" ; then: git switch {name}"
        )
    else:
        renderer.note(f"nothing committed: branch {name} was not created")
    code = EXIT_API_CHANGED if outcome.api_changed else EXIT_FAILED if outcome.failed else EXIT_OK
    sections: dict[str, Any] = {"branch": outcome.as_json()}
    if verify is not None:
        sections["verify"] = outcome.verification(verify.app).as_json()
    return code, results, sections


def run(
    instances: list[Codemod],
    targets: Targets,
    jobs: int | None,
    renderer: Renderer,
    *,
    write: bool,
    check: bool,
    show: bool = True,
    rollback: Rollback | None = None,
) -> list[FileResult]:
    """Discover, transform, write (if asked) and render each file as its result comes."""
    from fastapi_fix.engine.diff import unified_diff
    from fastapi_fix.engine.import_gate import ImportGate
    from fastapi_fix.engine.runner import Runner

    cache = Cache(targets.cache, settings_key(instances)) if targets.cache else None
    if cache is not None:  # made before the walk, so the folder holding it stays as walked
        cache.prepared()
    found = _discover(targets, cache)
    # Files found but not processed (a symlink leading out of the paths) count in the summary.
    results = [
        FileResult(Path(display), display, Status.SKIPPED, reason)
        for display, reason in found.skipped
    ]
    if show:
        for result in results:
            renderer.file_problem(result)
    # The static import gate: a change set that would leave a project import unresolved is
    # not written (its files are reported), whatever codemod made it.
    gate = ImportGate([*found.files, *found.context], targets.project_root).check if write else None
    runner = Runner(instances, jobs=jobs, progress=renderer.phase, gate=gate, cache=cache)
    changed: list[FileResult] = []
    for result in runner.run(
        found.files,
        write=write,
        roots=found.roots,
        context=found.context,
        journal_root=journal_root(targets),
    ):
        if show:
            _render_result(renderer, result, write=write, check=check)
        elif (
            not write and result.patch is None and result.old is not None and result.new is not None
        ):
            result.patch = unified_diff(result.old, result.new, result.display_path)
        if rollback is not None:
            rollback.keep(result, found.roots, journal_root(targets))
        if write and result.status is Status.CHANGED:
            changed.append(result)
        result.old = result.new = None  # rendered: keep memory flat in the project's size
        results.append(result)
    if cache is not None and cache.problem and renderer.verbose:
        renderer.note(f"cache not written: {cache.problem}")
    if show:  # the writes happen once every file is transformed: now it is known which did
        for result in changed:
            if result.written:
                renderer.fixed(result)
            else:
                renderer.file_problem(result)
    return results


def _discover(targets: Targets, cache: Cache | None = None) -> Discovery:
    """The files of the run, each named as the project imports it (one answer for every
    codemod: `fastapi_fix.project.modules`), by a function of their paths and bytes: a
    cache keeps its answer for the next run."""
    from fastapi_fix.engine.discover import Discovery
    from fastapi_fix.project.modules import name_modules

    found = targets.discover(cache)
    if cache is None:
        return name_modules(found, targets.project_root)
    everything = [*found.files, *found.context]
    hashes = cache.content_hashes(f.path for f in everything)
    inputs = (targets.project_root, found, [hashes[f.path] for f in everything])
    return cache.remembered(
        REMEMBERED, inputs, lambda: name_modules(found, targets.project_root), Discovery
    )


def _render_result(renderer: Renderer, result: FileResult, *, write: bool, check: bool) -> None:
    # A change being written is reported once written, after the last file (see `run`).
    if result.status is Status.CHANGED and not write:
        if check:
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
