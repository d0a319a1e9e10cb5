"""The LibCST half: add ``{code: {"description": ...}}`` entries to a route decorator's
``responses=``, found again by the function's qualified name, its ordinal among functions of
that name, and the decorator's index."""

from __future__ import annotations

import json

import libcst as cst

from fastapi_fix.codemods.document_error_responses.index import RoutePlan

PlanKey = tuple[str, int, int]  # (qualname, ordinal, decorator index)


def entry(code: int, description: str) -> cst.DictElement:
    text = json.dumps(description, ensure_ascii=False)
    return cst.DictElement(
        cst.Integer(str(code)),
        cst.Dict([cst.DictElement(cst.SimpleString('"description"'), cst.SimpleString(text))]),
    )


def _spaced(elements: list[cst.DictElement]) -> list[cst.DictElement]:
    comma = cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
    return [e.with_changes(comma=comma) for e in elements[:-1]] + elements[-1:]


def merged(responses: cst.Dict, added: list[cst.DictElement]) -> cst.Dict:
    """New entries before the first ``**spread`` (so an entry the spread holds still wins:
    nothing documented changes), else after the last entry, in the dict's own layout."""
    elements = list(responses.elements)
    spread = next(
        (i for i, e in enumerate(elements) if isinstance(e, cst.StarredDictElement)), None
    )
    if spread is not None:
        comma = cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
        fresh = [e.with_changes(comma=comma) for e in added]
        return responses.with_changes(elements=[*elements[:spread], *fresh, *elements[spread:]])
    if not elements:
        return responses.with_changes(elements=_spaced(added))
    last = elements[-1]
    between = (
        elements[-2].comma
        if len(elements) > 1 and isinstance(elements[-2].comma, cst.Comma)
        else cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
    )
    trailing = last.comma
    fresh = [e.with_changes(comma=between) for e in added]
    fresh[-1] = fresh[-1].with_changes(comma=trailing)
    return responses.with_changes(
        elements=[*elements[:-1], last.with_changes(comma=between), *fresh]
    )


def with_responses(call: cst.Call, added: list[cst.DictElement]) -> cst.Call:
    args = list(call.args)
    for position, argument in enumerate(args):
        if argument.keyword is not None and argument.keyword.value == "responses":
            if not isinstance(argument.value, cst.Dict):
                return call  # planned as a refusal; never reached
            args[position] = argument.with_changes(value=merged(argument.value, added))
            return call.with_changes(args=args)
    new = cst.Arg(
        cst.Dict(_spaced(added)),
        keyword=cst.Name("responses"),
        equal=cst.AssignEqual(
            whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")
        ),
    )
    if args and isinstance(args[-1].comma, cst.Comma):
        between = (
            args[-2].comma
            if len(args) > 1 and isinstance(args[-2].comma, cst.Comma)
            else cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
        )
        new = new.with_changes(comma=args[-1].comma)
        args[-1] = args[-1].with_changes(comma=between)
    elif args:
        # ``x=1\n)``: the line break before ``)`` follows the new last argument.
        new = new.with_changes(whitespace_after_arg=args[-1].whitespace_after_arg)
        args[-1] = args[-1].with_changes(
            comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")),
            whitespace_after_arg=cst.SimpleWhitespace(""),
        )
    return call.with_changes(args=[*args, new])


def _present_keys(call: cst.Call) -> set[str]:
    """The codes a ``responses=`` dict literal already has (the engine runs the rewrite a
    second time on its own output: what it added is there then)."""
    keys: set[str] = set()
    for argument in call.args:
        if argument.keyword is None or argument.keyword.value != "responses":
            continue
        if not isinstance(argument.value, cst.Dict):
            continue
        for element in argument.value.elements:
            if isinstance(element, cst.DictElement):
                key = element.key
                if isinstance(key, cst.Integer):
                    keys.add(str(key.evaluated_value))
                elif isinstance(key, cst.SimpleString):
                    keys.add(str(key.evaluated_value).upper())
                elif isinstance(key, cst.Attribute) and key.attr.value.startswith("HTTP_"):
                    keys.add(key.attr.value.split("_")[1])
    return keys


class AddResponses(cst.CSTTransformer):
    """Rewrites the planned decorators; ``done`` holds the keys it found."""

    def __init__(self, plans: dict[PlanKey, RoutePlan]) -> None:
        self.plans = plans
        self.prefixes: list[str] = [""]
        self.seen: dict[str, int] = {}
        self.done: set[PlanKey] = set()

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self.prefixes.append(f"{self.prefixes[-1]}{node.name.value}.")

    def leave_ClassDef(self, original: cst.ClassDef, updated: cst.ClassDef) -> cst.ClassDef:
        self.prefixes.pop()
        return updated

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        qualname = f"{self.prefixes[-1]}{node.name.value}"
        self.prefixes.append(f"{qualname}.<locals>.")

    def leave_FunctionDef(
        self, original: cst.FunctionDef, updated: cst.FunctionDef
    ) -> cst.FunctionDef:
        self.prefixes.pop()
        qualname = f"{self.prefixes[-1]}{original.name.value}"
        ordinal = self.seen.get(qualname, 0)
        self.seen[qualname] = ordinal + 1
        decorators = list(updated.decorators)
        changed = False
        for position, decorator in enumerate(decorators):
            key = (qualname, ordinal, position)
            plan = self.plans.get(key)
            if plan is None or not plan.added or not isinstance(decorator.decorator, cst.Call):
                continue
            present = _present_keys(decorator.decorator)
            added = [entry(code, text) for code, text in plan.added if str(code) not in present]
            if not added:
                continue
            decorators[position] = decorator.with_changes(
                decorator=with_responses(decorator.decorator, added)
            )
            self.done.add(key)
            changed = True
        return updated.with_changes(decorators=decorators) if changed else updated
