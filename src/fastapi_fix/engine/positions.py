"""Positions of a few top-level statements, without a position pass over the whole module.

LibCST's `PositionProvider` renders the whole module and records every node on the way:
on a large file that costs twice the parse, when a codemod wants the lines of a handful of
functions. A top-level statement starts at column 0 of a new line, so its nodes' positions
are the ones they get in a module of that statement alone, moved down by the lines before it.
"""

from __future__ import annotations

from collections.abc import Collection

import libcst as cst
from libcst.metadata import CodePosition, CodeRange, MetadataWrapper, PositionProvider
from libcst.metadata.position_provider import NEWLINE_RE


def statement_positions(
    module: cst.Module, statements: Collection[cst.BaseStatement]
) -> dict[cst.CSTNode, CodeRange]:
    """`PositionProvider`'s positions of every node inside ``statements``, top-level
    statements of ``module``."""
    wanted = {id(statement) for statement in statements}
    positions: dict[cst.CSTNode, CodeRange] = {}
    line = 1 + sum(_line_breaks(module.code_for_node(empty)) for empty in module.header)
    for statement in module.body:
        if not wanted:
            break
        if id(statement) in wanted:
            wanted.discard(id(statement))
            positions.update(_moved_down(_alone(module, statement), line - 1))
        line += _line_breaks(module.code_for_node(statement))
    return positions


def _line_breaks(code: str) -> int:
    # As `PositionProvider` counts them (\r\n, \r or \n), not as str.splitlines does.
    return len(NEWLINE_RE.findall(code))


def _alone(module: cst.Module, statement: cst.BaseStatement) -> dict[cst.CSTNode, CodeRange]:
    """The positions of the nodes of ``statement`` in a module of it alone."""
    single = module.with_changes(header=(), body=(statement,), footer=())
    # No copy: the positions are wanted for the caller's nodes.
    return dict(MetadataWrapper(single, unsafe_skip_copy=True).resolve(PositionProvider))


def _moved_down(
    positions: dict[cst.CSTNode, CodeRange], lines: int
) -> dict[cst.CSTNode, CodeRange]:
    return {
        node: CodeRange(
            CodePosition(span.start.line + lines, span.start.column),
            CodePosition(span.end.line + lines, span.end.column),
        )
        for node, span in positions.items()
        if not isinstance(node, cst.Module)
    }
