"""``# fastapi-fix: ignore``: the engine undoes what a codemod did on suppressed lines.

Test-only codemods stand in for the real ones: a line-level rename, one that inserts a
decorator (an insertion next to a suppressed function), one that also removes an import
(a partial revert would leave an undefined name) and one whose partial revert would not
compile. Every case goes through the shared helper (LF, CRLF, BOM, compile, second run).
"""

from __future__ import annotations

import libcst as cst
import pytest
from click.testing import CliRunner
from libcst.metadata import MetadataWrapper, PositionProvider

from fastapi_fix import codemods
from fastapi_fix.cli import main
from fastapi_fix.engine.codemod import Codemod, FileContext
from fastapi_fix.engine.suppress import find_suppressions, parse_comment
from tests.example_apps import copy_example
from tests.helpers import check_noop, check_transformed, run_project

REAL_REGISTRY = codemods.REGISTRY


class RenameAttribute(Codemod):
    """``x.old`` → ``x.new`` (consistent whichever lines keep ``old``); reports ``x.legacy``."""

    name = "rename-attribute"
    summary = "old → new"
    safety = "test only"
    markers = (b"old", b"legacy")

    def transform(self, ctx: FileContext, module: cst.Module, index: object) -> cst.Module:
        wrapper = MetadataWrapper(module)
        positions = wrapper.resolve(PositionProvider)

        class Rename(cst.CSTTransformer):
            def leave_Attribute(
                self, original: cst.Attribute, updated: cst.Attribute
            ) -> cst.Attribute:
                start = positions[original.attr].start
                if original.attr.value == "old":
                    ctx.record_edit(start.line, start.line, "old → new")
                    return updated.with_changes(attr=cst.Name("new"))
                if original.attr.value == "legacy":
                    ctx.report(start.line, start.column, "legacy left alone")
                return updated

        return wrapper.module.visit(Rename())


class AddLogDecorator(Codemod):
    """Decorates every ``task_*`` function with ``@log.task`` and imports ``log``."""

    name = "add-log-decorator"
    summary = "decorate tasks"
    safety = "test only"
    markers = (b"def task_",)

    def transform(self, ctx: FileContext, module: cst.Module, index: object) -> cst.Module:
        decorator = cst.Decorator(cst.parse_expression("log.task"))
        body = []
        for statement in module.body:
            if (
                isinstance(statement, cst.FunctionDef)
                and statement.name.value.startswith("task_")
                and not statement.decorators
            ):
                ctx.record_edit(1, 1, f"decorate {statement.name.value}")
                statement = statement.with_changes(decorators=[decorator])
            body.append(statement)
        imported = any(module.code_for_node(s).strip() == "import log" for s in module.body)
        if body != list(module.body) and not imported:
            body.insert(0, cst.parse_statement("import log\n"))
        return module.with_changes(body=body)


class InlineHelper(Codemod):
    """Replaces ``helper()`` by ``0`` and drops ``from lib import helper`` once unused."""

    name = "inline-helper"
    summary = "inline helper"
    safety = "test only"
    markers = (b"helper",)

    def transform(self, ctx: FileContext, module: cst.Module, index: object) -> cst.Module:
        class Inline(cst.CSTTransformer):
            def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
                if isinstance(updated.func, cst.Name) and updated.func.value == "helper":
                    return cst.Integer("0")
                return updated

        module = module.visit(Inline())
        if "helper(" not in module.code:
            body = [s for s in module.body if "import helper" not in module.code_for_node(s)]
            module = module.with_changes(body=body)
        return module


class Unasync(Codemod):
    """``async def`` → ``def`` and ``await x`` → ``x``: a kept ``await`` would not compile."""

    name = "unasync"
    summary = "unasync"
    safety = "test only"
    markers = (b"async",)

    def transform(self, ctx: FileContext, module: cst.Module, index: object) -> cst.Module:
        class Drop(cst.CSTTransformer):
            def leave_FunctionDef(
                self, original: cst.FunctionDef, updated: cst.FunctionDef
            ) -> cst.FunctionDef:
                return updated.with_changes(asynchronous=None)

            def leave_Await(self, original: cst.Await, updated: cst.Await) -> cst.BaseExpression:
                return updated.expression

        return module.visit(Drop())


