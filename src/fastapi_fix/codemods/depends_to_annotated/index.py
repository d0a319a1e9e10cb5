"""Index step of depends-to-annotated: what the whole project decides for each file.

Resolves dependencies and calls across modules through the project's shared resolver
(`ProjectResolver`: `fastapi_fix.project.resolver` with this codemod's import rules on
top), checks how each function is called, picks the type of unannotated parameters, and
plans aliases: where each is defined, how each module names it, and which imports that
takes without adding an import cycle.

Files the run will not write (`FixedPoints`: not named, excluded, read-only, ...) are planned
around here, never patched afterwards: a new alias is only defined next to a dependency whose
file will be written, and only the uses in files that will be written count towards sharing
one. A dependency in a fixed file is written out in full where it is used,
``Annotated[Session, Depends(get_db)]``, as for a dependency in a file nobody could read
(``@generated``, unparsed). (Moving the alias to another, writable module instead would put
it where no one looks for it, and could add an import cycle.) A file that imports an alias
defined by this run's rewrite of another file requires that file (``ParamPlan.alias_provider``):
the engine writes the two together or neither.
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from fastapi_fix.codemods._build import is_module_path
from fastapi_fix.codemods.depends_to_annotated.facts import (
    ANNOTATED,
    ANY_TYPE,
    CallSite,
    Definition,
    FastapiDefault,
    FileFacts,
    FunctionFacts,
    ParamFacts,
    TypeExpr,
)
from fastapi_fix.engine.codemod import NO_FIXED_POINTS, FixedPoints, SourceFile
from fastapi_fix.engine.files import words_of
from fastapi_fix.project.fastapi import (
    DEPENDENCY_FUNCTIONS,
    FASTAPI_PARAM_MODULES,
    param_function,
    walk,
)
from fastapi_fix.project.resolver import Resolver, Value
from fastapi_fix.project.symbols import CallSite as SymbolCall
from fastapi_fix.project.symbols import FunctionFacts as SymbolFunction
from fastapi_fix.project.symbols import Sym

Import = tuple[str, str]  # from <module> import <name>
MAX_PLACES = 3


@dataclass(frozen=True)
class ParamPlan:
    name: str
    function: str  # Depends, Query, ...
    func_code: str
    mode: str  # see FastapiDefault.mode
    extend: bool
    leave: str | None = None
    type_code: str | None = None  # unannotated: the type to write
    type_imports: tuple[Import, ...] = ()
    alias: str | None = None  # how this module names the alias to use instead
    alias_imports: tuple[Import, ...] = ()
    # The file whose rewrite defines that alias (a new one, in another file): both or neither.
    alias_provider: Path | None = None
    line: int = 0  # of the parameter's name
    column: int = 0  # of the parameter's name, in UTF-8 bytes
    uses: tuple[tuple[str, int], ...] = ()  # see ParamFacts.uses


@dataclass(frozen=True)
class FunctionPlan:
    params: tuple[ParamPlan, ...]
    # Index among the positional parameters where a bare `*` goes, if the rewrite needs one.
    star_at: int | None


@dataclass(frozen=True)
class AliasDefinition:
    name: str
    after: str  # the top-level definition it follows
    line: int  # where that definition ends
    code: str
    imports: tuple[Import, ...]


@dataclass(frozen=True)
class FilePlan:
    functions: Mapping[str, FunctionPlan]
    aliases: tuple[AliasDefinition, ...]
    annotated: str | None  # how to write Annotated here; None when the name is taken
    annotated_imports: tuple[Import, ...]
    # Imports (module, name, asname) to drop if a rewrite to aliases leaves them unused.
    removable: tuple[tuple[str, str, str | None], ...]
    first_party: frozenset[str]
    # (line, column, message) of parameters outside any def that are left as they are
    left: tuple[tuple[int, int, str], ...] = ()
    # Local name of each removable import → how often the module uses it (FileFacts.name_uses).
    name_uses: Mapping[str, int] = field(default_factory=dict)
    # FastAPI's parameter functions imported at the top (module, name, asname), no other
    # module importing them from here: dropped when the rewritten module no longer uses them.
    fastapi_imports: tuple[tuple[str, str, str | None], ...] = ()


@dataclass(frozen=True)
class Index:
    files: Mapping[Path, FilePlan]
    unparsed: frozenset[Path] = frozenset()


@dataclass(frozen=True)
class _Call:
    site: CallSite
    offset: int  # arguments the call binds before its own (self, cls)
    resolved: bool  # known to call this very function (not just a function of that name)


@dataclass
class _Use:
    """A Depends/Security parameter an alias could replace."""

    module: str
    function: FunctionFacts
    param: ParamFacts
    type: TypeExpr


def module_in(modules: Mapping[str, FileFacts], dotted: str) -> str | None:
    """The longest prefix of ``dotted`` that is one of ``modules``."""
    parts = dotted.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in modules:
            return candidate
    return None


class ProjectResolver(Resolver[SymbolFunction]):
    """The project's shared `Resolver`, over the module facts every file's facts embed, with
    depends-to-annotated's two rules about imports on top: a name a module's branches import
    from different places (``try:``/``except ImportError:``) is unknown, and a name imported
    only under ``if TYPE_CHECKING:`` is not there when the module runs."""

    def __init__(self, facts: Mapping[SourceFile, FileFacts]) -> None:
        super().__init__({file: f.symbols for file, f in facts.items() if f.symbols})
        self.files = {f.module: f for f in facts.values()}

    def _symbol_of(self, module: str, name: str) -> Sym | None:
        symbol = super()._symbol_of(module, name)
        facts = self.files.get(module)
        if facts is not None and name not in facts.definitions:
            binding = facts.bindings.get(name)
            if binding is not None and binding.qualified is None:
                return None  # bound differently on different paths (`Binding`)
            if binding is None and symbol is not None and symbol[0] in ("ref", "near"):
                return None  # an import the module does not run (TYPE_CHECKING)
        return symbol

    def definition(self, qualified: str | None) -> tuple[str, str, Definition] | None:
        """Where ``qualified`` is defined, and what it is, if it is one unambiguous
        top-level definition (def, class, ``name = Callee(...)``)."""
        found = self.defined_at(qualified) if qualified else None
        if found is None or "." in found[1]:
            return None
        module, name = found
        definition = self.files[module].definitions.get(name)
        return None if definition is None or definition.ambiguous else (module, name, definition)

    def located(self, qualified: str) -> tuple[str, str] | None:
        """(module, rest) where ``qualified`` is defined (`Resolver.defined_at`), when that is
        one of the module's definitions (``Class.method``, ``instance.method`` included)."""
        found = self.defined_at(qualified)
        if found is None or found[1].partition(".")[0] not in self.files[found[0]].definitions:
            return None
        return found

    def on_instance(self, qualified: str) -> bool:
        """Whether a call of ``qualified`` is made on an instance (so binds ``self``)."""
        receiver = qualified.rpartition(".")[0]
        value = self.resolve(("ref", receiver)) if receiver else None
        return value is not None and value[0] == "inst"

    def location(self, value: Value | None) -> tuple[str, str] | None:
        """(module, qualified name there) of a project function or class."""
        if value is None:
            return None
        if value[0] == "func" and value[1] in self.function_facts:
            function = self.function_facts[value[1]]
            module = function.key[: len(function.key) - len(function.qualname) - 1]
            return (module, function.qualname) if module in self.files else None
        if value[0] == "class" and value[1] in self.classes:
            owner = module_in(self.files, value[1])
            return (owner, value[1][len(owner) + 1 :]) if owner else None
        return None


