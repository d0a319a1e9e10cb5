"""Which files async-to-sync gathers: a first round by bytes, then only what the decisions read.

The codemod decides about async functions FastAPI calls (routes, dependencies, lifespan
handlers, background tasks), so the first round is the files that can make an async
function one of those: every file naming ``fastapi`` (``Depends``, ``FastAPI(lifespan=...)``,
routers), every async file with a route-like decorator (``@router.get`` on a router from a
project module), and every file with a registration call (``add_api_route``, ``add_task``,
``app.get("/")(handler)``...). The byte patterns only choose what to parse, conservatively.

After each round the facts so far are resolved as the index will resolve them, but only
where a decision reads them, and every lookup that a file not gathered yet could answer
is asked for:

- each project module a name is looked up in (and its submodules, star imports, and the
  other names path resolution may give it: ``dispatch.x.models`` may be module ``x.models``),
  so the service → repository → ``Session`` chain of every candidate is followed, module by
  module, and so are routers, decorators and base classes defined elsewhere;
- every caller of a function whose unannotated parameter takes its callers' types (by name);
- every file naming a route method under another name (``h = router.get``, ``@h("/")``);
- for the candidates that await nothing and block, so may become ``def``: every file that
  names them or an alias of them (whoever calls, awaits or passes them keeps them async),
  and where a function they are handed to is defined.

The rounds end when the facts ask for nothing new: every lookup the index makes for its
decisions then finds what it would find in the whole project. Two corners still depend on
files no decision names: a name that the paths of two files end with (``api.routes`` for
``a/api/routes.py`` and ``b/api/routes.py``) names neither in the whole project, but the
one gathered if only one is; and a cycle of names (``x = y.a``, ``y = x.b``) resolves in the
order the names are met.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping

from fastapi_fix.codemods.async_to_sync.facts import (
    ROUTE_DECORATOR_KINDS,
    CallSite,
    ModuleFacts,
    Sym,
)
from fastapi_fix.codemods.async_to_sync.index import CALLED_BY_FASTAPI, Classified, Project
from fastapi_fix.engine.codemod import SourceFile, Wanted
from fastapi_fix.project.blocking import Catalogue
from fastapi_fix.project.resolver import Value

# Any of these in a file may make an async function one FastAPI calls: Depends and routers
# come from ``fastapi``; the rest register a function whatever its module imports.
FIRST_ROUND_MARKERS = (
    b"fastapi",
    b"add_task",
    b"BackgroundTask",
    b"_route",
    b"add_event_handler",
    b"lifespan",
    b"on_startup",
    b"on_shutdown",
)
_ROUTE_NAMES = rb"(?:" + b"|".join(sorted(name.encode() for name in ROUTE_DECORATOR_KINDS)) + rb")"
# ``@router.get(...)`` with a router of any module; ``@(...`` and a ``\`` span lines.
_ROUTE_DECORATOR = re.compile(rb"@[^\n]*(?:" + _ROUTE_NAMES + rb"|\\\r?$)|@[ \t]*\(", re.MULTILINE)
# ``app.get("/path")(handler)``, the decorator applied by hand: a route method called, and a
# call's result called (on the same line, or the next after a ``\``).
_ROUTE_CALL = re.compile(rb"\.\s*" + _ROUTE_NAMES + rb"\s*\(")
_CALLED_RESULT = re.compile(rb"\)[ \t]*(?:\\\r?\n[ \t]*)?\(")
# ``h = router.get``: a route decorator under another name (``@h("/")``).
_ROUTE_ALIAS = re.compile(
    rb"=\s*[\w.]+\s*\.\s*" + _ROUTE_NAMES + rb"[ \t]*(?:#|\r?$)", re.MULTILINE
)
# A name a decorator regex line already matches.
_ROUTE_WORD = re.compile("|".join(sorted(ROUTE_DECORATOR_KINDS)))
# Uses that give their target a role (``index.Project._role_of``).
_ROLE_USES = frozenset({"depends", "lifespan", "route", "websocket", "background"})


def wants_first_round(source: bytes) -> bool:
    if any(marker in source for marker in FIRST_ROUND_MARKERS):
        return True
    if b"async" in source and _ROUTE_DECORATOR.search(source):
        return True
    if _CALLED_RESULT.search(source) and _ROUTE_CALL.search(source):
        return True
    return _ROUTE_ALIAS.search(source) is not None


# blocking-to-threadpool asks the same question right after async-to-sync, after every gather
# round, most often of the same facts (one walk of a file serves both) with the same
# catalogue: the answer is worked out once. (facts, the catalogue's patterns, the answer)
_last_asked: tuple[dict[SourceFile, ModuleFacts], tuple[str, ...], Wanted] | None = None


def wanted_after(facts: Mapping[SourceFile, ModuleFacts], catalogue: Catalogue) -> Wanted:
    """The files the index needs, given the facts gathered so far."""
    global _last_asked
    if (
        _last_asked is not None
        and _last_asked[1] == catalogue.extra
        and _same_facts(_last_asked[0], facts)
    ):
        return _last_asked[2]
    wanted = _wanted_after(facts, catalogue)
    _last_asked = (dict(facts), catalogue.extra, wanted)
    return wanted


def _same_facts(
    known: Mapping[SourceFile, ModuleFacts], facts: Mapping[SourceFile, ModuleFacts]
) -> bool:
    """Whether ``facts`` are ``known`` (most are the very same objects: the others, a file
    gathered for each codemod in a different round, compare equal or not)."""
    return len(known) == len(facts) and all(
        file in facts and (facts[file] is module or facts[file] == module)
        for file, module in known.items()
    )


def _wanted_after(facts: Mapping[SourceFile, ModuleFacts], catalogue: Catalogue) -> Wanted:
    project = _RecordingProject(facts, catalogue)
    _route_aliases(project)
    candidates = _candidates(project)
    closure = _callees(project, candidates)
    project.analyse(only=closure)
    convertible = {
        c
        for c in candidates
        if not project.functions[c].function.awaits and project.blocking_calls(c)
    }
    if convertible:
        _follow_users(project, convertible)
        _resolve_decorators(project, convertible)
    return Wanted(frozenset(project.wanted_names), frozenset(project.wanted_modules))


class _RecordingProject(Project):
    """A `Project` that writes down every module and name its lookups depend on."""

    def __init__(self, facts: Mapping[SourceFile, ModuleFacts], catalogue: Catalogue) -> None:
        super().__init__(facts, (), catalogue)
        self.wanted_modules: set[str] = set()
        self.wanted_names: set[str] = set()
        self._wanted_for: set[str] = set()  # dotted names whose modules are asked for already
        self._classified: dict[int, Classified] = {}  # id(call site) -> classify()
        self.sources = {module.module: file for file, module in facts.items()}
        self.top_levels = {name.partition(".")[0] for name in self.modules}
        # Last part -> the module names ending with it: ``crud`` -> ``app.crud``, so that
        # ``crud.user`` imported from inside ``app/`` asks for ``app.crud.user``.
        self.named: dict[str, set[str]] = defaultdict(set)
        for name in self.modules:
            parts = name.split(".")
            for end in range(1, len(parts) + 1):
                self.named[parts[end - 1]].add(".".join(parts[:end]))

    def _want_module(self, parts: list[str]) -> None:
        """``a.b.c`` and every file path resolution could give that name: a module named by
        a suffix (``b.c``, folders without ``__init__.py``) or with a prefix (``x.a.b.c``)."""
        dotted = ".".join(parts)
        if dotted in self._wanted_for:
            return
        self._wanted_for.add(dotted)
        self.wanted_modules.add(dotted)
        if len(parts) > 1:
            for start in range(1, len(parts)):
                self.wanted_modules.add(".".join(parts[start:]))
            rest = ".".join(parts[1:])
            for prefix in self.named.get(parts[0], ()):
                self.wanted_modules.add(f"{prefix}.{rest}")

    def _resolve_name(self, dotted: str) -> Value | None:
        parts = dotted.split(".")
        for end in range(len(parts), 0, -1):  # the prefixes the lookup tries, longest first
            self._want_module(parts[:end])
            module = ".".join(parts[:end])
            if module in self.modules or (end > 1 and module in self.path_modules):
                break
        return super()._resolve_name(dotted)

    def _resolve_near(self, importer: str, dotted: str) -> Value | None:
        parts = dotted.split(".")
        if len(parts) > 1 and parts[0] not in self.top_levels:
            # ``import crud.user`` in ``app/main.py`` run from ``app/``: ``app.crud.user``.
            package = self.sources[importer].package.split(".")
            for depth in range(1, len(package) + 1):
                prefix = ".".join(package[:depth])
                for end in range(2, len(parts) + 1):
                    self.wanted_modules.add(".".join([prefix, *parts[:end]]))
        folder = self.script_folders.get(importer)
        if folder is not None:
            self.wanted_modules.add(self.sources[importer].package)  # is the folder a package?
            for end in range(len(parts), 0, -1):
                self._want_module(parts[:end])
                for depth in range(1, len(folder.parts)):  # names the engine gives files that clash
                    self.wanted_modules.add(".".join([*folder.parts[-depth:], *parts[:end]]))
        return super()._resolve_near(importer, dotted)

    def _module_member(self, module: str, name: str) -> Value | None:
        facts = self.modules[module]
        if name not in facts.symbols:
            self.wanted_modules.add(f"{module}.{name}")
            if f"{module}.{name}" not in self.modules:
                for star in facts.star_imports:
                    self._want_module(star.split("."))
        return super()._module_member(module, name)

    def classify(self, site: CallSite) -> Classified:
        # Each round classifies its candidates' calls twice: to follow them, then to decide.
        key = id(site)
        if key not in self._classified:
            self._classified[key] = super().classify(site)
        return self._classified[key]

    def _passed_to(self, function_id: str, position: int | None, name: str) -> Value | None:
        located = self.functions.get(function_id)
        if located is not None:  # every call of it, by the name it is called by
            self.wanted_names.add(located.function.name)
            if located.function.name == "__init__" and located.function.class_id:
                self.wanted_names.add(located.function.class_id.rpartition(".")[2])
        return super()._passed_to(function_id, position, name)


def _route_aliases(project: _RecordingProject) -> None:
    """Ask for the files that may decorate with a route method under another name
    (``h = router.get``, then ``@h("/")``): the first round finds a decorator by the route
    method's name on its line, so only names without one are asked for."""
    aliases: set[str] = set()
    while True:
        found = len(aliases)
        bound_to = ROUTE_DECORATOR_KINDS.keys() | aliases
        for module in project.all_modules:
            bindings = [module.symbols, *(class_facts.attributes for class_facts in module.classes)]
            for name, symbol in (item for binding in bindings for item in binding.items()):
                if (
                    _last_name(symbol) in bound_to
                    and name not in aliases
                    and not _ROUTE_WORD.search(name)
                    and project.route_kind(project.resolve(symbol))
                ):
                    aliases.add(name)
        if len(aliases) == found:
            break
    project.wanted_names |= aliases


