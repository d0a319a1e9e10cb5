"""depends-to-annotated reads only the files that matter: those naming ``fastapi``, and
those its gather rounds ask for (`_annotated_gather`). Each case here needs a file that
does not name ``fastapi``, and comes out as it would if every file were read.
"""

from __future__ import annotations

import ast
import sys
import textwrap
from pathlib import Path

import pytest

from fastapi_fix.codemods.depends_to_annotated import DependsToAnnotated
from fastapi_fix.engine.codemod import SourceFile, Wanted
from fastapi_fix.engine.runner import Runner
from tests.codemods.test_depends_to_annotated import DATABASE, check_project
from tests.helpers import in_memory_file

ROUTES_WITH_TWO_SESSIONS = """\
    from fastapi import APIRouter, Depends

    from app.deps import get_db

    router = APIRouter()


    @router.get("/a")
    def a(db=Depends(get_db)):
        return None


    @router.get("/b")
    def b(db=Depends(get_db)):
        return None
    """


def test_dependency_defined_behind_a_reexporting_package() -> None:
    # Neither app/deps/__init__.py nor app/deps/db.py names fastapi: the alias still goes
    # next to get_db, with the return type it declares.
    before = {
        "app/__init__.py": "",
        "app/deps/__init__.py": "from app.deps.db import get_db\n",
        "app/deps/db.py": DATABASE,
        "app/routes.py": ROUTES_WITH_TWO_SESSIONS,
    }
    after = {
        "app/deps/db.py": """\
            from collections.abc import Generator
            from typing import Annotated

            from fastapi import Depends
            from sqlalchemy.orm import Session, sessionmaker

            SessionLocal = sessionmaker()


            def get_db() -> Generator[Session, None, None]:
                with SessionLocal() as db:
                    yield db


            SessionDep = Annotated[Session, Depends(get_db)]


            def create_tables() -> None:
                pass
            """,
        "app/routes.py": """\
            from fastapi import APIRouter

            from app.deps.db import SessionDep

            router = APIRouter()


            @router.get("/a")
            def a(db: SessionDep):
                return None


            @router.get("/b")
            def b(db: SessionDep):
                return None
            """,
    }
    assert check_project(before, after) == []


def test_cycle_through_modules_without_fastapi_keeps_the_type_inline() -> None:
    # deps.py would have to import User from models.py, which imports services.py, which
    # imports deps.py: none of the three names fastapi.
    before = {
        "app/__init__.py": "",
        "app/models.py": "from app import services\n\n\nclass User:\n    pass\n",
        "app/services.py": "from app.deps import get_current_user\n\nCURRENT = get_current_user\n",
        "app/deps.py": "def get_current_user():\n    return None\n",
        "app/routes.py": """\
            from fastapi import APIRouter, Depends

            from app.deps import get_current_user
            from app.models import User

            router = APIRouter()


            @router.get("/a")
            def a(user: User = Depends(get_current_user)):
                return user


            @router.get("/b")
            def b(user: User = Depends(get_current_user)):
                return user
            """,
    }
    after = {
        "app/routes.py": """\
            from typing import Annotated

            from fastapi import APIRouter, Depends

            from app.deps import get_current_user
            from app.models import User

            router = APIRouter()


            @router.get("/a")
            def a(user: Annotated[User, Depends(get_current_user)]):
                return user


            @router.get("/b")
            def b(user: Annotated[User, Depends(get_current_user)]):
                return user
            """,
    }
    assert check_project(before, after) == []


CHECK_TOKEN = """\
    from fastapi import Depends


    def get_token():
        return "t"


    def check(token: str = Depends(get_token)):
        return token
    """


def test_calls_through_reexports_in_plain_modules_are_reported() -> None:
    # app/api re-exports `check` as `verify`; the callers name neither `check` nor `deps`.
    before = {
        "app/__init__.py": "",
        "app/deps.py": CHECK_TOKEN,
        "app/api/__init__.py": "from app.deps import check as verify\n",
        "app/api/jobs.py": "from . import verify\n\n\ndef nightly():\n    return verify()\n",
        "scripts/__init__.py": "",
        "scripts/job.py": "from app.api import verify\n\nverify()\n",
    }
    assert check_project(before, {}) == [
        "app/deps.py:8: `token` left as is: `check` is called without `token` at app/api/jobs.py:5; "
        "called without `token` at scripts/job.py:3",
    ]


