"""blocking-to-threadpool: blocking calls of async routes, dependencies and tasks that also
await run in the threadpool.

Every case goes through the shared helper (LF, CRLF, BOM, compile, second run is a no-op).
``context`` holds the other files of the in-memory project (a sync session, a service layer).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from fastapi_fix.codemods import REGISTRY, by_name
from fastapi_fix.engine.codemod import SourceFile
from fastapi_fix.engine.pipeline import gather_file
from tests.helpers import check_noop, check_transformed, run_project

CODEMOD = "blocking-to-threadpool"

DB = """\
from typing import Annotated

from fastapi import Depends
from sqlalchemy import create_engine
from sqlalchemy.orm import Session, sessionmaker

engine = create_engine("sqlite:///app.db")
SessionLocal = sessionmaker(bind=engine)


def get_db():
    db = SessionLocal()
    try:
        yield db
    finally:
        db.close()


SessionDep = Annotated[Session, Depends(get_db)]
"""
SERVICE = """\
from contextvars import ContextVar

from sqlalchemy.orm import Session

from app.models import User

request_id: ContextVar[str] = ContextVar("request_id", default="-")
LAST_SEEN = {}


def get_user(db: Session, user_id: int):
    return db.query(User).filter(User.id == user_id).first()


def create(db: Session, data: dict, *, commit: bool = True):
    db.add(data)
    if commit:
        db.commit()
    return data


def get_user_tagged(db: Session, user_id: int):
    request_id.set(str(user_id))
    return get_user(db, user_id)


def get_user_logged(db: Session, user_id: int):
    print(request_id.get())
    return get_user(db, user_id)


def remember(db: Session, user_id: int):
    LAST_SEEN[user_id] = get_user(db, user_id)


def each_user(db: Session):
    yield from db.query(User).all()
"""
NOTIFY = """\
async def notify(user) -> None:
    return None