class DropNoneDefaults(Codemod):
    """Removes every ``=None`` default (the whole signature stays valid; a part would not)."""

    name = "drop-none-defaults"
    summary = "drop None defaults"
    safety = "test only"
    markers = (b"None",)

    def transform(self, ctx: FileContext, module: cst.Module, index: object) -> cst.Module:
        class Drop(cst.CSTTransformer):
            def leave_Param(self, original: cst.Param, updated: cst.Param) -> cst.Param:
                if isinstance(updated.default, cst.Name) and updated.default.value == "None":
                    return updated.with_changes(default=None, equal=cst.MaybeSentinel.DEFAULT)
                return updated

        return module.visit(Drop())


@pytest.fixture(autouse=True)
def test_registry(monkeypatch):
    monkeypatch.setattr(
        codemods,
        "REGISTRY",
        (RenameAttribute, AddLogDecorator, InlineHelper, Unasync, DropNoneDefaults),
    )


LINE_CASES = [
    pytest.param(
        "x.old = 1  # fastapi-fix: ignore\nprint(x.old)\n",
        "x.old = 1  # fastapi-fix: ignore\nprint(x.new)\n",
        id="trailing comment keeps its line",
    ),
    pytest.param(
        "x.old = 1  # fastapi-fix: ignore[rename-attribute]\nprint(x.old)\n",
        "x.old = 1  # fastapi-fix: ignore[rename-attribute]\nprint(x.new)\n",
        id="comment naming the codemod",
    ),
    pytest.param(
        "x.old = 1  # fastapi-fix: ignore[inline-helper, rename-attribute]\nprint(x.old)\n",
        "x.old = 1  # fastapi-fix: ignore[inline-helper, rename-attribute]\nprint(x.new)\n",
        id="comma list naming the codemod",
    ),
    pytest.param(
        "x.old = 1  # fastapi-fix: ignore[inline-helper]\nprint(x.old)\n",
        "x.new = 1  # fastapi-fix: ignore[inline-helper]\nprint(x.new)\n",
        id="comment naming another codemod suppresses nothing here",
    ),
    pytest.param(
        "x.old = 1  # noqa: E501  # fastapi-fix: ignore\nprint(x.old)\n",
        "x.old = 1  # noqa: E501  # fastapi-fix: ignore\nprint(x.new)\n",
        id="shares the comment with another tool",
    ),
    pytest.param(
        "print(\n    x.old,  # fastapi-fix: ignore\n    x.old,\n)\nx.old\n",
        "print(\n    x.old,  # fastapi-fix: ignore\n    x.old,\n)\nx.new\n",
        id="multi-line statement is suppressed as a whole",
    ),
    pytest.param(
        "a = x.old\nb = x.old  # fastapi-fix: ignore\nc = x.old\n",
        "a = x.new\nb = x.old  # fastapi-fix: ignore\nc = x.new\n",
        id="neighbouring rewritten lines stay rewritten",
    ),
    pytest.param(
        'y = "# fastapi-fix: ignore"; x.old = 1\n',
        'y = "# fastapi-fix: ignore"; x.new = 1\n',
        id="inside a string it is no comment",
    ),
    pytest.param(
        "x.old = 1  # fastapi-fix: ignored\n",
        "x.new = 1  # fastapi-fix: ignored\n",
        id="a different word is not the directive",
    ),
]


@pytest.mark.parametrize(("before", "after"), LINE_CASES)
def test_line_suppression(before, after):
    check_transformed("rename-attribute", before, after)


FUNCTION_CASES = [
    pytest.param(
        "def f():  # fastapi-fix: ignore\n    return x.old\n\n\ndef g():\n    return x.old\n",
        "def f():  # fastapi-fix: ignore\n    return x.old\n\n\ndef g():\n    return x.new\n",
        id="comment on the def line",
    ),
    pytest.param(
        "@app.get('/')  # fastapi-fix: ignore\nasync def f():\n    return x.old\n\n\nx.old\n",
        "@app.get('/')  # fastapi-fix: ignore\nasync def f():\n    return x.old\n\n\nx.new\n",
        id="comment on a decorator line",
    ),
    pytest.param(
        "@app.get(\n    '/',  # fastapi-fix: ignore\n)\ndef f():\n    return x.old\nx.old\n",
        "@app.get(\n    '/',  # fastapi-fix: ignore\n)\ndef f():\n    return x.old\nx.new\n",
        id="comment on a line of a multi-line decorator",
    ),
    pytest.param(
        "def f(\n    a=x.old,\n):  # fastapi-fix: ignore\n    return x.old\nx.old\n",
        "def f(\n    a=x.old,\n):  # fastapi-fix: ignore\n    return x.old\nx.new\n",
        id="comment after the colon of a multi-line signature",
    ),
    pytest.param(
        "def f(\n    a=x.old,  # fastapi-fix: ignore\n    b=x.old,\n):\n    return x.old\n",
        "def f(\n    a=x.old,  # fastapi-fix: ignore\n    b=x.new,\n):\n    return x.new\n",
        id="comment on a parameter keeps only that parameter",
    ),
    pytest.param(
        "def outer():\n    def inner():  # fastapi-fix: ignore\n        return x.old\n    return x.old\n",
        "def outer():\n    def inner():  # fastapi-fix: ignore\n        return x.old\n    return x.new\n",
        id="nested function alone",
    ),
]