PAGINATE = """\
    from fastapi import Depends, Query


    def get_token():
        return "t"


    def paginate(page: int = Query(1), token: str = Depends(get_token)):
        return page
    """


def test_a_call_by_name_alone_in_a_plain_module_is_reported() -> None:
    # A rewrite needing a bare `*` is refused where any call of that name, resolved or not,
    # passes arguments by position: here a helper handed the function as an argument.
    before = {
        "app/__init__.py": "",
        "app/deps.py": PAGINATE,
        "tests/__init__.py": "",
        "tests/helpers.py": "def first_pages(paginate):\n    return paginate(1), paginate(2)\n",
    }
    assert check_project(before, {}) == [
        "app/deps.py:8: `page` left as is: `paginate` is called positionally at tests/helpers.py:2; "
        "called positionally at tests/helpers.py:2",
        "app/deps.py:8: `token` left as is: `paginate` is called positionally at tests/helpers.py:2; "
        "called positionally at tests/helpers.py:2",
    ]


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="Python 3.12 reads PEP 701 f-strings")
def test_a_file_this_python_cannot_parse_that_names_the_function_counts_as_a_caller() -> None:
    before = {
        "app/__init__.py": "",
        "app/deps.py": PAGINATE,
        "tools/report.py": 'def report(paginate):\n    return f"{"page"}", paginate(page=1)\n',
    }
    assert check_project(before, {}) == [
        "app/deps.py:8: `page` left as is: `paginate` is called positionally at "
        "tools/report.py (not parsed by this Python)",
        "app/deps.py:8: `token` left as is: `paginate` is called positionally at "
        "tools/report.py (not parsed by this Python)",
    ]


DATABASE_WITH_ALIAS = """\
    from collections.abc import Generator
    from typing import Annotated

    from fastapi import Depends
    from sqlalchemy.orm import Session, sessionmaker

    SessionLocal = sessionmaker()


    def get_db() -> Generator[Session, None, None]:
        with SessionLocal() as db:
            yield db


    SessionDep = Annotated[Session, Depends(get_db)]


    def create_tables() -> None:
        pass
    """


def test_an_import_other_modules_take_from_the_rewritten_one_stays() -> None:
    # app/cli.py imports get_db from app/items.py: the aliases leave it unused there, but
    # it stays.
    before = {
        "app/__init__.py": "",
        "app/database.py": DATABASE,
        "app/items.py": """\
            from fastapi import APIRouter, Depends

            from app.database import get_db

            router = APIRouter()


            @router.get("/a")
            def a(db=Depends(get_db)):
                return []


            @router.get("/b")
            def b(db=Depends(get_db)):
                return []
            """,
        "app/cli.py": "from app.items import get_db\n\nSESSIONS = get_db\n",
    }
    after = {
        "app/database.py": DATABASE_WITH_ALIAS,
        "app/items.py": """\
            from fastapi import APIRouter

            from app.database import SessionDep, get_db

            router = APIRouter()


            @router.get("/a")
            def a(db: SessionDep):
                return []


            @router.get("/b")
            def b(db: SessionDep):
                return []
            """,
    }
    assert check_project(before, after) == []


def test_imports_of_the_projects_own_packages_are_told_from_libraries() -> None:
    # core/ names no fastapi, yet `from core.config import ...` is the project's own: the
    # new import from db.py goes after it, among the project's imports, sorted.
    before = {
        "app/__init__.py": "from db import get_db\n",
        "db.py": DATABASE,
        "core/__init__.py": "",
        "core/config.py": "DEBUG = False\n",
        "app/items.py": """\
            from fastapi import APIRouter, Depends

            from app import get_db
            from core.config import DEBUG

            router = APIRouter()


            @router.get("/a")
            def a(db=Depends(get_db)):
                return DEBUG


            @router.get("/b")
            def b(db=Depends(get_db)):
                return DEBUG
            """,
    }
    after = {
        "db.py": DATABASE_WITH_ALIAS,
        "app/items.py": """\
            from fastapi import APIRouter

            from core.config import DEBUG
            from db import SessionDep

            router = APIRouter()


            @router.get("/a")
            def a(db: SessionDep):
                return DEBUG


            @router.get("/b")
            def b(db: SessionDep):
                return DEBUG
            """,
    }
    assert check_project(before, after) == []


