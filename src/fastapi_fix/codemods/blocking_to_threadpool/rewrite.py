"""The LibCST half of blocking-to-threadpool: find each planned call again, decide where an
``await`` may go, and write ``await run_in_threadpool(...)`` there.

A planned call is found by its function (qualified name and ordinal) and its place relative
to the first statement of the body: the codemods that run before this one (parameters,
``async``, imports and aliases above) move lines around the body, never inside it.

The unit offloaded is the call, or the whole method chain it starts
(``db.query(User).filter(...).first()``: the I/O happens at the end of the chain); a blocking
call in the arguments of another gets its own ``await`` inside the outer one's arguments. A
plain call becomes ``run_in_threadpool(callee, *args, **kwargs)``; a chain, or a call with a
keyword named ``func`` (run_in_threadpool's own parameter), ``run_in_threadpool(lambda: ...)``.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import NamedTuple, TypeVar

import libcst as cst
from libcst.codemod.visitors import AddImportsVisitor

from fastapi_fix.codemods._build import qualified_name
from fastapi_fix.codemods.blocking_to_threadpool.facts import RUN_IN_THREADPOOL
from fastapi_fix.codemods.blocking_to_threadpool.plan import FilePlan, FunctionPlan, PlannedSite
from fastapi_fix.engine.positions import node_positions

COMPREHENSIONS = (cst.ListComp, cst.SetComp, cst.DictComp, cst.GeneratorExp)
# Where ``await f()`` must be parenthesised: it would bind the attribute, item or call.
_NEEDS_PARENS = ((cst.Attribute, "value"), (cst.Subscript, "value"), (cst.Call, "func"))


@dataclass(frozen=True)
class Located:
    """A planned call found in the tree, with what to do about it."""

    site: PlannedSite
    call: cst.Call  # the blocking call itself
    unit: cst.Call  # what is offloaded: the call, or the chain it starts
    line: int
    end_line: int
    column: int  # characters, 0-based
    function: str
    lambda_form: bool = False
    refusal: str | None = None
    # The unit is the value of an attribute or item, or a callee: its ``await`` needs
    # parentheses.
    parenthesised: bool = False
    # The nodes from the top-level statement holding the unit down to the unit.
    path: tuple[cst.CSTNode, ...] = ()


# What holds the statements a ``def`` or ``class`` can be (or sit in).
_SKELETON = (
    cst.Module,
    cst.BaseCompoundStatement,
    cst.IndentedBlock,
    cst.Else,
    cst.ExceptHandler,
    cst.ExceptStarHandler,
    cst.Finally,
    cst.MatchCase,
)


class _Candidate(NamedTuple):
    """A call in a planned function whose callee has a planned name: maybe a planned call."""

    planned: FunctionPlan
    sites: dict[tuple[int, int, str], PlannedSite]
    first: cst.CSTNode  # the first statement of the function's body
    ancestors: tuple[cst.CSTNode, ...]  # from the module down to the call itself


class _Locator(cst.CSTVisitor):
    """Finds the calls that may be planned, and their ancestors (which are all the parents
    `_unit` and `_syntax_refusal` look at); then the positions of those calls only. No
    parent and position passes over the whole module: on a large file they cost several
    times this walk."""

    def __init__(self, plan: FilePlan) -> None:
        super().__init__()
        self.plan = plan
        self.scopes: list[tuple[str, bool]] = []  # (name, is a function)
        self.seen: dict[str, int] = {}
        # The function being searched: its plan, sites by key, first statement; None elsewhere.
        self.stack: list[
            tuple[FunctionPlan, dict[tuple[int, int, str], PlannedSite], cst.CSTNode] | None
        ] = []
        self.ancestors: list[cst.CSTNode] = []  # of the node being visited, and itself
        self.passed: list[bool] = []  # per ancestor: passed by without a look inside
        self.candidates: list[_Candidate] = []

    def on_visit(self, node: cst.CSTNode) -> bool:
        self.ancestors.append(node)
        # Outside the planned functions only where functions and classes are defined matters
        # (their qualified names), and they are statements: expressions and simple
        # statements there are passed by, most of a large module.
        passed = (not self.stack or self.stack[-1] is None) and not isinstance(node, _SKELETON)
        self.passed.append(passed)
        return not passed and super().on_visit(node)

    def on_leave(self, original_node: cst.CSTNode) -> None:
        if not self.passed.pop():
            super().on_leave(original_node)
        self.ancestors.pop()

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self.scopes.append((node.name.value, False))
        self.stack.append(None)

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        self.scopes.pop()
        self.stack.pop()

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        qualname = qualified_name(self.scopes, node.name.value)
        ordinal = self.seen.get(qualname, 0)
        self.seen[qualname] = ordinal + 1
        self.scopes.append((node.name.value, True))
        planned = self.plan.functions.get((qualname, ordinal))
        if planned is None or node.asynchronous is None:
            self.stack.append(None)
            return
        body = node.body
        first = body.body[0] if isinstance(body, cst.IndentedBlock) else body
        sites = {(s.relative_line, s.col, s.name): s for s in planned.sites}
        self.stack.append((planned, sites, first))

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self.scopes.pop()
        self.stack.pop()

    def visit_Lambda(self, node: cst.Lambda) -> None:
        self.stack.append(None)  # its calls are not the function's (nor ever planned)

    def leave_Lambda(self, original_node: cst.Lambda) -> None:
        self.stack.pop()

    def visit_Call(self, node: cst.Call) -> None:
        current = self.stack[-1] if self.stack else None
        if current is None:
            return
        planned, sites, first = current
        name = _last_name(node.func)
        if any(key[2] == name for key in sites):
            self.candidates.append(_Candidate(planned, sites, first, tuple(self.ancestors)))

    def located(self, module: cst.Module) -> list[Located]:
        """The candidates that are planned calls, in the order of the module."""
        if not self.candidates:
            return []
        units = [_unit(candidate.ancestors) for candidate in self.candidates]
        wanted = {
            node
            for candidate, (at, _) in zip(self.candidates, units, strict=True)
            for node in (candidate.ancestors[-1], candidate.ancestors[at], candidate.first)
        }
        positions, code = node_positions(module, wanted)
        lines = code.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        found: list[Located] = []
        for (planned, sites, first, ancestors), (at, lambda_form) in zip(
            self.candidates, units, strict=True
        ):
            node = ancestors[-1]
            assert isinstance(node, cst.Call)
            position = positions[node]
            line = position.start.line
            text = lines[line - 1] if 0 < line <= len(lines) else ""
            column = len(text[: position.start.column].encode("utf-8"))
            body_line = positions[first].start.line
            site = sites.get((line - body_line, column, _last_name(node.func)))
            if site is None:
                continue
            unit = ancestors[at]
            assert isinstance(unit, cst.Call)
            refusal = site.refusal or _syntax_refusal(ancestors, at, lambda_form)
            found.append(
                Located(
                    site,
                    node,
                    unit,
                    line,
                    positions[unit].end.line,
                    position.start.column,
                    planned.name,
                    lambda_form,
                    refusal,
                    _needs_parentheses(ancestors, at),
                    ancestors[1 : at + 1],
                )
            )
        return found


def _unit(ancestors: Sequence[cst.CSTNode]) -> tuple[int, bool]:
    """Where in ``ancestors`` the unit to offload is: the call (the last), or the method chain
    it starts (``db.query(X).filter(...).first()``); and whether it needs the lambda form."""
    at = len(ancestors) - 1
    chained = False
    while at >= 2:
        unit, attribute, outer = ancestors[at], ancestors[at - 1], ancestors[at - 2]
        if (
            isinstance(attribute, cst.Attribute)
            and attribute.value is unit
            and isinstance(outer, cst.Call)
            and outer.func is attribute
        ):
            at, chained = at - 2, True
            continue
        break
    unit = ancestors[at]
    assert isinstance(unit, cst.Call)
    clash = any(arg.keyword is not None and arg.keyword.value == "func" for arg in unit.args)
    return at, chained or clash


def _needs_parentheses(ancestors: Sequence[cst.CSTNode], at: int) -> bool:
    """Whether the ``await`` replacing ``ancestors[at]`` needs parentheses: it is the value
    of an attribute or item, or the callee of a call."""
    if at == 0:
        return False
    parent, unit = ancestors[at - 1], ancestors[at]
    return any(
        isinstance(parent, kind) and getattr(parent, field_name) is unit
        for kind, field_name in _NEEDS_PARENS
    )


def _syntax_refusal(ancestors: Sequence[cst.CSTNode], at: int, lambda_form: bool) -> str | None:
    """Why the unit ``ancestors[at]`` cannot take an ``await`` where it is, if it cannot."""
    unit = ancestors[at]
    while at > 0 and not isinstance(ancestors[at], cst.FunctionDef):
        node, parent = ancestors[at], ancestors[at - 1]
        if isinstance(parent, COMPREHENSIONS):
            return (
                "it is inside a comprehension: an `await` there makes it an async "
                "comprehension (a generator expression then fails at run time); move the "
                "loop into a sync function and offload that"
            )
        if isinstance(parent, cst.WithItem) and parent.item is node:
            return (
                "it opens a `with` block: offloading the call alone leaves the block's "
                "reads, writes and exit on the event loop; move the whole block into a sync "
                "function and offload that"
            )
        if isinstance(parent, cst.Lambda):
            return "it is inside a lambda, where `await` cannot go"
        at -= 1
    if lambda_form and _has_scope_sensitive(unit):
        return (
            "the chain contains `await`, `yield`, `:=` or `super()`, which cannot move "
            "into the `lambda` it would be offloaded in"
        )
    return None


def _last_name(func: cst.BaseExpression) -> str:
    if isinstance(func, cst.Name):
        return func.value
    if isinstance(func, cst.Attribute):
        return func.attr.value
    return ""


class _ScopeSensitive(cst.CSTVisitor):
    def __init__(self) -> None:
        self.found = False

    def visit_Await(self, node: cst.Await) -> None:
        self.found = True

    def visit_Yield(self, node: cst.Yield) -> None:
        self.found = True

    def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
        self.found = True

    def visit_Name(self, node: cst.Name) -> None:
        self.found |= node.value == "super"


def _has_scope_sensitive(node: cst.CSTNode) -> bool:
    visitor = _ScopeSensitive()
    node.visit(visitor)
    return visitor.found


def locate(
    module: cst.Module, plan: FilePlan, previous: _Locator | None = None
) -> tuple[list[Located], list[Located], _Locator]:
    """The planned calls found in the module: each unit to offload or report once (a call
    inside a chain offloaded as a whole goes with it), every call found, and the locator.

    ``previous``: the locator of this module before its leading statements changed (the
    import added). Where every block holding a candidate is still the same object, so are
    the candidates: only their positions are found again, without a second walk.
    """
    if previous is not None and _blocks_kept(previous, module):
        locator = previous
    else:
        locator = _Locator(plan)
        module.visit(locator)
    found = locator.located(module)
    return _merge(found), found, locator


def _blocks_kept(locator: _Locator, module: cst.Module) -> bool:
    """Whether the top-level statement of every candidate (a ``def``, ``class`` or other
    block) is one of ``module``'s: a node never changes, so the whole block is the same."""
    kept = {id(statement) for statement in module.body}
    return all(id(candidate.ancestors[1]) in kept for candidate in locator.candidates)


