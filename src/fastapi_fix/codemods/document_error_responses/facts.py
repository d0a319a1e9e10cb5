"""What document-error-responses learns about one module (stdlib ``ast``, in workers).

The walk and its symbols are the project's (`fastapi_fix.project.symbols`); this adds, per
function: the HTTP errors it raises (the exception as a symbol, the status code when it is
written as a literal, a ``status.HTTP_*`` name or ``HTTPStatus.X``, the ``detail`` when it is a
literal string), the calls made inside a ``try`` that catches them, the dependencies its
signature declares, the route decorators it carries (their ``dependencies=`` and
``responses=``), and the status of the responses it returns (for exception handlers); per
module: exception handler registrations, the routers made with ``dependencies=``/
``responses=``, ``include_router(..., responses=)``, and the status codes classes fix.
"""

from __future__ import annotations

import ast
import builtins
import http
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from fastapi_fix.engine.codemod import SourceFile
from fastapi_fix.project import symbols
from fastapi_fix.project.fastapi import HTTP_METHODS, ImportTable, unquoted
from fastapi_fix.project.symbols import (
    ClassFacts,
    Scope,
    Sym,
    SymbolWalker,
    call_argument,
    own_statements,
    parameter_defaults,
    ref_name,
)

STATUS_MODULES = ("fastapi.status", "starlette.status")
HTTP_STATUS = ("http.HTTPStatus",)
ROUTE_METHODS = HTTP_METHODS | {"api_route"}
# ``except`` clauses that catch an ``HTTPException`` (or may: a project class might be one).
CATCH_ALL = frozenset({"Exception", "BaseException", "HTTPException", "StarletteHTTPException"})


class Status(NamedTuple):
    """A status code as written: ``code`` when known, else ``text`` says what it was."""

    code: int | None
    text: str


class RaiseFacts(NamedTuple):
    line: int
    col: int
    exception: Sym | None  # the class raised (``HTTPException``, a project class)
    status: Status | None  # the status argument, None when not given
    detail: str | None  # a literal string ``detail``; None otherwise
    caught: bool  # inside a ``try`` whose ``except`` catches it (or may)


class Responses(NamedTuple):
    """A ``responses=`` argument: ``literal`` when it is a dict literal, then its keys."""

    literal: bool
    text: str
    keys: tuple[str, ...] = ()  # "404", "4XX", "DEFAULT", "?" for a key not known


class RouteDecorator(NamedTuple):
    position: int  # among the function's decorators
    line: int
    method: str
    router: Sym | None
    dependencies: tuple[Sym, ...]
    responses: Responses | None
    in_schema: bool


@dataclass
class FunctionFacts(symbols.FunctionFacts):
    raises: list[RaiseFacts] = field(default_factory=list)
    # Calls inside a ``try`` whose ``except`` catches what their callee may raise.
    caught_calls: set[tuple[int, int]] = field(default_factory=set)
    # ``Depends(f)`` targets of the signature; annotations that may be Annotated aliases.
    dependencies: list[Sym] = field(default_factory=list)
    routes: list[RouteDecorator] = field(default_factory=list)
    # ``return a if required else b``: the callables a dependency factory may hand out.
    returned_callables: list[Sym] = field(default_factory=list)
    # ``return JSONResponse(..., status_code=409)``: what an exception handler responds with.
    response_status: list[int] = field(default_factory=list)


class Registration(NamedTuple):
    exception: Sym | None
    handler: Sym | None
    status: int | None = None  # a handler given as a lambda or status known at the site


class RouterFacts(NamedTuple):
    dependencies: tuple[Sym, ...]
    responses: Responses | None


class ClassStatus(NamedTuple):
    code: int
    detail: str | None


@dataclass
class ModuleFacts(symbols.ModuleFacts[FunctionFacts]):
    handlers: list[Registration] = field(default_factory=list)
    routers: dict[str, RouterFacts] = field(default_factory=dict)  # module-level name ->
    # ``parent.include_router(router, responses=..., dependencies=...)``: (router, parent, facts)
    included: list[tuple[Sym | None, Sym | None, RouterFacts]] = field(default_factory=list)
    # ``NotFound = HTTPException(404, "...")`` at module level, raised by name: name ->
    exception_instances: dict[str, tuple[Status | None, str | None]] = field(default_factory=dict)
    class_status: dict[str, ClassStatus] = field(default_factory=dict)  # class id ->


def gather_errors(file: SourceFile, tree: ast.Module) -> ModuleFacts:
    return _ErrorWalker(file, tree).run()


