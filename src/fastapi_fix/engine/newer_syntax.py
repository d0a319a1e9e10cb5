"""Gather facts from files written for a newer Python than the one running the tool.

stdlib ``ast`` only knows the running Python's grammar, but projects move faster:
full-stack-fastapi-template already uses PEP 758 ``except A, B:``. LibCST parses such
files; we rewrite the few newer constructs into older spellings **on the same lines**
(so every line number in the gathered facts stays true) and hand the result to ``ast``.
The rewritten code is only read, never written.
"""

from __future__ import annotations

import ast
import warnings

import libcst as cst


class _SpellForOlderPython(cst.CSTTransformer):
    def leave_ExceptHandler(self, original: cst.ExceptHandler, updated: cst.ExceptHandler) -> cst.ExceptHandler:
        # PEP 758: ``except A, B:`` → ``except (A, B):``
        if isinstance(updated.type, cst.Tuple) and not updated.type.lpar:
            return updated.with_changes(type=updated.type.with_changes(lpar=[cst.LeftParen()],
                                                                       rpar=[cst.RightParen()]))
        return updated

    def leave_ExceptStarHandler(self, original: cst.ExceptStarHandler,
                                updated: cst.ExceptStarHandler) -> cst.ExceptStarHandler:
        if isinstance(updated.type, cst.Tuple) and not updated.type.lpar:
            return updated.with_changes(type=updated.type.with_changes(lpar=[cst.LeftParen()],
                                                                       rpar=[cst.RightParen()]))
        return updated

    def leave_FunctionDef(self, original: cst.FunctionDef, updated: cst.FunctionDef) -> cst.FunctionDef:
        # PEP 695: ``def f[T](x: T)`` → ``def f(x: T)``
        return updated.with_changes(type_parameters=None) if updated.type_parameters else updated

    def leave_ClassDef(self, original: cst.ClassDef, updated: cst.ClassDef) -> cst.ClassDef:
        return updated.with_changes(type_parameters=None) if updated.type_parameters else updated

    def leave_TypeAlias(self, original: cst.TypeAlias, updated: cst.TypeAlias) -> cst.Assign:
        # PEP 695: ``type X = int`` → ``X = int``
        return cst.Assign(targets=[cst.AssignTarget(updated.name)], value=updated.value)


def parse_newer(data: bytes, filename: str) -> ast.Module | None:
    """An ``ast`` of ``data`` with newer syntax spelled the old way; ``None`` if that fails."""
    try:
        module = cst.parse_module(data)
        older = module.visit(_SpellForOlderPython())
    except Exception:  # LibCST rejects it too: a real syntax error
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return ast.parse(older.bytes, filename=filename)
        except (SyntaxError, ValueError):
            return None
