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
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from fastapi_fix.engine.files import SkipFile, read_snapshot, safe_write
from fastapi_fix.engine.results import FileResult

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


@dataclass(frozen=True)
class AppSnapshot:
    """What ``--verify`` compares: one line per route, and the OpenAPI document as text."""

    routes: tuple[str, ...]
    openapi: str

    @classmethod
    def from_probe(cls, data: dict) -> AppSnapshot:
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
        data = json.loads(out.read_text(encoding="utf-8"))
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


def differences(before: AppSnapshot, after: AppSnapshot) -> list[str]:
    """Unified diffs of the route table and of the OpenAPI document; empty when identical."""
    lines: list[str] = []
    for label, old, new in (
        ("routes", before.routes, after.routes),
        ("openapi", before.openapi.splitlines(), after.openapi.splitlines()),
    ):
        if old != new:
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

    def as_json(self) -> dict:
        return {
            "app": self.app,
            "status": self.status,
            "differences": self.differences,
            "rolled_back": self.rolled_back,
            "not_restored": [{"path": p, "reason": r} for p, r in self.not_restored],
        }


def verify_rewrite(
    spec: str, root: Path, before: AppSnapshot, python: str = sys.executable
) -> list[str]:
    """The differences after the rewrite; an app that no longer imports is one."""
    try:
        after = snapshot_app(spec, root, python)
    except VerifyError as exc:
        return [f"after the rewrite: {exc}"]
    return differences(before, after)


class Rollback:
    """The bytes of every file a run wrote, so the run can be undone: the engine's safe write
    keeps no backup, and ``--verify`` only knows after writing whether to keep the result."""

    def __init__(self) -> None:
        self._written: list[tuple[FileResult, bytes, bytes, list[Path]]] = []

    def keep(self, result: FileResult, roots: Sequence[Path]) -> None:
        """Remember a written file; ``roots``: where the run was allowed to write."""
        if result.written and result.old is not None and result.new is not None:
            self._written.append((result, result.old, result.new, list(roots)))

    def __bool__(self) -> bool:
        return bool(self._written)

    def restore(self) -> tuple[list[str], list[tuple[str, str]]]:
        """Put the old bytes back, each file atomically; (restored, [(path, why not)]).
        A file changed again since the rewrite is left alone rather than overwritten."""
        restored, failed = [], []
        for result, old, new, roots in reversed(self._written):
            try:
                _restore(result, old, new, roots)
            except (SkipFile, OSError) as exc:
                failed.append((result.display_path, str(exc)))
            else:
                restored.append(result.display_path)
        return sorted(restored), failed


def _restore(result: FileResult, old: bytes, new: bytes, roots: list[Path]) -> None:
    current_path = result.new_path or result.path
    current = read_snapshot(current_path)
    if current.data != new:
        raise SkipFile("changed on disk since the rewrite; not restored")
    if result.new_path is None:
        safe_write(result.path, old, current, roots)
        return
    # A moved file: recreate it where it was, then remove the moved copy.
    result.path.parent.mkdir(parents=True, exist_ok=True)
    with open(result.path, "xb") as fh:
        fh.write(old)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(current_path)


def apply_verified(
    app: str, app_root: Path, python: str, apply: Callable[[Rollback], list[FileResult]]
) -> tuple[list[FileResult], Verification]:
    """Snapshot the app, ``apply`` the rewrite (keeping what it overwrites), snapshot again, and
    roll the rewrite back if the API changed. `VerifyError` if the app cannot be inspected first."""
    baseline = snapshot_app(app, app_root, python)
    rollback = Rollback()
    results = apply(rollback)
    verification = Verification(app)
    if rollback:
        verification.differences = verify_rewrite(app, app_root, baseline, python)
        verification.status = "changed" if verification.differences else "unchanged"
    if verification.differences:
        verification.rolled_back, verification.not_restored = rollback.restore()
        for result in results:
            result.written = result.written and result.display_path not in verification.rolled_back
    return results, verification
