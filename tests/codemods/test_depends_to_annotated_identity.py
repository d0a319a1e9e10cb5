"""depends-to-annotated copies only what it changes.

The transform walks statement blocks and rebuilds only the nodes on the way to a changed
signature: every other statement keeps its identity, and a module with nothing to change
comes back as the same object, so the engine's stability check (a second run over the
rewritten tree) need not print it again.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from collections.abc import Mapping

import libcst as cst
import pytest

from fastapi_fix.codemods.depends_to_annotated import DependsToAnnotated
from fastapi_fix.codemods.depends_to_annotated.imports import (
    add_imports,
    insert_aliases,
    remove_imports,
)
from fastapi_fix.codemods.depends_to_annotated.index import AliasDefinition
from fastapi_fix.codemods.depends_to_annotated.transform import _NESTED
from fastapi_fix.engine.codemod import FileContext, Settings
from fastapi_fix.engine.results import Finding
from tests.helpers import check_noop, check_transformed, in_memory_file, run_project

CODEMOD = "depends-to-annotated"

DEPS = """\
    from fastapi import Depends, Query
    from sqlalchemy.orm import Session


    def get_db():
        yield Session()


    def paginate(page: int = Query(1)):
        return page
    """

MAIN = """\
    from fastapi import Depends, FastAPI, Query
    from sqlalchemy.orm import Session

    from app.deps import get_db

    app = FastAPI()
    LIMIT = 10


    class Untouched:
        def method(self):
            return 1


    class Routes:
        def helper(self):
            return 2

        def read(self, db: Session = Depends(get_db)):
            return db


    def plain(x: int = 1):
        return x


    @app.get("/")
    def index(q: str | None = Query(None), db: Session = Depends(get_db)):
        return q


    if LIMIT:
        FLAG = True

        def under_if(db: Session = Depends(get_db)):
            return db
    """


class Transformed:
    """Two runs of the transform over one file of an in-memory project."""

    def __init__(self, files: Mapping[str, str], path: str) -> None:
        codemod = DependsToAnnotated(Settings((3, 10)))
        sources = {
            in_memory_file(name): textwrap.dedent(code).encode() for name, code in files.items()
        }
        facts = {file: codemod.gather(file, ast.parse(data)) for file, data in sources.items()}
        index = codemod.build_index(
            {file: fact for file, fact in facts.items() if fact is not None}, []
        )
        file = in_memory_file(path)
        self.module = cst.parse_module(sources[file])
        self.first_context = FileContext(file, CODEMOD)
        self.first = codemod.transform(self.first_context, self.module, index)
        self.second_context = FileContext(file, CODEMOD)
        self.second = codemod.transform(self.second_context, self.first, index)


def _statements(block: cst.Module | cst.IndentedBlock) -> dict[str, cst.BaseStatement]:
    """The block's classes and functions by name."""
    return {
        stmt.name.value: stmt
        for stmt in block.body
        if isinstance(stmt, (cst.ClassDef, cst.FunctionDef))
    }


def test_a_second_run_over_a_rewritten_module_returns_the_same_object() -> None:
    run = Transformed(
        {"app/__init__.py": "", "app/deps.py": DEPS, "app/main.py": MAIN}, "app/main.py"
    )
    new = run.first.code
    # The first run did all there is to do: an alias imported, Annotated added, imports dropped.
    assert "from app.deps import SessionDep\n" in new
    assert "from fastapi import FastAPI, Query\n" in new
    assert "q: Annotated[str | None, Query()] = None, db: SessionDep):" in new
    assert "from sqlalchemy.orm import Session\n" not in new
    assert run.second is run.first
    assert run.second_context.edits == []


def test_a_second_run_over_the_module_defining_the_alias_returns_the_same_object() -> None:
    main = """\
        from fastapi import FastAPI

        from app.deps import paginate

        app = FastAPI()
        """
    uses = """\
        from fastapi import Depends
        from sqlalchemy.orm import Session

        from app.deps import get_db


        def first(db: Session = Depends(get_db)): ...


        def second(db: Session = Depends(get_db)): ...
        """
    files = {"app/__init__.py": "", "app/deps.py": DEPS, "app/main.py": main, "app/uses.py": uses}
    run = Transformed(files, "app/deps.py")
    assert "SessionDep = Annotated[Session, Depends(get_db)]\n" in run.first.code
    assert run.second is run.first


