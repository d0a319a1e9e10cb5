"""What a person sees on a terminal (issue 14): progress for every long phase, only on a
terminal; findings as one short line each, the whole text in JSON; colours as NO_COLOR and
FORCE_COLOR ask. The progress tests run the CLI in a subprocess under a pseudo-terminal."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from fastapi_fix.cli import main
from fastapi_fix.codemods.async_to_sync import AsyncToSync
from fastapi_fix.engine.codemod import Settings
from fastapi_fix.engine.discover import discover
from fastapi_fix.engine.runner import Runner
from tests.helpers import make_project

# An app whose import takes a while (as a real one's does): --verify imports it.
SLOW_APP = b"""\
import time

from fastapi import FastAPI

time.sleep(1.2)
app = FastAPI()


@app.get("/")
async def root():
    time.sleep(0.1)
    return {}
"""
# Skipped (a syntax error): its line is yellow.
BROKEN = b"from fastapi import Depends\n\nasync def broken(:\n"
YELLOW = b"\x1b[33m"
# Rich's live display hides the cursor while it draws.
HIDE_CURSOR = b"\x1b[?25l"
PHASE = b"verify app.main:app: import before the rewrite"


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"NO_COLOR", "FORCE_COLOR", "TERM"}}
    return {**env, "COLUMNS": "200", "TERM": "xterm-256color", **extra}


def _command(*args: str) -> list[str]:
    return [sys.executable, "-m", "fastapi_fix", *args]


def run_in_terminal(cwd: Path, *args: str, **env: str) -> tuple[int, bytes]:
    """The CLI with stdin, stdout and stderr on a pseudo-terminal; all it wrote there."""
    controller, terminal = os.openpty()
    process = subprocess.Popen(
        _command(*args), cwd=cwd, env=_env(**env), stdin=terminal, stdout=terminal, stderr=terminal
    )
    os.close(terminal)
    chunks = []
    try:
        while True:
            try:
                data = os.read(controller, 65536)
            except OSError:  # EIO: the child closed its side
                break
            if not data:
                break
            chunks.append(data)
    finally:
        os.close(controller)
    return process.wait(timeout=120), b"".join(chunks)


def run_in_pipe(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        _command(*args), cwd=cwd, env=_env(**env), capture_output=True, timeout=120
    )


@pytest.fixture
def slow_app(tmp_path: Path) -> Path:
    return make_project(tmp_path, {"app/__init__.py": b"", "app/main.py": SLOW_APP})


# -- progress ------------------------------------------------------------------------------


def test_progress_shows_a_long_phase_on_a_terminal(slow_app):
    code, output = run_in_terminal(slow_app, "--verify", "app.main:app", "app")
    assert code == 0
    assert PHASE in output and HIDE_CURSOR in output
    assert b"OpenAPI schema and routes unchanged" in output


def test_no_progress_in_a_pipe(slow_app):
    result = run_in_pipe(slow_app, "--verify", "app.main:app", "app")
    assert result.returncode == 0
    assert PHASE not in result.stderr and HIDE_CURSOR not in result.stderr
    assert b"\r" not in result.stderr and b"\x1b[" not in result.stderr


def test_no_progress_with_quiet(slow_app):
    code, output = run_in_terminal(slow_app, "-q", "--verify", "app.main:app", "app")
    assert code == 0
    assert PHASE not in output and HIDE_CURSOR not in output


def test_no_progress_with_json(slow_app):
    code, output = run_in_terminal(slow_app, "--format", "json", "--verify", "app.main:app", "app")
    assert code == 0 and PHASE not in output


def test_a_quick_run_shows_no_progress(tmp_path):
    make_project(tmp_path, {"app/__init__.py": b"", "app/main.py": b"x = 1\n"})
    code, output = run_in_terminal(tmp_path, "--dry-run", "app")
    assert code == 0 and HIDE_CURSOR not in output


def test_no_color_keeps_progress_without_colours(slow_app):
    (slow_app / "app/broken.py").write_bytes(BROKEN)
    code, coloured = run_in_terminal(slow_app, "--verify", "app.main:app", "app")
    assert code == 0 and YELLOW in coloured
    (slow_app / "app/main.py").write_bytes(SLOW_APP)  # the first run converted it
    code, plain = run_in_terminal(slow_app, "--verify", "app.main:app", "app", NO_COLOR="1")
    assert code == 0 and PHASE in plain and b"skipped: syntax error" in plain
    assert YELLOW not in plain and b"\x1b[32m" not in plain  # neither the skip nor the bar


def test_force_color_colours_a_pipe_but_draws_no_progress(slow_app):
    (slow_app / "app/broken.py").write_bytes(BROKEN)
    result = run_in_pipe(slow_app, "--verify", "app.main:app", "app", FORCE_COLOR="1")
    assert result.returncode == 0
    assert YELLOW in result.stderr and PHASE not in result.stderr


def test_engine_reports_every_phase(tmp_path):
    """gather rounds, each codemod's index, transform and write reach the progress callback."""
    make_project(
        tmp_path,
        {
            "app/__init__.py": b"",
            "app/crud.py": b"import time\n\n\ndef slow():\n    time.sleep(1)\n",
            "app/main.py": b"from fastapi import FastAPI\n\nfrom app.crud import slow\n\n"
            b"app = FastAPI()\n\n\n@app.get('/')\nasync def root():\n    slow()\n",
        },
    )
    found = discover([tmp_path])
    phases: dict[str, tuple[int, int]] = {}
    runner = Runner(
        [AsyncToSync(Settings())],
        jobs=1,
        progress=lambda phase, done, total: phases.__setitem__(phase, (done, total)),
    )
    results = list(runner.run(found.files, write=True, roots=found.roots))
    assert any(r.written for r in results)
    assert set(phases) == {"gather", "gather, round 2", "index async-to-sync", "transform", "write"}
    assert all(done == total for done, total in phases.values())  # each one finished


