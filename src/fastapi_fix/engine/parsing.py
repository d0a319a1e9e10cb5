"""Parsing source bytes: LibCST for rewriting, stdlib ``ast`` for cheap gathering, and
``compile()`` for checking; with one-line reasons for code that does not parse.

stdlib ``ast`` only knows the running Python's grammar, but projects move faster:
full-stack-fastapi-template already uses PEP 758 ``except A, B:``. For gathering, the few
newer constructs are spelled the old way **on the same lines** (so every line number in the
gathered facts stays true) before ``ast`` reads them: from the tokens where that is enough
(fast), else through LibCST. That spelling is only read, never written.
"""

from __future__ import annotations

import ast
import io
import tokenize
import warnings

import libcst as cst

from fastapi_fix.engine.deep import TooDeep
from fastapi_fix.engine.files import SkipFile

# LibCST's parser takes time growing much faster than the nesting: 0.5 s for a sum of 1,000
# terms, 4 s for 2,000, 40 s for 4,000. Deeper code is left alone (`TooDeep`) before it starts.
MAX_NESTING = 1_500


def parse_module(data: bytes, *, nesting_checked: bool = False) -> cst.Module:
    """LibCST parse with a one-line `SkipFile` for code that is not valid Python, and
    `TooDeep` for code nested too deeply to parse in reasonable time (unless
    ``nesting_checked``: `check_tree_nesting` passed on the file's ``ast`` already)."""
    if not nesting_checked:
        check_nesting(data)
    try:
        return cst.parse_module(data)
    except cst.ParserSyntaxError as exc:
        raise SkipFile(_syntax_error(data, exc)) from None
    except (SyntaxError, UnicodeDecodeError) as exc:
        raise SkipFile(f"cannot parse: {exc}") from None


def check_nesting(data: bytes) -> None:
    """`TooDeep` when the syntax tree of ``data`` is deeper than `MAX_NESTING`, or too deep
    for ``ast`` itself. Code ``ast`` cannot read is not measured (LibCST will tell)."""
    try:
        tree = _ast(data, "<file>")
    except (SyntaxError, ValueError):
        return
    except RecursionError:
        raise TooDeep("too deeply nested for the parser (RecursionError)") from None
    check_tree_nesting(tree, data)


def check_tree_nesting(tree: ast.AST, data: bytes) -> None:
    """`TooDeep` when ``tree`` (the ``ast`` of ``data``) is deeper than `MAX_NESTING`."""
    if _deeper_than(tree, data, MAX_NESTING):
        raise TooDeep(
            f"too deeply nested for the parser (more than {MAX_NESTING} levels of nesting)"
        )


# Nodes without a source span of their own inside a node (``Load``, ``arguments``, ``Expr``
# around its value...): a few levels at most, counted generously.
_UNSPANNED_LEVELS = 50


def _deeper_than(tree: ast.AST, data: bytes, limit: int) -> bool:
    """Whether some node of ``tree`` is more than ``limit`` levels deep, without recursion.

    Each level of nesting adds at least a character to the source (an operator, a dot, a
    bracket), so a node spanning ``n`` bytes holds at most about ``n`` levels: only the few
    nodes whose span is long enough are looked into, not the whole tree."""
    line_starts = [0]
    for line in data.splitlines(keepends=True):
        line_starts.append(line_starts[-1] + len(line))
    stack = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        span = _span(node, line_starts)
        if span is not None and depth + span + _UNSPANNED_LEVELS <= limit:
            continue  # too short to hold the levels that would exceed the limit
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    return False


def _span(node: ast.AST, line_starts: list[int]) -> int | None:
    """The length of ``node``'s source in bytes (``ast`` columns are UTF-8 byte offsets)."""
    located = (ast.expr, ast.stmt, ast.excepthandler, ast.arg, ast.keyword, ast.alias, ast.pattern)
    if not isinstance(node, located) or node.end_lineno is None:
        return None
    first, last = node.lineno, node.end_lineno
    if last > len(line_starts) - 1:
        return None
    start = line_starts[first - 1] + node.col_offset
    end = line_starts[last - 1] + (node.end_col_offset or 0)
    return end - start if end >= start else None


