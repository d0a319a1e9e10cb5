"""document-error-responses: the HTTP errors a route can raise, through its body, its
dependencies and the project functions they call, are added to its ``responses=``.

Every case goes through the shared helper (LF, CRLF, BOM, compile, second run is a no-op).
``context`` holds the other files of the in-memory project.
"""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from fastapi_fix import codemods
from fastapi_fix.cli import main
from tests.example_apps import EXAMPLE_APPS, assert_example_tests_pass, copy_example, dump_openapi
from tests.helpers import check_noop, check_transformed

CODEMOD = "document-error-responses"

DEPS = """\
from typing import Annotated

from fastapi import Depends, HTTPException
from starlette import status


def current_user(token: str = ""):
    if not token:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, detail="Not authenticated")
    return token


def admin(user: str = Depends(current_user)):
    if user != "admin":
        raise HTTPException(status_code=403, detail="Admins only")
    return user


CurrentUser = Annotated[str, Depends(current_user)]


def _strict(key: str = ""):
    if not key:
        raise HTTPException(403, "Key required")


def _lenient(key: str = ""):
    return key


def authorizer(*, required: bool = True):
    return _strict if required else _lenient
"""
SERVICE = """\
from fastapi import HTTPException
from fastapi import status as codes
from http import HTTPStatus


def load(item_id: int):
    return _find(item_id)


def _find(item_id: int):
    if item_id > 3:
        raise HTTPException(status_code=codes.HTTP_404_NOT_FOUND, detail="Item not found")
    if item_id < 0:
        raise HTTPException(HTTPStatus.BAD_REQUEST, "Negative id")
    return item_id


def ping(n: int):
    return pong(n)


def pong(n: int):
    if n:
        return ping(n - 1)
    raise HTTPException(409, "Loop ended")
"""
ERRORS = """\
from fastapi import FastAPI, HTTPException
from fastapi.responses import JSONResponse


class NotFound(HTTPException):
    def __init__(self, detail: str = "Gone"):
        super().__init__(status_code=404, detail=detail)


class Teapot(HTTPException):
    status_code = 418


class Flexible(HTTPException):
    pass


class OutOfStock(Exception):
    pass


class Hidden(Exception):
    pass


Unauthorized = HTTPException(status_code=401, detail="Log in first")


def register(app: FastAPI) -> None:
    @app.exception_handler(OutOfStock)
    async def out_of_stock(request, exc):
        return JSONResponse({"detail": "Out of stock"}, status_code=409)
"""
ROUTERS = """\
from fastapi import APIRouter, Depends

from app.deps import current_user

secured = APIRouter(dependencies=[Depends(current_user)])
documented = APIRouter(responses={404: {"description": "Missing here"}})
dynamic = APIRouter(responses=COMMON)
inner = APIRouter()
outer = APIRouter(responses={404: {"model": dict}})
outer.include_router(inner, dependencies=[Depends(current_user)], responses={409: {}})
"""
APP = """\
from fastapi import FastAPI

from app.routers import outer

app = FastAPI()
app.include_router(outer, responses={418: {}})
"""
CONTEXT = {
    "app/__init__.py": "",
    "app/deps.py": DEPS,
    "app/service.py": SERVICE,
    "app/errors.py": ERRORS,
    "app/routers.py": ROUTERS,
    "app/app.py": APP,
}
HEAD = """\
from fastapi import APIRouter, Depends, HTTPException, Security, status
import fastapi
from fastapi import HTTPException as HE
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette import status as st

from app import service
from app.deps import CurrentUser, admin, authorizer, current_user
from app.errors import Flexible, Hidden, NotFound, OutOfStock, Teapot, Unauthorized
from app.routers import documented, dynamic, inner, secured

router = APIRouter()
"""


def case(before: str, after: str) -> tuple[str, str]:
    return HEAD + before, HEAD + after


