"""Transform step of depends-to-annotated: rewrite signatures with LibCST, as the index planned.

Nodes are moved, never re-printed from text, so comments and layout inside the FastAPI
calls and the annotations survive; comments around a removed default argument are kept
in the call.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import TypeVar

import libcst as cst

from fastapi_fix.codemods.depends_to_annotated.facts import WORD
from fastapi_fix.codemods.depends_to_annotated.index import (
    FilePlan,
    FunctionPlan,
    Import,
    ParamPlan,
)
from fastapi_fix.engine.codemod import FileContext

Item = TypeVar("Item", cst.ImportAlias, cst.SubscriptElement)
Node = TypeVar("Node", bound=cst.CSTNode)
_EMPTY_MODULE = cst.Module([])
# Where statements nest, down to every function of a module: per node that holds them, its
# fields that do, in source order. Nothing else can hold a function.
_NESTED: dict[type[cst.CSTNode], tuple[str, ...]] = {
    cst.Module: ("body",),
    cst.IndentedBlock: ("body",),
    cst.ClassDef: ("body",),
    cst.FunctionDef: ("body",),
    cst.If: ("body", "orelse"),
    cst.Else: ("body",),
    cst.For: ("body", "orelse"),
    cst.While: ("body", "orelse"),
    cst.With: ("body",),
    cst.Try: ("body", "handlers", "orelse", "finalbody"),
    cst.TryStar: ("body", "handlers", "orelse", "finalbody"),
    cst.ExceptHandler: ("body",),
    cst.ExceptStarHandler: ("body",),
    cst.Finally: ("body",),
    cst.Match: ("cases",),
    cst.MatchCase: ("body",),
}


class SignatureRewriter:
    """Rewrites the parameters the plan names; reports those it must leave.

    It walks statement blocks only (positions come from the plan, not from metadata) and
    copies just the nodes on the way to a changed signature: every other statement keeps its
    identity, and a module with nothing to change comes back as the very same object, which
    spares the engine printing it again for its stability check.
    """

    def __init__(self, ctx: FileContext, plan: FilePlan, module: cst.Module) -> None:
        self.ctx = ctx
        self.plan = plan
        self.module = module
        self.lines: list[str] | None = (
            None  # of the module, rendered when there is something to report
        )
        self.scope: list[str] = []
        self.seen: Counter[str] = Counter()
        # What the rewritten module now needs.
        self.imports: list[Import] = []
        self.uses_annotated = False
        self.uses_alias = False
        # Parameters now written with an alias: their annotation and default are gone.
        self.aliased: list[ParamPlan] = []
        # Types written for unannotated parameters: they may use a name again.
        self.type_codes: list[str] = []
        # PEP 695 type parameters: an older Python's `ast` read the file without them, so the
        # gathered name counts miss the names used there.
        self.type_parameter_names: Counter[str] = Counter()

    def rewrite(self) -> cst.Module:
        """The module with the planned signatures rewritten; the module itself if none changes."""
        return self._nested(self.module)

    def _walk(self, node: cst.CSTNode) -> cst.CSTNode:
        """``node`` with the functions in it rewritten, inner ones first (the order findings
        and edits are recorded in); ``node`` itself when none of them changes."""
        if isinstance(node, (cst.SimpleStatementLine, cst.SimpleStatementSuite)):
            # A `type X[T: Bound] = ...` may also sit in a one-line block (`if x: type ...`).
            for small in node.body:
                if isinstance(small, cst.TypeAlias) and small.type_parameters is not None:
                    self.type_parameter_names.update(_names_in(small.type_parameters))
            return node
        if isinstance(node, (cst.FunctionDef, cst.ClassDef)) and node.type_parameters is not None:
            self.type_parameter_names.update(_names_in(node.type_parameters))
        if isinstance(node, cst.FunctionDef):
            return self._function(node)
        if isinstance(node, cst.ClassDef):
            self.scope.append(node.name.value)
            walked = self._nested(node)
            self.scope.pop()
            return walked
        return self._nested(node)

    def _function(self, node: cst.FunctionDef) -> cst.FunctionDef:
        # The same keys as the gather step builds: qualified name in the file + ordinal.
        qualname = ".".join([*self.scope, node.name.value])
        key = f"{qualname}#{self.seen[qualname]}"
        self.seen[qualname] += 1
        self.scope.append(node.name.value)
        walked = self._nested(node)
        self.scope.pop()
        plan = self.plan.functions.get(key)
        if plan is None:
            return walked
        params = self._rewrite(node.params, plan)
        return walked if params is node.params else walked.with_changes(params=params)

    def _nested(self, node: Node) -> Node:
        """``node`` with the statements nested in it walked; copied only if one of them changed."""
        changes: dict[str, object] = {}
        for field in _NESTED.get(type(node), ()):
            value = getattr(node, field)
            if value is None:
                continue
            if isinstance(value, cst.CSTNode):
                walked: object = self._walk(value)
            else:
                walked = [self._walk(child) for child in value]
                if all(new is old for new, old in zip(walked, value, strict=True)):
                    walked = value
            if walked is not value:
                changes[field] = walked
        return node.with_changes(**changes) if changes else node

    def _rewrite(self, params: cst.Parameters, plan: FunctionPlan) -> cst.Parameters:
        by_name = {p.name.value: p for p in _all_params(params)}
        converted: dict[str, cst.Param] = {}
        aliased: list[ParamPlan] = []
        for step in plan.params:
            param = by_name.get(step.name)
            if param is None or not isinstance(param.default, cst.Call):
                continue  # already in Annotated form (a second run)
            if step.leave:
                self._report(step, f"`{step.name}` left as is: {step.leave}")
            elif _compact(param.default.func) != step.func_code.replace(" ", ""):
                self._report(
                    step, f"`{step.name}` left as is: the two parsers disagree about this call"
                )
                return params
            else:
                converted[step.name], to_alias = self._convert(param, step)
                if to_alias:
                    aliased.append(step)
        if not converted:
            return params
        rewritten = _reorder_keyword_only(params, converted, plan.star_at)
        if rewritten is None:
            for step in plan.params:
                if step.name in converted:
                    self._report(
                        step, f"`{step.name}` left as is: cannot keep the parameter order valid"
                    )
            return params
        for step in plan.params:
            if step.name in converted:
                # A parameter's position is its name's (PositionProvider's syntactic position).
                self.ctx.record_edit(
                    step.line, step.line, f"`{step.name}`: {step.function}(...) default → Annotated"
                )
        self.aliased.extend(aliased)
        return rewritten

    def _convert(self, param: cst.Param, step: ParamPlan) -> tuple[cst.Param, bool]:
        """The parameter in Annotated form, and whether it now uses an alias."""
        call = param.default
        assert isinstance(call, cst.Call)
        default: cst.BaseExpression | None = None
        if step.mode in ("move", "required"):
            call, moved = _without_default_argument(call)
            default = moved if step.mode == "move" else None
        to_alias = bool(step.alias) and not _has_comment(call)
        if to_alias:
            assert step.alias is not None
            annotation: cst.BaseExpression = cst.parse_expression(step.alias)
            self.imports.extend(step.alias_imports)
            self.uses_alias = True
        else:
            annotation = self._annotated(param, step, call)
        new_annotation = (
            param.annotation.with_changes(annotation=annotation)
            if param.annotation
            else cst.Annotation(annotation)
        )
        keep_equal = default is not None and param.annotation is not None
        return param.with_changes(
            annotation=new_annotation,
            default=default,
            equal=param.equal if keep_equal else cst.MaybeSentinel.DEFAULT,
        ), to_alias

    def _annotated(self, param: cst.Param, step: ParamPlan, call: cst.Call) -> cst.BaseExpression:
        self.uses_annotated = True
        if (
            step.extend
            and param.annotation
            and isinstance(param.annotation.annotation, cst.Subscript)
        ):
            existing = param.annotation.annotation
            element = cst.SubscriptElement(cst.Index(call))
            return existing.with_changes(
                slice=insert_item(
                    existing.slice, len(existing.slice), element, existing.lbracket.whitespace_after
                )
            )
        if param.annotation:
            base = param.annotation.annotation
        else:
            assert step.type_code is not None
            base = cst.parse_expression(step.type_code)
            self.imports.extend(step.type_imports)
            self.type_codes.append(step.type_code)
        assert self.plan.annotated is not None
        return cst.Subscript(
            value=cst.parse_expression(self.plan.annotated),
            slice=[
                cst.SubscriptElement(
                    cst.Index(base), comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
                ),
                cst.SubscriptElement(cst.Index(call)),
            ],
        )

    def _report(self, step: ParamPlan, message: str) -> None:
        """At the parameter's name, its column counted in characters as LibCST counts them."""
        if self.lines is None:
            # Python's line breaks only (str.splitlines also breaks at \f, \x1c, \u2028, ...).
            self.lines = self.module.code.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        text = self.lines[step.line - 1] if step.line <= len(self.lines) else ""
        column = len(text.encode()[: step.column].decode(errors="ignore"))
        self.ctx.report(step.line, column, message)