def status_of(expr: ast.expr | None, imports: ImportTable) -> Status | None:
    """An int literal, ``status.HTTP_404_NOT_FOUND`` (fastapi or starlette, digits read as
    ruff's FAST004 does: deprecated aliases included), ``HTTPStatus.NOT_FOUND[.value]``."""
    if expr is None:
        return None
    text = ast.unparse(expr)
    if isinstance(expr, ast.Constant) and type(expr.value) is int:
        return Status(expr.value, text)
    qualified = imports.qualified(expr) or ""
    module, _, name = qualified.rpartition(".")
    if module in STATUS_MODULES and name.startswith("HTTP_"):
        digits = name.split("_")[1]
        return Status(int(digits) if digits.isdigit() else None, text)
    if qualified.endswith(".value"):
        module, _, name = qualified[: -len(".value")].rpartition(".")
    if module in HTTP_STATUS and name in http.HTTPStatus.__members__:
        return Status(http.HTTPStatus[name].value, text)
    return Status(None, text)


def _literal_string(expr: ast.expr | None) -> str | None:
    if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
        return expr.value
    return None


def responses_of(expr: ast.expr, imports: ImportTable) -> Responses:
    text = ast.unparse(expr)
    if not isinstance(expr, ast.Dict):
        return Responses(False, text)
    keys: list[str] = []
    for key in expr.keys:
        if key is None:  # ``**common``: its keys are not known here
            keys.append("?")
        elif isinstance(key, ast.Constant) and isinstance(key.value, (int, str)):
            keys.append(str(key.value).upper())
        else:
            status = status_of(key, imports)
            keys.append(str(status.code) if status and status.code else "?")
    return Responses(True, text, tuple(keys))


def _catches(handler: ast.ExceptHandler) -> bool:
    """Whether an ``except`` clause catches an ``HTTPException`` or may: bare, ``Exception``,
    the class itself, or a name that is no builtin exception (a project class may be one)."""
    if handler.type is None:
        return True
    types = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    for kind in types:
        name = kind.attr if isinstance(kind, ast.Attribute) else getattr(kind, "id", "")
        if name in CATCH_ALL or not isinstance(getattr(builtins, name, None), type):
            return True
    return False


