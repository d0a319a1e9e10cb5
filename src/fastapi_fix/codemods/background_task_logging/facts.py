"""background-task-logging, step 1 (stdlib ``ast``): the facts of one module.

Where tasks are registered (``<tasks>.add_task(fn)``, ``BackgroundTask(fn)``) and which
function each names, the module's top-level functions and their shape, and every use of a
project name that is not a task registration (to find tasks also called directly).
"""

from __future__ import annotations

import ast
import builtins
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple, TypedDict

from fastapi_fix.engine.codemod import SourceFile
from fastapi_fix.project import symbols
from fastapi_fix.project.fastapi import (
    BACKGROUND_TASK_CLASSES,
    BACKGROUND_TASKS_CLASSES,
    ImportTable,
    child_nodes,
    unquoted,
    walk,
)

PARTIAL = frozenset({"functools.partial"})
ANNOTATED = frozenset({"typing.Annotated", "typing_extensions.Annotated"})
OPTIONAL = frozenset({"typing.Optional", "typing_extensions.Optional"})
# A broad handler that calls one of these reports the failure: the task counts as protected.
REPORTING_CALLS = frozenset(
    {"exception", "error", "critical", "fatal", "warning", "warn", "log", "capture_exception"}
)
STDLIB_MODULES = frozenset(getattr(sys, "stdlib_module_names", ())) or frozenset(
    {
        "abc",
        "asyncio",
        "collections",
        "contextlib",
        "dataclasses",
        "datetime",
        "enum",
        "functools",
        "json",
        "logging",
        "os",
        "pathlib",
        "re",
        "shutil",
        "subprocess",
        "sys",
        "time",
        "typing",
        "uuid",
    }
)
_TRY_NODES = tuple(getattr(ast, name) for name in ("Try", "TryStar") if hasattr(ast, name))
_SCOPE_NODES = (
    ast.FunctionDef,
    ast.AsyncFunctionDef,
    ast.ClassDef,
    ast.Lambda,
    ast.ListComp,
    ast.SetComp,
    ast.DictComp,
    ast.GeneratorExp,
)
_SCOPE_TYPES = frozenset(_SCOPE_NODES)

# -- what is reported ----------------------------------------------------------------------

BY_HAND = "add try/except with logger.exception to it by hand"
LAMBDA = (
    "the task is a lambda, which cannot be rewritten: move its body into a module-level function, "
    f"or {BY_HAND}"
)
PARTIAL_TASK = (
    "the task is a functools.partial: register the function itself with its arguments "
    f"(`add_task(fn, arg, ...)`) so it can be followed, or {BY_HAND}"
)
UNKNOWN_RECEIVER = (
    "cannot tell that `{receiver}` is a BackgroundTasks: annotate it `BackgroundTasks` "
    "(from fastapi or starlette) so its task can be checked"
)


def bound_method(text: str) -> str:
    return (
        f"the task `{text}` is a method, which this codemod does not rewrite: {BY_HAND}, "
        "or register a module-level function"
    )


def nested(text: str) -> str:
    return f"the task `{text}` is defined inside a function: move it to module level, or {BY_HAND}"


def unresolved(text: str) -> str:
    return f"cannot tell which function `{text}` is: register a module-level function by name, or {BY_HAND}"


# -- facts gathered per file (picklable) ------------------------------------------------------


@dataclass(frozen=True)
class FunctionShape:
    """What decides whether a function body can be wrapped, read from its ``ast``."""

    generator: bool
    trivial: bool
    protected: bool


@dataclass(frozen=True)
class FunctionFacts:
    line: int
    column: int
    shape: FunctionShape
    decorators: tuple[str, ...]
    defined_twice: bool = False


@dataclass(frozen=True)
class Registration:
    """A task handed to ``add_task``/``BackgroundTask``: the function it names, or a problem."""

    line: int
    column: int
    task: str | None = None
    problem: str | None = None
    # ``Users.cleanup`` of a module-level ``Users``: the index follows it to the method, and
    # reports ``problem`` only when it cannot.
    bound: bool = False


