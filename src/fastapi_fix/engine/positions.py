"""Positions of a few nodes, without a position pass over the whole module.

LibCST's `PositionProvider` renders the whole module and records every node on the way:
on a large file that costs twice the parse, when a codemod wants the lines of a handful of
functions or calls. Two cheaper ways to the same positions:

- `statement_positions`: every node of a few top-level statements. A top-level statement
  starts at column 0 of a new line, so its nodes' positions are the ones they get in a
  module of that statement alone, moved down by the lines before it.
- `node_positions`: a few given nodes anywhere, for the cost of rendering the module once
  (`Module.code`): the rendering counts lines and columns only where a wanted node starts
  or ends.
"""

from __future__ import annotations

import contextlib
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field

import libcst as cst
from libcst._nodes.internal import CodegenState
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


def node_positions(
    module: cst.Module, nodes: Collection[cst.CSTNode]
) -> tuple[dict[cst.CSTNode, CodeRange], str]:
    """`PositionProvider`'s positions of ``nodes`` (nodes of ``module``), and the module's
    code."""
    state = _FewPositions(
        default_indent=module.default_indent,
        default_newline=module.default_newline,
        wanted={id(node) for node in nodes},
    )
    module._codegen(state)
    return {node: state.computed[id(node)] for node in nodes}, "".join(state.tokens)


@dataclass
class _FewPositions(CodegenState):
    """Renders like `Module.code`, recording what `PositionProvider`'s rendering records
    (the same hooks, the same rules) for the wanted nodes only. Lines and columns are
    counted lazily, up to the token where a wanted node starts or ends (both come in the
    order of the text)."""

    wanted: set[int] = field(default_factory=set)
    computed: dict[int, CodeRange] = field(default_factory=dict)
    _starts: list[CodePosition] = field(default_factory=list)
    _counted: int = 0  # tokens counted into _line and _column
    _line: int = 1
    _column: int = 0

    def _position(self) -> CodePosition:
        tokens = self.tokens
        for token in tokens[self._counted :]:
            segments = NEWLINE_RE.split(token)
            if len(segments) == 1:
                self._column += len(token)
            else:
                self._line += len(segments) - 1
                self._column = len(segments[-1])
        self._counted = len(tokens)
        return CodePosition(self._line, self._column)

    def before_codegen(self, node: cst.CSTNode) -> None:
        if id(node) in self.wanted:
            self._starts.append(self._position())

    def after_codegen(self, node: cst.CSTNode) -> None:
        if id(node) in self.wanted:
            start = self._starts.pop()
            if id(node) not in self.computed:  # a syntactic position was recorded: it wins
                self.computed[id(node)] = CodeRange(start, self._position())

    @contextlib.contextmanager
    def record_syntactic_position(
        self,
        node: cst.CSTNode,
        *,
        start_node: cst.CSTNode | None = None,
        end_node: cst.CSTNode | None = None,
    ) -> Iterator[None]:
        if id(node) not in self.wanted:
            yield
            return
        # The children whose positions this one takes are rendered inside: wanted too.
        self.wanted.update(id(child) for child in (start_node, end_node) if child is not None)
        start = self._position()
        try:
            yield
        finally:
            end = self._position()
            if start_node is not None:
                start = self.computed[id(start_node)].start
            if end_node is not None:
                end = self.computed[id(end_node)].end
            self.computed[id(node)] = CodeRange(start, end)
