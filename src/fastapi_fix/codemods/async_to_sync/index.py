"""The project-wide half of async-to-sync (main process): on the symbols the project's
`Resolver` resolves (``fastapi_fix.project.resolver``, whose values it reads), build the
call graph, find what blocks, and decide each async route and dependency: convert it, or
report why not.
"""

from __future__ import annotations

import io
import tokenize
from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, TypeVar

from fastapi_fix.codemods.async_to_sync.facts import (
    SYNC_ITERATORS,
    CallSite,
    FunctionFacts,
    ModuleFacts,
    Use,
)
from fastapi_fix.engine.codemod import SourceFile
from fastapi_fix.engine.results import first_clause
from fastapi_fix.project.blocking import (
    MEMOIZERS,
    THREADPOOL_ADVICE,
    Catalogue,
    Match,
    canonical_type,
    is_filesystem_metadata,
    needs_event_loop,
)
from fastapi_fix.project.fastapi import (
    BACKGROUND_TASK_CLASSES,
    BACKGROUND_TASKS_CLASSES,
    HTTP_METHODS,
)
from fastapi_fix.project.resolver import Resolver, Value

# What a call is: a `Match` (blocks), a project function id, ("loop", name) or None.
NeedsLoop = tuple[Literal["loop"], str]
Classified = Match | str | NeedsLoop | None
ROUTER_TYPES = frozenset({"fastapi.FastAPI", "fastapi.APIRouter"})
ROUTE_METHODS = HTTP_METHODS | {"api_route"}
ASYNC_CONTEXT_MANAGERS = frozenset({"contextlib.asynccontextmanager"})
# Where AsyncGenerator & co. may come from, and where their sync counterparts are imported from.
ITERATOR_MODULES = {
    "typing": "typing",
    "collections.abc": "collections.abc",
    "typing_extensions": "typing",
}
# Return annotations an async generator keeps as they are when it becomes sync.
ANY_RETURN = frozenset({"typing.Any", "typing_extensions.Any", "builtins.object"})
# What FastAPI calls for us, and so what may be made ``def``.
CALLED_BY_FASTAPI = frozenset({"route", "dependency", "websocket", "lifespan", "background"})
_MAX_CHAIN = 4
# How an edit description and a commit message mark a conversion resting only on
# file-system metadata calls (see `Project.metadata_only`).
METADATA_ONLY_LABEL = "evidence: file-system metadata calls only"
_MAX_LISTED = 3


@dataclass(frozen=True)
class PlannedFinding:
    line: int
    col: int  # UTF-8 byte offset (ast); transform turns it into a character column
    message: str
    kind: str = ""  # see `Finding`: each kind is explained once, in KIND_DETAILS
    summary: str = ""


# Findings' kinds and their explanation, shown once after a terminal's list of findings.
BLOCKING_TO_THREADPOOL = "blocking-to-threadpool"
BLOCKING_METADATA = "blocking-metadata"
BLOCKING_KEPT_ASYNC = "blocking-kept-async"
UNFOLLOWED_CALLS = "unfollowed-calls"
KIND_DETAILS = {
    BLOCKING_TO_THREADPOOL: (
        "the function also awaits, so it cannot become `def`: run the blocking call in the "
        "threadpool (`await run_in_threadpool(fn, ...)` from fastapi.concurrency) or use the "
        "library's async API; until then every other request waits while it runs"
    ),
    BLOCKING_METADATA: (
        "a file-system metadata call (exists, is_file, mkdir, stat, ...) in a function that also "
        "awaits: microseconds on a local disk, so usually harmless; on a network file system use "
        "`anyio.Path` or `run_in_threadpool`"
    ),
    BLOCKING_KEPT_ASYNC: (
        "the function blocks and awaits nothing, but was not made `def` for the reason given "
        "(a caller awaits it, it uses the event loop or shared state, ...): fix the reason or "
        "move the blocking call to the threadpool"
    ),
    UNFOLLOWED_CALLS: (
        "an await-less async function where nothing is known to block, but some calls could "
        "not be followed: if one blocks, list it in `blocking-calls` or make the function "
        "`def` by hand (reported with `report-non-blocking`)"
    ),
}