class _TaskVerdict(TypedDict, total=False):
    """What a registration's task argument is: the ``_register`` keywords it calls for."""

    task: str  # the function's qualified name, when it can be followed
    problem: str  # else why not
    bound: bool  # a method of a module-level object: ``problem`` unless the index finds it
    protected: bool  # a call of a function that protects the task itself: nothing to report


class Use(NamedTuple):
    """A named tuple: every file has many, and all of them travel to the index."""

    line: int
    column: int
    call: bool


@dataclass(frozen=True)
class ModuleFacts:
    module: str
    functions: Mapping[str, FunctionFacts]
    # Top-level imported names → what they import: how re-exports are followed.
    imported: Mapping[str, str]
    registrations: tuple[Registration, ...]
    # Qualified name → its first use that is not a task registration.
    uses: Mapping[str, Use]
    # The module's names as every codemod writes them down, for the project's resolver.
    symbols: symbols.ModuleFacts[symbols.FunctionFacts]


# -- the shape of a function (shared by gather and transform) ------------------------------------

# Fields that hold nothing this module looks at: expression contexts and operators (a third
# of all nodes: `Load` under every name), and plain values (strings, numbers, flags; not
# `name`, a node in `type X = ...`).
_UNREAD_FIELDS = frozenset(
    {
        "ctx",
        "op",
        "ops",
        "id",
        "attr",
        "arg",
        "asname",
        "module",
        "level",
        "kind",
        "conversion",
        "is_async",
        "simple",
        "type_comment",
    }
)
# Node type → its fields that may hold nodes read here; filled as types are met.
_READ_FIELDS: dict[type, tuple[str, ...]] = {ast.Constant: ()}


def _read_fields(node: ast.AST) -> tuple[str, ...]:
    fields = _READ_FIELDS.get(type(node))
    if fields is None:
        fields = _READ_FIELDS[type(node)] = tuple(
            f for f in node._fields if f not in _UNREAD_FIELDS
        )
    return fields


def _children(node: ast.AST, fields: tuple[str, ...] | None = None) -> list[ast.AST]:
    """``child_nodes`` without the nodes that nothing here reads."""
    children: list[ast.AST] = []
    for name in _read_fields(node) if fields is None else fields:
        value = getattr(node, name, None)
        if isinstance(value, ast.AST):
            children.append(value)
        elif isinstance(value, list):
            children += [item for item in value if isinstance(item, ast.AST)]
    return children


def walk_scope(nodes: Sequence[ast.AST]) -> Iterator[ast.AST]:
    """Every node of one scope: nested functions, classes, lambdas, comprehensions are yielded
    but not entered."""
    stack = list(reversed(nodes))
    while stack:
        node = stack.pop()
        yield node
        if type(node) not in _SCOPE_TYPES:
            fields = _READ_FIELDS.get(type(node))
            if fields != ():  # a leaf (most nodes: names, constants) needs no call
                children = _children(node, fields)
                children.reverse()
                stack.extend(children)


def _has_docstring(body: Sequence[ast.stmt]) -> bool:
    first = body[0] if body else None
    return (
        isinstance(first, ast.Expr)
        and isinstance(first.value, ast.Constant)
        and isinstance(first.value.value, str)
    )


def _catches_everything(handler_type: ast.expr | None) -> bool:
    if handler_type is None:
        return True
    if isinstance(handler_type, ast.Tuple):
        return any(_catches_everything(element) for element in handler_type.elts)
    name = (
        handler_type.attr
        if isinstance(handler_type, ast.Attribute)
        else getattr(handler_type, "id", None)
    )
    return name in ("Exception", "BaseException")


def _reports_failure(handler: ast.ExceptHandler) -> bool:
    for node in walk(handler):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if name in REPORTING_CALLS:
                return True
    return False