@pytest.mark.parametrize(("before", "after"), FUNCTION_CASES)
def test_function_suppression(before, after):
    check_transformed("rename-attribute", before, after)


def test_findings_and_edits_inside_suppressed_ranges_are_dropped(monkeypatch):
    findings = check_transformed(
        "rename-attribute",
        "def f():  # fastapi-fix: ignore\n    return x.old, x.legacy\n\n\nx.old, x.legacy\n",
        "def f():  # fastapi-fix: ignore\n    return x.old, x.legacy\n\n\nx.new, x.legacy\n",
    )
    assert [(f.line, f.column) for f in findings] == [(5, 10)]
    result = run_project(
        "rename-attribute", {"app/main.py": b"x.old  # fastapi-fix: ignore\nx.old\n"}
    )
    assert [(e.line, e.end_line) for e in result["app/main.py"].edits] == [(2, 2)]


def test_everything_suppressed_is_a_noop_without_findings():
    assert check_noop("rename-attribute", "x.old = x.legacy  # fastapi-fix: ignore\n") == []


def test_inserted_decorator_is_kept_off_a_suppressed_function():
    check_transformed(
        "add-log-decorator",
        "def task_a():  # fastapi-fix: ignore\n    pass\n\n\ndef task_b():\n    pass\n",
        "import log\ndef task_a():  # fastapi-fix: ignore\n    pass\n\n\n@log.task\ndef task_b():\n    pass\n",
    )


def test_import_added_for_a_reverted_use_stays_harmlessly():
    check_transformed(
        "add-log-decorator",
        "def task_a():  # fastapi-fix: ignore\n    pass\n",
        "import log\ndef task_a():  # fastapi-fix: ignore\n    pass\n",
    )


def test_partial_revert_leaving_an_undefined_name_leaves_the_file_unchanged():
    source = "from lib import helper\n\nx = helper()\ny = helper()  # fastapi-fix: ignore\n"
    findings = check_noop("inline-helper", source)
    assert [(f.line, f.codemod) for f in findings] == [(4, "inline-helper")]
    assert "undefined names: helper" in findings[0].message
    assert "left the whole file unchanged" in findings[0].message


def test_without_the_suppressed_use_the_import_goes():
    check_transformed(
        "inline-helper",
        "from lib import helper\n\nx = helper()\n",
        "\nx = 0\n",
    )


def test_partial_revert_that_would_not_compile_leaves_the_file_unchanged():
    source = "async def f(x):\n    a = await x  # fastapi-fix: ignore\n    return await x\n"
    findings = check_noop("unasync", source)
    assert [(f.line, f.codemod) for f in findings] == [(2, "unasync")]
    assert "would not compile: 'await' outside async function" in findings[0].message


def test_partial_revert_that_would_not_parse_leaves_the_file_unchanged():
    source = "def f(\n    a=None,  # fastapi-fix: ignore\n    b=None,\n):\n    pass\n"
    findings = check_noop("drop-none-defaults", source)
    assert len(findings) == 1 and "would not parse" in findings[0].message
    assert findings[0].line == 2


def test_suppressed_whole_function_with_consistent_rest():
    check_transformed(
        "drop-none-defaults",
        "def f(a=None):  # fastapi-fix: ignore\n    pass\n\n\ndef g(a=None):\n    pass\n",
        "def f(a=None):  # fastapi-fix: ignore\n    pass\n\n\ndef g(a):\n    pass\n",
    )


