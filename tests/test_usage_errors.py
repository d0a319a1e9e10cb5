"""Usage errors and the unexpected: exit 2 (or 123) with one line, never a traceback; with
``--format json`` one JSON document on stdout in every outcome."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from fastapi_fix import cli
from fastapi_fix.cli import main
from tests.helpers import make_project

APP = {
    "app/__init__.py": b"",
    "app/main.py": b"from fastapi import FastAPI\n\napp = FastAPI()\n",
}


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    make_project(tmp_path, APP)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def invoke(*args: str) -> Result:
    # catch_exceptions=False: a traceback would fail the test instead of hiding in the result
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def one_line_error(result: Result) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.output
    return lines[0]


@pytest.mark.parametrize(
    ("args", "named"),
    [
        pytest.param(["--exclude", "!", "."], "'!'", id="exclude-invalid-glob"),
        pytest.param(["--select", "", "."], "--select", id="select-empty"),
        pytest.param(["--select", ",", "."], "--select", id="select-only-commas"),
        pytest.param(["--logger-name", "not a name", "."], "'not a name'", id="logger-name"),
        pytest.param(["--logger-name", "class", "."], "'class'", id="logger-name-keyword"),
        pytest.param(["--blocking-calls", "my lib.*", "."], "'my lib.*'", id="blocking-calls"),
        pytest.param(
            ["--protecting-decorators", "retry(3)", "."], "'retry(3)'", id="protecting-decorators"
        ),
        pytest.param(["--target-version", "py2", "."], "'py2'", id="target-version"),
        pytest.param(["--select", "nope", "."], "'nope'", id="unknown-codemod"),
    ],
)
def test_option_errors_are_one_line_exit_2(project: Path, args: list[str], named: str) -> None:
    result = invoke(*args)
    assert result.exit_code == 2, result.output
    assert named in one_line_error(result)


@pytest.mark.parametrize(
    ("pyproject", "named"),
    [
        pytest.param(b'[tool.fastapi-fix]\nselect = ["\xff"]\n', "pyproject.toml", id="not-utf8"),
        pytest.param(b"[tool.fastapi-fix\n", "pyproject.toml", id="not-toml"),
        pytest.param(b'[tool.fastapi-fix]\nexclude = "x"\n', "exclude", id="wrong-type"),
        pytest.param(b'[tool.fastapi-fix]\nexclude = ["!"]\n', "'!'", id="invalid-glob"),
        pytest.param(b"[tool.fastapi-fix]\ncolour = 1\n", "'colour'", id="unknown-key"),
        pytest.param(
            b'[tool.fastapi-fix.background-task-logging]\nlogger-name = "a-b"\n',
            "'a-b'",
            id="logger-name",
        ),
        pytest.param(
            b'[tool.fastapi-fix.layered-layout]\npackage-name = "my app"\n',
            "'my app'",
            id="package-name",
        ),
    ],
)
def test_configuration_errors_are_one_line_exit_2(
    project: Path, pyproject: bytes, named: str
) -> None:
    (project / "pyproject.toml").write_bytes(pyproject)
    result = invoke(".")
    assert result.exit_code == 2, result.output
    assert named in one_line_error(result)


@pytest.mark.parametrize(
    "pyproject",
    [
        pytest.param(b'tool = "not a table"\n', id="tool-not-a-table"),
        pytest.param(b'project = 3\n[tool.poetry]\ndependencies = "x"\n', id="others-tables"),
    ],
)
def test_other_tools_sections_of_any_shape_are_not_errors(project: Path, pyproject: bytes) -> None:
    (project / "pyproject.toml").write_bytes(pyproject)
    assert invoke("--check", ".").exit_code == 0


def test_a_folder_named_pyproject_toml_is_not_a_configuration(project: Path) -> None:
    (project / "pyproject.toml").mkdir()
    assert invoke("--check", ".").exit_code == 0


def test_an_invalid_pattern_in_gitignore_is_ignored_as_git_does(project: Path) -> None:
    (project / ".gitignore").write_text("!\nbuild/\n")
    assert invoke("--check", ".").exit_code == 0


def test_an_invalid_logger_name_is_refused_before_any_file_is_touched(project: Path) -> None:
    task = (
        b"from fastapi import BackgroundTasks, FastAPI\n\napp = FastAPI()\n\n\n"
        b"def send() -> None:\n    pass\n\n\n@app.post('/')\n"
        b"def post(tasks: BackgroundTasks) -> None:\n    tasks.add_task(send)\n"
    )
    (project / "app/main.py").write_bytes(task)
    result = invoke("--logger-name", "log ger", ".")
    assert result.exit_code == 2, result.output
    assert (project / "app/main.py").read_bytes() == task


# -- --format json: one document, whatever happens --------------------------------------


def json_document(result: Result) -> dict[str, Any]:
    document = json.loads(result.stdout)
    assert isinstance(document, dict)
    assert document["schema_version"] == 1
    assert document["tool"]["name"] == "fastapi-fix"
    return document


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["--select", "nope", "."], id="unknown-codemod"),
        pytest.param(["--exclude", "!", "."], id="invalid-glob"),
        pytest.param(["--select", "", "."], id="empty-select"),
        pytest.param(["--no-such-option", "."], id="click-unknown-option"),
        pytest.param(["--jobs", "0", "."], id="click-bad-range"),
        pytest.param(["--jobs", "many", "."], id="click-bad-type"),
        pytest.param(["missing-folder"], id="click-missing-path"),
        pytest.param([], id="no-path"),
        pytest.param(["--dry-run", "--check", "."], id="bad-combination"),
    ],
)
@pytest.mark.parametrize("format_flag", [["--format", "json"], ["--format=json"]])
def test_json_usage_errors_are_a_document(
    project: Path, args: list[str], format_flag: list[str]
) -> None:
    result = invoke(*format_flag, *args)
    assert result.exit_code == 2, result.output
    document = json_document(result)
    assert document["exit_code"] == 2
    assert document["files"] == [] and document["summary"]["files"] == 0
    assert document["error"] and "\n" not in document["error"]


def test_json_configuration_error_is_a_document(project: Path) -> None:
    (project / "pyproject.toml").write_text("[tool.fastapi-fix]\ncolour = 1\n")
    result = invoke("--format", "json", ".")
    assert result.exit_code == 2
    assert "unknown key 'colour'" in json_document(result)["error"]


def test_click_usage_errors_keep_clicks_message_in_text_mode(project: Path) -> None:
    result = invoke("--no-such-option", ".")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "Usage: " in result.stderr and "No such option" in result.stderr


def test_list_codemods_as_json(project: Path) -> None:
    result = invoke("--list-codemods", "--format", "json")
    assert result.exit_code == 0
    assert json_document(result)["exit_code"] == 0  # as every document, it repeats its code
    listed = {entry["name"]: entry for entry in json_document(result)["codemods"]}
    assert listed["depends-to-annotated"]["default"] is True
    assert listed["layered-layout"]["default"] is False
    assert {"name": "reraise", "default": False}.items() <= dict(
        listed["background-task-logging"]["options"][0]
    ).items()
    assert all(entry["summary"] and entry["safety"] for entry in listed.values())


# -- the last resort ---------------------------------------------------------------------


def _broken_run(*args: object, **kwargs: object) -> None:
    raise RuntimeError("boom")


def test_an_unexpected_exception_is_one_line_exit_123(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cli, "run", _broken_run)
    result = invoke(".")
    assert result.exit_code == 123
    assert one_line_error(result) == "fastapi-fix: internal error: RuntimeError: boom"


def test_an_unexpected_exception_in_json_mode_is_a_document(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cli, "run", _broken_run)
    result = invoke("--format", "json", ".")
    assert result.exit_code == 123
    assert json_document(result)["error"] == "internal error: RuntimeError: boom"


def test_verbose_shows_the_traceback_of_an_unexpected_exception(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cli, "run", _broken_run)
    result = invoke("-v", ".")
    assert result.exit_code == 123
    assert "Traceback" in result.stderr and "RuntimeError: boom" in result.stderr


def test_no_traceback_from_the_real_command(project: Path) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "fastapi_fix", "--format", "json", "--exclude", "!", "."],
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 2
    assert "Traceback" not in completed.stderr
    assert json.loads(completed.stdout)["exit_code"] == 2