def _protects(handler: ast.ExceptHandler) -> bool:
    """A broad handler that logs the failure, or handles it (does not end by re-raising).
    ``except Exception: db.rollback(); raise`` is clean-up, not protection."""
    if not _catches_everything(handler.type):
        return False
    return _reports_failure(handler) or not isinstance(handler.body[-1], ast.Raise)


def function_shape(func: ast.FunctionDef | ast.AsyncFunctionDef) -> FunctionShape:
    body = func.body[1:] if _has_docstring(func.body) else func.body
    generator = any(isinstance(node, (ast.Yield, ast.YieldFrom)) for node in walk_scope(func.body))
    trivial = all(
        isinstance(stmt, ast.Pass)
        or (
            isinstance(stmt, ast.Expr)
            and isinstance(stmt.value, ast.Constant)
            and stmt.value.value is ...
        )
        for stmt in body
    )
    protected = any(
        isinstance(stmt, _TRY_NODES) and any(_protects(handler) for handler in stmt.handlers)
        for stmt in body
    )
    return FunctionShape(generator, trivial, protected)


def bound_names(func: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    """Names the function binds itself: they would shadow a module-level logger."""
    args = func.args
    names = {
        a.arg
        for a in (*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg)
        if a
    }
    for node in walk_scope(func.body):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).partition(".")[0] for a in node.names)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
    return names


# -- gather -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Binding:
    """What a name is bound to in one scope."""

    kind: str  # function, class, lambda, partial, tasks, tasks-type, import, param, value, global
    target: str = ""  # for imports: the qualified name


_AMBIGUOUS = _Binding("value")
# The node types `Gatherer._bindings` looks at.
_BINDERS = frozenset(
    {
        ast.FunctionDef,
        ast.AsyncFunctionDef,
        ast.ClassDef,
        ast.Import,
        ast.ImportFrom,
        ast.Global,
        ast.Nonlocal,
        ast.Assign,
        ast.AnnAssign,
        ast.Name,
        ast.ExceptHandler,
    }
)


def _binders(body: Sequence[ast.stmt]) -> list[ast.AST]:
    """The nodes of one scope that may bind a name, in order; most names only read."""
    return [
        node
        for node in walk_scope(body)
        if type(node) in _BINDERS
        and not (type(node) is ast.Name and not isinstance(node.ctx, ast.Store))
    ]


