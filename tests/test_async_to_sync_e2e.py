"""async-to-sync end to end, on copies of the bookshop example.

The bookshop's async routes hand a sync SQLAlchemy session to its service layer, call
``requests``, ``open`` + ``shutil`` and ``time.sleep``. After the codemod they are ``def``:
the app's own tests pass, a scripted walk through every converted route answers exactly as
before, the OpenAPI schema does not move, and a second run changes nothing. And the point of
it all, measured on a real server: while the slow report route sleeps, a request to another
route no longer waits for it.
"""

from __future__ import annotations

import ast
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx
from click.testing import CliRunner

from fastapi_fix.cli import main
from tests.example_apps import EXAMPLE_APPS, assert_example_tests_pass, copy_example, dump_openapi

SELECT = ["--select", "async-to-sync"]
APP_REF = EXAMPLE_APPS["bookshop"].app_ref
CONVERTED = {
    "bookshop/main.py": {"bestsellers"},
    "bookshop/routers/books.py": {
        "create_book",
        "restock_book",
        "upload_cover",
        "enrich_from_open_library",
    },
    "bookshop/routers/orders.py": {"place_order", "list_my_orders"},
    "bookshop/routers/users.py": {"register", "read_user"},
}
REPORT_DELAY = 1.0

# Calls every converted route (and a few others) through TestClient and prints what they
# answer, minus what differs on every run (tokens, timestamps).
WALK = """\
import json, os, sys
from unittest import mock

os.environ.update(BOOKSHOP_DATABASE_URL="sqlite://", BOOKSHOP_REPORT_DELAY="0",
                  BOOKSHOP_LOGIN_FAILURE_DELAY="0", BOOKSHOP_COVERS_DIR=sys.argv[2])
from fastapi.testclient import TestClient
from bookshop.database import SessionLocal
from bookshop.main import app
from bookshop.models import User

answers = []

def record(name, response):
    body = response.json()
    for item in body if isinstance(body, list) else [body]:
        if isinstance(item, dict):
            item.pop("created_at", None)
            item.pop("access_token", None)
    answers.append([name, response.status_code, body])
    return response

with TestClient(app) as client:
    user = {"email": "ada@example.com", "full_name": "Ada", "password": "correct horse"}
    created = record("register", client.post("/users", json=user))
    record("register again", client.post("/users", json=user))
    with SessionLocal() as db:
        db.get(User, created.json()["id"]).is_admin = True
        db.commit()
    form = {"username": user["email"], "password": user["password"], "scope": "admin orders"}
    token = client.post("/auth/token", data=form).json()["access_token"]
    auth = {"Authorization": f"Bearer {token}"}
    book = {"isbn": "9780141439518", "title": "Emma", "author": "Jane Austen", "price_cents": 899, "stock": 2}
    book_id = record("create_book", client.post("/books", json=book, headers=auth)).json()["id"]
    record("create_book again", client.post("/books", json=book, headers=auth))
    record("restock_book", client.post(f"/books/{book_id}/stock", json={"quantity": 3}, headers=auth))
    cover = {"file": ("cover.png", b"png bytes", "image/png")}
    record("upload_cover", client.put(f"/books/{book_id}/cover", files=cover, data={"alt_text": "Emma"},
                                      headers=auth))
    edition = mock.Mock(status_code=200, ok=True, json=lambda: {"number_of_pages": 474})
    with mock.patch("requests.get", return_value=edition):
        record("enrich_from_open_library", client.post(f"/books/{book_id}/enrich", headers=auth))
    order = {"items": [{"book_id": book_id, "quantity": 2}]}
    record("place_order", client.post("/orders", json=order, headers={**auth, "Idempotency-Key": "k1"}))
    record("place_order replayed", client.post("/orders", json=order, headers={**auth, "Idempotency-Key": "k1"}))
    record("place_order out of stock", client.post("/orders", json={"items": [{"book_id": book_id, "quantity": 9}]},
                                                   headers=auth))
    record("list_my_orders", client.get("/orders", headers=auth))
    record("bestsellers", client.get("/reports/bestsellers"))
    record("read_user", client.get(f"/users/{created.json()['id']}", headers=auth))
    record("read_user missing", client.get("/users/999", headers=auth))
    record("health", client.get("/health"))

with open(sys.argv[1], "w", encoding="utf-8") as out:
    json.dump(answers, out)
"""