"""
PROJECT = {
    "app/__init__.py": "",
    "app/db.py": DB,
    "app/service.py": SERVICE,
    "app/notify.py": NOTIFY,
    "app/models.py": "class User:\n    id = 0\n",
}


def head(imports: str = "", after: str = "", *, offload: bool = False) -> str:
    """The top of the route module: ``imports`` join its imports, ``after`` follows ``app``."""
    added = "from fastapi.concurrency import run_in_threadpool\n" if offload else ""
    return (
        f"{imports}from fastapi import FastAPI\n\nfrom app import service\n"
        f"from app.db import SessionDep\nfrom app.notify import notify\n{added}\n"
        f"app = FastAPI()\n{after}"
    )


HEAD, HEAD_AFTER = head(), head(offload=True)


def route(body: str, *, head: str = HEAD, signature: str = "user_id: int, db: SessionDep") -> str:
    lines = "".join(f"    {line}\n" if line else "\n" for line in body.splitlines())
    return f'{head}\n\n@app.get("/users/{{user_id}}")\nasync def read_user({signature}):\n{lines}'


def case(before: str, after: str, *, head: str = HEAD, head_after: str = HEAD_AFTER, **kw: str):
    return route(before, head=head, **kw), route(after, head=head_after, **kw)


TRANSFORMED = [
    pytest.param(
        *case(
            "user = service.get_user(db, user_id)\nawait notify(user)\nreturn user",
            "user = await run_in_threadpool(service.get_user, db, user_id)\n"
            "await notify(user)\nreturn user",
        ),
        {},
        id="sync-session-through-a-service",
    ),
    pytest.param(
        *case(
            "await notify(None)\nreturn requests.get(url, timeout=5).status_code",
            "await notify(None)\n"
            "return (await run_in_threadpool(requests.get, url, timeout=5)).status_code",
            head=head("import requests\n", "url = 'https://example.com'\n"),
            head_after=head("import requests\n", "url = 'https://example.com'\n", offload=True),
        ),
        {},
        id="http-keyword-argument-and-attribute-of-the-result",
    ),
    pytest.param(
        *case(
            "time.sleep(0.5)\nawait notify(None)",
            "await run_in_threadpool(time.sleep, 0.5)\nawait notify(None)",
            head="import time\n\n" + HEAD,
            head_after="import time\n\n" + HEAD_AFTER,
        ),
        {},
        id="sleep",
    ),
    pytest.param(
        *case(
            "text = open('motd.txt').read()\nawait notify(text)\nreturn text",
            "text = await run_in_threadpool(lambda: open('motd.txt').read())\n"
            "await notify(text)\nreturn text",
        ),
        {},
        id="file-read-chain-as-one-lambda",
    ),
    pytest.param(
        *case(
            "await notify(None)\nsubprocess.run(['git', 'gc'], check=True, cwd='/srv')",
            "await notify(None)\n"
            "await run_in_threadpool(subprocess.run, ['git', 'gc'], check=True, cwd='/srv')",
            head="import subprocess\n\n" + HEAD,
            head_after="import subprocess\n\n" + HEAD_AFTER,
        ),
        {},
        id="subprocess",
    ),
    pytest.param(
        *case(
            "user = service.create(db, {'id': user_id}, commit=False)\nawait notify(user)",
            "user = await run_in_threadpool(service.create, db, {'id': user_id}, commit=False)\n"
            "await notify(user)",
        ),
        {},
        id="keyword-arguments-pass-through",
    ),
    pytest.param(
        *case(
            "await notify(None)\nreturn db.query(User).filter(User.id == user_id).first()",
            "await notify(None)\n"
            "return await run_in_threadpool(lambda: db.query(User).filter(User.id == user_id).first())",
            head=head("from app.models import User\n"),
            head_after=head("from app.models import User\n", offload=True),
        ),
        {},
        id="query-chain-as-one-lambda",
    ),
    pytest.param(
        *case(
            "if not service.get_user(db, user_id):\n    return None\n"
            "while service.get_user(db, user_id=user_id) is None:\n    await notify(None)\n"
            "return service.get_user(db, user_id)",
            "if not await run_in_threadpool(service.get_user, db, user_id):\n    return None\n"
            "while await run_in_threadpool(service.get_user, db, user_id=user_id) is None:\n"
            "    await notify(None)\n"
            "return await run_in_threadpool(service.get_user, db, user_id)",
        ),
        {},
        id="conditions-and-return",
    ),
    pytest.param(
        *case(
            "async with lock:\n    user = service.get_user(db, user_id)\n    await notify(user)",
            "async with lock:\n"
            "    user = await run_in_threadpool(service.get_user, db, user_id)\n"
            "    await notify(user)",
            head=head("import asyncio\n", "lock = asyncio.Lock()\n"),
            head_after=head("import asyncio\n", "lock = asyncio.Lock()\n", offload=True),
        ),
        {},
        id="inside-async-with",
    ),
    pytest.param(
        *case(
            "user = service.create(\n    db,\n    {'id': user_id},\n    commit=True,\n)\n"
            "await notify(user)",
            "user = await run_in_threadpool(\n    service.create,\n    db,\n    {'id': user_id},\n"
            "    commit=True,\n)\nawait notify(user)",
        ),
        {},
        id="multi-line-call-keeps-its-layout",
    ),
    pytest.param(
        *case(
            "user = service.create(  # the new one\n    db,\n    {'id': user_id},\n)\n"
            "await notify(user)",
            "user = await run_in_threadpool(  # the new one\n    service.create,\n    db,\n"
            "    {'id': user_id},\n)\nawait notify(user)",
        ),
        {},
        id="comment-after-the-opening-parenthesis-stays-once",
    ),
    pytest.param(
        *case(
            "await notify(None)\nreturn jobs.submit(func=print, delay=1)",
            "await notify(None)\nreturn await run_in_threadpool(lambda: jobs.submit(func=print, delay=1))",
            head=head("from app import jobs\n"),
            head_after=head("from app import jobs\n", offload=True),
        ),
        {"app/jobs.py": "import time\n\n\ndef submit(func, delay):\n    time.sleep(delay)\n"},
        id="keyword-named-func-goes-through-a-lambda",
    ),
    pytest.param(
        *case(
            "await notify(None)\nreturn service.create(db, service.get_user(db, user_id))",
            "await notify(None)\nreturn await run_in_threadpool(service.create, db, "
            "await run_in_threadpool(service.get_user, db, user_id))",
        ),
        {},
        id="blocking-call-in-the-arguments-of-another",
    ),
    pytest.param(
        *case(
            "await notify(None)\nreturn service.get_user_logged(db, user_id)",
            "await notify(None)\nreturn await run_in_threadpool(service.get_user_logged, db, user_id)",
        ),
        {},
        id="contextvar-read-is-copied-into-the-thread",
    ),
    pytest.param(
        "from fastapi import Depends, FastAPI\nfrom sqlalchemy.orm import Session\n\n"
        "from app import service\nfrom app.db import get_db\nfrom app.notify import notify\n\n"
        "app = FastAPI()\n\n\n"
        "async def current_user(user_id: int, db: Session = Depends(get_db)):\n"
        "    user = service.get_user(db, user_id)\n    await notify(user)\n    return user\n\n\n"
        '@app.get("/me")\ndef me(user=Depends(current_user)):\n    return user\n',
        "from fastapi import Depends, FastAPI\nfrom sqlalchemy.orm import Session\n\n"
        "from app import service\nfrom app.db import get_db\nfrom app.notify import notify\n"
        "from fastapi.concurrency import run_in_threadpool\n\n"
        "app = FastAPI()\n\n\n"
        "async def current_user(user_id: int, db: Session = Depends(get_db)):\n"
        "    user = await run_in_threadpool(service.get_user, db, user_id)\n"
        "    await notify(user)\n    return user\n\n\n"
        '@app.get("/me")\ndef me(user=Depends(current_user)):\n    return user\n',
        {},
        id="a-dependency",
    ),
    pytest.param(
        "import shutil\n\nfrom fastapi import BackgroundTasks, FastAPI\n\n"
        "from app.notify import notify\n\napp = FastAPI()\n\n\n"
        "async def archive(path: str) -> None:\n"
        "    shutil.make_archive(path, 'zip', path)\n    await notify(path)\n\n\n"
        '@app.post("/archive")\ndef start(tasks: BackgroundTasks):\n'
        '    tasks.add_task(archive, "/srv/data")\n',
        "import shutil\n\nfrom fastapi import BackgroundTasks, FastAPI\n\n"
        "from app.notify import notify\nfrom fastapi.concurrency import run_in_threadpool\n\n"
        "app = FastAPI()\n\n\n"
        "async def archive(path: str) -> None:\n"
        "    await run_in_threadpool(shutil.make_archive, path, 'zip', path)\n"
        "    await notify(path)\n\n\n"
        '@app.post("/archive")\ndef start(tasks: BackgroundTasks):\n'
        '    tasks.add_task(archive, "/srv/data")\n',
        {},
        id="a-background-task",
    ),
    pytest.param(
        "import time\n\nfrom app.notify import notify\n\n\n"
        "async def slow_user(user_id: int):\n    time.sleep(1)\n    await notify(user_id)\n",
        "import time\n\nfrom app.notify import notify\nfrom starlette.concurrency import "
        "run_in_threadpool\n\n\n"
        "async def slow_user(user_id: int):\n    await run_in_threadpool(time.sleep, 1)\n"
        "    await notify(user_id)\n",
        {
            "app/main.py": "from fastapi import Depends, FastAPI\n\nfrom app.deps import slow_user\n\n"
            "app = FastAPI()\n\n\n"
            '@app.get("/")\ndef root(user=Depends(slow_user)):\n    return user\n'
        },
        id="starlette-import-where-the-module-does-not-import-fastapi",
    ),
    pytest.param(
        *case(
            "time.sleep(1)\nawait notify(None)",
            "await run_in_threadpool(time.sleep, 1)\nawait notify(None)",
            head="import time\n\nfrom starlette.concurrency import run_in_threadpool\n" + HEAD,
            head_after="import time\n\nfrom starlette.concurrency import run_in_threadpool\n"
            + HEAD,
        ),
        {},
        id="existing-import-is-reused",
    ),
]


@pytest.mark.parametrize(("before", "after", "context"), TRANSFORMED)
def test_transformed(before: str, after: str, context: dict[str, str], request) -> None:
    path = "app/deps.py" if "starlette-import" in request.node.callspec.id else "app/main.py"
    files = {**PROJECT, **context}
    files.pop(path, None)
    findings = check_transformed(CODEMOD, before, after, path=path, context=files)
    assert not findings


NOOP = [
    pytest.param(
        route("users = [service.get_user(db, i) for i in range(user_id)]\nawait notify(users)"),
        "inside a comprehension",
        id="comprehension-refused",
    ),
    pytest.param(
        route("await notify(None)\nreturn any(service.get_user(db, i) for i in range(user_id))"),
        "inside a comprehension",
        id="generator-expression-refused",
    ),
    pytest.param(
        route(
            "await notify(None)\nreturn conn.execute('select 1').fetchall()",
            head=HEAD + "import sqlite3\nconn = sqlite3.connect('app.db')\n",
        ),
        "sqlite3 connection",
        id="thread-affine-sqlite3-connection-refused",
    ),
    pytest.param(
        route(
            "await notify(None)\nreturn scoped.fetch(user_id)",
            head=HEAD + "from app import scoped\n",
        ),
        "threading.local",
        id="thread-affine-threading-local-in-the-callee-refused",
    ),
    pytest.param(
        route(
            "with guard:\n    time.sleep(1)\nawait notify(None)",
            head="import threading\nimport time\n\n" + HEAD + "guard = threading.Lock()\n",
        ),
        "`with` block",
        id="with-over-a-threading-lock-refused",
    ),
    pytest.param(
        route("await notify(None)\nreturn service.get_user_tagged(db, user_id)"),
        "sets a ContextVar",
        id="contextvar-set-refused",
    ),
    pytest.param(
        route(
            "service.remember(db, user_id)\nawait notify(None)\nreturn LAST_SEEN[user_id]",
            head=HEAD + "from app.service import LAST_SEEN\n",
        ),
        "reads afterwards",
        id="shared-write-read-afterwards-refused",
    ),
    pytest.param(
        route("await notify(None)\nreturn list(service.each_user(db))"),
        "generator function",
        id="generator-callee-refused",
    ),
    pytest.param(
        route(
            "await notify(None)\nreturn db.query(User).filter(User.id == await ident()).first()",
            head=HEAD + "from app.models import User\n\n\nasync def ident():\n    return 1\n",
        ),
        "chain contains `await`",
        id="chain-with-await-refused",
    ),
    pytest.param(
        "from fastapi import FastAPI\n\nfrom app import service\nfrom app.db import get_db\n\n"
        "app = FastAPI()\n\n\nasync def user_db():\n    db = next(get_db())\n"
        "    yield service.get_user(db, 1)\n    await db.aclose()\n",
        None,
        id="not-called-by-fastapi-untouched",
    ),
    pytest.param(
        route("return service.get_user(db, user_id)"),
        None,
        id="await-less-function-is-async-to-syncs",
    ),
    pytest.param(
        route("user = await notify(service)\nreturn user"),
        None,
        id="nothing-blocks",
    ),
    pytest.param(
        route(
            "if os.path.exists('x'):\n    await notify(None)",
            head="import os\n\n" + HEAD,
        ),
        None,
        id="file-system-metadata-call-left-alone",
    ),
    pytest.param(
        route(
            "time.sleep(1)\nawait notify(None)",
            head="import time\n\n" + HEAD + "\n\ndef run_in_threadpool(f):\n    return f\n",
        ),
        "already names something else",
        id="run-in-threadpool-name-taken-refused",
    ),
    pytest.param(
        "import time\n\nfrom fastapi import Depends, FastAPI\n\nfrom app.notify import notify\n\n"
        "app = FastAPI()\n\n\nasync def ticker():\n    time.sleep(1)\n    await notify(None)\n"
        "    yield 1\n\n\n"
        '@app.get("/")\ndef root(tick=Depends(ticker)):\n    return tick\n',
        "async generator",
        id="async-generator-dependency-refused",
    ),
    pytest.param(
        route(
            "await notify(None)\nreturn sync_part(adb)",
            head=HEAD
            + "from sqlalchemy.ext.asyncio import AsyncSession\nadb: AsyncSession = None\n\n\n"
            "def sync_part(session):\n    time.sleep(1)\n    return session\n",
        ).replace("from fastapi import FastAPI\n", "import time\n\nfrom fastapi import FastAPI\n"),
        "AsyncSession",
        id="async-session-handed-refused",
    ),
]

SCOPED = """\
import threading
import time

