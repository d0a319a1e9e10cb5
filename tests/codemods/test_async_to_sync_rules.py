"""async-to-sync's rules about what the project says: ``blocking-calls`` naming project code,
decorators known to accept a ``def`` (``safe-decorators``), and state every request shares
(``app.state``, module-level containers changed in place).

Every case goes through the shared helper (LF, CRLF, BOM, compile, second run is a no-op),
on the small project of ``test_async_to_sync``.
"""

from __future__ import annotations

import textwrap

import pytest

from tests.codemods.test_async_to_sync import CODEMOD, PROJECT
from tests.helpers import check_noop, check_transformed, run_project

# app/store.py blocks in a way no catalogue knows (a client of an unknown library); only the
# user can say so.
STORE = """\
from contextlib import contextmanager

from vendorlib import connect


def open_store():
    return connect("store://")


get_store = contextmanager(open_store)


def fetch_item(item_id: int):
    return connect("store://").fetch(item_id)


class BaseTable:
    def get(self, key):
        with get_store() as store:
            return store.fetch(key)


class UsersTable(BaseTable):
    pass


Users = UsersTable()
"""
STORE_PROJECT = {
    **PROJECT,
    "app/store.py": STORE,
    "app/shop/__init__.py": "from app.store import fetch_item\n",
}

LIMITER = """\
from slowapi import Limiter
from slowapi.util import get_remote_address

limiter = Limiter(key_func=get_remote_address)
"""
REGISTRY = """\
from collections import defaultdict

seen: set[str] = set()
jobs = defaultdict(list)
settings = {"debug": False}


def remember(name: str) -> None:
    seen.add(name)
"""

TRANSFORMED = [
    # -- d. blocking-calls name project functions and methods ----------------------------
    pytest.param(
        """\
        from fastapi import FastAPI

        from app.shop import fetch_item

        app = FastAPI()


        @app.get("/items/{item_id}")
        async def read_item(item_id: int):
            return fetch_item(item_id)
        """,
        """\
        from fastapi import FastAPI

        from app.shop import fetch_item

        app = FastAPI()


        @app.get("/items/{item_id}")
        def read_item(item_id: int):
            return fetch_item(item_id)
        """,
        {"options": {"blocking-calls": ["app.shop.fetch_item"]}},
        id="project-function-by-the-name-it-is-imported-by",
    ),
    pytest.param(
        """\
        from fastapi import FastAPI

        from app.store import Users

        app = FastAPI()


        @app.get("/users/{key}")
        async def read_user(key: str):
            return Users.get(key)
        """,
        """\
        from fastapi import FastAPI

        from app.store import Users

        app = FastAPI()


        @app.get("/users/{key}")
        def read_user(key: str):
            return Users.get(key)
        """,
        {"options": {"blocking-calls": ["app.store.UsersTable.*"]}},
        id="inherited-method-by-the-class-of-its-instance",
    ),
    pytest.param(
        """\
        from fastapi import FastAPI

        from app.store import Users

        app = FastAPI()


        def lookup(key: str):
            return Users.get(key)


        @app.get("/users/{key}")
        async def read_user(key: str):
            return lookup(key)
        """,
        """\
        from fastapi import FastAPI

        from app.store import Users

        app = FastAPI()


        def lookup(key: str):
            return Users.get(key)


        @app.get("/users/{key}")
        def read_user(key: str):
            return lookup(key)
        """,
        {"options": {"blocking-calls": ["*get_store*"]}},
        id="context-manager-value-through-project-helpers",
    ),
    # -- e. decorators that accept a sync function -----------------------------------------
    pytest.param(
        """\
        import time

        from fastapi import FastAPI, Request
        from slowapi import Limiter
        from slowapi.util import get_remote_address

        app = FastAPI()
        limiter = Limiter(key_func=get_remote_address)


        @app.get("/slow")
        @limiter.limit("5/minute")
        async def slow(request: Request):
            time.sleep(1)
        """,
        """\
        import time

        from fastapi import FastAPI, Request
        from slowapi import Limiter
        from slowapi.util import get_remote_address

        app = FastAPI()
        limiter = Limiter(key_func=get_remote_address)


        @app.get("/slow")
        @limiter.limit("5/minute")
        def slow(request: Request):
            time.sleep(1)
        """,
        {},
        id="slowapi-limit-on-a-module-level-limiter",
    ),
    pytest.param(
        """\
        import time

        from fastapi import APIRouter, Request

        from app.limits import limiter

        router = APIRouter()


        @router.post("/shared")
        @limiter.shared_limit("10/minute", scope="uploads")
        async def shared(request: Request):
            time.sleep(1)
        """,
        """\
        import time

        from fastapi import APIRouter, Request

        from app.limits import limiter

        router = APIRouter()


        @router.post("/shared")
        @limiter.shared_limit("10/minute", scope="uploads")
        def shared(request: Request):
            time.sleep(1)
        """,
        {"context": {"app/limits.py": LIMITER}},
        id="slowapi-shared-limit-on-an-imported-limiter",
    ),
    pytest.param(
        """\
        import time

        from fastapi import FastAPI

        from app.audit import audited

        app = FastAPI()


        @app.get("/report")
        @audited
        async def report():
            time.sleep(1)
        """,
        """\
        import time

        from fastapi import FastAPI

        from app.audit import audited

        app = FastAPI()


        @app.get("/report")
        @audited
        def report():
            time.sleep(1)
        """,
        {
            "context": {"app/audit.py": "def audited(function):\n    return function\n"},
            "options": {"safe-decorators": ["app.audit.*"]},
        },
        id="project-decorator-listed-in-safe-decorators",
    ),
    pytest.param(
        """\
        import time

        from fastapi import FastAPI
        from fastapi_cache.decorator import cache

        app = FastAPI()


        @app.get("/fast")
        @cache(expire=60)
        def fast():
            return {}


        @app.get("/cached")
        @cache(expire=60)
        async def cached():
            time.sleep(1)
        """,
        """\
        import time

        from fastapi import FastAPI
        from fastapi_cache.decorator import cache

        app = FastAPI()


        @app.get("/fast")
        @cache(expire=60)
        def fast():
            return {}


        @app.get("/cached")
        @cache(expire=60)
        def cached():
            time.sleep(1)
        """,
        {},
        id="decorator-already-on-a-sync-route-of-the-project",
    ),
    # -- f. what is not shared state ---------------------------------------------------------
    pytest.param(
        """\
        import requests
        from fastapi import FastAPI, Request

        from app.registry import settings

        app = FastAPI()


        @app.get("/fetch")
        async def fetch(request: Request):
            found = []
            found.append(1)
            request.state.seen = set()
            request.state.seen.add("fetch")
            options = dict(settings)
            options.update(debug=True)
            return requests.get("https://example.com").json()
        """,
        """\
        import requests
        from fastapi import FastAPI, Request

        from app.registry import settings

        app = FastAPI()


        @app.get("/fetch")
        def fetch(request: Request):
            found = []
            found.append(1)
            request.state.seen = set()
            request.state.seen.add("fetch")
            options = dict(settings)
            options.update(debug=True)
            return requests.get("https://example.com").json()
        """,
        {"context": {"app/registry.py": REGISTRY}},
        id="local-and-per-request-containers-changed-in-place-are-not-shared",
    ),
]


