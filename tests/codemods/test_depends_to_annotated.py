"""depends-to-annotated: FastAPI parameter defaults become ``Annotated``; repeated ones, aliases.

Every case goes through the shared helper (LF, CRLF, BOM, compile, second run is a no-op).
``path`` is the file checked; ``context`` holds the other files of the in-memory project.
"""

from __future__ import annotations

import subprocess
import textwrap
from pathlib import Path

import libcst as cst
import pytest
from click.testing import CliRunner
from libcst.metadata import MetadataWrapper, PositionProvider, QualifiedNameProvider

from fastapi_fix.cli import main
from fastapi_fix.codemods.depends_to_annotated import DependsToAnnotated
from fastapi_fix.codemods.depends_to_annotated.rewrite import report_unanalysed
from fastapi_fix.engine.codemod import FileContext, SourceFile
from fastapi_fix.engine.results import Status
from fastapi_fix.engine.runner import Runner
from fastapi_fix.project.fastapi import cst_param_function
from tests.example_apps import EXAMPLE_APPS, assert_example_tests_pass, copy_example, dump_openapi
from tests.helpers import (
    PROJECT,
    check_noop,
    check_transformed,
    named_as_the_cli_names,
    run_project,
)

CODEMOD = "depends-to-annotated"


def messages(findings: list) -> list[str]:
    return [f"{f.line}: {f.message}" for f in findings]


# -- one file, inline Annotated --------------------------------------------------------------

