"""The project-wide half of blocking-to-threadpool (main process): which blocking calls of
async routes, dependencies and tasks that also await are offloaded, and which are left,
with why. What blocks, and where, is async-to-sync's analysis (`Project`); this module
adds what makes running a call in another thread unsafe.

Through `Project` it reads only: ``analyse()``, ``roles()``, ``blocking_calls(id)`` (each
`Direct`/`Via` call with its `CallSite`: ``line``, ``col``, ``name``, ``text``, ``awaited``,
``callee``, ``args``, ``keywords``), ``describe(call)``, ``classify(site)``,
``resolve(sym)``, and the attributes ``functions``, ``modules``, ``sites``, ``loop_witness``,
``shared_witness`` and ``shared_names``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from fastapi_fix.codemods.async_to_sync.facts import CallSite, ModuleFacts, Sym
from fastapi_fix.codemods.async_to_sync.index import Blocking, Direct, Leaf, Project, Via
from fastapi_fix.codemods.blocking_to_threadpool.facts import (
    LOCK_HELD,
    OFFLOADERS,
    FunctionExtras,
    ThreadpoolFacts,
)
from fastapi_fix.engine.codemod import SourceFile
from fastapi_fix.project.blocking import Catalogue, is_filesystem_metadata

# What FastAPI runs on the event loop and so is worth offloading from: routes however
# registered, websocket handlers, dependencies and background tasks (not lifespan handlers,
# which run once, before any request).
OFFLOADED_ROLES = frozenset({"route", "websocket", "dependency", "background"})
# Values that only work in the thread that made them, or that a worker cannot use.
THREAD_BOUND_TYPES = {
    "threading.local": "a `threading.local`",
    "sqlalchemy.orm.scoped_session": "a thread-local `scoped_session` registry",
}
SQLITE_TYPES = frozenset({"sqlite3.Connection", "sqlite3.Cursor"})
SQLITE_BOUND = (
    "a sqlite3 connection, which only works in the thread that made it (check_same_thread)"
)
GREENLET_TYPES = frozenset(
    {
        "sqlalchemy.ext.asyncio.AsyncSession",
        "sqlalchemy.ext.asyncio.AsyncEngine",
        "sqlalchemy.ext.asyncio.AsyncConnection",
        "sqlalchemy.ext.asyncio.session.AsyncSession",
    }
)
_MAX_CHAIN = 4
_MAX_CLOSURE = 200


@dataclass(frozen=True)
class PlannedSite:
    """A blocking call, found again in the transform by its place relative to the body."""

    relative_line: int  # line - the line of the body's first statement
    col: int  # UTF-8 byte offset, as ast counts
    name: str  # the callee's last name (``get_user`` of ``crud.get_user``)
    text: str  # the callee as written
    what: str  # what blocks, for messages
    line: int  # in the file as read, where async-to-sync reports the call
    refusal: str | None = None  # why it stays, or None: offload it


@dataclass
class FunctionPlan:
    name: str
    sites: list[PlannedSite] = field(default_factory=list)


@dataclass
class FilePlan:
    functions: dict[tuple[str, int], FunctionPlan] = field(default_factory=dict)
    offloader_module: str = "fastapi.concurrency"


@dataclass
class ThreadpoolIndex:
    plans: dict[Path, FilePlan] = field(default_factory=dict)


def plan_offloads(
    facts: Mapping[SourceFile, tuple[ModuleFacts, ThreadpoolFacts]],
    unparsed: Sequence[SourceFile],
    catalogue: Catalogue,
) -> ThreadpoolIndex:
    project = Project({file: pair[0] for file, pair in facts.items()}, unparsed, catalogue)
    project.analyse()
    extras = {pair[1].module: pair[1] for pair in facts.values()}
    safety = _Safety(project, extras)
    index = ThreadpoolIndex()
    for function_id, roles in project.roles().items():
        located = project.functions[function_id]
        function = located.function
        module = extras.get(located.module.module)
        if (
            not function.is_async
            or not function.awaits  # async-to-sync makes it `def` or says why not
            or not roles & OFFLOADED_ROLES
            or module is None
            or located.module.module in project.shared_names
        ):
            continue
        own = module.functions.get((function.line, function.col))
        if own is None:
            continue
        sites = [
            _planned(project, call, own, safety.refusal(function_id, call, own, module))
            for call in project.blocking_calls(function_id)
            if _offloadable(project, call)
        ]
        if not sites:
            continue
        file_plan = index.plans.setdefault(located.file.path, FilePlan())
        file_plan.offloader_module = _offloader_module(module)
        offloader_taken = _offloader_problem(module)
        if offloader_taken:
            sites = [
                PlannedSite(**{**s.__dict__, "refusal": s.refusal or offloader_taken})
                for s in sites
            ]
        file_plan.functions[(function.qualname, function.ordinal)] = FunctionPlan(
            function.name, sites
        )
    return index


def _offloadable(project: Project, call: Blocking) -> bool:
    """A call the codemod is about: it runs here and now, and blocks for real. An awaited
    call of a project coroutine that blocks inside is fixed in that coroutine, not here; a
    file-system metadata call costs less than a thread hop (async-to-sync reports both)."""
    if call.site.awaited:
        return False
    if isinstance(call, Direct):
        return not is_filesystem_metadata(call.match)
    return not _metadata_only(project, call.callee, frozenset())


def _metadata_only(project: Project, function_id: str, seen: frozenset[str]) -> bool:
    """Whether a project function blocks only through file-system metadata calls. Unlike
    `Project.metadata_only`, a function with no blocking call of its own (one the
    ``blocking-calls`` setting names) blocks for real."""
    calls = project.blocking_calls(function_id)
    if not calls:
        return False
    for call in calls:
        if isinstance(call, Direct):
            if not is_filesystem_metadata(call.match):
                return False
        elif call.callee in seen or not _metadata_only(project, call.callee, seen | {function_id}):
            return False
    return True


def _planned(
    project: Project, call: Blocking, own: FunctionExtras, refusal: str | None
) -> PlannedSite:
    what, _ = project.describe(call)
    site = call.site
    return PlannedSite(
        site.line - own.body_line, site.col, site.name, site.text, what, site.line, refusal
    )


def _offloader_module(module: ThreadpoolFacts) -> str:
    """Where ``run_in_threadpool`` comes from: the module's own import of it if it has one,
    else FastAPI's re-export, else (a module that imports nothing from FastAPI) Starlette's."""
    if module.offloader in OFFLOADERS:
        return module.offloader.rpartition(".")[0]
    return "fastapi.concurrency" if module.imports_fastapi else "starlette.concurrency"


def _offloader_problem(module: ThreadpoolFacts) -> str | None:
    if module.offloader and module.offloader not in OFFLOADERS:
        return "`run_in_threadpool` already names something else in this module"
    return None


class _Safety:
    """Why a blocking call must stay where it is; None when a worker thread may run it."""

    def __init__(self, project: Project, extras: Mapping[str, ThreadpoolFacts]) -> None:
        self.project = project
        self.extras = extras
        self.sqlite_shared = any(module.sqlite_shared for module in extras.values())
        self.per_thread_sqlite = next(
            (
                (module.module, module.per_thread_sqlite)
                for module in extras.values()
                if module.per_thread_sqlite
            ),
            None,
        )

    def refusal(
        self, function_id: str, call: Blocking, own: FunctionExtras, module: ThreadpoolFacts
    ) -> str | None:
        function = self.project.functions[function_id].function
        if function.generator:
            return (
                f"`{function.name}` is an async generator: code after its `yield` runs at "
                "cleanup, where a new `await` may never resume"
            )
        site = call.site
        for reason in (
            self._callee_shape(call),
            self._bound_value(site, module),
            self._bound_with(site, own, module),
            self._loop_use(call),
            self._shared_write_read_later(call, own),
            self._per_thread_database(call),
        ):
            if reason:
                return reason
        return None

    # -- the callee --------------------------------------------------------------------

    def _callee_shape(self, call: Blocking) -> str | None:
        if isinstance(call, Direct):
            if call.match.family == "sqlite3" and not self.sqlite_shared:
                return f"it uses {SQLITE_BOUND}"
            return None
        callee = self.project.functions[call.callee].function
        if callee.generator:
            return (
                f"`{callee.key}` is a generator function: its body runs where the generator is "
                "iterated, not in the call"
            )
        return None

    def _loop_use(self, call: Blocking) -> str | None:
        """A callee that needs the running loop (none in a worker thread) or sets a
        ContextVar (the worker runs in a copy of the context: the value set is lost)."""
        if not isinstance(call, Via) or call.callee not in self.project.loop_witness:
            return None
        chain, leaf = self._leaf(self.project.loop_witness, call.callee)
        return (
            f"it reaches `{leaf.what}` ({chain}), which needs the running event loop or sets "
            "a ContextVar: in a worker thread there is no loop, and a ContextVar set there is lost"
        )

    def _shared_write_read_later(self, call: Blocking, own: FunctionExtras) -> str | None:
        """A callee that writes module-level state the coroutine reads after the call: on the
        loop nothing ran in between; in the threadpool other requests' code does."""
        if not isinstance(call, Via) or call.callee not in self.project.shared_witness:
            return None
        chain, leaf = self._leaf(self.project.shared_witness, call.callee)
        root = _root_name(leaf.what)
        later = [line for name, line in own.reads if name == root and line > call.site.line]
        if not later:
            return None
        return (
            f"it writes `{leaf.what}` ({chain}), which this function reads afterwards (line "
            f"{later[0]}): in the threadpool another request may change it in between"
        )

    def _per_thread_database(self, call: Blocking) -> str | None:
        """SQLAlchemy work while the project (its tests, usually) has an in-memory SQLite
        engine that hands each thread its own database: in a worker it finds no tables."""
        if self.per_thread_sqlite is None:
            return None
        found: Blocking = call
        steps = 0
        while isinstance(found, Via) and steps < _MAX_CLOSURE:
            found = self.project.witness[found.callee]
            steps += 1
        if not (isinstance(found, Direct) and found.match.qualified.startswith("sqlalchemy.")):
            return None
        module, line = self.per_thread_sqlite
        return (
            f"it uses SQLAlchemy, and `{module}` line {line} makes an in-memory SQLite engine "
            "without `poolclass=StaticPool`: each thread gets its own empty database there"
        )

    def _leaf(self, witness: Mapping[str, Leaf | Via], callee: str) -> tuple[str, Leaf]:
        steps: list[str] = []
        current = callee
        found = witness[current]
        while isinstance(found, Via) and len(steps) < _MAX_CHAIN and current not in steps:
            steps.append(self.project.functions[current].function.key)
            current = found.callee
            found = witness[current]
        steps.append(self.project.functions[current].function.key)
        if isinstance(found, Leaf):
            where = self.project.functions[current].module.display_path
            return " → ".join(steps) + f" at {where}:{found.line}", found
        return " → ".join(steps), Leaf(0, "…")

    # -- objects bound to one thread ---------------------------------------------------

    def _bound_value(self, site: CallSite, module: ThreadpoolFacts) -> str | None:
        """The call's receiver or an argument is an object bound to one thread, or an async
        (greenlet) object a worker thread cannot drive; or the callee reads one."""
        values: list[Sym | None] = [
            *site.args,
            *(value for _, value in site.keywords),
            _receiver(site.callee),
        ]
        for value in values:
            why = self._bound(value)
            if why:
                return f"it is handed {why}"
        root = site.text.partition(".")[0]
        why = self._global_bound(module, root) if root.isidentifier() else None
        if why:
            return f"it is called on {why}"
        return self._callee_reads_bound(site)

    def _bound(self, symbol: Sym | None, locks: bool = False) -> str | None:
        """What thread-bound object ``symbol`` is; a lock only when ``locks`` (a ``with``)."""
        if symbol is None:
            return None
        value = self.project.resolve(symbol)
        if value is not None and value[0] == "extinst":
            if value[1] in THREAD_BOUND_TYPES:
                return THREAD_BOUND_TYPES[value[1]]
            if value[1] in SQLITE_TYPES and not self.sqlite_shared:
                return SQLITE_BOUND
            if value[1] in GREENLET_TYPES:
                return f"a `{value[1].rpartition('.')[2]}` (async; a worker thread cannot drive it)"
        if symbol[0] in ("ref", "near"):
            dotted = symbol[1] if symbol[0] == "ref" else symbol[2]
            owner, _, name = dotted.rpartition(".")
            facts = self.extras.get(owner)
            bound = facts.thread_bound.get(name) if facts is not None else None
            if bound is not None and (locks or bound != LOCK_HELD):
                return bound
        return None

    def _global_bound(self, module: ThreadpoolFacts, name: str, locks: bool = False) -> str | None:
        """What a module-level name of ``module`` holds, when bound to one thread (defined
        there or imported from the project); a lock only when ``locks``."""
        bound = module.thread_bound.get(name)
        if bound is not None:
            return bound if locks or bound != LOCK_HELD else None
        facts = self.project.modules.get(module.module)
        symbol = facts.symbols.get(name) if facts is not None else None
        if symbol is None or symbol[0] not in ("ref", "near"):
            return None
        return self._bound(symbol, locks)

    def _callee_reads_bound(self, site: CallSite) -> str | None:
        """A project function, or one it calls, reading a module-level object bound to one
        thread (``SessionScoped.query``, ``_local.conn``): in a worker it gets another one."""
        for function_id in self._closure(site):
            located = self.project.functions[function_id]
            module = self.extras.get(located.module.module)
            own = (
                module.functions.get((located.function.line, located.function.col))
                if module
                else None
            )
            if module is None or own is None:
                continue
            for name in sorted(own.globals_read):
                why = self._global_bound(module, name)
                if why:
                    return (
                        f"`{located.function.key}` reads `{name}`, {why}: in a worker thread it "
                        "is another thread's, or fails"
                    )
        return None

    def _closure(self, site: CallSite) -> Iterator[str]:
        """The project functions a call runs, transitively (sync calls of sync functions)."""
        start = self.project.classify(site)
        if not isinstance(start, str):
            return
        seen = {start}
        pending = [start]
        while pending and len(seen) < _MAX_CLOSURE:
            current = pending.pop()
            yield current
            for inner, result in self.project.sites.get(current, ()):
                if (
                    isinstance(result, str)
                    and result not in seen
                    and result in self.project.functions
                    and self.project.functions[result].function.is_async == inner.awaited
                ):
                    seen.add(result)
                    pending.append(result)

    def _bound_with(
        self, site: CallSite, own: FunctionExtras, module: ThreadpoolFacts
    ) -> str | None:
        for block in own.withs:
            if not block.first_line <= site.line <= block.last_line:
                continue
            for held in block.holds:
                kind, _, value = held.partition(":")
                why = value if kind == "bound" else None
                if kind == "name":
                    why = self._global_bound(module, value, locks=True)
                if why:
                    return f"it runs inside a `with` block (line {block.first_line}) over {why}"
        return None


def _receiver(callee: Sym | None) -> Sym | None:
    """``db`` of ``db.query``: the object a method is called on, as a symbol."""
    if callee is None:
        return None
    if callee[0] == "attr":
        return callee[1]
    if callee[0] == "ref" and "." in callee[1]:
        return ("ref", callee[1].rpartition(".")[0])
    if callee[0] == "near" and "." in callee[2]:
        return ("near", callee[1], callee[2].rpartition(".")[0])
    return None


def _root_name(target: str) -> str:
    """``cache`` of ``cache[key]``, ``client`` of ``client.token``."""
    for index, character in enumerate(target):
        if not (character.isalnum() or character == "_"):
            return target[:index]
    return target
