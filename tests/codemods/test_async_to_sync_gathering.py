"""async-to-sync gathers only the files its decisions read: the files that can make an async
function one FastAPI calls, then, round after round, what ``more_to_gather`` asks for.

Every case puts what decides in files that name neither ``fastapi`` nor ``async``, so it
passes only if those files were still gathered.
"""

from __future__ import annotations

import ast
import textwrap
from pathlib import Path

import pytest

from fastapi_fix.codemods.async_to_sync import AsyncToSync
from fastapi_fix.engine.codemod import Settings, SourceFile
from fastapi_fix.engine.discover import discover
from fastapi_fix.engine.runner import Runner
from tests.helpers import check_noop, check_transformed, in_memory_file

CODEMOD = "async-to-sync"

SYNC_ROUTE = """\
    from fastapi import FastAPI

    from app import service

    app = FastAPI()


    @app.post("/sync")
    async def sync():
        return service.sync_catalogue()
    """
SERVICE = """\
    from app import repository


    def sync_catalogue():
        return repository.fetch_catalogue()
    """
REPOSITORY = """\
    import requests


    def fetch_catalogue():
        return requests.get("https://example.com/catalogue").json()
    """
UNRELATED = """\
    import asyncio


    async def tick():
        await asyncio.sleep(1)
    """
LAYERED = {
    "app/__init__.py": "",
    "app/service.py": SERVICE,
    "app/repository.py": REPOSITORY,
    "app/unrelated.py": UNRELATED,
}

EXPORT_ROUTE = """\
    import time

    from fastapi import FastAPI

    app = FastAPI()


    @app.get("/export")
    async def export():
        time.sleep(1)
    """


def _as_def(source: str, name: str) -> str:
    return source.replace(f"async def {name}(", f"def {name}(")


# (path of the file checked, its source, the function made def, the other files)
TRANSFORMED = [
    pytest.param(
        "app/main.py",
        SYNC_ROUTE,
        "sync",
        LAYERED,
        id="route-service-repository-requests-in-plain-modules",
    ),
    pytest.param(
        "app/routes.py",
        """\
        import time

        from app.routing import Router

        router = Router()


        @router.get("/slow")
        async def slow():
            time.sleep(1)
        """,
        "slow",
        {
            "app/__init__.py": "",
            "app/routing.py": "from fastapi import APIRouter\n\n\nclass Router(APIRouter):\n"
            "    pass\n",
        },
        id="route-module-without-fastapi-on-a-project-router-class",
    ),
    pytest.param(
        "app/routes.py",
        """\
        import time

        from app.routing import page


        @page("/slow")
        async def slow():
            time.sleep(1)
        """,
        "slow",
        {
            "app/__init__.py": "",
            "app/routing.py": "from fastapi import APIRouter\n\nrouter = APIRouter()\n"
            "page = router.get\n",
        },
        id="route-decorator-under-another-name-in-a-module-without-fastapi",
    ),
    pytest.param(
        "app/deps.py",
        """\
        import requests


        async def current_rates():
            return requests.get("https://example.com/rates").json()
        """,
        "current_rates",
        {
            "app/__init__.py": "",
            "app/main.py": "from fastapi import Depends, FastAPI\n\nfrom app import deps\n\napp = FastAPI()\n\n\n"
            "@app.get('/rates')\ndef rates(current=Depends(deps.current_rates)):\n    return current\n",
        },
        id="dependency-in-a-module-without-fastapi",
    ),
    pytest.param(
        "app/handlers.py",
        """\
        import time


        async def ping():
            time.sleep(1)
        """,
        "ping",
        {
            "app/__init__.py": "",
            "app/main.py": "from fastapi import FastAPI\n\napp = FastAPI()\n",
            "app/wiring.py": "from app.handlers import ping\nfrom app.main import app\n\napp.get('/ping')(ping)\n",
        },
        id="route-registered-by-hand-in-a-plain-module",
    ),
    pytest.param(
        "app/main.py",
        """\
        from fastapi import Depends, FastAPI

        from app.db import get_db
        from app.sessions import AppSession

        app = FastAPI()


        @app.get("/items")
        async def list_items(db: AppSession = Depends(get_db)):
            return db.query(dict).all()
        """,
        "list_items",
        {
            "app/__init__.py": "",
            "app/sessions.py": "from sqlalchemy.orm import Session\n\n\nclass AppSession(Session):\n    pass\n",
            "app/db.py": "def get_db():\n    yield None\n",
        },
        id="sync-session-subclass-defined-in-a-plain-module",
    ),
    pytest.param(
        "app/main.py",
        """\
        from fastapi import FastAPI

        from app import http

        app = FastAPI()


        @app.get("/feed")
        async def feed():
            return http.fetch(None)
        """,
        "feed",
        {
            "app/__init__.py": "",
            "app/http.py": "def fetch(session):\n    return session.get('https://example.com/feed')\n",
            "app/jobs.py": "import requests\n\nfrom app.http import fetch\n\n\ndef refresh():\n"
            "    return fetch(requests.Session())\n",
        },
        id="parameter-typed-by-a-caller-in-a-plain-module",
    ),
    pytest.param(
        "app/main.py",
        SYNC_ROUTE.replace("from app import service", "from app import sync_catalogue").replace(
            "service.sync_catalogue()", "sync_catalogue()"
        ),
        "sync",
        {
            "app/__init__.py": "from app.helpers import *\n",
            "app/helpers.py": REPOSITORY.replace("fetch_catalogue", "sync_catalogue"),
        },
        id="function-from-a-star-import-of-the-package",
    ),
]


