"""depends-to-annotated plans around the files a run will not write (`FixedPoints`).

An alias is only defined in a file the run writes, and only the uses in files it writes count
towards sharing one; a dependency in a fixed file is written out in full where it is used.
A file importing an alias that another file's rewrite defines requires that file.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping

import pytest

from fastapi_fix.codemods.depends_to_annotated import DependsToAnnotated
from fastapi_fix.engine.codemod import Settings
from fastapi_fix.engine.results import FileResult, Status
from fastapi_fix.engine.runner import Runner
from tests.helpers import PROJECT, VARIANTS, in_memory_file

DB = """\
from collections.abc import Iterator


class Session:
    pass


def get_db() -> Iterator[Session]:
    yield Session()
"""

DB_WITH_ALIAS = """\
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends


class Session:
    pass


def get_db() -> Iterator[Session]:
    yield Session()


SessionDep = Annotated[Session, Depends(get_db)]
"""

ROUTES = """\
from fastapi import Depends, FastAPI

from .db import Session, get_db

app = FastAPI()


@app.get("/a")
def a(db: Session = Depends(get_db)):
    return {}


@app.get("/b")
def b(db: Session = Depends(get_db)):
    return {}
"""

ROUTES_INLINE = """\
from typing import Annotated

from fastapi import Depends, FastAPI

from .db import Session, get_db

app = FastAPI()


@app.get("/a")
def a(db: Annotated[Session, Depends(get_db)]):
    return {}


@app.get("/b")
def b(db: Annotated[Session, Depends(get_db)]):
    return {}
"""

ROUTES_ALIAS = """\
from fastapi import FastAPI

from .db import SessionDep

app = FastAPI()


@app.get("/a")
def a(db: SessionDep):
    return {}


@app.get("/b")
def b(db: SessionDep):
    return {}
"""

ONE_ROUTE = """\
from fastapi import Depends, FastAPI

from .db import Session, get_db

app = FastAPI()


@app.get("/c")
def c(db: Session = Depends(get_db)):
    return {}
"""


def run(
    named: Mapping[str, str], unnamed: Mapping[str, str] | None = None, variant: str = "lf"
) -> dict[str, FileResult]:
    """Run the codemod on an in-memory project: ``named`` files are to be rewritten, the
    ``unnamed`` ones only read (as for files not given on the command line)."""
    unnamed = unnamed or {}
    encode = VARIANTS[variant]
    sources = {
        in_memory_file(path): encode(textwrap.dedent(code).encode())
        for path, code in {"app/__init__.py": "", **named, **unnamed}.items()
    }
    files = [f for f in sources if f.display_path not in unnamed]
    context = [f for f in sources if f.display_path in unnamed]
    results = Runner([DependsToAnnotated(Settings())], jobs=1).run(
        files, sources=sources, context=context
    )
    return {r.display_path: r for r in results}


def new_text(result: FileResult) -> str:
    assert result.status is Status.CHANGED, result.reason
    assert result.new is not None
    return result.new.decode("utf-8-sig").replace("\r\n", "\n")


@pytest.mark.parametrize("variant", VARIANTS)
def test_provider_not_named_its_uses_are_written_inline(variant: str) -> None:
    results = run({"app/main.py": ROUTES}, unnamed={"app/db.py": DB}, variant=variant)
    assert new_text(results["app/main.py"]) == ROUTES_INLINE
    assert results["app/main.py"].requires == frozenset()
    again = run({"app/main.py": ROUTES_INLINE}, unnamed={"app/db.py": DB}, variant=variant)
    assert again["app/main.py"].status is Status.UNCHANGED


def test_provider_with_a_suppression_comment_is_not_given_an_alias() -> None:
    db = DB.replace("class Session:", "class Session:  # fastapi-fix: ignore")
    results = run({"app/main.py": ROUTES, "app/db.py": db})
    assert new_text(results["app/main.py"]) == ROUTES_INLINE
    assert results["app/db.py"].status is Status.UNCHANGED


def test_suppression_for_another_codemod_does_not_stop_the_alias() -> None:
    db = DB.replace("class Session:", "class Session:  # fastapi-fix: ignore[async-to-sync]")
    results = run({"app/main.py": ROUTES, "app/db.py": db})
    assert new_text(results["app/main.py"]) == ROUTES_ALIAS


def test_both_written_the_importer_requires_the_provider() -> None:
    results = run({"app/main.py": ROUTES, "app/db.py": DB})
    assert new_text(results["app/db.py"]) == DB_WITH_ALIAS
    assert new_text(results["app/main.py"]) == ROUTES_ALIAS
    assert results["app/main.py"].requires == frozenset({PROJECT / "app/db.py"})
    assert results["app/db.py"].requires == frozenset()


def test_provider_alone_named_defines_no_alias_for_uses_it_does_not_write() -> None:
    results = run({"app/db.py": DB}, unnamed={"app/main.py": ROUTES})
    assert results["app/db.py"].status is Status.UNCHANGED


def test_uses_in_files_not_written_do_not_count_towards_an_alias() -> None:
    # One use in a written file, two in a file only read: no alias (it would serve one use).
    results = run({"app/db.py": DB, "app/other.py": ONE_ROUTE}, unnamed={"app/main.py": ROUTES})
    assert results["app/db.py"].status is Status.UNCHANGED
    assert "Annotated[Session, Depends(get_db)]" in new_text(results["app/other.py"])


def test_two_written_uses_share_an_alias_whatever_the_unwritten_ones_do() -> None:
    results = run({"app/db.py": DB, "app/main.py": ROUTES}, unnamed={"app/other.py": ONE_ROUTE})
    assert new_text(results["app/db.py"]) == DB_WITH_ALIAS
    assert new_text(results["app/main.py"]) == ROUTES_ALIAS


def test_an_alias_already_in_a_file_not_named_is_imported_from_there() -> None:
    # The alias exists on disk: importing it needs no rewrite of its file.
    results = run({"app/main.py": ROUTES}, unnamed={"app/db.py": DB_WITH_ALIAS})
    assert new_text(results["app/main.py"]) == ROUTES_ALIAS
    assert results["app/main.py"].requires == frozenset()


def test_a_provider_written_with_its_uses_in_one_file_needs_no_other_file() -> None:
    routes = ROUTES.split("app = FastAPI()")[1]
    single = "from fastapi import Depends, FastAPI\n" + DB + "\n\napp = FastAPI()" + routes
    results = run({"app/single.py": single}, unnamed={"app/main.py": ROUTES})
    text = new_text(results["app/single.py"])
    assert "\nSessionDep = Annotated[Session, Depends(get_db)]\n" in text
    assert "def a(db: SessionDep):" in text
    assert results["app/single.py"].requires == frozenset()