_local = threading.local()


def fetch(user_id: int):
    time.sleep(0.1)
    return getattr(_local, "cache", {}).get(user_id)
"""


@pytest.mark.parametrize(("source", "refusal"), NOOP)
def test_noop(source: str, refusal: str | None) -> None:
    findings = check_noop(CODEMOD, source, context={**PROJECT, "app/scoped.py": SCOPED})
    messages = [f.message for f in findings]
    if refusal is None:
        assert not messages
    else:
        assert len(messages) == 1 and refusal in messages[0], messages
        assert findings[0].kind == "blocking-left-on-loop"


def test_shared_write_not_read_afterwards_is_offloaded() -> None:
    """The twin of a refusal above: the same write, but the route does not read it back."""
    before = route("service.remember(db, user_id)\nawait notify(None)")
    after = route(
        "await run_in_threadpool(service.remember, db, user_id)\nawait notify(None)",
        head=HEAD_AFTER,
    )
    check_transformed(CODEMOD, before, after, context=PROJECT)


def test_with_item_is_refused_and_its_block_offloaded_call_by_call() -> None:
    before = route("with open('log.txt', 'a') as log:\n    log.write('x')\nawait notify(None)")
    after = route(
        "with open('log.txt', 'a') as log:\n    await run_in_threadpool(log.write, 'x')\n"
        "await notify(None)",
        head=HEAD_AFTER,
    )
    (finding,) = check_transformed(CODEMOD, before, after, context=PROJECT)
    assert "`open(...)` blocks" in finding.message and "opens a `with` block" in finding.message


def test_runs_after_async_to_sync_and_by_default() -> None:
    names = [codemod.name for codemod in REGISTRY]
    assert names.index(CODEMOD) == names.index("async-to-sync") + 1
    assert next(c for c in REGISTRY if c.name == CODEMOD).default_enabled


def test_both_codemods_in_one_run() -> None:
    """An await-less route becomes ``def`` (async-to-sync); one that awaits gets its call offloaded."""
    source = route(
        "user = service.get_user(db, user_id)\nawait notify(user)\n"
        "users = [service.get_user(db, i) for i in range(3)]\nreturn users"
    ) + (
        '\n\n@app.get("/plain/{user_id}")\n'
        "async def plain(user_id: int, db: SessionDep):\n"
        "    return service.get_user(db, user_id)\n"
    )
    files = {**PROJECT, "app/main.py": source}
    from fastapi_fix import codemods
    from fastapi_fix.engine.codemod import Settings
    from fastapi_fix.engine.runner import Runner
    from tests.helpers import in_memory_file

    instances = [cls(Settings()) for cls in codemods.select(["async-to-sync", CODEMOD])]
    sources = {in_memory_file(p): d.encode() for p, d in files.items()}
    results = {
        r.display_path: r for r in Runner(instances, jobs=1).run(list(sources), sources=sources)
    }
    new = (results["app/main.py"].new or b"").decode()
    assert "user = await run_in_threadpool(service.get_user, db, user_id)" in new
    # async-to-sync's "run it in the threadpool" is answered: by the rewrite, or by the
    # reason it could not be done (one finding, not two).
    findings = [(f.codemod, f.kind) for f in results["app/main.py"].findings]
    assert findings == [(CODEMOD, "blocking-left-on-loop")]
    assert "def plain(user_id: int, db: SessionDep):" in new
    assert "async def plain" not in new
    compile(new, "main.py", "exec")


def test_lines_reported_are_lines_of_the_written_file() -> None:
    source = route(
        "users = [service.get_user(db, i) for i in range(3)]\n"
        "user = service.get_user(db, user_id)\nawait notify(user)"
    )
    files = {path: code.encode() for path, code in {**PROJECT, "app/main.py": source}.items()}
    result = run_project(CODEMOD, files)["app/main.py"]
    new_lines = (result.new or b"").decode().splitlines()
    (finding,) = result.findings
    assert new_lines[finding.line - 1][finding.column - 1 :].startswith("service.get_user(db, i)")
    (edit,) = result.edits
    assert "await run_in_threadpool(service.get_user, db, user_id)" in new_lines[edit.line - 1]


SCOPED_REGISTRY = """\
import time