@pytest.mark.parametrize(("before", "after", "kwargs"), TRANSFORMED)
def test_transformed(before, after, kwargs):
    context = {**STORE_PROJECT, **kwargs.pop("context", {})}
    findings = check_transformed(CODEMOD, before, after, context=context, **kwargs)
    assert findings == []


# (source, expected findings as "line:col: start of message", extra context, options)
NOOP = [
    # -- d ------------------------------------------------------------------------------------
    pytest.param(
        """\
        from fastapi import FastAPI

        from app import store as shop_store
        from app.store import get_store

        app = FastAPI()


        @app.get("/ping")
        async def ping():
            with get_store() as store:  # followed: contextmanager(open_store) runs open_store
                shop_store.refresh()
                return store.ping()
        """,
        [
            "10:1: `ping` stays async: no blocking call found, but these calls could not be "
            "followed: `shop_store.refresh(...)` (app.store.refresh, line 12), `store.ping(...)` "
            "(line 13)"
        ],
        {"options": {"report-non-blocking": True}},
        id="unfollowed-calls-are-named-as-blocking-calls-matches-them",
    ),
    # -- e ------------------------------------------------------------------------------------
    pytest.param(
        """\
        import time

        from fastapi import FastAPI
        from fastapi_cache.decorator import cache

        app = FastAPI()


        @app.get("/fast")
        @cache(expire=60)
        async def fast():
            return {}


        @app.get("/cached")
        @cache(expire=60)
        async def cached():
            time.sleep(1)
        """,
        [
            "18:5: `time.sleep(...)` blocks (time.sleep) in async `cached`; not made `def` because its "
            "decorator `@cache(expire=60)` may need a coroutine function (if it accepts a `def`, "
            "list it in `safe-decorators`)"
        ],
        {},
        id="decorator-only-on-async-routes-proves-nothing",
    ),
    # -- f ------------------------------------------------------------------------------------
    pytest.param(
        """\
        import requests
        from fastapi import FastAPI, Request

        app = FastAPI()


        @app.post("/config")
        async def update_config(request: Request, url: str):
            request.app.state.config.WEBHOOK_URL = url
            request.app.state.hits += 1
            del request.app.state.cache[url]
            return requests.get(url).json()
        """,
        [
            "12:12: `requests.get(...)` blocks (requests.get) in async `update_config`; not made `def` "
            "because it assigns `request.app.state.config.WEBHOOK_URL` (line 9), "
            "`request.app.state.hits` (line 10), `request.app.state.cache[url]` (line 11), state "
            "every request shares"
        ],
        {},
        id="assigns-the-application-state-through-the-request",
    ),
    pytest.param(
        """\
        import requests
        from fastapi import FastAPI, Request

        app = FastAPI()


        @app.post("/seen")
        async def mark_seen(request: Request, url: str):
            request.app.state.seen.add(url)
            return requests.get(url).json()
        """,
        [
            "10:12: `requests.get(...)` blocks (requests.get) in async `mark_seen`; not made `def` "
            "because it changes in place `request.app.state.seen.add(...)` (line 9: the "
            "application's state), state every request shares"
        ],
        {},
        id="changes-a-container-of-the-application-state-in-place",
    ),
    pytest.param(
        """\
        import requests
        from fastapi import FastAPI

        app = FastAPI()
        cache = {}


        @app.get("/weather")
        async def weather(city: str):
            answer = requests.get(f"https://example.com/{city}").json()
            cache.update({city: answer})
            return answer
        """,
        [
            "10:14: `requests.get(...)` blocks (requests.get) in async `weather`; not made `def` "
            "because it changes in place `cache.update(...)` (line 11: module-level dict `cache`), "
            "state every request shares"
        ],
        {},
        id="changes-a-module-level-dict-in-place",
    ),
    pytest.param(
        """\
        import requests
        from fastapi import FastAPI

        from app.registry import jobs, remember

        app = FastAPI()


        @app.post("/jobs/{name}")
        async def submit(name: str):
            remember(name)
            jobs[name].append("queued")
            queue = jobs
            queue.pop(name)
            return requests.post("https://example.com/jobs").json()
        """,
        [
            "15:12: `requests.post(...)` blocks (requests.post) in async `submit`; not made `def` "
            "because it changes in place `queue.pop(...)` (line 14: module-level dict `jobs`), "
            "state every request shares: on the event loop no other request runs while it does "
            "(it awaits nothing); in the threadpool they would interleave; it calls "
            "`remember(...)` (line 11), which assigns state every request shares: on the event "
            "loop no other request runs while it does (it awaits nothing); in the threadpool they "
            "would interleave: app.registry.remember → `seen.add(...)` at app/registry.py:9"
        ],
        {"context": {"app/registry.py": REGISTRY}},
        id="changes-imported-module-level-containers-in-place-directly-and-in-a-helper",
    ),
    pytest.param(
        """\
        import requests
        from fastapi import FastAPI

        from app import registry

        app = FastAPI()


        @app.post("/debug")
        async def debug():
            registry.settings.update(debug=True)
            return requests.get("https://example.com").json()
        """,
        [
            "12:12: `requests.get(...)` blocks (requests.get) in async `debug`; not made `def` "
            "because it changes in place `registry.settings.update(...)` (line 11: module-level "
            "dict `settings`), state every request shares"
        ],
        {"context": {"app/registry.py": REGISTRY}},
        id="changes-a-container-of-an-imported-module-in-place",
    ),
]