def test_fastapis_own_modules_reach_depends_without_naming_fastapi() -> None:
    before = {
        "fastapi/__init__.py": "",
        "fastapi/params.py": "def Depends(dependency=None):\n    return dependency\n",
        "fastapi/extra.py": """\
            from .params import Depends


            def dep() -> int:
                return 1


            def endpoint(x=Depends(dep)):
                return x
            """,
        "app.py": "import fastapi\n",
    }
    after = {
        "fastapi/extra.py": """\
            from typing import Annotated

            from .params import Depends


            def dep() -> int:
                return 1


            def endpoint(x: Annotated[int, Depends(dep)]):
                return x
            """,
    }
    assert check_project(before, after) == []


def test_scripts_sharing_a_module_name_each_find_their_dependency() -> None:
    # Folders without __init__.py: both scripts are module `main`, each with its own
    # dependency in a module that does not name fastapi.
    def script(module: str, dependency: str) -> str:
        return textwrap.dedent(f"""\
            from fastapi import Depends, FastAPI

            from {module} import {dependency}

            app = FastAPI()


            @app.get("/")
            def index(x=Depends({dependency})):
                return x
            """)

    files = [SourceFile(Path("/project", folder, "main.py"), f"{folder}/main.py", "main") for folder in ("one", "two")]
    files += [in_memory_file("counts.py"), in_memory_file("names.py")]
    sources = {
        files[0]: script("counts", "get_count").encode(),
        files[1]: script("names", "get_name").encode(),
        files[2]: b"def get_count() -> int:\n    return 1\n",
        files[3]: b"def get_name() -> str:\n    return 'a'\n",
    }
    results = Runner([DependsToAnnotated()], jobs=1).run(files, sources=sources)
    rewritten = {r.display_path: (r.new or b"").decode() for r in results if r.new}
    assert "def index(x: Annotated[int, Depends(get_count)]):" in rewritten["one/main.py"]
    assert "def index(x: Annotated[str, Depends(get_name)]):" in rewritten["two/main.py"]


# -- the rounds themselves: what the facts so far ask for ----------------------------------

PROJECT = {
    "app/__init__.py": "",
    "app/deps/__init__.py": "from app.deps.db import get_db\n",
    "app/deps/db.py": """\
        from app.models import Session

        def get_db() -> Session:
            return Session()
        """,
    "app/models.py": "class Session:\n    pass\n",
    "app/routes.py": """\
        from fastapi import APIRouter, Depends, Query

        from app.deps import get_db

        router = APIRouter()


        @router.get("/")
        def read(q: int = Query(1), db=Depends(get_db)):
            return q
        """,
}
MODULES = {in_memory_file(path).module_name for path in PROJECT}


def wanted(*paths: str) -> tuple[list[str], list[str]]:
    """What depends-to-annotated asks for, given the facts of these files: words, and
    which of the project's modules (it asks for others too; they do not exist)."""
    codemod = DependsToAnnotated()
    facts = {}
    for path in paths:
        file = in_memory_file(path)
        facts[file] = codemod.gather(file, ast.parse(textwrap.dedent(PROJECT[path])))
    more = codemod.more_to_gather(facts)
    assert isinstance(more, Wanted)
    return sorted(more.names), sorted(more.modules & MODULES)


def test_rounds_follow_the_dependency_to_its_definition_and_type() -> None:
    # Round 1: the route. `read` needs a bare `*` (q keeps a default, db loses it): any call
    # of `read`, and any import from `routes`, matters. get_db may be defined in `app`,
    # `app.deps` (it is), or `app.deps.get_db`.
    assert wanted("app/routes.py") == (["read", "routes"], ["app", "app.deps"])
    # Round 2: app.deps re-exports it from app.deps.db.
    assert wanted("app/routes.py", "app/__init__.py", "app/deps/__init__.py") == (
        ["read", "routes"], ["app", "app.deps", "app.deps.db"])
    # Round 3: get_db returns app.models.Session, which routes.py would import: is there a
    # cycle? app.models and all it imports are asked for.
    assert wanted("app/routes.py", "app/__init__.py", "app/deps/__init__.py", "app/deps/db.py") == (
        ["read", "routes"], ["app", "app.deps", "app.deps.db", "app.models"])


def test_nothing_more_is_wanted_without_functions_or_dependencies() -> None:
    assert wanted("app/models.py") == ([], [])
