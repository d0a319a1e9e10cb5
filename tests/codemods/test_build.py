"""Code the codemods write is built as a tree: a file name or a configured name never
becomes code."""

from __future__ import annotations

import ast

import libcst as cst
import pytest

from fastapi_fix.codemods._build import (
    assign_call,
    dotted_name,
    import_from,
    is_module_path,
    string_literal,
)
from fastapi_fix.engine.results import Status
from tests.helpers import run_project

INJECTING_NAME = 'app/x", print("INJECTED"), ".py'
TASK_MODULE = b"""\
from fastapi import BackgroundTasks, FastAPI

app = FastAPI()


def send() -> None:
    raise ValueError


@app.post("/")
def post(tasks: BackgroundTasks) -> None:
    tasks.add_task(send)
"""


def code(statement: cst.SimpleStatementLine) -> str:
    return cst.Module([statement]).code


@pytest.mark.parametrize(
    "value",
    [
        "app.tasks.send",
        'app.x", print("INJECTED"), ".send',
        "it's",
        "both ' and \"",
        "back\\slash",
        "new\nline",
        "\x00\u2028é",
    ],
)
def test_a_string_literal_means_its_value_and_nothing_else(value: str) -> None:
    literal = string_literal(value)
    assert ast.literal_eval(literal.value) == value
    tree = ast.parse(code(assign_call("x", "f", literal)))
    assert sum(isinstance(node, ast.Call) for node in ast.walk(tree)) == 1


def test_plain_strings_keep_double_quotes() -> None:
    assert string_literal("app.tasks.send").value == '"app.tasks.send"'


@pytest.mark.parametrize("dotted", ["a b", "app.x\", print('x'), \"", "app..db", "app.class", ""])
def test_a_dotted_name_is_names_only(dotted: str) -> None:
    assert not is_module_path(dotted)
    with pytest.raises(ValueError, match="not a dotted name"):
        dotted_name(dotted)


@pytest.mark.parametrize(
    ("module", "expected"),
    [
        ("app.db", "from app.db import get_db\n"),
        ("..db", "from ..db import get_db\n"),
        (".", "from . import get_db\n"),
    ],
)
def test_import_from(module: str, expected: str) -> None:
    assert code(import_from(module, "get_db")) == expected


def test_import_from_a_file_name_that_is_no_module_name_is_refused() -> None:
    with pytest.raises(ValueError, match="not a dotted name"):
        import_from('app.x", print("INJECTED"), "', "get_db")


def test_a_task_in_a_file_whose_name_holds_code_is_logged_under_that_name_as_a_string() -> None:
    result = run_project("background-task-logging", {INJECTING_NAME: TASK_MODULE})[INJECTING_NAME]
    assert result.status is Status.CHANGED
    assert result.new is not None
    tree = ast.parse(result.new)
    calls = [node for node in ast.walk(tree) if isinstance(node, ast.Call)]
    assert not any(isinstance(call.func, ast.Name) and call.func.id == "print" for call in calls)
    (log,) = [c for c in calls if isinstance(c.func, ast.Attribute) and c.func.attr == "exception"]
    assert [ast.literal_eval(arg) for arg in log.args] == [
        "Background task %s failed",
        'app.x", print("INJECTED"), ".send',
    ]
