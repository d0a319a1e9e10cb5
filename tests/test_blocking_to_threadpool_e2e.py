"""blocking-to-threadpool end to end, on copies of the bookshop example.

The bookshop has async routes that await *and* block: ``login`` (a sync session through the
auth service, then ``asyncio.sleep``), the order-status websocket, and the restock report
(awaits the warehouse, then ``time.sleep`` and a sync query). After the codemod their blocking
calls run in the threadpool: the app's own tests pass, a scripted walk answers exactly as
before, the OpenAPI schema does not move, and a second run changes nothing. That a ``/health``
request no longer waits for the report's sleep under uvicorn is measured by
``scripts/threadpool_latency.py`` (two uvicorn start-ups are too slow for a test).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from fastapi_fix.cli import main
from tests.example_apps import EXAMPLE_APPS, assert_example_tests_pass, copy_example, dump_openapi
from tests.test_async_to_sync_e2e import _app_env

SELECT = ["--select", "blocking-to-threadpool"]
APP_REF = EXAMPLE_APPS["bookshop"].app_ref
OFFLOADED = {
    "bookshop/main.py": [
        "order = await run_in_threadpool(crud.get_order, db, order_id)",
        "await run_in_threadpool(time.sleep, settings.report_delay_seconds)",
        "rows = await run_in_threadpool(crud.bestsellers, db, limit)",
    ],
    "bookshop/routers/users.py": [
        "user = await run_in_threadpool(auth.authenticate, db, form_data.username, "
        "form_data.password)",
        "return Token(access_token=await run_in_threadpool(auth.issue_token, db, user, "
        "form_data.scopes))",
    ],
}

# Calls the rewritten routes through TestClient and prints what they answer, minus what
# differs on every run (tokens, timestamps).
WALK = """\
import json, os, sys

os.environ.update(BOOKSHOP_DATABASE_URL="sqlite://", BOOKSHOP_REPORT_DELAY="0",
                  BOOKSHOP_LOGIN_FAILURE_DELAY="0")
from fastapi.testclient import TestClient
from bookshop.database import SessionLocal
from bookshop.main import app
from bookshop.models import User

answers = []

def record(name, status, body):
    for item in body if isinstance(body, list) else [body]:
        if isinstance(item, dict):
            item.pop("created_at", None)
            item.pop("access_token", None)
    answers.append([name, status, body])

with TestClient(app) as client:
    user = {"email": "ada@example.com", "full_name": "Ada", "password": "correct horse"}
    created = client.post("/users", json=user)
    with SessionLocal() as db:
        db.get(User, created.json()["id"]).is_admin = True
        db.commit()
    form = {"username": user["email"], "password": user["password"], "scope": "admin orders"}
    token = client.post("/auth/token", data=form)
    record("login", token.status_code, token.json())
    wrong = client.post("/auth/token", data={**form, "password": "wrong"})
    record("login refused", wrong.status_code, wrong.json())
    auth = {"Authorization": f"Bearer {token.json()['access_token']}"}
    book = {"isbn": "9780141439518", "title": "Emma", "author": "Jane Austen", "price_cents": 899, "stock": 5}
    book_id = client.post("/books", json=book, headers=auth).json()["id"]
    placed = client.post("/orders", json={"items": [{"book_id": book_id, "quantity": 2}]}, headers=auth)
    restock = client.get("/reports/restock", params={"limit": 3})
    record("restock_report", restock.status_code, restock.json())
    for order_id in (placed.json()["id"], 999):
        with client.websocket_connect(f"/ws/orders/{order_id}") as ws:
            ws.send_text("ping")
            record("order_status_feed", 101, ws.receive_json())

with open(sys.argv[1], "w", encoding="utf-8") as out:
    json.dump(answers, out)
"""


def _fix(app_dir: Path, *flags: str):
    return CliRunner().invoke(main, [*SELECT, *flags, str(app_dir)], catch_exceptions=False)


def _walk(app_dir: Path) -> list:
    output = app_dir.parent / f"{app_dir.name}-answers.json"
    result = subprocess.run(
        [sys.executable, "-c", WALK, str(output)],
        cwd=app_dir,
        env=_app_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(output.read_text(encoding="utf-8"))


def test_bookshop_mixed_routes_answer_the_same_after_offloading(tmp_path):
    app_dir = copy_example("bookshop", tmp_path)
    openapi_before = dump_openapi(app_dir, APP_REF)
    answers_before = _walk(app_dir)

    result = _fix(app_dir)
    assert result.exit_code == 0, result.output
    for relative, lines in OFFLOADED.items():
        source = (app_dir / relative).read_text(encoding="utf-8")
        assert "from fastapi.concurrency import run_in_threadpool\n" in source
        for line in lines:
            assert line in source, (relative, line)

    assert_example_tests_pass(app_dir)
    answers_after = _walk(app_dir)
    assert answers_after == answers_before
    assert [name for name, status, _ in answers_after if status in (101, 200)] == [
        "login",
        "restock_report",
        "order_status_feed",
        "order_status_feed",
    ]
    assert dump_openapi(app_dir, APP_REF) == openapi_before
    second = _fix(app_dir, "--check")
    assert second.exit_code == 0, second.output
    assert "0 to fix" in second.output