TRANSFORMED = [
    pytest.param(
        """\
        from fastapi import FastAPI, Query

        app = FastAPI()


        @app.get("/items")
        def read_items(q: str | None = Query(None, max_length=50)):
            return q
        """,
        """\
        from typing import Annotated

        from fastapi import FastAPI, Query

        app = FastAPI()


        @app.get("/items")
        def read_items(q: Annotated[str | None, Query(max_length=50)] = None):
            return q
        """,
        id="query-positional-default-moves-out",
    ),
    pytest.param(
        """\
        from fastapi import FastAPI, Query

        app = FastAPI()


        @app.get("/items")
        def read_items(page: int = Query(default=1, ge=1), size: int = Query(ge=1, default=10)):
            return page
        """,
        """\
        from typing import Annotated

        from fastapi import FastAPI, Query

        app = FastAPI()


        @app.get("/items")
        def read_items(page: Annotated[int, Query(ge=1)] = 1, size: Annotated[int, Query(ge=1)] = 10):
            return page
        """,
        id="default-keyword-anywhere",
    ),
    pytest.param(
        """\
        from fastapi import FastAPI, Path, Query

        app = FastAPI()


        @app.get("/items/{item_id}")
        def read_item(item_id: int = Path(..., ge=1), q: str = Query(default=...), r: str = Query(Ellipsis)):
            return item_id
        """,
        """\
        from typing import Annotated

        from fastapi import FastAPI, Path, Query

        app = FastAPI()


        @app.get("/items/{item_id}")
        def read_item(item_id: Annotated[int, Path(ge=1)], q: Annotated[str, Query()], r: Annotated[str, Query()]):
            return item_id
        """,
        id="ellipsis-makes-it-required",
    ),
    pytest.param(
        """\
        from fastapi import Body, FastAPI, Query

        app = FastAPI()


        @app.post("/items")
        def create(tags: list[str] = Query(default_factory=list), item: dict = Body(embed=True)):
            return item
        """,
        """\
        from typing import Annotated

        from fastapi import Body, FastAPI, Query

        app = FastAPI()


        @app.post("/items")
        def create(tags: Annotated[list[str], Query(default_factory=list)], item: Annotated[dict, Body(embed=True)]):
            return item
        """,
        id="default-factory-and-no-default-stay-whole",
    ),
    pytest.param(
        """\
        from fastapi import Cookie, FastAPI, File, Form, Header, UploadFile

        app = FastAPI()


        @app.post("/upload")
        def upload(
            file: UploadFile = File(...),
            name: str = Form(...),
            token: str | None = Header(None, convert_underscores=False),
            session: str | None = Cookie(None),
            tags: list[str] = Form([]),
        ):
            return name
        """,
        """\
        from typing import Annotated

        from fastapi import Cookie, FastAPI, File, Form, Header, UploadFile

        app = FastAPI()


        @app.post("/upload")
        def upload(
            file: Annotated[UploadFile, File()],
            name: Annotated[str, Form()],
            token: Annotated[str | None, Header(convert_underscores=False)] = None,
            session: Annotated[str | None, Cookie()] = None,
            tags: Annotated[list[str], Form()] = [],
        ):
            return name
        """,
        id="file-form-header-cookie-and-a-mutable-default",
    ),
    pytest.param(
        """\
        from fastapi import Depends, FastAPI, Security

        from app.security import get_current_user, get_db

        app = FastAPI()


        @app.get("/me")
        def me(db: object = Depends(get_db, use_cache=False), user: dict = Security(get_current_user, scopes=["me"])):
            return user
        """,
        """\
        from typing import Annotated

        from fastapi import Depends, FastAPI, Security

        from app.security import get_current_user, get_db

        app = FastAPI()


        @app.get("/me")
        def me(db: Annotated[object, Depends(get_db, use_cache=False)], user: Annotated[dict, Security(get_current_user, scopes=["me"])]):
            return user
        """,
        id="depends-and-security-kept-whole",
    ),
    pytest.param(
        """\
        from fastapi import Depends, FastAPI

        app = FastAPI()


        class CommonQueryParams:
            def __init__(self, q: str | None = None):
                self.q = q


        @app.get("/items")
        def read_items(commons: CommonQueryParams = Depends()):
            return commons
        """,
        """\
        from typing import Annotated

        from fastapi import Depends, FastAPI

        app = FastAPI()


        class CommonQueryParams:
            def __init__(self, q: str | None = None):
                self.q = q


        @app.get("/items")
        def read_items(commons: Annotated[CommonQueryParams, Depends()]):
            return commons
        """,
        id="bare-depends-with-a-class-annotation",
    ),
    pytest.param(
        """\
        from fastapi import Depends as D, FastAPI, Query as Q

        app = FastAPI()


        def dep():
            return 1


        @app.get("/")
        def index(x: int = D(dep), q: str = Q("a")):
            return x
        """,
        """\
        from typing import Annotated

        from fastapi import Depends as D, FastAPI, Query as Q

        app = FastAPI()


        def dep():
            return 1


        @app.get("/")
        def index(x: Annotated[int, D(dep)], q: Annotated[str, Q()] = "a"):
            return x
        """,
        id="imported-under-another-name",
    ),
    pytest.param(
        """\
        import fastapi

        app = fastapi.FastAPI()


        @app.get("/")
        def index(q: str = fastapi.Query("a", min_length=1)):
            return q
        """,
        """\
        from typing import Annotated

        import fastapi

        app = fastapi.FastAPI()


        @app.get("/")
        def index(q: Annotated[str, fastapi.Query(min_length=1)] = "a"):
            return q
        """,
        id="import-fastapi",
    ),
    pytest.param(
        """\
        from fastapi import FastAPI, params
        from fastapi.param_functions import Header
        from fastapi.params import Query

        app = FastAPI()


        @app.get("/")
        def index(a: str = Query("a"), b: str = params.Path(...), c: str = Header(None)):
            return a
        """,
        """\
        from typing import Annotated

        from fastapi import FastAPI, params
        from fastapi.param_functions import Header
        from fastapi.params import Query

        app = FastAPI()


        @app.get("/")
        def index(*, a: Annotated[str, Query()] = "a", b: Annotated[str, params.Path()], c: Annotated[str, Header()] = None):
            return a
        """,
        id="fastapi-params-and-param-functions",
    ),
    pytest.param(
        """\
        from fastapi import Depends, FastAPI, Query

        from app.db import get_db

        app = FastAPI()


        @app.get("/items")
        def read_items(
            db: object = Depends(  # the session
                get_db,
            ),
            limit: int = Query(
                10,  # ten is plenty
                le=100,  # never more
            ),
            q: str = Query(
                # no default yet
                max_length=5,
            ),
        ):
            return db
        """,
        """\
        from typing import Annotated

        from fastapi import Depends, FastAPI, Query

        from app.db import get_db

        app = FastAPI()


        @app.get("/items")
        def read_items(
            db: Annotated[object, Depends(  # the session
                get_db,
            )],
            *,
            limit: Annotated[int, Query(  # ten is plenty
                le=100,  # never more
            )] = 10,
            q: Annotated[str, Query(
                # no default yet
                max_length=5,
            )],
        ):
            return db
        """,
        id="comments-inside-calls-survive",
    ),
    pytest.param(
        """\
        from typing import Annotated

        from fastapi import Depends, FastAPI

        from app.db import get_db

        app = FastAPI()


        @app.get("/items")
        def read_items(db: Annotated[object, "meta"] = Depends(get_db)):
            return db
        """,
        """\
        from typing import Annotated

        from fastapi import Depends, FastAPI

        from app.db import get_db

        app = FastAPI()


        @app.get("/items")
        def read_items(db: Annotated[object, "meta", Depends(get_db)]):
            return db
        """,
        id="existing-annotated-is-extended",
    ),
    pytest.param(
        """\
        from typing import Optional, Union

        from fastapi import FastAPI, Query

        app = FastAPI()


        @app.get("/")
        def index(q: Optional[str] = Query(None)):
            return q
        """,
        """\
        from typing import Annotated, Optional, Union

        from fastapi import FastAPI, Query

        app = FastAPI()


        @app.get("/")
        def index(q: Annotated[Optional[str], Query()] = None):
            return q
        """,
        id="existing-typing-import-reused",
    ),
    pytest.param(
        """\
        import typing as t

        from fastapi import FastAPI, Query

        app = FastAPI()


        @app.get("/")
        def index(q: t.Optional[str] = Query(None), r=Query(None)):
            return q
        """,
        """\
        import typing as t

        from fastapi import FastAPI, Query

        app = FastAPI()


        @app.get("/")
        def index(q: t.Annotated[t.Optional[str], Query()] = None, r: t.Annotated[t.Any, Query()] = None):
            return q
        """,
        id="import-typing-as-t",
    ),
    pytest.param(
        """\
        from typing_extensions import Annotated

        from fastapi import FastAPI, Query

        app = FastAPI()


        @app.get("/")
        def index(q: str = Query("a")):
            return q
        """,
        """\
        from typing_extensions import Annotated

        from fastapi import FastAPI, Query

        app = FastAPI()


        @app.get("/")
        def index(q: Annotated[str, Query()] = "a"):
            return q
        """,
        id="existing-typing-extensions-annotated-reused",
    ),
    pytest.param(
        """\
        \"\"\"The app.\"\"\"

        from __future__ import annotations

        import os

        from fastapi import FastAPI, Query

        app = FastAPI()


        @app.get("/")
        def index(q: str = Query("a")):
            return os.sep + q
        """,
        """\
        \"\"\"The app.\"\"\"

        from __future__ import annotations

        import os
        from typing import Annotated

        from fastapi import FastAPI, Query

        app = FastAPI()


        @app.get("/")
        def index(q: Annotated[str, Query()] = "a"):
            return os.sep + q
        """,
        id="import-placed-in-the-stdlib-group",
    ),
    pytest.param(
        """\
        from fastapi import FastAPI, Query

        app = FastAPI()


        @app.get("/")
        def index(q=Query(None), r=Query(...)):
            return q
        """,
        """\
        from typing import Annotated, Any

        from fastapi import FastAPI, Query

        app = FastAPI()


        @app.get("/")
        def index(*, q: Annotated[Any, Query()] = None, r: Annotated[Any, Query()]):
            return q
        """,
        id="unannotated-query-gets-any-and-a-star",
    ),
    pytest.param(
        """\
        from fastapi import Depends, FastAPI, Query

        from app.db import get_db

        app = FastAPI()


        @app.get("/users")
        def read_users(skip: int = 0, limit: int = Query(10), db: object = Depends(get_db)):
            return db
        """,
        """\
        from typing import Annotated

        from fastapi import Depends, FastAPI, Query

        from app.db import get_db

        app = FastAPI()


        @app.get("/users")
        def read_users(*, skip: int = 0, limit: Annotated[int, Query()] = 10, db: Annotated[object, Depends(get_db)]):
            return db
        """,
        id="bare-star-where-a-required-follows-a-default",
    ),
    pytest.param(
        """\
        from fastapi import Depends, FastAPI

        from app.db import get_db

        app = FastAPI()


        @app.get("/users")
        def read_users(
            skip: int = 0,
            limit: int = 10,
            db: object = Depends(get_db),
        ):
            return db
        """,
        """\
        from typing import Annotated

        from fastapi import Depends, FastAPI

        from app.db import get_db

        app = FastAPI()


        @app.get("/users")
        def read_users(
            *,
            skip: int = 0,
            limit: int = 10,
            db: Annotated[object, Depends(get_db)],
        ):
            return db
        """,
        id="bare-star-one-per-line",
    ),
    pytest.param(
        """\
        from fastapi import Depends, FastAPI

        from app.db import get_db

        app = FastAPI()


        @app.get("/users")
        def read_users(*, limit: int = 10, db: object = Depends(get_db)):
            return db
        """,
        """\
        from typing import Annotated

        from fastapi import Depends, FastAPI

        from app.db import get_db

        app = FastAPI()


        @app.get("/users")
        def read_users(*, limit: int = 10, db: Annotated[object, Depends(get_db)]):
            return db
        """,
        id="keyword-only-needs-no-new-star",
    ),
    pytest.param(
        """\
        from fastapi import Depends, FastAPI, Query

        app = FastAPI()


        def pagination(skip: int = Query(0), limit: int = Query(10, le=100)):
            return skip, limit


        def get_token(authorization: str = Query(...)):
            return authorization


        def get_user(token: str = Depends(get_token)):
            return token
        """,
        """\
        from typing import Annotated

        from fastapi import Depends, FastAPI, Query

        app = FastAPI()


        def pagination(skip: Annotated[int, Query()] = 0, limit: Annotated[int, Query(le=100)] = 10):
            return skip, limit


        def get_token(authorization: Annotated[str, Query()]):
            return authorization


        def get_user(token: Annotated[str, Depends(get_token)]):
            return token
        """,
        id="dependency-functions",
    ),
    pytest.param(
        """\
        from fastapi import APIRouter, Depends, FastAPI, Query, WebSocket

        router = APIRouter()


        def get_token():
            return "t"


        @router.websocket("/ws")
        async def ws(websocket: WebSocket, token: str = Depends(get_token)):
            await websocket.accept()


        @router.api_route("/any", methods=["GET", "POST"])
        def anything(q: str = Query("x")):
            return q


        def plain(q: int = Query(1)):
            return q


        def called(q: int = Query(2)):
            return q


        router.add_api_route("/plain", plain)
        router.post("/called")(called)
        """,
        """\
        from typing import Annotated

        from fastapi import APIRouter, Depends, FastAPI, Query, WebSocket

        router = APIRouter()


        def get_token():
            return "t"


        @router.websocket("/ws")
        async def ws(websocket: WebSocket, token: Annotated[str, Depends(get_token)]):
            await websocket.accept()


        @router.api_route("/any", methods=["GET", "POST"])
        def anything(q: Annotated[str, Query()] = "x"):
            return q


        def plain(q: Annotated[int, Query()] = 1):
            return q


        def called(q: Annotated[int, Query()] = 2):
            return q


        router.add_api_route("/plain", plain)
        router.post("/called")(called)
        """,
        id="websocket-api-route-add-api-route-call-style",
    ),
    pytest.param(
        """\
        from fastapi import APIRouter, Depends, Query


        class ItemRouter(APIRouter):
            pass


        router = ItemRouter()


        class Pagination:
            def __init__(self, skip: int = Query(0), limit: int = Query(10)):
                self.skip, self.limit = skip, limit


        class ItemViews:
            def read(self, page: Pagination = Depends(Pagination)):
                return page


        def create_app():
            sub = APIRouter()

            @sub.get("/inner")
            def inner(q: str = Query("x")):
                return q

            return sub
        """,
        """\
        from typing import Annotated

        from fastapi import APIRouter, Depends, Query


        class ItemRouter(APIRouter):
            pass


        router = ItemRouter()


        class Pagination:
            def __init__(self, skip: Annotated[int, Query()] = 0, limit: Annotated[int, Query()] = 10):
                self.skip, self.limit = skip, limit


        class ItemViews:
            def read(self, page: Annotated[Pagination, Depends(Pagination)]):
                return page


        def create_app():
            sub = APIRouter()

            @sub.get("/inner")
            def inner(q: Annotated[str, Query()] = "x"):
                return q

            return sub
        """,
        id="class-init-methods-and-factory-routes",
    ),
    pytest.param(
        """\
        from fastapi import Depends, FastAPI

        app = FastAPI()


        class Settings:
            debug = False


        class Checker:
            def __call__(self) -> Settings:
                return Settings()


        checker = Checker()


        def get_settings() -> Settings:
            return Settings()


        @app.get("/")
        def index(settings=Depends(get_settings), made=Depends(Settings), checked=Depends(checker)):
            return settings
        """,
        """\
        from typing import Annotated

        from fastapi import Depends, FastAPI

        app = FastAPI()


        class Settings:
            debug = False


        class Checker:
            def __call__(self) -> Settings:
                return Settings()


        checker = Checker()


        def get_settings() -> Settings:
            return Settings()


        @app.get("/")
        def index(settings: Annotated[Settings, Depends(get_settings)], made: Annotated[Settings, Depends(Settings)], checked: Annotated[Settings, Depends(checker)]):
            return settings
        """,
        id="unannotated-takes-the-dependency-return-type",
    ),
    pytest.param(
        """\
        from fastapi import Depends, FastAPI

        app = FastAPI()


        def get_value(flag: bool = False):
            return 1


        @app.get("/")
        def index(value=Depends(get_value), other=Depends(lambda: 2)):
            return value
        """,
        """\
        from typing import Annotated, Any

        from fastapi import Depends, FastAPI

        app = FastAPI()


        def get_value(flag: bool = False):
            return 1


        @app.get("/")
        def index(value: Annotated[Any, Depends(get_value)], other: Annotated[Any, Depends(lambda: 2)]):
            return value
        """,
        id="unannotated-unknown-type-gets-any",
    ),
    pytest.param(
        """\
        from fastapi import Depends, FastAPI, Query

        app = FastAPI()


        def dep():
            return 1


        @app.get("/")
        def index(q: str = Query("a"), *rest, x: int = Depends(dep), y: int = 3):
            return q
        """,
        """\
        from typing import Annotated

        from fastapi import Depends, FastAPI, Query

        app = FastAPI()


        def dep():
            return 1


        @app.get("/")
        def index(q: Annotated[str, Query()] = "a", *rest, x: Annotated[int, Depends(dep)], y: int = 3):
            return q
        """,
        id="after-star-args-already-keyword-only",
    ),
    pytest.param(
        """\
        from fastapi import FastAPI, Query

        app = FastAPI()


        @app.get("/")
        def index(q: str = Query("a")):
            return q
        """,
        """\
        from fastapi import FastAPI, Query
        from typing_extensions import Annotated

        app = FastAPI()


        @app.get("/")
        def index(q: Annotated[str, Query()] = "a"):
            return q
        """,
        id="python-3.8-uses-typing-extensions",
    ),
]

