"""Deeply nested code: a file the parsers cannot handle is left alone with a precise reason,
the others are processed, and no run ends in a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from fastapi_fix.cli import main
from fastapi_fix.engine.results import Status
from tests.helpers import make_project, run_project

# Something for every codemod to rewrite, so that each must parse the file.
HEADER = (
    "import time\n\nfrom fastapi import BackgroundTasks, Depends, FastAPI\n\n"
    "app = FastAPI()\n\n\ndef get_db():\n    yield 1\n\n\ndef send() -> None:\n    raise ValueError\n\n\n"
    "@app.get('/')\nasync def ping(tasks: BackgroundTasks, db=Depends(get_db)) -> None:\n"
    "    time.sleep(1)\n    tasks.add_task(send)\n\n\n"
)
ROUTES = (
    b"from fastapi import Depends, FastAPI\n\napp = FastAPI()\n\n\ndef get_db():\n    yield 1\n\n\n"
    b"@app.get('/a')\ndef a(db=Depends(get_db)):\n    return db\n\n\n"
    b"@app.get('/b')\ndef b(db=Depends(get_db)):\n    return db\n"
)


def long_sum(terms: int) -> str:
    return HEADER + "X = " + "+".join(["1"] * terms) + "\n"


def nested_calls(depth: int) -> str:
    return HEADER + "X = " + "f(" * depth + ")" * depth + "\n"


def attribute_chain(depth: int) -> str:
    return HEADER + "X = a" + ".b" * depth + "\n"


def parentheses(depth: int) -> str:
    return HEADER + "X = " + "(" * depth + "1" + ")" * depth + "\n"


@pytest.mark.parametrize(
    ("codemod", "source"),
    [
        pytest.param("depends-to-annotated", long_sum(20_000), id="sum-of-20000-terms-d2a"),
        pytest.param("async-to-sync", long_sum(20_000), id="sum-of-20000-terms-a2s"),
        pytest.param("background-task-logging", long_sum(20_000), id="sum-of-20000-terms-btl"),
        pytest.param("async-to-sync", attribute_chain(3_000), id="attribute-chain-3000-deep"),
    ],
)
def test_code_too_deep_for_the_parser_fails_that_file_only(source: str, codemod: str) -> None:
    results = run_project(codemod, {"app/deep.py": source.encode(), "app/routes.py": ROUTES})
    deep = results["app/deep.py"]
    assert deep.status is Status.FAILED
    assert deep.reason.startswith("too deeply nested for the parser (")
    assert results["app/routes.py"].status is not Status.FAILED


@pytest.mark.parametrize(
    ("codemod", "source"),
    [
        # Each failed with "internal error RecursionError" in that codemod's own walk.
        pytest.param("async-to-sync", long_sum(1_000), id="sum-of-1000-terms"),
        pytest.param("background-task-logging", nested_calls(200), id="200-nested-calls"),
    ],
)
def test_deep_but_ordinary_code_is_handled(source: str, codemod: str) -> None:
    result = run_project(codemod, {"app/deep.py": source.encode()})["app/deep.py"]
    assert result.status is Status.CHANGED, result.reason


def test_a_thousand_parentheses_is_cpythons_limit_not_newer_syntax() -> None:
    result = run_project("background-task-logging", {"app/deep.py": parentheses(1_000).encode()})
    deep = result["app/deep.py"]
    assert deep.status is Status.SKIPPED
    assert "too many nested parentheses" in deep.reason
    assert not any("newer Python" in finding.message for finding in deep.findings)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    make_project(
        tmp_path,
        {
            "pyproject.toml": b"[project]\nname = 'deep'\n",
            "app/__init__.py": b"",
            "app/main.py": ROUTES,
            "app/deep.py": long_sum(20_000).encode(),
        },
    )
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_cli_reports_the_deep_file_and_processes_the_others(project: Path) -> None:
    result = CliRunner().invoke(main, ["--format", "json", "."], catch_exceptions=False)
    assert result.exit_code == 123
    files = {entry["path"]: entry for entry in json.loads(result.stdout)["files"]}
    assert files["app/deep.py"]["status"] == "failed"
    assert "too deeply nested" in files["app/deep.py"]["reason"]
    assert files["app/main.py"]["status"] == "changed"
    assert b"Annotated" in (project / "app/main.py").read_bytes()


def test_cli_naming_another_file_is_not_stopped_by_the_deep_one(project: Path) -> None:
    # main.py's dependency is defined in the deep file: the run reads it as context.
    (project / "app/main.py").write_bytes(
        b"from fastapi import Depends, FastAPI\n\nfrom app.deep import get_db\n\n"
        b"app = FastAPI()\n\n\n@app.get('/a')\ndef a(db=Depends(get_db)):\n    return db\n"
    )
    result = CliRunner().invoke(
        main, ["--format", "json", "--dry-run", "app/main.py"], catch_exceptions=False
    )
    assert result.exit_code == 1, result.output
    assert json.loads(result.stdout)["files"][0]["status"] == "changed"


def test_layered_layout_refuses_a_deep_module_in_one_line(project: Path) -> None:
    result = CliRunner().invoke(
        main, ["--select", "layered-layout", "--dry-run", "."], catch_exceptions=False
    )
    assert result.exit_code == 123
    assert "app/deep.py: too deeply nested for the parser" in result.stderr
    assert "Traceback" not in result.output
