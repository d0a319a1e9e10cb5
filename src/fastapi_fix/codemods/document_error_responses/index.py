"""The project-wide half of document-error-responses (main process): for every route, the
HTTP errors it can raise, through its body, its dependencies (signature, decorator, router)
and the project functions they call, transitively, and which of them its ``responses=``
(or its router's) already documents.
"""

from __future__ import annotations

import http
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from fastapi_fix.codemods.document_error_responses.facts import (
    FunctionFacts,
    ModuleFacts,
    RaiseFacts,
    Responses,
    RouteDecorator,
    RouterFacts,
)
from fastapi_fix.engine.codemod import SourceFile
from fastapi_fix.project.fastapi import ROUTER_CLASSES
from fastapi_fix.project.resolver import Resolver, Value
from fastapi_fix.project.symbols import Sym

HTTP_EXCEPTIONS = frozenset(
    {
        "fastapi.HTTPException",
        "fastapi.exceptions.HTTPException",
        "starlette.exceptions.HTTPException",
    }
)
# FastAPI documents 422 itself (its validation error schema), which an entry would replace.
NEVER_ADDED = frozenset({422})
_ROUTER_BASES: frozenset[object] = frozenset(("ext", name) for name in ROUTER_CLASSES)
_HTTP_BASES: frozenset[object] = frozenset(("ext", name) for name in HTTP_EXCEPTIONS)
_MAX_FUNCTIONS = 2000  # reachable from one route: a guard, far above any real route


@dataclass(frozen=True)
class Raised:
    code: int
    detail: str | None
    where: str  # path:line of the raise


@dataclass(frozen=True)
class RoutePlan:
    qualname: str
    ordinal: int
    decorator: int  # index among the function's decorators
    line: int  # of the decorator, for messages
    name: str
    added: tuple[tuple[int, str], ...] = ()  # (status code, description), in code order
    refusal: str | None = None  # why ``responses=`` is left as it is
    unresolved: tuple[str, ...] = ()  # raises whose status is not known


@dataclass
class ErrorIndex:
    plans: dict[Path, list[RoutePlan]] = field(default_factory=dict)


def description(code: int, details: set[str | None]) -> str:
    """The ``detail`` when every raise of the code gives the same literal one, else the
    HTTP phrase (what FastAPI itself would show)."""
    if len(details) == 1:
        only = next(iter(details))
        if only:
            return only
    try:
        return http.HTTPStatus(code).phrase
    except ValueError:
        return "Error"


def documented(code: int, keys: set[str]) -> bool:
    return str(code) in keys or f"{str(code)[0]}XX" in keys or "DEFAULT" in keys