@dataclass(frozen=True)
class AnnotationRewrite:
    """``AsyncGenerator[X, None]`` → ``Generator[X, None, None]`` on a converted generator."""

    sync_name: str  # replaces the last name of the head: ``Generator``
    added_nones: int  # ``None`` arguments appended to the subscript
    end_line: int
    new_import: tuple[str, str] | None = None  # (module, name) to import
    old_import: tuple[str, str, str | None] | None = (
        None  # (module, name, asname), dropped if unused
    )


@dataclass(frozen=True)
class Conversion:
    line: int  # of the ``def``
    description: str
    annotation: AnnotationRewrite | None = None


@dataclass
class FilePlan:
    """What transform does in one file: functions to make sync, findings to report."""

    conversions: dict[tuple[str, int], Conversion] = field(
        default_factory=dict
    )  # by (qualname, ordinal)
    findings: list[PlannedFinding] = field(default_factory=list)


@dataclass
class AsyncIndex:
    plans: dict[Path, FilePlan] = field(default_factory=dict)

    def plan(self, path: Path) -> FilePlan | None:
        return self.plans.get(path)


@dataclass(frozen=True)
class Direct:
    """A call the catalogue knows blocks."""

    site: CallSite
    match: Match


@dataclass(frozen=True)
class Via:
    """A call of a project function that blocks."""

    site: CallSite
    callee: str  # function id


Blocking = Direct | Via


@dataclass(frozen=True)
class Leaf:
    """Where a function itself does something that rules out the threadpool: uses what needs
    the running event loop (``asyncio.get_running_loop``) or writes shared state
    (``app._token``)."""

    line: int
    what: str


Reaches = Leaf | Via  # done in the function itself, or in a project function it calls
Witness = TypeVar("Witness", Blocking, Reaches)


@dataclass(frozen=True)
class _Located:
    function: FunctionFacts
    module: ModuleFacts
    file: SourceFile


