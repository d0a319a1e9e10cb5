"""``--verify MODULE:APP``: prove a rewrite kept the API, or take it back.

The app is imported in a separate process (it is the user's code: it must not run inside the
tool, and each import must start from a clean interpreter), before and after the rewrite.
Its OpenAPI document and its route table (kind, path, methods, name, in order: the order
decides which route matches) must come out identical. The endpoint's module is not compared:
moving code between modules does not change the API.
"""

from __future__ import annotations

import contextlib
import difflib
import json
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypedDict

from fastapi_fix.engine.codemod import ADDED_RESPONSES
from fastapi_fix.engine.files import SkipFile, read_snapshot
from fastapi_fix.engine.results import FileResult, Status
from fastapi_fix.engine.signals import Interrupted
from fastapi_fix.engine.transaction import Transaction

DEFAULT_TIMEOUT = 120.0
# Lines of the app's stderr shown when importing it fails.
ERROR_TAIL = 15

# Runs in the user's interpreter, which may not have fastapi-fix installed: stdlib only.
PROBE = r"""
import importlib, json, os, sys
sys.dont_write_bytecode = True
root, spec, out = sys.argv[1:4]
sys.path.insert(0, root)
module_name, _, attribute = spec.partition(":")
app = importlib.import_module(module_name)
for part in attribute.split("."):
    app = getattr(app, part)
routes = []

def walk(table, prefix):
    for route in table:
        kind = type(route).__name__
        path = prefix + getattr(route, "path", "")
        routes.append({"kind": kind, "path": path, "name": getattr(route, "name", None),
                       "methods": sorted(getattr(route, "methods", None) or ())})
        if kind in ("Mount", "Host"):
            walk(getattr(route, "routes", None) or (), path)

walk(app.routes, "")
try:
    openapi, openapi_error = app.openapi(), None
except Exception as exc:
    openapi, openapi_error = None, f"{type(exc).__name__}: {exc}"
module_file = getattr(sys.modules[module_name], "__file__", None)
with open(out, "w", encoding="utf-8") as fh:
    json.dump({"routes": routes, "openapi": openapi, "openapi_error": openapi_error,
               "module_file": module_file}, fh, default=str)
# Done: do not wait for the threads and child processes the app may have started.
sys.stdout.flush()
sys.stderr.flush()
os._exit(0)
"""


class VerifyError(Exception):
    """The app could not be imported or inspected; the message says why."""


class _ProbedRoute(TypedDict):
    kind: str  # the route's class: APIRoute, Mount, ...
    path: str
    name: str | None
    methods: list[str]


class _Probe(TypedDict):
    """What `PROBE` writes: the app's routes and OpenAPI schema (or why it has none)."""

    routes: list[_ProbedRoute]
    openapi: object  # the schema, as JSON
    openapi_error: str | None
    module_file: str | None


@dataclass(frozen=True)
class AppSnapshot:
    """What ``--verify`` compares: one line per route, and the OpenAPI document as text."""

    routes: tuple[str, ...]
    openapi: str

    @classmethod
    def from_probe(cls, data: _Probe) -> AppSnapshot:
        routes = tuple(
            f"{r['kind']} {','.join(r['methods']) or '-'} {r['path']} name={r['name']}"
            for r in data["routes"]
        )
        if data["openapi_error"]:
            openapi = f"app.openapi() raised {data['openapi_error']}"
        else:
            openapi = json.dumps(data["openapi"], indent=2, sort_keys=True, ensure_ascii=False)
        return cls(routes, openapi)


def parse_app_spec(spec: str) -> str:
    """``module.path:attribute`` as uvicorn takes it; `ValueError` otherwise."""
    module, sep, attribute = spec.partition(":")
    names = [*module.split("."), *attribute.split(".")]
    if not sep or not all(name.isidentifier() for name in names):
        raise ValueError(f"--verify takes MODULE:APP, for example app.main:app (got {spec!r})")
    return spec


def snapshot_app(
    spec: str, root: Path, python: str = sys.executable, timeout: float = DEFAULT_TIMEOUT
) -> AppSnapshot:
    """Import ``spec`` with ``root`` as the current folder and first on ``sys.path``."""
    env = {
        **os.environ,
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")])),
    }
    with tempfile.TemporaryDirectory(prefix="fastapi-fix-verify-") as scratch:
        out, errors = Path(scratch) / "app.json", Path(scratch) / "stderr.txt"
        returncode = _run_probe(
            [python, "-c", PROBE, str(root), spec, str(out)], root, env, errors, timeout, spec
        )
        if returncode != 0 or not out.is_file():
            stderr = errors.read_text(encoding="utf-8", errors="replace")
            tail = "\n".join(stderr.strip().splitlines()[-ERROR_TAIL:])
            raise VerifyError(f"importing {spec} failed (exit {returncode}):\n{tail}")
        data: _Probe = json.loads(out.read_text(encoding="utf-8"))
    _check_imported_from(spec, data["module_file"], root)
    return AppSnapshot.from_probe(data)