class Project:
    """The modules of the project and how they import and call each other."""

    def __init__(
        self, facts: Mapping[SourceFile, FileFacts], unparsed: Sequence[SourceFile]
    ) -> None:
        # Module names are distinct: the project model gives each file its own
        # (`fastapi_fix.project.modules`), two services' `main.py` included.
        self.keys = {file: file.module_name for file in facts}
        self.modules = {self.keys[file]: module_facts for file, module_facts in facts.items()}
        self.first_party = frozenset(m.partition(".")[0] for m in self.modules)
        self.unparsed = list(unparsed)
        self._unparsed_data: list[tuple[SourceFile, bytes | None, frozenset[bytes]]] | None = None
        self._edges: dict[str, set[str]] = {
            m: self._imported(f.runtime_imports) for m, f in self.modules.items()
        }
        self._reach: dict[str, set[str]] = {}
        self._shared = ProjectResolver(facts)
        # (module, qualified name) → the calls resolving to it, each with whether it is made
        # on an instance (``service.method(...)`` binds ``self``).
        self._by_target: dict[tuple[str, str], list[tuple[CallSite, bool]]] = defaultdict(list)
        self._by_name: dict[str, list[CallSite]] = defaultdict(list)
        for module_facts in facts.values():
            self._index_calls(module_facts.calls)
        self.reexported = {
            (module, name) for f in facts.values() for module, name in f.from_imports
        }
        self._chains: dict[tuple[str, str], Chain] = {}
        self._imported_by_path = {f.display_path: f.imported_modules for f in facts.values()}
        self._sites: dict[tuple[str, int | None, str], list[SymbolCall]] | None = None

    # -- names and modules ---------------------------------------------------------------

    def module_of(self, dotted: str) -> str | None:
        """The longest prefix of ``dotted`` that is a module of the project."""
        return module_in(self.modules, dotted)

    def resolve(self, qualified: str) -> tuple[str, str] | None:
        """(module, name) where ``qualified`` is defined, following re-exports."""
        return self._shared.located(qualified)

    def definition(self, qualified: str | None) -> tuple[str, str, Definition] | None:
        return self._shared.definition(qualified)

    # -- the import graph ----------------------------------------------------------------

    def _imported(self, dotted_names: Iterable[str]) -> set[str]:
        """Project modules that importing these names loads (with their parent packages)."""
        loaded = set()
        for dotted in dotted_names:
            parts = dotted.split(".")
            for end in range(1, len(parts) + 1):
                candidate = ".".join(parts[:end])
                if candidate in self.modules:
                    loaded.add(candidate)
        return loaded

    def _reachable(self, start: str) -> set[str]:
        if start not in self._reach:
            seen, todo = {start}, [start]
            while todo:
                for following in self._edges.get(todo.pop(), ()):
                    if following not in seen:
                        seen.add(following)
                        todo.append(following)
            self._reach[start] = seen
        return self._reach[start]

    def can_import(self, importer: str, *dotted_names: str) -> bool:
        """Whether ``importer`` may import these names without creating an import cycle.

        A module it already imports adds no edge; any other project module is fine as long
        as it does not (even indirectly) import ``importer`` back.
        """
        direct = self._edges.get(importer, set())
        for module in self._imported(dotted_names):
            if module != importer and module not in direct and importer in self._reachable(module):
                return False
        return True

    # -- calls -----------------------------------------------------------------------------

    def _index_calls(self, calls: Iterable[CallSite]) -> None:
        for call in calls:
            value = self._shared.resolve(("ref", call.target)) if call.target else None
            where = self._shared.location(value)
            if where is not None:
                assert call.target is not None
                self._by_target[where].append((call, self._shared.on_instance(call.target)))
            elif value is not None and value[0] != "ext":
                pass  # a library object's method (`router.get`), or no function at all
            elif call.target is None or call.target.partition(".")[0] in self.first_party:
                self._by_name[call.name].append(call)
            # else: a library function, which cannot be ours

    def chain(self, module: str, name: str) -> Chain:
        """The modules a caller may take ``module.name`` from (`Resolver.offered`)."""
        key = (module, name)
        if key not in self._chains:
            self._chains[key] = self._shared.offered(module, name)
        return self._chains[key]

    def calls_of(self, module: str, display_path: str, function: FunctionFacts) -> Iterator[_Call]:
        """Every call that may reach ``function``: exactly when names resolve, else by name
        where a name can lead to it."""
        if function.kind == "function":
            yield from (
                _Call(c, 0, True) for c, _ in self._by_target.get((module, function.name), [])
            )
            yield from (
                _Call(c, 0, False)
                for c in self._reaching_by_name(module, display_path, function.name)
            )
            for where in self._unparsed_reaching(self.chain(module, function.name)):
                yield _Call(_unparsed_call(where, function.name), 0, False)
        elif function.kind == "method":
            if function.qualified:
                rest = function.qualified[len(module) + 1 :]
                # C.method(obj, ...) passes self itself; C.classmethod(...) binds cls;
                # service.method(...) on an instance binds self.
                yield from (
                    _Call(c, function.offset if bound else 0, False)
                    for c, bound in self._by_target.get((module, rest), [])
                )
                if function.name == "__init__":
                    cls = rest.rpartition(".")[0]
                    yield from (
                        _Call(c, 1, True) for c, _ in self._by_target.get((module, cls), [])
                    )
                    yield from (
                        _Call(c, 1, False)
                        for c in self._reaching_by_name(module, display_path, cls)
                    )
            # An instance goes anywhere: `x.method(...)` may be this method in any module,
            # but `super().method(...)` only in the classes this one follows.
            yield from (
                _Call(c, function.offset, False)
                for c in self._by_name.get(function.name, [])
                if c.attribute and not self._super_elsewhere(c, function)
            )
            for where in self._unparsed_mentions(function.name):
                yield _Call(_unparsed_call(where, function.name), 0, False)
        else:  # nested: bound only inside its function
            yield from (
                _Call(c, 0, False)
                for c in self._by_name.get(function.name, [])
                if not c.attribute and c.where.startswith(f"{display_path}:")
            )

    def _super_elsewhere(self, call: CallSite, method: FunctionFacts) -> bool:
        """Whether ``call`` is ``super().name(...)`` (each call of that name on its line) in
        a class whose ``super()`` cannot reach ``method``: the class after it in its own
        order defines another, and no project class puts ``method``'s class after it."""
        sites = self._symbol_sites().get((call.path, call.line, call.name))
        if not sites or method.qualified is None or self._shared_name(method.qualified):
            return False
        resolver = self._resolver()
        owner = method.qualified.rpartition(".")[0]
        for site in sites:
            callee = site.callee
            if callee is None or callee[0] != "attr" or callee[1] is None:
                return False
            receiver = resolver.resolve(callee[1]) if callee[1][0] == "super" else None
            if receiver is None or receiver[0] != "super":
                return False
            target = resolver.member(receiver, call.name)
            if target is None or target == ("func", method.qualified):
                return False
            if resolver.follows(receiver[1], owner):
                return False  # cooperative multiple inheritance: it may be this one
        return True

    def _shared_name(self, qualified: str) -> bool:
        """Whether the module of ``qualified`` is one several files claim (then the shared
        resolver cannot tell their functions apart)."""
        module = self.module_of(qualified)
        return module is None or module in self._shared.shared_names

    def _symbol_sites(self) -> dict[tuple[str, int | None, str], list[SymbolCall]]:
        """(display path, line, callee's last name) → the calls the shared walk recorded."""
        if self._sites is None:
            self._sites = defaultdict(list)
            for facts in self.modules.values():
                for function in facts.symbols.functions if facts.symbols else ():
                    for site in function.calls:
                        self._sites[(facts.display_path, site.line, site.name)].append(site)
        return self._sites

    def _resolver(self) -> Resolver[SymbolFunction]:
        return self._shared

    def _reaching_by_name(self, module: str, display_path: str, name: str) -> Iterator[CallSite]:
        """Calls ``f(...)`` the index cannot resolve that may still call ``module.name``
        (``Outer.Inner`` for a nested class): in its own module, or in a module importing one
        that offers it (star imports too), under any name it goes by there. A bare
        ``list(...)`` in a module that imports none of them cannot be it.
        """
        head, _, rest = name.partition(".")
        last = name.rpartition(".")[2]
        chain = self.chain(module, head)
        offering: dict[str, set[str]] = defaultdict(set)  # called name → modules offering it
        for offerer, names in chain.items():
            for offered in names if not rest else (last,):
                offering[offered].add(offerer)
        for called in sorted(offering, key=lambda n: (n != last, n)):
            modules = offering[called]
            for call in self._by_name.get(called, []):
                if not call.attribute and (
                    (called == last and call.path == display_path)
                    or not modules.isdisjoint(self._imported_by_path.get(call.path, ()))
                ):
                    yield call

    def _read_unparsed(self) -> list[tuple[SourceFile, bytes | None, frozenset[bytes]]]:
        if self._unparsed_data is None:
            self._unparsed_data = []
            for file in self.unparsed:
                try:
                    data: bytes | None = file.path.read_bytes()
                except OSError:
                    data = None
                self._unparsed_data.append((file, data, words_of(data or b"")))
        return self._unparsed_data

    def _unparsed_mentions(self, name: str) -> Iterator[str]:
        """Files this Python cannot parse that may call ``name`` (unreadable ones: assume so)."""
        needle = f"{name}(".encode()
        for file, data, _ in self._read_unparsed():
            if data is None or needle in data:
                yield f"{file.display_path} (not parsed by this Python)"

    def _unparsed_reaching(self, chain: Chain) -> Iterator[str]:
        """Files this Python cannot parse that may call a function through ``chain``: they hold
        a name it goes by there and the words an import of that module holds where the file
        is (`import_words`). Unreadable ones: assume so."""
        for file, data, words in self._read_unparsed():
            if data is None or any(
                any(holds_word(data, words, name) for name in names)
                and any(
                    _inside(file.module_name, package)
                    and all(holds_word(data, words, w) for w in needed)
                    for package, needed in import_words(offerer, self._is_package(offerer))
                )
                for offerer, names in chain.items()
            ):
                yield f"{file.display_path} (not parsed by this Python)"

    def _is_package(self, module: str) -> bool:
        facts = self.modules.get(module)
        return facts is not None and facts.is_package


