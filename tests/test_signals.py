"""Signals end a run cleanly: real processes, real signals.

SIGINT, SIGTERM and SIGHUP: the workers are gone, whatever was being written is rolled back,
one line on stderr and exit 128 + the signal; ``--branch`` leaves no worktree behind;
layered-layout leaves nothing half-moved; after SIGKILL the next run rolls back.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.codemods.layered_layout.helpers import write_project
from tests.codemods.layered_layout.test_apply import SHOP
from tests.helpers import make_project

REPO = Path(__file__).resolve().parents[1]
# What a write in progress leaves on disk (the README's contract, not an import: these tests
# must fail on a tool that has no transaction).
JOURNAL_NAME = ".fastapi-fix.journal"


def stale_temp_files(root: Path) -> list[Path]:
    return sorted(root.rglob("*.fastapi-fix.tmp"))


ROUTES_PER_FILE = 10


def routers(count: int) -> dict[str, bytes]:
    """A project big enough that its run lasts a few seconds on worker processes."""
    files = {"app/__init__.py": b""}
    for number in range(count):
        lines = [
            "from fastapi import APIRouter, Depends",
            "from sqlalchemy.orm import Session",
            "",
            "router = APIRouter()",
            "",
            "",
            "def get_db():",
            "    yield None",
        ]
        for route in range(ROUTES_PER_FILE):
            lines += [
                "",
                "",
                f"@router.get('/r{route}')",
                f"def route_{route}(db: Session = Depends(get_db), q: int = 0):",
                "    return {'q': q}",
            ]
        files[f"app/module_{number}.py"] = ("\n".join(lines) + "\n").encode()
    return files


# Process groups started by the current test: whatever a failing test leaves (a tool that
# does not stop its workers) is killed at teardown, by group id.
_started: list[int] = []


@pytest.fixture(autouse=True)
def _kill_leftovers():
    yield
    while _started:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(_started.pop(), signal.SIGKILL)


def start(root: Path, *args: str, script: str | None = None) -> subprocess.Popen[str]:
    """The command line in a new process group (as a shell starts it)."""
    command = ["-m", "fastapi_fix", *args] if script is None else ["-c", script, *args]
    process = _popen(root, command)
    _started.append(process.pid)
    return process


def _popen(root: Path, command: list[str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, *command],
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        env={**os.environ, "PYTHONPATH": str(REPO), "TMPDIR": str(root.parent / "tmp")},
    )


def children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def wait_for(condition: Callable[[], bool], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the moment to send the signal never came"
        time.sleep(0.02)


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
    except (OSError, IndexError):
        return False


@pytest.fixture
def tmp_root(tmp_path):
    (tmp_path / "tmp").mkdir()  # TMPDIR of the processes: nothing may be left there
    root = tmp_path / "project"
    root.mkdir()
    return root


pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")


# -- a run with worker processes --------------------------------------------------------


@pytest.mark.parametrize(
    ("signum", "to_group"),
    [(signal.SIGTERM, False), (signal.SIGINT, True), (signal.SIGHUP, False)],
    ids=["kill PID", "Ctrl-C", "hang-up"],
)
def test_a_signal_stops_the_workers_and_exits_with_one_line(tmp_root, signum, to_group):
    make_project(tmp_root, routers(64))
    before = {p: p.read_bytes() for p in tmp_root.rglob("*.py")}
    process = start(tmp_root, "-j", "2", ".")
    wait_for(lambda: len(children(process.pid)) == 2)
    workers = children(process.pid)
    if to_group:  # Ctrl-C: the terminal signals the whole foreground group
        os.killpg(process.pid, signum)
    else:
        process.send_signal(signum)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 128 + signum, stderr
    assert stderr.splitlines() == [
        f"fastapi-fix: interrupted by {signal.Signals(signum).name}: "
        "every change in progress was rolled back"
    ]
    wait_for(lambda: not any(alive(pid) for pid in workers), timeout=5)
    assert {p: p.read_bytes() for p in tmp_root.rglob("*.py")} == before
    assert list(stale_temp_files(tmp_root)) == [] and not (tmp_root / JOURNAL_NAME).exists()


def test_sigkill_of_the_run_takes_its_workers_with_it(tmp_root):
    """No handler sees SIGKILL: the workers must not wait for work forever (holding the
    terminal's output open, so a caller reading it hangs)."""
    make_project(tmp_root, routers(64))
    process = start(tmp_root, "-j", "2", ".")
    wait_for(lambda: len(children(process.pid)) == 2)
    workers = children(process.pid)
    process.kill()
    process.communicate(timeout=30)  # returns once every holder of the pipes is gone
    wait_for(lambda: not any(alive(pid) for pid in workers), timeout=5)


# -- interrupted while writing a cross-file change (issue 10, case 2) ---------------------

# The toy codemod, run from a script that stops the commit after some renames by a signal
# the process sends itself: the precise moment, the real signal path.
TOY_RUN = textwrap.dedent(
    """
    import os, signal, sys
    from fastapi_fix import codemods
    from fastapi_fix.cli import main
    from fastapi_fix.engine import transaction
    from tests.engine.toy import RenameFooTogether

    codemods.REGISTRY = (RenameFooTogether,)
    after, signum = int(sys.argv.pop(1)), int(sys.argv.pop(1))
    real_apply, done = transaction._apply, []

    def apply(entry):
        if len(done) == after:
            os.kill(os.getpid(), signum)
        done.append(entry)
        real_apply(entry)

    transaction._apply = apply
    main(prog_name="fastapi-fix")
    """
)


# The signal comes once every file is written, while the results are being shown.
AFTER_WRITES_RUN = textwrap.dedent(
    """
    import os, signal
    from fastapi_fix import codemods
    from fastapi_fix.cli import main
    from fastapi_fix.cli.render import Renderer
    from tests.engine.toy import RenameFooTogether

    codemods.REGISTRY = (RenameFooTogether,)
    Renderer.fixed = lambda self, result: os.kill(os.getpid(), signal.SIGTERM)
    main(prog_name="fastapi-fix")
    """
)


def test_a_signal_after_the_writes_says_they_were_written_and_exits_at_once(tmp_root):
    files = cross_file_project(tmp_root, 29)
    process = start(tmp_root, "-j", "2", ".", script=AFTER_WRITES_RUN)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 143, stderr
    assert stderr.splitlines()[-1] == (
        "fastapi-fix: interrupted by SIGTERM: "
        "30 file(s) were written before it, every other change rolled back"
    )
    assert all((tmp_root / name).read_bytes() != data for name, data in files.items())
    assert list(stale_temp_files(tmp_root)) == [] and not (tmp_root / JOURNAL_NAME).exists()


def cross_file_project(root: Path, importers: int) -> dict[str, bytes]:
    files = {"provider.py": b"def foo():\n    return 1\n"}
    for number in range(importers):
        files[f"user_{number:03}.py"] = b"from provider import foo\n\nx = foo()\n"
    make_project(root, files)
    return files


def test_sigint_in_the_middle_of_the_writes_leaves_nothing_half_applied(tmp_root):
    files = cross_file_project(tmp_root, 59)
    process = start(tmp_root, "25", str(int(signal.SIGINT)), "-j", "1", ".", script=TOY_RUN)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert stderr.splitlines()[-1].startswith("fastapi-fix: interrupted by SIGINT")
    assert "Traceback" not in stderr
    assert {n: (tmp_root / n).read_bytes() for n in files} == files
    assert list(stale_temp_files(tmp_root)) == [] and not (tmp_root / JOURNAL_NAME).exists()


def test_after_sigkill_in_the_middle_of_the_writes_the_next_run_rolls_back(tmp_root):
    files = cross_file_project(tmp_root, 59)
    killed = start(tmp_root, "25", str(int(signal.SIGKILL)), "-j", "1", ".", script=TOY_RUN)
    killed.communicate(timeout=60)
    assert killed.returncode == -signal.SIGKILL
    half = [n for n in files if (tmp_root / n).read_bytes() != files[n]]
    assert len(half) == 25 and (tmp_root / JOURNAL_NAME).exists()
    assert list(stale_temp_files(tmp_root))

    rerun = start(tmp_root, "-1", "0", "--check", ".", script=TOY_RUN)
    _, stderr = rerun.communicate(timeout=60)
    assert rerun.returncode == 1, stderr
    assert stderr.splitlines()[0] == (
        f"error: an earlier run of fastapi-fix in {tmp_root} was interrupted while writing; "
        "rolled back 25 file(s)"
    )
    assert {n: (tmp_root / n).read_bytes() for n in files} == files
    assert list(stale_temp_files(tmp_root)) == [] and not (tmp_root / JOURNAL_NAME).exists()

    applied = start(tmp_root, "-1", "0", ".", script=TOY_RUN)
    assert applied.wait(timeout=60) == 0
    assert all(b"foo" not in (tmp_root / n).read_bytes() for n in files)


# -- --branch -------------------------------------------------------------------------------


def git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=root, capture_output=True, text=True, check=True
    ).stdout


