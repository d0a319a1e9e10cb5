"""Newer syntax is spelled for the running Python's ``ast`` on the same lines, for gathering."""

import ast

import pytest

from fastapi_fix.engine.parsing import _spelled_from_tokens, parse_ast


@pytest.mark.parametrize(
    ("source", "spelled"),
    [
        pytest.param(
            b"try:\n    pass\nexcept A, B:\n    pass\n",
            "try:\n    pass\nexcept(A, B):\n    pass\n",
            id="PEP 758 except",
        ),
        pytest.param(
            b"try:\n    pass\nexcept* A, b.C:  # why\n    pass\n",
            "try:\n    pass\nexcept*(A, b.C):  # why\n    pass\n",
            id="PEP 758 except star",
        ),
        pytest.param(
            b"def f[T: int](x: T) -> T:\n    return x\n",
            "def f        (x: T) -> T:\n    return x\n",
            id="PEP 695 function",
        ),
        pytest.param(
            b"class C[T](Base):\n    pass\n", "class C   (Base):\n    pass\n", id="PEP 695 class"
        ),
        pytest.param(
            b"type Pair[K] = tuple[K, K]\n", "Pair    = tuple[K, K]\n", id="PEP 695 type alias"
        ),
        pytest.param(
            b"\xef\xbb\xbftry:\r\n    pass\r\nexcept A, B:\r\n    pass\r\n",
            "try:\r\n    pass\r\nexcept(A, B):\r\n    pass\r\n",
            id="BOM and CRLF",
        ),
    ],
)
def test_newer_syntax_is_spelled_from_the_tokens_on_the_same_lines(source, spelled):
    assert _spelled_from_tokens(source) == spelled
    ast.parse(spelled)


@pytest.mark.parametrize(
    "source",
    [
        pytest.param(b"type = 5\nprint(type(x))\n", id="type as a name"),
        pytest.param(
            b"try:\n    pass\nexcept (A, B):\n    pass\nexcept A:\n    pass\n", id="already old"
        ),
    ],
)
def test_code_the_running_python_reads_is_not_spelled(source):
    assert _spelled_from_tokens(source) is None


def test_the_types_of_an_except_keep_their_columns():
    tree = parse_ast(b"try:\n    pass\nexcept A, B:\n    pass\n", "m.py")
    handler = tree.body[0].handlers[0]
    assert [(name.lineno, name.col_offset) for name in handler.type.elts] == [(3, 7), (3, 10)]


@pytest.mark.parametrize(
    "source",
    [
        pytest.param(
            b"def f[\n    T,  # why\n](x: T) -> T:\n    return x\n\nx = 1\n", id="function"
        ),
        pytest.param(b"type Pair[\n    K,\n] = tuple[K, K]\n\n\n\nx = 1\n", id="type alias"),
    ],
)
def test_type_parameters_over_several_lines_keep_every_line_where_it_was(source):
    spelled = _spelled_from_tokens(source)
    assert spelled is not None and spelled.count("\n") == source.count(b"\n")
    assert parse_ast(source, "m.py").body[-1].lineno == source.split(b"\n").index(b"x = 1") + 1