TRANSFORMED += [
    pytest.param(
        """\
        from typing import (
            Optional,
            Union,  # why not
        )

        from fastapi import FastAPI, Query

        app = FastAPI()


        @app.get("/")
        def index(q: Optional[str] = Query(None), r=Query(None)):
            return q
        """,
        """\
        from typing import (
            Annotated,
            Any,
            Optional,
            Union,  # why not
        )

        from fastapi import FastAPI, Query

        app = FastAPI()


        @app.get("/")
        def index(q: Annotated[Optional[str], Query()] = None, r: Annotated[Any, Query()] = None):
            return q
        """,
        id="names-join-a-multi-line-typing-import",
    ),
    pytest.param(
        """\
        from typing import Annotated

        from fastapi import Depends, FastAPI

        from app.db import get_db

        app = FastAPI()


        @app.get("/items")
        def read_items(
            db: Annotated[
                object,
                "meta",  # kept
            ] = Depends(get_db),
        ):
            return db
        """,
        """\
        from typing import Annotated

        from fastapi import Depends, FastAPI

        from app.db import get_db

        app = FastAPI()


        @app.get("/items")
        def read_items(
            db: Annotated[
                object,
                "meta",  # kept
                Depends(get_db),
            ],
        ):
            return db
        """,
        id="multi-line-annotated-is-extended-in-its-layout",
    ),
    pytest.param(
        """\
        from fastapi import Depends, FastAPI, Query
        from sqlmodel import Session


        def get_session():
            yield Session()


        app = FastAPI()


        @app.get("/heroes/")
        def read_heroes(session: Session = Depends(get_session), limit: int = Query(default=100, le=100)):
            return []


        @app.get("/heroes/{hero_id}")
        def read_hero(hero_id: int, session: Session = Depends(get_session)):
            return None
        """,
        """\
        from typing import Annotated

        from fastapi import Depends, FastAPI, Query
        from sqlmodel import Session


        def get_session():
            yield Session()


        SessionDep = Annotated[Session, Depends(get_session)]


        app = FastAPI()


        @app.get("/heroes/")
        def read_heroes(session: SessionDep, limit: Annotated[int, Query(le=100)] = 100):
            return []


        @app.get("/heroes/{hero_id}")
        def read_hero(hero_id: int, session: SessionDep):
            return None
        """,
        id="alias-in-the-same-module-crlf-and-bom-too",
    ),
]

TARGET_VERSIONS = {"python-3.8-uses-typing-extensions": (3, 8)}


@pytest.mark.parametrize(("before", "after"), TRANSFORMED)
def test_transformed(request: pytest.FixtureRequest, before: str, after: str) -> None:
    target = TARGET_VERSIONS.get(request.node.callspec.id, (3, 11))
    check_transformed(CODEMOD, before, after, target_version=target)


NOOP = [
    pytest.param(
        """\
        from fastapi import FastAPI
        from mylib.di import Depends, Query

        app = FastAPI()


        @app.get("/")
        def index(db=Depends(object), q: str = Query(None)):
            return db
        """,
        [],
        id="another-librarys-depends",
    ),
    pytest.param(
        """\
        from typing import Annotated

        from fastapi import Depends, FastAPI, Query

        app = FastAPI()


        @app.get("/")
        def index(q: Annotated[str, Query()] = "a", db: Annotated[object, Depends(object)] = None):
            return q
        """,
        [],
        id="already-annotated",
    ),
    pytest.param(
        """\
        from fastapi import FastAPI

        app = FastAPI()


        @app.get("/")
        def index(q: str = "a", limit: int = 10):
            return q
        """,
        [],
        id="no-fastapi-defaults",
    ),
    pytest.param(
        """\
        from fastapi import FastAPI, Path

        app = FastAPI()


        @app.get("/items/{item_id}")
        def read(item_id: int = Path(5)):
            return item_id
        """,
        ["7: `item_id` left as is: a path parameter cannot have a default value"],
        id="path-with-a-real-default",
    ),
    pytest.param(
        """\
        from fastapi import Depends, FastAPI

        app = FastAPI()


        @app.get("/")
        def index(commons=Depends()):
            return commons
        """,
        [
            "7: `commons` left as is: `Depends()` without an annotation takes its dependency from the annotation"
        ],
        id="bare-depends-without-annotation",
    ),
    pytest.param(
        """\
        from fastapi import Depends, FastAPI

        app = FastAPI()


        def dep():
            return 1


        @app.get("/")
        def index(x: int = Depends(dep), /):
            return x
        """,
        ["11: `x` left as is: it is positional-only, and FastAPI passes every argument by keyword"],
        id="positional-only",
    ),
    pytest.param(
        """\
        from fastapi import FastAPI, Query

        app = FastAPI()
        OPTIONS = {"max_length": 3}


        @app.get("/")
        def index(q: str = Query(None, **OPTIONS)):
            return q
        """,
        ["8: `q` left as is: its arguments are unpacked with * or **, so its default is unknown"],
        id="unpacked-arguments",
    ),
    pytest.param(
        """\
        from typing import Annotated

        from fastapi import FastAPI, Query

        app = FastAPI()


        @app.get("/")
        def index(q: Annotated[str, Query(max_length=3)] = Query(None)):
            return q
        """,
        ["9: `q` left as is: its Annotated[...] already holds a FastAPI parameter"],
        id="annotated-already-holds-a-fastapi-parameter",
    ),
    pytest.param(
        """\
        from fastapi import Depends, FastAPI

        app = FastAPI()


        def dep():
            return 1


        def helper(a: int = 1, b: int = Depends(dep), *args):
            return a
        """,
        ["10: `b` left as is: it would need a bare `*`, but the function has *args"],
        id="star-args-blocks-a-new-star",
    ),
    pytest.param(
        """\
        from fastapi import Depends, FastAPI

        app = FastAPI()


        def dep():
            return 1


        def helper(a: int = 1, b: int = Depends(dep)):
            return a + b


        VALUE = helper(2, 3)
        """,
        ["10: `b` left as is: `helper` is called positionally at app/main.py:14"],
        id="called-positionally",
    ),
    pytest.param(
        """\
        from fastapi import Depends, FastAPI

        app = FastAPI()


        def dep():
            return 1


        def helper(b: int = Depends(dep)):
            return b


        VALUE = helper()
        """,
        ["10: `b` left as is: `helper` is called without `b` at app/main.py:14"],
        id="called-without-an-argument-that-becomes-required",
    ),
    pytest.param(
        """\
        from fastapi import Depends, FastAPI

        app = FastAPI()


        class Annotated:
            pass


        def dep():
            return 1


        @app.get("/")
        def index(x: int = Depends(dep)):
            return x
        """,
        ["15: `x` left as is: the name `Annotated` is taken in this module"],
        id="annotated-name-taken",
    ),
    pytest.param(
        """\
        from fastapi import FastAPI

        app = FastAPI()


        @app.get("/")
        def index(q: str = "Query(None)"):
            return q
        """,
        [],
        id="a-string-that-looks-like-a-call",
    ),
    pytest.param(
        """\
        from fastapi import FastAPI

        app = FastAPI()


        def Query(default):
            return default


        @app.get("/")
        def index(q: str = Query(None)):
            return q
        """,
        [],
        id="a-local-function-named-query",
    ),
    pytest.param(
        """\
        from fastapi import FastAPI

        app = FastAPI()
        """,
        [],
        id="nothing-at-all",
    ),
]


@pytest.mark.parametrize(("source", "expected"), NOOP)
def test_noop(source: str, expected: list[str]) -> None:
    assert messages(check_noop(CODEMOD, source)) == expected


# -- across modules: aliases, calls, types -------------------------------------------------


def check_project(before: dict[str, str], after: dict[str, str], **kwargs: object) -> list[str]:
    """Every file of an in-memory project becomes exactly ``after`` (missing: unchanged);
    what compiled still compiles, and a second run over the result changes nothing.
    Returns the findings as ``path:line: message``."""
    sources = {path: textwrap.dedent(code).encode() for path, code in before.items()}
    results = run_project(CODEMOD, sources, **kwargs)  # type: ignore[arg-type]
    assert not [r.reason for r in results.values() if r.status is Status.FAILED]
    output = {path: r.new if r.new is not None else sources[path] for path, r in results.items()}
    expected = {path: textwrap.dedent(after.get(path, code)) for path, code in before.items()}
    assert {path: data.decode() for path, data in output.items()} == expected
    for path, data in output.items():
        if _compiles(sources[path], path):
            compile(data, path, "exec", dont_inherit=True)
    again = run_project(CODEMOD, output, **kwargs)  # type: ignore[arg-type]
    assert [path for path, r in again.items() if r.status is not Status.UNCHANGED] == []
    return [f"{f.path}:{f.line}: {f.message}" for r in results.values() for f in r.findings]