class ErrorProject(Resolver[FunctionFacts]):
    def __init__(self, facts: Mapping[SourceFile, ModuleFacts]) -> None:
        super().__init__(facts)
        self.error_modules: dict[str, ModuleFacts] = {}
        self.where: dict[str, tuple[SourceFile, ModuleFacts]] = {}
        for file, module in facts.items():
            self.error_modules.setdefault(module.module, module)
            for function in module.functions:
                self.where.setdefault(function.id, (file, module))
        self.class_status = {
            class_id: status
            for module in facts.values()
            for class_id, status in module.class_status.items()
        }
        self.handler_status: dict[str, int | None] = {}
        for module in facts.values():
            for registration in module.handlers:
                exception = self.resolve(registration.exception)
                if exception is None or exception[0] not in ("class", "ext"):
                    continue
                handler = self.function_of(self.resolve(registration.handler))
                codes = set(self.function_facts[handler].response_status) if handler else set()
                self.handler_status[exception[1]] = codes.pop() if len(codes) == 1 else None
        # router -> [(the router including it, or None when not known; the call's facts)]
        self.included: dict[tuple[str, str], list[tuple[tuple[str, str] | None, RouterFacts]]] = {}
        for module in facts.values():
            for router, parent, router_facts in module.included:
                key = self._router_key(router)
                if key:
                    entry = (self._router_key(parent), router_facts)
                    self.included.setdefault(key, []).append(entry)

    # -- routers -----------------------------------------------------------------------

    def _definition(self, symbol: Sym | None, table: str, depth: int = 0) -> tuple[str, str] | None:
        """(module, name) where a module-level router (``table`` "routers") or exception
        instance ("exception_instances") is made, following imports and re-exports."""
        if symbol is None or depth > 8:
            return None
        if symbol[0] == "ref":
            dotted = symbol[1]
        elif symbol[0] == "near":
            dotted = symbol[2]
        else:
            return None
        module_name, _, name = dotted.rpartition(".")
        module = self.error_modules.get(module_name)
        if module is None:
            return None
        if name in getattr(module, table):
            return (module_name, name)
        return self._definition(module.symbols.get(name), table, depth + 1)

    def _router_key(self, symbol: Sym | None) -> tuple[str, str] | None:
        return self._definition(symbol, "routers")

    def router_layers(self, route: RouteDecorator) -> list[RouterFacts]:
        """The route's router, every router that includes it (up to the app), and each
        ``include_router`` call on the way: their ``dependencies=`` run for the route, and
        their ``responses=`` document it."""
        layers: list[RouterFacts] = []
        pending = [self._router_key(route.router)]
        seen: set[tuple[str, str]] = set()
        while pending:
            key = pending.pop()
            if key is None or key in seen:
                continue
            seen.add(key)
            layers.append(self.error_modules[key[0]].routers[key[1]])
            for parent, call in self.included.get(key, []):
                layers.append(call)
                pending.append(parent)
        return layers

    def is_router(self, symbol: Sym | None) -> bool:
        value = self.resolve(symbol)
        if value is None:
            return False
        if value[0] == "extinst":
            return value[1] in ROUTER_CLASSES
        if value[0] == "inst":
            return any(base in _ROUTER_BASES for base in self._mro(value[1]))
        return False

    # -- what a route raises ------------------------------------------------------------

    def dependency_functions(self, symbol: Sym, depth: int = 0) -> list[str]:
        """The project functions a dependency runs: the function, a class's ``__init__``, a
        callable instance's ``__call__``; an ``Annotated[T, Depends(f)]`` alias unwrapped."""
        if depth > 8:
            return []
        if symbol[0] == "annotated":
            dependency = symbol[2]
            if dependency is None or dependency[0] != "dep":
                return []
            return self.dependency_functions(dependency[1], depth + 1)
        if symbol[0] == "dep":
            return self.dependency_functions(symbol[1], depth + 1)
        if symbol[0] in ("ref", "near"):
            dotted = symbol[1] if symbol[0] == "ref" else symbol[2]
            module_name, _, name = dotted.rpartition(".")
            module = self.error_modules.get(module_name)
            raw = module.symbols.get(name) if module else None
            if raw is not None and raw[0] in ("annotated", "ref", "near") and raw != symbol:
                found = self.dependency_functions(raw, depth + 1)
                if found:
                    return found
        if symbol[0] == "call":  # ``Depends(authorizer(required=True))``: what it returns
            factory = self._callees(self.resolve(symbol[1]))
            made = [
                found
                for function_id in factory
                for returned in self.function_facts[function_id].returned_callables
                for found in self.dependency_functions(returned, depth + 1)
            ]
            if made:
                return made
        return self._callees(self.resolve(symbol))

    def _callees(self, value: Value | None) -> list[str]:
        if value is None:
            return []
        if value[0] == "class":
            members = [self._class_member(value[1], "__init__", instance=True)]
        elif value[0] == "func":
            members = [value]
        elif value[0] == "inst":
            members = [self._class_member(value[1], "__call__", instance=True)]
        else:
            members = []
        return [
            member[1]
            for member in members
            if member is not None and member[0] == "func" and member[1] in self.function_facts
        ]

    def reachable(self, start: list[str]) -> Iterator[str]:
        """Every project function ``start`` runs, each once (calls inside a ``try`` that
        catches are not followed: what they raise does not leave)."""
        seen: set[str] = set()
        pending = list(start)
        while pending and len(seen) < _MAX_FUNCTIONS:
            function_id = pending.pop()
            if function_id in seen:
                continue
            seen.add(function_id)
            yield function_id
            function = self.function_facts[function_id]
            for site in function.calls:
                if (site.line, site.col) not in function.caught_calls:
                    pending.extend(self._callees(self.resolve(site.callee)))
            for dependency in function.dependencies:
                pending.extend(self.dependency_functions(dependency))

    def classify(self, function_id: str, raised: RaiseFacts) -> Raised | str | None:
        """A `Raised` code, a message when the code is not known, or None: not an HTTP error."""
        file, _ = self.where[function_id]
        where = f"{file.display_path}:{raised.line}"
        instance = self._definition(raised.exception, "exception_instances")
        if instance is not None:  # ``raise NotFound`` where ``NotFound = HTTPException(404)``
            status, detail = self.error_modules[instance[0]].exception_instances[instance[1]]
            if status is None or status.code is None:
                return f"{where}: the status code of `{instance[1]}` is not a literal"
            return Raised(status.code, detail, where)
        value = self.resolve(raised.exception)
        if value is None:
            return None
        status, detail = raised.status, raised.detail
        if value[0] == "ext":
            if value[1] not in HTTP_EXCEPTIONS:
                return self._handled(value, where, raised)
            if status is None or status.code is None:
                text = status.text if status else "no status code"
                return f"{where}: status code `{text}` is not a literal"
            return Raised(status.code, detail, where)
        if value[0] != "class":
            return None
        order = list(self._mro(value[1]))
        handled = self._handled(value, where, raised)
        if handled is not None:
            return handled
        if not any(item in _HTTP_BASES for item in order):
            return None
        if status is not None:
            if status.code is None:
                return f"{where}: status code `{status.text}` is not a literal"
            return Raised(status.code, detail, where)
        for item in order:
            if isinstance(item, str) and item in self.class_status:
                fixed = self.class_status[item]
                return Raised(fixed.code, detail or fixed.detail, where)
        return f"{where}: the status code of `{value[1]}` is not fixed"

    def _handled(self, value: Value, where: str, raised: RaiseFacts) -> Raised | str | None:
        """The code an exception handler registered for the class (or a base) responds with."""
        order: list[object] = list(self._mro(value[1])) if value[0] == "class" else [value]
        for item in order:
            key = item if isinstance(item, str) else item[1] if isinstance(item, tuple) else None
            if key in HTTP_EXCEPTIONS:
                return None
            if isinstance(key, str) and key in self.handler_status:
                code = self.handler_status[key]
                if code is None:
                    return f"{where}: the handler of `{key}` responds with a status that is not a literal"
                return Raised(code, None, where)
        return None

    def route_errors(
        self, function_id: str, route: RouteDecorator, layers: list[RouterFacts]
    ) -> tuple[dict[int, set[str | None]], list[str]]:
        start = [function_id]
        for dependency in [
            *route.dependencies,
            *(d for layer in layers for d in layer.dependencies),
        ]:
            start.extend(self.dependency_functions(dependency))
        codes: dict[int, set[str | None]] = {}
        unresolved: list[str] = []
        for reached in self.reachable(start):
            for raised in self.function_facts[reached].raises:
                if raised.caught:
                    continue
                found = self.classify(reached, raised)
                if isinstance(found, Raised):
                    codes.setdefault(found.code, set()).add(found.detail)
                elif isinstance(found, str) and found not in unresolved:
                    unresolved.append(found)
        return codes, unresolved


