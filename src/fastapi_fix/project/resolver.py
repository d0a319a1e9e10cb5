"""The one resolver every codemod reads: what each symbol of every module's facts
(`symbols`) stands for, once every module is known (main process).

Resolved values are tuples too:

- ``("module", name)``, ``("func", id)``, ``("class", id)``, ``("inst", class_id)``: the
  project's own modules, functions, classes and instances of them;
- ``("ext", dotted)``: a name outside the project (a function, class or module of a library);
- ``("extinst", type)``: an instance of a library type (``sqlalchemy.orm.Session``);
- ``("extbound", type, name)``: attribute ``name`` of such an instance (usually a method);
- ``("alias", value)``: an ``Annotated[...]`` alias, standing for the type it declares;
- ``("manager", id)``: ``contextmanager(generator)``, which makes context managers of the
  generator function ``id``;
- ``("super", class_id)``: ``super()`` in a method of that class.

None is "unknown". Names follow re-exports and star imports (a literal ``__all__`` says
what a star takes, else every public name), module-level instances reach their class's
methods (``Users = UsersTable()``; ``Users.get_user_by_id``), class members follow the C3
method resolution order of project classes, calls give what the callee returns, and ``with``
targets what their context manager enters as (`Resolver.enter`). Where a name
is bound rather than what it is: `Resolver.defined_at` (the module whose own statement
binds it) and, backwards, `Resolver.offered` (every module a caller may import it from,
under which names). A codemod refines what a module-level name is bound to by overriding
`Resolver._symbol_of` (depends-to-annotated's `ProjectResolver`). Every
lookup is memoised, and a cycle (``x = x.y``, ``from a import *`` in both ``a`` and ``b``)
resolves to unknown instead of looping.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from typing import Generic, Literal

from fastapi_fix.engine.codemod import SourceFile
from fastapi_fix.project.blocking import (
    ATTRIBUTE_TYPES,
    CALL_RESULTS,
    PATH,
    STICKY_TYPES,
    canonical_type,
    entered_type,
)
from fastapi_fix.project.symbols import (
    CONTEXT_MANAGER_DECORATORS,
    CallSite,
    ClassFacts,
    F,
    ModuleFacts,
    Sym,
)

# The values of the module docstring, told apart by their first item (as Sym is).
Named = tuple[Literal["module", "func", "class", "inst", "ext", "extinst", "manager", "super"], str]
Bound = tuple[Literal["extbound"], str, str]  # (kind, library type, attribute name)
Alias = tuple[Literal["alias"], "Value"]
Value = Named | Bound | Alias
PROPERTIES = frozenset({"builtins.property", "functools.cached_property"})
MAX_REEXPORTS = 8  # how many imports `Resolver.defined_at` follows
_MANAGER_DECORATORS: frozenset[Value | None] = frozenset(
    ("ext", name) for name in CONTEXT_MANAGER_DECORATORS
)
_SELF_TYPES: frozenset[Value] = frozenset(
    ("extinst", f"{module}.Self") for module in ("typing", "typing_extensions")
)


class Resolver(Generic[F]):
    """Every module's facts, and what their symbols stand for."""

    def __init__(self, facts: Mapping[SourceFile, ModuleFacts[F]]) -> None:
        modules: dict[str, ModuleFacts[F]] = {}
        self.modules: Mapping[str, ModuleFacts[F]] = modules
        self.all_modules: Sequence[ModuleFacts[F]] = list(facts.values())
        self.function_facts: dict[str, F] = {}
        self.classes: dict[str, ClassFacts] = {}
        # The engine names every file apart; should two share a name anyway, names resolve
        # in the first file and their functions share ids: each codemod decides what to do
        # with such files (async-to-sync leaves their functions alone).
        self.shared_names: set[str] = set()
        for module in facts.values():
            if module.module in modules:
                self.shared_names.add(module.module)
            modules.setdefault(module.module, module)
            for function in module.functions:
                self.function_facts[function.id] = function
            for class_facts in module.classes:
                self.classes[class_facts.id] = class_facts
        self.path_modules = _path_module_names(facts, self.modules)
        # For ``import database`` in a folder that is not a package: that folder's files.
        folders = {module.module: file.path.parent for file, module in facts.items()}
        package_folders = {file.path.parent for file in facts if file.is_package}
        self.script_folders = {
            name: folder for name, folder in folders.items() if folder not in package_folders
        }
        self.module_at = (
            {
                (file.path.parent if file.is_package else file.path.with_suffix("")): module.module
                for file, module in facts.items()
            }
            if self.script_folders
            else {}
        )
        self._memo: dict[Sym, Value | None] = {}
        self._active: set[Sym] = set()
        self._by_name: dict[str, list[CallSite]] | None = None
        self._linearized: dict[str, list[str | Value]] = {}
        self._linearizing: set[str] = set()
        self._starring: set[tuple[str, str]] = set()  # (module, name) looked up through stars
        self._links: (
            tuple[dict[tuple[str, str], list[tuple[str, str]]], dict[str, list[str]]] | None
        ) = None

    def resolve(self, symbol: Sym | None) -> Value | None:
        if symbol is None:
            return None
        if symbol in self._memo:
            return self._memo[symbol]
        if symbol in self._active:
            return None  # a cycle (x = x.y): unknown
        self._active.add(symbol)
        try:
            value = self._resolve(symbol)
        finally:
            self._active.discard(symbol)
        self._memo[symbol] = value
        return value

    def _resolve(self, symbol: Sym) -> Value | None:
        if symbol[0] == "ref":
            return self._resolve_name(symbol[1])
        if symbol[0] == "near":
            return self._resolve_near(symbol[1], symbol[2])
        if symbol[0] == "funckey":
            return ("func", symbol[1]) if symbol[1] in self.function_facts else None
        if symbol[0] == "classkey":
            return ("class", symbol[1]) if symbol[1] in self.classes else None
        if symbol[0] == "inst":
            return self._instance_of(self.resolve(symbol[1]))
        if symbol[0] == "call":
            return self.call_result(self.resolve(symbol[1]))
        if symbol[0] == "attr":
            return self.member(self.resolve(symbol[1]), symbol[2])
        if symbol[0] == "item":
            return self._item(self.resolve(symbol[1]))
        if symbol[0] == "div":
            base = self.resolve(symbol[1])
            return base if base == ("extinst", PATH) else None
        if symbol[0] == "dep":
            return self.provided(self.resolve(symbol[1]))
        if symbol[0] == "either":
            return self.resolve(symbol[1]) or self.resolve(symbol[2])
        if symbol[0] == "annotated":
            declared = self.resolve(symbol[1]) or self.resolve(symbol[2])
            return ("alias", declared) if declared else None
        if symbol[0] == "param":
            return self._passed_to(symbol[1], symbol[2], symbol[3])
        if symbol[0] == "enter":
            return self.enter(symbol[1], symbol[2])
        if symbol[0] == "super":
            owner = self.resolve(symbol[1])
            return ("super", owner[1]) if owner and owner[0] == "class" else None
        if symbol[0] == "managed":
            generator = self.resolve(symbol[1])
            return ("manager", generator[1]) if generator and generator[0] == "func" else None
        if symbol[0] == "yieldsfrom":  # ``yield from H()`` yields what H yields
            inner = symbol[1]
            delegate = self.resolve(inner[1]) if inner[0] == "call" else None
            return self.yielded(delegate[1]) if delegate and delegate[0] == "func" else None
        return None  # ``entersas``: what ``closing(x)`` is, as a value, is not known

    def _passed_to(self, function_id: str, position: int | None, name: str) -> Value | None:
        """What the project's calls of a function pass to its unannotated parameter."""
        function = self.function_facts.get(function_id)
        if function is None:
            return None
        names = {function.name}
        if function.name == "__init__" and function.class_id:
            names.add(function.class_id.rpartition(".")[2])  # Service(db) calls __init__
        for name_called in names:
            for site in self._sites_by_name().get(name_called, ()):
                if self._call_target(site) != function_id:
                    continue
                passed = dict(site.keywords).get(name)
                index = None if position is None else position - function.first_argument
                if passed is None and index is not None and 0 <= index < len(site.args):
                    passed = site.args[index]
                value = self.resolve(passed)
                if value is not None:
                    return value
        return None

    def _sites_by_name(self) -> dict[str, list[CallSite]]:
        if self._by_name is None:
            self._by_name = defaultdict(list)
            for function in self.function_facts.values():
                for site in function.calls:
                    self._by_name[site.name].append(site)
        return self._by_name

    def _call_target(self, site: CallSite) -> str | None:
        value = self.resolve(site.callee)
        if value and value[0] == "class":
            return self._callable_id(self._class_member(value[1], "__init__", instance=True))
        return self._callable_id(value)

    def _resolve_name(self, dotted: str) -> Value | None:
        parts = dotted.split(".")
        for end in range(len(parts), 0, -1):
            module = ".".join(parts[:end])
            if module not in self.modules and end > 1:
                module = self.path_modules.get(module, module)
            if module in self.modules:
                value: Value | None = ("module", module)
                for name in parts[end:]:
                    value = self.member(value, name)
                return value
        return ("ext", dotted)

    def _resolve_near(self, importer: str, dotted: str) -> Value | None:
        """``import database`` in ``users_service/main.py``: when ``users_service/`` is not a
        package it is the script's folder, first on ``sys.path``: its ``database.py`` wins."""
        folder = self.script_folders.get(importer)
        if folder is not None:
            parts = dotted.split(".")
            for end in range(len(parts), 0, -1):
                module = self.module_at.get(folder.joinpath(*parts[:end]))
                if module is not None:
                    value: Value | None = ("module", module)
                    for name in parts[end:]:
                        value = self.member(value, name)
                    return value
        return self._resolve_name(dotted)

    def _symbol_of(self, module: str, name: str) -> Sym | None:
        """What a module-level name of ``module`` is bound to (a codemod may know better)."""
        return self.modules[module].symbols.get(name)

    def _module_member(self, module: str, name: str) -> Value | None:
        facts = self.modules[module]
        if name in facts.symbols:
            return self.resolve(self._symbol_of(module, name))
        if f"{module}.{name}" in self.modules:
            return ("module", f"{module}.{name}")
        if (module, name) in self._starring:
            return None  # two modules star-importing each other
        self._starring.add((module, name))
        try:
            for star in facts.star_imports:
                found = self._module_member(star, name) if self._exports(star, name) else None
                if found:
                    return found
        finally:
            self._starring.discard((module, name))
        return None

    def defined_at(self, dotted: str, depth: int = 0) -> tuple[str, str] | None:
        """(module, rest) where the module-level statement binding the first name after
        ``dotted``'s module is, following imports, re-exports and star imports:
        ``("app.services", "user_service.get_current_user")`` for
        ``app.api.deps.user_service.get_current_user`` when ``app.api.deps`` imports
        ``user_service`` from ``app.services``, which defines it. None for a module itself,
        a name no module binds, a chain longer than `MAX_REEXPORTS` (or a cycle). Modules
        go by the names the run gave them (not `path_modules`): a codemod writes imports of
        what this finds."""
        if dotted in self.modules:
            return None
        parts = dotted.split(".")
        for end in range(len(parts) - 1, 0, -1):
            module = ".".join(parts[:end])
            if module in self.modules:
                return self._defined_in(module, parts[end], parts[end + 1 :], depth)
        return None

    def _defined_in(
        self, module: str, name: str, tail: list[str], depth: int
    ) -> tuple[str, str] | None:
        if depth > MAX_REEXPORTS:
            return None
        rest = ".".join(tail)
        symbol = self._symbol_of(module, name)
        if symbol is None:
            if name in self.modules[module].symbols:
                return None  # bound, but to nothing known
            if f"{module}.{name}" in self.modules:
                return self.defined_at(f"{module}.{name}.{rest}", depth + 1) if rest else None
            stars = [
                star for star in self.modules[module].star_imports if self._exports(star, name)
            ]
            for star in stars:
                found = self._defined_in(star, name, tail, depth + 1)
                if found is not None:
                    return found
            return None
        if symbol[0] in ("ref", "near"):  # an import (or ``x = y``): where it comes from
            target = symbol[1] if symbol[0] == "ref" else symbol[2]
            return self.defined_at(f"{target}.{rest}" if rest else target, depth + 1)
        return module, f"{name}.{rest}" if rest else name

    def offered(self, module: str, name: str) -> dict[str, set[str]]:
        """Every module a caller may take ``module.name`` from, with the names it goes by
        there (what `defined_at` follows, backwards): the module itself, each module that
        imports it from one of these (under its own name or another; ``x = name`` too),
        each module whose star import of one of these takes it."""
        importers, stars = self._importers()
        chain: dict[str, set[str]] = {module: {name}}
        todo = [module]
        while todo:
            offerer = todo.pop()
            offered = chain[offerer]
            for imported in list(offered):
                for importer, local in importers.get((offerer, imported), ()):
                    if local not in chain.setdefault(importer, set()):
                        chain[importer].add(local)
                        todo.append(importer)
            taken = {each for each in offered if self._exports(offerer, each)}
            for importer in stars.get(offerer, ()):
                if not taken <= chain.get(importer, set()):
                    chain.setdefault(importer, set()).update(taken)
                    todo.append(importer)
        return chain

    def _importers(
        self,
    ) -> tuple[dict[tuple[str, str], list[tuple[str, str]]], dict[str, list[str]]]:
        """(module, name) → (module importing it, the name it binds), and module → modules
        star-importing it: the links `offered` walks, built once."""
        if self._links is None:
            importers: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)
            stars: dict[str, list[str]] = defaultdict(list)
            for module, facts in self.modules.items():
                for local in facts.symbols:
                    symbol = self._symbol_of(module, local)
                    if symbol is not None and symbol[0] in ("ref", "near"):
                        dotted = symbol[1] if symbol[0] == "ref" else symbol[2]
                        source, _, imported = dotted.rpartition(".")
                        if source:
                            importers[source, imported].append((module, local))
                for star in facts.star_imports:
                    stars[star].append(module)
            self._links = (importers, stars)
        return self._links

    def _exports(self, module: str, name: str) -> bool:
        """Whether ``from module import *`` takes ``name``: what a literal ``__all__`` lists,
        else every public name."""
        if module not in self.modules:
            return False
        listed = self.modules[module].all_names
        return name in listed if listed is not None else not name.startswith("_")

    def member(self, value: Value | None, name: str) -> Value | None:
        if value is None:
            return None
        if value[0] == "module":
            return self._module_member(value[1], name)
        if value[0] == "ext":
            return ("ext", f"{value[1]}.{name}")
        if value[0] in ("class", "inst"):
            return self._class_member(value[1], name, instance=value[0] == "inst")
        if value[0] == "super":  # the classes after this one in its order
            return self._class_member(value[1], name, instance=True, after=True)
        if value[0] == "extinst":
            return ("extbound", value[1], name)
        if value[0] == "extbound":
            return self.member(self._attribute_type(value[1], value[2]), name)
        return None

    def _class_member(
        self, class_id: str, name: str, instance: bool, after: bool = False
    ) -> Value | None:
        """``name`` on a project class (``instance``: on one of its instances). What library
        bases define is not known, so a project class later in the order still wins over
        one (``class Sender(ABCSender, BaseService)``: ``abc.ABC`` comes before
        ``BaseService`` but defines no ``__init__``); the first library base is the fallback."""
        library: Value | None = None
        order = list(self._mro(class_id))
        for current in order[1:] if after else order:
            if isinstance(current, str):
                class_facts = self.classes[current]
                if name in class_facts.methods:
                    method = class_facts.methods[name]
                    if self._is_property(method):
                        return self._property_value(method) if instance else None
                    return ("func", method)
                if instance and name in class_facts.attributes:
                    return self.resolve(class_facts.attributes[name])
            elif current[0] == "ext" and library is None:  # httpx.Client, APIRouter
                base = canonical_type(current[1])
                library = ("extbound", base, name) if instance else ("ext", f"{base}.{name}")
        return library

    def follows(self, first: str, then: str) -> bool:
        """Whether some project class's order puts class ``then`` after class ``first``
        (so ``super()`` in ``first`` may reach ``then``: cooperative multiple inheritance)."""
        for class_id in self.classes:
            order = self._linearization(class_id)
            if first in order and then in order[order.index(first) + 1 :]:
                return True
        return False

    def _mro(self, class_id: str) -> Iterator[str | Value]:
        """The method resolution order from ``class_id`` up: project classes (ids) by C3, as
        Python orders them, with library bases (``("ext", name)``) where they fall in it."""
        if class_id in self.classes:
            yield from self._linearization(class_id)

    def _linearization(self, class_id: str) -> list[str | Value]:
        if class_id in self._linearized:
            return self._linearized[class_id]
        if class_id in self._linearizing:
            return [class_id]  # a cycle of bases (only a broken project has one)
        self._linearizing.add(class_id)
        try:
            bases: list[str | Value] = []
            for base in self.classes[class_id].bases:
                resolved = self.resolve(base)
                if resolved and resolved[0] == "class" and resolved[1] in self.classes:
                    bases.append(resolved[1])
                elif resolved and resolved[0] == "ext":
                    bases.append(resolved)
            heads: list[list[str | Value]] = [
                self._linearization(b) if isinstance(b, str) else [b] for b in bases
            ]
            merged = _c3_merge([*heads, bases])
            if merged is None:  # no consistent order (Python refuses such a class): breadth first
                merged = list(dict.fromkeys(item for head in heads for item in head))
            order = [class_id, *(item for item in merged if item != class_id)]
        finally:
            self._linearizing.discard(class_id)
        self._linearized[class_id] = order
        return order

    def _is_property(self, function_id: str) -> bool:
        return any(
            (value := self.resolve(d.target)) is not None
            and value[0] == "ext"
            and value[1] in PROPERTIES
            for d in self.function_facts[function_id].decorators
        )

    def _property_value(self, function_id: str) -> Value | None:
        """What ``obj.users`` is when ``users`` is a property: what calling its getter gives."""
        return self._returned_value(function_id)

    def _returned_value(self, function_id: str) -> Value | None:
        """What a function returns: its declared return type, else an instance of a project
        class it returns (``return UserRepo(self.db)``)."""
        function = self.function_facts[function_id]
        declared = self.resolve(function.returns)
        if declared is not None:
            return declared
        returned = (self.resolve(symbol) for symbol in function.returned)
        return next((value for value in returned if value is not None and value[0] == "inst"), None)

    def _instance_of(self, value: Value | None) -> Value | None:
        if value is None:
            return None
        if value[0] == "class":
            return ("inst", value[1])
        if value[0] == "ext":
            return ("extinst", canonical_type(value[1]))
        if value[0] == "alias":
            return value[1]
        return None

    def _attribute_type(self, type_name: str, name: str) -> Value | None:
        found = ATTRIBUTE_TYPES.get(f"{type_name}.{name}") or ATTRIBUTE_TYPES.get(f"{type_name}.*")
        return ("extinst", found) if found else None

    def _item(self, value: Value | None) -> Value | None:
        if value and value[0] == "extinst":
            return self._attribute_type(value[1], "*")
        if value and value[0] == "extbound":
            return self._item(self._attribute_type(value[1], value[2]))
        return None

    def call_result(self, value: Value | None) -> Value | None:
        if value is None:
            return None
        if value[0] == "class":
            return ("inst", value[1])
        if value[0] == "ext":
            name = canonical_type(value[1])
            if name in CALL_RESULTS:
                return ("extinst", CALL_RESULTS[name])
            return ("extinst", name) if name.rpartition(".")[2][:1].isupper() else None
        if value[0] == "func":
            return self._returned_value(value[1])
        if value[0] == "extinst":
            result = CALL_RESULTS.get(f"{value[1]}()")
            return ("extinst", result) if result else None
        if value[0] == "extbound":
            result = CALL_RESULTS.get(f"{value[1]}.{value[2]}")
            if result:
                return ("extinst", result)
            return ("extinst", value[1]) if value[1] in STICKY_TYPES else None
        if value[0] == "inst":
            return self.call_result(self._class_member(value[1], "__call__", instance=True))
        return None

    def provided(self, value: Value | None) -> Value | None:
        """What ``Depends(value)`` hands to the function that declares it."""
        if value is None:
            return None
        if value[0] == "func":
            function = self.function_facts[value[1]]
            if function.generator:
                return self.yielded(value[1])
            candidates = [function.returns, *function.returned]
            return next((found for found in map(self.resolve, candidates) if found), None)
        if value[0] == "inst":
            return self.provided(self._class_member(value[1], "__call__", instance=True))
        return self.call_result(value)

    def yielded(self, function_id: str) -> Value | None:
        """What a generator yields: the ``T`` of its ``Iterator[T]``-like return annotation,
        else the first of its ``yield`` values that resolves."""
        function = self.function_facts[function_id]
        candidates = [function.yields_annotation, *function.yielded]
        return next((found for found in map(self.resolve, candidates) if found), None)

    # -- context managers ----------------------------------------------------------------

    def enter(self, manager: Sym | None, is_async: bool) -> Value | None:
        """What ``with manager as x`` (``async with`` when ``is_async``) binds to ``x``:
        what a generator context manager yields, what a project class's ``__enter__``
        (``__aenter__``) returns, what the catalogue says a library type enters as; else
        unknown (not the manager itself: ``session.begin()`` enters as a transaction)."""
        if manager is None:
            return None
        if manager[0] == "entersas":  # ``closing(x)``, ``nullcontext(x)``
            return self.resolve(manager[1])
        if manager[0] == "call":
            generator = self.generator_manager(self.resolve(manager[1]))
            if generator is not None:
                return self.yielded(generator)
        return self.entered(self.resolve(manager), is_async)

    def generator_manager(self, value: Value | None) -> str | None:
        """The generator behind a context-manager function: ``contextmanager(get_session)``,
        or a function under ``@contextmanager`` / ``@asynccontextmanager``."""
        if value is None:
            return None
        if value[0] == "manager":
            return value[1]
        if value[0] == "func" and any(
            self.resolve(decorator.target) in _MANAGER_DECORATORS
            for decorator in self.function_facts[value[1]].decorators
        ):
            return value[1]
        return None

    def entered(self, manager: Value | None, is_async: bool) -> Value | None:
        """What ``with`` binds for a manager that is a value (an instance)."""
        if manager is None:
            return None
        if manager[0] == "extinst":
            entered = entered_type(manager[1])
            return ("extinst", entered) if entered else None
        if manager[0] != "inst":
            return None
        method = self._class_member(manager[1], "__aenter__" if is_async else "__enter__", True)
        if method is not None and method[0] == "func":
            return self._entered_by(method[1], manager)
        if method is not None and method[0] == "extbound":  # inherited from a library class
            return manager if entered_type(method[1]) == method[1] else None
        return None

    def _entered_by(self, enter_id: str, manager: Named) -> Value | None:
        """What a project ``__enter__`` returns: its annotation (``Self`` or the class: the
        manager itself), else its returned value (``return self``: the manager itself)."""
        function = self.function_facts[enter_id]
        for candidate in [function.returns, *function.returned]:
            value = self.resolve(candidate)
            if value is None:
                continue
            if value in _SELF_TYPES or (value[0] == "inst" and value[1] in self._mro(manager[1])):
                return manager  # ``self``, or an annotation naming a class it is an instance of
            return value
        return None

    def function_of(self, value: Value | None) -> str | None:
        """The project function a value calls: itself, a callable instance's ``__call__``, or
        the generator a ``contextmanager(generator)`` runs."""
        if value is None:
            return None
        if value[0] in ("func", "manager"):
            return value[1]
        if value[0] == "inst":
            return self.function_of(self._class_member(value[1], "__call__", instance=True))
        return None

    def _callable_id(self, value: Value | None) -> str | None:
        function_id = self.function_of(value)
        return function_id if function_id in self.function_facts else None