def _inside(module_name: str, package: str | None) -> bool:
    return package is None or module_name == package or module_name.startswith(f"{package}.")


def _unparsed_call(where: str, name: str) -> CallSite:
    """A call we cannot see: it might pass anything."""
    return CallSite(where, None, None, name, False, 0, True, (), True)


# -- re-exports ----------------------------------------------------------------------------

Chain = dict[str, set[str]]  # module → the names it offers one function (or class) under


def import_words(module: str, is_package: bool) -> Iterator[tuple[str | None, tuple[str, ...]]]:
    """Where an import of ``module`` (or of a name from it) can be, and the words of the
    module's name it then holds: anywhere, all (``from a.b.c import x``); inside package
    ``a``, at least ``b`` and ``c`` (``from .b.c import x``); ...; inside ``a.b``, ``c``
    (``from . import c``); inside a package itself, none (``from . import x``)."""
    parts = module.split(".")
    for depth in range(len(parts)):
        yield ".".join(parts[:depth]) or None, tuple(parts[depth:])
    if is_package:
        yield module, ()


def holds_word(data: bytes | None, words: frozenset[bytes], name: str) -> bool:
    """Whether ``name`` is a word of the file; a name beyond ASCII, whether its bytes occur."""
    encoded = name.encode()
    return encoded in words if name.isascii() else data is not None and encoded in data


