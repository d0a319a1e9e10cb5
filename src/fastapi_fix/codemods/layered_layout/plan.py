"""Where every module and definition goes: the plan.

1. Group top-level statements into *units* that must stay together: statements binding the
   same name, and strongly connected statements (``def a(): b()`` / ``def b(): a()``,
   ``Item.owner: Mapped[User]`` / ``User.items: Mapped[Item]``).
2. Give each unit a layer: the classifier's, then a fixpoint over every edge of the package
   so that no unit imports from a higher layer: helpers, constants and schemas are pulled
   down to the lowest layer that uses them; anything else that needs a higher layer is
   raised to it (and the plan says why).
3. Decide per module: it stays, moves whole ("module by module"), or is split.
4. Name the targets: ``core/config.py``, ``models/<entity>.py``, ``api/v1/routes.py`` or
   ``api/v1/routes/<name>.py`` when there are several routers, ...
"""

from __future__ import annotations

import keyword
import re
from collections import Counter, defaultdict
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

import libcst as cst

from fastapi_fix.codemods.layered_layout.classify import Classifier, Layer, Verdict, assigned_value
from fastapi_fix.codemods.layered_layout.index import Kind, ModuleInfo, Statement, has_main_guard
from fastapi_fix.codemods.layered_layout.project_index import TEST_FOLDERS, ProjectIndex

# Folders of the target layout, relative to the package: a pure module already in its
# layer's folder stays where it is (so a second run plans nothing).
LAYER_HOMES: dict[Layer, tuple[str, ...]] = {
    Layer.CONFIG: ("core/",),
    Layer.DB: ("core/",),
    Layer.MODELS: ("models/",),
    Layer.SCHEMAS: ("api/",),
    Layer.SECURITY: ("core/",),
    Layer.SERVICES: ("services/",),
    Layer.DEPENDENCIES: ("api/",),
    Layer.ROUTES: ("api/",),
}
Node = TypeVar("Node", bound=Hashable)  # of a graph `strongly_connected` walks

LAYER_FILES = {
    Layer.CONFIG: "core/config.py",
    Layer.DB: "core/db.py",
    Layer.SCHEMAS: "api/v1/schemas.py",
    Layer.SECURITY: "core/security.py",
    Layer.DEPENDENCIES: "api/v1/dependencies.py",
}
LAYER_DIRECTORIES = frozenset(
    {"api", "core", "models", "schemas", "services", "crud", "db", "repositories"}
)
ROUTING_STEMS = frozenset({"router", "routers", "routes", "views", "endpoints", "api"})
DOMAIN_STEMS = ROUTING_STEMS | {
    "schemas",
    "schema",
    "models",
    "model",
    "service",
    "services",
    "crud",
    "dependencies",
    "deps",
    "repository",
    "exceptions",
    "constants",
    "config",
    "utils",
}
# Stems that say what a module is, not what it is about: a routes module called
# ``views.py`` inside ``orders/`` is named after ``orders``.
GENERIC_STEMS = DOMAIN_STEMS | {"main", "app", "__init__"}


@dataclass
class ModulePlan:
    """What happens to one source module: where it goes, and which of its definitions go
    somewhere else. ``target == source`` and no symbols: nothing happens."""

    source: str  # relative path
    target: str  # where the module's remaining statements go
    reason: str = ""
    symbols: dict[str, str] = field(default_factory=dict)  # statement key -> target path
    symbol_reasons: dict[str, str] = field(default_factory=dict)

    @property
    def changes(self) -> bool:
        return self.target != self.source or bool(self.symbols)


@dataclass
class Plan:
    package: str  # dotted package after the move
    package_dir: str  # its folder, relative to the root
    new_package: bool  # a root-level app moved into a new package
    modules: list[ModulePlan] = field(default_factory=list)
    organisation: str = ""
    fingerprint: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        return not any(m.changes for m in self.modules)

    def module(self, source: str) -> ModulePlan | None:
        return next((m for m in self.modules if m.source == source), None)


@dataclass
class Unit:
    id: int
    module: str
    statements: list[int]
    verdict: Verdict
    layer: Layer | None = None
    soft: bool = True  # may be pulled down to a lower layer that uses it
    note: str = ""
    target: str = ""

    @property
    def pinned(self) -> bool:
        return self.verdict.pinned


# -- organisation ------------------------------------------------------------------------


