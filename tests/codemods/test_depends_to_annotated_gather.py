"""depends-to-annotated reads only the files that matter: those naming ``fastapi``, and
those its gather rounds ask for (`_annotated_gather`). Each case here needs a file that
does not name ``fastapi``, and comes out as it would if every file were read.
"""

from __future__ import annotations

import ast
import sys
import textwrap
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

import pytest

from fastapi_fix.codemods.depends_to_annotated import DependsToAnnotated
from fastapi_fix.codemods.depends_to_annotated.index import ProjectResolver
from fastapi_fix.engine.codemod import Wanted
from fastapi_fix.engine.discover import discover
from fastapi_fix.engine.results import Status
from fastapi_fix.engine.runner import Runner
from tests.codemods.test_depends_to_annotated import DATABASE, check_project
from tests.helpers import PROJECT as ROOT
from tests.helpers import in_memory_file, make_project, named_as_the_cli_names

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
    assert check_project(before, after) == [
        "app/routes.py:10: no alias for `Depends(get_current_user)`, used 2 times: its type "
        "`User` cannot be named in app/deps.py: importing `app.models.User` there would make "
        "an import cycle"
    ]


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


PAGINATE_STARRED = """\
    from typing import Annotated

    from fastapi import Depends, Query


    def get_token():
        return "t"


    def paginate(*, page: Annotated[int, Query()] = 1, token: Annotated[str, Depends(get_token)]):
        return page
    """


def test_a_call_by_name_in_a_module_importing_from_the_functions_module_is_reported() -> None:
    # A rewrite needing a bare `*` is refused where a call the index cannot resolve may be
    # the function and passes arguments by position: here a helper handed the function as
    # an argument, in a module that imports from app.deps (and names no fastapi).
    before = {
        "app/__init__.py": "",
        "app/deps.py": PAGINATE,
        "tests/__init__.py": "",
        "tests/helpers.py": """\
            from app.deps import get_token


            def first_pages(paginate):
                return paginate(1), paginate(2, token=get_token())
            """,
    }
    assert check_project(before, {}) == [
        "app/deps.py:8: `page` left as is: `paginate` is called positionally at tests/helpers.py:5; "
        "called positionally at tests/helpers.py:5",
        "app/deps.py:8: `token` left as is: `paginate` is called positionally at tests/helpers.py:5; "
        "called positionally at tests/helpers.py:5",
    ]


def test_a_call_by_name_where_no_import_leads_to_the_function_is_no_caller() -> None:
    # The same helper, in a module importing nothing from app.deps: `paginate` there is some
    # other function (a bare `list(...)` is no endpoint named `list` either). The module
    # names fastapi, so the index reads it.
    before = {
        "app/__init__.py": "",
        "app/deps.py": PAGINATE,
        "tests/__init__.py": "",
        "tests/helpers.py": """\
            from fastapi import status


            def first_pages(paginate):
                return paginate(1), paginate(2), status.HTTP_200_OK
            """,
    }
    assert check_project(before, {"app/deps.py": PAGINATE_STARRED}) == []


def test_calls_through_star_imports_in_plain_modules_are_reported() -> None:
    # app/everything.py star-imports app.deps; tools/pages.py star-imports that and calls
    # `paginate` by a name the index cannot resolve. Neither names fastapi or `deps`... but
    # the first says `deps`, the second `everything` and `paginate`.
    before = {
        "app/__init__.py": "",
        "app/deps.py": PAGINATE,
        "app/everything.py": "from app.deps import *  # noqa: F403\n",
        "tools/__init__.py": "",
        "tools/pages.py": "from app.everything import *  # noqa: F403\n\nFIRST = paginate(1)  # noqa: F405\n",
    }
    assert check_project(before, {}) == [
        "app/deps.py:8: `page` left as is: `paginate` is called positionally at tools/pages.py:3",
        "app/deps.py:8: `token` left as is: `paginate` is called positionally at tools/pages.py:3",
    ]


def test_a_call_by_name_under_a_reexported_alias_is_reported() -> None:
    # app/shortcuts.py re-exports `paginate` as `pages`; tools/pages.py star-imports it and
    # calls `pages(1)`: a name the index cannot resolve, which app.shortcuts offers.
    before = {
        "app/__init__.py": "",
        "app/deps.py": PAGINATE,
        "app/shortcuts.py": "from app.deps import paginate as pages\n",
        "tools/__init__.py": "",
        "tools/pages.py": "from app.shortcuts import *  # noqa: F403\n\nFIRST = pages(1)  # noqa: F405\n",
    }
    assert check_project(before, {}) == [
        "app/deps.py:8: `page` left as is: `paginate` is called positionally at tools/pages.py:3",
        "app/deps.py:8: `token` left as is: `paginate` is called positionally at tools/pages.py:3",
    ]