TRANSFORMED = [
    pytest.param(
        *case(
            '\n@router.get("/a")\ndef a():\n    raise HTTPException(404, "No such thing")\n',
            '\n@router.get("/a", responses={404: {"description": "No such thing"}})\n'
            'def a():\n    raise HTTPException(404, "No such thing")\n',
        ),
        id="positional-int-and-literal-detail",
    ),
    pytest.param(
        *case(
            '\n@router.get("/a")\ndef a(x: int):\n'
            "    if x:\n        raise HTTPException(status_code=status.HTTP_404_NOT_FOUND)\n"
            "    raise fastapi.HTTPException(status_code=st.HTTP_409_CONFLICT, detail=str(x))\n",
            '\n@router.get("/a", responses={404: {"description": "Not Found"}, '
            '409: {"description": "Conflict"}})\ndef a(x: int):\n'
            "    if x:\n        raise HTTPException(status_code=status.HTTP_404_NOT_FOUND)\n"
            "    raise fastapi.HTTPException(status_code=st.HTTP_409_CONFLICT, detail=str(x))\n",
        ),
        id="status-names-fastapi-and-starlette-no-literal-detail-gives-the-phrase",
    ),
    pytest.param(
        *case(
            '\n@router.get("/a")\ndef a(x: int):\n'
            '    if x:\n        raise HE(400, "Bad x")\n'
            '    raise StarletteHTTPException(400, "Worse x")\n',
            '\n@router.get("/a", responses={400: {"description": "Bad Request"}})\n'
            "def a(x: int):\n"
            '    if x:\n        raise HE(400, "Bad x")\n'
            '    raise StarletteHTTPException(400, "Worse x")\n',
        ),
        id="aliases-starlette-class-and-different-details-give-the-phrase",
    ),
    pytest.param(
        *case(
            '\n@router.get("/items/{item_id}")\ndef a(item_id: int, user: CurrentUser):\n'
            "    return service.load(item_id)\n",
            '\n@router.get("/items/{item_id}", responses={400: {"description": "Negative id"}, '
            '401: {"description": "Not authenticated"}, 404: {"description": "Item not found"}})\n'
            "def a(item_id: int, user: CurrentUser):\n    return service.load(item_id)\n",
        ),
        id="annotated-dependency-and-service-calls-transitively-with-httpstatus",
    ),
    pytest.param(
        *case(
            '\n@router.get("/a", dependencies=[Depends(admin)])\ndef a():\n    return 1\n',
            '\n@router.get("/a", dependencies=[Depends(admin)], responses={401: '
            '{"description": "Not authenticated"}, 403: {"description": "Admins only"}})\n'
            "def a():\n    return 1\n",
        ),
        id="decorator-dependencies-and-sub-dependencies",
    ),
    pytest.param(
        *case(
            '\n@router.get("/a")\ndef a(user=Security(current_user)):\n    return user\n',
            '\n@router.get("/a", responses={401: {"description": "Not authenticated"}})\n'
            "def a(user=Security(current_user)):\n    return user\n",
        ),
        id="security-dependency",
    ),
    pytest.param(
        *case(
            '\n@router.get("/a")\ndef a(key=Depends(authorizer(required=True))):\n    return key\n',
            '\n@router.get("/a", responses={403: {"description": "Key required"}})\n'
            "def a(key=Depends(authorizer(required=True))):\n    return key\n",
        ),
        id="dependency-made-by-a-factory",
    ),
    pytest.param(
        *case(
            '\n@secured.get("/a")\ndef a():\n    return 1\n',
            '\n@secured.get("/a", responses={401: {"description": "Not authenticated"}})\n'
            "def a():\n    return 1\n",
        ),
        id="router-dependencies-of-a-router-imported-from-another-module",
    ),
    pytest.param(
        *case(
            '\n@router.get("/a")\ndef a(n: int):\n    return service.ping(n)\n',
            '\n@router.get("/a", responses={409: {"description": "Loop ended"}})\n'
            "def a(n: int):\n    return service.ping(n)\n",
        ),
        id="recursive-helpers-end",
    ),
    pytest.param(
        *case(
            '\n@router.get("/a")\ndef a(x: int):\n    if x:\n        raise NotFound()\n'
            "    raise Teapot()\n",
            '\n@router.get("/a", responses={404: {"description": "Gone"}, '
            '418: {"description": "I\'m a Teapot"}})\n'
            "def a(x: int):\n    if x:\n        raise NotFound()\n    raise Teapot()\n",
        ),
        id="project-subclasses-with-fixed-codes",
    ),
    pytest.param(
        *case(
            '\n@router.get("/a")\ndef a():\n    raise OutOfStock()\n',
            '\n@router.get("/a", responses={409: {"description": "Conflict"}})\n'
            "def a():\n    raise OutOfStock()\n",
        ),
        id="project-exception-mapped-by-a-handler",
    ),
    pytest.param(
        *case(
            '\n@router.get("/a", responses={404: {"description": "Mine"}})\ndef a(x: int):\n'
            '    if x:\n        raise HTTPException(404, "Other")\n'
            '    raise HTTPException(403, "No")\n',
            '\n@router.get("/a", responses={404: {"description": "Mine"}, '
            '403: {"description": "No"}})\ndef a(x: int):\n'
            '    if x:\n        raise HTTPException(404, "Other")\n'
            '    raise HTTPException(403, "No")\n',
        ),
        id="merged-into-a-dict-literal-documented-code-kept",
    ),
    pytest.param(
        *case(
            '\nCOMMON = {}\n\n\n@router.get("/a", responses={**COMMON})\ndef a():\n'
            '    raise HTTPException(403, "No")\n',
            '\nCOMMON = {}\n\n\n@router.get("/a", responses={403: {"description": "No"}, '
            '**COMMON})\ndef a():\n    raise HTTPException(403, "No")\n',
        ),
        id="merged-before-a-spread-so-the-spread-still-wins",
    ),
    pytest.param(
        *case(
            '\n@router.post(\n    "/a",\n    status_code=201,\n)\ndef a():\n'
            '    raise HTTPException(403, "No")\n',
            '\n@router.post(\n    "/a",\n    status_code=201,\n'
            '    responses={403: {"description": "No"}},\n)\ndef a():\n'
            '    raise HTTPException(403, "No")\n',
        ),
        id="multi-line-decorator-keeps-its-layout",
    ),
    pytest.param(
        *case(
            '\n@documented.get("/a")\ndef a(x: int):\n    if x:\n'
            '        raise HTTPException(404, "Nope")\n    raise HTTPException(410, "Old")\n',
            '\n@documented.get("/a", responses={410: {"description": "Old"}})\n'
            "def a(x: int):\n    if x:\n"
            '        raise HTTPException(404, "Nope")\n    raise HTTPException(410, "Old")\n',
        ),
        id="code-documented-by-the-router-is-not-repeated",
    ),
    pytest.param(
        *case(
            '\n@inner.get("/a")\ndef a(x: int):\n    if x:\n'
            "        raise HTTPException(404)\n    if x > 1:\n        raise HTTPException(409)\n"
            '    if x > 2:\n        raise HTTPException(418)\n    raise HTTPException(410, "Old")\n',
            '\n@inner.get("/a", responses={401: {"description": "Not authenticated"}, '
            '410: {"description": "Old"}})\n'
            "def a(x: int):\n    if x:\n"
            "        raise HTTPException(404)\n    if x > 1:\n        raise HTTPException(409)\n"
            '    if x > 2:\n        raise HTTPException(418)\n    raise HTTPException(410, "Old")\n',
        ),
        id="routers-including-the-router-document-and-depend-up-to-the-app",
    ),
    pytest.param(
        *case(
            '\nGone = HTTPException(410, "Gone for good")\n\n\n@router.get("/a")\ndef a(x: int):\n'
            "    if x:\n        raise Unauthorized\n    raise Gone\n",
            '\nGone = HTTPException(410, "Gone for good")\n\n\n'
            '@router.get("/a", responses={401: {"description": "Log in first"}, '
            '410: {"description": "Gone for good"}})\ndef a(x: int):\n'
            "    if x:\n        raise Unauthorized\n    raise Gone\n",
        ),
        id="module-level-exception-instances-raised-by-name",
    ),
    pytest.param(
        *case(
            '\n@router.get("/a")\ndef a():\n    try:\n        service.load(1)\n'
            "    except KeyError:\n        pass\n"
            "    try:\n        raise HTTPException(400)\n    except Exception:\n"
            '        raise HTTPException(500, "Broken")\n',
            '\n@router.get("/a", responses={400: {"description": "Negative id"}, '
            '404: {"description": "Item not found"}, 500: {"description": "Broken"}})\n'
            "def a():\n    try:\n        service.load(1)\n"
            "    except KeyError:\n        pass\n"
            "    try:\n        raise HTTPException(400)\n    except Exception:\n"
            '        raise HTTPException(500, "Broken")\n',
        ),
        id="raise-caught-by-except-exception-is-not-documented-its-handler-is",
    ),
]