def plan_routes(facts: Mapping[SourceFile, ModuleFacts]) -> ErrorIndex:
    project = ErrorProject(facts)
    index = ErrorIndex()
    for file, module in facts.items():
        if module.module in project.shared_names:
            continue
        for function in module.functions:
            for route in function.routes:
                if not route.in_schema or not project.is_router(route.router):
                    continue
                plan = _plan_route(project, function, route)
                if plan is not None:
                    index.plans.setdefault(file.path, []).append(plan)
    return index


def _plan_route(
    project: ErrorProject, function: FunctionFacts, route: RouteDecorator
) -> RoutePlan | None:
    layers = project.router_layers(route)
    codes, unresolved = project.route_errors(function.id, route, layers)
    base = RoutePlan(
        function.qualname,
        function.ordinal,
        route.position,
        route.line,
        function.name,
        unresolved=tuple(unresolved),
    )
    wanted = {code: details for code, details in codes.items() if 400 <= code <= 599}
    wanted = {code: d for code, d in wanted.items() if code not in NEVER_ADDED}
    if not wanted and not unresolved:
        return None
    keys: set[str] = set()
    for responses in [route.responses, *(layer.responses for layer in layers)]:
        refusal = _not_literal(responses, responses is route.responses)
        if refusal:
            return replace(base, refusal=refusal) if wanted else base
        keys.update(responses.keys if responses else ())
    added = tuple(
        (code, description(code, wanted[code]))
        for code in sorted(wanted)
        if not documented(code, keys)
    )
    if not added and not unresolved:
        return None
    return replace(base, added=added)


def _not_literal(responses: Responses | None, own: bool) -> str | None:
    if responses is None or responses.literal:
        return None
    if own:
        return f"its `responses={responses.text}` is not a dict literal"
    return f"its router's `responses={responses.text}` is not a dict literal"