@pytest.mark.parametrize(("path", "before", "converted", "context"), TRANSFORMED)
def test_transformed(path, before, converted, context):
    before = textwrap.dedent(before)
    assert (
        check_transformed(CODEMOD, before, _as_def(before, converted), path=path, context=context)
        == []
    )


# (the other files, what the finding on `export` says about them)
CALLERS = [
    pytest.param(
        {
            "app/reports.py": "from app.main import export\n\n\ndef nightly():\n    return export()\n"
        },
        "it is called at app/reports.py:5, whose caller gets a coroutine",
        id="called-from-a-plain-module",
    ),
    pytest.param(
        {
            "app/aliases.py": "from app import main\n\nexport_all = main.export\n",
            "app/cron.py": "from app.aliases import export_all\n\n\ndef run():\n    export_all()\n",
        },
        "it is called at app/cron.py:5, whose caller gets a coroutine",
        id="called-under-an-alias-from-a-module-not-naming-it",
    ),
    pytest.param(
        {
            "app/jobs.py": "from app.main import export\nfrom app.runner import run_later\n\nrun_later(export)\n",
            "app/runner.py": "from app.executor import execute\n\n\ndef run_later(job):\n    return execute(job)\n",
            "app/executor.py": "from app.finisher import finish\n\n\ndef execute(job):\n    return finish(job)\n",
            "app/finisher.py": "def finish(job):\n    return job()\n",
        },
        "it is called at app/finisher.py:2, whose caller gets a coroutine",
        id="called-by-a-function-it-is-handed-on-to",
    ),
    pytest.param(
        {
            "app/facade.py": "from app import main as handlers\n",
            "app/cron.py": "from app.facade import handlers\n\n\ndef run():\n    handlers.export()\n",
        },
        "it is called at app/cron.py:5, whose caller gets a coroutine",
        id="called-through-a-module-alias-made-in-a-module-not-naming-it",
    ),
    pytest.param(
        {
            "app/facade.py": "from app import main as handlers\n",
            "app/registry.py": "from app.facade import handlers\n\nJOBS = [handlers.export]\n",
        },
        "it is used as a value at app/registry.py:3 (`handlers.export`)",
        id="used-as-a-value-through-a-module-alias-made-in-a-module-not-naming-it",
    ),
]


@pytest.mark.parametrize(("context", "reason"), CALLERS)
def test_callers_in_plain_modules_keep_it_async(context, reason):
    (finding,) = check_noop(CODEMOD, EXPORT_ROUTE, context={"app/__init__.py": "", **context})
    assert finding.message.startswith(
        "`time.sleep(...)` blocks (time.sleep) in async `export`; not made `def`"
    )
    assert reason in finding.message