@pytest.mark.parametrize(("before", "after"), TRANSFORMED)
def test_transformed(before, after):
    assert check_transformed(CODEMOD, before, after, context=CONTEXT) == []


NOOP = [
    pytest.param(
        HEAD + '\n@router.get("/a", responses={404: {"description": "x"}})\ndef a():\n'
        "    raise HTTPException(404)\n",
        id="already-documented",
    ),
    pytest.param(
        HEAD + '\n@router.get("/a", responses={"4XX": {"description": "x"}})\ndef a():\n'
        "    raise HTTPException(404)\n",
        id="documented-by-a-range",
    ),
    pytest.param(
        HEAD + '\n@router.get("/a", include_in_schema=False)\ndef a():\n'
        "    raise HTTPException(404)\n",
        id="not-in-the-schema",
    ),
    pytest.param(
        HEAD + '\n@router.get("/a")\ndef a():\n    raise HTTPException(422, "Invalid")\n',
        id="422-is-fastapis-own",
    ),
    pytest.param(
        HEAD + '\n@router.get("/a")\ndef a():\n    raise Hidden()\n',
        id="exception-no-handler-maps",
    ),
    pytest.param(
        HEAD + '\n@router.get("/a")\ndef a():\n    try:\n        service.load(5)\n'
        "    except HTTPException:\n        return None\n",
        id="call-inside-try-catching-httpexception",
    ),
    pytest.param(
        HEAD + "\ndef helper():\n    raise HTTPException(404)\n",
        id="not-a-route",
    ),
]