def _syntax_error(data: bytes, exc: cst.ParserSyntaxError) -> str:
    """CPython's own message and position when it has one: clearer than the parser's."""
    try:
        compile_source(data, "<file>")
    except SyntaxError as error:
        return _located(error)
    except ValueError as error:  # null bytes, on older Pythons
        return f"cannot parse: {error}"
    return f"syntax error: {exc.message.removeprefix('parser error: ')}"


def _located(error: SyntaxError) -> str:
    if error.lineno is None:  # e.g. null bytes
        return f"cannot parse: {error.msg}"
    return f"syntax error at line {error.lineno}:{error.offset}: {error.msg}"


def compile_source(data: bytes, filename: str) -> None:
    """A full ``compile()``: unlike ``ast.parse`` it also rejects ``await`` outside async."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        compile(data, filename, "exec", dont_inherit=True)


def compile_error(data: bytes, filename: str) -> str | None:
    """Why ``data`` does not compile, or ``None`` when it does."""
    try:
        compile_source(data, filename)
    except (SyntaxError, ValueError) as exc:
        return str(exc)
    return None


def compiles(data: bytes, filename: str) -> bool:
    return compile_error(data, filename) is None


def parse_ast(data: bytes, filename: str) -> ast.Module:
    """stdlib ``ast`` of ``data``, through LibCST for syntax newer than the running Python.

    Raises `SkipFile` for code that is not valid Python at all, and `NewerSyntax` for valid
    code whose newer constructs cannot be spelled for this Python.
    """
    try:
        return _ast(data, filename)
    except SyntaxError as exc:
        if exc.msg.startswith("too many"):  # a limit of CPython's parser, not newer syntax
            raise SkipFile(_located(exc)) from None
    except ValueError:
        pass
    spelled = _spelled_from_tokens(data)
    if spelled is not None:
        try:
            return _ast(spelled, filename)
        except (SyntaxError, ValueError):
            pass
    older = parse_module(data).visit(_SpellForOlderPython())
    try:
        return _ast(older.bytes, filename)
    except (SyntaxError, ValueError):
        raise NewerSyntax(filename) from None


class NewerSyntax(Exception):
    """Valid Python for LibCST that the running Python's ``ast`` cannot read."""


def _ast(data: str | bytes, filename: str) -> ast.Module:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SyntaxWarning for invalid escapes, etc.
        return ast.parse(data, filename=filename)


def _parenthesized(handler_type: cst.BaseExpression | None) -> cst.BaseExpression | None:
    if isinstance(handler_type, cst.Tuple) and not handler_type.lpar:
        return handler_type.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
    return handler_type


class _SpellForOlderPython(cst.CSTTransformer):
    def on_visit(self, node: cst.CSTNode) -> bool:
        # What needs spelling is all at statement level: never descend into expressions.
        return not isinstance(node, (cst.BaseExpression, cst.Parameters, cst.BaseSmallStatement))

    def leave_ExceptHandler(
        self, original: cst.ExceptHandler, updated: cst.ExceptHandler
    ) -> cst.ExceptHandler:
        # PEP 758: ``except A, B:`` → ``except (A, B):``
        return updated.with_changes(type=_parenthesized(updated.type))

    def leave_ExceptStarHandler(
        self, original: cst.ExceptStarHandler, updated: cst.ExceptStarHandler
    ) -> cst.ExceptStarHandler:
        return updated.with_changes(type=_parenthesized(updated.type))

    def leave_FunctionDef(
        self, original: cst.FunctionDef, updated: cst.FunctionDef
    ) -> cst.FunctionDef:
        # PEP 695: ``def f[T](x: T)`` → ``def f(x: T)``
        return updated.with_changes(type_parameters=None)

    def leave_ClassDef(self, original: cst.ClassDef, updated: cst.ClassDef) -> cst.ClassDef:
        return updated.with_changes(type_parameters=None)

    def leave_TypeAlias(self, original: cst.TypeAlias, updated: cst.TypeAlias) -> cst.Assign:
        # PEP 695: ``type X = int`` → ``X = int``
        return cst.Assign(targets=[cst.AssignTarget(updated.name)], value=updated.value)


# -- the same spelling from the tokens, when the constructs sit on one line each ----------

_OPENING, _CLOSING = "([{", ")]}"


