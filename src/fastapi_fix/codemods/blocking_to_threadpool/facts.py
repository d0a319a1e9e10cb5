"""What blocking-to-threadpool learns about one module beyond async-to-sync's facts (stdlib
``ast``, in workers): where each function's body starts (a call is found again by its place
relative to the body, which the codemods before this one leave as it is), the names each
function reads, its ``with`` blocks, and the module-level objects bound to one thread.
"""

from __future__ import annotations

import ast
import builtins
from dataclasses import dataclass, field

from fastapi_fix.engine.codemod import SourceFile
from fastapi_fix.project.fastapi import ImportTable, child_nodes, walk

# Constructors of objects that only work in the thread that made them (or, for a
# ``scoped_session`` without ``scopefunc``, that hand each thread its own object), or that
# must not be held across an ``await``.
THREAD_BOUND_FACTORIES = {
    "threading.local": "a `threading.local`",
    "_thread._local": "a `threading.local`",
    "sqlalchemy.orm.scoped_session": "a thread-local `scoped_session`",
    "sqlite3.connect": "a sqlite3 connection (`check_same_thread`)",
    # A lock held across the new ``await``: a request waiting for it blocks the event loop,
    # so the one holding it never resumes to release it.
    **dict.fromkeys(
        ("threading.Lock", "threading.RLock", "threading.Semaphore", "threading.Condition"),
        "a `threading` lock (held across the `await`, a second request waiting for it "
        "would block the event loop for good)",
    ),
}
# Locks are for threads: one used inside the worker is fine; only a ``with`` around the call
# in the coroutine (held across the ``await``) is not.
LOCK_HELD = THREAD_BOUND_FACTORIES["threading.Lock"]
_BUILTINS = frozenset(dir(builtins))
RUN_IN_THREADPOOL = "run_in_threadpool"
OFFLOADERS = frozenset(
    {"fastapi.concurrency.run_in_threadpool", "starlette.concurrency.run_in_threadpool"}
)

Position = tuple[int, int]  # (line, UTF-8 byte column) of a ``def``, as async-to-sync's facts


@dataclass(frozen=True)
class WithBlock:
    """A ``with``/``async with`` block: its lines and what its items hold, as far as known."""

    first_line: int
    last_line: int
    # Per item: ``bound:<what>`` for an object bound to one thread made here,
    # ``name:<name>`` for a name the index looks up among the module's globals, or "".
    holds: tuple[str, ...]


@dataclass
class FunctionExtras:
    body_line: int  # line of the first statement of the body
    reads: tuple[tuple[str, int], ...] = ()  # (free name read, line), async functions only
    globals_read: frozenset[str] = frozenset()  # free names read (module level or imported)
    withs: tuple[WithBlock, ...] = ()  # async functions only


@dataclass
class ThreadpoolFacts:
    module: str
    functions: dict[Position, FunctionExtras] = field(default_factory=dict)
    # Module-level names bound to an object that belongs to one thread -> what it is.
    thread_bound: dict[str, str] = field(default_factory=dict)
    # Whether some ``sqlite3.connect(...)`` here passes ``check_same_thread=False``.
    sqlite_shared: bool = False
    # What the module-level name ``run_in_threadpool`` is: a qualified name, "" if unbound,
    # "?" when something else binds it (a local, an assignment).
    offloader: str = ""
    imports_fastapi: bool = False
    # Line of a ``create_engine("sqlite://")`` (in memory) without ``poolclass``: SQLAlchemy
    # then gives each thread its own connection, so its own empty database (a test engine).
    per_thread_sqlite: int | None = None


def gather_extras(file: SourceFile, tree: ast.Module) -> ThreadpoolFacts:
    imports = ImportTable(file, tree)
    facts = ThreadpoolFacts(file.module_name)
    facts.imports_fastapi = any(
        qualified.partition(".")[0] == "fastapi" for qualified in imports.names.values()
    )
    facts.offloader = imports.names.get(RUN_IN_THREADPOOL, "")
    for node in walk(tree):  # the walk depends-to-annotated's gather makes of the tree too
        if isinstance(node, ast.Call):
            callee = imports.qualified(node.func)  # once per call: most calls are neither
            if callee in ENGINE_FACTORIES and _per_thread_sqlite_engine(node):
                facts.per_thread_sqlite = facts.per_thread_sqlite or node.lineno
            if callee == "sqlite3.connect":
                facts.sqlite_shared |= any(
                    k.arg == "check_same_thread"
                    and isinstance(k.value, ast.Constant)
                    and k.value.value is False
                    for k in node.keywords
                )
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            facts.functions[(node.lineno, node.col_offset)] = _function_extras(node, imports)
            if node.name == RUN_IN_THREADPOOL:
                facts.offloader = "?"
        elif isinstance(node, ast.ClassDef) and node.name == RUN_IN_THREADPOOL:
            facts.offloader = "?"
        elif isinstance(node, ast.Name) and node.id == RUN_IN_THREADPOOL:
            if not isinstance(node.ctx, ast.Load):
                facts.offloader = "?"
        elif isinstance(node, ast.arg) and node.arg == RUN_IN_THREADPOOL:
            facts.offloader = "?"
    for statement in tree.body:
        if isinstance(statement, ast.Assign) and isinstance(statement.value, ast.Call):
            made = _thread_bound(statement.value, imports)
            for target in statement.targets:
                if made and isinstance(target, ast.Name):
                    facts.thread_bound[target.id] = made
    return facts