def test_layered_layout_reports_its_planning_and_writing(tmp_path, monkeypatch):
    """layered-layout plans and applies outside the runner: its phases reach the display too."""
    from fastapi_fix.cli.render import Renderer
    from tests.codemods.layered_layout.helpers import commit_all, write_project
    from tests.codemods.layered_layout.test_imports import SHOP

    root = write_project(tmp_path / "shop", SHOP)
    commit_all(root)
    monkeypatch.chdir(root)
    phases: dict[str, tuple[int, int]] = {}
    monkeypatch.setattr(
        Renderer, "phase", lambda self, phase, done, total: phases.__setitem__(phase, (done, total))
    )
    result = CliRunner().invoke(main, ["--select", "layered-layout", "."])
    assert result.exit_code == 0, result.output
    assert set(phases) == {"plan layered-layout", "write"}
    assert all(done == total > 0 for done, total in phases.values())  # each one finished


# -- findings ------------------------------------------------------------------------------

DB = """\
from typing import Annotated

from fastapi import Depends
from sqlalchemy.orm import Session


def get_db():
    yield Session()


SessionDep = Annotated[Session, Depends(get_db)]
"""
REPOSITORY = """\
from sqlalchemy.orm import Session


def fetch_organisation_with_every_member_and_invitation(db: Session, organisation_id: str):
    return load_organisation_members_and_pending_invitations(db, organisation_id)


def load_organisation_members_and_pending_invitations(db: Session, organisation_id: str):
    return db.query(object).filter_by(id=organisation_id).all()
"""
ROUTE = """\
@router.get("/organisations/{{organisation_id}}/members/{number}")
async def list_members_of_organisation_{number}(organisation_id: str, db: SessionDep):
    await audit(organisation_id)
    return repository.fetch_organisation_with_every_member_and_invitation(db, organisation_id)

"""


def _routes_project(root: Path, routes: int) -> Path:
    main = (
        "from fastapi import APIRouter\n\n"
        "from app.api.v1.services import repository\n"
        "from app.api.v1.db import SessionDep\n\n"
        "router = APIRouter()\n\n\n"
        "async def audit(organisation_id: str) -> None:\n    pass\n\n\n"
        + "\n".join(ROUTE.format(number=n) for n in range(routes))
    )
    return make_project(
        root,
        {
            "app/__init__.py": b"",
            "app/api/__init__.py": b"",
            "app/api/v1/__init__.py": b"",
            "app/api/v1/services/__init__.py": b"",
            "app/api/v1/db.py": DB.encode(),
            "app/api/v1/services/repository.py": REPOSITORY.encode(),
            "app/api/v1/organisation_members_routes.py": main.encode(),
        },
    )


def _invoke(root: Path, monkeypatch: pytest.MonkeyPatch, *args: str):
    monkeypatch.chdir(root)
    return CliRunner().invoke(main, [*args, "--select", "async-to-sync", "."])


def _finding_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if ": async-to-sync: " in line]


def test_each_finding_is_one_short_line_and_json_keeps_the_whole_text(tmp_path, monkeypatch):
    root = _routes_project(tmp_path, 2)
    text = _invoke(root, monkeypatch, "--dry-run")
    lines = _finding_lines(text.stderr)
    assert len(lines) == 2
    assert all(len(line) <= 160 for line in lines)
    # long code is shortened, the sentence and the pointer to the explanation stay
    assert lines[0] == (
        "app/api/v1/organisation_members_routes.py:16:12: async-to-sync: "
        "`repository.fetch_org…` blocks; `list_members_of_orga…` also awaits "
        "→ see blocking-to-threadpool"
    )
    doc = json.loads(_invoke(root, monkeypatch, "--dry-run", "--format", "json").stdout)
    (entry, _) = [f for file in doc["files"] for f in file["findings"]]
    assert len(entry["message"]) > 160  # the whole text, evidence chain included
    assert (
        "app.api.v1.services.repository.fetch_organisation_with_every_member_and_invitation → "
        "app.api.v1.services.repository.load_organisation_members_and_pending_invitations → "
        "`db.query` (sqlalchemy.orm.Session.query)" in entry["message"]
    )
    assert entry["kind"] == "blocking-to-threadpool"
    assert entry["summary"].endswith("also awaits → see blocking-to-threadpool")
    assert entry["detail"].startswith("the function also awaits, so it cannot become `def`")