def _spelled_from_tokens(data: bytes) -> str | None:
    """``data`` with PEP 758 ``except A, B:`` → ``except(A, B):``, PEP 695 ``def f[T](`` and
    ``class C[T]:`` → their type parameters blanked, and ``type X = ...`` → ``X = ...``;
    ``None`` when the tokens do not say enough (then LibCST spells it)."""
    try:
        tokens = [
            t
            for t in tokenize.tokenize(io.BytesIO(data).readline)
            if t.type not in (tokenize.COMMENT, tokenize.NL, tokenize.ENCODING)
        ]
    except (tokenize.TokenError, SyntaxError, UnicodeDecodeError):
        return None
    edits: list[tuple[int, int, int, str]] = []  # (row, start column, end column, new text)
    at_statement_start = True
    for index, token in enumerate(tokens):
        if at_statement_start and token.string == "except":
            edits.extend(_parenthesized_types(tokens, index))
        elif (
            token.string in ("def", "class")
            and index + 2 < len(tokens)
            and tokens[index + 2].string == "["
        ):
            blank = _blanked_brackets(tokens, index + 2)
            if blank is None:
                return None
            edits.extend(blank)
        elif (
            at_statement_start
            and token.string == "type"
            and index + 1 < len(tokens)
            and tokens[index + 1].type == tokenize.NAME
        ):
            name = tokens[index + 1]
            edits.append((token.start[0], token.start[1], name.start[1], ""))
            if index + 2 < len(tokens) and tokens[index + 2].string == "[":
                blank = _blanked_brackets(tokens, index + 2)
                if blank is None:
                    return None
                edits.extend(blank)
        at_statement_start = token.type in (tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT)
    if not edits:
        return None
    return _apply(data.decode(_encoding(data)), edits)


def _parenthesized_types(
    tokens: list[tokenize.TokenInfo], index: int
) -> list[tuple[int, int, int, str]]:
    """``except A, B:``: parentheses around the types (none if they need none)."""
    first = index + 2 if index + 1 < len(tokens) and tokens[index + 1].string == "*" else index + 1
    depth, comma, end = 0, False, first
    for end in range(first, len(tokens)):
        text = tokens[end].string
        if depth == 0 and text in (":", "as"):
            break
        if tokens[end].type == tokenize.OP:
            depth += (text in _OPENING) - (text in _CLOSING)
            comma = comma or (depth == 0 and text == ",")
    if not comma or end == first:
        return []
    opening, closing = tokens[first], tokens[end - 1]
    row, column = opening.start
    # ``except A`` → ``except(A``: the space gives way, so the columns of the types stay true.
    before = tokens[first - 1].end
    start = column - 1 if before[0] == row and before[1] < column else column
    return [(closing.end[0], closing.end[1], closing.end[1], ")"), (row, start, column, "(")]


def _blanked_brackets(
    tokens: list[tokenize.TokenInfo], index: int
) -> list[tuple[int, int, int, str]] | None:
    """Spaces over ``[...]`` from ``tokens[index]``; over several lines, each but the last
    ends with a ``\\`` that joins it to the next (so the lines stay where they were)."""
    depth = 0
    for token in tokens[index:]:
        if token.type == tokenize.OP:
            depth += (token.string in _OPENING) - (token.string in _CLOSING)
        if depth == 0:
            (first_row, first_column), (last_row, last_column) = tokens[index].start, token.end
            if first_row == last_row:
                return [(first_row, first_column, last_column, " " * (last_column - first_column))]
            lines = tokens[index].line, token.line  # tokenize repeats a line per token on it
            edits = [(first_row, first_column, len(lines[0].rstrip("\r\n")), " \\")]
            edits.extend((row, 0, -1, " \\") for row in range(first_row + 1, last_row))
            edits.append((last_row, 0, last_column, " " * last_column))
            return edits
    return None


def _apply(text: str, edits: list[tuple[int, int, int, str]]) -> str:
    # Lines as `tokenize` reads them: ended by "\n" only.
    lines = io.StringIO(text, newline="\n").readlines()
    # From the end, so that earlier columns stay true.
    for row, start, end, new in sorted(edits, key=lambda edit: (edit[0], edit[1]), reverse=True):
        line = lines[row - 1]
        body = line.rstrip("\r\n")
        if end == -1:  # the whole line, up to its line break
            end = len(body)
        lines[row - 1] = line[:start] + new + line[end:]
    return "".join(lines)


def _encoding(data: bytes) -> str:
    return tokenize.detect_encoding(io.BytesIO(data).readline)[0]