def organisation(project: ProjectIndex) -> tuple[str, str]:
    """("single-file" | "flat" | "layered" | "domain", detail)."""
    package = project.package
    members = project.member_names
    if not package:
        layered = _layered_root_package(project)
        if layered is not None:
            return "layered", layered
    if not package and len(members) == 1:
        return "single-file", members[0][2]
    subpackages: dict[str, set[str]] = defaultdict(set)
    for name, is_package, _rel_path in members:
        parts = name.split(".")
        if len(parts) >= 3 or (len(parts) == 2 and is_package):
            subpackages[parts[1]].add(parts[2] if len(parts) >= 3 else "__init__")
    layers = sorted(name for name in subpackages if name in LAYER_DIRECTORIES)
    domains = sorted(
        name
        for name, stems in subpackages.items()
        if name not in LAYER_DIRECTORIES
        and len(stems & DOMAIN_STEMS) >= 2
        and stems & ROUTING_STEMS
    )
    if len(domains) >= 2:
        return "domain", ", ".join(domains)
    # api/ beside core/ is the FastAPI project template's layering (models.py and crud.py
    # next to them): already laid out, even without a third layer folder.
    if len(layers) >= 3 or {"api", "core"} <= set(layers):
        return "layered", ", ".join(f"{name}/" for name in layers)
    return "flat", package or "."


def _layered_root_package(project: ProjectIndex) -> str | None:
    """A root-level app's package beside it that already holds the layers (``api/core``,
    ``api/v1/models``, ``api/v1/services``, ...): ``"api/ (core/, models/, ...)"``."""
    prefix = f"{project.run_folder}/" if project.run_folder else ""
    folders: dict[str, set[str]] = defaultdict(set)
    for rel in project.sources:
        if not rel.startswith(prefix):
            continue
        parts = rel[len(prefix) :].split("/")
        if len(parts) >= 3 and parts[0] not in TEST_FOLDERS:
            folders[parts[0]].update(parts[1:-1][:3])
    for top, below in sorted(folders.items()):
        layers = sorted(below & LAYER_DIRECTORIES)
        if len(layers) >= 3:
            return f"{top}/ ({', '.join(f'{name}/' for name in layers)})"
    return None


# -- the planner -----------------------------------------------------------------------