def _last_name(symbol: Sym) -> str | None:
    if symbol[0] == "ref":
        return symbol[1].rpartition(".")[2]
    if symbol[0] == "near":
        return symbol[2].rpartition(".")[2]
    return symbol[2] if symbol[0] == "attr" else None


def _candidates(project: Project) -> set[str]:
    """The async functions FastAPI calls, as ``Project.roles`` finds them."""
    found: set[str] = set()
    for function_id, located in project.functions.items():
        if located.function.is_async and any(
            project.route_kind(project.resolve(d.target)) for d in located.function.decorators
        ):
            found.add(function_id)
    for module in project.all_modules:
        for use in module.uses:
            if use.kind not in _ROLE_USES:
                continue
            target = project.function_of(project.resolve(use.target))
            if (
                target in project.functions
                and project.functions[target].function.is_async
                and project._role_of(use) in CALLED_BY_FASTAPI
            ):
                found.add(target)
    return found


def _callees(project: Project, candidates: Iterable[str]) -> set[str]:
    """The candidates and the project functions whose bodies they run, transitively: what
    their blocking, loop use and shared writes are decided by."""
    closure = set(candidates)
    pending = list(closure)
    while pending:
        function = project.functions[pending.pop()].function
        for site in function.calls:
            callee = project.classify(site)
            if (
                isinstance(callee, str)
                and callee not in closure
                and project._runs_body(callee, site.awaited)
            ):
                closure.add(callee)
                pending.append(callee)
    return closure