from sqlalchemy.orm import scoped_session, sessionmaker

Db = scoped_session(sessionmaker())


def count_users() -> int:
    time.sleep(0.1)
    return Db.query(1).count()
"""


def test_a_callee_using_a_thread_local_scoped_session_is_refused() -> None:
    source = route(
        "await notify(None)\nreturn registry.count_users()", head=head("from app import registry\n")
    )
    (finding,) = check_noop(
        CODEMOD, source, context={**PROJECT, "app/registry.py": SCOPED_REGISTRY}
    )
    assert "reads `Db`, a thread-local `scoped_session`" in finding.message


def test_a_scoped_session_with_its_own_scopefunc_is_offloaded() -> None:
    """Scoped by a ContextVar (Netflix dispatch): the worker runs in a copy of the context."""
    registry = SCOPED_REGISTRY.replace(
        "scoped_session(sessionmaker())", "scoped_session(sessionmaker(), scopefunc=lambda: 1)"
    )
    before = route(
        "await notify(None)\nreturn registry.count_users()", head=head("from app import registry\n")
    )
    after = route(
        "await notify(None)\nreturn await run_in_threadpool(registry.count_users)",
        head=head("from app import registry\n", offload=True),
    )
    check_transformed(CODEMOD, before, after, context={**PROJECT, "app/registry.py": registry})


def test_a_sqlite_connection_shared_across_threads_is_offloaded() -> None:
    imports = "import sqlite3\n"
    after_app = "conn = sqlite3.connect('app.db', check_same_thread=False)\n"
    before = route(
        "await notify(None)\nreturn conn.execute('select 1').fetchall()",
        head=head(imports, after_app),
    )
    after = route(
        "await notify(None)\n"
        "return await run_in_threadpool(lambda: conn.execute('select 1').fetchall())",
        head=head(imports, after_app, offload=True),
    )
    check_transformed(CODEMOD, before, after, context=PROJECT)


def test_async_to_syncs_blocking_calls_setting_applies() -> None:
    from fastapi_fix import codemods
    from fastapi_fix.engine.codemod import Settings
    from fastapi_fix.engine.runner import Runner
    from tests.helpers import in_memory_file

    source = route(
        "await notify(None)\nreturn client.fetch(user_id)", head=head("from app import client\n")
    )
    files = {**PROJECT, "app/client.py": "def fetch(key):\n    return key\n", "app/main.py": source}
    sources = {in_memory_file(p): d.encode() for p, d in files.items()}

    def run(options: dict) -> bytes | None:
        settings = Settings(options={"async-to-sync": options})
        instances = [cls(settings) for cls in codemods.select([CODEMOD])]
        results = Runner(instances, jobs=1).run(list(sources), sources=sources)
        return {r.display_path: r for r in results}["app/main.py"].new

    assert run({}) is None
    changed = run({"blocking-calls": ["app.client.fetch"]})
    assert changed is not None
    assert b"return await run_in_threadpool(client.fetch, user_id)" in changed


def test_a_suppressed_line_is_left_alone() -> None:
    source = route(
        "a = service.get_user(db, user_id)  # fastapi-fix: ignore[blocking-to-threadpool]\n"
        "b = service.get_user(db, user_id)\nawait notify((a, b))"
    )
    files = {path: code.encode() for path, code in {**PROJECT, "app/main.py": source}.items()}
    new = (run_project(CODEMOD, files)["app/main.py"].new or b"").decode()
    assert "a = service.get_user(db, user_id)  # fastapi-fix: ignore" in new
    assert "b = await run_in_threadpool(service.get_user, db, user_id)" in new


def test_a_lock_used_inside_the_callee_is_no_reason_to_refuse() -> None:
    """Locks are made for threads: the worker takes and releases it (open-webui's job queue)."""
    cache = (
        "import threading\nimport time\n\n_lock = threading.Lock()\n\n\n"
        "def refresh() -> None:\n    with _lock:\n        time.sleep(0.1)\n"
    )
    before = route("await notify(None)\ncache.refresh()", head=head("from app import cache\n"))
    after = route(
        "await notify(None)\nawait run_in_threadpool(cache.refresh)",
        head=head("from app import cache\n", offload=True),
    )
    check_transformed(CODEMOD, before, after, context={**PROJECT, "app/cache.py": cache})


@pytest.mark.parametrize(
    ("engine", "offloaded"),
    [
        pytest.param('create_engine("sqlite://")', False, id="per-thread-in-memory-refused"),
        pytest.param(
            'create_engine("sqlite://", poolclass=StaticPool)', True, id="static-pool-offloaded"
        ),
    ],
)
def test_an_in_memory_test_engine_decides_sqlalchemy_offloads(engine: str, offloaded: bool) -> None:
    """A test engine on ``sqlite://`` gives each thread its own empty database unless it
    shares one connection (``StaticPool``): the app's tests would find no tables."""
    conftest = (
        "from sqlalchemy import create_engine\nfrom sqlalchemy.pool import StaticPool\n\n"
        f"engine = {engine}\n"
    )
    context = {**PROJECT, "tests/__init__.py": "", "tests/conftest.py": conftest}
    before = route("user = service.get_user(db, user_id)\nawait notify(user)")
    if offloaded:
        after = route(
            "user = await run_in_threadpool(service.get_user, db, user_id)\nawait notify(user)",
            head=HEAD_AFTER,
        )
        check_transformed(CODEMOD, before, after, context=context)
    else:
        (finding,) = check_noop(CODEMOD, before, context=context)
        assert "`tests.conftest` line 4 makes an in-memory SQLite engine" in finding.message


def test_one_walk_of_a_file_for_both_codemods() -> None:
    """blocking-to-threadpool reads async-to-sync's facts of a file: gathered for both in one
    run, the file is walked once and both hold the same facts."""
    codemods = [by_name()[name]() for name in ("async-to-sync", CODEMOD)]
    file = SourceFile(Path("/project/app/main.py"), "app/main.py", "app.main")
    source = b"from fastapi import APIRouter\n\nrouter = APIRouter()\n\n\n"
    source += b"@router.get('/')\nasync def read():\n    return open('x').read()\n"
    outcome = gather_file(file, source, codemods)
    assert outcome.gathered == {"async-to-sync", CODEMOD}
    assert outcome.facts["async-to-sync"] is outcome.facts[CODEMOD][0]


def test_one_answer_to_what_more_to_gather_for_both_codemods(monkeypatch) -> None:
    """After a gather round both codemods ask which files they need more of, of the same
    facts (one walk serves both): the project is resolved for it once, not twice."""
    from fastapi_fix.codemods.async_to_sync import rounds

    built: list[object] = []
    recording = rounds._RecordingProject

    class Counting(recording):
        def __init__(self, *args, **kwargs) -> None:
            built.append(self)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(rounds, "_RecordingProject", Counting)
    monkeypatch.setattr(rounds, "_last_asked", None, raising=False)  # nothing asked yet
    codemods = [by_name()[name]() for name in ("async-to-sync", CODEMOD)]
    files = {**PROJECT, "app/main.py": route("user = service.get_user(db, user_id)\nawait x()")}
    facts: dict[str, dict[SourceFile, object]] = {"async-to-sync": {}, CODEMOD: {}}
    for path, code in files.items():
        module = path.removesuffix(".py").replace("/", ".").removesuffix(".__init__")
        file = SourceFile(Path("/project") / path, path, module)
        outcome = gather_file(file, code.encode(), codemods)
        for name in outcome.facts:
            facts[name][file] = outcome.facts[name]
    first = codemods[0].more_to_gather(facts["async-to-sync"])
    second = codemods[1].more_to_gather(facts[CODEMOD])
    assert second == first
    assert len(built) == 1


def test_the_rewrite_makes_no_metadata_pass_over_the_module(monkeypatch) -> None:
    """Finding the planned calls again and adding the import cost a walk of the module and
    one rendering of it: no parent or position pass (several times that on a large file)."""
    from libcst.metadata import MetadataWrapper

    def refused(*args, **kwargs) -> None:
        raise AssertionError("a metadata pass over the whole module")

    monkeypatch.setattr(MetadataWrapper, "__init__", refused)
    files = {
        path: code.encode()
        for path, code in {
            **PROJECT,
            "app/main.py": route("user = service.get_user(db, user_id).name\nawait x(user)"),
        }.items()
    }
    result = run_project(CODEMOD, files)["app/main.py"]
    new = (result.new or b"").decode()
    assert "from fastapi.concurrency import run_in_threadpool" in new, result.reason
    assert "user = (await run_in_threadpool(service.get_user, db, user_id)).name" in new