class Planner:
    def __init__(
        self, project: ProjectIndex, classifier: Classifier, new_package: str = "app"
    ) -> None:
        self.project = project
        self.classifier = classifier
        self.package = project.package or new_package
        self.package_dir = (
            project.package_dir
            if project.package
            else "/".join(filter(None, [project.run_folder, new_package]))
        )
        self.units: list[Unit] = []
        self.unit_of: dict[tuple[str, int], Unit] = {}  # (module, statement index) -> unit
        self.edges: dict[int, set[int]] = defaultdict(set)  # unit -> units it needs
        self.consumers: dict[int, set[int]] = defaultdict(set)
        self.notes: list[str] = []

    # -- units ---------------------------------------------------------------------
    def build_units(self) -> None:
        for module in self.project.members:
            verdicts = {
                s.index: self._verdict(module, s)
                for s in module.statements
                if not s.is_import and s.kind is not Kind.DOCSTRING
            }
            groups = _group_statements(module, verdicts)
            for indices in groups:
                unit = Unit(
                    len(self.units), module.name, indices, _merge([verdicts[i] for i in indices])
                )
                self.units.append(unit)
                for index in indices:
                    self.unit_of[(module.name, index)] = unit
        for unit in self.units:
            for needed in self._needs(unit):
                if needed.id != unit.id:
                    self.edges[unit.id].add(needed.id)
                    self.consumers[needed.id].add(unit.id)

    def _verdict(self, module: ModuleInfo, statement: Statement) -> Verdict:
        if module.is_package:
            return Verdict(None, "package __init__", pinned=True)
        main = module.name == self.project.main_module.name
        if not main and has_main_guard(module):
            return Verdict(None, "module run as a script", pinned=True)
        verdict = self.classifier.classify(module, statement)
        if verdict.pinned and not main:
            return Verdict(None, verdict.reason, pinned=True)
        if verdict.weak and not main:  # a name is not reason enough to split a module
            return Verdict(None, "helper")
        return verdict

    def _needs(self, unit: Unit) -> Iterable[Unit]:
        """The units a unit uses, in any module of the package."""
        module = self.project.modules[unit.module]
        for index in unit.statements:
            statement = module.statements[index]
            orm_class = unit.verdict.layer is Layer.MODELS and statement.kind is Kind.CLASS
            for name, runtime in statement.uses.items():
                if orm_class and not runtime:
                    continue  # "Item" in Mapped["Item"]: the mapper registry resolves it
                if (
                    unit.verdict.router == "app"
                    and self._is_app(module, name)
                    and not _uses_in_body(statement, name)
                ):
                    continue  # @app.get moves as @router.get
                yield from self._units_for(module, name, statement)

    def _is_app(self, module: ModuleInfo, name: str) -> bool:
        return self.classifier.resolve_name(module, name) in self.classifier.facts.apps

    def _units_for(self, module: ModuleInfo, name: str, statement: Statement) -> Iterable[Unit]:
        if module.defines(name):
            for index in module.binders[name]:
                if (module.name, index) in self.unit_of:
                    yield self.unit_of[(module.name, index)]
            return
        imported = module.imports.get(name)
        if imported is None:
            return
        qualified = self.project.canonical(name if imported.dotted else imported.origin)
        attributes = statement.attribute_uses.get(name, set())
        if qualified in self.project.modules:  # a module: what of it is used
            for attribute in attributes:
                yield from self._units_at(f"{qualified}.{attribute}")
        else:
            yield from self._units_at(qualified)

    def _units_at(self, qualified: str) -> Iterable[Unit]:
        qualified = self.project.canonical(qualified)
        module_name, rest = self.project.split_module(qualified)
        if module_name is None or len(rest) != 1:
            return
        module = self.project.modules[module_name]
        for index in module.binders.get(rest[0], []):
            if (module_name, index) in self.unit_of:
                yield self.unit_of[(module_name, index)]

    # -- layers --------------------------------------------------------------------
    def assign_layers(self) -> None:
        for unit in self.units:
            unit.layer = unit.verdict.layer
            unit.soft = unit.layer is None or unit.layer is Layer.SCHEMAS
        for _ in range(2):  # again once shared route helpers went down to services
            for _ in range(2 * len(self.units) + 2):
                changed = self._sink_helpers()
                changed |= self._resolve_upward_edges()
                changed |= self._instances_follow_classes()
                if not changed:
                    break
            if not self._shared_route_helpers_to_services():
                break
        main = self.project.main_module.name
        for unit in self.units:
            if unit.layer is None:
                unit.layer = Layer.MAIN if unit.module == main else None

    def _shared_route_helpers_to_services(self) -> bool:
        """A function of the app's module that several routes call is business logic, not
        part of one route: it goes to services (a single-file app; other modules move whole)."""
        changed = False
        main = self.project.main_module.name
        for unit in self.units:
            module = self.project.modules[unit.module]
            if (
                unit.module != main
                or unit.verdict.layer is not None
                or unit.pinned
                or unit.layer is not Layer.ROUTES
                or any(module.statements[i].kind is not Kind.DEF for i in unit.statements)
            ):
                continue
            routes = [
                c for c in self.consumers[unit.id] if self.units[c].verdict.layer is Layer.ROUTES
            ]
            if len(routes) >= 2:
                unit.layer, unit.soft = Layer.SERVICES, False
                unit.note = f"shared by {len(routes)} routes"
                changed = True
        return changed

    def _sink_helpers(self) -> bool:
        """A helper or constant goes to the lowest layer among the units using it."""
        changed = False
        for unit in self.units:
            if unit.verdict.layer is not None or unit.pinned or not unit.soft:
                continue
            layers = [self.units[c].layer for c in self.consumers[unit.id]]
            known = [layer for layer in layers if layer is not None]
            lowest = min(known) if known else None
            if lowest != unit.layer and (
                unit.layer is None or lowest is None or lowest < unit.layer
            ):
                unit.layer = lowest
                changed = True
        return changed

    def _resolve_upward_edges(self) -> bool:
        changed = False
        for unit in self.units:
            for needed_id in self.edges[unit.id]:
                needed = self.units[needed_id]
                if unit.layer is None or needed.layer is None or needed.layer <= unit.layer:
                    continue
                if needed.soft and not needed.pinned:
                    needed.layer = unit.layer
                    needed.note = needed.note or f"used by {self._name(unit)}"
                elif not unit.pinned:
                    unit.layer = needed.layer
                    unit.soft = False
                    unit.note = f"needs {self._name(needed)} ({needed.layer.label})"
                else:
                    continue
                changed = True
        return changed

    def _instances_follow_classes(self) -> bool:
        """``book_service = BookService()`` lives with ``BookService``."""
        changed = False
        for unit in self.units:
            if unit.verdict.layer is not None or len(unit.statements) != 1:
                continue
            module = self.project.modules[unit.module]
            statement = module.statements[unit.statements[0]]
            if statement.kind is not Kind.ASSIGN:
                continue
            classes = [
                self.units[n]
                for n in self.edges[unit.id]
                if self.units[n].verdict.layer in (Layer.SERVICES, Layer.CONFIG, Layer.DEPENDENCIES)
            ]
            owner = next((c for c in classes if self._instantiates(module, statement, c)), None)
            if owner is not None and owner.layer is not None and unit.layer != owner.layer:
                unit.layer, unit.soft = owner.layer, False
                unit.note = f"instance of {self._name(owner)}"
                changed = True
        return changed

    def _instantiates(self, module: ModuleInfo, statement: Statement, owner: Unit) -> bool:
        value = assigned_value(statement)
        if not isinstance(value, cst.Call):
            return False
        called = self.classifier.resolve(module, value.func, statement)
        owner_module = self.project.modules[owner.module]
        return any(
            called == f"{owner.module}.{name}"
            for i in owner.statements
            for name in owner_module.statements[i].names
        )

    def _name(self, unit: Unit) -> str:
        module = self.project.modules[unit.module]
        return module.statements[unit.statements[0]].key

    # -- modules and targets -------------------------------------------------------
    def decide(self) -> Plan:
        plan = Plan(self.package, self.package_dir, not self.project.package)
        main = self.project.main_module
        by_module: dict[str, list[Unit]] = defaultdict(list)
        for unit in self.units:
            by_module[unit.module].append(unit)
        groups = self._route_groups(by_module)
        modules = sorted(self.project.modules.values(), key=lambda m: m.rel_path)
        proposals = {
            m.name: self._proposal(m, by_module.get(m.name, []), groups, main) for m in modules
        }
        homes = self._claim_homes(modules, proposals)
        final: dict[str, dict[int, str]] = {}
        for module in modules:
            candidates, targets = proposals[module.name]
            home = homes[module.name]
            units = by_module.get(module.name, [])
            if home == module.rel_path and candidates and candidates[0] != home:
                targets = {
                    u.id: targets.get(u.id, candidates[0])
                    for u in units
                    if not u.pinned and (u.id in targets or u.layer is not None)
                }
            final[module.name] = self._helpers_stay_home(units, home, targets)
        self._one_definition_per_name(modules, homes, final)
        for module in modules:
            plan.modules.append(
                self._module_plan(
                    module, by_module.get(module.name, []), homes[module.name], final[module.name]
                )
            )
        plan.notes.extend(self.notes)
        return plan

    def _helpers_stay_home(
        self, units: list[Unit], home: str, targets: dict[int, str]
    ) -> dict[int, str]:
        """A helper of a module that is split stays with the module when only layers above
        use it; it leaves only to go down (to where the lowest user can import it)."""
        home_layers = [
            u.layer
            for u in units
            if targets.get(u.id, home) == home
            and u.layer is not None
            and u.verdict.layer is not None
        ]
        if not home_layers:  # a module of helpers: they stay together
            return {
                uid: t for uid, t in targets.items() if self.units[uid].verdict.layer is not None
            }
        home_layer = max(home_layers)
        return {
            uid: target
            for uid, target in targets.items()
            if not (
                (unit := self.units[uid]).verdict.layer is None
                and unit.layer is not None
                and unit.layer > home_layer
            )
        }

    def _one_definition_per_name(
        self, modules: list[ModuleInfo], homes: dict[str, str], final: dict[str, dict[int, str]]
    ) -> None:
        """Two modules' ``pwd_context`` must not meet in one file: the second stays home."""
        defined: dict[tuple[str, str], str] = {}
        for module in modules:
            for unit in (u for u in self.units if u.module == module.name):
                target = final[module.name].get(unit.id, homes[module.name])
                names = [n for i in unit.statements for n in module.statements[i].names]
                clash = next(
                    (n for n in names if defined.get((target, n), module.name) != module.name), None
                )
                if clash is not None and unit.id in final[module.name]:
                    del final[module.name][unit.id]
                    self.notes.append(
                        f"{module.rel_path}: {clash} stays in this module: "
                        f"{target} already gets a {clash} from {defined[(target, clash)]}"
                    )
                    target = homes[module.name]
                for name in names:
                    defined.setdefault((target, name), module.name)
        self._users_of_shadowed_names_stay(modules, homes, final, defined)

    def _users_of_shadowed_names_stay(
        self,
        modules: list[ModuleInfo],
        homes: dict[str, str],
        final: dict[str, dict[int, str]],
        defined: dict[tuple[str, str], str],
    ) -> None:
        """A unit using its module's ``pwd_context`` cannot go where another module's
        ``pwd_context`` lives: it would silently use the other object. It stays home."""
        changed = True
        while changed:
            changed = False
            for module in modules:
                for unit in (
                    u for u in self.units if u.module == module.name and u.id in final[module.name]
                ):
                    target = final[module.name][unit.id]
                    used = {
                        n
                        for i in unit.statements
                        for n in module.statements[i].uses
                        if module.defines(n)
                    }
                    clash = next(
                        (
                            n
                            for n in sorted(used)
                            if defined.get((target, n), module.name) != module.name
                        ),
                        None,
                    )
                    if clash is None:
                        continue
                    del final[module.name][unit.id]
                    self.notes.append(
                        f"{module.rel_path}: {self._name(unit)} stays in this module: it uses its "
                        f"own {clash}, and {target} has another one"
                    )
                    for name in (n for i in unit.statements for n in module.statements[i].names):
                        defined[(homes[module.name], name)] = module.name
                    changed = True

    def _proposal(
        self, module: ModuleInfo, units: list[Unit], groups: dict[str, str], main: ModuleInfo
    ) -> tuple[list[str], dict[int, str]]:
        """(homes the module could move to, best first; unit id -> target) for one module."""
        if module.is_package:
            return [module.rel_path], {}
        if module.name == main.name:
            return [self._main_path(module)], {
                u.id: self._unit_target(u, groups)
                for u in units
                if not u.pinned and u.layer not in (None, Layer.MAIN)
            }
        classified = [
            u
            for u in units
            if not u.pinned
            and u.layer not in (None, Layer.MAIN)
            and not (u.soft and u.verdict.layer is None)
        ]
        if not classified:
            return [self._helper_module_home(module, units)], {}
        layers = {u.layer for u in classified if u.layer is not None}
        if len(layers) == 1 and self._in_place(module, next(iter(layers))):
            return [module.rel_path], {}
        movable = [u for u in units if not u.pinned and u.layer not in (None, Layer.MAIN)]
        targets = {u.id: self._unit_target(u, groups) for u in movable}
        at_home = {layer for layer in layers if self._in_place(module, layer)}
        if at_home:  # already in one of its layers' folders: it stays, the other layers leave
            return [module.rel_path], {
                uid: t
                for uid, t in targets.items()
                if self.units[uid].layer not in at_home and t != module.rel_path
            }
        weights: Counter[str] = Counter()
        for unit in classified:
            weights[targets[unit.id]] += sum(
                module.statements[i].last_line - module.statements[i].first_line + 1
                for i in unit.statements
            )
        candidates = sorted(weights, key=lambda t: (-weights[t], t))
        return candidates, targets

    def _claim_homes(
        self, modules: list[ModuleInfo], proposals: dict[str, tuple[list[str], dict[int, str]]]
    ) -> dict[str, str]:
        """One module per file: modules staying claim their own file first, then modules
        moving whole, then the ones being split (which take their next best target, or
        are dissolved into the others)."""
        homes: dict[str, str] = {}
        claimed: dict[str, str] = {}
        staying = [m for m in modules if proposals[m.name][0][0] == m.rel_path]
        whole = [
            m for m in modules if m not in staying and len(set(proposals[m.name][1].values())) <= 1
        ]
        split = [m for m in modules if m not in staying and m not in whole]
        for module in staying:
            homes[module.name] = claimed[module.rel_path] = module.rel_path
        for module in whole + split:
            candidates, _targets = proposals[module.name]
            free = [
                c
                for c in candidates
                if c not in claimed and not self._existing_elsewhere(c, module)
            ]
            if free:
                homes[module.name] = claimed[free[0]] = free[0]
            else:
                homes[module.name] = module.rel_path
                self.notes.append(
                    f"{module.rel_path}: {candidates[0]} is taken; its definitions are appended there"
                )
        return homes

    def _existing_elsewhere(self, target: str, module: ModuleInfo) -> bool:
        return target in self.project.sources and target != module.rel_path

    def _module_plan(
        self, module: ModuleInfo, units: list[Unit], home: str, targets: dict[int, str]
    ) -> ModulePlan:
        plan = ModulePlan(
            module.rel_path, home, reason=self._module_reason(module, units, home, targets)
        )
        for unit in units:
            target = targets.get(unit.id)
            if target is None or target == home:
                continue
            key = module.statements[unit.statements[0]].key
            for index in unit.statements:
                statement_key = module.statements[index].key
                plan.symbols[statement_key] = target
                plan.symbol_reasons[statement_key] = (
                    self._unit_reason(unit)
                    if index == unit.statements[0]
                    else f"needs {key} at import time"
                )
        return plan

    def _module_reason(
        self, module: ModuleInfo, units: list[Unit], home: str, targets: dict[int, str]
    ) -> str:
        """Why the module goes to ``home``: said of the definitions that go there with it,
        not of the ones a split sends elsewhere."""
        if home == module.rel_path:
            return ""
        if module.name == self.project.main_module.name:
            return "the FastAPI app, into the new package"
        staying = [
            u
            for u in units
            if not u.pinned
            and u.layer not in (None, Layer.MAIN)
            and targets.get(u.id, home) == home
        ]
        decided = [u for u in staying if not (u.soft and u.verdict.layer is None)]
        if not decided:
            return self._helpers_reason(module, units, home)
        layer = Counter(u.layer for u in decided).most_common(1)[0][0]
        assert layer is not None
        why = [
            u.verdict.reason if u.verdict.layer is not None else u.note
            for u in decided
            if u.layer is layer
        ]
        return f"{layer.label}: {join_reasons(why)}"

    def _helpers_reason(self, module: ModuleInfo, units: list[Unit], home: str) -> str:
        """A module of helpers goes to the folder of the lowest layer that uses it."""
        consumers = {
            self.units[c].layer
            for u in units
            for c in self.consumers[u.id]
            if self.units[c].module != module.name
        }
        users = sorted(layer for layer in consumers if layer is not None)
        if not users:
            return "helpers only, used by no layer"
        inside = home.removeprefix(f"{self.package_dir}/") if self.package_dir else home
        folder = inside.split("/")[0] + "/" if "/" in inside else inside
        return f"helpers only; its lowest user is {users[0].label}, hence {folder}"

    def _unit_reason(self, unit: Unit) -> str:
        reason = unit.verdict.reason
        if unit.note:
            reason = f"{reason}; {unit.note}" if unit.verdict.layer is not None else unit.note
        elif (
            unit.verdict.layer is None and unit.layer is not None
        ):  # a helper sunk to its lowest user
            reason = f"{reason} used by {unit.layer.label}"
        return reason

    def _in_place(self, module: ModuleInfo, layer: Layer) -> bool:
        inside = self._inside_package(module.rel_path)
        return inside is not None and inside.startswith(LAYER_HOMES.get(layer, ("\0",)))

    def _inside_package(self, rel_path: str) -> str | None:
        prefix = f"{self.package_dir}/" if self.package_dir else ""
        if self.project.package and rel_path.startswith(prefix):
            return rel_path[len(prefix) :]
        return None

    def _path(self, inside: str) -> str:
        return f"{self.package_dir}/{inside}" if self.package_dir else inside

    def _main_path(self, module: ModuleInfo) -> str:
        if self.project.package:
            return module.rel_path
        return self._path("main.py")

    def _helper_module_home(self, module: ModuleInfo, units: list[Unit]) -> str:
        """A module of helpers only: in ``core/`` when the layers below services use it,
        else in ``services/``; already in one of the layer folders, it stays."""
        inside = self._inside_package(module.rel_path)
        if inside is not None and inside.startswith(("core/", "services/", "models/", "api/")):
            return module.rel_path
        if not self.project.package and module.name == self.project.main_module.name:
            return self._main_path(module)
        consumers = [
            self.units[c]
            for u in units
            for c in self.consumers[u.id]
            if self.units[c].module != module.name
        ]
        layers = [c.layer for c in consumers if c.layer is not None]
        if not layers:
            if self.project.package:
                return module.rel_path
            return self._path(module.rel_path.removeprefix(f"{self.project.run_folder}/"))
        folder = "core" if min(layers) <= Layer.SECURITY else "services"
        return self._path(f"{folder}/{_stem(module)}.py")

    def _unit_target(
        self, unit: Unit, groups: dict[str, str], module: ModuleInfo | None = None
    ) -> str:
        layer = unit.layer
        assert layer is not None
        if layer in LAYER_FILES:
            return self._path(LAYER_FILES[layer])
        if layer is Layer.MODELS:
            return self._path(f"models/{self._model_entity(unit)}.py")
        if layer is Layer.SERVICES:
            return self._path(f"services/{self._service_name(unit)}.py")
        if layer is Layer.ROUTES:
            return groups.get(self._route_group(unit)) or self._helper_route_file(unit, groups)
        raise AssertionError(layer)

    def _helper_route_file(self, unit: Unit, groups: dict[str, str]) -> str:
        """A helper only routes use, in a module that defines no routes: with the routes
        when they are one file, else in a routes file of its own."""
        files = set(groups.values())
        if len(files) <= 1:
            return files.pop() if files else self._path("api/v1/routes.py")
        return self._path(f"api/v1/routes/{_stem(self.project.modules[unit.module])}.py")

    def _model_entity(self, unit: Unit) -> str:
        if unit.verdict.entity:
            return snake_case(unit.verdict.entity) if unit.verdict.entity != "base" else "base"
        owners = {
            self._model_entity(self.units[c])
            for c in self.consumers[unit.id]
            if self.units[c].layer is Layer.MODELS and self.units[c].verdict.entity
        }
        return owners.pop() if len(owners) == 1 else "base"

    def _service_name(self, unit: Unit) -> str:
        """``services/<entity>_service.py`` for what a single-file app splits out; the
        services of another module stay together, named after it."""
        module = self.project.modules[unit.module]
        if module.name != self.project.main_module.name:
            return self._services_module_name(module)
        if unit.verdict.entity:
            return f"{snake_case(unit.verdict.entity)}_service"
        owners = {
            self._service_name(self.units[c])
            for c in self.consumers[unit.id]
            if self.units[c].layer is Layer.SERVICES
            and self.units[c].id != unit.id
            and self.units[c].verdict.layer is Layer.SERVICES
        }
        if len(owners) == 1:
            return owners.pop()
        domains = self._route_domains(unit, set())
        if len(domains) == 1:
            return f"{domains.pop()}_service"
        stem = _stem(module)
        return "common_service" if stem in GENERIC_STEMS else f"{stem}_service"

    def _route_domains(self, unit: Unit, seen: set[int]) -> set[str]:
        """The domains (``item`` for ``/api/v1/items/{id}``) of the routes using ``unit``,
        directly or through other services."""
        seen.add(unit.id)
        domains: set[str] = set()
        for consumer_id in self.consumers[unit.id] - seen:
            consumer = self.units[consumer_id]
            if consumer.verdict.layer is Layer.ROUTES:
                module = self.project.modules[consumer.module]
                for index in consumer.statements:
                    domain = route_domain(module.statements[index].node)
                    if domain:
                        domains.add(domain)
            elif consumer.layer is Layer.SERVICES:
                domains |= self._route_domains(consumer, seen)
        return domains

    def _services_module_name(self, module: ModuleInfo) -> str:
        entities = {
            u.verdict.entity
            for u in self.units
            if u.module == module.name and u.verdict.layer is Layer.SERVICES
        }
        stem = _stem(module)
        if len(entities) == 1 and (entity := entities.pop()) is not None:
            return f"{snake_case(entity)}_service"
        if stem.endswith(("service", "services")):
            return "common_service"
        return f"{stem}_service"

    # -- routes --------------------------------------------------------------------
    def _route_group(self, unit: Unit) -> str:
        """Routes are grouped by router: a module of routes, or a router object of main."""
        module = self.project.modules[unit.module]
        if module.name != self.project.main_module.name:
            return module.name
        router = unit.verdict.router
        if router is None:  # a helper used by routes: with the routes using it
            groups = {
                self._route_group(self.units[c])
                for c in self.consumers[unit.id]
                if self.units[c].layer is Layer.ROUTES and self.units[c].id != unit.id
            }
            return groups.pop() if len(groups) == 1 else "main:app"
        return f"main:{router}"

    def _route_groups(self, by_module: dict[str, list[Unit]]) -> dict[str, str]:
        """Route group -> target file: ``routes.py`` for one group, ``routes/<name>.py`` else."""
        groups: dict[str, str] = {}
        main = self.project.main_module.name
        for module_name, units in by_module.items():
            module = self.project.modules[module_name]
            for unit in units:
                if unit.layer is not Layer.ROUTES or unit.pinned:
                    continue
                if unit.soft and unit.verdict.layer is None:  # a helper sunk to routes is no router
                    continue
                group = self._route_group(unit)
                if group in groups:
                    continue
                if module_name == main:
                    router = group.partition(":")[2]
                    groups[group] = "root" if router == "app" else _router_stem(router)
                else:
                    groups[group] = _stem(module)
        if len(groups) <= 1:
            return {g: self._path("api/v1/routes.py") for g in groups}
        taken: set[str] = set()
        targets = {}
        for group, name in groups.items():
            unique, n = name, 2
            while unique in taken:
                unique, n = f"{name}_{n}", n + 1
            taken.add(unique)
            targets[group] = self._path(f"api/v1/routes/{unique}.py")
        return targets


