"""The project's resolver: what a name of one module stands for, across the project."""

from __future__ import annotations

import ast
import textwrap

import pytest

from fastapi_fix.project.resolver import Resolver, Value
from fastapi_fix.project.symbols import FunctionFacts, gather_symbols
from tests.helpers import in_memory_file


def resolver(files: dict[str, str]) -> Resolver[FunctionFacts]:
    facts = {}
    for path, source in files.items():
        file = in_memory_file(path)
        facts[file] = gather_symbols(file, ast.parse(textwrap.dedent(source)))
    return Resolver(facts)


def value_of(files: dict[str, str], dotted: str) -> Value | None:
    return resolver(files).resolve(("ref", dotted))


MODELS = {
    "app/__init__.py": "",
    "app/models/__init__.py": "from .user import *\nfrom .item import *\n",
    "app/models/user.py": """\
        __all__ = ["User"]
        __all__ += ["Admin"]

        class User: ...
        class Admin(User): ...
        class Other: ...
        """,
    "app/models/item.py": """\
        class Item: ...
        class _Draft: ...
        """,
}


@pytest.mark.parametrize(
    ("dotted", "expected"),
    [
        pytest.param("app.models.User", ("class", "app.models.user.User"), id="listed"),
        pytest.param("app.models.Admin", ("class", "app.models.user.Admin"), id="added-to-all"),
        pytest.param("app.models.Other", None, id="not-in-all"),
        pytest.param("app.models.Item", ("class", "app.models.item.Item"), id="public-no-all"),
        pytest.param("app.models._Draft", None, id="private-no-all"),
    ],
)
def test_star_imports_take_the_literal_all_else_public_names(
    dotted: str, expected: Value | None
) -> None:
    assert value_of(MODELS, dotted) == expected


def test_a_computed_all_takes_every_public_name() -> None:
    files = {
        "app/__init__.py": "from app.names import *\n",
        "app/names.py": "__all__ = [n for n in dir() if n]\n\ndef helper(): ...\n",
    }
    assert value_of(files, "app.helper") == ("func", "app.names.helper")


def test_a_module_level_instance_reaches_its_class_methods() -> None:
    files = {
        "app/__init__.py": "",
        "app/models/__init__.py": "",
        "app/models/users.py": """\
            class UsersTable:
                def get_user_by_id(self, id): ...

            Users = UsersTable()
            """,
        "app/routers.py": """\
            from app.models.users import Users

            handler = Users.get_user_by_id
            """,
    }
    assert value_of(files, "app.routers.handler") == (
        "func",
        "app.models.users.UsersTable.get_user_by_id",
    )


def test_class_members_follow_the_c3_order() -> None:
    # D(B, E) with B(A): Python looks in D, B, A, E; breadth first would find E.m before A.m.
    files = {
        "app/__init__.py": "",
        "app/classes.py": """\
            class A:
                def m(self): ...

            class B(A): ...

            class E:
                def m(self): ...

            class D(B, E): ...

            found = D().m
            """,
    }
    assert value_of(files, "app.classes.found") == ("func", "app.classes.A.m")


def test_a_library_base_comes_after_the_project_bases_before_it() -> None:
    files = {
        "app/__init__.py": "",
        "app/client.py": """\
            import httpx

            class Mixin:
                def get(self): ...

            class Client(Mixin, httpx.Client): ...

            mine = Client().get
            theirs = Client().post
            """,
    }
    assert value_of(files, "app.client.mine") == ("func", "app.client.Mixin.get")
    assert value_of(files, "app.client.theirs") == ("extbound", "httpx.Client", "post")


def test_cycles_resolve_to_unknown() -> None:
    files = {
        "a.py": "from b import *\nx = x.y\n",
        "b.py": "from a import *\n",
    }
    project = resolver(files)
    assert project.resolve(("ref", "a.missing")) is None
    assert project.resolve(("ref", "a.x")) is None


def test_call_results_and_dependency_providers() -> None:
    files = {
        "app/__init__.py": "",
        "app/db.py": """\
            from sqlalchemy.orm import sessionmaker

            SessionLocal = sessionmaker()

            def get_db():
                db = SessionLocal()
                try:
                    yield db
                finally:
                    db.close()

            class Repo:
                def __init__(self, db): ...

            def make_repo() -> Repo:
                return Repo(SessionLocal())
            """,
    }
    project = resolver(files)
    assert project.provided(project.resolve(("ref", "app.db.get_db"))) == (
        "extinst",
        "sqlalchemy.orm.Session",
    )
    assert project.call_result(project.resolve(("ref", "app.db.make_repo"))) == (
        "inst",
        "app.db.Repo",
    )