def _resolve_decorators(project: Project, convertible: set[str]) -> None:
    """Where the decorators of the functions that may become ``def`` come from (a limiter
    made in another module), and those of every sync function decorated like a route: a
    decorator already on a sync route accepts a ``def`` (``Project._accepts_sync``)."""
    if not any(project.functions[c].function.decorators for c in convertible):
        return
    for located in project.functions.values():
        function = located.function
        if function.id in convertible or (
            not function.is_async and any(_ROUTE_WORD.search(d.text) for d in function.decorators)
        ):
            for decorator in function.decorators:
                project.resolve(decorator.target)


def _follow_users(project: _RecordingProject, convertible: set[str]) -> None:
    """Whoever may call, await or pass a function that may become ``def`` keeps it async:
    ask for every file naming it or an alias of it, and resolve, as the index will, every
    call and use there that may be one, and the functions it is handed to."""
    users = _Users(project, convertible)
    project.wanted_names |= users.names
    for located in project.functions.values():
        for site in located.function.calls:
            if users.touches(site.callee):
                project.classify(site)
    for module in project.all_modules:
        for use in module.uses:
            if (
                users.touches(use.target)
                and project.function_of(project.resolve(use.target)) in convertible
            ):
                project._role_of(use)


class _Users:
    """What may reach the functions that may become ``def``: the names that may stand for
    them (module-level names and class attributes bound to them, ``handler = read_user``;
    dependencies returning them), and the project functions they are handed to, whose
    parameters then may too (``run_later(read_user)``). For a ``__call__``, the names of its
    class, subclasses and their instances too (``make_checker() -> Checker``)."""

    def __init__(self, project: Project, convertible: Iterable[str]) -> None:
        self.names: set[str] = set()
        self.receivers: set[str] = set()
        # Only an instance's ``__call__`` is reached through a call's result.
        self.through_calls = False
        for function_id in convertible:
            function = project.functions[function_id].function
            self.names.add(function.name)
            if function.name == "__call__" and function.class_id:  # instances are called
                self.names.add(function.class_id.rpartition(".")[2])
                self.through_calls = True
        # A leaf ("name", last name) or ("param", function id) -> the aliases bound to what is
        # built on it, and the calls passing it.
        aliases: dict[tuple[str, str], list[str]] = defaultdict(list)
        passing: dict[tuple[str, str], list[CallSite]] = defaultdict(list)
        for module in project.all_modules:
            bindings = [module.symbols, *(class_facts.attributes for class_facts in module.classes)]
            for name, symbol in (item for binding in bindings for item in binding.items()):
                for leaf in self.leaves(symbol):
                    aliases[leaf].append(name)
            for class_facts in module.classes:  # a subclass's instances call the same __call__
                for base in class_facts.bases:
                    for leaf in self.leaves(base):
                        aliases[leaf].append(class_facts.id.rpartition(".")[2])
            for function in module.functions:
                made = [function.name]
                if function.name == "__call__" and function.class_id:  # what its instances return
                    made.append(function.class_id.rpartition(".")[2])
                for result in (
                    function.returns,
                    function.yields_annotation,
                    *function.returned,
                    *function.yielded,
                ):
                    for leaf in self.leaves(result):
                        aliases[leaf].extend(made)
                for site in function.calls:
                    for value in [*site.args, *(value for _, value in site.keywords)]:
                        for leaf in self.leaves(value):
                            passing[leaf].append(site)
        pending = [("name", name) for name in self.names]
        while pending:
            leaf = pending.pop()
            for name in aliases.get(leaf, ()):
                if name not in self.names:
                    self.names.add(name)
                    pending.append(("name", name))
            for site in passing.get(leaf, ()):
                receiver = project._call_target(site)
                if receiver is not None and receiver not in self.receivers:
                    self.receivers.add(receiver)
                    pending.append(("param", receiver))

    def touches(self, symbol: Sym | None) -> bool:
        """Whether ``symbol`` is built on one of the names, or on a receiver's parameter."""
        return any(
            value in (self.names if kind == "name" else self.receivers)
            for kind, value in self.leaves(symbol)
        )

    def leaves(self, symbol: Sym | None) -> list[tuple[str, str]]:
        """("name", last name) for every name a symbol may stand for, ("param", function id)
        for every parameter of a function it takes from that function's callers."""
        if symbol is None:
            return []
        if symbol[0] == "ref":
            return [("name", symbol[1].rpartition(".")[2])]
        if symbol[0] == "near":
            return [("name", symbol[2].rpartition(".")[2])]
        if symbol[0] in ("funckey", "classkey"):
            return [("name", symbol[1].partition("#")[0].rpartition(".")[2])]
        if symbol[0] == "attr":
            return [("name", symbol[2])]
        if symbol[0] == "param":
            return [("param", symbol[1])]
        if symbol[0] in ("either", "annotated"):
            return [*self.leaves(symbol[1]), *self.leaves(symbol[2])]
        if symbol[0] in ("inst", "dep", "managed") or (symbol[0] == "call" and self.through_calls):
            return self.leaves(symbol[1])
        return []  # a library's item or path (``item``, ``div``); a call's result is an instance