def _router_stem(name: str) -> str:
    stem = re.sub(r"(^router_|_router$|^router$)", "", name)
    return stem or "main"


def _stem(module: ModuleInfo) -> str:
    parts = module.name.split(".")
    stem = parts[-1]
    if stem in GENERIC_STEMS and len(parts) >= 3:
        return parts[-2]
    return stem


def snake_case(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name).lower()


def _merge(verdicts: list[Verdict]) -> Verdict:
    """One verdict for statements that stay together: the highest layer wins."""
    pinned = [v for v in verdicts if v.pinned]
    if pinned:
        return pinned[0]
    layered = [(v.layer, v) for v in verdicts if v.layer is not None]
    if not layered:
        return verdicts[0]
    _, top = max(layered, key=lambda pair: pair[0])
    classified = [v for _, v in layered]
    entity = next((v.entity for v in classified if v.layer is top.layer and v.entity), top.entity)
    return Verdict(top.layer, top.reason, entity, top.router)


def _group_statements(module: ModuleInfo, verdicts: dict[int, Verdict]) -> list[list[int]]:
    """Statements that must stay together: same name bound, or needed by each other."""
    parent = {index: index for index in verdicts}

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def union(a: int, b: int) -> None:
        parent[find(a)] = find(b)

    for indices in module.binders.values():
        own = [i for i in indices if i in parent]
        for other in own[1:]:
            union(own[0], other)
    graph: dict[int, set[int]] = defaultdict(set)
    for index in verdicts:
        statement = module.statements[index]
        orm_class = verdicts[index].layer is Layer.MODELS and statement.kind is Kind.CLASS
        for name, runtime in statement.uses.items():
            if orm_class and not runtime:
                continue
            for other in module.binders.get(name, []):
                if other in parent and other != index:
                    graph[index].add(other)
    for component in strongly_connected(list(verdicts), graph):
        for other in component[1:]:
            union(component[0], other)
    groups: dict[int, list[int]] = defaultdict(list)
    for index in sorted(verdicts):
        groups[find(index)].append(index)
    return sorted(groups.values(), key=lambda g: g[0])