@pytest.mark.parametrize("source", NOOP)
def test_noop(source):
    assert check_noop(CODEMOD, source, context=CONTEXT) == []


REFUSED = [
    pytest.param(
        HEAD + '\nCOMMON = {}\n\n\n@router.get("/a", responses=COMMON)\ndef a():\n'
        "    raise HTTPException(404)\n",
        "`responses=COMMON` is not a dict literal",
        id="responses-is-a-name",
    ),
    pytest.param(
        HEAD + '\n@dynamic.get("/a")\ndef a():\n    raise HTTPException(404)\n',
        "its router's `responses=COMMON` is not a dict literal",
        id="router-responses-is-a-name",
    ),
    pytest.param(
        HEAD + '\n@router.get("/a")\ndef a(code: int):\n    raise HTTPException(code)\n',
        "app/main.py:16: status code `code` is not a literal",
        id="status-from-a-variable",
    ),
    pytest.param(
        HEAD + '\n@router.get("/a")\ndef a():\n    raise Flexible(status_code=500 if a else 400)\n',
        "status code `500 if a else 400` is not a literal",
        id="subclass-given-a-dynamic-code",
    ),
    pytest.param(
        HEAD + '\n@router.get("/a")\ndef a():\n    raise Flexible()\n',
        "the status code of `app.errors.Flexible` is not fixed",
        id="subclass-without-a-fixed-code",
    ),
]


@pytest.mark.parametrize(("source", "message"), REFUSED)
def test_refused_and_reported(source, message):
    findings = check_noop(CODEMOD, source, context=CONTEXT)
    assert len(findings) == 1
    assert message in findings[0].message
    assert findings[0].kind == "error-response-undocumented"


def test_unresolved_code_is_reported_while_the_known_ones_are_added():
    findings = check_transformed(
        CODEMOD,
        HEAD + '\n@router.get("/a")\ndef a(code: int):\n    if code:\n'
        '        raise HTTPException(code)\n    raise HTTPException(404, "No")\n',
        HEAD + '\n@router.get("/a", responses={404: {"description": "No"}})\n'
        "def a(code: int):\n    if code:\n"
        '        raise HTTPException(code)\n    raise HTTPException(404, "No")\n',
        context=CONTEXT,
    )
    assert [f.line for f in findings] == [14]  # the decorator
    assert "status code `code` is not a literal" in findings[0].message


def test_runs_only_when_selected_by_name():
    assert "document-error-responses" not in {c.name for c in codemods.select()}
    assert [c.name for c in codemods.select(["document-error-responses"])] == [CODEMOD]


# -- end to end on the example app ----------------------------------------------------------

BOOKSHOP_ADDED = {
    ("/users", "post"): ["409"],
    ("/auth/token", "post"): ["401"],
    ("/users/me", "get"): ["401", "403"],
    ("/users/{user_id}", "get"): ["401", "403", "404"],
    ("/books", "post"): ["401", "403", "409"],
    ("/books/{book_id}", "get"): ["404"],
    ("/books/{book_id}/stock", "post"): ["401", "403", "404"],
    ("/books/{book_id}/cover", "put"): ["401", "403", "404", "415"],
    ("/books/{book_id}/enrich", "post"): ["401", "403", "404", "502"],
    ("/orders", "post"): ["401", "403", "404", "409"],
    ("/orders", "get"): ["401", "403"],
    ("/orders/{order_id}", "get"): ["401", "403", "404"],
}


def test_bookshop_openapi_gains_exactly_the_expected_codes(tmp_path, monkeypatch):
    app = copy_example("bookshop", tmp_path)
    spec = EXAMPLE_APPS["bookshop"].app_ref
    before = dump_openapi(app, spec)
    monkeypatch.chdir(app)
    runner = CliRunner()
    result = runner.invoke(main, ["--select", CODEMOD, "--verify", spec, "."])
    assert result.exit_code == 0, result.output
    assert "rolled back" not in result.stderr
    after = dump_openapi(app, spec)

    added = {}
    for path, operations in after["paths"].items():
        for method, operation in operations.items():
            old = before["paths"][path][method]["responses"]
            new = operation["responses"]
            assert {code: new[code] for code in old} == old  # nothing documented changed
            if set(new) - set(old):
                added[(path, method)] = sorted(set(new) - set(old))
            operation["responses"] = old
    assert added == BOOKSHOP_ADDED
    assert after == before  # and nothing else changed
    written = dump_openapi(app, spec)["paths"]["/users"]["post"]["responses"]
    assert written["409"] == {"description": "Email already registered"}
    assert_example_tests_pass(app)
    again = runner.invoke(main, ["--check", "--select", CODEMOD, "."])
    assert again.exit_code == 0, again.output  # a second run changes nothing