def _run_probe(
    command: list[str], root: Path, env: dict[str, str], errors: Path, timeout: float, spec: str
) -> int:
    """Run the probe and return its exit code as soon as it exits.

    Its output goes to a file, not a pipe: a child process the app starts at import inherits
    the pipe, and reading it to the end would wait for that child. The probe runs in its own
    session, whose processes are killed once it is done (or out of time)."""
    with open(errors, "wb") as stderr:
        try:
            process = subprocess.Popen(
                command,
                cwd=root,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                start_new_session=True,
            )
        except OSError as exc:
            raise VerifyError(f"cannot run {command[0]}: {exc.strerror or exc}") from None
        try:
            return process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise VerifyError(f"importing {spec} took longer than {timeout:.0f}s") from None
        finally:
            _kill_session(process)


def _kill_session(process: subprocess.Popen[bytes]) -> None:
    """Stop the probe and whatever the app started in its session."""
    if hasattr(os, "killpg"):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
    if process.poll() is None:
        process.kill()
        process.wait()


def _check_imported_from(spec: str, module_file: str | None, root: Path) -> None:
    """The app must come from the files being rewritten, not from an installed copy (or an
    editable install of the user's checkout while ``--branch`` works in a worktree)."""
    real_root = Path(os.path.realpath(root))
    real_file = Path(os.path.realpath(module_file)) if module_file else None
    if real_file is None or real_root not in real_file.parents:
        module = spec.partition(":")[0]
        raise VerifyError(
            f"{module} was imported from {module_file}, not from the project at {root}; "
            "run fastapi-fix from the folder the app is imported from (src/ layout: cd src)"
        )


def _without_added_responses(before: str, after: str) -> str:
    """``after`` with the response codes no operation of ``before`` has taken out again, when
    both are OpenAPI documents (else ``after`` as it is): what is left must equal ``before``."""
    try:
        old, new = json.loads(before), json.loads(after)
    except ValueError:
        return after
    if not (isinstance(old, dict) and isinstance(new, dict)):
        return after
    old_paths, new_paths = old.get("paths"), new.get("paths")
    if not (isinstance(old_paths, dict) and isinstance(new_paths, dict)):
        return after
    for path, operations in new_paths.items():
        old_operations = old_paths.get(path)
        if not (isinstance(operations, dict) and isinstance(old_operations, dict)):
            continue
        for method, operation in operations.items():
            old_operation = old_operations.get(method)
            if not (isinstance(operation, dict) and isinstance(old_operation, dict)):
                continue
            responses, old_responses = operation.get("responses"), old_operation.get("responses")
            if isinstance(responses, dict) and isinstance(old_responses, dict):
                operation["responses"] = {
                    code: value for code, value in responses.items() if code in old_responses
                }
    return json.dumps(new, indent=2, sort_keys=True, ensure_ascii=False)


def differences(
    before: AppSnapshot, after: AppSnapshot, allowed: Collection[str] = ()
) -> list[str]:
    """Unified diffs of the route table and of the OpenAPI document; empty when identical,
    or when they differ only by what ``allowed`` names (see `ADDED_RESPONSES`)."""
    lines: list[str] = []
    compared = after.openapi
    if ADDED_RESPONSES in allowed:
        compared = _without_added_responses(before.openapi, after.openapi)
    for label, old, new in (
        ("routes", before.routes, after.routes),
        ("openapi", before.openapi.splitlines(), compared.splitlines()),
    ):
        if old != new:
            if label == "openapi" and compared is not after.openapi:
                new = after.openapi.splitlines()  # show the whole change, not the part compared
            lines.extend(
                difflib.unified_diff(
                    list(old), list(new), f"{label} before", f"{label} after", lineterm=""
                )
            )
    return lines


@dataclass
class Verification:
    """The outcome of ``--verify`` for the JSON report and the exit code."""

    app: str
    # unchanged: same API; changed: different (or the app no longer imports), rolled back;
    # not-run: nothing was written, so nothing to compare.
    status: str = "not-run"
    differences: list[str] = field(default_factory=list)
    rolled_back: list[str] = field(default_factory=list)
    # Files the rollback could not restore: (display path, reason).
    not_restored: list[tuple[str, str]] = field(default_factory=list)

    def as_json(self) -> VerifyJson:
        return {
            "app": self.app,
            "status": self.status,
            "differences": self.differences,
            "rolled_back": self.rolled_back,
            "not_restored": [{"path": p, "reason": r} for p, r in self.not_restored],
        }


class NotRestoredJson(TypedDict):
    path: str
    reason: str