def test_untouched_statements_keep_their_identity() -> None:
    run = Transformed(
        {"app/__init__.py": "", "app/deps.py": DEPS, "app/main.py": MAIN}, "app/main.py"
    )
    before, after = run.module, run.first
    kept = [stmt for stmt in after.body if any(stmt is old for old in before.body)]
    # Only the import lines and the statements on the way to a rewritten signature are new.
    assert [before.code_for_node(stmt).strip().partition("\n")[0] for stmt in kept] == [
        "app = FastAPI()",
        "LIMIT = 10",
        "class Untouched:",
        "def plain(x: int = 1):",
    ]
    old_routes, new_routes = _statements(before)["Routes"], _statements(after)["Routes"]
    assert new_routes is not old_routes
    assert new_routes.decorators is old_routes.decorators
    assert _statements(new_routes.body)["helper"] is _statements(old_routes.body)["helper"]
    assert _statements(new_routes.body)["read"] is not _statements(old_routes.body)["read"]
    old_index, new_index = _statements(before)["index"], _statements(after)["index"]
    assert new_index.body is old_index.body
    assert new_index.decorators is old_index.decorators
    old_if, new_if = before.body[-1], after.body[-1]
    assert isinstance(old_if, cst.If) and isinstance(new_if, cst.If)
    assert new_if.test is old_if.test
    assert new_if.body.body[0] is old_if.body.body[0]  # FLAG = True


def test_a_file_whose_every_parameter_is_left_comes_back_as_the_same_object() -> None:
    deps = """\
        from fastapi import Depends, Query


        def get_token():
            return "t"


        def paginate(page: int = Query(1), token: str = Depends(get_token)):
            return page
        """
    caller = "from app.deps import paginate\n\n\ndef test_paginate():\n    assert paginate(2, 'x') == 2\n"
    files = {
        "app/__init__.py": "",
        "app/deps.py": deps,
        "tests/__init__.py": "",
        "tests/test_deps.py": caller,
    }
    run = Transformed(files, "app/deps.py")
    assert run.first is run.module
    assert [(f.line, f.column, f.message) for f in run.first_context.findings] == [
        (8, 14, "`page` left as is: `paginate` is called positionally at tests/test_deps.py:5"),
        (8, 36, "`token` left as is: `paginate` is called positionally at tests/test_deps.py:5"),
    ]


# -- the walk reaches every block, in source order, inner functions first ------------------

EVERY_BLOCK_BEFORE = """\
    from fastapi import FastAPI, Query

    app = FastAPI()


    def outer(a: str = Query("a")):
        def inner(b: str = Query("b")):
            def inner(c: str = Query("c")): ...
        def inner(d: str = Query("d")): ...


    class Box:
        class Lid:
            def open(self, e: str = Query("e")): ...


    if app:
        def cond(f: str = Query("f")): ...
    elif app is None:
        def cond(g: str = Query("g")): ...
    else:
        def cond(h: str = Query("h")): ...
    try:
        def attempt(i: str = Query("i")): ...
    except ValueError:
        def attempt(j: str = Query("j")): ...
    else:
        def attempt(k: str = Query("k")): ...
    finally:
        def attempt(m: str = Query("m")): ...
    for _ in ():
        def loop(n: str = Query("n")): ...
    else:
        def loop(o: str = Query("o")): ...
    while False:
        def loop(p: str = Query("p")): ...
    with open(__file__):
        def opened(r: str = Query("r")): ...
    match app:
        case FastAPI():
            def matched(s: str = Query("s")): ...
    """

EVERY_BLOCK_AFTER = EVERY_BLOCK_BEFORE.replace(
    "from fastapi import FastAPI, Query",
    "from typing import Annotated\n\n    from fastapi import FastAPI, Query",
)
for _name in "abcdefghijkmnoprs":
    EVERY_BLOCK_AFTER = EVERY_BLOCK_AFTER.replace(
        f'{_name}: str = Query("{_name}")', f'{_name}: Annotated[str, Query()] = "{_name}"'
    )


def test_functions_in_every_kind_of_block_are_rewritten_inner_ones_first() -> None:
    check_transformed(CODEMOD, EVERY_BLOCK_BEFORE, EVERY_BLOCK_AFTER, target_version=(3, 10))
    result = run_project(
        CODEMOD,
        {"app/main.py": textwrap.dedent(EVERY_BLOCK_BEFORE).encode()},
        target_version=(3, 10),
    )["app/main.py"]
    # Edits come in the order the walk records them: a function after the ones inside it.
    assert [edit.description.partition(":")[0] for edit in result.edits] == [
        "`c`",
        "`b`",
        "`d`",
        "`a`",
        "`e`",
        "`f`",
        "`g`",
        "`h`",
        "`i`",
        "`j`",
        "`k`",
        "`m`",
        "`n`",
        "`o`",
        "`p`",
        "`r`",
        "`s`",
    ]