def strongly_connected(nodes: list[Node], graph: Mapping[Node, Iterable[Node]]) -> list[list[Node]]:
    """Tarjan's algorithm, iterative; components in no particular order, members sorted."""
    index_of: dict[Node, int] = {}
    low: dict[Node, int] = {}
    stack: list[Node] = []
    on_stack: set[Node] = set()
    result: list[list[Node]] = []
    counter = 0
    for start in nodes:
        if start in index_of:
            continue
        work = [(start, iter(sorted(graph.get(start, ()), key=repr)))]
        index_of[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in index_of:
                    index_of[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ()), key=repr))))
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index_of[child])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index_of[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                result.append(sorted(component, key=repr))
    return result


def join_reasons(reasons: list[str], most: int = 3) -> str:
    """The commonest reasons first, "uses X" clauses merged ("uses hashlib, hmac"), a
    reason dropped when a longer one says it ("APIRouter" beside "APIRouter route")."""
    counts = Counter(reasons)
    ordered = sorted(counts, key=lambda r: (-counts[r], reasons.index(r)))
    ordered = [r for r in ordered if not any(o != r and o.startswith(f"{r} ") for o in ordered)]
    used = [r[len("uses ") :] for r in ordered if r.startswith("uses ")]
    clauses: list[str] = []
    for reason in ordered:
        if not reason.startswith("uses "):
            clauses.append(reason)
        elif reason[len("uses ") :] == used[0]:
            clauses.append("uses " + ", ".join(used[:most]) + (", ..." if len(used) > most else ""))
    return "; ".join(clauses[:most]) + ("; ..." if len(clauses) > most else "")


def route_domain(node: cst.CSTNode) -> str | None:
    """``item`` for a route decorated ``@app.get("/api/v1/items/{item_id}")``: the first
    path segment that is not ``api``, a version or a parameter, in the singular."""
    if not isinstance(node, cst.FunctionDef):
        return None
    for decorator in node.decorators:
        call = decorator.decorator
        if not (isinstance(call, cst.Call) and call.args):
            continue
        path = call.args[0].value
        if not isinstance(path, cst.SimpleString):
            continue
        value = path.evaluated_value
        segments = [
            segment
            for segment in (value.split("/") if isinstance(value, str) else [])
            if segment
            and segment != "api"
            and not segment.startswith("{")
            and not (segment[0] == "v" and segment[1:].isdigit())
        ]
        if not segments:
            continue
        domain = snake_case(segments[0].replace("-", "_"))
        if domain.endswith("s") and not domain.endswith("ss") and len(domain) > 3:
            domain = domain[:-1]
        return domain if domain.isidentifier() and not keyword.iskeyword(domain) else None
    return None


def _uses_in_body(statement: Statement, name: str) -> bool:
    """Whether a decorated function uses ``name`` outside its decorators."""
    node = statement.node
    if not isinstance(node, cst.FunctionDef):
        return True
    found = False

    class Finder(cst.CSTVisitor):
        def visit_Name(self, n: cst.Name) -> None:
            nonlocal found
            found = found or n.value == name

    for part in (node.params, node.body, node.returns):
        if part is not None:
            part.visit(Finder())
    return found


def needs_analysis(project: ProjectIndex, force: bool) -> bool:
    """Whether the members must be analysed to plan: not when the project is already
    layered or organised by domain (told from their names alone), unless forced."""
    return force or organisation(project)[0] not in ("domain", "layered")


def propose(
    project: ProjectIndex, new_package: str = "app", force: bool = False
) -> tuple[Plan, Planner]:
    """The plan for a project; empty (with a note) when it is already laid out."""
    kind, detail = organisation(project)
    classifier = Classifier(project)
    planner = Planner(project, classifier, new_package)
    if kind == "domain" and not force:
        plan = Plan(planner.package, planner.package_dir, False, organisation=kind)
        plan.notes.append(
            f"organised by domain (feature packages: {detail}): nothing to do; "
            "layered-layout does not flatten a domain layout unless you pass --layout-force"
        )
        return plan, planner
    if kind == "layered" and not force:
        plan = Plan(planner.package, planner.package_dir, False, organisation=kind)
        plan.notes.append(
            f"already layered ({detail}): nothing to do (--layout-force plans anyway)"
        )
        return plan, planner
    planner.build_units()
    planner.assign_layers()
    plan = planner.decide()
    plan.organisation = kind
    if plan.is_empty:
        plan.notes.append("every module is already where its layer goes: nothing to do")
    return plan, planner
