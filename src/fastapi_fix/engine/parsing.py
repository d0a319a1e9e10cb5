"""Parsing source bytes: LibCST for rewriting, stdlib ``ast`` for cheap gathering, and
``compile()`` for checking; with one-line reasons for code that does not parse.

stdlib ``ast`` only knows the running Python's grammar, but projects move faster:
full-stack-fastapi-template already uses PEP 758 ``except A, B:``. For gathering, such files
are parsed by LibCST and the few newer constructs spelled the old way **on the same lines**
(so every line number in the gathered facts stays true) before ``ast`` reads them. That
spelling is only read, never written.
"""

from __future__ import annotations

import ast
import warnings

import libcst as cst

from fastapi_fix.engine.files import SkipFile


def parse_module(data: bytes) -> cst.Module:
    """LibCST parse with a one-line `SkipFile` for code that is not valid Python."""
    try:
        return cst.parse_module(data)
    except cst.ParserSyntaxError as exc:
        raise SkipFile(_syntax_error(data, exc)) from None
    except (SyntaxError, UnicodeDecodeError) as exc:
        raise SkipFile(f"cannot parse: {exc}") from None


def _syntax_error(data: bytes, exc: cst.ParserSyntaxError) -> str:
    """CPython's own message and position when it has one: clearer than the parser's."""
    try:
        compile_source(data, "<file>")
    except SyntaxError as error:
        if error.lineno is None:  # e.g. null bytes
            return f"cannot parse: {error.msg}"
        return f"syntax error at line {error.lineno}:{error.offset}: {error.msg}"
    except ValueError as error:  # null bytes, on older Pythons
        return f"cannot parse: {error}"
    return f"syntax error: {exc.message.removeprefix('parser error: ')}"


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
    except (SyntaxError, ValueError):
        pass
    older = parse_module(data).visit(_SpellForOlderPython())
    try:
        return _ast(older.bytes, filename)
    except (SyntaxError, ValueError):
        raise NewerSyntax(filename) from None


class NewerSyntax(Exception):
    """Valid Python for LibCST that the running Python's ``ast`` cannot read."""


def _ast(data: bytes, filename: str) -> ast.Module:
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

    def leave_ExceptHandler(self, original: cst.ExceptHandler, updated: cst.ExceptHandler) -> cst.ExceptHandler:
        # PEP 758: ``except A, B:`` → ``except (A, B):``
        return updated.with_changes(type=_parenthesized(updated.type))

    def leave_ExceptStarHandler(self, original: cst.ExceptStarHandler,
                                updated: cst.ExceptStarHandler) -> cst.ExceptStarHandler:
        return updated.with_changes(type=_parenthesized(updated.type))

    def leave_FunctionDef(self, original: cst.FunctionDef, updated: cst.FunctionDef) -> cst.FunctionDef:
        # PEP 695: ``def f[T](x: T)`` → ``def f(x: T)``
        return updated.with_changes(type_parameters=None)

    def leave_ClassDef(self, original: cst.ClassDef, updated: cst.ClassDef) -> cst.ClassDef:
        return updated.with_changes(type_parameters=None)

    def leave_TypeAlias(self, original: cst.TypeAlias, updated: cst.TypeAlias) -> cst.Assign:
        # PEP 695: ``type X = int`` → ``X = int``
        return cst.Assign(targets=[cst.AssignTarget(updated.name)], value=updated.value)