class _Names:
    """How each module can name things, and the imports it would take; reserves new names."""

    def __init__(self, project: Project) -> None:
        self.project = project
        # module → local name → qualified name, for names this run adds to the module
        self.added: dict[str, dict[str, str]] = defaultdict(dict)
        self._definitions: dict[str, tuple[str, str] | None] = {}  # see `defined_at`

    def taken(self, module: str, name: str) -> bool:
        facts = self.project.modules[module]
        return name in facts.identifiers or name in facts.bindings or name in self.added[module]

    def defined_at(self, qualified: str | None) -> tuple[str, str] | None:
        """Where a project name is defined (`Project.resolve`), remembered."""
        if qualified is None:
            return None
        if qualified not in self._definitions:
            self._definitions[qualified] = self.project.resolve(qualified)
        return self._definitions[qualified]

    def existing(self, module: str, qualified: str, before: int) -> str | None:
        """How ``module`` already names ``qualified`` at line ``before`` (``deps.get_db`` counts)."""
        facts = self.project.modules[module]
        usable = [
            (local, b) for local, b in facts.bindings.items() if b.qualified and b.line < before
        ]
        for local, binding in usable:
            if binding.qualified == qualified:
                return local
        defined = self.defined_at(qualified)
        for local, binding in usable:
            # The same definition, here or imported from a module re-exporting it: `class
            # User` or `from app.models import User` names `app.models.User` (re-exported).
            if (
                defined
                and binding.kind != "import"
                and self.defined_at(binding.qualified) == defined
            ):
                return local
            # A library's package exporting a name of its own submodule is a re-export:
            # `sqlalchemy.orm.Session` is `sqlalchemy.orm.session.Session`.
            if not defined and binding.kind == "from" and _one_export(binding.qualified, qualified):
                return local
        container = qualified.rpartition(".")[0]
        for local, binding in usable:
            assert binding.qualified is not None
            # `deps.X` for `from app import deps`; `app.deps.X` only if app.deps is imported.
            if (
                binding.kind != "local"
                and qualified.startswith(binding.qualified + ".")
                and (container == binding.qualified or container in facts.runtime_imports)
            ):
                return local + qualified[len(binding.qualified) :]
        name = qualified.rpartition(".")[2]
        if container == "builtins" and name not in facts.bindings:
            return name
        return None

    def ref(
        self, module: str, qualified: str, before: int
    ) -> tuple[str, tuple[Import, ...]] | None:
        """How ``module`` can write ``qualified`` in code at line ``before``: (code, imports)."""
        found = self.existing(module, qualified, before)
        if found is not None:
            return found, ()
        container, _, name = qualified.rpartition(".")
        if self.added[module].get(name) == qualified:
            return name, ((container, name),)
        if (
            not container
            or container == "builtins"
            or self.taken(module, name)
            or not is_module_path(container)  # a file name that is no module name
            or not self.project.can_import(module, container, qualified)
        ):
            return None
        self.added[module][name] = qualified
        return name, ((container, name),)

    def render(
        self, module: str, type_expr: TypeExpr, before: int
    ) -> tuple[str, tuple[Import, ...]] | None:
        """The type written with ``module``'s own names (importing what it lacks), or None."""
        tree = ast.parse(type_expr.code, mode="eval")
        meaning = dict(type_expr.roots)
        imports: list[Import] = []
        for node in walk(tree):
            if isinstance(node, ast.Name):
                found = self.ref(module, meaning[node.id], before)
                if found is None:
                    return None
                node.id = found[0]
                imports.extend(found[1])
        return ast.unparse(tree), tuple(imports)

    def annotated(self, module: str, modern: bool) -> tuple[str, tuple[Import, ...]] | None:
        """Reuse any Annotated or typing import; else import it from typing(_extensions)."""
        bindings = self.project.modules[module].bindings
        for local, binding in bindings.items():
            if binding.qualified in ANNOTATED:
                return local, ()
        home = "typing" if modern else "typing_extensions"
        has_from_import = any(
            b.kind == "from" and b.source and b.source[0] == home for b in bindings.values()
        )
        for local, binding in bindings.items():
            if binding.kind == "import" and binding.qualified == home and not has_from_import:
                return f"{local}.Annotated", ()
        return self.ref(module, f"{home}.Annotated", 1 << 30)

    def any_type(self, module: str, annotated: str) -> tuple[str, tuple[Import, ...]] | None:
        owner, _, _ = annotated.rpartition(".")
        if owner:  # `t.Annotated` → `t.Any`
            return f"{owner}.Any", ()
        return self.ref(module, "typing.Any", 1 << 30)


def converting_params(function: FunctionFacts) -> list[ParamFacts]:
    """The parameters a rewrite would change: with a FastAPI default, and nothing against it."""
    return [p for p in function.params if p.fastapi and not p.fastapi.leave]


def losing_params(converting: Sequence[ParamFacts]) -> list[ParamFacts]:
    """Converted parameters that lose their default: a call must then pass them."""
    return [p for p in converting if p.fastapi and p.fastapi.mode != "move"]


def star_position(function: FunctionFacts) -> int | None:
    """Where the rewrite needs a bare `*` among the positional parameters, if anywhere."""
    positional = function.positional
    keeps = [
        p.fastapi.mode == "move" if p.fastapi and not p.fastapi.leave else p.has_default
        for p in positional
    ]
    star_at = _first_violation(keeps)
    if star_at is None:
        return None
    return max(star_at, sum(1 for p in positional if p.kind == "posonly"))