def _compiles(data: bytes, path: str) -> bool:
    try:
        compile(data, path, "exec", dont_inherit=True)
    except SyntaxError:
        return False
    return True


DATABASE = """\
    from collections.abc import Generator

    from sqlalchemy.orm import Session, sessionmaker

    SessionLocal = sessionmaker()


    def get_db() -> Generator[Session, None, None]:
        with SessionLocal() as db:
            yield db


    def create_tables() -> None:
        pass
    """


def test_alias_created_next_to_the_dependency_and_imported_where_used() -> None:
    before = {
        "app/__init__.py": "",
        "app/database.py": DATABASE,
        "app/items.py": """\
            from fastapi import APIRouter, Depends, Query
            from sqlalchemy.orm import Session

            from app.database import get_db

            router = APIRouter()


            @router.get("/items")
            def read_items(db: Session = Depends(get_db), q: str | None = Query(None)):
                return []
            """,
        "app/users.py": """\
            from fastapi import APIRouter, Depends

            from .database import create_tables, get_db

            router = APIRouter()


            @router.get("/users")
            def read_users(db=Depends(get_db)):
                create_tables()
                return []
            """,
    }
    after = {
        "app/database.py": """\
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
        "app/items.py": """\
            from typing import Annotated

            from fastapi import APIRouter, Query

            from app.database import SessionDep

            router = APIRouter()


            @router.get("/items")
            def read_items(db: SessionDep, q: Annotated[str | None, Query()] = None):
                return []
            """,
        "app/users.py": """\
            from fastapi import APIRouter

            from .database import SessionDep, create_tables

            router = APIRouter()


            @router.get("/users")
            def read_users(db: SessionDep):
                create_tables()
                return []
            """,
    }
    assert check_project(before, after) == []


def test_alias_in_the_same_module_after_the_dependency() -> None:
    before = {
        "main.py": """\
            from fastapi import Depends, FastAPI, Query
            from sqlmodel import Session, create_engine

            engine = create_engine("sqlite://")


            def get_session():
                with Session(engine) as session:
                    yield session


            app = FastAPI()


            @app.get("/heroes/")
            def read_heroes(session: Session = Depends(get_session), offset: int = 0, limit: int = Query(default=100, le=100)):
                return []


            @app.get("/heroes/{hero_id}")
            def read_hero(hero_id: int, session: Session = Depends(get_session)):
                return None
            """,
    }
    after = {
        "main.py": """\
            from typing import Annotated

            from fastapi import Depends, FastAPI, Query
            from sqlmodel import Session, create_engine

            engine = create_engine("sqlite://")


            def get_session():
                with Session(engine) as session:
                    yield session


            SessionDep = Annotated[Session, Depends(get_session)]


            app = FastAPI()


            @app.get("/heroes/")
            def read_heroes(session: SessionDep, offset: int = 0, limit: Annotated[int, Query(le=100)] = 100):
                return []


            @app.get("/heroes/{hero_id}")
            def read_hero(hero_id: int, session: SessionDep):
                return None
            """,
    }
    assert check_project(before, after) == []


def test_existing_alias_is_reused_even_for_one_use() -> None:
    before = {
        "app/__init__.py": "",
        "app/db.py": DATABASE,
        "app/deps.py": """\
            from typing import Annotated

            from fastapi import Depends
            from sqlalchemy.orm import Session

            from app.db import get_db

            SessionDep = Annotated[Session, Depends(get_db)]
            """,
        "app/routes.py": """\
            from fastapi import APIRouter, Depends
            from sqlalchemy.orm import Session

            from app.db import get_db

            router = APIRouter()


            @router.get("/")
            def index(db: Session = Depends(get_db)):
                return db
            """,
    }
    after = {
        "app/routes.py": """\
            from fastapi import APIRouter

            from app.deps import SessionDep

            router = APIRouter()


            @router.get("/")
            def index(db: SessionDep):
                return db
            """,
    }
    assert check_project(before, after) == []


def test_alias_names_never_collide() -> None:
    before = {
        "app/__init__.py": "",
        "app/models.py": """\
            class User:
                pass
            """,
        "app/deps.py": """\
            from app.models import User


            def get_current_user() -> User:
                return User()


            def get_current_admin() -> User:
                return User()
            """,
        "app/routes.py": """\
            from fastapi import APIRouter, Depends

            from app.deps import get_current_admin, get_current_user
            from app.models import User

            router = APIRouter()
            CurrentUserDep = "taken"


            @router.get("/me")
            def me(user: User = Depends(get_current_user)):
                return user


            @router.get("/you")
            def you(user: User = Depends(get_current_user), admin: User = Depends(get_current_admin)):
                return user


            @router.get("/admin")
            def admin(admin: User = Depends(get_current_admin)):
                return admin
            """,
    }
    after = {
        "app/deps.py": """\
            from typing import Annotated

            from fastapi import Depends

            from app.models import User


            def get_current_user() -> User:
                return User()


            CurrentUserDep2 = Annotated[User, Depends(get_current_user)]


            def get_current_admin() -> User:
                return User()


            CurrentAdminDep = Annotated[User, Depends(get_current_admin)]
            """,
        "app/routes.py": """\
            from fastapi import APIRouter

            from app.deps import CurrentAdminDep, CurrentUserDep2

            router = APIRouter()
            CurrentUserDep = "taken"


            @router.get("/me")
            def me(user: CurrentUserDep2):
                return user


            @router.get("/you")
            def you(user: CurrentUserDep2, admin: CurrentAdminDep):
                return user


            @router.get("/admin")
            def admin(admin: CurrentAdminDep):
                return admin
            """,
    }
    assert check_project(before, after) == []


ROUTES_TWICE = """\
    from fastapi import APIRouter, Depends
    from sqlalchemy.orm import Session

    from app.db import get_db

    router = APIRouter()


    @router.get("/a")
    def a(db: Session = Depends(get_db)):
        return db


    @router.get("/b")
    def b(db: Session = Depends(get_db)):
        return db
    """


def test_no_aliases_option_gives_inline_annotated() -> None:
    after = """\
        from typing import Annotated

        from fastapi import APIRouter, Depends
        from sqlalchemy.orm import Session

        from app.db import get_db

        router = APIRouter()


        @router.get("/a")
        def a(db: Annotated[Session, Depends(get_db)]):
            return db


        @router.get("/b")
        def b(db: Annotated[Session, Depends(get_db)]):
            return db
        """
    check_transformed(
        CODEMOD,
        ROUTES_TWICE,
        after,
        path="app/routes.py",
        context={"app/__init__.py": "", "app/db.py": DATABASE},
        options={"aliases": False},
    )


def test_alias_falls_back_to_inline_when_its_type_would_need_a_cycle() -> None:
    # deps.py cannot import User: models.py imports deps.py.
    before = {
        "app/__init__.py": "",
        "app/models.py": """\
            from app import deps


            class User:
                pass
            """,
        "app/deps.py": """\
            def get_current_user():
                return None
            """,
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


def test_module_attribute_use_and_security_scopes() -> None:
    before = {
        "app/__init__.py": "",
        "app/deps.py": """\
            from fastapi.security import OAuth2PasswordBearer

            oauth2_scheme = OAuth2PasswordBearer(tokenUrl="token")


            def get_current_user(token: str = __import__("fastapi").Depends(oauth2_scheme)):
                return token
            """,
        "app/routes.py": """\
            from fastapi import APIRouter, Depends, Security

            from app import deps

            router = APIRouter()


            @router.get("/a")
            def a(token: str = Depends(deps.oauth2_scheme), me=Security(deps.get_current_user, scopes=["me"])):
                return token


            @router.get("/b")
            def b(token: str = Depends(deps.oauth2_scheme), me=Security(deps.get_current_user, scopes=["me"])):
                return token
            """,
    }
    after = {
        "app/deps.py": """\
            from typing import Annotated, Any

            from fastapi import Depends, Security
            from fastapi.security import OAuth2PasswordBearer

            oauth2_scheme = OAuth2PasswordBearer(tokenUrl="token")
            Oauth2SchemeDep = Annotated[str, Depends(oauth2_scheme)]


            def get_current_user(token: str = __import__("fastapi").Depends(oauth2_scheme)):
                return token


            CurrentUserMeDep = Annotated[Any, Security(get_current_user, scopes=["me"])]
            """,
        "app/routes.py": """\
            from fastapi import APIRouter

            from app import deps

            router = APIRouter()


            @router.get("/a")
            def a(token: deps.Oauth2SchemeDep, me: deps.CurrentUserMeDep):
                return token


            @router.get("/b")
            def b(token: deps.Oauth2SchemeDep, me: deps.CurrentUserMeDep):
                return token
            """,
    }
    assert check_project(before, after) == []


def test_positional_call_in_another_module_is_refused_and_reported() -> None:
    before = {
        "app/__init__.py": "",
        "app/deps.py": """\
            from fastapi import Depends, Query


            def get_token():
                return "t"


            def paginate(page: int = Query(1), token: str = Depends(get_token)):
                return page
            """,
        "tests/__init__.py": "",
        "tests/test_deps.py": """\
            from app.deps import paginate


            def test_paginate():
                assert paginate(2, "x") == 2
            """,
    }
    findings = check_project(before, {})
    assert findings == [
        "app/deps.py:8: `page` left as is: `paginate` is called positionally at tests/test_deps.py:5",
        "app/deps.py:8: `token` left as is: `paginate` is called positionally at tests/test_deps.py:5",
    ]


def test_keyword_calls_elsewhere_are_fine() -> None:
    before = {
        "app/__init__.py": "",
        "app/deps.py": """\
            from fastapi import Depends, Query


            def get_token():
                return "t"


            def paginate(page: int = Query(1), token: str = Depends(get_token)):
                return page
            """,
        "tests/test_deps.py": """\
            from app.deps import paginate


            def test_paginate():
                assert paginate(page=2, token="x") == 2
            """,
    }
    after = {
        "app/deps.py": """\
            from typing import Annotated

            from fastapi import Depends, Query


            def get_token():
                return "t"


            def paginate(*, page: Annotated[int, Query()] = 1, token: Annotated[str, Depends(get_token)]):
                return page
            """,
    }
    assert check_project(before, after) == []


def test_file_this_python_cannot_parse_is_reported_not_guessed() -> None:
    before = {
        "app/__init__.py": "",
        "app/main.py": """\
            from fastapi import Depends, FastAPI

            GREETING = f"{"hello"}"  # PEP 701: Python 3.12
            app = FastAPI()


            def dep():
                return 1


            @app.get("/")
            def index(x: int = Depends(dep)):
                return x
            """,
    }
    assert check_project(before, {}) == [
        "app/main.py:12: `x` left as is: this file uses syntax newer than the running Python; "
        "run fastapi-fix under a newer one"
    ]


# A file this Python cannot parse: which defaults its own imports make FastAPI's, as LibCST's
# QualifiedNameProvider tells them. "line:column name" of each one reported.
UNANALYSED = [
    pytest.param(
        "from fastapi import Depends as D, Query\n\n\ndef f(x=D(g), q=Query(1), n=len(a)): ...\n",
        ["4:7 x", "4:15 q"],
        id="from-import-and-alias",
    ),
    pytest.param(
        "import fastapi.params\n\n\ndef f(x=fastapi.params.Depends(g), q=fastapi.Query(1)): ...\n",
        ["4:7 x", "4:36 q"],
        id="dotted-import",
    ),
    pytest.param(
        "from .params import Depends\n\n\ndef f(x=Depends(g)): ...\n", [], id="relative-import"
    ),
    pytest.param("from fastapi import *\n\n\ndef f(x=Depends(g)): ...\n", [], id="star-import"),
    pytest.param(
        "try:\n    from fastapi import Query\nexcept ImportError:\n    from compat import Query\n\n\n"
        "def f(q=Query(1)): ...\n",
        ["7:7 q"],
        id="imported-twice",
    ),
    pytest.param(
        "def f(q=Query(1)): ...\n\n\nfrom fastapi import Query\n", [], id="module-import-after-it"
    ),
    pytest.param(
        "def outer():\n    def f(q=Query(1)): ...\n\n\nfrom fastapi import Query\n",
        ["2:11 q"],
        id="module-import-after-a-nested-one",
    ),
    pytest.param(
        "def outer():\n    from fastapi import Query\n\n    def f(q=Query(1)): ...\n",
        ["4:11 q"],
        id="import-in-the-enclosing-function",
    ),
    pytest.param(
        "def f(q=Query(1)):\n    from fastapi import Query\n", [], id="import-in-its-own-body"
    ),
    pytest.param(
        "from fastapi import Query\n\n\ndef outer():\n    def f(q=Query(1)): ...\n\n"
        "    from compat import Query\n",
        ["5:11 q"],
        id="function-import-after-it",
    ),
    pytest.param(
        "class Items:\n    from fastapi import Query\n\n    def read(self, q=Query(1)):\n"
        "        def inner(p=Query(2)): ...\n",
        ["4:20 q"],
        id="class-body-import",
    ),
    pytest.param(
        "xs = [lambda q=Query(1): q for _ in range(3)]\nfrom fastapi import Query\n",
        ["1:14 q"],
        id="lambda-in-a-comprehension",
    ),
    pytest.param(
        "from fastapi import Query\r\n\r\n# a comment\r\nclass A:\r\n    def f(\r\n"
        "        self,\r\n        q=Query(1),\r\n    ): ...\r\n",
        ["7:9 q"],
        id="crlf",
    ),
]


@pytest.mark.parametrize("code, reported", UNANALYSED)
def test_defaults_in_a_file_this_python_cannot_parse_are_told_by_its_imports(
    code: str, reported: list[str]
) -> None:
    module = cst.parse_module(code)
    ctx = FileContext(SourceFile(Path("/project/app/main.py"), "app/main.py", "app.main"), CODEMOD)
    report_unanalysed(ctx, module)
    found = [f"{f.line}:{f.column} {f.message.split('`')[1]}" for f in ctx.findings]
    assert found == reported
    assert found == _told_by_qualified_names(module)


def _told_by_qualified_names(module: cst.Module) -> list[str]:
    """What LibCST's scope analysis says of the same defaults."""
    found = []

    class Finder(cst.CSTVisitor):
        METADATA_DEPENDENCIES = (QualifiedNameProvider, PositionProvider)

        def visit_Param(self, node: cst.Param) -> None:
            if isinstance(node.default, cst.Call) and cst_param_function(self, node.default):
                start = self.get_metadata(PositionProvider, node.name).start
                found.append(f"{start.line}:{start.column + 1} {node.name.value}")

    MetadataWrapper(module).visit(Finder())
    return found


def test_a_star_that_only_served_the_old_defaults_is_dropped() -> None:
    before = """\
        from fastapi import FastAPI, Path

        app = FastAPI()


        @app.get("/items/{item_id}")
        def read_items(*, item_id: int = Path(title="The ID"), q: str):
            return q
        """
    after = """\
        from typing import Annotated

        from fastapi import FastAPI, Path

        app = FastAPI()


        @app.get("/items/{item_id}")
        def read_items(item_id: Annotated[int, Path(title="The ID")], q: str):
            return q
        """
    check_transformed(CODEMOD, before, after)


def test_a_star_still_needed_stays() -> None:
    before = """\
        from fastapi import FastAPI, Path

        app = FastAPI()


        @app.get("/items/{item_id}")
        def read_items(*, item_id: int = Path(...), limit: int = 10, q: str):
            return q
        """
    after = """\
        from typing import Annotated

        from fastapi import FastAPI, Path

        app = FastAPI()


        @app.get("/items/{item_id}")
        def read_items(*, item_id: Annotated[int, Path()], limit: int = 10, q: str):
            return q
        """
    check_transformed(CODEMOD, before, after)


def test_uses_before_the_dependency_is_defined_stay_inline() -> None:
    before = {
        "main.py": """\
            from fastapi import Depends, FastAPI

            app = FastAPI()


            @app.get("/early")
            def early(token: str = Depends(lambda: "x"), user: dict = Depends(lambda: {})):
                return token


            def get_user() -> dict:
                return {}


            @app.get("/a")
            def a(user: dict = Depends(get_user)):
                return user


            @app.get("/b")
            def b(user: dict = Depends(get_user)):
                return user


            @app.get("/c")
            def c(
                user: dict = Depends(  # who is asking
                    get_user
                ),
            ):
                return user
            """,
    }
    after = {
        "main.py": """\
            from typing import Annotated

            from fastapi import Depends, FastAPI

            app = FastAPI()


            @app.get("/early")
            def early(token: Annotated[str, Depends(lambda: "x")], user: Annotated[dict, Depends(lambda: {})]):
                return token


            def get_user() -> dict:
                return {}


            UserDep = Annotated[dict, Depends(get_user)]


            @app.get("/a")
            def a(user: UserDep):
                return user


            @app.get("/b")
            def b(user: UserDep):
                return user


            @app.get("/c")
            def c(
                user: Annotated[dict, Depends(  # who is asking
                    get_user
                )],
            ):
                return user
            """,
    }
    assert check_project(before, after) == []


def test_unannotated_dependency_type_is_imported_where_used() -> None:
    before = {
        "app/__init__.py": "",
        "app/database.py": DATABASE,
        "app/main.py": """\
            from __future__ import annotations

            from fastapi import Depends, FastAPI

            from app.database import get_db

            app = FastAPI()


            @app.get("/")
            def index(db=Depends(get_db)):
                return None
            """,
    }
    after = {
        "app/main.py": """\
            from __future__ import annotations

            from typing import Annotated

            from fastapi import Depends, FastAPI
            from sqlalchemy.orm import Session

            from app.database import get_db

            app = FastAPI()


            @app.get("/")
            def index(db: Annotated[Session, Depends(get_db)]):
                return None
            """,
    }
    assert check_project(before, after) == []


def test_pep_695_alias_is_reused() -> None:
    before = {
        "app/__init__.py": "",
        "app/db.py": DATABASE,
        "app/deps.py": """\
            from typing import Annotated

            from fastapi import Depends
            from sqlalchemy.orm import Session

            from app.db import get_db

            type DbSession = Annotated[Session, Depends(get_db)]
            """,
        "app/routes.py": """\
            from fastapi import APIRouter, Depends
            from sqlalchemy.orm import Session

            from app import db

            router = APIRouter()


            @router.get("/")
            def index(session: Session = Depends(db.get_db)):
                return session
            """,
    }
    after = {
        "app/routes.py": """\
            from fastapi import APIRouter

            from app.deps import DbSession

            router = APIRouter()


            @router.get("/")
            def index(session: DbSession):
                return session
            """,
    }
    assert check_project(before, after) == []


def test_class_dependency_called_positionally_is_refused() -> None:
    before = {
        "app/__init__.py": "",
        "app/main.py": """\
            from fastapi import Depends, FastAPI, Query

            app = FastAPI()


            def get_token():
                return "t"


            class Pagination:
                def __init__(self, page: int = Query(1), token: str = Depends(get_token)):
                    self.page = page


            DEFAULT = Pagination(1, "t")
            """,
    }
    assert check_project(before, {}) == [
        "app/main.py:11: `page` left as is: `__init__` is called positionally at app/main.py:15",
        "app/main.py:11: `token` left as is: `__init__` is called positionally at app/main.py:15",
    ]


PAGINATION = """\
    from fastapi import Depends, FastAPI, Query

    app = FastAPI()


    def get_token():
        return "t"


    class Pagination:
        def __init__(self, page: int = Query(1), token: str = Depends(get_token)):
            self.page = page
    """


def test_super_init_of_an_unrelated_class_is_not_a_caller_of_a_class_dependency() -> None:
    # Issue item g: `super().__init__(...)` in a class that does not inherit from Pagination
    # calls its own base's __init__, never Pagination's.
    before = {
        "app/__init__.py": "",
        "app/main.py": PAGINATION,
        "app/other.py": """\
            class Base:
                def __init__(self, a, b):
                    self.a = a


            class Unrelated(Base):
                def __init__(self, a, b):
                    super().__init__(a, b)
            """,
    }
    after = {
        "app/main.py": PAGINATION.replace(
            "from fastapi import Depends, FastAPI, Query",
            "from typing import Annotated\n\n    from fastapi import Depends, FastAPI, Query",
        ).replace(
            "page: int = Query(1), token: str = Depends(get_token)",
            "*, page: Annotated[int, Query()] = 1, token: Annotated[str, Depends(get_token)]",
        ),
    }
    assert check_project(before, after) == []


@pytest.mark.parametrize(
    "subclass",
    [
        pytest.param("class Paged(Pagination):", id="subclass"),
        pytest.param("class Both(Unrelated, Pagination):", id="cooperative-multiple-inheritance"),
    ],
)
def test_super_init_that_may_reach_a_class_dependency_still_counts(subclass: str) -> None:
    other = f"""\
        from app.main import Pagination


        class Unrelated:
            def __init__(self, a, b):
                super().__init__(a, b)


        {subclass}
            def __init__(self, a, b):
                super().__init__(a, b)
        """
    before = {"app/__init__.py": "", "app/main.py": PAGINATION, "app/other.py": other}
    findings = check_project(before, {})
    assert findings and all("is called positionally at app/other.py" in f for f in findings)


def test_a_project_on_fastapi_older_than_0_95_is_left_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.poetry.dependencies]\nfastapi = "^0.79.1"\n')
    (tmp_path / "main.py").write_text(
        "from fastapi import FastAPI, Query\n\napp = FastAPI()\n\n\n"
        "@app.get('/')\ndef index(q: str = Query(None)):\n    return q\n"
    )
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["--select", CODEMOD, "."], catch_exceptions=False)
    assert result.exit_code == 0
    assert (
        "main.py:7:11: depends-to-annotated: `q` left as is: the project admits a FastAPI older than 0.95, "
        "which ignores Annotated (pyproject.toml:2: fastapi ^0.79.1)" in result.stderr
    )
    assert "= Query(None)" in (tmp_path / "main.py").read_text()