def git_project(root: Path) -> None:
    make_project(root, routers(24))
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.email", "t@example.com")
    git(root, "config", "user.name", "T")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "start")


def branch_commits(root: Path, name: str) -> int:
    completed = subprocess.run(
        ["git", "rev-list", "--count", f"main..refs/heads/{name}"],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    return int(completed.stdout) if completed.returncode == 0 else -1


@pytest.mark.parametrize("moment", ["worktree made", "first commit made"])
def test_sigterm_during_branch_removes_the_worktree(tmp_root, moment):
    git_project(tmp_root)
    process = start(tmp_root, "--branch", "migrate", "-j", "2", ".")
    if moment == "worktree made":
        wait_for(lambda: git(tmp_root, "worktree", "list").count("\n") == 2)
    else:
        wait_for(lambda: branch_commits(tmp_root, "migrate") >= 1)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 143, stderr
    assert "Traceback" not in stderr
    assert git(tmp_root, "worktree", "list").count("\n") == 1
    commits = branch_commits(tmp_root, "migrate")
    last = stderr.splitlines()[-1]
    if commits > 0:
        assert last.endswith(
            f"branch migrate kept with {commits} commit(s) made before the interruption"
        )
    else:
        assert commits == -1 and last.endswith("branch migrate deleted (no commit yet)")
    assert git(tmp_root, "status", "--porcelain") == ""
    assert os.listdir(tmp_root.parent / "tmp") == []
    # The next run is not blocked by anything left behind (a worktree, a branch checked out).
    again = start(tmp_root, "--branch", "migrate-again", "--select", "async-to-sync", ".")
    _, stderr = again.communicate(timeout=120)
    assert again.returncode == 0, stderr


# -- layered-layout -------------------------------------------------------------------------

LAYOUT_RUN = textwrap.dedent(
    """
    import os, signal, sys
    from fastapi_fix.cli import main
    from fastapi_fix.engine import project_change as project

    stop_at = sys.argv.pop(1)
    real_apply_change, steps = project.apply_change, []

    def on_step(step, shown=None):
        if shown is not None:
            shown(step)  # the command line's own hook (its progress)
        steps.append(step)
        if stop_at == "staging" and len(steps) == 4:
            os.kill(os.getpid(), signal.SIGTERM)

    def apply_change(change, **options):
        shown = options.pop("step_hook", None)
        if stop_at == "renames":
            from fastapi_fix.engine import transaction
            real_apply, done = transaction._apply, []

            def apply(entry):
                if len(done) == 3:
                    os.kill(os.getpid(), signal.SIGTERM)
                done.append(entry)
                real_apply(entry)

            transaction._apply = apply
        return real_apply_change(change, **options, step_hook=lambda step: on_step(step, shown))

    project.apply_change = apply_change
    import fastapi_fix.cli.layout as layout_cli
    layout_cli.apply_change = apply_change
    main(prog_name="fastapi-fix")
    """
)


@pytest.mark.parametrize("stop_at", ["staging", "renames"])
def test_sigterm_during_a_layout_apply_rolls_everything_back(tmp_root, stop_at):
    write_project(tmp_root, SHOP)
    git(tmp_root, "init", "-q", "-b", "main")
    git(tmp_root, "add", "-A")
    git(tmp_root, "-c", "user.email=t@e", "-c", "user.name=T", "commit", "-qm", "shop")
    before = {
        p.relative_to(tmp_root): p.read_bytes()
        for p in tmp_root.rglob("*")
        if p.is_file() and ".git" not in p.parts
    }
    process = start(tmp_root, stop_at, "--select", "layered-layout", ".", script=LAYOUT_RUN)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 143, stderr
    assert stderr.splitlines()[-1].startswith("fastapi-fix: interrupted by SIGTERM")
    assert "Traceback" not in stderr
    after = {
        p.relative_to(tmp_root): p.read_bytes()
        for p in tmp_root.rglob("*")
        if p.is_file() and ".git" not in p.parts
    }
    assert after == before
    assert git(tmp_root, "status", "--porcelain") == ""
    assert os.listdir(tmp_root.parent / "tmp") == []  # no backup folder


# -- --verify ---------------------------------------------------------------------------------

# Imported by --verify in a child process: once rewritten (foo became bar), it signals the
# fastapi-fix process that is waiting for it, as a terminal would while the app imports.
SIGNALLING_APP = b"""\
import os
import signal

from fastapi import FastAPI

app = FastAPI()
foo = 1
if "bar" in globals():
    os.kill(os.getppid(), signal.SIGTERM)
"""


def test_sigterm_while_verify_imports_the_rewritten_app_restores_it(tmp_root):
    make_project(tmp_root, {"app/__init__.py": b"", "app/main.py": SIGNALLING_APP})
    process = start(tmp_root, "-1", "0", "--verify", "app.main:app", "app", script=TOY_RUN)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 143, stderr
    assert stderr.splitlines()[-1] == (
        "fastapi-fix: interrupted by SIGTERM: every change in progress was rolled back; "
        "the rewrite was not verified: 1 file(s) restored"
    )
    assert (tmp_root / "app/main.py").read_bytes() == SIGNALLING_APP
    assert stale_temp_files(tmp_root) == [] and not (tmp_root / JOURNAL_NAME).exists()