def test_instances_of_a_subclass_called_in_a_plain_module_keep_call_async():
    source = """\
        import time

        from fastapi import Depends, FastAPI

        app = FastAPI()


        class RateLimiter:
            async def __call__(self):
                time.sleep(1)


        @app.get("/")
        def read(limited=Depends(RateLimiter())):
            return limited
        """
    context = {
        "app/__init__.py": "",
        "app/strict.py": "from app.main import RateLimiter\n\n\nclass StrictLimiter(RateLimiter):\n"
        "    pass\n\n\nstrict = StrictLimiter()\n",
        "app/cron.py": "from app.strict import strict\n\n\ndef run():\n    strict()\n",
    }
    (finding,) = check_noop(CODEMOD, source, context=context)
    assert (
        "in async `__call__`; not made `def` because it is called at app/cron.py:5"
        in finding.message
    )
    source = textwrap.dedent(source)  # alone, it becomes def
    assert (
        check_transformed(
            CODEMOD, source, _as_def(source, "__call__"), context={"app/__init__.py": ""}
        )
        == []
    )


def test_module_imported_by_a_longer_name_than_the_engine_gives_it():
    """``app/plugins/`` has no ``__init__.py``: the engine names ``app/plugins/store.py``
    ``store``, the route imports it as ``app.plugins.store``."""
    route = SYNC_ROUTE.replace(
        "from app import service", "from app.plugins.store import sync_catalogue"
    ).replace("service.sync_catalogue()", "sync_catalogue()")
    files = {
        SourceFile(Path("/project/app/__init__.py"), "app/__init__.py", "app"): "",
        SourceFile(Path("/project/app/main.py"), "app/main.py", "app.main"): route,
        SourceFile(
            Path("/project/app/plugins/store.py"), "app/plugins/store.py", "store"
        ): REPOSITORY.replace("fetch_catalogue", "sync_catalogue"),
    }
    sources = {file: textwrap.dedent(code).encode() for file, code in files.items()}
    results = {
        r.display_path: r
        for r in Runner([AsyncToSync(Settings())], jobs=1).run(list(sources), sources=sources)
    }
    assert b"\ndef sync():" in results["app/main.py"].new


def test_module_imported_by_a_shorter_name_from_inside_its_package():
    """``from crud.user import ...`` in ``app/main.py``, as when run from ``app/``; the first
    round knows ``app/`` is a package."""
    route = SYNC_ROUTE.replace(
        "from app import service", "from crud.user import sync_catalogue"
    ).replace("service.sync_catalogue()", "sync_catalogue()")
    context = {
        "app/__init__.py": "import fastapi\n",
        "app/crud/user.py": REPOSITORY.replace("fetch_catalogue", "sync_catalogue"),
    }
    route = textwrap.dedent(route)
    assert check_transformed(CODEMOD, route, _as_def(route, "sync"), context=context) == []


def test_memoizing_decorator_defined_in_a_plain_module_is_resolved():
    """A helper that blocks once per process (``@lru_cache`` under another name) does not
    make its callers block."""
    source = textwrap.dedent(SYNC_ROUTE)
    context = {
        "app/__init__.py": "",
        "app/utils.py": "from functools import lru_cache as once\n",
        "app/service.py": "import requests\n\nfrom app.utils import once\n\n\n@once\n"
        "def sync_catalogue():\n    return requests.get('https://example.com').json()\n",
    }
    assert check_noop(CODEMOD, source, context=context) == []
    not_memoizing = {**context, "app/utils.py": "def once(f):\n    return f\n"}
    assert check_transformed(CODEMOD, source, _as_def(source, "sync"), context=not_memoizing) == []


def test_decorator_defined_in_a_plain_module_is_resolved():
    source = """\
        import time

        from fastapi import Depends, FastAPI

        from app.utils import context_manager

        app = FastAPI()


        @context_manager
        async def lock():
            time.sleep(1)
            yield


        @app.get("/")
        def read(held=Depends(lock)):
            return held
        """
    context = {
        "app/__init__.py": "",
        "app/utils.py": "import contextlib\n\ncontext_manager = contextlib.asynccontextmanager\n",
    }
    (finding,) = check_noop(CODEMOD, source, context=context)
    assert "not made `def` because it is an @asynccontextmanager" in finding.message


class _Recorder(AsyncToSync):
    """async-to-sync that keeps what it was given: the facts of each round, then all of them."""

    def __init__(self) -> None:
        super().__init__(Settings())
        self.rounds: list[set[str]] = []
        self.indexed: set[str] = set()

    def more_to_gather(self, facts):
        self.rounds.append({file.display_path for file in facts})
        return super().more_to_gather(facts)

    def build_index(self, facts, unparsed, fixed=None):
        self.indexed = {file.display_path for file in facts}
        return super().build_index(facts, unparsed)


