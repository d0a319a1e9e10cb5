"""background-task-logging end to end, on copies of the example apps.

The bookshop registers four tasks; the mail relay rejects ``@invalid.test`` addresses, so a
sign-up with one makes ``send_welcome_email`` raise before ``record_signup`` runs. A probe
test dropped into the copy shows what happens before and after the codemod: before, the
failure escapes (and the sign-up is never recorded); after, it is logged under the task's
name and the next task still runs. The app's own tests and its OpenAPI schema must not move.
"""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from fastapi_fix.cli import main
from tests.example_apps import (
    EXAMPLE_APPS,
    assert_example_tests_pass,
    copy_example,
    dump_openapi,
    run_example_tests,
)

SELECT = ["--select", "background-task-logging"]

PROBE = """\
import logging

from fastapi.testclient import TestClient

from bookshop import notifications
from bookshop.main import app

BOUNCING = {"email": "bob@invalid.test", "full_name": "Bob", "password": "hunter2hunter2"}


def test_failing_task_is_logged_by_name_and_later_tasks_run(caplog):
    caplog.set_level(logging.INFO, logger="bookshop.notifications")
    with TestClient(app) as client:
        response = client.post("/users", json=BOUNCING)

    assert response.status_code == 201
    failures = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert [r.getMessage() for r in failures] == [
        "Background task bookshop.notifications.send_welcome_email failed"
    ]
    assert failures[0].name == "bookshop.notifications"
    assert failures[0].exc_info[0] is notifications.DeliveryError
    # The task queued after the failing one still ran.
    assert notifications.signups == [response.json()["id"]]
"""


def _fix(app_dir, *flags):
    return CliRunner().invoke(main, [*SELECT, *flags, str(app_dir)], catch_exceptions=False)


def test_bookshop_failing_task_is_logged_and_the_next_one_runs(tmp_path):
    app_dir = copy_example("bookshop", tmp_path)
    (app_dir / "tests" / "test_background_probe.py").write_text(PROBE, encoding="utf-8")
    openapi_before = dump_openapi(app_dir, EXAMPLE_APPS["bookshop"].app_ref)

    before = run_example_tests(app_dir, "tests/test_background_probe.py")
    assert before.returncode != 0, "the probe must fail on the untouched app"
    assert "DeliveryError" in before.stdout

    result = _fix(app_dir)
    assert result.exit_code == 0, result.output
    notifications = (app_dir / "bookshop" / "notifications.py").read_text(encoding="utf-8")
    assert notifications.count("except Exception:") == 4
    # Only the definitions changed: routes, schemas and the send_email helper did not.
    assert (
        "def send_email(to: str, subject: str, body: str) -> None:\n    if to.endswith"
        in notifications
    )

    assert_example_tests_pass(app_dir)  # the app's own tests and the probe
    assert dump_openapi(app_dir, EXAMPLE_APPS["bookshop"].app_ref) == openapi_before
    assert _fix(app_dir, "--check").exit_code == 0, "a second run must change nothing"


@pytest.mark.parametrize("flags", [[], ["--reraise"]], ids=["default", "reraise"])
def test_single_file_app_keeps_its_tests_and_schema(tmp_path, flags):
    app_dir = copy_example("single_file", tmp_path)
    openapi_before = dump_openapi(app_dir, EXAMPLE_APPS["single_file"].app_ref)

    result = _fix(app_dir, *flags)
    assert result.exit_code == 0, result.output
    source = (app_dir / "main.py").read_text(encoding="utf-8")
    assert source.count('logger.exception("Background task %s failed", "main.') == 2
    assert source.count("        raise\n") == (2 if flags else 0)

    assert_example_tests_pass(app_dir)
    assert dump_openapi(app_dir, EXAMPLE_APPS["single_file"].app_ref) == openapi_before
    assert _fix(app_dir, *flags, "--check").exit_code == 0


def test_reraise_from_pyproject(tmp_path):
    (tmp_path / "pyproject.toml").write_text(
        '[tool.fastapi-fix.background-task-logging]\nreraise = true\nlogger-name = "log"\n',
        encoding="utf-8",
    )
    (tmp_path / "main.py").write_text(
        "from fastapi import BackgroundTasks\n\n\ndef job():\n    run()\n\n\n"
        "def route(tasks: BackgroundTasks):\n    tasks.add_task(job)\n",
        encoding="utf-8",
    )
    assert _fix(tmp_path).exit_code == 0
    assert (tmp_path / "main.py").read_text(encoding="utf-8") == (
        "import logging\n\nfrom fastapi import BackgroundTasks\n\nlog = logging.getLogger(__name__)\n\n\n"
        "def job():\n    try:\n        run()\n    except Exception:\n"
        '        log.exception("Background task %s failed", "main.job")\n        raise\n\n\n'
        "def route(tasks: BackgroundTasks):\n    tasks.add_task(job)\n"
    )