def test_every_compound_statement_of_libcst_is_walked() -> None:
    compound = {
        cls
        for _, cls in inspect.getmembers(cst, inspect.isclass)
        if issubclass(cls, cst.BaseCompoundStatement)
        and not inspect.isabstract(cls)
        and cls is not cst.BaseCompoundStatement
    }
    assert compound <= _NESTED.keys()


# -- columns of findings, in characters ----------------------------------------------------


def _columns(findings: list[Finding]) -> list[tuple[int, int]]:
    return [(finding.line, finding.column) for finding in findings]


def test_finding_columns_count_characters_not_bytes() -> None:
    deps = """\
        from fastapi import Depends, Query


        def get_token():
            return "t"


        def café(é: str = "é", page: int = Query(1), token: str = Depends(get_token)):
            return page


        def two(label: str = "naïve",
                page: int = Query(1), token: str = Depends(get_token)):
            return page
        """
    caller = """\
        from app.deps import café, two


        def test_it():
            assert café("x", 2, "t") == two("x", 2, "t")
        """
    findings = check_noop(
        CODEMOD,
        deps,
        path="app/deps.py",
        context={"app/__init__.py": "", "tests/__init__.py": "", "tests/test_deps.py": caller},
    )
    assert _columns(findings) == [
        (8, len('def café(é: str = "é", ') + 1),
        (8, len('def café(é: str = "é", page: int = Query(1), ') + 1),
        (13, len("        ") + 1),
        (13, len("        page: int = Query(1), ") + 1),
    ]


# -- PEP 695 type parameters: their names count wherever they are ---------------------------


def test_type_parameters_of_a_type_alias_in_a_one_line_block_keep_their_import() -> None:
    # The running Python's ast may not read `type X[T: Session] = ...`; the engine spells it for
    # gathering without the type parameters, so the rewrite must count their names itself.
    main = textwrap.dedent("""\
        from fastapi import Depends, FastAPI
        from sqlalchemy.orm import Session

        from app.db import get_db

        app = FastAPI()

        if app: type Pair[T: Session] = tuple[T, T]


        @app.get("/")
        def first(db: Session = Depends(get_db)): ...


        @app.get("/two")
        def second(db: Session = Depends(get_db)): ...
        """)
    db = "from sqlalchemy.orm import Session\n\n\ndef get_db():\n    yield Session()\n"
    new = run_project(CODEMOD, {"app/main.py": main.encode(), "app/db.py": db.encode()})[
        "app/main.py"
    ].new
    assert new is not None
    assert "def first(db: SessionDep): ..." in new.decode()
    assert "from sqlalchemy.orm import Session\n" in new.decode()


# -- the import helpers hand back the module itself when they have nothing to do ----------

MODULE = cst.parse_module(
    textwrap.dedent("""\
    from typing import Annotated

    from fastapi import Depends
    from sqlalchemy.orm import Session


    def get_db():
        yield Session()


    SessionDep = Annotated[Session, Depends(get_db)]
    """)
)
FILE = in_memory_file("app/deps.py")


@pytest.mark.parametrize(
    "imports",
    [
        pytest.param([], id="none"),
        pytest.param([("fastapi", "Depends"), ("typing", "Annotated")], id="already-imported"),
    ],
)
def test_add_imports_with_nothing_new_returns_the_module(imports: list[tuple[str, str]]) -> None:
    assert add_imports(MODULE, imports, FILE, frozenset({"app"})) is MODULE


@pytest.mark.parametrize(
    "imports",
    [
        pytest.param([], id="none"),
        pytest.param(
            [("fastapi", "Query", None), ("sqlalchemy.orm", "Session", "S")], id="not-there"
        ),
    ],
)
def test_remove_imports_with_nothing_there_returns_the_module(
    imports: list[tuple[str, str, str | None]],
) -> None:
    assert remove_imports(MODULE, FILE, imports) is MODULE


def test_remove_imports_keeps_the_other_statements() -> None:
    removed = remove_imports(MODULE, FILE, [("fastapi", "Depends", None)])
    assert "from fastapi import" not in removed.code
    # The line after the removed one takes over its blank line: it is new, the others are not.
    kept = [stmt for stmt in removed.body if any(stmt is old for old in MODULE.body)]
    assert kept == [MODULE.body[0], *MODULE.body[3:]]


def test_insert_aliases_already_defined_returns_the_module() -> None:
    alias = AliasDefinition(
        "SessionDep", "get_db", 8, "SessionDep = Annotated[Session, Depends(get_db)]", ()
    )
    module, inserted = insert_aliases(MODULE, [alias])
    assert module is MODULE
    assert inserted == []
    assert insert_aliases(MODULE, [])[0] is MODULE
