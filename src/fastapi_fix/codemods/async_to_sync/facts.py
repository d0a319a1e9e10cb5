"""What async-to-sync learns about one module, with stdlib ``ast`` (runs in workers).

The walk and the symbols are the project's (`fastapi_fix.project.symbols`); this adds what
only async-to-sync reads: whether a function awaits, what in it needs the event loop, the
state it writes that every request shares, its return annotation (an async generator
dependency made sync needs it rewritten), and the uses FastAPI, schedulers and plain values
make of functions (`Use`).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NamedTuple

from fastapi_fix.engine.codemod import SourceFile
from fastapi_fix.project import symbols
from fastapi_fix.project.blocking import needs_event_loop
from fastapi_fix.project.fastapi import (
    BACKGROUND_TASK_CLASSES,
    HTTP_METHODS,
    task_function_argument,
)
from fastapi_fix.project.symbols import (
    _STDLIB,
    ITERATOR_TYPES,
    CallSite,
    ClassFacts,
    Decorator,
    Scope,
    Sym,
    SymbolWalker,
    subscript_args,
)
from fastapi_fix.project.symbols import call_argument as _argument
from fastapi_fix.project.symbols import own_statements as _own_statements
from fastapi_fix.project.symbols import ref_name as _ref_name
from fastapi_fix.project.symbols import text_of as _text

if TYPE_CHECKING:
    from typing import TypeGuard  # Python 3.10+

__all__ = [
    "ITERATOR_TYPES",
    "ROUTE_DECORATOR_KINDS",
    "SYNC_ITERATORS",
    "CallSite",
    "ClassFacts",
    "Decorator",
    "FunctionFacts",
    "ModuleFacts",
    "ReturnAnnotation",
    "Sym",
    "Use",
    "gather_module",
]
# Callables that run (or inspect) a coroutine function handed to them by reference.
SCHEDULERS = frozenset(
    {
        "create_task",
        "ensure_future",
        "gather",
        "wait",
        "wait_for",
        "shield",
        "run",
        "run_until_complete",
        "run_coroutine_threadsafe",
        "start_soon",
        "start",
        "iscoroutinefunction",
        "partial",
        "from_thread",
    }
)
ROUTE_REGISTRARS = {
    "add_api_route": "route",
    "add_api_websocket_route": "websocket",
    "add_websocket_route": "websocket",
}
# ``app.get("/path")(handler)``: the route decorator, applied by hand.
ROUTE_DECORATOR_KINDS = {
    **dict.fromkeys(HTTP_METHODS | {"api_route"}, "route"),
    "websocket": "websocket",
}
# Methods that change a dict, list, set or deque in place (``cache.update(...)``).
MUTATING_METHODS = frozenset(
    {
        "append",
        "appendleft",
        "extend",
        "extendleft",
        "insert",
        "update",
        "pop",
        "popitem",
        "popleft",
        "setdefault",
        "clear",
        "add",
        "remove",
        "discard",
        "sort",
        "reverse",
        "rotate",
        "__setitem__",
        "__delitem__",
        "difference_update",
        "intersection_update",
        "symmetric_difference_update",
    }
)
# Calls that make a mutable container, by what a module-level name is bound to: its kind.
MUTABLE_CONSTRUCTORS = {
    "builtins.dict": "dict",
    "builtins.list": "list",
    "builtins.set": "set",
    "builtins.bytearray": "bytearray",
    "collections.defaultdict": "dict",
    "collections.OrderedDict": "dict",
    "collections.Counter": "dict",
    "collections.ChainMap": "dict",
    "collections.deque": "deque",
}
_MUTABLE_LITERALS = {
    ast.Dict: "dict",
    ast.DictComp: "dict",
    ast.List: "list",
    ast.ListComp: "list",
    ast.Set: "set",
    ast.SetComp: "set",
}
# ``app.state`` of these is shared by every request (``request.app.state`` reaches it too).
APP_TYPES = frozenset(
    {"fastapi.FastAPI", "fastapi.applications.FastAPI", "starlette.applications.Starlette"}
)
_LIBRARY_ROOTS = _STDLIB | {"builtins"}  # names under these are never project functions


class Use(NamedTuple):
    """A place a function is named without being called: handed to FastAPI, a scheduler,
    a task queue, or used as a plain value (stored, passed, compared)."""

    # "depends", "route", "websocket", "lifespan", "passed", "background" (add_task,
    # BackgroundTask), "override" (a key or value of ``app.dependency_overrides``), "value"
    kind: str
    line: int
    col: int
    target: Sym | None
    via: Sym | None = None  # the router of a route, the callee of "passed"
    text: str = ""


# The sync counterparts of what an async generator may be annotated with.
SYNC_ITERATORS = {
    "AsyncGenerator": "Generator",
    "AsyncIterator": "Iterator",
    "AsyncIterable": "Iterable",
}


class ReturnAnnotation(NamedTuple):
    """An async function's return annotation, as an async generator dependency that becomes
    sync needs it rewritten (``AsyncGenerator[Session, None]`` → ``Generator[...]``)."""

    text: str
    end_line: int
    head: str | None  # qualified name of ``AsyncGenerator`` in ``AsyncGenerator[X, None]``
    written: str  # the head as written: ``AsyncGenerator``, ``AG``, ``typing.AsyncGenerator``
    arguments: int  # how many subscript arguments; 0 when not subscripted
    is_string: bool
    # What each sync name (``Generator``...) means where the function is defined: a
    # qualified name, "" when the name is free, None when it is bound to something unknown.
    bindings: tuple[tuple[str, str | None], ...] = ()


@dataclass
class FunctionFacts(symbols.FunctionFacts):
    awaits: bool = False
    loop_uses: list[tuple[int, int, str]] = field(default_factory=list)
    # Assignments to state every request shares: ``client.token = t``, ``cache[k] = v``, a
    # ``global``/``nonlocal`` name: (line, col, target as written). Also followed into helpers.
    shared_writes: list[tuple[int, int, str]] = field(default_factory=list)
    # ``self.x = ...``: shared when ``self`` is (a callable dependency instance); in a helper,
    # usually a fresh object (``__init__``), so not followed.
    self_writes: list[tuple[int, int, str]] = field(default_factory=list)
    # ``cache.update(...)`` on a global name: (line, col, call as written, the name's symbol);
    # shared state when the name is bound at module level to a dict, list or set (the index
    # resolves it: the name may be imported). None for the application's state
    # (``request.app.state.seen.add(...)``), always shared. Also followed into helpers.
    mutations: list[tuple[int, int, str, Sym | None]] = field(default_factory=list)
    return_annotation: ReturnAnnotation | None = None


@dataclass
class ModuleFacts(symbols.ModuleFacts[FunctionFacts]):
    uses: list[Use] = field(default_factory=list)
    # Module-level names bound to a mutable container (``cache = {}``) -> its kind ("dict").
    mutable_globals: dict[str, str] = field(default_factory=dict)


# blocking-to-threadpool gathers these same facts from the same tree, right after
# async-to-sync (the engine parses a file once for every codemod): the walk is done once and
# its facts, which nothing changes after the gather, are shared. The tree is held, so that
# its identity cannot be taken by another tree meanwhile.
_last_gathered: tuple[ast.Module, SourceFile, ModuleFacts] | None = None


def gather_module(file: SourceFile, tree: ast.Module) -> ModuleFacts:
    global _last_gathered
    if _last_gathered is not None and _last_gathered[0] is tree and _last_gathered[1] == file:
        return _last_gathered[2]
    facts = _Gatherer(file, tree).run()
    _last_gathered = (tree, file, facts)
    return facts


class _Gatherer(SymbolWalker[FunctionFacts]):
    facts: ModuleFacts

    def __init__(self, file: SourceFile, tree: ast.Module) -> None:
        super().__init__(file, tree)
        self.module_imports = {
            (alias.asname or alias.name).partition(".")[0]
            for node in _own_statements(tree.body)
            if isinstance(node, (ast.Import, ast.ImportFrom))
            for alias in node.names
        }
        self.values_seen: set[Sym] = set()
        self.declared_shared: dict[str, set[str]] = {}  # function id -> its global/nonlocal names

    def run(self) -> ModuleFacts:
        super().run()
        self._record_mutable_globals(Scope(self, None, ""))
        return self.facts

    def _record_mutable_globals(self, scope: Scope) -> None:
        """``cache = {}``, ``seen: set[str] = set()``, ``jobs = defaultdict(list)`` at module level:
        containers every request shares, changed in place by ``cache.update(...)``."""
        for statement in _own_statements(self.tree.body):
            if isinstance(statement, ast.Assign):
                targets, value = statement.targets, statement.value
            elif isinstance(statement, ast.AnnAssign) and statement.value is not None:
                targets, value = [statement.target], statement.value
            else:
                continue
            kind = _MUTABLE_LITERALS.get(type(value))
            if kind is None and isinstance(value, ast.Call):
                kind = MUTABLE_CONSTRUCTORS.get(_ref_name(self.sym(value.func, scope)) or "")
            if kind is not None:
                for target in targets:
                    if isinstance(target, ast.Name):
                        self.facts.mutable_globals[target.id] = kind

    def _visit_call(self, call: ast.Call, scope: Scope, owner: FunctionFacts) -> None:
        super()._visit_call(call, scope, owner)
        if owner.qualname != "<module>":
            self._record_mutation(call, scope, owner)

    function_facts_type = FunctionFacts
    module_facts_type = ModuleFacts

    def _function_started(
        self, node: ast.FunctionDef | ast.AsyncFunctionDef, scope: Scope, facts: FunctionFacts
    ) -> None:
        if facts.is_async and node.returns is not None:
            facts.return_annotation = self._return_annotation(node.returns, scope)
        self.declared_shared[facts.id] = {
            name
            for statement in _own_statements(node.body)
            if isinstance(statement, (ast.Global, ast.Nonlocal))
            for name in statement.names
        }

    def _record(self, node: ast.AST, scope: Scope, owner: FunctionFacts) -> bool:
        """Awaits, overrides and shared writes; the rest is every consumer's (`SymbolWalker`)."""
        facts = owner  # what this body does
        if isinstance(node, (ast.Await, ast.AsyncFor, ast.AsyncWith)) or (
            isinstance(node, ast.comprehension) and node.is_async
        ):
            facts.awaits = True
        elif (
            isinstance(node, ast.Subscript)
            and _is_overrides(node.value)
            and not isinstance(node.ctx, ast.Store)
        ):
            self._record_override(
                node.slice, node.value, scope
            )  # read or ``del``; stores: _visit_assignment
        elif isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Delete)):
            self._visit_assignment(node, scope, owner)
        return super()._record(node, scope, owner)

    def _return_annotation(self, expr: ast.expr, scope: Scope) -> ReturnAnnotation:
        is_string = isinstance(expr, ast.Constant) and isinstance(expr.value, str)
        head = expr.value if isinstance(expr, ast.Subscript) else expr
        qualified = (
            _ref_name(self.sym(head, scope))
            if isinstance(head, (ast.Name, ast.Attribute))
            else None
        )
        return ReturnAnnotation(
            _text(expr),
            expr.end_lineno or expr.lineno,
            qualified,
            ast.unparse(head),
            len(subscript_args(expr)) if isinstance(expr, ast.Subscript) else 0,
            is_string,
            tuple((name, self._binding_of(name, scope)) for name in SYNC_ITERATORS.values()),
        )

    def _binding_of(self, name: str, scope: Scope) -> str | None:
        """What ``name`` means in ``scope``: a qualified name, "" if nothing binds it, None if
        something unknown does (a local, a name imported only inside some function)."""
        current: Scope | None = scope
        while current is not None and current.parent is not None:
            if name in current.types:
                return None
            current = current.parent
        if name in self.imports.names and name not in self.module_imports:
            return None
        symbol = self.global_symbol(name)
        if symbol is None or symbol == ("ref", f"builtins.{name}"):
            return ""
        return _ref_name(symbol)

    def _visit_name(
        self, node: ast.Name | ast.Attribute, scope: Scope, facts: FunctionFacts
    ) -> None:
        """A whole name read (``asyncio.get_running_loop``, ``crud.get_user``, ``handler``)."""
        symbol = self.sym(node, scope)
        used = _ref_name(symbol)
        if used and needs_event_loop(used):
            facts.loop_uses.append((node.lineno, node.col_offset, used))
        elif id(node) not in self.not_values:
            self._record_value(node, symbol)

    def _record_value(self, node: ast.Name | ast.Attribute, symbol: Sym | None) -> None:
        """A name read as a value (stored, passed, returned): if it is a function, something
        else may call or await it. Library names cannot be project functions."""
        if (
            symbol is None
            or symbol[0] not in ("ref", "near", "funckey", "attr")
            or symbol in self.values_seen
        ):
            return
        if symbol[0] == "ref" and symbol[1].partition(".")[0] in _LIBRARY_ROOTS:
            return
        self.values_seen.add(symbol)
        self.facts.uses.append(Use("value", node.lineno, node.col_offset, symbol, text=_text(node)))

    def _record_override(
        self,
        key: ast.expr,
        overrides: ast.Attribute,
        scope: Scope,
        value: ast.expr | None = None,
    ) -> None:
        """``app.dependency_overrides[dep] = fake``: FastAPI looks ``dep`` up and calls ``fake``
        either way, sync or async."""
        for expr in (key, value):
            if isinstance(expr, (ast.Name, ast.Attribute)):
                self.not_values.add(id(expr))
                self.facts.uses.append(
                    Use(
                        "override",
                        expr.lineno,
                        expr.col_offset,
                        self.sym(expr, scope),
                        via=self.sym(overrides.value, scope),
                        text=_text(overrides),
                    )
                )

    def _visit_assignment(
        self,
        node: ast.Assign | ast.AugAssign | ast.AnnAssign | ast.Delete,
        scope: Scope,
        owner: FunctionFacts,
    ) -> None:
        targets = node.targets if isinstance(node, (ast.Assign, ast.Delete)) else [node.target]
        for target in targets:
            if (
                isinstance(node, ast.Assign)
                and isinstance(target, ast.Subscript)
                and _is_overrides(target.value)
            ):
                self._record_override(target.slice, target.value, scope, node.value)
            if owner.qualname != "<module>" and not (
                isinstance(node, ast.AnnAssign) and node.value is None
            ):
                self._record_shared_writes(target, scope, owner)

    def _record_shared_writes(self, target: ast.expr, scope: Scope, owner: FunctionFacts) -> None:
        """``client.token = t``, ``cache[k] = v``, ``counter += 1`` under ``global counter``,
        ``self.last = x``: writes that other requests see."""
        if isinstance(target, (ast.Tuple, ast.List)):
            for element in target.elts:
                self._record_shared_writes(element, scope, owner)
            return
        if isinstance(target, ast.Starred):
            self._record_shared_writes(target.value, scope, owner)
            return
        root = target
        while isinstance(root, (ast.Attribute, ast.Subscript)):
            root = root.value
        if not isinstance(root, ast.Name):
            return
        write = (target.lineno, target.col_offset, _text(target))
        if self._below_app_state(target, scope):
            owner.shared_writes.append(write)
        elif root is target:
            if root.id in self.declared_shared.get(owner.id, ()):
                owner.shared_writes.append(write)
        elif root.id == self.self_names.get(owner.id):
            owner.self_writes.append(write)
        elif self._is_shared_object(root.id, scope):
            owner.shared_writes.append(write)

    def _below_app_state(self, target: ast.expr, scope: Scope) -> bool:
        """``request.app.state.config.x``, ``websocket.app.state.cache[k]``, ``app.state.x`` of
        an ``app: FastAPI`` parameter: the application's state, which every request shares
        (``request.state`` is the request's own)."""
        node = target
        while isinstance(node, (ast.Attribute, ast.Subscript)):
            if isinstance(node, ast.Attribute) and node.attr == "state":
                owner = node.value
                if isinstance(owner, ast.Attribute) and owner.attr == "app":
                    return True
                if isinstance(owner, ast.Name):
                    symbol = scope.lookup(owner.id)
                    if symbol is not None and symbol[0] == "inst":
                        return _ref_name(symbol[1]) in APP_TYPES
            node = node.value
        return False

    def _record_mutation(self, call: ast.Call, scope: Scope, owner: FunctionFacts) -> None:
        """``cache.update(...)``, ``request.app.state.seen.add(...)``: a method that changes a
        container in place, called on a global name or on the application's state."""
        method = call.func
        if not isinstance(method, ast.Attribute) or method.attr not in MUTATING_METHODS:
            return
        text = f"{_text(method)}(...)"
        if self._below_app_state(method.value, scope):
            owner.mutations.append((call.lineno, call.col_offset, text, None))
        elif isinstance(method.value, (ast.Name, ast.Attribute)):
            # ``cache``, ``registry.jobs``; a local bound to a global is that global
            symbol = self.sym(method.value, scope)
            name = _ref_name(symbol)
            if symbol is not None and name and not name.startswith("builtins."):
                owner.mutations.append((call.lineno, call.col_offset, text, symbol))

    def _is_shared_object(self, name: str, scope: Scope) -> bool:
        """A module-level or enclosing function's object, or a local that is another name for one."""
        if name in scope.types:
            bound = scope.types[name]
            return (
                bound is not None
                and bound[0] in ("ref", "near")
                and not bound[1].startswith("builtins.")
            )
        symbol = scope.lookup(name)
        return not (symbol is not None and symbol[0] == "ref" and symbol[1].startswith("builtins."))

    def _record_uses(self, call: ast.Call, callee: Sym | None, text: str, scope: Scope) -> None:
        """Where ``call`` hands a function to FastAPI or to something that runs it; such an
        argument is a use of its own kind, not a plain value."""
        position = (call.lineno, call.col_offset)

        def use(kind: str, argument: ast.expr | None, via: Sym | None = None) -> None:
            if argument is not None:
                self.not_values.add(id(argument))
                self.facts.uses.append(
                    Use(kind, *position, self.sym(argument, scope), via=via, text=text)
                )

        use("depends", self._dependency_argument(call, scope))
        method = call.func.attr if isinstance(call.func, ast.Attribute) else None
        receiver = (
            self.sym(call.func.value, scope) if isinstance(call.func, ast.Attribute) else None
        )
        if method in ROUTE_REGISTRARS:
            use(ROUTE_REGISTRARS[method], _argument(call, 1, "endpoint"), via=receiver)
        decorator = call.func
        if (
            isinstance(decorator, ast.Call)
            and isinstance(decorator.func, ast.Attribute)
            and decorator.func.attr in ROUTE_DECORATOR_KINDS
            and len(call.args) == 1
        ):
            use(
                ROUTE_DECORATOR_KINDS[decorator.func.attr],
                call.args[0],
                via=self.sym(decorator.func.value, scope),
            )
        if method == "add_event_handler":
            use("lifespan", _argument(call, 1, "func"))
        if method == "add_task" or _ref_name(callee) in BACKGROUND_TASK_CLASSES:
            use(
                "background",
                task_function_argument(call),
                via=receiver if method == "add_task" else callee,
            )
        if (
            method in ("pop", "get")
            and isinstance(call.func, ast.Attribute)
            and _is_overrides(call.func.value)
            and call.args
        ):
            self._record_override(call.args[0], call.func.value, scope)
        for keyword in call.keywords:
            if keyword.arg == "lifespan":
                use("lifespan", keyword.value)
            elif keyword.arg in ("on_startup", "on_shutdown") and isinstance(
                keyword.value, (ast.List, ast.Tuple)
            ):
                for element in keyword.value.elts:
                    use("lifespan", element)
        name = method or (call.func.id if isinstance(call.func, ast.Name) else None)
        if name in SCHEDULERS:
            for argument in call.args:
                if isinstance(argument, (ast.Name, ast.Attribute)):
                    use("passed", argument, via=callee)


def _is_overrides(expr: ast.expr) -> TypeGuard[ast.Attribute]:
    """``app.dependency_overrides`` (what ``app`` is, the index checks)."""
    return isinstance(expr, ast.Attribute) and expr.attr == "dependency_overrides"