def _sources(files: dict[str, str]) -> dict[SourceFile, bytes]:
    return {in_memory_file(path): textwrap.dedent(code).encode() for path, code in files.items()}


def test_gathers_round_after_round_only_what_the_decisions_read():
    sources = _sources({**LAYERED, "app/main.py": SYNC_ROUTE})
    recorder = _Recorder()
    results = list(Runner([recorder], jobs=1).run(list(sources), sources=sources))
    assert recorder.rounds == [
        {"app/main.py"},
        {"app/main.py", "app/__init__.py", "app/service.py"},
        {
            "app/main.py",
            "app/__init__.py",
            "app/service.py",
            "app/repository.py",
        },  # wants nothing new
    ]
    assert recorder.indexed == recorder.rounds[-1]  # app/unrelated.py is never parsed
    assert {r.display_path for r in results if r.new} == {"app/main.py"}


def _facts(files: dict[str, str]) -> dict[SourceFile, object]:
    codemod = AsyncToSync(Settings())
    return {file: codemod.gather(file, ast.parse(data)) for file, data in _sources(files).items()}


def test_more_to_gather_asks_for_the_modules_a_candidate_calls_into():
    wanted = AsyncToSync(Settings()).more_to_gather(_facts({"app/main.py": SYNC_ROUTE}))
    assert {"app", "app.service"} <= wanted.modules
    assert not {"app.repository", "app.unrelated"} & wanted.modules
    assert wanted.names == frozenset()  # nothing known to block yet: no caller matters


def test_more_to_gather_asks_for_every_file_naming_a_route_that_may_become_def():
    facts = _facts({**LAYERED, "app/main.py": SYNC_ROUTE})
    wanted = AsyncToSync(Settings()).more_to_gather(facts)
    assert {"app.service", "app.repository"} <= wanted.modules
    assert "app.unrelated" not in wanted.modules
    assert wanted.names == {"sync"}  # whoever calls or awaits it keeps it async


def test_more_to_gather_asks_for_the_callers_typing_a_parameter():
    (case,) = [
        case for case in TRANSFORMED if case.id == "parameter-typed-by-a-caller-in-a-plain-module"
    ]
    _, route, _, context = case.values
    facts = _facts({**context, "app/main.py": route})
    wanted = AsyncToSync(Settings()).more_to_gather(facts)
    assert {"fetch", "feed"} <= wanted.names


@pytest.mark.parametrize(
    ("source", "gathered"),
    [
        pytest.param(b"from fastapi import Depends\n", True, id="fastapi"),
        pytest.param(b"async def f():\n    pass\n", False, id="async-alone"),
        pytest.param(b"import time\n\ndef f():\n    time.sleep(1)\n", False, id="plain"),
        pytest.param(b"@router.get('/')\nasync def f():\n    pass\n", True, id="route-decorator"),
        pytest.param(
            b"@router.get('/')\ndef f():\n    pass\n", False, id="route-decorator-on-sync-only"
        ),
        pytest.param(
            b"@(\n    router.get('/')\n)\nasync def f():\n    pass\n",
            True,
            id="decorator-over-lines",
        ),
        pytest.param(b"app.get('/')(handler)\n", True, id="route-applied-by-hand"),
        pytest.param(b"tasks.add_task(job)\n", True, id="add-task"),
        pytest.param(b"app.add_api_route('/', handler)\n", True, id="add-api-route"),
        pytest.param(b"Starlette(lifespan=lifespan)\n", True, id="lifespan"),
        pytest.param(b"h = router.get\n", True, id="route-method-alias"),
    ],
)
def test_first_round(source, gathered):
    assert AsyncToSync(Settings()).wants_gather(source) is gathered
    assert AsyncToSync(Settings()).may_apply(source) is (b"async" in source)


def test_rounds_through_discovery(tmp_path: Path):
    """The same rounds on disk: module names come from the folders."""
    for path, code in {**LAYERED, "app/main.py": SYNC_ROUTE}.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(textwrap.dedent(code))
    recorder = _Recorder()
    results = {
        r.display_path: r
        for r in Runner([recorder], jobs=1).run(discover([tmp_path], cwd=tmp_path).files)
    }
    assert b"\ndef sync():" in results["app/main.py"].new
    assert "app/unrelated.py" not in recorder.indexed
