"""Code the codemods write, built as syntax trees: names and literals never go through source
text, so a file name or a configured name cannot become code (``x", print("!"), ".py``)."""

from __future__ import annotations

import ast
import keyword
from collections.abc import Sequence

import libcst as cst

# A statement of a module's body, as LibCST types ``Module.body`` (its ``BaseStatement`` has no
# ``leading_lines``): what a codemod inserting or moving top-level statements works with.
BodyStatement = cst.SimpleStatementLine | cst.BaseCompoundStatement


def qualified_name(scopes: Sequence[tuple[str, bool]], name: str) -> str:
    """``name``'s ``__qualname__`` inside ``scopes`` (outermost first; True: a function's)."""
    parts: list[str] = []
    for scope, is_function in scopes:
        parts.append(scope)
        if is_function:
            parts.append("<locals>")
    return ".".join([*parts, name])


def is_module_path(dotted: str) -> bool:
    """Whether ``dotted`` (``app.db``) can be written in an import: each part a name."""
    return all(part.isidentifier() and not keyword.iskeyword(part) for part in dotted.split("."))


def dotted_name(dotted: str) -> cst.Name | cst.Attribute:
    """``a.b.c`` as a tree; `ValueError` unless each part is an identifier."""
    if not is_module_path(dotted):
        raise ValueError(f"not a dotted name: {dotted!r}")
    first, *rest = dotted.split(".")
    node: cst.Name | cst.Attribute = cst.Name(first)
    for part in rest:
        node = cst.Attribute(value=node, attr=cst.Name(part))
    return node


def string_literal(value: str) -> cst.SimpleString:
    """``value`` as a string literal, escaped by ``repr``; in double quotes when ``repr``'s
    single quotes are only a preference (no ``"`` inside), as the codemods write strings."""
    text = repr(value)
    if text.startswith("'") and '"' not in value:
        text = f'"{text[1:-1]}"'
    assert ast.literal_eval(text) == value
    return cst.SimpleString(text)


def import_from(module: str, name: str) -> cst.SimpleStatementLine:
    """``from module import name``; ``module`` may be relative (``..db``)."""
    dots = len(module) - len(module.lstrip("."))
    rest = module[dots:]
    return cst.SimpleStatementLine(
        [
            cst.ImportFrom(
                module=dotted_name(rest) if rest else None,
                names=[cst.ImportAlias(cst.Name(name))],
                relative=[cst.Dot()] * dots,
            )
        ]
    )


def call_statement(func: str, *args: cst.BaseExpression) -> cst.SimpleStatementLine:
    """``func(args...)`` as a statement; ``func`` a dotted name."""
    return cst.SimpleStatementLine(
        [cst.Expr(cst.Call(func=dotted_name(func), args=[cst.Arg(arg) for arg in args]))]
    )


def assign_call(target: str, func: str, *args: cst.BaseExpression) -> cst.SimpleStatementLine:
    """``target = func(args...)``; ``target`` an identifier, ``func`` a dotted name."""
    if not target.isidentifier() or keyword.iskeyword(target):
        raise ValueError(f"not a name: {target!r}")
    call = cst.Call(func=dotted_name(func), args=[cst.Arg(arg) for arg in args])
    return cst.SimpleStatementLine([cst.Assign([cst.AssignTarget(cst.Name(target))], call)])