ENGINE_FACTORIES = ("sqlalchemy.create_engine", "sqlmodel.create_engine")


def _per_thread_sqlite_engine(call: ast.Call) -> bool:
    """``create_engine("sqlite://")`` or ``":memory:"`` (a call of one of `ENGINE_FACTORIES`)
    without a ``poolclass``: its default ``SingletonThreadPool`` opens one in-memory database
    per thread."""
    url = call.args[0] if call.args else None
    if not (isinstance(url, ast.Constant) and isinstance(url.value, str)):
        return False
    in_memory = url.value.rstrip("/") == "sqlite:" or (
        url.value.startswith("sqlite") and ":memory:" in url.value
    )
    return in_memory and not any(k.arg == "poolclass" for k in call.keywords)


def _thread_bound(call: ast.Call, imports: ImportTable) -> str | None:
    qualified = imports.qualified(call.func)
    if qualified not in THREAD_BOUND_FACTORIES:
        return None
    keywords = {k.arg: k.value for k in call.keywords}
    if qualified == "sqlalchemy.orm.scoped_session" and "scopefunc" in keywords:
        return None  # scoped by something else (a ContextVar survives the thread hop)
    shared = keywords.get("check_same_thread")
    if isinstance(shared, ast.Constant) and shared.value is False:
        return None
    return THREAD_BOUND_FACTORIES[qualified]


def _own_nodes(function: ast.FunctionDef | ast.AsyncFunctionDef) -> list[ast.AST]:
    """The nodes of a function's body, not those of the functions and classes it defines."""
    found: list[ast.AST] = []
    pending: list[ast.AST] = list(reversed(function.body))
    while pending:
        node = pending.pop()
        found.append(node)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        pending.extend(reversed(child_nodes(node)))
    return found


def _function_extras(
    function: ast.FunctionDef | ast.AsyncFunctionDef, imports: ImportTable
) -> FunctionExtras:
    nodes = _own_nodes(function)
    arguments = function.args
    local = {
        a.arg
        for a in [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]
        + [a for a in (arguments.vararg, arguments.kwarg) if a is not None]
    }
    local.update(n.id for n in nodes if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load))
    local.update(
        n.name
        for n in nodes
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
    )
    reads = [
        (n.id, n.lineno)
        for n in nodes
        if isinstance(n, ast.Name)
        and isinstance(n.ctx, ast.Load)
        and n.id not in local
        and n.id not in _BUILTINS
    ]
    extras = FunctionExtras(
        body_line=function.body[0].lineno, globals_read=frozenset(name for name, _ in reads)
    )
    if isinstance(function, ast.AsyncFunctionDef):
        extras.reads = tuple(reads)
        made_here = _locals_made_by_calls(nodes, imports)
        extras.withs = tuple(
            WithBlock(
                node.lineno,
                node.end_lineno or node.lineno,
                tuple(_held(item.context_expr, imports, made_here) for item in node.items),
            )
            for node in nodes
            if isinstance(node, (ast.With, ast.AsyncWith))
        )
    return extras


def _locals_made_by_calls(nodes: list[ast.AST], imports: ImportTable) -> dict[str, str]:
    """``conn = sqlite3.connect(p)``: local name -> what thread-bound object it holds, or ""
    (the first assignment from a call wins)."""
    made: dict[str, str] = {}
    for node in nodes:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
            bound = _thread_bound(node.value, imports) or ""
            for target in node.targets:
                if isinstance(target, ast.Name):
                    made.setdefault(target.id, bound)
    return made


def _held(expr: ast.expr, imports: ImportTable, made_here: dict[str, str]) -> str:
    """What a ``with`` item's object is: ``bound:<what>``, ``name:<global>``, or ""."""
    if isinstance(expr, ast.Call):
        bound = _thread_bound(expr, imports)
        return f"bound:{bound}" if bound else ""
    if isinstance(expr, ast.Name):
        if expr.id in made_here:
            return f"bound:{made_here[expr.id]}" if made_here[expr.id] else ""
        return f"name:{expr.id}"
    return ""