def _merge(found: list[Located]) -> list[Located]:
    by_unit: dict[int, Located] = {}
    for located in found:
        first = by_unit.setdefault(id(located.unit), located)
        if first is not located:  # ``open(p).read()``: two blocking calls, one chain
            by_unit[id(located.unit)] = replace(
                first,
                lambda_form=first.lambda_form or located.lambda_form,
                refusal=first.refusal or located.refusal,
            )
    kept = list(by_unit.values())
    lambdas = [located for located in kept if located.lambda_form and located.refusal is None]
    return [
        located
        for located in kept
        if not any(other is not located and _inside(located.unit, other.unit) for other in lambdas)
    ]


def _inside(node: cst.CSTNode, container: cst.CSTNode) -> bool:
    class _Finder(cst.CSTVisitor):
        found = False

        def on_visit(self, visited: cst.CSTNode) -> bool:
            if visited is node:
                self.found = True
            return not self.found

    finder = _Finder()
    container.visit(finder)
    return finder.found


_Node = TypeVar("_Node", bound=cst.CSTNode)


class Offload(cst.CSTTransformer):
    """Replaces each unit with ``await run_in_threadpool(...)``."""

    def __init__(self, units: Mapping[int, Located]) -> None:
        super().__init__()
        self.units = units
        # Only the nodes on the way to a unit change (nothing else is rebuilt).
        self.on_path = {id(node) for located in units.values() for node in located.path}

    def on_visit(self, node: cst.CSTNode) -> bool:
        return (isinstance(node, cst.Module) or id(node) in self.on_path) and super().on_visit(node)

    def on_leave(
        self, original_node: _Node, updated_node: _Node
    ) -> _Node | cst.RemovalSentinel | cst.FlattenSentinel[_Node]:
        if not (isinstance(original_node, cst.Module) or id(original_node) in self.on_path):
            return updated_node  # passed by (its visit said so): left as it is
        return super().on_leave(original_node, updated_node)

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        located = self.units.get(id(original_node))
        if located is None:
            return updated_node
        return offloaded(updated_node, located.lambda_form, located.parenthesised)