class Gatherer(ast.NodeVisitor):
    """Walks one module with its scopes, so a bare name is resolved to what it is bound to."""

    def __init__(self, file: SourceFile, tree: ast.Module, protecting: frozenset[str]) -> None:
        self.module = file.module_name
        self.imports = ImportTable(file, tree)
        self.protecting = protecting
        self.scopes: list[dict[str, _Binding]] = [{}]
        # Twice: the first pass binds the imports that the second needs to tell what a
        # value is (`partial(...)`, `BackgroundTasks()`, an `Annotated` alias).
        binders = _binders(tree.body)
        for _ in range(2):
            self.scopes[0] = self._bindings(binders)
        self.mentions_tasks = any(
            qualified in BACKGROUND_TASKS_CLASSES | BACKGROUND_TASK_CLASSES
            for qualified in self.imports.names.values()
        )
        self.registrations: list[Registration] = []
        self.uses: dict[str, Use] = {}
        self._task_arguments: set[int] = set()
        self._called: set[int] = set()
        # Node type → its visit method: `ast.NodeVisitor` looks it up by name for every node.
        self._visitors: dict[type[ast.AST], Callable[[ast.AST], None]] = {}

    # -- scopes

    def _bindings(
        self, binders: Sequence[ast.AST], params: ast.arguments | None = None
    ) -> dict[str, _Binding]:
        """What each name of a scope is bound to, from its ``_binders`` and parameters."""
        found: dict[str, _Binding] = {}

        def bind(name: str, binding: _Binding) -> None:
            if found.get(name, binding) != binding:
                binding = _AMBIGUOUS
            found[name] = binding

        if params is not None:
            for arg in (
                *params.posonlyargs,
                *params.args,
                *params.kwonlyargs,
                params.vararg,
                params.kwarg,
            ):
                if arg is not None:
                    bind(
                        arg.arg,
                        _Binding("tasks" if self._is_tasks_type(arg.annotation) else "param"),
                    )
        for node in binders:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                bind(node.name, _Binding("function"))
            elif isinstance(node, ast.ClassDef):
                bind(node.name, _Binding("class"))
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                for alias in node.names:
                    local = alias.asname or alias.name.partition(".")[0]
                    if alias.name != "*" and local in self.imports.names:
                        bind(local, _Binding("import", self.imports.names[local]))
            elif isinstance(node, (ast.Global, ast.Nonlocal)):
                for name in node.names:
                    found[name] = _Binding("global")
            elif (
                isinstance(node, ast.Assign)
                and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name)
            ):
                bind(node.targets[0].id, _Binding(self._value_kind(node.value)))
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                kind = (
                    "tasks"
                    if self._is_tasks_type(node.annotation)
                    else self._value_kind(node.value)
                )
                bind(node.target.id, _Binding(kind))
            elif (
                isinstance(node, ast.Name)
                and isinstance(node.ctx, ast.Store)
                and node.id not in found
            ):
                bind(node.id, _Binding("value"))
            elif isinstance(node, ast.ExceptHandler) and node.name:
                bind(node.name, _Binding("value"))
        return found

    def _lookup(self, name: str) -> tuple[_Binding | None, bool]:
        """The binding of ``name`` here, and whether it is module-level."""
        scopes = self.scopes
        for depth in range(len(scopes) - 1, 0, -1):  # innermost first; no copy of the list
            binding = scopes[depth].get(name)
            if binding is not None and binding.kind != "global":
                return binding, False
            if binding is not None:
                break
        return scopes[0].get(name), True

    def _qualified(self, expr: ast.expr) -> str | None:
        """The qualified name an expression refers to; ``None`` for local variables."""
        attributes: list[str] = []
        while isinstance(expr, ast.Attribute):
            attributes.append(expr.attr)
            expr = expr.value
        if not isinstance(expr, ast.Name):
            return None
        binding, module_level = self._lookup(expr.id)
        if binding is None:
            root = f"builtins.{expr.id}" if hasattr(builtins, expr.id) else None
        elif binding.kind == "import":
            root = binding.target
        elif not module_level:
            root = None  # a local variable
        else:
            root = f"{self.module}.{expr.id}" if self.module else expr.id
        return ".".join([root, *reversed(attributes)]) if root else None

    def _value_kind(self, value: ast.expr | None) -> str:
        if isinstance(value, ast.Lambda):
            return "lambda"
        if isinstance(value, ast.Call):
            called = self._qualified(value.func)
            if called in PARTIAL:
                return "partial"
            if called in BACKGROUND_TASKS_CLASSES:
                return "tasks"
        if isinstance(
            value, (ast.Name, ast.Attribute, ast.Subscript, ast.BinOp)
        ) and self._is_tasks_type(value):
            return "tasks-type"
        return "value"

    def _is_tasks_type(self, annotation: ast.expr | None) -> bool:
        """``BackgroundTasks``, ``Annotated[BackgroundTasks, ...]``, ``Optional[...]``, ``... | None``,
        a string of one of these, or a module-level alias of one."""
        if annotation is None:
            return False
        annotation = unquoted(annotation)
        if annotation is None:
            return False
        if isinstance(annotation, ast.Subscript):
            base = self._qualified(annotation.value)
            inner = annotation.slice
            if base in ANNOTATED and isinstance(inner, ast.Tuple) and inner.elts:
                return self._is_tasks_type(inner.elts[0])
            return base in OPTIONAL and self._is_tasks_type(inner)
        if isinstance(annotation, ast.BinOp) and isinstance(annotation.op, ast.BitOr):
            return self._is_tasks_type(annotation.left) or self._is_tasks_type(annotation.right)
        if isinstance(annotation, ast.Name):
            binding, _ = self._lookup(annotation.id)
            if binding is not None and binding.kind == "tasks-type":
                return True
        return self._qualified(annotation) in BACKGROUND_TASKS_CLASSES

    # -- visiting

    def _visit_in_scope(self, scope: dict[str, _Binding], nodes: Sequence[ast.AST]) -> None:
        self.scopes.append(scope)
        for node in nodes:
            self.visit(node)
        self.scopes.pop()

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        for outer in (*node.decorator_list, node.args, node.returns):
            if outer is not None:
                self.visit(outer)
        self._visit_in_scope(self._bindings(_binders(node.body), node.args), node.body)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Lambda(self, node: ast.Lambda) -> None:
        self.visit(node.args)
        self._visit_in_scope(self._bindings([], node.args), [node.body])

    def _visit_comprehension(
        self, node: ast.ListComp | ast.SetComp | ast.DictComp | ast.GeneratorExp
    ) -> None:
        targets = {
            name.id: _Binding("value")
            for comp in node.generators
            for name in walk(comp.target)
            if isinstance(name, ast.Name)
        }
        self._visit_in_scope(targets, list(child_nodes(node)))

    visit_ListComp = visit_SetComp = visit_DictComp = visit_GeneratorExp = _visit_comprehension

    def visit_Call(self, node: ast.Call) -> None:
        self._called.add(id(node.func))
        task = self._task_argument(node)
        if task is not None:
            self._task_arguments.add(id(task))
        self.generic_visit(node)

    def visit_Constant(self, node: ast.Constant) -> None:
        pass  # no children; also skips `ast.NodeVisitor.visit_Constant`'s deprecated-visitor checks

    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, ast.Load):
            self._record_use(node)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if isinstance(node.ctx, ast.Load) and self._record_use(node):
            return  # the chain is one use; its root alone would only name the module
        self.generic_visit(node)

    def visit(self, node: ast.AST) -> None:
        if id(node) in self._task_arguments:
            return
        visitor = self._visitors.get(type(node))
        if visitor is None:
            found: Callable[[ast.AST], None] = getattr(
                self, f"visit_{type(node).__name__}", self.generic_visit
            )
            visitor = self._visitors[type(node)] = found
        visitor(node)

    def generic_visit(self, node: ast.AST) -> None:
        # The children `ast.NodeVisitor.generic_visit` visits, in its order, less those nothing
        # here reads (`_children`), without building a list.
        visit = self.visit
        for name in _read_fields(node):
            value = getattr(node, name, None)
            if isinstance(value, ast.AST):
                visit(value)
            elif isinstance(value, list):
                for item in value:
                    if isinstance(item, ast.AST):
                        visit(item)

    def _record_use(self, node: ast.Name | ast.Attribute) -> bool:
        qualified = self._qualified(node)
        if qualified is None:
            return False
        if qualified.partition(".")[0] not in STDLIB_MODULES:
            call = id(node) in self._called
            known = self.uses.get(qualified)
            if known is None or (call and not known.call):
                self.uses[qualified] = Use(node.lineno, node.col_offset, call)
        return True

    # -- task registrations

    def _task_argument(self, call: ast.Call) -> ast.expr | None:
        """The task function handed to ``<tasks>.add_task`` / ``BackgroundTask``, recorded."""
        func = call.func
        # ``<receiver>.add_task(...)``; else a ``BackgroundTask(...)`` or nothing of ours
        receiver = (
            func.value if isinstance(func, ast.Attribute) and func.attr == "add_task" else None
        )
        if receiver is None and self._qualified(func) not in BACKGROUND_TASK_CLASSES:
            return None
        task = (
            call.args[0]
            if call.args
            else next((k.value for k in call.keywords if k.arg == "func"), None)
        )
        if task is None or isinstance(task, ast.Starred):
            return None
        if receiver is not None and not self._is_tasks_receiver(receiver):
            if self.mentions_tasks:
                self._register(
                    call, problem=UNKNOWN_RECEIVER.format(receiver=ast.unparse(receiver))
                )
            return task  # an `add_task` argument is a task either way: not a direct use
        self._register(call, **self._classify_task(task))
        return task

    def _is_tasks_receiver(self, receiver: ast.expr) -> bool:
        if isinstance(receiver, ast.Name):
            binding, _ = self._lookup(receiver.id)
            return binding is not None and binding.kind == "tasks"
        return (
            isinstance(receiver, ast.Call)
            and self._qualified(receiver.func) in BACKGROUND_TASKS_CLASSES
        )

    def _register(
        self,
        call: ast.Call,
        task: str | None = None,
        problem: str | None = None,
        protected: bool = False,
        bound: bool = False,
    ) -> None:
        if not protected:
            self.registrations.append(
                Registration(call.lineno, call.col_offset, task, problem, bound)
            )

    def _classify_task(self, task: ast.expr) -> _TaskVerdict:
        """``{"task": qualified}`` for a function we can follow, else ``{"problem": ...}``."""
        text = ast.unparse(task)
        if isinstance(task, ast.Lambda):
            return {"problem": LAMBDA}
        if isinstance(task, ast.Call):
            called = self._qualified(task.func)
            if called in PARTIAL:
                return {"problem": PARTIAL_TASK}
            return (
                {"protected": True} if called in self.protecting else {"problem": unresolved(text)}
            )
        root = task
        while isinstance(root, ast.Attribute):
            root = root.value
        if not isinstance(root, ast.Name):
            return {"problem": unresolved(text)}
        binding, module_level = self._lookup(root.id)
        kind = binding.kind if binding else None
        if root is not task and kind != "import" and binding is not None:
            qualified = self._qualified(task) if module_level else None
            if qualified and kind == "value":  # ``Users.cleanup``, ``Users = UsersTable()``
                return {"task": qualified, "problem": bound_method(text), "bound": True}
            return {"problem": bound_method(text)}
        if kind == "lambda":
            return {"problem": LAMBDA}
        if kind == "partial":
            return {"problem": PARTIAL_TASK}
        if kind == "function" and not module_level:
            return {"problem": nested(text)}
        if kind in ("import", "function", "class", None) and (qualified := self._qualified(task)):
            return {"task": qualified}
        return {"problem": unresolved(text)}

    # -- top-level facts

    def functions(self, tree: ast.Module) -> dict[str, FunctionFacts]:
        found: dict[str, FunctionFacts] = {}
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                decorators = tuple(self._decorator_name(d) for d in node.decorator_list)
                # `send = retry(send)` or a second `def send` rebinds it: which one runs is unclear.
                rebound = node.name in found or self.scopes[0].get(node.name) != _Binding(
                    "function"
                )
                found[node.name] = FunctionFacts(
                    node.lineno,
                    node.col_offset,
                    function_shape(node),
                    decorators,
                    defined_twice=rebound,
                )
        return found

    def _decorator_name(self, decorator: ast.expr) -> str:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        return self._qualified(target) or ast.unparse(target)

    def imported(self) -> dict[str, str]:
        return {
            name: binding.target
            for name, binding in self.scopes[0].items()
            if binding.kind == "import"
        }


def gather_module(file: SourceFile, tree: ast.Module, protecting: frozenset[str]) -> ModuleFacts:
    gatherer = Gatherer(file, tree, protecting)
    gatherer.visit(tree)
    return ModuleFacts(
        file.module_name,
        gatherer.functions(tree),
        gatherer.imported(),
        tuple(gatherer.registrations),
        gatherer.uses,
        # Call sites (what a registration passes) only where tasks are registered.
        symbols.gather_symbols(file, tree, outline=not gatherer.registrations),
    )