@pytest.mark.parametrize(("source", "expected", "kwargs"), NOOP)
def test_noop(source, expected, kwargs):
    context = {**STORE_PROJECT, **kwargs.pop("context", {})}
    findings = check_noop(CODEMOD, source, context=context, **kwargs)
    rendered = [f"{f.line}:{f.column}: {f.message}" for f in findings]
    assert len(rendered) == len(expected), rendered
    for got, want in zip(rendered, expected, strict=True):
        assert got.startswith(want), got
    assert all(f.codemod == CODEMOD and f.path == "app/main.py" for f in findings)


def _edits(source: str, options: dict[str, object]) -> list[str]:
    files = {path: textwrap.dedent(code).encode() for path, code in STORE_PROJECT.items()}
    files["app/main.py"] = textwrap.dedent(source).encode()
    result = run_project(CODEMOD, files, options=options)["app/main.py"]
    return [edit.description for edit in result.edits]


def test_a_project_function_named_in_blocking_calls_is_cited_as_the_leaf():
    source = TRANSFORMED[0].values[0]
    assert _edits(source, {"blocking-calls": ["app.shop.fetch_item"]}) == [
        "async def read_item -> def: awaits nothing and `fetch_item(...)` blocks "
        "(via app.store.fetch_item (blocking-calls setting))"
    ]


def test_the_name_an_unfollowed_call_is_reported_by_works_in_blocking_calls():
    source = NOOP[0].values[0]
    assert _edits(source, {"blocking-calls": ["app.store.refresh"]}) == [
        "async def ping -> def: awaits nothing and `shop_store.refresh(...)` blocks "
        "(app.store.refresh)"
    ]


def test_a_context_manager_named_in_blocking_calls_blocks_through_its_generator():
    source = NOOP[0].values[0]
    assert _edits(source, {"blocking-calls": ["app.store.get_store"]}) == [
        "async def ping -> def: awaits nothing and `get_store(...)` blocks "
        "(via app.store.open_store (blocking-calls setting))"
    ]


def test_a_conversion_resting_on_a_sync_route_says_which():
    before = TRANSFORMED[6].values[0]
    assert _edits(before, {}) == [
        "async def cached -> def: awaits nothing and `time.sleep(...)` blocks (time.sleep) "
        "(`@cache(expire=60)` accepts a `def`: it decorates sync route `fast` at app/main.py:11)"
    ]
