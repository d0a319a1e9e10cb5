"""``--verify MODULE:APP``: the app's API before and after the rewrite must be identical, or
the rewrite is rolled back. A test-only codemod that changes a route path is the deliberately
wrong rewrite that must be caught."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import libcst as cst
import pytest
from click.testing import CliRunner

from fastapi_fix import codemods
from fastapi_fix.cli import main
from fastapi_fix.codemods.document_error_responses import DocumentErrorResponses
from fastapi_fix.codemods.document_error_responses.index import ErrorIndex
from fastapi_fix.engine.codemod import Codemod, FileContext
from fastapi_fix.engine.discover import source_file
from fastapi_fix.engine.results import FileResult, Status
from fastapi_fix.engine.verify import (
    ADDED_RESPONSES,
    AppSnapshot,
    Rollback,
    differences,
    parse_app_spec,
    snapshot_app,
)
from tests.engine.toy import RenameFoo
from tests.example_apps import EXAMPLE_APPS, copy_example

APP = (
    b"from fastapi import FastAPI\r\n"
    b"\r\n"
    b"app = FastAPI()\r\n"
    b"\r\n"
    b"\r\n"
    b'@app.get("/items/{item_id}")\r\n'
    b"def read_item(item_id: int):\r\n"
    b"    foo = item_id\r\n"
    b'    return {"item_id": foo}\r\n'
)


class MoveItemsRoute(Codemod):
    """Wrong on purpose: ``"/items/..."`` becomes ``"/things/..."``, a different API."""

    name = "move-items-route"
    summary = "changes a route path"
    safety = "test only: wrong"
    markers = (b"/items",)

    def transform(self, ctx: FileContext, module: cst.Module, index: object) -> cst.Module:
        class Move(cst.CSTTransformer):
            def leave_SimpleString(
                self, original: cst.SimpleString, updated: cst.SimpleString
            ) -> cst.SimpleString:
                return updated.with_changes(value=updated.value.replace("/items", "/things"))

        return module.visit(Move())


class BreakImport(Codemod):
    """Wrong on purpose: the app no longer imports (``FastAPI`` → ``FastAPIX``)."""

    name = "break-import"
    summary = "breaks the import"
    safety = "test only: wrong"
    markers = (b"FastAPI",)

    def transform(self, ctx: FileContext, module: cst.Module, index: object) -> cst.Module:
        class Swap(cst.CSTTransformer):
            def leave_Name(self, original: cst.Name, updated: cst.Name) -> cst.Name:
                return (
                    updated.with_changes(value="FastAPIX")
                    if updated.value == "FastAPI"
                    else updated
                )

        return module.visit(Swap())


@pytest.fixture
def project(tmp_path, monkeypatch):
    (tmp_path / "app").mkdir()
    (tmp_path / "app/__init__.py").write_bytes(b"")
    (tmp_path / "app/main.py").write_bytes(APP)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(codemods, "REGISTRY", (RenameFoo, MoveItemsRoute, BreakImport))
    for codemod in (MoveItemsRoute, BreakImport):
        monkeypatch.setattr(codemod, "default_enabled", False)
    return tmp_path


def invoke(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_rewrite_that_keeps_the_api_is_kept(project):
    result = invoke("--verify", "app.main:app", "app")
    assert result.exit_code == 0, result.output
    assert "--verify app.main:app: OpenAPI schema and routes unchanged" in result.stderr
    assert (project / "app/main.py").read_bytes() == APP.replace(b"foo", b"bar")
    assert not list(project.rglob("__pycache__"))  # importing the app wrote no bytecode


def test_rewrite_that_changes_a_route_is_rolled_back(project):
    result = invoke("--verify", "app.main:app", "--select", "rename-foo,move-items-route", "app")
    assert result.exit_code == 3
    assert (project / "app/main.py").read_bytes() == APP  # byte for byte, CRLF included
    assert "the rewrite changed the API; rolled back 1 file(s)" in result.stderr
    assert "-APIRoute GET /items/{item_id} name=read_item" in result.stderr
    assert "+APIRoute GET /things/{item_id} name=read_item" in result.stderr
    assert '-    "/items/{item_id}": {' in result.stderr  # the OpenAPI document differs too


def test_rewrite_after_which_the_app_no_longer_imports_is_rolled_back(project):
    result = invoke("--verify", "app.main:app", "--select", "break-import", "app")
    assert result.exit_code == 3
    assert "after the rewrite: importing app.main:app failed" in result.stderr
    assert "ImportError" in result.stderr
    assert (project / "app/main.py").read_bytes() == APP


def test_app_that_cannot_be_imported_before_is_an_error_and_nothing_is_written(project):
    result = invoke("--verify", "app.nope:app", "app")
    assert result.exit_code == 2
    assert (
        "cannot inspect the app before the rewrite: importing app.nope:app failed" in result.stderr
    )
    assert (project / "app/main.py").read_bytes() == APP
    assert "files fixed" not in result.stderr  # refused: its reason only, no summary table


def test_app_imported_from_outside_the_project_is_refused(project, tmp_path_factory, monkeypatch):
    installed = tmp_path_factory.mktemp("site-packages")
    (installed / "elsewhere").mkdir()
    (installed / "elsewhere/__init__.py").write_bytes(b"")
    (installed / "elsewhere/main.py").write_bytes(APP)
    monkeypatch.setenv("PYTHONPATH", str(installed))
    result = invoke("--verify", "elsewhere.main:app", "app")
    assert result.exit_code == 2
    assert (
        "elsewhere.main was imported from" in result.stderr
        and "not from the project at" in result.stderr
    )
    assert (project / "app/main.py").read_bytes() == APP


def test_json_report_carries_the_verification(project):
    result = invoke(
        "--format", "json", "--verify", "app.main:app", "--select", "move-items-route", "app"
    )
    doc = json.loads(result.stdout)
    assert doc["exit_code"] == 3
    assert (doc["verify"]["app"], doc["verify"]["status"], doc["verify"]["rolled_back"]) == (
        "app.main:app",
        "changed",
        ["app/main.py"],
    )
    assert "+APIRoute GET /things/{item_id} name=read_item" in doc["verify"]["differences"]
    assert doc["files"][1]["path"] == "app/main.py" and doc["files"][1]["written"] is False


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(["--verify", "app.main"], "--verify takes MODULE:APP", id="no attribute"),
        pytest.param(["--verify", "app/main.py:app"], "--verify takes MODULE:APP", id="a path"),
        pytest.param(
            ["--verify", "app.main:app", "--dry-run"], "cannot be combined", id="with a preview"
        ),
    ],
)
def test_usage_errors(project, args, message):
    result = invoke(*args, "app")
    assert result.exit_code == 2 and message in result.output


def test_branch_stops_at_the_codemod_that_changes_the_api(project, monkeypatch):
    _commit_all(project)
    monkeypatch.setattr(MoveItemsRoute, "default_enabled", True)
    result = invoke("--branch", "migrate", "--verify", "app.main:app", "app")
    assert result.exit_code == 3
    assert "move-items-route: the API changed (--verify); nothing committed for it" in result.stderr
    log = subprocess.run(
        ["git", "log", "--format=%s", "main..migrate"],
        cwd=project,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert log == "fastapi-fix: rename-foo (1 file, 2 edits)\n"
    assert (project / "app/main.py").read_bytes() == APP


@pytest.mark.parametrize("example", sorted(EXAMPLE_APPS))
def test_example_app_keeps_its_api_under_every_default_codemod(example, tmp_path, monkeypatch):
    """End to end with the real codemods: they rewrite the example, and its API holds."""
    app = copy_example(example, tmp_path)
    monkeypatch.chdir(app)
    result = invoke("--verify", EXAMPLE_APPS[example].app_ref, ".")
    assert result.exit_code == 0, result.output
    assert (
        f"--verify {EXAMPLE_APPS[example].app_ref}: OpenAPI schema and routes unchanged"
        in result.stderr
    )


# -- the pieces ---------------------------------------------------------------------------


def test_differences_are_unified_diffs_of_routes_and_schema():
    before = AppSnapshot(("APIRoute GET /a name=a",), '{\n  "x": 1\n}')
    after = AppSnapshot(("APIRoute GET /b name=a",), '{\n  "x": 1\n}')
    assert differences(before, before) == []
    assert differences(before, after) == [
        "--- routes before",
        "+++ routes after",
        "@@ -1 +1 @@",
        "-APIRoute GET /a name=a",
        "+APIRoute GET /b name=a",
    ]


def test_parse_app_spec():
    assert parse_app_spec("pkg.mod:factory.app") == "pkg.mod:factory.app"
    with pytest.raises(ValueError):
        parse_app_spec("pkg.mod:")


def test_rollback_leaves_a_file_changed_since_the_rewrite(tmp_path):
    path = tmp_path / "a.py"
    path.write_bytes(b"new\n")
    result = FileResult(path, "a.py", Status.CHANGED, old=b"old\n", new=b"new\n", written=True)
    rollback = Rollback()
    rollback.keep(result, [tmp_path])
    path.write_bytes(b"edited by someone\n")
    restored, failed = rollback.restore()
    assert restored == [] and failed == [
        ("a.py", "changed on disk since the rewrite; not restored")
    ]
    assert path.read_bytes() == b"edited by someone\n"
    assert source_file(path, tmp_path).display_path == "a.py"


def test_nothing_rewritten_means_nothing_to_compare(project):
    (project / "app/main.py").write_bytes(APP.replace(b"foo", b"value"))
    result = invoke("--format", "json", "--verify", "app.main:app", "app")
    doc = json.loads(result.stdout)
    assert (result.exit_code, doc["verify"]["status"], doc["verify"]["differences"]) == (
        0,
        "not-run",
        [],
    )


def test_branch_commits_only_the_rewrite_not_what_the_app_creates_on_import(project, monkeypatch):
    (project / "app/main.py").write_bytes(APP + b'open("app.db", "w").close()\r\n')
    for command in (
        ["init", "-q", "-b", "main"],
        ["config", "user.name", "T"],
        ["config", "user.email", "t@e.x"],
        ["add", "-A"],
        ["commit", "-q", "-m", "initial"],
    ):
        subprocess.run(["git", *command], cwd=project, check=True)
    result = invoke("--branch", "migrate", "--verify", "app.main:app", "app")
    assert result.exit_code == 0, result.output
    changed = subprocess.run(
        ["git", "diff", "--name-status", "main", "migrate"],
        cwd=project,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert changed == "M\tapp/main.py\n"


def _gone(pid: int) -> bool:
    """The process has exited (a zombie waiting for its reaper counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    status = Path(f"/proc/{pid}/status")
    return status.is_file() and "\nState:\tZ" in status.read_text()


@pytest.mark.skipif(not hasattr(os, "killpg"), reason="process groups are POSIX")
def test_a_child_process_started_at_import_neither_delays_nor_outlives_the_probe(tmp_path):
    (tmp_path / "main.py").write_text(
        "import pathlib, subprocess, sys\n"
        "from fastapi import FastAPI\n\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(300)'])\n"
        "pathlib.Path('child.pid').write_text(str(child.pid))\n"
        "app = FastAPI()\n"
    )
    started = time.monotonic()
    snapshot = snapshot_app("main:app", tmp_path, timeout=20)
    assert time.monotonic() - started < 15  # before: the full timeout, then "took too long"
    assert "openapi" in snapshot.openapi
    pid = int((tmp_path / "child.pid").read_text())
    deadline = time.monotonic() + 5
    while not _gone(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _gone(pid)


def _commit_all(project: Path) -> None:
    for command in (
        ["init", "-q", "-b", "main"],
        ["config", "user.name", "T"],
        ["config", "user.email", "t@e.x"],
        ["add", "-A"],
        ["commit", "-q", "-m", "initial"],
    ):
        subprocess.run(["git", *command], cwd=project, check=True)


def test_branch_says_per_step_that_the_api_was_checked(project):
    _commit_all(project)
    result = invoke("--branch", "migrate", "--verify", "app.main:app", "app")
    assert result.exit_code == 0
    assert "rename-foo: verify app.main:app: OpenAPI and routes unchanged" in result.stderr.split(
        "\n"
    )
    before_commit = result.stderr.index("rename-foo: verify app.main:app")
    assert before_commit < result.stderr.index("committed ")


def test_branch_json_carries_the_verification_as_a_run_in_place_does(project, monkeypatch):
    _commit_all(project)
    result = invoke("--format", "json", "--branch", "migrate", "--verify", "app.main:app", "app")
    doc = json.loads(result.stdout)
    assert doc["verify"] == {
        "app": "app.main:app",
        "status": "unchanged",
        "differences": [],
        "rolled_back": [],
        "not_restored": [],
    }
    monkeypatch.setattr(MoveItemsRoute, "default_enabled", True)
    changed = invoke("--format", "json", "--branch", "migrate2", "--verify", "app.main:app", "app")
    doc = json.loads(changed.stdout)
    assert (doc["exit_code"], doc["verify"]["status"], doc["verify"]["rolled_back"]) == (
        3,
        "changed",
        ["app/main.py"],
    )
    assert "+APIRoute GET /things/{item_id} name=read_item" in doc["verify"]["differences"]


def test_branch_without_verify_has_no_verify_object(project):
    _commit_all(project)
    doc = json.loads(invoke("--format", "json", "--branch", "migrate", "app").stdout)
    assert "verify" not in doc


# -- a codemod that declares the API change it makes ----------------------------------------

DOCUMENTED_APP = (
    "from fastapi import FastAPI, HTTPException\n"
    "\n"
    "app = FastAPI()\n"
    "\n"
    "\n"
    '@app.get("/items/{item_id}", responses={404: {"description": "Missing"}})\n'
    "def read_item(item_id: int):\n"
    "    if item_id > 3:\n"
    '        raise HTTPException(403, "Forbidden item")\n'
    '    raise HTTPException(404, "Missing")\n'
)


class AlterDocumentedResponse(DocumentErrorResponses):
    """Wrong on purpose: documents the route's errors, and also rewrites the description of a
    response that was already documented (an existing response altered)."""

    name = "alter-documented-response"

    def transform(self, ctx: FileContext, module: cst.Module, index: object) -> cst.Module:
        class Alter(cst.CSTTransformer):
            def leave_SimpleString(
                self, original: cst.SimpleString, updated: cst.SimpleString
            ) -> cst.SimpleString:
                return updated.with_changes(value=updated.value.replace("Missing", "Gone"))

        assert isinstance(index, ErrorIndex)
        return super().transform(ctx, module, index).visit(Alter())


class DocumentAndMove(DocumentErrorResponses):
    """Wrong on purpose: documents the route's errors, and also changes its path."""

    name = "document-and-move"

    def transform(self, ctx: FileContext, module: cst.Module, index: object) -> cst.Module:
        assert isinstance(index, ErrorIndex)
        return MoveItemsRoute().transform(ctx, super().transform(ctx, module, index), index)


@pytest.fixture
def documented(tmp_path, monkeypatch):
    (tmp_path / "app").mkdir()
    (tmp_path / "app/__init__.py").write_bytes(b"")
    (tmp_path / "app/main.py").write_text(DOCUMENTED_APP)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(
        codemods,
        "REGISTRY",
        (RenameFoo, DocumentErrorResponses, AlterDocumentedResponse, DocumentAndMove),
    )
    return tmp_path


def test_added_responses_are_accepted_from_a_codemod_that_declares_them(documented):
    result = invoke("--verify", "app.main:app", "--select", "document-error-responses", "app")
    assert result.exit_code == 0, result.output
    assert "rolled back" not in result.stderr
    assert '403: {"description": "Forbidden item"}' in (documented / "app/main.py").read_text()


@pytest.mark.parametrize("wrong", ["alter-documented-response", "document-and-move"])
def test_any_other_change_still_rolls_back(documented, wrong):
    result = invoke("--verify", "app.main:app", "--select", wrong, "app")
    assert result.exit_code == 3, result.output
    assert "the rewrite changed the API; rolled back 1 file(s)" in result.stderr
    assert (documented / "app/main.py").read_text() == DOCUMENTED_APP


def test_added_responses_are_a_difference_unless_allowed():
    def snapshot(responses: dict[str, object], path: str = "/a") -> AppSnapshot:
        document = {"paths": {path: {"get": {"responses": responses}}}}
        return AppSnapshot(("APIRoute GET /a name=a",), json.dumps(document, indent=2))

    ok = {"200": {"description": "OK"}}
    before = snapshot(ok)
    added = snapshot({**ok, "404": {"description": "Not Found"}})
    allowed = {ADDED_RESPONSES}
    assert differences(before, added) != []
    assert differences(before, added, allowed) == []
    assert differences(before, snapshot({"200": {"description": "Fine"}}), allowed) != []
    assert differences(before, snapshot({**ok, "x": 1}, path="/b"), allowed) != []