def _names_in(node: cst.CSTNode) -> list[str]:
    """Every name in ``node``, and every word of its strings (as the gather step counts them)."""

    class Collector(cst.CSTVisitor):
        def __init__(self) -> None:
            super().__init__()
            self.found: list[str] = []

        def visit_Name(self, name: cst.Name) -> None:
            self.found.append(name.value)

        def visit_SimpleString(self, string: cst.SimpleString) -> None:
            self.found.extend(WORD.findall(string.value))

    collector = Collector()
    node.visit(collector)
    return collector.found


def _all_params(params: cst.Parameters) -> list[cst.Param]:
    return [*params.posonly_params, *params.params, *params.kwonly_params]


def _compact(node: cst.CSTNode) -> str:
    return "".join(_EMPTY_MODULE.code_for_node(node).split())


def _out_of_order(params: Sequence[cst.Param]) -> bool:
    """A parameter without a default after one with a default (a SyntaxError)."""
    seen_default = False
    for param in params:
        if param.default is not None:
            seen_default = True
        elif seen_default:
            return True
    return False


def _reorder_keyword_only(
    params: cst.Parameters, converted: dict[str, cst.Param], star_at: int | None
) -> cst.Parameters | None:
    """Put the converted parameters in; add a bare `*` where a required one follows a default.

    Nothing moves: the parameters from ``star_at`` on become keyword-only in place.
    """
    posonly = [converted.get(p.name.value, p) for p in params.posonly_params]
    regular = [converted.get(p.name.value, p) for p in params.params]
    kwonly = [converted.get(p.name.value, p) for p in params.kwonly_params]
    star = params.star_arg
    if (
        isinstance(star, cst.ParamStar)
        and _out_of_order(_all_params(params))
        and not _out_of_order([*posonly, *regular, *kwonly])
    ):
        # The `*` only let a required parameter follow `= Path(...)`; the docs drop it then.
        # Dropping it only allows more calls, never fewer.
        return params.with_changes(
            posonly_params=posonly,
            params=[*regular, *kwonly],
            star_arg=cst.MaybeSentinel.DEFAULT,
            kwonly_params=[],
        )
    if _out_of_order([*posonly, *regular]):
        cut = -1 if star_at is None else star_at - len(posonly)
        if isinstance(star, cst.Param) or not 0 <= cut < len(regular):
            return None
        moved, regular = regular[cut:], regular[:cut]
        if not isinstance(star, cst.ParamStar):
            comma = (
                moved[0].comma
                if isinstance(moved[0].comma, cst.Comma)
                else cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
            )
            star = cst.ParamStar(comma=comma)
        kwonly = [*moved, *kwonly]
        if _out_of_order([*posonly, *regular]):
            return None
    return params.with_changes(
        posonly_params=posonly, params=regular, star_arg=star, kwonly_params=kwonly
    )