def _first_violation(keeps_default: Sequence[bool]) -> int | None:
    """The first parameter with a default that a parameter without one follows."""
    for index, keeps in enumerate(keeps_default):
        if keeps and not all(keeps_default[index + 1 :]):
            return index
    return None


def _places(problems: Sequence[str]) -> str:
    shown = "; ".join(problems[:MAX_PLACES])
    more = len(problems) - MAX_PLACES
    return shown + (f" (and {more} more)" if more > 0 else "")


def _camel(name: str) -> str:
    """``get_current_user`` → ``CurrentUser``; ``items:read`` → ``ItemsRead``."""
    name = re.sub(r"^_*get_", "", name)
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[^0-9A-Za-z]+", name) if part)


def _one_export(first: str | None, second: str) -> bool:
    """``sqlalchemy.orm.Session`` and ``sqlalchemy.orm.session.Session``: the same last name,
    one from a package that holds the other's module (a library re-exporting its own name)."""
    if first is None:
        return False
    (one, _, name), (other, _, own) = first.rpartition("."), second.rpartition(".")
    return (
        bool(one and other)
        and name == own
        and (one.startswith(other + ".") or other.startswith(one + "."))
    )


def _prefixes(dotted: str | None) -> list[str]:
    """``a.b.c`` → ``a``, ``a.b``, ``a.b.c``: the names an import of it may bind."""
    parts = (dotted or "").split(".")
    return [".".join(parts[:end]) for end in range(1, len(parts) + 1)] if dotted else []


