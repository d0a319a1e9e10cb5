"""Which files depends-to-annotated gathers besides those naming ``fastapi``.

The index reads other modules of the project for these facts; each rule asks the engine
for every file that could hold one (see ``Codemod.more_to_gather``), round after round,
until nothing new is wanted:

- where a dependency is defined, through re-exports (its return type, its class, the class
  of an instance): every module on the way (`_Rules._resolve`);
- existing aliases: they call ``Depends``, so their files name ``fastapi`` (first round);
- who calls a rewritten function (`Project.calls_of`): a call it resolves to the function,
  or one it cannot resolve but counts as one (`f(...)` where ``f`` may be it: in a module
  importing from one that offers it), imports from a module of the function's re-export
  chain (`Resolver.offered`): that import holds the module's own name and the name called
  (inside a package, `from . import name` holds the name alone); modules joining the
  chain are found the same way, star-importers by the module's name alone (where calls
  count by name); every module such a call resolves through is asked for; methods are
  called on instances that go anywhere: their name alone;
- whether a module imports a name from a rewritten one (its imports then stay): that
  import holds the name and the module's own name;
- the import graph behind the cycle check: every module that importing an alias, a type
  or a dependency may load, and everything those import in turn;
- which top-level packages are the project's own (import grouping, and calls into the
  project that do not resolve): the top-level module of every name a gathered file imports
  or calls.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

from fastapi_fix.codemods.depends_to_annotated.facts import (
    Definition,
    FastapiDefault,
    FileFacts,
    FunctionFacts,
    TypeExpr,
    in_fastapi,
)
from fastapi_fix.codemods.depends_to_annotated.index import (
    Chain,
    ProjectResolver,
    converting_params,
    import_words,
    losing_params,
    star_position,
)
from fastapi_fix.engine.codemod import SourceFile, Wanted
from fastapi_fix.project.fastapi import (
    DEPENDENCY_FUNCTIONS,
    FASTAPI_PARAM_MODULES,
    PARAM_FUNCTIONS,
)
from fastapi_fix.project.resolver import Value
from fastapi_fix.project.symbols import Sym

ANY = "typing.Any"
ANNOTATED_OR_ANY = ("typing.Annotated", "typing_extensions.Annotated", ANY)
# What the index may import into any module: Annotated, Any, Depends/Security.
ALWAYS_IMPORTABLE = (
    *ANNOTATED_OR_ANY,
    *(f"fastapi.{name}" for name in sorted(DEPENDENCY_FUNCTIONS)),
)


def more_to_gather(facts: Mapping[SourceFile, FileFacts]) -> Wanted:
    return _Rules(facts).wanted()


def _prefixes(dotted: str) -> Iterable[str]:
    """``a.b.c`` → ``a``, ``a.b``, ``a.b.c``."""
    parts = dotted.split(".")
    return (".".join(parts[:end]) for end in range(1, len(parts) + 1))


def _last(dotted: str) -> str:
    return dotted.rpartition(".")[2]


def _head(dotted: str) -> str:
    return dotted.partition(".")[0]


@dataclass
class _Key:
    """A function or class (module, name) whose calls the index reads, and how."""

    importers: bool = False  # calls through imports: resolved, or counted by name
    star_importers: bool = False  # ... and through star imports (calls counted by name)

    def read(self, importers: bool, star_importers: bool) -> None:
        self.importers |= importers
        self.star_importers |= star_importers


class _Rules:
    """One round's questions: what the facts gathered so far leave open."""

    def __init__(self, facts: Mapping[SourceFile, FileFacts]) -> None:
        self.files = list(facts.values())
        # For resolving names. Two files of one module name (discovery keeps them apart, but
        # a caller may not) resolve to neither in the index: following one only asks more.
        self.modules = {file_facts.module: file_facts for file_facts in self.files}
        self.packages = {file_facts.module: file_facts.is_package for file_facts in self.files}
        self.names: set[str] = set()
        self.wanted_modules: set[str] = set()
        self.together: set[frozenset[str]] = set()
        self.within: set[tuple[str, frozenset[str]]] = set()
        self.resolver = _RecordingResolver(facts, self.wanted_modules)

    def wanted(self) -> Wanted:
        self._project_packages()
        self._fastapi_itself()
        self._callers()
        self._import_graph()
        return Wanted(
            frozenset(self.names),
            frozenset(self.wanted_modules),
            frozenset(self.together),
            frozenset(self.within),
        )

    # -- resolving names the way `Project.resolve` does, asking for each module on the way --

    def _ask(self, dotted: str) -> None:
        self.wanted_modules.update(_prefixes(dotted))

    def _resolve(self, qualified: str) -> tuple[str, str] | None:
        """`Project.resolve` on the facts so far, asking for every module it reads."""
        return self.resolver.located(qualified)

    def _definition(self, qualified: str | None) -> tuple[str, str, Definition] | None:
        return self.resolver.definition(qualified)

    # -- which top-level packages are the project's ---------------------------------------

    def _project_packages(self) -> None:
        """`Project.first_party` holds the top-level module of every project file; the index
        asks it about names the gathered files import or call, and about Annotated, Any and
        Depends. A top-level package is a file of its own (its ``__init__.py``)."""
        tops = {_head(name) for name in ALWAYS_IMPORTABLE}
        for file_facts in self.files:
            tops.update(_head(module) for module in file_facts.runtime_imports)
            tops.update(_head(call.target) for call in file_facts.calls if call.target)
        self.wanted_modules.update(tops)

    def _fastapi_itself(self) -> None:
        """In a project holding FastAPI's own package, its modules reach the parameter
        functions through relative imports, without naming ``fastapi``: they name them."""
        if any(in_fastapi(module) for module in self.modules):
            self.names.update(PARAM_FUNCTIONS)

    # -- who calls a function whose signature changes, who imports from its module -----------

    def _callers(self) -> None:
        keys: dict[tuple[str, str], _Key] = {}
        for file_facts in self.files:
            if file_facts.functions:
                self._removable_importers(file_facts)
                for function in file_facts.functions:
                    self._function_callers(file_facts.module, function, keys)
        # Names under which a key may be imported or called: its own, and its aliases.
        words: set[str] = set()
        for (module, name), key in keys.items():
            chain = self.resolver.offered(module, _head(name))
            words.update((_head(name), _last(name)), *chain.values())
            if key.importers:
                self._importers(chain, _last(name) if "." in name else None)
            if key.star_importers:
                for offerer in chain:
                    self._star_importers(offerer)
        # Resolving a call (`Project._index_calls`) asks for every module on the way.
        for file_facts in self.files:
            for call in file_facts.calls:
                if call.target and (
                    call.name in words or not words.isdisjoint(call.target.split("."))
                ):
                    self.resolver.resolve(("ref", call.target))

    def _function_callers(
        self, module: str, function: FunctionFacts, keys: dict[tuple[str, str], _Key]
    ) -> None:
        """Mirrors `Planner._verdict` and `Project.calls_of`: which calls of ``function`` it reads."""
        converting = converting_params(function)
        if not converting:
            return
        star_at = star_position(function)
        if star_at is not None and any(p.kind == "vararg" for p in function.params):
            return
        needs_star, loses_defaults = star_at is not None, bool(losing_params(converting))
        if function.kind == "function" and (needs_star or loses_defaults):
            keys.setdefault((module, function.name), _Key()).read(
                importers=True, star_importers=needs_star
            )
        elif function.kind == "method" and function.qualified:
            rest = function.qualified[len(module) + 1 :]
            if needs_star:
                # `x.method(...)` anywhere (an instance goes anywhere), `Class.method(...)`
                # (resolved: the words tell which modules to ask for on the way), and
                # files this Python cannot parse that say `method(`.
                self.names.add(function.name)
                keys.setdefault((module, rest), _Key())
            if function.name == "__init__" and (needs_star or loses_defaults):
                cls = rest.rpartition(".")[0]
                keys.setdefault((module, cls), _Key()).read(
                    importers=True, star_importers=needs_star
                )
        # nested functions: only their own file calls them

    def _importers(self, chain: Chain, inner: str | None) -> None:
        """Files that import from a module of ``chain``: a call the index resolves to the key
        goes through one, and so does a call it cannot resolve but counts as one.
        ``inner``: the class a call names when the key is a class inside a class (`Inner(...)`).
        """
        for offerer, names in chain.items():
            self._imported_from(offerer, {*names, inner} if inner else names)

    def _imported_from(self, module: str, names: Iterable[str]) -> None:
        """Files that may take one of ``names`` from ``module`` (or call it after importing
        from it): the import holds the name and the words of the module's name that
        `import_words` says it holds where the file is (``from a.b import name`` anywhere,
        ``from .b import name`` inside package ``a``, ``from . import name`` inside ``a.b``)."""
        names = list(names)
        for scope, parts in import_words(module, self.packages.get(module, False)):
            for name in names:
                self._words_in(scope, frozenset({name, *parts}))

    def _star_importers(self, module: str) -> None:
        """Files that may star-import ``module``: `from <module> import *` holds the words of its
        name, as `import_words` says (`from . import *` inside its own package: not looked for)."""
        for scope, parts in import_words(module, False):
            if parts:
                self._words_in(scope, frozenset(parts))

    def _words_in(self, scope: str | None, group: frozenset[str]) -> None:
        if scope is None:
            self.together.add(group)
        else:
            self.within.add((scope, group))

    def _removable_importers(self, file_facts: FileFacts) -> None:
        """`Planner._removable`: an import that a rewrite leaves unused stays when another
        module imports that name from this one, `from <module> import name`, which holds both
        words. `Depends` and `Security` are asked about in every module (an alias replaces
        them; `Query` and the others stay inside the Annotated); the dependency and its type
        not in a package, which keeps those anyway."""
        wanted: set[str | None] = set()
        for function in file_facts.functions:
            for param in function.params:
                fastapi_default = param.fastapi
                if fastapi_default is None or fastapi_default.function not in DEPENDENCY_FUNCTIONS:
                    continue
                wanted.update(
                    f"{home}.{fastapi_default.function}" for home in FASTAPI_PARAM_MODULES
                )
                if not file_facts.is_package:
                    if fastapi_default.dependency:
                        wanted.update(_prefixes(fastapi_default.dependency))
                    wanted.update(_roots(fastapi_default.annotation))
        self._imported_from(
            file_facts.module,
            [
                local
                for local, binding in file_facts.bindings.items()
                if binding.kind == "from" and binding.source and binding.qualified in wanted
            ],
        )

    # -- the import graph the cycle check walks ---------------------------------------------

    def _import_graph(self) -> None:
        """`Project.can_import(importer, name)` walks the import graph from each project
        module ``name`` loads, unless the importer imports that module already: those
        modules, and everything they import in turn, are asked for."""
        starts: list[str] = []
        for importer, names in self._imports():
            direct = self._direct(importer)
            for name in names:
                self._ask(name)
                starts.extend(
                    prefix
                    for prefix in _prefixes(name)
                    if prefix in self.modules and prefix != importer.module and prefix not in direct
                )
        seen = set(starts)
        while starts:
            for imported in self.modules[starts.pop()].runtime_imports:
                self._ask(imported)
                for prefix in _prefixes(imported):
                    if prefix in self.modules and prefix not in seen:
                        seen.add(prefix)
                        starts.append(prefix)

    @staticmethod
    def _direct(importer: FileFacts) -> set[str]:
        """The modules ``importer`` imports when it runs (with their packages): `Project._edges`."""
        return {prefix for imported in importer.runtime_imports for prefix in _prefixes(imported)}

    def _imports(self) -> Iterator[tuple[FileFacts, set[str]]]:
        """Each module the index may write names into (importing them if need be), with those
        names: Annotated and Any anywhere; for a Depends/Security parameter, its alias
        (defined in the dependency's module), the alias's type and ``Depends`` there, and
        the dependency's return type where the parameter has no annotation."""
        existing = defaultdict(set)  # dependency (module, name) → its aliases
        for file_facts in self.files:
            for alias in file_facts.aliases:
                dependency = self._resolve(alias.dependency)
                if dependency is not None:
                    existing[dependency].add(f"{file_facts.module}.{alias.name}")
        wanted: dict[int, tuple[FileFacts, set[str]]] = {}  # by id: facts hold dicts, unhashable
        for file_facts in self.files:
            if not file_facts.functions:
                continue
            wanted.setdefault(id(file_facts), (file_facts, set()))[1].update(ANNOTATED_OR_ANY)
            for function in file_facts.functions:
                for param in function.params:
                    fastapi_default = param.fastapi
                    if (
                        fastapi_default is not None
                        and fastapi_default.function in DEPENDENCY_FUNCTIONS
                    ):
                        for importer, name in self._dependency_imports(
                            file_facts, fastapi_default, existing
                        ):
                            wanted.setdefault(id(importer), (importer, set()))[1].add(name)
        return iter(wanted.values())

    def _dependency_imports(
        self,
        user: FileFacts,
        fastapi_default: FastapiDefault,
        existing: Mapping[tuple[str, str], set[str]],
    ) -> Iterator[tuple[FileFacts, str]]:
        """What a Depends/Security parameter may make the index import, and where."""
        found = self._definition(fastapi_default.dependency)
        type_names = self._dependency_type_names(found, fastapi_default.dependency_call)
        if fastapi_default.annotated:
            alias_type = set(_roots(fastapi_default.annotation))
        else:
            yield from ((user, name) for name in type_names)  # the type it now gets
            alias_type = {*type_names, ANY}
        if found is None:
            return  # no alias without a dependency the index can find
        module, dependency, _ = found
        home = self.modules[module]  # where a new alias goes
        yield user, module
        yield from ((user, alias) for alias in existing.get((module, dependency), ()))
        yield from (
            (home, name)
            for name in (*alias_type, *ANNOTATED_OR_ANY, f"fastapi.{fastapi_default.function}")
        )

    def _dependency_type_names(
        self, found: tuple[str, str, Definition] | None, dependency_call: str | None
    ) -> set[str]:
        """Mirrors `Planner._dependency_type`: the names its type is written with."""
        if found is None:
            return self._call_type_names(dependency_call)
        module, name, definition = found
        if definition.kind == "function":
            return set(_roots(definition.returns))
        if definition.kind == "class":
            return {f"{module}.{name}"}
        return self._call_type_names(definition.instance_of)

    def _call_type_names(self, cls: str | None) -> set[str]:
        found = self._definition(cls)
        if found is None or found[2].kind != "class":
            return set()
        return set(_roots(found[2].returns))


