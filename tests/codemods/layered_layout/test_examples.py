"""End to end on the bundled example apps: after the layout every module imports on its
own, the OpenAPI document and the ORM tables are unchanged, and the app's own tests pass."""

import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.codemods.layered_layout.helpers import commit_all, git
from tests.example_apps import (
    EXAMPLE_APPS,
    _app_env,
    assert_example_tests_pass,
    copy_example,
    dump_openapi,
)

NEW_APP_REF = {"single_file": "app.main:app", "bookshop": "bookshop.main:app"}

TABLES = """\
import importlib, json, sys
from sqlalchemy.orm import DeclarativeBase
importlib.import_module(sys.argv[1].partition(":")[0])
seen, tables = [DeclarativeBase], {}
while seen:
    for base in seen.pop().__subclasses__():
        seen.append(base)
        for name, table in getattr(base, "metadata", None).tables.items():
            tables[name] = sorted(str(column.type) + " " + column.name for column in table.columns)
print(json.dumps(tables, sort_keys=True))
"""


def run(app_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        cwd=app_dir,
        env=_app_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )


def tables(app_dir: Path, app_ref: str) -> dict:
    result = run(app_dir, "-c", TABLES, app_ref)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def modules(app_dir: Path) -> list[str]:
    names = []
    for path in sorted(app_dir.rglob("*.py")):
        parts = list(path.relative_to(app_dir).with_suffix("").parts)
        if parts[0] == "tests":
            continue
        names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def import_alone(app_dir: Path, module: str) -> str | None:
    """The error of importing ``module`` first, in a fresh interpreter (cycles depend on
    which module is imported first)."""
    result = run(app_dir, "-c", f"import {module}")
    return None if result.returncode == 0 else result.stderr.strip().splitlines()[-1]


@pytest.mark.parametrize("name", sorted(EXAMPLE_APPS))
def test_example_after_the_layout(name, tmp_path):
    app_dir = copy_example(name, tmp_path)
    commit_all(app_dir)
    openapi_before = dump_openapi(app_dir, EXAMPLE_APPS[name].app_ref)
    tables_before = tables(app_dir, EXAMPLE_APPS[name].app_ref)

    applied = run(app_dir, "-m", "fastapi_fix", "--select", "layered-layout", ".")
    assert applied.returncode == 0, applied.stderr
    status = git(app_dir, "status", "--porcelain").splitlines()
    # Everything the layout moved, created or rewrote is staged, nothing left in the work tree:
    assert status and all(line[0] in "RAMD" and line[1] == " " for line in status), status
    if name != "single_file":  # a split file keeps too little of itself for git to see a rename
        assert any(line.startswith("R") for line in status)

    assert run(app_dir, "-m", "compileall", "-q", ".").returncode == 0
    names = modules(app_dir)
    with ThreadPoolExecutor(max_workers=4) as pool:
        failures = {
            m: e
            for m, e in zip(names, pool.map(lambda m: import_alone(app_dir, m), names), strict=True)
            if e
        }
    assert failures == {}
    assert len(names) > 10
    assert dump_openapi(app_dir, NEW_APP_REF[name]) == openapi_before
    assert tables(app_dir, NEW_APP_REF[name]) == tables_before
    assert_example_tests_pass(app_dir)

    again = run(app_dir, "-m", "fastapi_fix", "--select", "layered-layout", "--dry-run", ".")
    assert again.returncode == 0, again.stdout + again.stderr
    assert again.stdout == ""