# -- removing the default argument from Query(None, ...) --------------------------------


def _without_default_argument(call: cst.Call) -> tuple[cst.Call, cst.BaseExpression]:
    """``Query(None, max_length=5)`` → (``Query(max_length=5)``, ``None``), keeping comments."""
    args = list(call.args)
    index = next(
        i
        for i, arg in enumerate(args)
        if (arg.keyword is None and not arg.star)
        or (arg.keyword and arg.keyword.value == "default")
    )
    removed = args.pop(index)
    removed_after = (
        removed.comma.whitespace_after
        if isinstance(removed.comma, cst.Comma)
        else removed.whitespace_after_arg
    )
    before_args = call.whitespace_before_args
    if index < len(args):  # arguments follow: the gap before the removed one now leads to the next
        if index == 0:
            before_args = rescue_comments(before_args, removed_after)
        else:
            previous = args[index - 1]
            assert isinstance(previous.comma, cst.Comma)
            args[index - 1] = previous.with_changes(
                comma=previous.comma.with_changes(
                    whitespace_after=rescue_comments(previous.comma.whitespace_after, removed_after)
                )
            )
    elif index > 0:  # it was the last: the one before now ends the list, the way it did
        previous = args[index - 1]
        assert isinstance(previous.comma, cst.Comma)
        if isinstance(removed.comma, cst.Comma):
            args[index - 1] = previous.with_changes(
                comma=removed.comma.with_changes(
                    whitespace_after=rescue_comments(
                        removed.comma.whitespace_after, previous.comma.whitespace_after
                    )
                )
            )
        else:
            args[index - 1] = previous.with_changes(
                comma=cst.MaybeSentinel.DEFAULT,
                whitespace_after_arg=(
                    rescue_comments(removed.whitespace_after_arg, previous.comma.whitespace_after)
                ),
            )
    else:  # it was the only one
        before_args = rescue_comments(cst.SimpleWhitespace(""), before_args)
        before_args = rescue_comments(before_args, removed_after)
    return call.with_changes(args=args, whitespace_before_args=before_args), removed.value