class _RecordingResolver(ProjectResolver):
    """A `ProjectResolver` that writes down, in ``wanted``, the modules its lookups read:
    every prefix of each name it resolves (the longest one that is a module wins), the
    submodule each member may be, the modules each star import may take a name from."""

    def __init__(self, facts: Mapping[SourceFile, FileFacts], wanted: set[str]) -> None:
        super().__init__(facts)
        self.wanted = wanted

    def offered(self, module: str, name: str) -> dict[str, set[str]]:
        # Its links come from every module at hand, and ask for none: the words of
        # `_Rules._importers` find the files that join the chain.
        wanted, self.wanted = self.wanted, set()
        try:
            return super().offered(module, name)
        finally:
            self.wanted = wanted

    def _resolve_name(self, dotted: str) -> Value | None:
        self.wanted.update(_prefixes(dotted))
        return super()._resolve_name(dotted)

    def defined_at(self, dotted: str, depth: int = 0) -> tuple[str, str] | None:
        self.wanted.update(_prefixes(dotted))
        return super().defined_at(dotted, depth)

    def _symbol_of(self, module: str, name: str) -> Sym | None:
        self._looked_in(module, name)
        return super()._symbol_of(module, name)

    def _module_member(self, module: str, name: str) -> Value | None:
        self._looked_in(module, name)
        return super()._module_member(module, name)

    def _looked_in(self, module: str, name: str) -> None:
        self.wanted.add(f"{module}.{name}")
        self.wanted.update(self.modules[module].star_imports)


def _roots(type_expr: TypeExpr | None) -> Iterable[str]:
    return (qualified for _, qualified in type_expr.roots) if type_expr else ()
