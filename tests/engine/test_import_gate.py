"""The static import gate: which changes leave a project import unresolved."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Mapping
from pathlib import Path

import pytest

from fastapi_fix.engine.discover import discover
from fastapi_fix.engine.import_gate import ImportGate
from fastapi_fix.project.modules import name_modules
from tests.helpers import make_project


def gate(root: Path, files: Mapping[str, str]) -> ImportGate:
    make_project(root, {name: textwrap.dedent(code).encode() for name, code in files.items()})
    return ImportGate(discover([root], cwd=root).files, root)


def check(
    root: Path,
    changed: Mapping[str, str],
    moved: Mapping[str, str] | None = None,
    removed: tuple[str, ...] = (),
) -> list[str]:
    """The gate's problems, on the project under ``root`` as it is on disk (``root`` is the
    current folder, so paths show relative to it)."""
    files = discover([root], cwd=root).files
    return ImportGate(files, root).check(
        {root / name: textwrap.dedent(code).encode() for name, code in changed.items()},
        {root / old: root / new for old, new in (moved or {}).items()},
        [root / name for name in removed],
    )


@pytest.fixture(autouse=True)
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


DB = "class Session: ...\n\ndef get_db():\n    yield Session()\n"
MAIN_ALIAS = "from .db import SessionDep\n\ndef a(db: SessionDep): ...\n"


def test_an_alias_imported_from_a_provider_not_rewritten_is_refused(tmp_path: Path) -> None:
    gate(tmp_path, {"app/__init__.py": "", "app/db.py": DB, "app/main.py": "x = 1\n"})
    assert check(tmp_path, {"app/main.py": MAIN_ALIAS}) == [
        "app/main.py:1:1: cannot import name 'SessionDep' from 'app.db' (app/db.py)"
    ]


def test_the_provider_rewritten_with_it_passes(tmp_path: Path) -> None:
    gate(tmp_path, {"app/__init__.py": "", "app/db.py": DB, "app/main.py": "x = 1\n"})
    with_alias = DB + "SessionDep = int\n"
    assert check(tmp_path, {"app/main.py": MAIN_ALIAS, "app/db.py": with_alias}) == []


def test_a_name_a_rewrite_drops_breaks_the_files_importing_it(tmp_path: Path) -> None:
    gate(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/main.py": "from app.db import Session\n",
            "app/other.py": "from app import main\nfrom app.main import Session\n",
            "app/db.py": DB,
        },
    )
    assert check(tmp_path, {"app/main.py": "x = 1\n"}) == [
        "app/other.py:2:1: cannot import name 'Session' from 'app.main' (app/main.py)"
    ]


DEFINED = {
    "def": "def name(): ...",
    "async-def": "async def name(): ...",
    "class": "class name: ...",
    "assignment": "name = 1",
    "chained-assignment": "other = name = 1",
    "annotated": "name: int = 1",
    "annotation-only": "name: int",
    "augmented": "name += 1",
    "tuple-unpacking": "a, (b, name) = 1, (2, 3)",
    "starred": "a, *name = [1, 2]",
    "for-target": "for name in []: pass",
    "with-as": "with open(__file__) as name: pass",
    "import": "import os as name",
    "import-dotted-binds-first": "import name.path",
    "from-import": "from os import path as name",
    "global-in-function": "def f():\n    global name\n    name = 1",
    "walrus": "if (name := 1): pass",
    "except-as": "try: pass\nexcept Exception as name: pass",
    "if-else": "if f():\n    pass\nelse:\n    name = 2",
    "try-except": "try:\n    from x import name\nexcept ImportError:\n    name = None",
    "while-else": "while False: pass\nelse: name = 1",
    "all": "__all__ = ['name']",
    "all-augmented": "__all__ = []\n__all__ += ('name',)",
    "star-import": "from os.path import *",
    "module-getattr": "def __getattr__(attr): ...",
    "syntax-error-assumes-yes": "def (:",
}
DEFINED["match-capture"] = "match 1:\n    case [a, *name]: pass"
DEFINED["match-mapping-rest"] = "match {}:\n    case {**name}: pass"
DEFINED["match-as"] = "match 1:\n    case int() as name: pass"
if sys.version_info >= (3, 12):
    DEFINED["type-alias"] = "type name = int"


@pytest.mark.parametrize("definition", DEFINED.values(), ids=DEFINED.keys())
def test_names_defined_every_way_a_module_can(tmp_path: Path, definition: str) -> None:
    gate(tmp_path, {"pkg/__init__.py": "", "pkg/mod.py": definition + "\n", "pkg/user.py": ""})
    assert check(tmp_path, {"pkg/user.py": "from pkg.mod import name\n"}) == []


NOT_DEFINED = {
    "in-a-function": "def f():\n    name = 1",
    "in-a-class": "class C:\n    name = 1",
    "a-parameter": "def f(name): ...",
    "in-a-comprehension": "xs = [name for name in ()]",
    "only-deleted-spelling": "nom = 1",
    "dotted-import-binds-first-only": "import os.name",
}


@pytest.mark.parametrize("definition", NOT_DEFINED.values(), ids=NOT_DEFINED.keys())
def test_names_a_module_does_not_define(tmp_path: Path, definition: str) -> None:
    gate(tmp_path, {"pkg/__init__.py": "", "pkg/mod.py": definition + "\n", "pkg/user.py": ""})
    assert check(tmp_path, {"pkg/user.py": "from pkg.mod import name\n"}) == [
        "pkg/user.py:1:1: cannot import name 'name' from 'pkg.mod' (pkg/mod.py)"
    ]


PACKAGE = {
    "top/__init__.py": "TOP = 1\n",
    "top/a/__init__.py": "from .x import X\n",
    "top/a/x.py": "X = 1\n",
    "top/a/deep/__init__.py": "",
    "top/a/deep/y.py": "Y = 1\n",
    "top/b.py": "B = 1\n",
    "top/user.py": "",
}

RELATIVE = [
    ("top/a/deep/y.py", "from . import y", []),
    ("top/a/deep/y.py", "from .. import x, X", []),
    ("top/a/deep/y.py", "from ..x import X", []),
    ("top/a/deep/y.py", "from ...b import B", []),
    ("top/a/deep/y.py", "from ... import TOP, b, a", []),
    ("top/a/__init__.py", "from .deep import y", []),
    ("top/a/__init__.py", "from . import x", []),
    ("top/a/__init__.py", "from .. import b", []),
    (
        "top/a/deep/y.py",
        "from ..x import Y",
        ["top/a/deep/y.py:1:1: cannot import name 'Y' from 'top.a.x' (top/a/x.py)"],
    ),
    (
        "top/a/deep/y.py",
        "from ..nope import Y",
        ["top/a/deep/y.py:1:1: no module named 'top.a.nope'"],
    ),
    (
        "top/a/deep/y.py",
        "from .... import anything",
        ["top/a/deep/y.py:1:1: attempted relative import beyond the top-level package"],
    ),
    (
        "top/b.py",
        "def f():\n    from .a import missing",
        ["top/b.py:2:5: cannot import name 'missing' from 'top.a' (top/a/__init__.py)"],
    ),
]


@pytest.mark.parametrize(("path", "code", "expected"), RELATIVE)
def test_relative_imports_at_several_levels(
    tmp_path: Path, path: str, code: str, expected: list[str]
) -> None:
    gate(tmp_path, PACKAGE)
    assert check(tmp_path, {path: code + "\n"}) == expected


ABSOLUTE = [
    ("import top.a.deep.y", []),
    ("import top.b", []),
    ("from top import a, b, TOP", []),
    ("from top.a import deep, x, X", []),
    ("import top.a.X", ["top/user.py:1:1: no module named 'top.a.X'"]),
    ("import top.c", ["top/user.py:1:1: no module named 'top.c'"]),
    (
        "from top.b import deep",
        ["top/user.py:1:1: cannot import name 'deep' from 'top.b' (top/b.py)"],
    ),
    ("from top.a import *", []),
    ("from top.zz import *", ["top/user.py:1:1: no module named 'top.zz'"]),
    # Not the project's: never checked.
    ("import os.nothing_here\nfrom requests import nothing", []),
    # Guarded: the code expects it may fail.
    ("try:\n    from top.b import nothing\nexcept ImportError:\n    nothing = None", []),
    ("try:\n    from top.b import nothing\nexcept (KeyError, ModuleNotFoundError):\n    pass", []),
    (
        "try:\n    from top.b import nothing\nexcept KeyError:\n    pass",
        ["top/user.py:2:5: cannot import name 'nothing' from 'top.b' (top/b.py)"],
    ),
]


@pytest.mark.parametrize(("code", "expected"), ABSOLUTE)
def test_packages_modules_and_names(tmp_path: Path, code: str, expected: list[str]) -> None:
    gate(tmp_path, PACKAGE)
    assert check(tmp_path, {"top/user.py": code + "\n"}) == expected


def test_namespace_packages(tmp_path: Path) -> None:
    gate(tmp_path, {"ns/inner/mod.py": "X = 1\n", "ns/user.py": ""})
    assert check(tmp_path, {"ns/user.py": "from ns.inner.mod import X\nimport ns.inner\n"}) == []
    assert check(tmp_path, {"ns/user.py": "from ns.inner import mod\n"}) == []
    assert check(tmp_path, {"ns/user.py": "from ns.inner import X\n"}) == [
        "ns/user.py:1:1: cannot import name 'X' from 'ns.inner' (a folder)"
    ]


def test_problems_that_were_there_before_are_not_the_change(tmp_path: Path) -> None:
    gate(tmp_path, {"app/__init__.py": "", "app/main.py": "from app.gone import X\ny = 1\n"})
    assert check(tmp_path, {"app/main.py": "from app.gone import X\ny = 2\n"}) == []
    assert check(tmp_path, {"app/main.py": "from app.gone import X\nfrom app import nope\n"}) == [
        "app/main.py:2:1: cannot import name 'nope' from 'app' (app/__init__.py)"
    ]


def test_moves_resolve_at_the_new_place(tmp_path: Path) -> None:
    gate(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/crud.py": "from .db import Session\n",
            "app/db.py": "Session = 1\n",
            "app/main.py": "from app.crud import Session\n",
        },
    )
    moved = {"app/crud.py": "app/services/crud.py"}
    new_package = {"app/services/__init__.py": ""}
    # The importer not rewritten, the moved module's relative import not either: both break.
    assert check(
        tmp_path, {**new_package, "app/services/crud.py": "from .db import Session\n"}, moved
    ) == [
        "app/services/crud.py:1:1: no module named 'app.services.db'",
        "app/main.py:1:1: no module named 'app.crud'",
    ]
    assert (
        check(
            tmp_path,
            {
                **new_package,
                "app/services/crud.py": "from ..db import Session\n",
                "app/main.py": "from app.services.crud import Session\n",
            },
            moved,
        )
        == []
    )


def test_a_removed_module_breaks_its_importers(tmp_path: Path) -> None:
    gate(tmp_path, {"app/__init__.py": "", "app/db.py": DB, "app/main.py": "import app.db\n"})
    assert check(tmp_path, {}, removed=("app/db.py",)) == [
        "app/main.py:1:1: no module named 'app.db'"
    ]


def test_one_gate_checks_many_change_sets(tmp_path: Path) -> None:
    import_gate = gate(tmp_path, {"app/__init__.py": "", "app/db.py": DB, "app/main.py": ""})
    main = tmp_path / "app/main.py"
    assert import_gate.check({main: MAIN_ALIAS.encode()}) != []
    assert import_gate.check({main: b"from .db import get_db\n"}) == []


def test_a_package_losing_a_name_breaks_a_relative_import_that_does_not_name_it(
    tmp_path: Path,
) -> None:
    gate(
        tmp_path,
        {"app/__init__.py": "X = 1\n", "app/routes.py": "from . import X\n", "app/other.py": ""},
    )
    assert check(tmp_path, {"app/__init__.py": "Y = 1\n"}) == [
        "app/routes.py:1:1: cannot import name 'X' from 'app' (app/__init__.py)"
    ]


def test_a_file_that_does_not_parse_is_not_checked(tmp_path: Path) -> None:
    gate(tmp_path, {"app/__init__.py": "", "app/main.py": ""})
    assert check(tmp_path, {"app/main.py": "from app import nope\ndef (:\n"}) == []


def test_a_change_set_written_is_where_the_next_check_starts(tmp_path: Path) -> None:
    import_gate = gate(tmp_path, {"app/__init__.py": "", "app/db.py": DB, "app/main.py": ""})
    db, main = tmp_path / "app/db.py", tmp_path / "app/main.py"
    with_alias = (DB + "SessionDep = int\n").encode()
    assert import_gate.check({db: with_alias, main: MAIN_ALIAS.encode()}) == []
    import_gate.accept({db: with_alias, main: MAIN_ALIAS.encode()})
    assert import_gate.check({main: MAIN_ALIAS.encode() + b"y = 1\n"}) == []
    assert import_gate.check({db: DB.encode()}) == [
        "app/main.py:1:1: cannot import name 'SessionDep' from 'app.db' (app/db.py)"
    ]


def test_a_moved_module_named_like_the_library_it_imports_leaves_that_import_alone(
    tmp_path: Path,
) -> None:
    # `app/auth/` has no __init__.py: the file is module `app.auth.jwt`, and `import jwt`
    # means PyJWT, before the move (a suffix name `jwt`) and after it.
    gate(
        tmp_path,
        {"app/__init__.py": "", "app/core/__init__.py": "", "app/auth/jwt.py": "import jwt\n"},
    )
    files = name_modules(discover([tmp_path], cwd=tmp_path), tmp_path).files
    moved = {tmp_path / "app/auth/jwt.py": tmp_path / "app/core/security.py"}
    changed = {tmp_path / "app/core/security.py": b"import jwt\n"}
    assert ImportGate(files, tmp_path).check(changed, moved) == []