def offloaded(unit: cst.Call, lambda_form: bool, needs_parens: bool) -> cst.Await:
    lpar, rpar = list(unit.lpar), list(unit.rpar)
    bare = unit.with_changes(lpar=[], rpar=[])
    if lambda_form:
        call = cst.Call(
            func=cst.Name(RUN_IN_THREADPOOL),
            args=[cst.Arg(cst.Lambda(params=cst.Parameters(), body=bare))],
        )
    else:
        call = _callable_form(bare)
    if needs_parens and not lpar:
        lpar, rpar = [cst.LeftParen()], [cst.RightParen()]
    return cst.Await(expression=call, lpar=lpar, rpar=rpar)


def _callable_form(call: cst.Call) -> cst.Call:
    """``f(a, b=1)`` → ``run_in_threadpool(f, a, b=1)``, keeping the call's layout: in a call
    written one argument per line, the callee gets a line of its own."""
    opening = call.whitespace_before_args
    after_callee: cst.BaseParenthesizableWhitespace = cst.SimpleWhitespace(" ")
    if isinstance(opening, cst.ParenthesizedWhitespace):  # the same indent, no comment twice
        after_callee = cst.ParenthesizedWhitespace(
            indent=opening.indent, last_line=opening.last_line
        )
    callee = cst.Arg(call.func)
    args = [callee.with_changes(comma=cst.Comma(whitespace_after=after_callee)), *call.args]
    if not call.args:
        args = [callee]
    return cst.Call(
        func=cst.Name(RUN_IN_THREADPOOL),
        args=args,
        whitespace_before_args=opening,
    )


class TopImportsAdder(AddImportsVisitor):
    """`AddImportsVisitor`, which only ever changes the module's first statements (the
    imports at its top, and what it inserts among them), without rebuilding every
    ``def``, ``class`` and other block: on a large module that is most of its cost."""

    def visit_Module(self, node: cst.Module) -> None:
        # Its first step walks the whole module for the imports at the top, which end at the
        # first statement that is not an import (a block, at the latest).
        leading = itertools.takewhile(
            lambda statement: not isinstance(statement, cst.BaseCompoundStatement), node.body
        )
        super().visit_Module(node.with_changes(body=tuple(leading)))

    def on_visit(self, node: cst.CSTNode) -> bool:
        return not isinstance(node, cst.BaseCompoundStatement) and super().on_visit(node)

    def on_leave(self, original_node: _Node, updated_node: _Node) -> _Node | cst.RemovalSentinel:
        if isinstance(original_node, cst.BaseCompoundStatement):
            return original_node
        return super().on_leave(original_node, updated_node)