def _comment_lines(
    whitespace: cst.BaseParenthesizableWhitespace,
) -> tuple[cst.EmptyLine | None, list[cst.EmptyLine]]:
    """The comment ending the first line (as an own line), and the comment lines after it."""
    if not isinstance(whitespace, cst.ParenthesizedWhitespace):
        return None, []
    first = None
    if whitespace.first_line.comment is not None:
        first = cst.EmptyLine(
            indent=whitespace.indent,
            whitespace=whitespace.last_line,
            comment=whitespace.first_line.comment,
        )
    return first, [line for line in whitespace.empty_lines if line.comment is not None]


def rescue_comments(
    keep: cst.BaseParenthesizableWhitespace, drop: cst.BaseParenthesizableWhitespace
) -> cst.BaseParenthesizableWhitespace:
    """``keep``, plus any comment that was in ``drop`` (whitespace about to disappear)."""
    first, others = _comment_lines(drop)
    if first is None and not others:
        return keep
    assert isinstance(drop, cst.ParenthesizedWhitespace)
    if not isinstance(keep, cst.ParenthesizedWhitespace):
        return drop  # comments need their line breaks: take the dropped layout whole
    if first is not None and keep.first_line.comment is None:
        keep = keep.with_changes(first_line=drop.first_line)
        first = None
    return keep.with_changes(empty_lines=[*keep.empty_lines, *([first] if first else []), *others])


def _has_comment(node: cst.CSTNode) -> bool:
    class Finder(cst.CSTVisitor):
        found = False

        def visit_Comment(self, node: cst.Comment) -> None:
            self.found = True

    finder = Finder()
    node.visit(finder)
    return finder.found


# -- inserting into comma-separated lists (import names, Annotated[...] elements) --------


def _bare(whitespace: cst.BaseParenthesizableWhitespace) -> cst.BaseParenthesizableWhitespace:
    """The same line break and indentation, without any comment; or a single space."""
    if isinstance(whitespace, cst.ParenthesizedWhitespace):
        return cst.ParenthesizedWhitespace(indent=whitespace.indent, last_line=whitespace.last_line)
    return cst.SimpleWhitespace(" ")


def insert_item(
    items: Sequence[Item], index: int, new: Item, opening: cst.BaseParenthesizableWhitespace
) -> list[Item]:
    """Insert ``new`` at ``index``, laid out like its neighbours (one per line, or inline).

    ``opening`` is the whitespace after the opening bracket, which leads to the first item.
    Comments stay on the line of the item they follow.
    """
    result = list(items)
    if index < len(result):
        lead = opening if index == 0 else _comma_whitespace(result[index - 1])
        result.insert(index, new.with_changes(comma=cst.Comma(whitespace_after=_bare(lead))))
        return result
    last = result[-1]
    lead = opening if len(result) < 2 else _comma_whitespace(result[-2])
    if isinstance(last.comma, cst.Comma):  # a trailing comma stays trailing
        trailing = last.comma.whitespace_after
        between = _bare(lead)
        if isinstance(trailing, cst.ParenthesizedWhitespace) and isinstance(
            between, cst.ParenthesizedWhitespace
        ):
            between = between.with_changes(
                first_line=trailing.first_line, empty_lines=trailing.empty_lines
            )
        result[-1] = last.with_changes(comma=last.comma.with_changes(whitespace_after=between))
        result.append(new.with_changes(comma=cst.Comma(whitespace_after=_bare_closing(trailing))))
    else:
        result[-1] = last.with_changes(comma=cst.Comma(whitespace_after=_bare(lead)))
        result.append(new.with_changes(comma=cst.MaybeSentinel.DEFAULT))
    return result


def _comma_whitespace(item: Item) -> cst.BaseParenthesizableWhitespace:
    return (
        item.comma.whitespace_after
        if isinstance(item.comma, cst.Comma)
        else cst.SimpleWhitespace(" ")
    )


def _bare_closing(
    whitespace: cst.BaseParenthesizableWhitespace,
) -> cst.BaseParenthesizableWhitespace:
    if isinstance(whitespace, cst.ParenthesizedWhitespace):
        return cst.ParenthesizedWhitespace(indent=whitespace.indent, last_line=whitespace.last_line)
    return whitespace