class VerifyJson(TypedDict):
    """``verify`` of the JSON report (README, "JSON output")."""

    app: str
    status: str
    differences: list[str]
    rolled_back: list[str]
    not_restored: list[NotRestoredJson]


def verify_rewrite(
    spec: str,
    root: Path,
    before: AppSnapshot,
    python: str = sys.executable,
    allowed: Collection[str] = (),
) -> list[str]:
    """The differences after the rewrite (but those ``allowed``); an app that no longer
    imports is one."""
    try:
        after = snapshot_app(spec, root, python)
    except VerifyError as exc:
        return [f"after the rewrite: {exc}"]
    return differences(before, after, allowed)


class Rollback:
    """The bytes of every file a run changed, so the run can be undone: ``--verify`` only knows
    after writing whether to keep the result."""

    def __init__(self) -> None:
        self._changed: list[tuple[FileResult, bytes, bytes]] = []
        self._roots: list[Path] = []
        self._journal_root: Path | None = None

    def keep(
        self, result: FileResult, roots: Sequence[Path], journal_root: Path | None = None
    ) -> None:
        """Remember a changed file (restored only if it was written); ``roots``: where the run
        was allowed to write, ``journal_root``: where its transactions keep their journal."""
        if result.status is Status.CHANGED and result.old is not None and result.new is not None:
            self._changed.append((result, result.old, result.new))
            self._roots, self._journal_root = list(roots), journal_root or roots[0]

    def __bool__(self) -> bool:
        return any(result.written for result, _, _ in self._changed)

    def restore(self) -> tuple[list[str], list[tuple[str, str]]]:
        """Put the old bytes back, in one transaction; (restored, [(path, why not)]).
        A file changed again since the rewrite is left alone rather than overwritten."""
        written = [(r, old, new) for r, old, new in self._changed if r.written]
        if not written or self._journal_root is None:
            return [], []
        restored, failed = [], []
        with Transaction(self._journal_root, self._roots) as transaction:
            for result, old, new in written:
                try:
                    _stage_restore(transaction, result, old, new)
                except (SkipFile, OSError) as exc:
                    failed.append((result.display_path, str(exc)))
                else:
                    restored.append(result.display_path)
            try:
                transaction.commit()
            except OSError as exc:
                failed += [(path, f"rollback failed: {exc}") for path in restored]
                restored = []
        return sorted(restored), failed


def _stage_restore(transaction: Transaction, result: FileResult, old: bytes, new: bytes) -> None:
    current_path = result.new_path or result.path
    current = read_snapshot(current_path)
    if current.data != new:
        raise SkipFile("changed on disk since the rewrite; not restored")
    if result.new_path is None:
        transaction.write(result.path, old, current)
    else:  # a moved file: recreated where it was, the moved copy removed
        transaction.create(result.path, old)
        transaction.remove(current_path, current)


# Told of a long step as it goes: (phase, done, total); see `engine.runner.ProgressCallback`.
Progress = Callable[[str, int, int], None]


@contextlib.contextmanager
def import_phase(progress: Progress | None, phase: str) -> Iterator[None]:
    """An import of the app as one phase: begun, then done (whatever the outcome)."""
    if progress is None:
        yield
        return
    progress(phase, 0, 1)
    try:
        yield
    finally:
        progress(phase, 1, 1)


def apply_verified(
    app: str,
    app_root: Path,
    python: str,
    apply: Callable[[Rollback], list[FileResult]],
    progress: Progress | None = None,
    allowed: Collection[str] = (),
) -> tuple[list[FileResult], Verification]:
    """Snapshot the app, ``apply`` the rewrite (keeping what it overwrites), snapshot again, and
    roll the rewrite back if the API changed (but for the changes ``allowed``: those the
    codemods run declare, `Codemod.allowed_api_changes`). `VerifyError` if the app cannot be
    inspected first.
    ``progress`` hears of each import of the app (phase, done, total), as a runner's does."""
    with import_phase(progress, f"verify {app}: import before the rewrite"):
        baseline = snapshot_app(app, app_root, python)
    rollback = Rollback()
    results = apply(rollback)
    verification = Verification(app)
    if rollback:
        try:
            with import_phase(progress, f"verify {app}: import after the rewrite"):
                verification.differences = verify_rewrite(app, app_root, baseline, python, allowed)
        except Interrupted as exc:  # not verified: not kept
            restored, not_restored = rollback.restore()
            exc.details.append(f"the rewrite was not verified: {len(restored)} file(s) restored")
            exc.details += [f"{path} not restored: {why}" for path, why in not_restored]
            raise
        verification.status = "changed" if verification.differences else "unchanged"
    if verification.differences:
        verification.rolled_back, verification.not_restored = rollback.restore()
        for result in results:
            result.written = result.written and result.display_path not in verification.rolled_back
    return results, verification
