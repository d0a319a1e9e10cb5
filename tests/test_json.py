"""``--format json``: one document on stdout, with every file, edit and finding."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from fastapi_fix.cli import main
from fastapi_fix.engine.report import file_entry, merge_results
from fastapi_fix.engine.results import Edit, FileResult, Finding, Status
from tests.engine.toy import use_toy_codemods
from tests.helpers import make_project

# The schema documented in the README ("JSON output"), as types; "?" marks nullable.
EDIT = {"codemod": str, "path": str, "line": int, "end_line": int, "description": str}
FINDING = {"codemod": str, "path": str, "line": int, "column": int, "message": str}
FILE = {
    "path": str,
    "status": str,
    "reason": "?str",
    "written": bool,
    "new_path": "?str",
    "edits": [EDIT],
    "findings": [FINDING],
    "diff": "?str",
}
DOCUMENT = {
    "schema_version": int,
    "tool": {"name": str, "version": str},
    "mode": str,
    "codemods": [str],
    "exit_code": int,
    "summary": {
        "files": int,
        "changed": int,
        "unchanged": int,
        "skipped": int,
        "failed": int,
        "edits": int,
        "findings": int,
    },
    "files": [FILE],
}


def conforms(value: Any, schema: Any, where: str = "$") -> None:
    if isinstance(schema, dict):
        assert isinstance(value, dict), where
        assert set(schema) <= set(value), f"{where}: missing {set(schema) - set(value)}"
        for key, sub in schema.items():
            conforms(value[key], sub, f"{where}.{key}")
    elif isinstance(schema, list):
        assert isinstance(value, list), where
        for index, item in enumerate(value):
            conforms(item, schema[0], f"{where}[{index}]")
    elif schema == "?str":
        assert value is None or isinstance(value, str), where
    else:
        assert type(value) is schema, f"{where}: {value!r} is not {schema.__name__}"


PROJECT = {
    "pkg/__init__.py": b"",
    "pkg/a.py": b"foo = 1\nprint(foo)\n",
    "pkg/b.py": b"x = baz\n",
    "pkg/bad.py": b"foo = (\n",
    "pkg/c.py": b"nothing = 1\n",
}


@pytest.fixture
def project(tmp_path, monkeypatch):
    use_toy_codemods(monkeypatch, make_project(tmp_path, PROJECT))
    return tmp_path


def run_json(*args: str) -> tuple[int, dict]:
    result = CliRunner().invoke(main, ["--format", "json", *args], catch_exceptions=False)
    return result.exit_code, json.loads(result.stdout)


def by_path(doc: dict) -> dict[str, dict]:
    return {entry["path"]: entry for entry in doc["files"]}


def test_dry_run_document(project):
    code, doc = run_json("--dry-run", ".")
    conforms(doc, DOCUMENT)
    assert (code, doc["exit_code"], doc["mode"], doc["codemods"]) == (
        1,
        1,
        "dry-run",
        ["rename-foo"],
    )
    files = by_path(doc)
    assert sorted(files) == ["pkg/__init__.py", "pkg/a.py", "pkg/b.py", "pkg/bad.py", "pkg/c.py"]
    assert files["pkg/a.py"]["status"] == "changed" and files["pkg/a.py"]["written"] is False
    assert files["pkg/a.py"]["edits"] == [
        {
            "codemod": "rename-foo",
            "path": "pkg/a.py",
            "line": 1,
            "end_line": 1,
            "description": "foo → bar",
        },
        {
            "codemod": "rename-foo",
            "path": "pkg/a.py",
            "line": 2,
            "end_line": 2,
            "description": "foo → bar",
        },
    ]
    assert files["pkg/a.py"]["diff"].startswith("--- a/pkg/a.py\n+++ b/pkg/a.py\n@@")
    assert "+bar = 1\n" in files["pkg/a.py"]["diff"]
    assert files["pkg/b.py"]["status"] == "unchanged" and files["pkg/b.py"]["diff"] is None
    assert files["pkg/b.py"]["findings"] == [
        {
            "codemod": "rename-foo",
            "path": "pkg/b.py",
            "line": 1,
            "column": 5,
            "message": "baz left alone",
            "kind": None,  # a finding without a kind: its message is its summary
            "summary": "baz left alone",
            "detail": None,
        }
    ]
    assert files["pkg/bad.py"]["status"] == "skipped"
    assert files["pkg/bad.py"]["reason"].startswith("syntax error at line 1")
    assert doc["summary"] == {
        "files": 5,
        "changed": 1,
        "unchanged": 3,
        "skipped": 1,
        "failed": 0,
        "edits": 2,
        "findings": 1,
    }
    assert (project / "pkg/a.py").read_bytes() == PROJECT["pkg/a.py"]


def test_stdout_holds_only_the_document(project):
    result = CliRunner().invoke(
        main, ["--format", "json", "--dry-run", "."], catch_exceptions=False
    )
    assert result.stdout.startswith("{\n") and result.stdout.endswith("}\n")
    json.loads(result.stdout)  # the diffs are inside the document, not printed around it
    assert result.stderr == ""  # no summary table, no findings: they are in the document


def test_apply_document_marks_written_files(project):
    code, doc = run_json(".")
    conforms(doc, DOCUMENT)
    assert (code, doc["mode"]) == (0, "apply")
    assert by_path(doc)["pkg/a.py"]["written"] is True
    assert (project / "pkg/a.py").read_bytes() == b"bar = 1\nprint(bar)\n"


def test_check_document(project):
    code, doc = run_json("--check", ".")
    assert (code, doc["mode"], doc["summary"]["changed"]) == (1, "check", 1)


def test_failed_file_has_its_reason_and_no_edits(project):
    code, doc = run_json("--select", "broken", "--dry-run", ".")
    conforms(doc, DOCUMENT)
    failed = by_path(doc)["pkg/a.py"]
    assert (code, failed["status"], failed["edits"]) == (123, "failed", [])
    assert failed["reason"].startswith("rewrite does not compile")


def test_merge_results_of_several_runs():
    first = [
        FileResult(_p("a.py"), "a.py", Status.CHANGED, edits=[Edit("one", 1, 1)], written=True),
        FileResult(
            _p("b.py"), "b.py", Status.UNCHANGED, findings=[Finding("b.py", 2, 1, "one", "look")]
        ),
    ]
    second = [
        FileResult(_p("a.py"), "a.py", Status.UNCHANGED),
        FileResult(_p("b.py"), "b.py", Status.FAILED, "boom"),
    ]
    merged = {r.display_path: r for r in merge_results([first, second])}
    assert (merged["a.py"].status, merged["a.py"].written, len(merged["a.py"].edits)) == (
        Status.CHANGED,
        True,
        1,
    )
    assert (merged["b.py"].status, merged["b.py"].reason, len(merged["b.py"].findings)) == (
        Status.FAILED,
        "boom",
        1,
    )


def _p(name: str) -> Path:
    return Path("/project") / name


def test_moved_file_is_shown_relative_like_its_path():
    moved = FileResult(
        _p("app/crud.py"), "app/crud.py", Status.CHANGED, new_path=_p("app/services/crud.py")
    )
    assert file_entry(moved)["new_path"] == "app/services/crud.py"
    up = FileResult(_p("src/main.py"), "main.py", Status.CHANGED, new_path=_p("src/app/main.py"))
    assert file_entry(up)["new_path"] == "app/main.py"