NEWER_SYNTAX = 'LABEL = f"{"page"}"  # PEP 701: Python 3.12\n'


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="Python 3.12 reads PEP 701 f-strings")
@pytest.mark.parametrize(
    "path, code",
    [
        pytest.param(
            "tools/export.py",
            "from app.deps import paginate\n\nFIRST = paginate(1)\n",
            id="imports-the-module",
        ),
        pytest.param(
            "tools/export.py",
            "import app.deps\n\nFIRST = app.deps.paginate(1)\n",
            id="imports-the-module-whole",
        ),
        pytest.param(
            "app/export.py",
            "from .deps import paginate\n\nFIRST = paginate(1)\n",
            id="relative-import-inside-its-package",
        ),
    ],
)
def test_a_file_this_python_cannot_parse_that_may_import_the_function_counts_as_a_caller(
    tmp_path: Path, path: str, code: str
) -> None:
    findings = run_on_disk(
        tmp_path, {"app/__init__.py": "", "app/deps.py": PAGINATE, path: NEWER_SYNTAX + code}
    )
    assert findings == [
        f"app/deps.py:8: `page` left as is: `paginate` is called positionally at {path} (not parsed by this Python)",
        f"app/deps.py:8: `token` left as is: `paginate` is called positionally at {path} (not parsed by this Python)",
    ]


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="Python 3.12 reads PEP 701 f-strings")
@pytest.mark.parametrize(
    "path, code",
    [
        # Says `paginate(` (and names fastapi: the index reads it), but imports nothing that
        # leads to app.deps.
        pytest.param(
            "tools/report.py",
            "from fastapi import status\n\n\ndef report(paginate):\n"
            "    return paginate(1), status\n",
            id="no-import",
        ),
        # Holds `deps` and `paginate` as words, but outside package `app` only an import naming
        # `app` could reach app.deps.
        pytest.param(
            "tools/report.py",
            "from tools.deps import paginate\n\nFIRST = paginate(1)\n",
            id="another-module-of-that-name",
        ),
    ],
)
def test_a_file_this_python_cannot_parse_that_cannot_import_the_function_is_no_caller(
    tmp_path: Path, path: str, code: str
) -> None:
    files = {
        "app/__init__.py": "",
        "app/deps.py": PAGINATE,
        "tools/__init__.py": "",
        "tools/deps.py": "def paginate(page):\n    return page\n",
        path: NEWER_SYNTAX + code,
    }
    assert run_on_disk(tmp_path, files) == []
    assert (tmp_path / "app/deps.py").read_text() == textwrap.dedent(PAGINATE_STARRED)


def run_on_disk(root: Path, files: dict[str, str]) -> list[str]:
    """Write and rewrite a project (files this Python cannot parse are read from disk);
    returns the findings as ``path:line: message``."""
    make_project(root, {path: textwrap.dedent(code).encode() for path, code in files.items()})
    found = discover([root], cwd=root)
    findings = []
    for result in Runner([DependsToAnnotated()], jobs=1).run(found.files, write=True, roots=[root]):
        assert result.status is not Status.FAILED, result.reason
        findings.extend(f"{f.path}:{f.line}: {f.message}" for f in result.findings)
    return findings


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
    # Folders without __init__.py: both scripts run as `main` (named apart), each with its
    # own dependency in a module that does not name fastapi.
    def script(module: str, dependency: str) -> str:
        return textwrap.dedent(f"""\
            from fastapi import Depends, FastAPI

            from {module} import {dependency}

            app = FastAPI()


            @app.get("/")
            def index(x=Depends({dependency})):
                return x
            """)

    sources = named_as_the_cli_names(
        {
            ROOT / "one" / "main.py": script("counts", "get_count").encode(),
            ROOT / "two" / "main.py": script("names", "get_name").encode(),
            ROOT / "counts.py": b"def get_count() -> int:\n    return 1\n",
            ROOT / "names.py": b"def get_name() -> str:\n    return 'a'\n",
        }
    )
    results = Runner([DependsToAnnotated()], jobs=1).run(list(sources), sources=sources)
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


class Asked(NamedTuple):
    names: list[str]  # files holding one of these words
    modules: list[str]  # of the project's modules (others are asked for too; they do not exist)
    together: list[tuple[str, ...]]  # files holding all the words of one
    within: list[tuple[str, tuple[str, ...]]]  # files of a package holding all the words of one


def wanted(*paths: str, project: Mapping[str, str] = PROJECT) -> Asked:
    """What depends-to-annotated asks for, given the facts of these files."""
    codemod = DependsToAnnotated()
    facts = {}
    for path in paths:
        file = in_memory_file(path)
        facts[file] = codemod.gather(file, ast.parse(textwrap.dedent(project[path])))
    more = codemod.more_to_gather(facts)
    assert isinstance(more, Wanted)
    modules = {in_memory_file(path).module_name for path in project}
    return Asked(
        sorted(more.names),
        sorted(more.modules & modules),
        sorted(tuple(sorted(g)) for g in more.together),
        sorted((package, tuple(sorted(g))) for package, g in more.within),
    )