ENTERED = """\
    import contextlib
    from contextlib import AbstractContextManager, closing, nullcontext
    from typing import Self

    from sqlalchemy import create_engine
    from sqlalchemy.ext.asyncio import async_sessionmaker
    from sqlalchemy.orm import Session, sessionmaker

    engine = create_engine("sqlite://")
    SessionLocal = sessionmaker(bind=engine)
    AsyncSessionLocal = async_sessionmaker()


    class Plain:
        pass


    class Managed(AbstractContextManager):
        pass


    class Annotated:
        def __enter__(self) -> Self: ...


    class Returning:
        def __enter__(self):
            return self


    def entered_session():
        with SessionLocal() as db:
            return db


    def entered_transaction(db: Session):
        with db.begin() as tx:
            return tx


    def entered_begin():
        with SessionLocal.begin() as db:
            return db


    def entered_connection():
        with engine.connect() as connection:
            return connection


    def entered_file():
        with open("x") as handle:
            return handle


    async def entered_async_session():
        async with AsyncSessionLocal() as session:
            return session


    def entered_nullcontext(db: Session):
        with nullcontext(db) as same:
            return same


    def entered_closing():
        with closing(SessionLocal()) as same:
            return same


    def entered_plain():
        with Plain() as what:
            return what


    def entered_managed():
        with Managed() as what:
            return what


    def entered_annotated():
        with Annotated() as what:
            return what


    def entered_returning():
        with Returning() as what:
            return what


    def entered_unknown_library():
        with contextlib.ExitStack() as stack:
            return stack
    """


@pytest.mark.parametrize(
    ("function", "expected"),
    [
        ("entered_session", ("extinst", "sqlalchemy.orm.Session")),
        ("entered_transaction", ("extinst", "sqlalchemy.orm.SessionTransaction")),
        ("entered_begin", ("extinst", "sqlalchemy.orm.Session")),
        ("entered_connection", ("extinst", "sqlalchemy.engine.Connection")),
        ("entered_file", ("extinst", "io.IOBase")),
        ("entered_async_session", ("extinst", "sqlalchemy.ext.asyncio.AsyncSession")),
        ("entered_nullcontext", ("extinst", "sqlalchemy.orm.Session")),
        ("entered_closing", ("extinst", "sqlalchemy.orm.Session")),
        ("entered_plain", None),
        ("entered_managed", ("inst", "app.db.Managed")),
        ("entered_annotated", ("inst", "app.db.Annotated")),
        ("entered_returning", ("inst", "app.db.Returning")),
        ("entered_unknown_library", None),
    ],
)
def test_what_a_with_statement_binds(function: str, expected: Value | None) -> None:
    project = resolver({"app/__init__.py": "", "app/db.py": ENTERED})
    returned = project.function_facts[f"app.db.{function}"].returned
    assert project.resolve(returned[0]) == expected


def test_a_project_base_after_a_library_base_still_defines_a_member() -> None:
    # C3 puts abc.ABC before BaseService; ABC defines no __init__, BaseService does.
    files = {
        "app/__init__.py": "",
        "app/services.py": """\
            from abc import ABC

            class BaseService:
                def __init__(self): ...

            class Sender(ABC): ...

            class DefaultSender(Sender, BaseService): ...

            found = DefaultSender.__init__
            """,
    }
    assert value_of(files, "app.services.found") == ("func", "app.services.BaseService.__init__")


def test_super_reaches_the_next_class_in_the_order() -> None:
    files = {
        "app/__init__.py": "",
        "app/classes.py": """\
            class A:
                def m(self): ...

            class B(A):
                def m(self):
                    return super().m

            class C(B):
                def m(self):
                    return super(B, self).m
            """,
    }
    project = resolver(files)
    for method, expected in [("B.m", "app.classes.A.m"), ("C.m", "app.classes.A.m")]:
        returned = project.function_facts[f"app.classes.{method}"].returned
        assert project.resolve(returned[0]) == ("func", expected)


def test_an_outline_keeps_names_classes_and_signatures_but_not_bodies() -> None:
    source = textwrap.dedent("""\
        from app.db import Base

        class Users(Base):
            def get(self, id: int) -> "Users":
                return lookup(id)

        Users_ = Users()
        """)
    file = in_memory_file("app/users.py")
    full = gather_symbols(file, ast.parse(source))
    outline = gather_symbols(file, ast.parse(source), outline=True)
    assert outline.symbols == full.symbols
    assert outline.classes == full.classes
    get = {f.qualname: f for f in outline.functions}["Users.get"]
    assert get.returns == {f.qualname: f for f in full.functions}["Users.get"].returns
    assert get.calls == [] and get.returned == []
    assert {f.qualname: f for f in full.functions}["Users.get"].calls