def test_each_kind_is_explained_once_after_the_list(tmp_path, monkeypatch):
    stderr = _invoke(_routes_project(tmp_path, 4), monkeypatch, "--dry-run").stderr
    lines = stderr.splitlines()
    assert lines.count("blocking-to-threadpool (async-to-sync, 4):") == 1
    explanation = lines[lines.index("blocking-to-threadpool (async-to-sync, 4):") + 1 :][:2]
    assert " ".join(line.strip() for line in explanation).startswith(
        "the function also awaits, so it cannot become `def`: run the blocking call in the "
        "threadpool (`await run_in_threadpool(fn, ...)` from fastapi.concurrency)"
    )
    assert all(len(line) <= 160 for line in lines if not line.startswith("━"))
    assert stderr.index("blocking-to-threadpool (async") > stderr.index(_finding_lines(stderr)[-1])
    assert "db.query" not in stderr  # the evidence chain is for -v and JSON


def test_verbose_adds_the_whole_text_under_each_line(tmp_path, monkeypatch):
    stderr = _invoke(_routes_project(tmp_path, 1), monkeypatch, "--dry-run", "-v").stderr
    (line,) = _finding_lines(stderr)
    whole = stderr.splitlines()[stderr.splitlines().index(line) + 1]
    assert whole.startswith("    `repository.fetch_organisation_with_every_member_and_invitat")
    assert "→ `db.query` (sqlalchemy.orm.Session.query) at app/api/v1/services/" in whole


def test_quiet_counts_a_kind_seen_many_times(tmp_path, monkeypatch):
    stderr = _invoke(_routes_project(tmp_path, 4), monkeypatch, "--dry-run", "-q").stderr
    assert _finding_lines(stderr) == []
    assert stderr.splitlines() == [
        "async-to-sync: blocking-to-threadpool: 4 findings "
        "(first: app/api/v1/organisation_members_routes.py:16:12)"
    ]


def test_quiet_still_lists_a_kind_seen_once_or_twice(tmp_path, monkeypatch):
    stderr = _invoke(_routes_project(tmp_path, 2), monkeypatch, "--dry-run", "-q").stderr
    assert len(_finding_lines(stderr)) == 2
    assert "blocking-to-threadpool (async-to-sync" not in stderr  # no explanations under -q


def test_files_with_the_most_to_review_come_first(tmp_path, monkeypatch):
    root = _routes_project(tmp_path, 2)
    single = (root / "app/api/v1/organisation_members_routes.py").read_text()
    single = single.split('@router.get("/organisations/{organisation_id}/members/1")')[0]
    (root / "app/a_single_route.py").write_text(single.replace("app.api.v1.", "app.api.v1."))
    lines = _finding_lines(_invoke(root, monkeypatch, "--dry-run").stderr)
    assert [line.split(":")[0] for line in lines] == [
        "app/api/v1/organisation_members_routes.py",
        "app/api/v1/organisation_members_routes.py",
        "app/a_single_route.py",
    ]


def test_a_background_task_outside_the_project_is_one_line_with_its_kind(tmp_path, monkeypatch):
    route = (
        "from fastapi import BackgroundTasks, FastAPI\n\nfrom mailer.client import send_welcome\n\n"
        "app = FastAPI()\n\n\n@app.post('/signup')\ndef signup(tasks: BackgroundTasks):\n"
        "    tasks.add_task(send_welcome, 'someone@example.com')\n"
    )
    make_project(tmp_path, {"app/__init__.py": b"", "app/main.py": route.encode()})
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["--dry-run", "--select", "background-task-logging", "."])
    lines = result.stderr.splitlines()
    assert lines[0] == (
        "app/main.py:10:5: background-task-logging: task `client.send_welcome` is not defined "
        "in this project → see task-outside-project"
    )
    assert lines[1] == "task-outside-project (background-task-logging, 1):"
    doc = json.loads(
        CliRunner()
        .invoke(main, ["--dry-run", "--format", "json", "--select", "background-task-logging", "."])
        .stdout
    )
    (finding,) = [f for file in doc["files"] for f in file["findings"]]
    assert finding["kind"] == "task-outside-project"
    assert finding["message"].startswith("the task `mailer.client.send_welcome` is not defined")
