"""Run the bundled example apps the way their developers would: from a copy, in a subprocess.

The codemod end-to-end tests reuse these helpers: copy an app, run the CLI on the copy,
then check that its own test suite still passes and that its OpenAPI schema is unchanged.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

EXAMPLES_DIR = Path(__file__).resolve().parent.parent / "examples"

# Local run litter that must not travel with a copy (and would pollute before/after diffs).
_LITTER = shutil.ignore_patterns(
    "__pycache__", "*.pyc", ".pytest_cache", "*.egg-info", "*.db", "covers"
)

_DUMP_OPENAPI = """\
import importlib, json, sys
module_name, _, attribute = sys.argv[1].partition(":")
app = getattr(importlib.import_module(module_name), attribute)
with open(sys.argv[2], "w", encoding="utf-8") as out:
    json.dump(app.openapi(), out)
"""


@dataclass(frozen=True)
class ExampleApp:
    name: str  # folder under examples/
    app_ref: str  # "module:attribute", importable with the app's folder as working directory
    env_prefix: str  # the app's settings variables, kept out of its subprocesses


EXAMPLE_APPS = {
    app.name: app
    for app in (
        ExampleApp("bookshop", "bookshop.main:app", "BOOKSHOP_"),
        ExampleApp("single_file", "main:app", "SNIP_"),
    )
}


def copy_example(name: str, destination: Path) -> Path:
    """Copy ``examples/<name>`` to ``destination/<name>`` and return the copy."""
    target = destination / name
    shutil.copytree(EXAMPLES_DIR / name, target, ignore=_LITTER)
    return target


def _app_env() -> dict[str, str]:
    """Our environment minus what would change how the app or its pytest run behaves."""
    prefixes = ("PYTEST_", *(app.env_prefix for app in EXAMPLE_APPS.values()))
    env = {key: value for key, value in os.environ.items() if not key.startswith(prefixes)}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def run_example_tests(
    app_dir: Path, *pytest_args: str, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run the app's own test suite with its folder as working directory."""
    # A private basetemp: the app's pytest must not clean up the calling session's tmp dirs.
    basetemp = app_dir.parent / f"{app_dir.name}-pytest-tmp"
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        f"--basetemp={basetemp}",
    ]
    return subprocess.run(
        [*command, *pytest_args],
        cwd=app_dir,
        env=_app_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def assert_example_tests_pass(app_dir: Path) -> str:
    """Run the app's test suite, fail with its full output if it does not pass, return stdout."""
    result = run_example_tests(app_dir)
    assert result.returncode == 0, f"{app_dir.name} tests failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def dump_openapi(app_dir: Path, app_ref: str, timeout: float = 60) -> dict[str, Any]:
    """Import the app in a fresh interpreter from its folder and return ``app.openapi()``."""
    # Through a file, not stdout: importing the app may print or log.
    output = app_dir.parent / f"{app_dir.name}-openapi.json"
    result = subprocess.run(
        [sys.executable, "-c", _DUMP_OPENAPI, app_ref, str(output)],
        cwd=app_dir,
        env=_app_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert result.returncode == 0, f"importing {app_ref} failed:\n{result.stderr}"
    return json.loads(output.read_text(encoding="utf-8"))