def _c3_merge(sequences: list[list[str | Value]]) -> list[str | Value] | None:
    """C3's merge: repeatedly take the first head that is in no other sequence's tail; None
    when none is (an inconsistent hierarchy)."""
    pending = [list(sequence) for sequence in sequences if sequence]
    merged: list[str | Value] = []
    while pending:
        for sequence in pending:
            head = sequence[0]
            if not any(head in other[1:] for other in pending):
                break
        else:
            return None
        merged.append(head)
        pending = [[item for item in s if item != head] for s in pending]
        pending = [s for s in pending if s]
    return merged


def _path_module_names(
    facts: Mapping[SourceFile, ModuleFacts[F]], modules: Mapping[str, ModuleFacts[F]]
) -> dict[str, str]:
    """Dotted names a module may be imported by when its folders lack ``__init__.py``.

    ``app/crud/user.py`` in a project run from ``app/`` is imported as ``crud.user``; only
    names of two parts or more, and only unambiguous ones, so that a project file never
    hides a library (``app/cache/redis.py`` does not become ``redis``).
    """
    found: dict[str, str] = {}
    ambiguous: set[str] = set()
    for file, module in facts.items():
        parts = file.path.with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        for start in range(len(parts) - 1):
            name = ".".join(parts[start:])
            if name in modules:
                continue
            if found.setdefault(name, module.module) != module.module:
                ambiguous.add(name)
    return {name: module for name, module in found.items() if name not in ambiguous}