def _without_dep(name: str) -> str:
    """``ControlPlaneDep`` → ``ControlPlane``, so that the alias is not ``ControlPlaneDepDep``."""
    for suffix in ("Dependency", "Dep"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def _scope_words(group: _AliasGroup) -> str:
    """``Security(get_user, scopes=["items:read"])`` names its alias ``...ItemsReadDep``."""
    return "".join(_camel(scope) for scope in group.scopes)


@dataclass
class _AliasGroup:
    """Uses of one (dependency, type, extra arguments): what one alias would stand for."""

    dependency: tuple[str, str, Definition]
    function: str
    type: TypeExpr
    extras: tuple[str, str]
    scopes: tuple[str, ...]
    type_key: str  # `Planner._canonical_key`
    uses: list[_Use] = field(default_factory=list)


class Planner:
    def __init__(
        self,
        facts: Mapping[SourceFile, FileFacts],
        unparsed: Sequence[SourceFile],
        target_version: tuple[int, int] | None,
        aliases: bool,
        too_old_fastapi: Mapping[Path, str] | None = None,
        fixed: FixedPoints = NO_FIXED_POINTS,
    ) -> None:
        # The files whose project admits a FastAPI that ignores Annotated (→ where it says so):
        # nothing in them changes.
        self.too_old_fastapi = too_old_fastapi or {}
        self.project = Project(facts, unparsed)
        self.names = _Names(self.project)
        self.modern = target_version is None or target_version >= (3, 9)
        self.aliases = aliases
        self.files = {key: file for file, key in self.project.keys.items()}
        self.annotated: dict[str, tuple[str, tuple[Import, ...]] | None] = {}
        self.verdicts: dict[tuple[str, str], tuple[int | None, str | None]] = {}
        # (module, function key, param) → (alias code, imports)
        self.alias_uses: dict[tuple[str, str, str], tuple[str, tuple[Import, ...]]] = {}
        self.definitions: dict[str, list[AliasDefinition]] = defaultdict(list)
        self.fixed = fixed
        # (module, function key, param) → the file whose rewrite defines the alias it imports
        self.alias_providers: dict[tuple[str, str, str], Path] = {}
        # (dependency, function, extras) → uses of a project dependency no module read defines
        self.unresolved: dict[tuple[str, str, str], list[_Use]] = {}
        # module → (line, column, message) of dependencies used twice or more left without alias
        self.unmade: dict[str, list[tuple[int, int, str]]] = defaultdict(list)
        self._by_suffix: dict[str, str] | None = None  # see `_read_as`

    def plan(self) -> Index:
        for module, facts in sorted(self.project.modules.items()):
            if facts.functions:
                self.annotated[module] = self.names.annotated(module, self.modern)
                for function in facts.functions:
                    self.verdicts[module, function.key] = self._verdict(module, facts, function)
        self._plan_aliases()
        plans = {}
        for module, facts in self.project.modules.items():
            if facts.functions or facts.lambdas or self.definitions.get(module):
                plans[self.files[module].path] = self._file_plan(module, facts)
        return Index(plans, frozenset(f.path for f in self.project.unparsed))

    # -- can the signature change? ----------------------------------------------------------

    def _verdict(
        self, module: str, facts: FileFacts, function: FunctionFacts
    ) -> tuple[int | None, str | None]:
        """Where a bare `*` goes (if needed), and why the function must stay as it is (if so)."""
        converting = converting_params(function)
        if not converting:
            return None, None
        too_old = self.too_old_fastapi.get(self.files[module].path)
        if too_old:
            return (
                None,
                f"the project admits a FastAPI older than 0.95, which ignores Annotated ({too_old})",
            )
        star_at = star_position(function)
        if star_at is not None and any(p.kind == "vararg" for p in function.params):
            return None, "it would need a bare `*`, but the function has *args"
        index = {p.name: i for i, p in enumerate(function.positional)}
        losing = losing_params(converting)
        if star_at is None and not losing:
            return None, None  # no call can be a problem (so `gather` looks for none)
        problems = []
        for call in self.project.calls_of(module, facts.display_path, function):
            site = call.site
            given = site.positional + call.offset
            if star_at is not None and (site.starred or given > star_at):
                problems.append(f"called positionally at {site.where}")
            elif call.resolved and not (site.starred or site.double_star):
                missing = [
                    p.name
                    for p in losing
                    if index.get(p.name, 1 << 30) >= given and p.name not in site.keywords
                ]
                if missing:
                    problems.append(f"called without `{missing[0]}` at {site.where}")
        if problems:
            return star_at, f"`{function.name}` is {_places(problems)}"
        return star_at, None

    # -- aliases ---------------------------------------------------------------------------------

    def _dependency_type(self, fastapi_default: FastapiDefault) -> TypeExpr | None:
        found = self.project.definition(fastapi_default.dependency)
        if found is not None:
            module, name, definition = found
            if definition.kind == "function":
                return definition.returns or self._class_type(definition.constructs)
            if definition.kind == "class":
                return TypeExpr(name, ((name, f"{module}.{name}"),))
            return self._call_type(definition.instance_of)
        return self._call_type(fastapi_default.dependency_call)

    def _class_type(self, qualified: str | None) -> TypeExpr | None:
        """``UserManager`` when ``qualified`` is a class of the project: what an unannotated
        dependency that only ever returns (or yields) ``UserManager(...)`` gives."""
        found = self.project.definition(qualified)
        if found is None or found[2].kind != "class":
            return None
        module, name, _ = found
        return TypeExpr(name, ((name, f"{module}.{name}"),))

    def _dependency_definition(self, qualified: str | None) -> tuple[str, str, Definition] | None:
        """Where a dependency is defined: a top-level def or class, or a method of a module-level
        instance of a project class whose body defines it (``user_service.get_current_user``:
        the instance's definition, which an alias can follow: the method is there by then)."""
        found = self.project.definition(qualified)
        if found is not None or qualified is None:
            return found
        resolved = self.project.resolve(qualified)
        if resolved is None:
            return None
        module, name = resolved
        head, _, attribute = name.partition(".")
        instance = self.project.modules[module].definitions.get(head)
        if instance is None or instance.kind != "instance" or instance.ambiguous:
            return None
        cls = self.project.definition(instance.instance_of)
        if cls is None or cls[2].kind != "class" or attribute not in cls[2].methods:
            return None
        return module, name, instance

    def _call_type(self, cls: str | None) -> TypeExpr | None:
        """What calling an instance of ``cls`` returns (its ``__call__``'s annotation)."""
        found = self.project.definition(cls)
        return found[2].returns if found and found[2].kind == "class" else None

    def _alias_groups(self) -> list[_AliasGroup]:
        """Uses an alias could share, by (dependency, function, type, extras); the uses of
        project dependencies whose definition no module read holds go to `unresolved`."""
        groups: dict[tuple[str, str, str, str, str], _AliasGroup] = {}
        for module, facts in sorted(self.project.modules.items()):
            for function in facts.functions:
                if self.verdicts[module, function.key][1] or self.annotated.get(module) is None:
                    continue
                for param in function.params:
                    fd = param.fastapi
                    if (
                        not fd
                        or fd.leave
                        or fd.function not in DEPENDENCY_FUNCTIONS
                        or fd.extend
                        or not fd.extras
                    ):
                        continue
                    dependency = self._dependency_definition(fd.dependency)
                    if dependency is None:
                        self._unresolved(module, function, param, fd)
                        continue
                    type_expr = (
                        fd.annotation if fd.annotated else (self._dependency_type(fd) or ANY_TYPE)
                    )
                    if type_expr is None:
                        continue
                    type_key = self._canonical_key(type_expr)
                    key = (dependency[0], dependency[1], fd.function, type_key, fd.extras[0])
                    group = groups.setdefault(
                        key,
                        _AliasGroup(
                            dependency, fd.function, type_expr, fd.extras, fd.scopes, type_key
                        ),
                    )
                    group.uses.append(_Use(module, function, param, type_expr))
        return [groups[key] for key in sorted(groups)]

    def _canonical_key(self, type_expr: TypeExpr) -> str:
        """The type's key with each project name as where it is defined: ``User`` imported
        from ``app.models`` or from ``app.models.user`` is one type."""
        roots = tuple(
            (name, ".".join(self.names.defined_at(qualified) or (qualified,)))
            for name, qualified in type_expr.roots
        )
        return TypeExpr(type_expr.code, roots).key

    def _unresolved(
        self, module: str, function: FunctionFacts, param: ParamFacts, fd: FastapiDefault
    ) -> None:
        """A use of a dependency of the project that no module the run read defines (its
        folder read under another module name, say): counted, to say why it has no alias."""
        qualified = fd.dependency
        if qualified is None or (
            qualified.partition(".")[0] not in self.project.first_party
            and self._read_as(qualified) is None
        ):
            return  # a library's dependency, or a call: no module of ours could hold the alias
        assert fd.extras is not None
        key = (qualified, fd.function, fd.extras[0])
        self.unresolved.setdefault(key, []).append(_Use(module, function, param, ANY_TYPE))

    def _existing_aliases(self) -> dict[tuple[str, str, str, str, str], tuple[str, str, int]]:
        found: dict[tuple[str, str, str, str, str], tuple[str, str, int]] = {}
        for module, facts in sorted(self.project.modules.items()):
            for alias in facts.aliases:
                dependency = self.project.resolve(alias.dependency)
                if dependency is not None:
                    key = (*dependency, alias.function, alias.type_key, alias.extras_key)
                    found.setdefault(key, (module, alias.name, alias.line))
        return found

    def _plan_aliases(self) -> None:
        if not self.aliases:
            return
        existing = self._existing_aliases()
        fresh: list[tuple[_AliasGroup, list[_Use], tuple[str, tuple[Import, ...]]]] = []
        for group in self._alias_groups():
            module, name, _ = group.dependency
            key = (module, name, group.function, group.type.key, group.extras[0])
            if key in existing:
                self._reuse(existing[key], group.uses)
            else:
                ready = self._alias_ready(group)
                if isinstance(ready, str):
                    self._no_alias(group.uses, group.function, name, ready)
                else:
                    fresh.append((group, *ready))
        for (qualified, function, _), uses in sorted(self.unresolved.items()):
            resolved = self.project.resolve(qualified)
            shown = resolved[1] if resolved else qualified.rpartition(".")[2]
            self._no_alias(uses, function, shown, self._unfound(qualified))
        # Two aliases of one type (two ways to get a User): name both after their dependency.
        types: defaultdict[str, int] = defaultdict(int)
        for group, _, _ in fresh:
            types[group.type_key] += 1
        for group, uses, rendered in fresh:
            why = self._define(group, uses, rendered, types[group.type_key] > 1)
            if why is not None:
                self._no_alias(group.uses, group.function, group.dependency[1], why)

    def _unfound(self, qualified: str) -> str:
        resolved = self.project.resolve(qualified)
        if resolved is not None and "." in resolved[1]:
            owner, _, attribute = resolved[1].rpartition(".")
            return (
                f"`{attribute}` is not a method the class of `{owner}` (in "
                f"{self.files[resolved[0]].display_path}) is known to define"
            )
        module = self.project.module_of(qualified)
        rest = qualified[len(module) + 1 :] if module else ""
        read = f" (`{module}` was read: no `{rest}` there)" if module and "." not in rest else ""
        other = self._read_as(qualified) if not read else None
        if other is not None:
            read = f" ({self.files[other].display_path} was read as `{other}`)"
        return f"`{qualified}` is defined in no module this run read{read}"

    def _read_as(self, qualified: str) -> str | None:
        """The project module the module of ``qualified`` probably is, read under another
        name: ``common.session`` for ``src.common.session.get_db``, ``hng.api.db`` for
        ``api.db.get_db`` (the run named its modules from another import root)."""
        if self._by_suffix is None:
            self._by_suffix = {}
            for key in sorted(self.project.modules, key=len):
                parts = key.split(".")
                for start in range(1, len(parts)):
                    self._by_suffix.setdefault(".".join(parts[start:]), key)
        parts = qualified.split(".")[:-1]
        for end in range(len(parts), 0, -1):
            for start in range(end):
                candidate = ".".join(parts[start:end])
                if start and candidate in self.project.modules:
                    return candidate  # `src.common.session` read as `common.session`
                if not start and candidate in self._by_suffix:
                    return self._by_suffix[candidate]  # `api.db` read as `hng.api.db`
        return None

    def _no_alias(self, uses: Sequence[_Use], function: str, dependency: str, why: str) -> None:
        """One finding for a dependency used twice or more that gets no alias, at its first use."""
        if len(uses) < 2:
            return
        first = min(uses, key=lambda use: (use.module, use.param.line, use.param.column))
        self.unmade[first.module].append(
            (
                first.param.line,
                first.param.column,
                f"no alias for `{function}({dependency})`, used {len(uses)} times: {why}",
            )
        )

    def _reuse(self, alias: tuple[str, str, int], uses: list[_Use]) -> None:
        alias_module, alias_name, line = alias
        for use in uses:
            if use.module == alias_module:
                if use.function.line > line:
                    self.alias_uses[use.module, use.function.key, use.param.name] = (alias_name, ())
                continue
            found = self.names.ref(use.module, f"{alias_module}.{alias_name}", use.function.line)
            if found is not None:
                self.alias_uses[use.module, use.function.key, use.param.name] = found

    def _writable(self, module: str) -> bool:
        return self.fixed.writable(self.files[module].path)

    def _alias_ready(
        self, group: _AliasGroup
    ) -> tuple[list[_Use], tuple[str, tuple[Import, ...]]] | str:
        """The uses that could share a new alias, and its type as its module writes it; else
        why there is none (the dependency's file will not be written: the uses stay inline)."""
        module, _, definition = group.dependency
        where = self.files[module].display_path
        if not self._writable(module):
            return f"{where}, which defines it, is not written by this run"
        after = definition.end_line + 1
        rendered = self.names.render(module, group.type, after)
        if rendered is None:
            return f"its type `{group.type.code}` cannot be named in {where}: " + (
                self._unnameable(module, group.type, after)
            )
        eligible = [use for use in group.uses if self._may_use(use, module, definition)]
        if len(eligible) >= 2:
            return eligible, rendered
        left_out = [use for use in group.uses if use not in eligible]
        if not left_out:
            return "used once"
        place = f"{self.files[left_out[0].module].display_path}:{left_out[0].param.line}"
        return (
            f"only {len(eligible)} of them could import it from {where}; the others are "
            f"before its definition, in files not written, or would make an import cycle "
            f"(e.g. {place})"
        )

    def _unnameable(self, module: str, type_expr: TypeExpr, before: int) -> str:
        """Why `_Names.render` cannot write ``type_expr`` in ``module``: the first name that
        fails, taken there or only importable through an import cycle."""
        for _, qualified in type_expr.roots:
            if self.names.existing(module, qualified, before) is not None:
                continue
            container, _, name = qualified.rpartition(".")
            if self.names.taken(module, name):
                return f"the name `{name}` is taken there"
            if container and not self.project.can_import(module, container, qualified):
                return f"importing `{qualified}` there would make an import cycle"
        return "it names something that module cannot import"

    def _may_use(self, use: _Use, module: str, definition: Definition) -> bool:
        if not self._writable(use.module):
            return False  # not rewritten: it can neither use the alias nor count for it
        if use.module == module:
            return use.function.line > definition.end_line
        bindings = self.project.modules[use.module].bindings
        if any(b.qualified == module and b.line < use.function.line for b in bindings.values()):
            return True
        return self.project.can_import(use.module, module)

    def _type_name(self, group: _AliasGroup) -> str | None:
        name = group.type.simple_name
        key = group.type.key
        if name is None or key.startswith(("builtins.", "typing.")):
            return None
        return f"{_without_dep(name) or name}{_scope_words(group)}Dep"

    def _define(
        self,
        group: _AliasGroup,
        uses: list[_Use],
        rendered: tuple[str, tuple[Import, ...]],
        prefer_dependency_name: bool,
    ) -> str | None:
        """Plan the alias next to its dependency; why not, when `Depends` or `Annotated`
        cannot be named there."""
        module, dependency, definition = group.dependency
        after = definition.end_line + 1
        depends = self._fastapi_ref(module, group.function, after)
        annotated = self.annotated.get(module) or self.names.annotated(module, self.modern)
        if depends is None or annotated is None:
            missing = group.function if depends is None else "Annotated"
            where = self.files[module].display_path
            return f"`{missing}` cannot be named in {where} (the name is taken there)"
        self.annotated[module] = annotated
        modules = {module} | {use.module for use in uses}
        name = self._alias_name(group, modules, prefer_dependency_name)
        for each in modules:
            self.names.added[each][name] = f"{module}.{name}"
        for use in uses:
            found = (
                (name, ())
                if use.module == module
                else self.names.ref(use.module, f"{module}.{name}", use.function.line)
            )
            if found is not None:
                self.alias_uses[use.module, use.function.key, use.param.name] = found
                if use.module != module:
                    key = (use.module, use.function.key, use.param.name)
                    self.alias_providers[key] = self.files[module].path
        extras = f", {group.extras[1]}" if group.extras[1] else ""
        code = f"{name} = {annotated[0]}[{rendered[0]}, {depends[0]}({dependency}{extras})]"
        imports = (*annotated[1], *rendered[1], *depends[1])
        # A method of an instance (`user_service.get_user`) follows the instance's definition.
        anchor = dependency.partition(".")[0]
        self.definitions[module].append(
            AliasDefinition(name, anchor, definition.end_line, code, imports)
        )
        return None

    def _fastapi_ref(
        self, module: str, function: str, before: int
    ) -> tuple[str, tuple[Import, ...]] | None:
        for home in FASTAPI_PARAM_MODULES:
            found = self.names.existing(module, f"{home}.{function}", before)
            if found is not None:
                return found, ()
        return self.names.ref(module, f"fastapi.{function}", before)

    def _alias_name(
        self, group: _AliasGroup, modules: set[str], prefer_dependency_name: bool
    ) -> str:
        own_name = group.dependency[1].rpartition(".")[2]
        by_dependency = f"{_without_dep(_camel(own_name)) or 'Dependency'}{_scope_words(group)}Dep"
        by_type = self._type_name(group)
        bases = (
            [by_dependency] if prefer_dependency_name or not by_type else [by_type, by_dependency]
        )
        candidates = [*bases, *(f"{bases[0]}{n}" for n in range(2, 1000))]
        candidates = [name for name in candidates if is_module_path(name)]  # an identifier

        def free(name: str) -> bool:
            return not any(self.names.taken(m, name) for m in modules)

        return next(name for name in candidates if free(name))

    # -- per-file plans ---------------------------------------------------------------------

    def _file_plan(self, module: str, facts: FileFacts) -> FilePlan:
        annotated = self.annotated.get(module)
        functions = {}
        removable = tuple(self._removable(module, facts))
        fastapi_imports = tuple(self._fastapi_imports(module, facts))
        for function in facts.functions:
            star_at, refusal = self.verdicts[module, function.key]
            params = tuple(
                self._param_plan(module, function, p, annotated, refusal)
                for p in function.params
                if p.fastapi
            )
            functions[function.key] = FunctionPlan(params, star_at)
        return FilePlan(
            functions=functions,
            aliases=tuple(self.definitions.get(module, ())),
            annotated=annotated[0] if annotated else None,
            annotated_imports=annotated[1] if annotated else (),
            removable=removable,
            first_party=self.project.first_party,
            left=(
                *(
                    (
                        line,
                        column,
                        f"`{name}` left as is: a lambda cannot annotate its parameters; make it a def",
                    )
                    for line, column, name in facts.lambdas
                ),
                *self.unmade.get(module, ()),
            ),
            name_uses={
                local: facts.name_uses.get(local, 1 << 30)
                for local in (asname or name for _, name, asname in removable + fastapi_imports)
            },
            fastapi_imports=fastapi_imports,
        )

    def _param_plan(
        self,
        module: str,
        function: FunctionFacts,
        param: ParamFacts,
        annotated: tuple[str, tuple[Import, ...]] | None,
        refusal: str | None,
    ) -> ParamPlan:
        fd = param.fastapi
        assert fd is not None
        plan = ParamPlan(
            param.name,
            fd.function,
            fd.func_code,
            fd.mode,
            fd.extend,
            fd.leave or refusal,
            line=param.line,
            column=param.column,
            uses=param.uses,
        )
        if plan.leave:
            return plan
        if annotated is None:
            return replace(plan, leave="the name `Annotated` is taken in this module")
        if not fd.annotated:
            rendered = None
            type_expr = self._dependency_type(fd) if fd.function in DEPENDENCY_FUNCTIONS else None
            if type_expr is not None:
                rendered = self.names.render(module, type_expr, function.line)
            rendered = rendered or self.names.any_type(module, annotated[0])
            if rendered is None:
                return replace(plan, leave="the name `Any` is taken in this module")
            plan = replace(plan, type_code=rendered[0], type_imports=rendered[1])
        key = (module, function.key, param.name)
        alias = self.alias_uses.get(key)
        if alias is not None:
            plan = replace(
                plan,
                alias=alias[0],
                alias_imports=alias[1],
                alias_provider=self.alias_providers.get(key),
            )
        return plan

    def _fastapi_imports(
        self, module: str, facts: FileFacts
    ) -> Iterator[tuple[str, str, str | None]]:
        """Top-level imports of `Depends` and `Security` that no module imports from here: an
        alias can leave them unused (`Query` and the others stay inside the Annotated)."""
        for local, binding in sorted(facts.bindings.items()):
            if (
                binding.kind == "from"
                and binding.source
                and binding.qualified
                and param_function(binding.qualified) in DEPENDENCY_FUNCTIONS
                and (module, local) not in self.project.reexported
            ):
                source_module, name = binding.source
                yield source_module, name, (local if local != name else None)

    def _removable(self, module: str, facts: FileFacts) -> Iterator[tuple[str, str, str | None]]:
        """Imports a rewrite to aliases may leave unused: the dependency, its type, Depends itself."""
        if facts.is_package:
            return
        wanted = set()
        for function in facts.functions:
            for param in function.params:
                fd = param.fastapi
                if fd and (module, function.key, param.name) in self.alias_uses:
                    wanted.update(_prefixes(fd.dependency))  # `deps`, `user_service` too
                    wanted.update(f"{home}.{fd.function}" for home in FASTAPI_PARAM_MODULES)
                    wanted.update(
                        qualified for _, qualified in (fd.annotation.roots if fd.annotation else ())
                    )
        for local, binding in sorted(facts.bindings.items()):
            if (
                binding.kind == "from"
                and binding.source
                and binding.qualified in wanted
                and (module, local) not in self.project.reexported
            ):
                source_module, name = binding.source
                yield source_module, name, (local if local != name else None)