@pytest.mark.parametrize(
    ("comment", "expected"),
    [
        pytest.param("# fastapi-fix: ignore", None, id="all"),
        pytest.param("#fastapi-fix:ignore", None, id="no spaces"),
        pytest.param("# fastapi-fix: ignore  because of X", None, id="with a reason"),
        pytest.param("# fastapi-fix: ignore[a]", frozenset({"a"}), id="one name"),
        pytest.param("# fastapi-fix: ignore[a, b]", frozenset({"a", "b"}), id="two names"),
        pytest.param(
            "# type: ignore  # fastapi-fix: ignore[a]", frozenset({"a"}), id="after another"
        ),
        pytest.param("# fastapi-fix: ignored", False, id="other word"),
        pytest.param("# fastapi-fix: ignore[a", False, id="unclosed bracket"),
        pytest.param("# ignore", False, id="someone else's"),
    ],
)
def test_parse_comment(comment, expected):
    assert parse_comment(comment) == expected


def test_find_suppressions_ranges():
    module = cst.parse_module(
        b"import x  # fastapi-fix: ignore[a]\n"
        b"@deco  # fastapi-fix: ignore\n"
        b"def f():\n"
        b"    return 1\n"
        b"y = (1,\n"
        b"     2)  # fastapi-fix: ignore\n"
    )
    found = [
        (s.first, s.last, s.codemods, s.comment_line, s.whole_function)
        for s in find_suppressions(module)
    ]
    assert found == [
        (1, 1, frozenset({"a"}), 1, False),
        (2, 4, None, 2, True),
        (5, 6, None, 6, False),
    ]


def test_real_codemod_on_the_example_keeps_suppressed_functions(tmp_path, monkeypatch):
    """End to end with async-to-sync on a copy of the bookshop: the suppressed route stays."""
    monkeypatch.setattr(codemods, "REGISTRY", REAL_REGISTRY)
    app = copy_example("bookshop", tmp_path)
    books = app / "bookshop/routers/books.py"
    original = books.read_text()
    line = "async def restock_book("
    assert invoke_cli("--select", "async-to-sync", str(app)).exit_code == 0
    assert "def restock_book(" in books.read_text() and line not in books.read_text()  # converted
    books.write_text(original.replace(line, f"{line}  # fastapi-fix: ignore"))
    assert invoke_cli("--select", "async-to-sync", str(app)).exit_code == 0
    assert f"{line}  # fastapi-fix: ignore" in books.read_text()  # kept async
    assert "async def create_book(" not in books.read_text()  # the others still converted


def invoke_cli(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def _blocks(count: int, suppressed: int) -> tuple[str, str]:
    """A file of ``count`` alike functions (several lines repeated in each), the
    ``suppressed``-th one kept by its comment: before and after rename-attribute."""
    before, after = [], []
    for n in range(count):
        comment = "  # fastapi-fix: ignore" if n == suppressed else ""
        body = "    value = x.old\n    if value:\n        return value\n    return None\n"
        before.append(f"def f{n}():{comment}\n{body}\n\n")
        after.append(f"def f{n}():{comment}\n{body if comment else body.replace('old', 'new')}\n\n")
    return "".join(before), "".join(after)


@pytest.mark.parametrize(
    "count",
    [pytest.param(50, id="ordinary file"), pytest.param(300, id="over 2,000 lines: anchored")],
)
def test_a_suppression_in_a_file_of_alike_functions(count):
    """Above 2,000 lines the changed regions are found between lines that occur once on
    each side (as ``git diff --patience``), so a large file costs linear time; the result is
    the same as on a small one: only the suppressed function is kept."""
    before, after = _blocks(count, suppressed=count // 2)
    assert before.count("\n") > 2_000 or count == 50
    check_transformed("rename-attribute", before, after)


def test_anchored_alignment_is_an_edit_script_of_the_changed_lines_only():
    from fastapi_fix.engine.suppress import line_opcodes

    old = [f"line {n % 7}\n".encode() if n % 3 else f"unique {n}\n".encode() for n in range(6000)]
    new = list(old)
    changed = {5, 17, 2000, 2001, 4500, 5999}
    for n in changed:
        new[n] = b"changed\n"
    rebuilt: list[bytes] = []
    for tag, i1, i2, j1, j2 in line_opcodes(old, new):
        if tag == "equal":
            assert old[i1:i2] == new[j1:j2]
        rebuilt += new[j1:j2]
        if tag != "equal":
            assert set(range(i1, i2)) <= changed  # no unchanged line is called changed
    assert rebuilt == new