# Who imports from app.routes: callers of `read`, and modules importing `get_db` or `Depends`
# from it (those imports stay when the aliases leave them unused). Each import holds the
# name and `app` and `routes` (`from app.routes import read`), or inside package app at
# least `routes` (`from .routes import read`, `from . import routes`).
IMPORTERS_OF_ROUTES = [
    ("Depends", "app", "routes"),
    ("app", "get_db", "routes"),
    ("app", "read", "routes"),
]
IMPORTERS_WITHIN_APP = [
    ("app", ("Depends", "routes")),
    ("app", ("get_db", "routes")),
    ("app", ("read", "routes")),
]
# `read` needs a bare `*` (q keeps a default, db loses it): calls through a module
# star-importing app.routes count too, and that import holds `app` and `routes`, or `routes`.
STAR_IMPORTERS = (
    [*IMPORTERS_OF_ROUTES, ("app", "routes")],
    sorted([*IMPORTERS_WITHIN_APP, ("app", ("routes",))]),
)


def test_rounds_follow_the_dependency_to_its_definition_and_type() -> None:
    # Round 1: the route. get_db may be defined in `app`, `app.deps` (it is), or
    # `app.deps.get_db`. `read` needs a bare `*` (q keeps a default, db loses it): calls
    # through a module star-importing app.routes count too, and that import says `routes`.
    assert wanted("app/routes.py") == Asked([], ["app", "app.deps"], *STAR_IMPORTERS)
    # Round 2: app.deps re-exports it from app.deps.db.
    assert wanted("app/routes.py", "app/__init__.py", "app/deps/__init__.py") == Asked(
        [], ["app", "app.deps", "app.deps.db"], *STAR_IMPORTERS
    )
    # Round 3: get_db returns app.models.Session, which routes.py would import: is there a
    # cycle? app.models and all it imports are asked for.
    assert wanted(
        "app/routes.py", "app/__init__.py", "app/deps/__init__.py", "app/deps/db.py"
    ) == Asked([], ["app", "app.deps", "app.deps.db", "app.models"], *STAR_IMPORTERS)


def test_importers_are_asked_for_by_a_name_and_the_modules_name_together() -> None:
    # `read` needs no `*` here: only calls the index resolves count, and each imports `read`
    # from app.routes. Neither `read` nor `routes` alone is asked for.
    project = {
        **PROJECT,
        "app/routes.py": PROJECT["app/routes.py"].replace("q: int = Query(1), ", ""),
    }
    assert wanted("app/routes.py", project=project) == Asked(
        [], ["app", "app.deps"], IMPORTERS_OF_ROUTES, IMPORTERS_WITHIN_APP
    )


def test_a_reexport_joins_the_chain_under_its_alias() -> None:
    # app.api re-exports paginate as `pages`: files holding `pages` and `api` may call it,
    # and, api being a package, its own modules holding `pages` (`from . import pages`).
    project = {
        "app/__init__.py": "",
        "app/deps.py": PAGINATE,
        "app/api/__init__.py": "from app.deps import paginate as pages\n",
    }
    asked = wanted("app/deps.py", "app/api/__init__.py", project=project)
    assert ("api", "app", "pages") in asked.together and (
        "app",
        "deps",
        "paginate",
    ) in asked.together
    assert ("app", ("api", "pages")) in asked.within and ("app.api", ("pages",)) in asked.within
    # Star imports of either module (paginate needs a `*`: calls by name count) hold its name.
    assert ("api", "app") in asked.together and ("app", ("api",)) in asked.within
    assert ("app", "deps") in asked.together and ("app", ("deps",)) in asked.within
    assert asked.names == []


def test_the_modules_offering_a_function_follow_imports_and_star_imports() -> None:
    """`Resolver.offered`: from-imports under any name, star imports taking the name (not
    one a literal `__all__` leaves out), not an import only under TYPE_CHECKING."""
    sources = {
        "app/deps.py": PAGINATE,
        "app/api.py": "from app.deps import get_token, paginate as pages\n",
        "app/everything.py": "from app.api import *\n",
        "app/other.py": "from app.deps import get_token\n",
        "app/unrelated.py": "from app.other import *\n",
        "app/listed.py": "from app.deps import paginate\n\n__all__ = ['other']\n",
        "app/from_listed.py": "from app.listed import *\n",
        "app/typed.py": (
            "from typing import TYPE_CHECKING\n\nif TYPE_CHECKING:\n"
            "    from app.deps import paginate\n"
        ),
    }
    codemod = DependsToAnnotated()
    facts = {
        in_memory_file(path): codemod.gather(in_memory_file(path), ast.parse(textwrap.dedent(code)))
        for path, code in sources.items()
    }
    assert ProjectResolver(facts).offered("app.deps", "paginate") == {
        "app.deps": {"paginate"},
        "app.api": {"pages"},
        "app.everything": {"pages"},
        "app.listed": {"paginate"},
    }


def test_nothing_more_is_wanted_without_functions_or_dependencies() -> None:
    assert wanted("app/models.py") == Asked([], [], [], [])