def _fix(app_dir: Path, *flags: str):
    return CliRunner().invoke(main, [*SELECT, *flags, str(app_dir)], catch_exceptions=False)


def _app_env(**settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BOOKSHOP_", "PYTEST_"))}
    return {**env, "PYTHONDONTWRITEBYTECODE": "1", **settings}


def _walk_routes(app_dir: Path) -> list:
    output = app_dir.parent / f"{app_dir.name}-answers.json"
    result = subprocess.run(
        [sys.executable, "-c", WALK, str(output), str(app_dir.parent / f"{app_dir.name}-covers")],
        cwd=app_dir,
        env=_app_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(output.read_text(encoding="utf-8"))


def _async_functions(app_dir: Path) -> dict[str, set[str]]:
    found = {}
    for relative in CONVERTED:
        tree = ast.parse((app_dir / relative).read_bytes())
        found[relative] = {n.name for n in ast.walk(tree) if isinstance(n, ast.AsyncFunctionDef)}
    return found


def test_bookshop_routes_answer_the_same_as_def(tmp_path):
    app_dir = copy_example("bookshop", tmp_path)
    openapi_before = dump_openapi(app_dir, APP_REF)
    answers_before = _walk_routes(app_dir)
    async_before = _async_functions(app_dir)

    result = _fix(app_dir)
    assert result.exit_code == 0, result.output

    async_after = _async_functions(app_dir)
    for relative, names in CONVERTED.items():
        assert async_before[relative] - async_after[relative] == names, relative
    # Left async: the health check (blocks nothing), login and the restock report (await),
    # the websocket, the lifespan.
    assert async_after["bookshop/main.py"] == {
        "lifespan",
        "health",
        "order_status_feed",
        "restock_report",
    }
    assert async_after["bookshop/routers/users.py"] == {"login"}
    # One line per finding: under a long temporary path, the code in it is shortened.
    (finding,) = [
        line
        for line in result.output.splitlines()
        if "bookshop/routers/users.py:32:12: async-to-sync: `auth.authe" in line
    ]
    assert "blocks; `login`" in finding and len(finding) <= 160

    assert_example_tests_pass(app_dir)
    answers_after = _walk_routes(app_dir)
    assert answers_after == answers_before
    assert {name for name, status, _ in answers_after if status < 300} >= set().union(
        *CONVERTED.values()
    )
    assert dump_openapi(app_dir, APP_REF) == openapi_before
    second = _fix(app_dir, "--check")
    assert second.exit_code == 0, second.output
    assert "0 to fix" in second.output


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def _serve(app_dir: Path) -> Iterator[str]:
    """The app under uvicorn on a free local port, with a slow report route."""
    port = _free_port()
    env = _app_env(
        BOOKSHOP_DATABASE_URL=f"sqlite:///{app_dir / 'shop.db'}",
        BOOKSHOP_REPORT_DELAY=str(REPORT_DELAY),
    )
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            APP_REF,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        cwd=app_dir,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.get(f"{url}/health", timeout=1).raise_for_status()
                break
            except httpx.HTTPError:
                assert server.poll() is None, (
                    server.stderr.read().decode() if server.stderr else "server died"
                )
                assert time.monotonic() < deadline, "uvicorn did not start in 20 s"
                time.sleep(0.1)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)


def _latency_beside_a_slow_request(url: str) -> float:
    """Seconds a /health request takes while /reports/bestsellers is sleeping."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        slow = pool.submit(httpx.get, f"{url}/reports/bestsellers", timeout=10)
        time.sleep(REPORT_DELAY / 4)  # the report is now inside its sleep
        start = time.perf_counter()
        httpx.get(f"{url}/health", timeout=10).raise_for_status()
        elapsed = time.perf_counter() - start
        assert slow.result(timeout=10).status_code == 200
    return elapsed


def test_a_blocking_route_no_longer_stalls_the_others(tmp_path):
    app_dir = copy_example("bookshop", tmp_path)
    with _serve(app_dir) as url:
        before = _latency_beside_a_slow_request(url)
    assert _fix(app_dir).exit_code == 0
    with _serve(app_dir) as url:
        after = _latency_beside_a_slow_request(url)

    # Before: the event loop is stuck in time.sleep, /health waits for the rest of it.
    assert before > REPORT_DELAY / 2, before
    # After: the report sleeps in a worker thread and /health answers at once.
    assert after < REPORT_DELAY / 4, after