class _ErrorWalker(SymbolWalker[FunctionFacts]):
    facts: ModuleFacts

    def __init__(self, file: SourceFile, tree: ast.Module) -> None:
        super().__init__(file, tree)
        self.raise_nodes: dict[int, ast.Raise] = {}  # id of the raised expression ->
        self.caught_nodes: set[int] = set()  # ids of expressions inside a catching ``try``

    function_facts_type = FunctionFacts
    module_facts_type = ModuleFacts

    def run(self) -> ModuleFacts:
        self._mark_body(self.tree.body, caught=False)
        super().run()
        scope = Scope(self, None, "")
        for statement in self.tree.body:
            self._module_statement(statement, scope)
        self._class_statuses(self.tree.body, "")
        return self.facts

    # -- raises and try blocks -----------------------------------------------------------

    def _mark_body(self, body: list[ast.stmt], caught: bool) -> None:
        """Note every ``raise`` and, inside a catching ``try``, every call (nested functions
        included: their own bodies are not inside the ``try`` when they run, but they are
        marked by their own walk first, since each body is marked before it is visited)."""
        for statement in body:
            self._mark_statement(statement, caught)

    def _mark_statement(self, statement: ast.stmt, caught: bool) -> None:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
            self._mark_body(statement.body, caught=False)
            return
        if isinstance(statement, ast.ClassDef):
            self._mark_body(statement.body, caught=False)
            return
        if isinstance(statement, ast.Try) or type(statement).__name__ == "TryStar":
            handlers: list[ast.ExceptHandler] = getattr(statement, "handlers", [])
            catching = caught or any(_catches(h) for h in handlers)
            self._mark_body(getattr(statement, "body", []), catching)
            for handler in handlers:
                self._mark_body(handler.body, caught)
            self._mark_body(getattr(statement, "orelse", []), caught)
            self._mark_body(getattr(statement, "finalbody", []), caught)
            return
        if isinstance(statement, ast.Raise) and statement.exc is not None:
            self.raise_nodes[id(statement.exc)] = statement
        nested: list[ast.stmt] = []
        for child in ast.iter_child_nodes(statement):
            if isinstance(child, ast.stmt):
                nested.append(child)
            elif isinstance(child, ast.ExceptHandler | ast.match_case):
                nested.extend(child.body)
            elif caught:
                self.caught_nodes.update(
                    id(node) for node in ast.walk(child) if isinstance(node, ast.Call)
                )
        for child_statement in nested:
            self._mark_statement(child_statement, caught)

    def _visit_call(self, call: ast.Call, scope: Scope, owner: FunctionFacts) -> None:
        super()._visit_call(call, scope, owner)
        if id(call) in self.caught_nodes:
            owner.caught_calls.add((call.lineno, call.col_offset))
        if id(call) in self.raise_nodes:
            status = status_of(call_argument(call, 0, "status_code"), self.imports)
            detail = _literal_string(call_argument(call, 1, "detail"))
            owner.raises.append(
                RaiseFacts(
                    call.lineno,
                    call.col_offset,
                    self.sym(call.func, scope),
                    status,
                    detail,
                    id(call) in self.caught_nodes,
                )
            )

    def _visit_name(
        self, node: ast.Name | ast.Attribute, scope: Scope, facts: FunctionFacts
    ) -> None:
        if id(node) in self.raise_nodes:  # ``raise NotFound``: the class, no arguments
            facts.raises.append(
                RaiseFacts(node.lineno, node.col_offset, self.sym(node, scope), None, None, False)
            )

    def _record(self, node: ast.AST, scope: Scope, owner: FunctionFacts) -> bool:
        if isinstance(node, ast.Return) and node.value is not None:
            branches = (
                [node.value.body, node.value.orelse]
                if isinstance(node.value, ast.IfExp)
                else [node.value]
            )
            for branch in branches:
                if isinstance(branch, (ast.Name, ast.Attribute)):
                    returned = self.sym(branch, scope)
                    if returned is not None:
                        owner.returned_callables.append(returned)
        if isinstance(node, ast.Return) and isinstance(node.value, ast.Call):
            status = status_of(call_argument(node.value, 1, "status_code"), self.imports)
            if status and status.code:
                owner.response_status.append(status.code)
        return super()._record(node, scope, owner)

    # -- signatures and decorators --------------------------------------------------------

    def _function_started(
        self, node: ast.FunctionDef | ast.AsyncFunctionDef, scope: Scope, facts: FunctionFacts
    ) -> None:
        arguments = node.args
        positional = [*arguments.posonlyargs, *arguments.args]
        defaults = parameter_defaults(arguments)
        for argument in [*positional, *arguments.kwonlyargs]:
            default = defaults.get(argument.arg)
            annotation = unquoted(argument.annotation) if argument.annotation else None
            target = self.dependency_target(default, scope) if default is not None else None
            if target is None and default is not None and self._is_bare_depends(default, scope):
                target = self.sym(annotation, scope) if annotation is not None else None
            if target is not None:
                facts.dependencies.append(target)
            elif annotation is not None:
                annotated = self.sym(annotation, scope)
                if annotated is not None:
                    facts.dependencies.append(annotated)
        for index, decorator in enumerate(node.decorator_list):
            self._decorator_facts(index, decorator, scope, facts)

    def _is_bare_depends(self, expr: ast.expr, scope: Scope) -> bool:
        """``Depends()``: the dependency is the parameter's annotated class."""
        if not isinstance(expr, ast.Call) or expr.args or expr.keywords:
            return False
        return (ref_name(self.sym(expr.func, scope)) or "").rpartition(".")[2] in (
            "Depends",
            "Security",
        )

    def _dependency_list(self, expr: ast.expr | None, scope: Scope) -> tuple[Sym, ...]:
        if not isinstance(expr, (ast.List, ast.Tuple)):
            return ()
        found = (self.dependency_target(element, scope) for element in expr.elts)
        return tuple(target for target in found if target is not None)

    def _decorator_facts(
        self, index: int, decorator: ast.expr, scope: Scope, facts: FunctionFacts
    ) -> None:
        if not (
            isinstance(decorator, ast.Call)
            and isinstance(decorator.func, ast.Attribute)
            and decorator.func.attr in ROUTE_METHODS
        ):
            if (
                isinstance(decorator, ast.Call)
                and isinstance(decorator.func, ast.Attribute)
                and decorator.func.attr == "exception_handler"
                and decorator.args
            ):
                self.facts.handlers.append(
                    Registration(self.sym(decorator.args[0], scope), ("funckey", facts.id))
                )
            return
        keywords = {k.arg: k.value for k in decorator.keywords if k.arg}
        responses = keywords.get("responses")
        in_schema = keywords.get("include_in_schema")
        facts.routes.append(
            RouteDecorator(
                index,
                decorator.lineno,
                decorator.func.attr,
                self.sym(decorator.func.value, scope),
                self._dependency_list(keywords.get("dependencies"), scope),
                responses_of(responses, self.imports) if responses is not None else None,
                not (isinstance(in_schema, ast.Constant) and in_schema.value is False),
            )
        )

    # -- module level ------------------------------------------------------------------

    def _record_uses(self, call: ast.Call, callee: Sym | None, text: str, scope: Scope) -> None:
        method = call.func.attr if isinstance(call.func, ast.Attribute) else None
        if method == "add_exception_handler" and len(call.args) >= 2:
            self.facts.handlers.append(
                Registration(self.sym(call.args[0], scope), self.sym(call.args[1], scope))
            )
        if method == "include_router" and call.args and isinstance(call.func, ast.Attribute):
            self.facts.included.append(
                (
                    self.sym(call.args[0], scope),
                    self.sym(call.func.value, scope),
                    self._router_facts(call, scope),
                )
            )
        for keyword in call.keywords:
            if keyword.arg == "exception_handlers" and isinstance(keyword.value, ast.Dict):
                for key, value in zip(keyword.value.keys, keyword.value.values, strict=True):
                    if key is not None:
                        self.facts.handlers.append(
                            Registration(self.sym(key, scope), self.sym(value, scope))
                        )

    def _router_facts(self, call: ast.Call, scope: Scope) -> RouterFacts:
        keywords = {k.arg: k.value for k in call.keywords if k.arg}
        responses = keywords.get("responses")
        return RouterFacts(
            self._dependency_list(keywords.get("dependencies"), scope),
            responses_of(responses, self.imports) if responses is not None else None,
        )

    def _module_statement(self, statement: ast.stmt, scope: Scope) -> None:
        """``router = APIRouter(dependencies=[...], responses={...})``, ``app = FastAPI(...)``."""
        if not (isinstance(statement, ast.Assign) and isinstance(statement.value, ast.Call)):
            return
        call = statement.value
        made = self.imports.qualified(call.func) or ""
        if made.rpartition(".")[2] == "HTTPException":
            status = status_of(call_argument(call, 0, "status_code"), self.imports)
            detail = _literal_string(call_argument(call, 1, "detail"))
            for target in statement.targets:
                if isinstance(target, ast.Name):
                    self.facts.exception_instances[target.id] = (status, detail)
            return
        if made.rpartition(".")[2] not in ("APIRouter", "FastAPI"):
            return
        for target in statement.targets:
            if isinstance(target, ast.Name):
                self.facts.routers[target.id] = self._router_facts(statement.value, scope)

    def _class_statuses(self, body: list[ast.stmt], prefix: str) -> None:
        for statement in body:
            if isinstance(statement, ast.ClassDef):
                name = f"{prefix}{statement.name}"
                fixed = self._fixed_status(statement)
                if fixed is not None:
                    self.facts.class_status[self.qualify(name)] = fixed
                self._class_statuses(statement.body, f"{name}.")

    def _fixed_status(self, node: ast.ClassDef) -> ClassStatus | None:
        """``status_code = 404`` in the class body, or an ``__init__`` handing a literal
        (or its own parameter's literal default) to ``super().__init__``."""
        detail: str | None = None
        code: int | None = None
        for statement in node.body:
            if isinstance(statement, (ast.Assign, ast.AnnAssign)):
                targets = (
                    statement.targets if isinstance(statement, ast.Assign) else [statement.target]
                )
                names = {t.id for t in targets if isinstance(t, ast.Name)}
                status = status_of(statement.value, self.imports) if statement.value else None
                if "status_code" in names and status and status.code:
                    code = status.code
                if "detail" in names:
                    detail = _literal_string(statement.value)
            elif isinstance(statement, ast.FunctionDef) and statement.name == "__init__":
                found = self._init_status(statement)
                if found is not None:
                    return found
        return ClassStatus(code, detail) if code is not None else None

    def _init_status(self, init: ast.FunctionDef) -> ClassStatus | None:
        defaults = parameter_defaults(init.args)
        for node in own_statements(init.body):
            call = node.value if isinstance(node, ast.Expr) else None
            if not (
                isinstance(call, ast.Call)
                and isinstance(call.func, ast.Attribute)
                and call.func.attr == "__init__"
                and isinstance(call.func.value, ast.Call)
                and getattr(call.func.value.func, "id", "") == "super"
            ):
                continue
            given = call_argument(call, 0, "status_code")
            if isinstance(given, ast.Name) and given.id in defaults:
                given = defaults[given.id]
            detail = call_argument(call, 1, "detail")
            if isinstance(detail, ast.Name) and detail.id in defaults:
                detail = defaults[detail.id]
            status = status_of(given, self.imports)
            if status and status.code:
                return ClassStatus(status.code, _literal_string(detail))
        return None


__all__ = [
    "ClassFacts",
    "FunctionFacts",
    "ModuleFacts",
    "RaiseFacts",
    "Registration",
    "Responses",
    "RouteDecorator",
    "RouterFacts",
    "gather_errors",
    "status_of",
]


def _root_name(symbol: Any) -> str | None:
    """The dotted name a symbol starts from (``crud.get`` of ``crud.get(...).x``)."""
    while isinstance(symbol, tuple) and symbol and symbol[0] not in ("ref", "near"):
        inner = [part for part in symbol[1:] if isinstance(part, tuple)]
        if not inner:
            return None
        symbol = inner[0]
    return ref_name(symbol) if isinstance(symbol, tuple) else None