def test_a_fastapi_plugin_dependency_is_not_fastapi(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue #11 a: ``fastapi-sso==0.19.0`` beside ``fastapi==0.116.1`` read as an old FastAPI."""
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\ndependencies = ["fastapi==0.116.1", "fastapi-sso==0.19.0"]\n'
    )
    (tmp_path / "main.py").write_text(
        "from fastapi import FastAPI, Query\n\napp = FastAPI()\n\n\n"
        "@app.get('/')\ndef index(q: str = Query(None)):\n    return q\n"
    )
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["--select", CODEMOD, "."], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "older than 0.95" not in result.stderr
    assert "def index(q: Annotated[str, Query()] = None):" in (tmp_path / "main.py").read_text()


def test_only_the_project_admitting_an_old_fastapi_is_left(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = (
        "from fastapi import FastAPI, Query\n\napp = FastAPI()\n\n\n"
        "@app.get('/')\ndef index(q: str = Query(None)):\n    return q\n"
    )
    for name, pin in (("old", "0.90.0"), ("new", "0.116.1")):
        (tmp_path / name).mkdir()
        (tmp_path / name / "requirements.txt").write_text(f"fastapi=={pin}\n")
        (tmp_path / name / "main.py").write_text(source)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["--select", CODEMOD, "."], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "which ignores Annotated (old/requirements.txt:1: " in result.stderr
    assert (tmp_path / "old" / "main.py").read_text() == source
    assert "Annotated[str, Query()] = None" in (tmp_path / "new" / "main.py").read_text()


# -- end to end, through the command line, on copies of the example apps ------------------


def snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*.py"))}


@pytest.mark.parametrize("name", sorted(EXAMPLE_APPS))
def test_example_app_end_to_end(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    pristine, fixed = (
        copy_example(name, tmp_path / "pristine"),
        copy_example(name, tmp_path / "fixed"),
    )
    openapi_before = dump_openapi(pristine, EXAMPLE_APPS[name].app_ref)
    before = snapshot(pristine)

    monkeypatch.chdir(pristine)
    dry = CliRunner().invoke(
        main, ["--select", CODEMOD, "--dry-run", "-q", "."], catch_exceptions=False
    )
    assert dry.exit_code == 1  # changes pending
    assert snapshot(pristine) == before
    assert "Annotated[" in dry.stdout

    monkeypatch.chdir(fixed)
    applied = CliRunner().invoke(main, ["--select", CODEMOD, "."], catch_exceptions=False)
    assert applied.exit_code == 0
    assert "depends-to-annotated:" not in applied.stderr  # nothing left for review
    assert (
        CliRunner().invoke(main, ["--select", CODEMOD, "--check", "."]).exit_code == 0
    )  # second run: nothing

    subprocess.run(["git", "init", "-q"], cwd=pristine, check=True)
    subprocess.run(["git", "apply", "-"], input=dry.stdout_bytes, cwd=pristine, check=True)
    assert snapshot(pristine) == snapshot(fixed)  # the preview is exactly what gets written

    assert dump_openapi(fixed, EXAMPLE_APPS[name].app_ref) == openapi_before
    assert_example_tests_pass(fixed)
    for path in snapshot(fixed):
        assert "= Depends(" not in (fixed / path).read_text(), path


def test_two_scripts_with_one_module_name_are_both_rewritten() -> None:
    script = """\
        from fastapi import FastAPI, Query

        app = FastAPI()


        @app.get("/")
        def index(q: str = Query("a")):
            return q
        """
    converted = """\
        from typing import Annotated

        from fastapi import FastAPI, Query

        app = FastAPI()


        @app.get("/")
        def index(q: Annotated[str, Query()] = "a"):
            return q
        """
    # Folders without __init__.py: both files run as `main`, each named apart.
    sources = named_as_the_cli_names(
        {
            PROJECT / folder / "main.py": textwrap.dedent(script).encode()
            for folder in ("one", "two")
        }
    )
    results = Runner([DependsToAnnotated()], jobs=1).run(list(sources), sources=sources)
    assert [(r.display_path, (r.new or b"").decode()) for r in results] == [
        ("one/main.py", textwrap.dedent(converted)),
        ("two/main.py", textwrap.dedent(converted)),
    ]


def test_lambda_parameters_are_reported() -> None:
    before = """\
        from fastapi import Depends, FastAPI, Query

        app = FastAPI()


        @app.get("/")
        def index(q: str = Depends(lambda q=Query("a"): q)):
            return q
        """
    after = """\
        from typing import Annotated

        from fastapi import Depends, FastAPI, Query

        app = FastAPI()


        @app.get("/")
        def index(q: Annotated[str, Depends(lambda q=Query("a"): q)]):
            return q
        """
    findings = check_transformed(CODEMOD, before, after)
    assert messages(findings) == [
        "7: `q` left as is: a lambda cannot annotate its parameters; make it a def"
    ]


def test_a_name_used_only_in_pep_695_type_parameters_keeps_its_import():
    # The running Python's ast may not read `def f[T: Session]`; the engine spells it for
    # gathering without the type parameters, so their uses must still count.
    main = textwrap.dedent("""\
        from fastapi import Depends, FastAPI
        from sqlalchemy.orm import Session

        from app.db import get_db

        app = FastAPI()


        def first[T: Session](db: Session = Depends(get_db)) -> T: ...


        @app.get("/")
        def second(db: Session = Depends(get_db)): ...
        """)
    db = "from sqlalchemy.orm import Session\n\n\ndef get_db():\n    yield Session()\n"
    results = run_project(CODEMOD, {"app/main.py": main.encode(), "app/db.py": db.encode()})
    new = results["app/main.py"].new.decode()
    assert "from sqlalchemy.orm import Session\n" in new
    assert "def first[T: Session](db: SessionDep) -> T: ..." in new
    assert "from fastapi import FastAPI\n" in new


# -- FastAPI imports a rewrite leaves unused (issue #11 i) -----------------------------------

DB_CONTEXT = {
    "app/__init__.py": "",
    "app/db.py": """\
        from collections.abc import Iterator

        from sqlalchemy.orm import Session


        def get_db() -> Iterator[Session]:
            yield Session()
        """,
}


def test_depends_left_unused_in_a_package_is_removed() -> None:
    """Every use became an alias: ``Depends`` goes, the comment above the import stays."""
    check_transformed(
        CODEMOD,
        """\
        # the web layer
        from fastapi import APIRouter, Depends
        from sqlalchemy.orm import Session

        from app.db import get_db

        router = APIRouter()


        @router.get("/a")
        def a(db: Session = Depends(get_db)):
            return db


        @router.get("/b")
        def b(db: Session = Depends(get_db)):
            return db
        """,
        """\
        # the web layer
        from fastapi import APIRouter
        from sqlalchemy.orm import Session

        from app.db import SessionDep, get_db

        router = APIRouter()


        @router.get("/a")
        def a(db: SessionDep):
            return db


        @router.get("/b")
        def b(db: SessionDep):
            return db
        """,
        path="app/routes/__init__.py",
        context=DB_CONTEXT,
    )


def test_a_fastapi_import_statement_left_empty_goes_whole() -> None:
    check_transformed(
        CODEMOD,
        """\
        \"\"\"Routes.\"\"\"

        # FastAPI
        from fastapi import Depends as D
        from sqlalchemy.orm import Session

        from app.db import get_db


        def a(db: Session = D(get_db)):
            return db


        def b(db: Session = D(get_db)):
            return db
        """,
        """\
        \"\"\"Routes.\"\"\"

        # FastAPI
        from sqlalchemy.orm import Session

        from app.db import SessionDep, get_db


        def a(db: SessionDep):
            return db


        def b(db: SessionDep):
            return db
        """,
        path="app/routes/__init__.py",
        context=DB_CONTEXT,
    )


KEPT_IMPORTS = [
    pytest.param(
        """\
        from fastapi import Depends

        __all__ = ["Depends", "a", "b"]
        """,
        id="listed-in-all",
    ),
    pytest.param(
        """\
        from fastapi import Depends


        def c(db=Depends(lambda: 1)):
            return db
        """,
        id="still-used-by-another-parameter",
    ),
    pytest.param(
        """\
        from fastapi import Query  # unused before the rewrite: not its business
        from fastapi import Depends


        def c(db=Depends(lambda: 1)):
            return db
        """,
        id="unused-before",
    ),
]


@pytest.mark.parametrize("kept", KEPT_IMPORTS)
def test_fastapi_imports_still_used_or_exported_stay(kept: str) -> None:
    before = textwrap.dedent(kept) + textwrap.dedent(
        """\
        from sqlalchemy.orm import Session

        from app.db import get_db


        def a(db: Session = Depends(get_db)):
            return db


        def b(db: Session = Depends(get_db)):
            return db
        """
    )
    result = run_project(
        CODEMOD,
        {
            **{k: textwrap.dedent(v).encode() for k, v in DB_CONTEXT.items()},
            "app/routes/__init__.py": before.encode(),
        },
    )["app/routes/__init__.py"]
    assert result.new is not None
    assert b"def a(db: SessionDep):" in result.new
    assert before.splitlines()[0].encode() in result.new  # the first fastapi import, whole


def test_a_fastapi_import_another_module_takes_from_here_stays() -> None:
    files = {
        **DB_CONTEXT,
        "app/routes/__init__.py": """\
            from fastapi import Depends
            from sqlalchemy.orm import Session

            from app.db import get_db


            def a(db: Session = Depends(get_db)):
                return db


            def b(db: Session = Depends(get_db)):
                return db
            """,
        "app/other.py": "from app.routes import Depends\n",
    }
    results = run_project(CODEMOD, {k: textwrap.dedent(v).encode() for k, v in files.items()})
    new = results["app/routes/__init__.py"].new
    assert new is not None
    assert b"from fastapi import Depends\n" in new


# -- aliases on the shapes of large projects (issue #11 h) -----------------------------------


def test_an_alias_name_never_doubles_its_suffix() -> None:
    before = {
        "app/__init__.py": "",
        "app/deps.py": """\
            def control_plane_dep():
                return None
            """,
        "app/routes.py": """\
            from fastapi import Depends

            from app.deps import control_plane_dep


            def a(plane=Depends(control_plane_dep)):
                return plane


            def b(plane=Depends(control_plane_dep)):
                return plane
            """,
    }
    after = {
        "app/deps.py": """\
            from typing import Annotated, Any

            from fastapi import Depends


            def control_plane_dep():
                return None


            ControlPlaneDep = Annotated[Any, Depends(control_plane_dep)]
            """,
        "app/routes.py": """\
            from app.deps import ControlPlaneDep


            def a(plane: ControlPlaneDep):
                return plane


            def b(plane: ControlPlaneDep):
                return plane
            """,
    }
    assert check_project(before, after) == []


def test_a_method_of_a_module_level_instance_gets_its_alias_after_the_instance() -> None:
    """hng's shape: `Depends(user_service.get_current_user)`, used everywhere."""
    before = {
        "app/__init__.py": "",
        "app/models.py": "class User:\n    pass\n",
        "app/services.py": """\
            from app.models import User


            class UserService:
                def get_current_user(self) -> User:
                    return User()


            user_service = UserService()
            """,
        "app/routes.py": """\
            from fastapi import Depends

            from app.models import User
            from app.services import user_service


            def a(user: User = Depends(user_service.get_current_user)):
                return user


            def b(user: User = Depends(user_service.get_current_user)):
                return user
            """,
    }
    after = {
        "app/services.py": """\
            from typing import Annotated

            from fastapi import Depends

            from app.models import User


            class UserService:
                def get_current_user(self) -> User:
                    return User()


            user_service = UserService()
            UserDep = Annotated[User, Depends(user_service.get_current_user)]
            """,
        "app/routes.py": """\
            from app.services import UserDep


            def a(user: UserDep):
                return user


            def b(user: UserDep):
                return user
            """,
    }
    assert check_project(before, after) == []


def test_an_unannotated_dependency_that_yields_a_class_gives_that_type() -> None:
    before = {
        "app/__init__.py": "",
        "app/users.py": """\
            class UserManager:
                def __init__(self, db):
                    self.db = db


            async def get_user_manager(db=None):
                yield UserManager(db)
            """,
        "app/routes.py": """\
            from fastapi import Depends

            from app.users import get_user_manager


            async def a(manager=Depends(get_user_manager)):
                return manager


            async def b(manager=Depends(get_user_manager)):
                return manager
            """,
    }
    after = {
        "app/users.py": """\
            from typing import Annotated

            from fastapi import Depends


            class UserManager:
                def __init__(self, db):
                    self.db = db


            async def get_user_manager(db=None):
                yield UserManager(db)


            UserManagerDep = Annotated[UserManager, Depends(get_user_manager)]
            """,
        "app/routes.py": """\
            from app.users import UserManagerDep


            async def a(manager: UserManagerDep):
                return manager


            async def b(manager: UserManagerDep):
                return manager
            """,
    }
    assert check_project(before, after) == []


YIELDED = """\
    from fastapi import Depends
    from sqlalchemy.orm import Session


    def get_db() -> {returns}:
        yield Session()


    def a(db{param}):
        return db
    """


@pytest.mark.parametrize(
    ("imports", "returns"),
    [
        pytest.param(
            "from typing import Annotated, Generator",
            "Generator[Session, None, None]",
            id="generator",
        ),
        pytest.param(
            "from collections.abc import AsyncIterator\nfrom typing import Annotated",
            "AsyncIterator[Session]",
            id="async-iterator",
        ),
    ],
)
def test_an_unannotated_parameter_takes_the_yielded_type(imports: str, returns: str) -> None:
    before_imports = imports.replace(
        "from typing import Annotated, ", "from typing import "
    ).replace("\nfrom typing import Annotated", "")
    check_transformed(
        CODEMOD,
        before_imports
        + "\n\n"
        + textwrap.dedent(YIELDED).format(returns=returns, param="=Depends(get_db)"),
        imports
        + "\n\n"
        + textwrap.dedent(YIELDED).format(
            returns=returns, param=": Annotated[Session, Depends(get_db)]"
        ),
    )


def test_a_dependency_used_once_or_from_a_library_is_not_reported() -> None:
    source = """\
        from fastapi import Depends
        from otherlib import get_token

        from app.deps import get_db


        def a(token: str = Depends(get_token), db: object = Depends(get_db)):
            return token


        def b(token: str = Depends(get_token)):
            return token
        """
    after = """\
        from typing import Annotated

        from fastapi import Depends
        from otherlib import get_token

        from app.deps import get_db


        def a(token: Annotated[str, Depends(get_token)], db: Annotated[object, Depends(get_db)]):
            return token


        def b(token: Annotated[str, Depends(get_token)]):
            return token
        """
    assert check_transformed(CODEMOD, source, after) == []


def test_a_dependency_no_module_read_defines_is_reported_once_not_aliased() -> None:
    """The large projects' shape: the module defining it was read under another name (or not
    at all), so no alias can be made; one finding says so, at the first use."""
    before = {
        "app/__init__.py": "",
        "app/routes.py": """\
            from fastapi import Depends
            from sqlalchemy.ext.asyncio import AsyncSession

            from app.common.session import get_async_session


            def a(db: AsyncSession = Depends(get_async_session)):
                return db


            def b(db: AsyncSession = Depends(get_async_session)):
                return db
            """,
    }
    after = {
        "app/routes.py": """\
            from typing import Annotated

            from fastapi import Depends
            from sqlalchemy.ext.asyncio import AsyncSession

            from app.common.session import get_async_session


            def a(db: Annotated[AsyncSession, Depends(get_async_session)]):
                return db


            def b(db: Annotated[AsyncSession, Depends(get_async_session)]):
                return db
            """,
    }
    assert check_project(before, after) == [
        "app/routes.py:7: no alias for `Depends(get_async_session)`, used 2 times: "
        "`app.common.session.get_async_session` is defined in no module this run read"
    ]


def test_an_attribute_set_on_an_instance_later_gets_no_alias_after_the_instance() -> None:
    """The alias would run right after `checker = Checker()`, before `checker.check` exists."""
    before = {
        "app/__init__.py": "",
        "app/security.py": """\
            class Checker:
                pass


            checker = Checker()
            checker.check = lambda: True
            """,
        "app/routes.py": """\
            from fastapi import Depends

            from app.security import checker


            def a(ok: bool = Depends(checker.check)):
                return ok


            def b(ok: bool = Depends(checker.check)):
                return ok
            """,
    }
    after = {
        "app/routes.py": """\
            from typing import Annotated

            from fastapi import Depends

            from app.security import checker


            def a(ok: Annotated[bool, Depends(checker.check)]):
                return ok


            def b(ok: Annotated[bool, Depends(checker.check)]):
                return ok
            """,
    }
    assert check_project(before, after) == [
        "app/routes.py:6: no alias for `Depends(checker.check)`, used 2 times: `check` is not a "
        "method "
        "the class of `checker` (in app/security.py) is known to define"
    ]


def test_a_dependency_whose_module_was_read_under_another_name_is_reported() -> None:
    """The run named the module `src.app.deps`, the code imports `app.deps`: say so."""
    source = """\
        from fastapi import Depends

        from app.deps import get_db


        def a(db: object = Depends(get_db)):
            return db


        def b(db: object = Depends(get_db)):
            return db
        """
    after = """\
        from typing import Annotated

        from fastapi import Depends

        from app.deps import get_db


        def a(db: Annotated[object, Depends(get_db)]):
            return db


        def b(db: Annotated[object, Depends(get_db)]):
            return db
        """
    findings = check_transformed(
        CODEMOD,
        source,
        after,
        path="src/app/routes.py",
        context={
            "src/app/deps.py": "from fastapi import Request\n\n\ndef get_db(r: Request):\n    return 1\n"
        },
    )
    assert messages(findings) == [
        "6: no alias for `Depends(get_db)`, used 2 times: `app.deps.get_db` is defined in no "
        "module this run read (src/app/deps.py was read as `src.app.deps`)"
    ]


def test_a_type_imported_through_a_reexport_is_one_type() -> None:
    """deps.py names `User` from the package, the routes from its module: one alias, in deps."""
    before = {
        "app/__init__.py": "",
        "app/models/__init__.py": "from app.models.user import User\n",
        "app/models/user.py": "class User:\n    pass\n",
        "app/deps.py": """\
            from app.models import User


            def get_current_user() -> User:
                return User()
            """,
        "app/routes.py": """\
            from fastapi import Depends

            from app.deps import get_current_user
            from app.models import User as U
            from app.models.user import User


            def a(user: User = Depends(get_current_user)):
                return user


            def b(user: U = Depends(get_current_user)):
                return user
            """,
    }
    after = {
        "app/deps.py": """\
            from typing import Annotated

            from fastapi import Depends

            from app.models import User


            def get_current_user() -> User:
                return User()


            UserDep = Annotated[User, Depends(get_current_user)]
            """,
        "app/routes.py": """\
            from app.deps import UserDep


            def a(user: UserDep):
                return user


            def b(user: UserDep):
                return user
            """,
    }
    assert check_project(before, after) == []


def test_a_library_type_reexported_by_its_package_is_named_with_the_import_there() -> None:
    """boilerplate's shape: db.py imports `sqlalchemy.ext.asyncio.session.AsyncSession`, the
    routes `sqlalchemy.ext.asyncio.AsyncSession`: one class, so the alias uses db.py's import."""
    before = {
        "app/__init__.py": "",
        "app/db.py": """\
            from sqlalchemy.ext.asyncio.session import AsyncSession


            async def get_db() -> AsyncSession:
                return AsyncSession()
            """,
        "app/routes.py": """\
            from fastapi import Depends
            from sqlalchemy.ext.asyncio import AsyncSession

            from app.db import get_db


            async def a(db: AsyncSession = Depends(get_db)):
                return db


            async def b(db: AsyncSession = Depends(get_db)):
                return db
            """,
    }
    after = {
        "app/db.py": """\
            from typing import Annotated

            from fastapi import Depends
            from sqlalchemy.ext.asyncio.session import AsyncSession


            async def get_db() -> AsyncSession:
                return AsyncSession()


            AsyncSessionDep = Annotated[AsyncSession, Depends(get_db)]
            """,
        "app/routes.py": """\
            from app.db import AsyncSessionDep


            async def a(db: AsyncSessionDep):
                return db


            async def b(db: AsyncSessionDep):
                return db
            """,
    }
    assert check_project(before, after) == []


def test_a_class_reexported_by_its_package_is_named_by_its_own_module() -> None:
    """surfsense's shape: the routes import `AutomationService` from the package, whose
    module defines it next to its dependency."""
    before = {
        "app/__init__.py": "",
        "app/services/__init__.py": (
            "from app.services.automation import AutomationService, get_service\n"
        ),
        "app/services/automation.py": """\
            class AutomationService:
                pass


            def get_service() -> AutomationService:
                return AutomationService()
            """,
        "app/routes.py": """\
            from fastapi import Depends

            from app.services import AutomationService, get_service


            def a(service: AutomationService = Depends(get_service)):
                return service


            def b(service: AutomationService = Depends(get_service)):
                return service
            """,
    }
    after = {
        "app/services/automation.py": """\
            from typing import Annotated

            from fastapi import Depends


            class AutomationService:
                pass


            def get_service() -> AutomationService:
                return AutomationService()


            AutomationServiceDep = Annotated[AutomationService, Depends(get_service)]
            """,
        "app/routes.py": """\
            from app.services.automation import AutomationServiceDep


            def a(service: AutomationServiceDep):
                return service


            def b(service: AutomationServiceDep):
                return service
            """,
    }
    assert check_project(before, after) == []


def test_a_method_called_positionally_on_a_module_level_instance_is_refused() -> None:
    """`service.helper(2, 3)` resolves (through the shared resolver) to `Service.helper`
    called on an instance: it binds `self`, so 2 and 3 are `a` and `b`."""
    before = {
        "app/__init__.py": "",
        "app/services.py": """\
            from fastapi import Depends


            def dep():
                return 1


            class Service:
                def helper(self, a: int = 1, b: int = Depends(dep)):
                    return a + b


            service = Service()
            """,
        "app/main.py": """\
            from app.services import service

            VALUE = service.helper(2, 3)
            """,
    }
    assert check_project(before, {}) == [
        "app/services.py:9: `b` left as is: `helper` is called positionally at app/main.py:3",
    ]


STAR_REEXPORTED_DEPENDENCY = {
    "app/__init__.py": "",
    "app/deps.py": """\
        def get_token() -> str:
            return "t"
        """,
    "app/api/__init__.py": "from app.deps import *  # noqa: F403\n",
    "app/routes.py": """\
        from fastapi import Depends

        from app.api import get_token


        def a(token: str = Depends(get_token)):
            return token


        def b(token: str = Depends(get_token)):
            return token
        """,
}


def test_a_dependency_reexported_by_a_star_import_gets_its_alias() -> None:
    """The shared resolver follows `from app.deps import *` to where `get_token` is."""
    after = {
        "app/deps.py": """\
            from typing import Annotated

            from fastapi import Depends


            def get_token() -> str:
                return "t"


            TokenDep = Annotated[str, Depends(get_token)]
            """,
        "app/routes.py": """\
            from app.deps import TokenDep


            def a(token: TokenDep):
                return token


            def b(token: TokenDep):
                return token
            """,
    }
    assert check_project(STAR_REEXPORTED_DEPENDENCY, after) == []


@pytest.mark.parametrize(
    "reexport",
    [
        pytest.param(
            "try:\n    from app.deps import get_token\n"
            "except ImportError:\n    from app.legacy import get_token\n",
            id="branches-disagree",
        ),
        pytest.param(
            "from typing import TYPE_CHECKING\n\n"
            "if TYPE_CHECKING:\n    from app.deps import get_token\n",
            id="type-checking-only",
        ),
    ],
)
def test_a_dependency_reexported_only_on_some_paths_is_not_followed(reexport: str) -> None:
    """Which `get_token` `app.api` has when it runs is not known (the branches import two
    different ones; only a type checker runs the other import): no alias for it."""
    before = {
        **STAR_REEXPORTED_DEPENDENCY,
        "app/legacy.py": 'def get_token() -> str:\n    return "old"\n',
        "app/api/__init__.py": reexport,
    }
    after = {
        "app/routes.py": """\
            from typing import Annotated

            from fastapi import Depends

            from app.api import get_token


            def a(token: Annotated[str, Depends(get_token)]):
                return token


            def b(token: Annotated[str, Depends(get_token)]):
                return token
            """,
    }
    findings = check_project(before, after)
    assert [f.partition(": ")[2].split(":")[0] for f in findings] == [
        "no alias for `Depends(get_token)`, used 2 times"
    ]