class Project(Resolver[FunctionFacts]):
    """Every module's facts, resolved by the project's `Resolver`, with async-to-sync's
    decisions on top."""

    def __init__(
        self,
        facts: Mapping[SourceFile, ModuleFacts],
        unparsed: Sequence[SourceFile],
        catalogue: Catalogue,
        report_non_blocking: bool = False,
        convert_metadata_only: bool = True,
    ) -> None:
        super().__init__(facts)
        self.catalogue = catalogue
        self.report_non_blocking = report_non_blocking
        self.convert_metadata_only = convert_metadata_only
        self.modules: dict[str, ModuleFacts] = {}
        self.all_modules: list[ModuleFacts] = list(facts.values())
        self.files: dict[str, SourceFile] = {}
        self.functions: dict[str, _Located] = {}
        for file, module in facts.items():
            self.modules.setdefault(module.module, module)
            self.files[module.display_path] = file
            for function in module.functions:
                self.functions[function.id] = _Located(function, module, file)
        self.unparsed_names = {f.display_path: _identifiers(f) for f in unparsed}
        self._memoized: dict[str, bool] = {}
        # Filled by analyse() and roles():
        self.sites: dict[str, list[tuple[CallSite, Classified]]] = {}
        self.witness: dict[str, Blocking] = {}
        self.loop_witness: dict[str, Reaches] = {}
        self.shared_witness: dict[str, Reaches] = {}
        # function id -> where the project calls it: (display path, site, caller id)
        self.callers: dict[str, list[tuple[str, CallSite, str]]] = defaultdict(list)
        # function id -> where it is named but not called, nor registered with FastAPI
        self.value_uses: dict[str, list[tuple[str, Use]]] = defaultdict(list)

    # -- call graph --------------------------------------------------------------------

    def classify(self, site: CallSite) -> Classified:
        """A `Match` (blocks), a function id (calls the project), ``("loop", name)``, or None."""
        value = self.resolve(site.callee)
        if value is None:
            return None
        if value[0] == "ext":
            if needs_event_loop(value[1]):
                return ("loop", value[1])
            return self.catalogue.function(canonical_type(value[1]))
        if value[0] == "extbound":
            if needs_event_loop(f"{value[1]}.{value[2]}"):
                return ("loop", f"{value[1]}.{value[2]}")
            return self.catalogue.method(value[1], value[2])
        if value[0] == "class":
            return self._callable_id(self._class_member(value[1], "__init__", instance=True))
        return self._callable_id(value)

    # -- what blocks -------------------------------------------------------------------

    def analyse(self, only: Collection[str] | None = None) -> None:
        """Classify every call (of the functions ``only`` names, when given), then find,
        transitively, every function that blocks, that needs the event loop, and that writes
        state every request shares."""
        reverse: dict[str, list[tuple[str, CallSite]]] = defaultdict(list)
        loop_reverse: dict[str, list[tuple[str, CallSite]]] = defaultdict(list)  # memoized or not
        for function_id, located in self.functions.items():
            if only is not None and function_id not in only:
                continue
            classified: list[tuple[CallSite, Classified]] = []
            function = located.function
            if function.loop_uses:
                line, _, name = function.loop_uses[0]
                self.loop_witness[function_id] = Leaf(line, name)
            if function.shared_writes:
                line, _, text = function.shared_writes[0]
                self.shared_witness[function_id] = Leaf(line, text)
            for site in function.calls:
                result = self.classify(site)
                classified.append((site, result))
                if isinstance(result, Match) and not site.awaited:
                    self.witness.setdefault(function_id, Direct(site, result))
                elif isinstance(result, tuple):
                    self.loop_witness.setdefault(function_id, Leaf(site.line, result[1]))
                elif isinstance(result, str):
                    self.callers[result].append((located.module.display_path, site, function_id))
                    if self._runs_body(result, site.awaited):
                        loop_reverse[result].append((function_id, site))
                    if self._runs_now(result, site.awaited):
                        reverse[result].append((function_id, site))
            self.sites[function_id] = classified
            configured = self.catalogue.configured(function.key)
            if configured:
                declared = CallSite(function.line, function.col, function.key, None)
                self.witness.setdefault(function_id, Direct(declared, configured))
        _propagate(self.witness, reverse)
        _propagate(self.loop_witness, loop_reverse)
        _propagate(self.shared_witness, loop_reverse)

    def _runs_body(self, callee: str, awaited: bool) -> bool:
        """Whether a call runs the callee's body: a sync function called, a coroutine awaited."""
        return self.functions[callee].function.is_async == awaited

    def _runs_now(self, callee: str, awaited: bool) -> bool:
        """Whether a call runs the callee's body where its blocking counts (on this event loop:
        if it blocks, so does its caller). ``@lru_cache`` and friends block once per process at
        most, so their callers do not count as blocking."""
        if not self._runs_body(callee, awaited):
            return False
        if callee not in self._memoized:
            self._memoized[callee] = any(
                (value := self.resolve(d.target)) is not None
                and value[0] == "ext"
                and value[1] in MEMOIZERS
                for d in self.functions[callee].function.decorators
            )
        return not self._memoized[callee]

    def _blocking_callee(self, caller: str, callee: str, awaited: bool) -> bool:
        return callee in self.witness and callee != caller and self._runs_now(callee, awaited)

    def blocking_calls(self, function_id: str) -> list[Blocking]:
        """The calls in a function's own body that block, directly or through the project."""
        found: list[Blocking] = []
        for site, result in self.sites.get(function_id, ()):
            if isinstance(result, Match) and not site.awaited:
                found.append(Direct(site, result))
            elif isinstance(result, str) and self._blocking_callee(
                function_id, result, site.awaited
            ):
                found.append(Via(site, result))
        return found

    # -- what FastAPI calls ------------------------------------------------------------

    def route_kind(self, value: Value | None) -> str | None:
        """ "route" or "websocket" for a router method (``router.get``), else None."""
        if value and value[0] == "extbound" and value[1] in ROUTER_TYPES:
            if value[2] in ROUTE_METHODS:
                return "route"
            if value[2] == "websocket":
                return "websocket"
        return None

    def roles(self) -> dict[str, set[str]]:
        """function id -> how FastAPI (or a scheduler) uses it."""
        roles: dict[str, set[str]] = defaultdict(set)
        for function_id, located in self.functions.items():
            for decorator in located.function.decorators:
                kind = self.route_kind(self.resolve(decorator.target))
                if kind:
                    roles[function_id].add(kind)
        for module in self.all_modules:
            for use in module.uses:
                target = self.function_of(self.resolve(use.target))
                if target is None:
                    continue
                role = self._role_of(use)
                if role is None:
                    self.value_uses[target].append((module.display_path, use))
                elif role != "override":
                    roles[target].add(role)
        return roles

    def _role_of(self, use: Use) -> str | None:
        """What FastAPI does with a function named at ``use``; None when something else gets
        it (a scheduler, a dict, an argument): that something may call or await it."""
        if use.kind in ("depends", "lifespan"):
            return "dependency" if use.kind == "depends" else "lifespan"
        if use.kind in ("route", "websocket", "override"):
            router = self.resolve(use.via)
            if router and router[0] in ("extinst", "inst") and self._is_router(router):
                return use.kind
            # ``app.dependency_overrides`` of a test fixture's ``app``: nothing says what the app
            # is, but nothing but FastAPI has that dict; a known object that is not an app does.
            return "override" if use.kind == "override" and router is None else None
        if use.kind == "background":
            tasks = self.resolve(use.via)
            if tasks in (
                *(("extinst", name) for name in BACKGROUND_TASKS_CLASSES),
                *(("ext", name) for name in BACKGROUND_TASK_CLASSES),
            ):
                return "background"  # Starlette awaits an async task, runs a sync one in the threadpool
        return None

    def _is_router(self, value: Value) -> bool:
        return self.route_kind(self.member(value, "get")) == "route"

    def refusals(self, function_id: str, roles: set[str]) -> list[str]:
        """Why an await-less async function that blocks must stay async (empty: convert it)."""
        located = self.functions[function_id]
        function = located.function
        reasons: list[str] = []
        if "websocket" in roles:
            reasons.append("it is a websocket handler")
        if "lifespan" in roles:
            reasons.append("it is a lifespan or startup/shutdown handler")
        if function.generator and roles & {"route", "websocket"}:
            reasons.append("it is an async generator route")
        if function.generator and "background" in roles:
            reasons.append("it is an async generator background task")
        if located.module.module in self.shared_names:
            reasons.append(f"another file of the project is also module `{located.module.module}`")
        for decorator in function.decorators:
            value = self.resolve(decorator.target)
            if self.route_kind(value):
                continue
            if value and value[0] == "ext" and value[1] in ASYNC_CONTEXT_MANAGERS:
                reasons.append("it is an @asynccontextmanager")
            else:
                reasons.append(f"its decorator `@{decorator.text}` may need a coroutine function")
        reasons.extend(self._loop_reasons(function_id))
        reasons.extend(self._shared_state_reasons(function_id))
        reasons.extend(self._callers_reasons(function_id))
        for path, names in self.unparsed_names.items():
            if names is None:
                reasons.append(f"{path} cannot be parsed by this Python nor read (it may await it)")
            elif function.name in names:
                reasons.append(
                    f"its name appears in {path}, which this Python cannot parse "
                    "(it may be awaited there)"
                )
        return reasons

    def _loop_reasons(self, function_id: str) -> list[str]:
        """What in the function needs the event loop: in its own body, or in a project
        function it calls (named with the chain to the use)."""
        function = self.functions[function_id].function
        loop_uses = {name: line for line, _, name in function.loop_uses}
        for site, result in self.sites.get(function_id, ()):
            if isinstance(result, tuple):
                loop_uses.setdefault(result[1], site.line)
        why = "which needs the event loop or the request's context"
        reasons = []
        if loop_uses:
            listed = ", ".join(
                f"`{name}` (line {line})" for name, line in list(loop_uses.items())[:_MAX_LISTED]
            )
            reasons.append(f"it uses {listed}, {why}")
        for callee, site in self._helpers_reaching(function_id, self.loop_witness):
            reasons.append(
                f"it calls `{site.text}(...)` (line {site.line}), {why}: "
                f"{self._chain_to_leaf(callee, self.loop_witness)}"
            )
        return reasons

    def _shared_state_reasons(self, function_id: str) -> list[str]:
        """Writes to state every request shares, in the function or in project functions it
        calls. Without an ``await`` the function runs on the event loop without a break, so
        another request can never see (or overwrite) what it set halfway; in the threadpool
        two requests interleave (Netflix dispatch sets ``app._token`` per organisation, then
        uses it)."""
        function = self.functions[function_id].function
        why = (
            "state every request shares: on the event loop no other request runs while it does "
            "(it awaits nothing); in the threadpool they would interleave"
        )
        reasons = []
        own = [*function.shared_writes, *function.self_writes]
        if own:
            listed = ", ".join(f"`{text}` (line {line})" for line, _, text in own[:_MAX_LISTED])
            reasons.append(f"it assigns {listed}, {why}")
        for callee, site in self._helpers_reaching(function_id, self.shared_witness):
            reasons.append(
                f"it calls `{site.text}(...)` (line {site.line}), which assigns {why}: "
                f"{self._chain_to_leaf(callee, self.shared_witness)}"
            )
        return reasons

    def _helpers_reaching(
        self, function_id: str, witness: Mapping[str, Reaches]
    ) -> list[tuple[str, CallSite]]:
        """The project functions a function's own calls run that have a witness (the first
        few, one call each)."""
        helpers: dict[str, CallSite] = {}
        for site, result in self.sites.get(function_id, ()):
            if (
                isinstance(result, str)
                and result != function_id
                and result in witness
                and self._runs_body(result, site.awaited)
            ):
                helpers.setdefault(result, site)
        return list(helpers.items())[:_MAX_LISTED]

    def _chain_to_leaf(self, callee: str, witness: Mapping[str, Reaches]) -> str:
        """``app.main.fire_and_forget → `asyncio.get_running_loop` at app/main.py:5``."""
        steps: list[str] = []
        current: str | None = callee
        while current is not None and current not in steps and len(steps) < _MAX_CHAIN:
            steps.append(current)
            found = witness[current]
            if isinstance(found, Leaf):
                located = self.functions[current]
                leaf = f"`{found.what}` at {located.module.display_path}:{found.line}"
                return " → ".join([*(self.functions[s].function.key for s in steps), leaf])
            current = found.callee
        return " → ".join([*(self.functions[s].function.key for s in steps), "…"])

    def _callers_reasons(self, function_id: str) -> list[str]:
        reasons = []
        for path, site, caller in self.callers.get(function_id, ()):
            if caller == function_id:
                continue
            if site.awaited:
                reasons.append(f"it is awaited at {path}:{site.line}")
            elif site.argument_of:
                reasons.append(
                    f"it is called at {path}:{site.line} and handed to `{site.argument_of}`"
                )
            else:
                reasons.append(f"it is called at {path}:{site.line}, whose caller gets a coroutine")
        for path, use in self.value_uses.get(function_id, ()):
            if use.kind == "value":
                reasons.append(
                    f"it is used as a value at {path}:{use.line} (`{use.text}`), where it may be "
                    "called and awaited"
                )
            else:
                reasons.append(f"it is passed to `{use.text}` at {path}:{use.line}")
        if len(reasons) > 3:
            reasons[3:] = [f"and {len(reasons) - 3} more uses"]
        return reasons

    # -- decisions ---------------------------------------------------------------------

    def plan(self) -> AsyncIndex:
        self.analyse()
        index = AsyncIndex()
        for function_id, roles in self.roles().items():
            located = self.functions[function_id]
            function = located.function
            if not function.is_async or not roles & CALLED_BY_FASTAPI:
                continue
            blocking = self.blocking_calls(function_id)
            if not blocking:
                if self.report_non_blocking and not function.awaits:
                    self._plan_for(index, located).findings.append(
                        self._non_blocking_finding(function_id)
                    )
                continue
            if function.awaits:
                self._report(index, located, blocking, "it also awaits, so it cannot become `def`")
                continue
            reasons = self.refusals(function_id, roles)
            annotation, annotation_problem = self._sync_annotation(function)
            if annotation_problem:
                reasons.append(annotation_problem)
            if reasons:
                self._report(
                    index,
                    located,
                    blocking,
                    "not made `def` because " + "; ".join(reasons),
                    reasons[0],
                )
                continue
            metadata_only = self.metadata_only(function_id)
            if metadata_only and not self.convert_metadata_only:
                continue  # weak evidence, and the user asked to leave such functions async
            what, _ = self.describe(blocking[0])
            description = f"async def {function.name} -> def: awaits nothing and {what}"
            if metadata_only:
                description += f" ({METADATA_ONLY_LABEL})"
            if annotation is not None:
                description += f"; its return annotation becomes a sync `{annotation.sync_name}`"
            self._plan_for(index, located).conversions[(function.qualname, function.ordinal)] = (
                Conversion(function.line, description, annotation)
            )
        return index

    def metadata_only(self, function_id: str, seen: frozenset[str] = frozenset()) -> bool:
        """Whether every call that makes this function block is, in the end, a file-system
        metadata call (``os.path.exists``, ``Path.mkdir``, ...), followed through the project."""
        for call in self.blocking_calls(function_id):
            if isinstance(call, Direct):
                if not is_filesystem_metadata(call.match):
                    return False
            elif call.callee in seen or not self.metadata_only(call.callee, seen | {function_id}):
                return False
        return True

    def _non_blocking_finding(self, function_id: str) -> PlannedFinding:
        """Why an await-less async function stays async although nothing is known to block;
        it names the calls that could not be followed, any of which may block."""
        function = self.functions[function_id].function
        unknown = [
            site
            for site, result in self.sites.get(function_id, ())
            if result is None and self.resolve(site.callee) is None
        ]
        if not unknown:
            return PlannedFinding(
                function.line,
                function.col,
                f"`{function.name}` stays async: no blocking call found (FastAPI runs an "
                "await-less `async def` on the event loop, which is right when nothing blocks)",
            )
        listed = ", ".join(
            f"`{site.text}(...)` (line {site.line})" for site in unknown[:_MAX_LISTED]
        )
        more = f" and {len(unknown) - _MAX_LISTED} more" if len(unknown) > _MAX_LISTED else ""
        message = (
            f"`{function.name}` stays async: no blocking call found, but these calls could not be "
            f"followed: {listed}{more}; if one blocks, it stalls the event loop (list it in "
            "`blocking-calls`, or make the function `def` by hand)"
        )
        summary = (
            f"`{function.name}` stays async; {len(unknown)} call(s) could not be followed "
            f"→ see {UNFOLLOWED_CALLS}"
        )
        return PlannedFinding(function.line, function.col, message, UNFOLLOWED_CALLS, summary)

    def _sync_annotation(
        self, function: FunctionFacts
    ) -> tuple[AnnotationRewrite | None, str | None]:
        """How an async generator's return annotation becomes a sync one: (rewrite, None), or
        (None, why it cannot). Other functions keep theirs: it names what they return."""
        annotation = function.return_annotation
        if not function.generator or annotation is None or annotation.head in ANY_RETURN:
            return None, None
        module, _, name = (annotation.head or "").rpartition(".")
        sync_name = SYNC_ITERATORS.get(name)
        added = {0: 0, 1: 2, 2: 1}.get(annotation.arguments) if name == "AsyncGenerator" else 0
        attribute = "." in annotation.written
        problem = (
            f"its return annotation `{annotation.text}` is not one it can make sync (AsyncGenerator, "
            "AsyncIterator or AsyncIterable from typing or collections.abc)"
        )
        if (
            annotation.is_string
            or module not in ITERATOR_MODULES
            or sync_name is None
            or added is None
            or (attribute and ITERATOR_MODULES[module] != module)
        ):
            return None, problem
        if attribute:  # ``typing.AsyncGenerator``: ``typing.Generator`` needs no import
            return AnnotationRewrite(sync_name, added, annotation.end_line), None
        bound = dict(annotation.bindings).get(sync_name)
        if bound is None or (bound and bound not in {f"{m}.{sync_name}" for m in ITERATOR_MODULES}):
            return (
                None,
                f"`{sync_name}` already names something else where `{function.name}` is defined",
            )
        new_import = None if bound else (ITERATOR_MODULES[module], sync_name)
        old_import = (module, name, annotation.written if annotation.written != name else None)
        return AnnotationRewrite(
            sync_name, added, annotation.end_line, new_import, old_import
        ), None

    def _plan_for(self, index: AsyncIndex, located: _Located) -> FilePlan:
        return index.plans.setdefault(located.file.path, FilePlan())

    def _report(
        self,
        index: AsyncIndex,
        located: _Located,
        blocking: list[Blocking],
        why: str,
        first_reason: str = "",
    ) -> None:
        """Each blocking call left on the event loop; ``first_reason``: why the function was
        not converted although it awaits nothing (shown in the one-line summary)."""
        plan = self._plan_for(index, located)
        awaits = located.function.awaits
        for call in blocking:
            what, advice = self.describe(call)
            message = f"{what} in async `{located.function.name}`; {why}: use {advice}"
            metadata = isinstance(call, Direct) and is_filesystem_metadata(call.match)
            if awaits:
                kind = BLOCKING_METADATA if metadata else BLOCKING_TO_THREADPOOL
                short = f"`{call.site.text}(...)` blocks; `{located.function.name}` also awaits"
            else:
                kind = BLOCKING_KEPT_ASYNC
                # The reason says it all; the kind's explanation still follows the list.
                short = f"`{call.site.text}(...)` blocks; kept async: {first_clause(first_reason)}"
            if awaits:
                short += f" → see {kind}"
            plan.findings.append(
                PlannedFinding(call.site.line, call.site.col, message, kind, short)
            )

    def describe(self, call: Blocking) -> tuple[str, str]:
        """(what blocks, what to use instead) for a message."""
        text = call.site.text
        threadpool = f"`await run_in_threadpool({text}, ...)` (from fastapi.concurrency)"
        if isinstance(call, Via) and call.site.awaited:  # a coroutine of the project blocks inside
            callee = self.functions[call.callee].function.key
            return (
                f"`await {text}(...)` blocks (via {self._chain(call.callee)})",
                f"a sync `{callee}` (or its blocking part) called with `await run_in_threadpool(...)` "
                "(from fastapi.concurrency)",
            )
        if isinstance(call, Direct):
            match = call.match
            if match.advice == THREADPOOL_ADVICE:
                return f"`{text}(...)` blocks ({match.qualified})", threadpool
            return f"`{text}(...)` blocks ({match.qualified})", f"{match.advice} or {threadpool}"
        return f"`{text}(...)` blocks (via {self._chain(call.callee)})", threadpool

    def _chain(self, callee: str) -> str:
        """``app.crud.get_user → `db.query` (sqlalchemy.orm.Session.query) at app/crud.py:5``."""
        steps: list[str] = []
        current: str | None = callee
        while current is not None and current not in steps and len(steps) < _MAX_CHAIN:
            located = self.functions[current]
            steps.append(current)
            witness = self.witness[current]
            if isinstance(witness, Direct):
                names = [self.functions[s].function.key for s in steps]
                if witness.site.callee is None:  # declared blocking by the user
                    return " → ".join(names) + " (blocking-calls setting)"
                leaf = (
                    f"`{witness.site.text}` ({witness.match.qualified}) at "
                    f"{located.module.display_path}:{witness.site.line}"
                )
                return " → ".join([*names, leaf])
            current = witness.callee
        return " → ".join([*(self.functions[s].function.key for s in steps), "…"])


def _propagate(
    witness: dict[str, Witness], reverse: Mapping[str, list[tuple[str, CallSite]]]
) -> None:
    """Every caller of a function with a witness gets one too (the call), to the fixpoint;
    each function is reached once, so recursion is harmless."""
    pending = list(witness)
    while pending:
        callee = pending.pop()
        for caller, site in reverse.get(callee, ()):
            if caller not in witness:
                witness[caller] = Via(site, callee)
                pending.append(caller)


def _identifiers(file: SourceFile) -> frozenset[str] | None:
    """The names in a file the running Python cannot parse; None when it cannot be read."""
    try:
        data = file.path.read_bytes()
    except OSError:
        return None
    names: set[str] = set()
    try:
        for token in tokenize.tokenize(io.BytesIO(data).readline):
            if token.type == tokenize.NAME:
                names.add(token.string)
    except (tokenize.TokenError, SyntaxError, UnicodeDecodeError):
        text = data.decode("utf-8", "replace")
        word: list[str] = []
        for char in text + " ":
            if char.isidentifier() or (word and char.isalnum()) or char == "_":
                word.append(char)
            elif word:
                names.add("".join(word))
                word = []
    return frozenset(names)
