"""async-to-sync through context managers: what ``with manager as db`` binds.

The most common sync-database shape in the wild: a session generator made a context
manager (``get_db = contextmanager(get_session)``, ``@contextmanager def get_db()``), model
or service methods doing ``with get_db() as db: db.query(...)``, and routes calling them
through a module-level instance (``Users = UsersTable()``; ``Users.get_user_by_id(id)``).
"""

from __future__ import annotations

import textwrap

import pytest

from tests.helpers import check_noop, check_transformed

CODEMOD = "async-to-sync"

ENGINE = """\
from contextlib import contextmanager
from typing import Iterator

from sqlalchemy import create_engine
from sqlalchemy.orm import Session, sessionmaker

engine = create_engine("sqlite://")
SessionLocal = sessionmaker(bind=engine)
"""
GET_SESSION = """\

def get_session():
    db = SessionLocal()
    try:
        yield db
    finally:
        db.close()
"""
# Each way of making ``get_db`` (in ``app/internal/db.py``) a context manager.
GET_DB = {
    "contextmanager-call": GET_SESSION + "\n\nget_db = contextmanager(get_session)\n",
    "decorated": """\

@contextmanager
def get_db():
    db = SessionLocal()
    try:
        yield db
    finally:
        db.close()
""",
    "decorated-annotated": """\

@contextmanager
def get_db() -> Iterator[Session]:
    yield make_session()


def make_session():
    return SessionLocal()
""",
    "yield-from": GET_SESSION
    + """\

@contextmanager
def get_db():
    yield from get_session()
""",
}
USERS = """\
from app.internal.db import get_db


class UsersTable:
    def get_user_by_id(self, id: str):
        with get_db() as db:
            return db.query(dict).filter_by(id=id).first()


Users = UsersTable()
"""
ROUTE = """\
from fastapi import APIRouter

from app.models.users import Users

router = APIRouter()


@router.get("/users/{id}")
async def read_user(id: str):
    return Users.get_user_by_id(id)
"""


def _project(db: str, users: str = USERS) -> dict[str, str]:
    return {
        "app/__init__.py": "",
        "app/internal/__init__.py": "",
        "app/internal/db.py": ENGINE + db,
        "app/models/__init__.py": "",
        "app/models/users.py": users,
    }


@pytest.mark.parametrize("shape", list(GET_DB))
def test_a_route_calling_a_method_that_queries_through_a_context_manager(shape: str) -> None:
    after = ROUTE.replace("async def read_user", "def read_user")
    check_transformed(
        CODEMOD, ROUTE, after, path="app/routers/users.py", context=_project(GET_DB[shape])
    )


# ``with <manager> as db`` inside the method, the database module holding only the engine.
MANAGERS = {
    "sessionmaker-call": "SessionLocal()",
    "session-of-engine": "Session(engine)",
    "sessionmaker-begin": "SessionLocal.begin()",
    "project-enter": "Database()",
    "closing": "closing(SessionLocal())",
}
DATABASE_CLASS = """\

class Database:
    def __enter__(self) -> Session:
        return SessionLocal()

    def __exit__(self, *exc):
        return None
"""


@pytest.mark.parametrize("manager", list(MANAGERS))
def test_a_method_querying_a_session_a_with_statement_makes(manager: str) -> None:
    users = textwrap.dedent(f"""\
        from contextlib import closing

        from app.internal.db import Database, Session, SessionLocal, engine


        class UsersTable:
            def get_user_by_id(self, id: str):
                with {MANAGERS[manager]} as db:
                    return db.query(dict).filter_by(id=id).first()


        Users = UsersTable()
        """)
    after = ROUTE.replace("async def read_user", "def read_user")
    context = _project(DATABASE_CLASS, users)
    check_transformed(CODEMOD, ROUTE, after, path="app/routers/users.py", context=context)


NOOP = {
    # The transaction a session's begin() enters as is not a Session: no Session.query here.
    "session-begin": """\
        from fastapi import APIRouter, Depends
        from sqlalchemy.orm import Session

        router = APIRouter()


        def get_session() -> Session: ...


        @router.post("/items")
        async def create(db: Session = Depends(get_session)):
            with db.begin_nested() as tx:
                return tx.query()
        """,
    # An AsyncSession entered with ``async with``: awaited, nothing blocks.
    "async-session": """\
        from fastapi import APIRouter
        from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

        router = APIRouter()
        async_session = async_sessionmaker(create_async_engine("sqlite+aiosqlite://"))


        @router.get("/items")
        async def items():
            async with async_session() as s:
                s.add(object())
                return (await s.execute("select 1")).all()
        """,
    # A manager nothing says anything about binds something unknown, not itself.
    "unknown-manager": """\
        from fastapi import APIRouter
        from sqlalchemy.orm import Session

        router = APIRouter()


        class Holder:
            def __init__(self, session: Session):
                self.session = session

            def __enter__(self):
                return object()

            def __exit__(self, *exc):
                return None

            def query(self):
                return self.session.query(dict)


        @router.get("/items")
        async def items(session: Session):
            with Holder(session) as holder:
                return holder.query()
        """,
}


@pytest.mark.parametrize("source", NOOP.values(), ids=list(NOOP))
def test_noop(source: str) -> None:
    check_noop(CODEMOD, textwrap.dedent(source))
