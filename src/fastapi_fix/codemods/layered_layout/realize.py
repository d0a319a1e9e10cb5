"""From a plan to a `ProjectChange`: every target module composed, every other file's
references rewritten, non-Python files rewritten or reported, and the result checked
(it compiles; the move adds no import cycle) before anyone may apply it.
"""

from __future__ import annotations

import ast
import warnings
from collections import defaultdict
from collections.abc import Callable

from fastapi_fix.codemods.layered_layout.classify import Classifier, Layer
from fastapi_fix.codemods.layered_layout.compose import Composer, TargetFile
from fastapi_fix.codemods.layered_layout.imports import ImportSpec, World
from fastapi_fix.codemods.layered_layout.index import Kind, ModuleInfo, analyse, has_main_guard
from fastapi_fix.codemods.layered_layout.plan import Plan, join_reasons, strongly_connected
from fastapi_fix.codemods.layered_layout.project_index import ProjectIndex
from fastapi_fix.codemods.layered_layout.strings import (
    PythonStrings,
    References,
    project_text_files,
    queued_work_findings,
    rewrite_text_file,
)
from fastapi_fix.engine.codemod import SourceFile
from fastapi_fix.engine.parsing import compile_error
from fastapi_fix.engine.project_change import FileChange, PlanRow, ProjectChange
from fastapi_fix.engine.results import Finding
from fastapi_fix.project.fastapi import resolve_relative

CODEMOD = "layered-layout"
MODELS_DOCSTRING = (
    "Every ORM model, imported here so that the mapper registry and the metadata are complete."
)


def realize(
    project: ProjectIndex, plan: Plan, classifier: Classifier | None = None
) -> ProjectChange:
    classifier = classifier or Classifier(project)
    change = ProjectChange(project.root)
    change.notes.extend(plan.notes)
    if plan.is_empty:
        return change
    world, targets, errors = _build_world(project, plan, classifier, change.findings)
    if errors:  # the plan is ambiguous or impossible as it stands: the user edits it
        change.errors.extend(errors)
        change.refused = True
        return change
    references = References(world)
    strings = PythonStrings(references)
    orm = {
        (m.name, s.index)
        for m in project.members
        for s in m.statements
        if s.kind is Kind.CLASS and classifier.classify(m, s).layer is Layer.MODELS
    }
    composer = Composer(world, orm, strings)
    contents: dict[str, bytes] = {}
    for path, target in sorted(targets.items()):
        data = composer.compose(target)
        if data is not None:
            contents[path] = data
    _rewrite_other_files(project, world, composer, contents, change)
    change.findings.extend(composer.findings)
    change.errors.extend(composer.errors)
    change.refused = bool(composer.errors)  # a name meaning two things: edit the plan
    _files(project, world, targets, contents, change)
    _text_files(project, world, references, change)
    _reports(project, world, change)
    _root_siblings(project, change)
    _schema_name_clashes(project, world, classifier, change)
    change.findings.extend(references.findings)
    _check(project, world, change)
    change.findings.extend(against_the_layers(world, change))
    change.rows.extend(_rows(project, plan, targets, change))
    return change


# -- the world after the move ----------------------------------------------------------


def _build_world(
    project: ProjectIndex, plan: Plan, classifier: Classifier, findings: list[Finding]
) -> tuple[World, dict[str, TargetFile], list[str]]:
    world = World(project, plan.package, plan.package_dir)
    world.known_modules = {f.module_name for f in project.files}
    errors: list[str] = []
    homes: dict[str, str] = {}
    for module in project.members:
        module_plan = plan.module(module.rel_path)
        home = module_plan.target if module_plan else module.rel_path
        homes[module.name] = home
        symbols = dict(module_plan.symbols) if module_plan else {}
        keys = {
            s.key for s in module.statements if not s.is_import and s.kind is not Kind.DOCSTRING
        }
        errors.extend(
            f"{module.rel_path}: the plan moves {key}, which the module does not define"
            for key in symbols
            if key not in keys
        )
        for statement in module.statements:
            if statement.is_import or statement.kind is Kind.DOCSTRING:
                continue
            path = symbols.get(statement.key, home)
            if path != home and classifier.classify(module, statement).pinned:
                errors.append(
                    f"{module.rel_path}: {statement.key} has to stay in its module "
                    f"({classifier.classify(module, statement).reason})"
                )
                path = home
            world.placements[(module.name, statement.index)] = path
    errors.extend(
        f"{path}: a target must be a .py file"
        for path in set(world.placements.values()) | set(homes.values())
        if not path.endswith(".py")
    )
    targets: dict[str, TargetFile] = {}

    def target(path: str) -> TargetFile:
        if path not in targets:
            targets[path] = TargetFile(path, world.module_for_path(path))
        return targets[path]

    for module in project.members:
        home = homes[module.name]
        placed_home = [
            s for s in module.statements if world.placements.get((module.name, s.index)) == home
        ]
        keeps_file = (
            bool(placed_home)
            or module.is_package
            or module.name == project.main_module.name
            or not any(not s.is_import and s.kind is not Kind.DOCSTRING for s in module.statements)
        )
        if keeps_file:
            if (already := target(home).base) is not None:
                errors.append(
                    f"{home}: both {already.rel_path} and {module.rel_path} would move there"
                )
            target(home).base = module
            world.module_map[module.name] = world.module_for_path(home)
        else:
            world.deleted.add(module.name)
        for statement in module.statements:
            placed = world.placements.get((module.name, statement.index))
            if placed is not None and placed != home:
                target(placed).parts.setdefault(module.name, []).append(statement.index)
                for name in statement.names:
                    world.symbol_map[(module.name, name)] = world.module_for_path(placed)
    for path, file in targets.items():
        world.path_modules[path] = file.module
        existing = project.sources.get(path) is not None
        owner = file.base.rel_path if file.base else None
        if (
            existing
            and owner != path
            and not any(
                (m.rel_path == path and m.name in world.deleted)
                or (homes.get(m.name) != m.rel_path and m.rel_path == path)
                for m in project.members
            )
        ):
            errors.append(f"{path} already exists and is not part of the move: pick another target")
    _app_routes(project, world, targets, classifier, errors, findings)
    _models_aggregator(project, plan, world, targets, classifier)
    _new_packages(project, plan, world, targets)
    _modules_becoming_packages(project, world, targets)
    _history(project, world, targets)
    _bindings(project, world, targets)
    return world, targets, errors


def _app_routes(
    project: ProjectIndex,
    world: World,
    targets: dict[str, TargetFile],
    classifier: Classifier,
    errors: list[str],
    findings: list[Finding],
) -> None:
    """``@app.get`` routes leaving the app's module: their targets get a router, main includes it."""
    for module in project.members:
        app_names = [
            s.key
            for s in module.statements
            if s.kind is Kind.ASSIGN and f"{module.name}.{s.key}" in classifier.facts.apps
        ]
        if not app_names:
            continue
        base_target = next(t for t in targets.values() if t.base is module)
        moved_routes: list[tuple[int, str]] = []
        for statement in module.statements:
            placed = world.placements.get((module.name, statement.index))
            if (
                statement.kind is Kind.DEF
                and placed is not None
                and placed != base_target.path
                and classifier.classify(module, statement).router == "app"
            ):
                moved_routes.append((statement.index, placed))
        if not moved_routes:
            continue
        _route_order(module, world, moved_routes, findings)
        base_target.app_routes[module.name] = app_names[0]
        base_target.include_at = moved_routes[0][0]
        for _index, path in moved_routes:
            routes = targets[path]
            if routes.base is not None:
                errors.append(
                    f"{path}: @{app_names[0]} routes can only move to a new module (a router there "
                    "may have a prefix); pick another target"
                )
                continue
            routes.app_routes[module.name] = app_names[0]
            taken = {
                n
                for p in routes.parts
                for i in routes.parts[p]
                for n in project.modules[p].statements[i].names
            }
            routes.router_name = "router" if "router" not in taken else "api_router"
            entry = (routes.module, routes.router_name)
            if entry not in base_target.include_routers:
                base_target.include_routers.append(entry)


def _route_order(
    module: ModuleInfo, world: World, moved: list[tuple[int, str]], findings: list[Finding]
) -> None:
    """The moved routes are included at once, where the first was: a statement staying
    between them (``include_router``, ``mount``) now comes after all of them."""
    first, last = moved[0][0], moved[-1][0]
    findings.extend(
        Finding(
            module.rel_path,
            statement.first_line,
            1,
            CODEMOD,
            "route order: this statement sat between routes that move together; "
            "the routes after it are now registered before it",
        )
        for statement in module.statements[first:last]
        if statement.kind is Kind.OTHER
        and world.placements.get((module.name, statement.index)) == module.rel_path
    )


def _models_aggregator(
    project: ProjectIndex,
    plan: Plan,
    world: World,
    targets: dict[str, TargetFile],
    classifier: Classifier,
) -> None:
    """``models/__init__.py`` imports every model module, so the metadata is complete
    whichever model is imported first (SQLAlchemy needs all mapped classes)."""
    folder = f"{plan.package_dir}/models/" if plan.package_dir else "models/"
    new_modules = [
        p
        for p in targets
        if p.startswith(folder) and p not in project.sources and not p.endswith("__init__.py")
    ]
    if not new_modules:
        return
    init = f"{folder}__init__.py"
    aggregator = targets.get(init) or TargetFile(init, world.module_for_path(init))
    targets[init] = aggregator
    if aggregator.base is None:
        aggregator.docstring = MODELS_DOCSTRING
    relative = any(m.relative_style for m in project.members)
    for path in sorted(new_modules):
        file = targets[path]
        for source_name, indices in sorted(file.parts.items()):
            module = project.modules[source_name]
            for index in sorted(indices):
                statement = module.statements[index]
                if classifier.classify(
                    module, statement
                ).layer is Layer.MODELS and statement.kind in (Kind.CLASS, Kind.ASSIGN):
                    for name in statement.names:
                        aggregator.aggregate.append(ImportSpec(file.module, name, None, relative))
        if file.base is not None:
            for statement in file.base.statements:
                if (
                    world.placements.get((file.base.name, statement.index)) == path
                    and classifier.classify(file.base, statement).layer is Layer.MODELS
                ):
                    for name in statement.names:
                        aggregator.aggregate.append(ImportSpec(file.module, name, None, relative))


def _new_packages(
    project: ProjectIndex, plan: Plan, world: World, targets: dict[str, TargetFile]
) -> None:
    """Every folder a target lands in is a package: empty ``__init__.py`` where missing."""
    top = plan.package_dir
    for path in list(targets):
        folder = path.rpartition("/")[0]
        while folder and (folder == top or folder.startswith(f"{top}/") or not top):
            init = f"{folder}/__init__.py"
            if init not in project.sources and init not in targets:
                targets[init] = TargetFile(init, world.module_for_path(init))
            if folder == top or "/" not in folder:
                break
            folder = folder.rpartition("/")[0]


def _modules_becoming_packages(
    project: ProjectIndex, world: World, targets: dict[str, TargetFile]
) -> None:
    """``models.py`` split into ``models/``: the name ``pkg.models`` now means the package,
    whose ``__init__`` imports every model; what it does not import is found where it went."""
    for module in project.members:
        if module.is_package:
            continue
        init = module.rel_path.removesuffix(".py") + "/__init__.py"
        if init not in targets:
            continue
        package = targets[init].module
        for statement in module.statements:
            path = world.placements.get((module.name, statement.index))
            if path is not None:
                for name in statement.names:
                    world.symbol_map[(module.name, name)] = world.module_for_path(path)
        world.module_map[module.name] = package
        world.deleted.discard(module.name)


def _history(project: ProjectIndex, world: World, targets: dict[str, TargetFile]) -> None:
    """A module that disappears becomes (``git mv``) the new file that got most of it."""
    for module in project.members:
        if module.name not in world.deleted:
            continue
        weights: dict[str, int] = defaultdict(int)
        for statement in module.statements:
            path = world.placements.get((module.name, statement.index))
            if path is not None and targets[path].base is None and targets[path].history is None:
                weights[path] += statement.last_line - statement.first_line + 1
        if weights:
            best = max(sorted(weights), key=lambda p: weights[p])
            targets[best].history = module


def _bindings(project: ProjectIndex, world: World, targets: dict[str, TargetFile]) -> None:
    """The names each new module binds at its top level."""
    for path, file in targets.items():
        names = world.bindings[file.module]
        for source_name, indices in file.parts.items():
            for index in indices:
                names.update(project.modules[source_name].statements[index].names)
        names.update(spec.local for spec in file.aggregate)
        base = file.base
        if base is None:
            continue
        placed = [s for s in base.statements if world.placements.get((base.name, s.index)) == path]
        used = {n for s in placed for n in s.uses}
        used_anywhere = {n for s in base.statements if not s.is_import for n in s.uses}
        for statement in placed:
            names.update(statement.names)
        for name in base.imports:
            if name in used or name not in used_anywhere or name in base.all_names:
                names.add(name)


# -- everything else -----------------------------------------------------------------------


def _rewrite_other_files(
    project: ProjectIndex,
    world: World,
    composer: Composer,
    contents: dict[str, bytes],
    change: ProjectChange,
) -> None:
    """Files outside the app's package (tests, scripts, migrations): their references."""
    members = {m.rel_path for m in project.members}
    markers = _markers(project, world)
    for file in project.files:
        rel = project.rel_paths[file]
        if rel in members:
            continue
        data = project.sources[rel]
        if not any(marker in data for marker in markers):
            continue
        try:
            info = analyse(file, rel, data)
        except Exception as exc:  # noqa: BLE001 - a file that does not parse is reported, not fatal
            change.findings.append(
                Finding(rel, 1, 1, CODEMOD, f"not checked for references: {exc}")
            )
            continue
        for statement in info.statements:
            world.placements[(info.name, statement.index)] = rel
        new = composer.compose(TargetFile(rel, file.module_name, base=info))
        if new is not None and new != data:
            contents[rel] = new


def _markers(project: ProjectIndex, world: World) -> set[bytes]:
    """Byte strings one of which any file referring to a changed module contains."""
    markers = set()
    for module in project.members:
        if world.changed(module.name):
            markers.add(module.name.rpartition(".")[2].encode())
    return markers


def _files(
    project: ProjectIndex,
    world: World,
    targets: dict[str, TargetFile],
    contents: dict[str, bytes],
    change: ProjectChange,
) -> None:
    used_history: set[str] = set()
    for path, file in sorted(targets.items()):
        data = contents.get(path)
        if file.base is not None:
            old = project.sources[file.base.rel_path]
            if data is None:
                continue
            if file.base.rel_path != path or data != old:
                change.files.append(FileChange(file.base.rel_path, path, old, data))
        elif data is not None or path.endswith("__init__.py"):
            data = data if data is not None else b""
            if file.history is not None:
                old = project.sources[file.history.rel_path]
                change.files.append(FileChange(file.history.rel_path, path, old, data))
                used_history.add(file.history.name)
            else:
                change.files.append(FileChange(None, path, None, data))
    for module in project.members:
        if module.name in world.deleted and module.name not in used_history:
            change.files.append(
                FileChange(module.rel_path, None, project.sources[module.rel_path], None)
            )
    members = {m.rel_path for m in project.members}
    for rel, data in sorted(contents.items()):
        if rel not in targets and rel not in members:
            change.files.append(FileChange(rel, rel, project.sources[rel], data))
    _drop_emptied_packages(project, world, change)


def _drop_emptied_packages(project: ProjectIndex, world: World, change: ProjectChange) -> None:
    """A package whose modules all moved away, with an empty ``__init__.py``, goes too."""
    leaving = {f.old_path for f in change.files if f.old_path and f.new_path != f.old_path}
    arriving = {f.new_path for f in change.files if f.new_path}
    for module in project.members:
        if not module.is_package or module.name == world.package or module.rel_path in leaving:
            continue
        if (
            any(not s.is_import and s.kind is not Kind.DOCSTRING for s in module.statements)
            or module.imports
        ):
            continue
        folder = module.rel_path.rpartition("/")[0] + "/"
        remaining = [
            p
            for p in project.sources
            if p.startswith(folder) and p != module.rel_path and p not in leaving
        ]
        remaining += [p for p in arriving if p.startswith(folder) and p != module.rel_path]
        if not remaining:
            change.files.append(
                FileChange(module.rel_path, None, project.sources[module.rel_path], None)
            )
            change.notes.append(
                f"{module.rel_path}: the package is empty after the move and is removed"
            )


def _text_files(
    project: ProjectIndex, world: World, references: References, change: ProjectChange
) -> None:
    path_moves: dict[str, str | None] = {}
    for module in project.members:
        if module.name in world.deleted:
            path_moves[module.rel_path] = None
        else:
            new_module = world.new_module(module.name)
            new_path = next((p for p, m in world.path_modules.items() if m == new_module), None)
            if new_path and new_path != module.rel_path:
                path_moves[module.rel_path] = new_path
    root_modules = {m.name for m in project.members if "." not in m.name and not project.package}
    for rel, kind in project_text_files(project.root):
        try:
            raw = (project.root / rel).read_bytes()
            text = raw.decode("utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        result = rewrite_text_file(rel, text, kind, references, path_moves, root_modules)
        change.findings.extend(result.findings)
        if result.new is not None:
            change.files.append(FileChange(rel, rel, raw, result.new.encode("utf-8")))


def _reports(project: ProjectIndex, world: World, change: ProjectChange) -> None:
    """What a move can break silently: ``__file__`` paths, ``__name__`` values, scripts."""
    for module in project.members:
        moved_lines = _moved_lines(module, world)
        for line in module.file_uses:
            if line in moved_lines:
                change.findings.append(
                    Finding(
                        module.rel_path,
                        line,
                        1,
                        CODEMOD,
                        f"uses __file__, and this code moves to {moved_lines[line]}: "
                        "check the paths built from it",
                    )
                )
        for line in module.name_uses:
            if line in moved_lines:
                change.findings.append(
                    Finding(
                        module.rel_path,
                        line,
                        1,
                        CODEMOD,
                        f"uses __name__ (a logger name?), which becomes "
                        f"{world.module_for_path(moved_lines[line])}",
                    )
                )
        change.findings.extend(queued_work_findings(module, world, moved_lines))
        if has_main_guard(module) and module.name not in world.deleted and world.moves(module.name):
            change.findings.append(
                Finding(
                    module.rel_path,
                    1,
                    1,
                    CODEMOD,
                    f"runs as a script; run it as `python -m {world.new_module(module.name)}` now",
                )
            )
        _dynamic_imports(module, change)


def _schema_name_clashes(
    project: ProjectIndex, world: World, classifier: Classifier, change: ProjectChange
) -> None:
    """FastAPI names an OpenAPI component after its module when two models share a class
    name (``app__schemas__Out``): moving one renames the component in the schema."""
    by_name: dict[str, list[tuple[ModuleInfo, int]]] = defaultdict(list)
    for module in project.members:
        for statement in module.statements:
            if (
                statement.kind is Kind.CLASS
                and classifier.classify(module, statement).layer is Layer.SCHEMAS
            ):
                by_name[statement.key].append((module, statement.index))
    for name, places in sorted(by_name.items()):
        if len(places) < 2:
            continue
        for module, index in places:
            statement = module.statements[index]
            if world.placements.get((module.name, index)) != module.rel_path:
                change.findings.append(
                    Finding(
                        module.rel_path,
                        statement.first_line,
                        1,
                        CODEMOD,
                        f"{name} is also defined in another module: FastAPI names its "
                        "OpenAPI component after the module, which changes with this move",
                    )
                )


def _root_siblings(project: ProjectIndex, change: ProjectChange) -> None:
    """A root-level app only moves its own modules: say which packages it uses stay put."""
    if project.package:
        return
    members = {m.name for m in project.members}
    used = sorted(
        {
            imported.module.partition(".")[0]
            for m in project.members
            for imported in m.imports.values()
            if imported.module.partition(".")[0] not in members
            and project.is_root_package(imported.module.partition(".")[0])
        }
    )
    if used:
        change.notes.append(
            f"packages at the root the app imports stay where they are: {', '.join(used)} "
            "(only the app's own modules move)"
        )


def _moved_lines(module: ModuleInfo, world: World) -> dict[int, str]:
    lines = {}
    for statement in module.statements:
        path = world.placements.get((module.name, statement.index))
        if path is not None and path != module.rel_path:
            for line in range(statement.first_line, statement.last_line + 1):
                lines[line] = path
    return lines


def _dynamic_imports(module: ModuleInfo, change: ProjectChange) -> None:
    import libcst as cst
    from libcst.helpers import get_full_name_for_node
    from libcst.metadata import MetadataWrapper, PositionProvider

    class Finder(cst.CSTVisitor):
        METADATA_DEPENDENCIES = (PositionProvider,)

        def visit_Call(self, node: cst.Call) -> None:
            name = get_full_name_for_node(node.func)
            if (
                name in ("importlib.import_module", "import_module", "__import__")
                and node.args
                and not isinstance(node.args[0].value, cst.SimpleString)
            ):
                position = self.get_metadata(PositionProvider, node).start
                change.findings.append(
                    Finding(
                        module.rel_path,
                        position.line,
                        position.column + 1,
                        CODEMOD,
                        "dynamic import with a computed name: check it still finds its module",
                    )
                )

    MetadataWrapper(module.tree, unsafe_skip_copy=True).visit(Finder())


# -- checks --------------------------------------------------------------------------------


def _check(project: ProjectIndex, world: World, change: ProjectChange) -> None:
    # Code this Python cannot compile (newer syntax) cannot be checked here: say so.
    uncompilable = {m.rel_path for m in project.members if compile_error(m.source, m.rel_path)}
    for file in change.files:
        if file.new is None or not file.path.endswith(".py"):
            continue
        problem = compile_error(file.new, file.path)
        if problem is None:
            continue
        if (file.old is not None and compile_error(file.old, file.path)) or (
            file.old is None and uncompilable
        ):
            change.findings.append(
                Finding(
                    file.path,
                    1,
                    1,
                    CODEMOD,
                    "not compiled: the project uses syntax this "
                    "Python does not know; run fastapi-fix under the project's Python",
                )
            )
        else:
            change.errors.append(
                f"{file.path}: the new content does not compile: {problem} (a bug: please report)"
            )
    old_names = {project.rel_paths[f]: f.module_name for f in project.files}
    old_graph = _import_graph(
        {rel: project.sources[rel] for rel in old_names}, project, old_names.__getitem__
    )
    new_sources = {
        project.rel_paths[f]: project.sources[project.rel_paths[f]] for f in project.files
    }
    for file in change.files:
        if file.old_path:
            new_sources.pop(file.old_path, None)
    for file in change.files:
        if file.new_path and file.new is not None:
            new_sources[file.new_path] = file.new
    new_graph = _import_graph(new_sources, project, world.module_for_path, fresh=True)
    mapped_old = {
        (world.new_module(a), world.new_module(b))
        for a, targets in old_graph.items()
        for b in targets
    }
    for component in strongly_connected(sorted(new_graph), new_graph):
        if len(component) < 2:
            continue
        members = set(component)
        new_edges = [
            (a, b)
            for a in component
            for b in new_graph[a]
            if b in members and (a, b) not in mapped_old
        ]
        if new_edges:
            cycle = " -> ".join([*component, component[0]])
            change.refused = True
            change.errors.append(
                f"the move would create an import cycle: {cycle}; edit the plan "
                f"(new edge {new_edges[0][0]} -> {new_edges[0][1]})"
            )
    _check_layers(world, new_graph, mapped_old, change)


# Where each layer lives, relative to the package, lowest first (see `classify.Layer`).
LAYER_PATHS = (
    (Layer.CONFIG, "core/config"),
    (Layer.DB, "core/db"),
    (Layer.MODELS, "models"),
    (Layer.SCHEMAS, "api/v1/schemas"),
    (Layer.SECURITY, "core/security"),
    (Layer.SERVICES, "services"),
    (Layer.DEPENDENCIES, "api/v1/dependencies"),
    (Layer.ROUTES, "api/v1/routes"),
    (Layer.MAIN, "main"),
)


def _layer_of(world: World, module: str) -> Layer | None:
    prefix = f"{world.package}."
    if not module.startswith(prefix):
        return None
    inside = module[len(prefix) :].replace(".", "/")
    for layer, path in LAYER_PATHS:
        if inside == path or inside.startswith(f"{path}/"):
            return layer
    return None


def against_the_layers(world: World, change: ProjectChange) -> list[Finding]:
    """Imports the move leaves running against the layers: a service, model or core module
    importing from the API package (``services/item_service.py`` using ``api.v1.schemas``).
    Reported with the names that cause them, not refused: it runs, but the layers no longer
    depend one way."""
    findings = []
    for file in change.files:
        if not (file.new_path and file.new_path.endswith(".py") and file.new is not None):
            continue
        module = world.module_for_path(file.new_path)
        layer = _layer_of(world, module)
        if layer is None or layer > Layer.SERVICES or layer is Layer.SCHEMAS:
            continue
        tree = _parse(file.new)
        if tree is None:
            continue
        package = module if file.new_path.endswith("__init__.py") else module.rpartition(".")[0]
        for node in ast.walk(tree):
            if not isinstance(node, ast.ImportFrom):
                continue
            imported = _from_module(node, package)
            if imported is None:
                continue
            if _layer_of(world, imported) in API_LAYERS:
                names = ", ".join(alias.name for alias in node.names)
            else:  # `from app.api.v1 import schemas`: the module itself
                modules = [
                    alias
                    for alias in node.names
                    if _layer_of(world, f"{imported}.{alias.name}") in API_LAYERS
                ]
                if not modules:
                    continue
                names = ", ".join(
                    f"{alias.asname or alias.name}.{used}"
                    for alias in modules
                    for used in _attributes_used(tree, alias.asname or alias.name)
                ) or ", ".join(alias.name for alias in modules)
            findings.append(
                Finding(
                    file.new_path,
                    node.lineno,
                    node.col_offset + 1,
                    CODEMOD,
                    f"the {layer.label} layer would import {names} from {imported}, the API "
                    f"layer above it: move {names} down (into a schemas module beside the "
                    "models, or core/), or have the routes pass plain values instead",
                )
            )
    return findings


def _attributes_used(tree: ast.Module, name: str) -> list[str]:
    """``ItemIn`` for each ``schemas.ItemIn`` in ``tree`` (``name`` = ``schemas``), sorted."""
    return sorted(
        {
            node.attr
            for node in ast.walk(tree)
            if isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == name
        }
    )


API_LAYERS = frozenset({Layer.SCHEMAS, Layer.DEPENDENCIES, Layer.ROUTES})


def _from_module(node: ast.ImportFrom, package: str) -> str | None:
    if node.level == 0:
        return node.module
    parts = package.split(".") if package else []
    if node.level - 1 > len(parts):
        return None
    base = parts[: len(parts) - (node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])])


def _parse(data: bytes) -> ast.Module | None:
    try:
        return ast.parse(data)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def _check_layers(
    world: World, graph: dict[str, set[str]], old_edges: set[tuple[str, str]], change: ProjectChange
) -> None:
    """No import the move adds goes from a lower layer to a higher one (config < db <
    models < schemas < security < services < dependencies < routes < main)."""
    for source, targets in sorted(graph.items()):
        low = _layer_of(world, source)
        for target in sorted(targets):
            high = _layer_of(world, target)
            if low is None or high is None or high <= low or (source, target) in old_edges:
                continue
            change.refused = True
            change.errors.append(
                f"the move would make {source} ({low.label}) import {target} ({high.label}), "
                "a higher layer; edit the plan"
            )


def _import_graph(
    sources: dict[str, bytes],
    project: ProjectIndex,
    module_of: Callable[[str], str],
    fresh: bool = False,
) -> dict[str, set[str]]:
    """Module -> project modules it imports when it is imported (top level, outside
    ``if TYPE_CHECKING``), including the packages it goes through."""
    names: dict[str, str] = {}
    for rel in sources:
        if rel.endswith(".py"):
            try:
                names[rel] = module_of(rel)
            except KeyError:
                continue
    known = set(names.values())
    graph: dict[str, set[str]] = defaultdict(set)
    for rel, name in names.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                tree = ast.parse(sources[rel])
            except (SyntaxError, ValueError):
                continue
        file = SourceFile(project.root / rel, rel, name)
        graph[name]
        # Importing ``pkg.sub`` also runs ``pkg/__init__``, but a package that imports its own
        # submodules (``models/__init__``) is no cycle: a partly initialised package still
        # lets its submodules import each other. So the edges are the modules named.
        for imported in _top_level_imports(file, tree, known):
            if imported in known and imported != name:
                graph[name].add(imported)
    return graph


def _top_level_imports(file: SourceFile, tree: ast.Module, known: set[str]) -> list[str]:
    found: list[str] = []

    def walk(body: list[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, ast.Import):
                found.extend(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                module = resolve_relative(file, node.module, node.level)
                found.extend(
                    f"{module}.{alias.name}" if f"{module}.{alias.name}" in known else module
                    for alias in node.names
                )
            elif isinstance(node, ast.If):
                if not (
                    isinstance(node.test, (ast.Name, ast.Attribute))
                    and "TYPE_CHECKING" in ast.unparse(node.test)
                ):
                    walk(node.body)
                    walk(node.orelse)
            elif isinstance(node, (ast.Try,)):
                walk(node.body)
                for handler in node.handlers:
                    walk(handler.body)
                walk(node.orelse)
                walk(node.finalbody)

    walk(tree.body)
    return found


# -- the plan table ------------------------------------------------------------------------


def _rows(
    project: ProjectIndex, plan: Plan, targets: dict[str, TargetFile], change: ProjectChange
) -> list[PlanRow]:
    rows: list[PlanRow] = []
    for module_plan in plan.modules:
        if not module_plan.changes:
            continue
        kind = "split" if module_plan.symbols else "move"
        if module_plan.target != module_plan.source:
            rows.append(PlanRow(kind, module_plan.source, module_plan.target, module_plan.reason))
        else:
            rows.append(
                PlanRow(kind, module_plan.source, module_plan.target, "stays; it keeps the rest")
            )
        by_target: dict[str, list[str]] = defaultdict(list)
        reasons: dict[str, list[str]] = defaultdict(list)
        for key, path in module_plan.symbols.items():
            by_target[path].append(key)
            reason = module_plan.symbol_reasons.get(key, "")
            if reason and reason not in reasons[path]:
                reasons[path].append(reason)
        for path, keys in by_target.items():
            rows.append(
                PlanRow(
                    "split",
                    module_plan.source,
                    path,
                    f"{', '.join(keys)} ({join_reasons(reasons[path])})"
                    if reasons[path]
                    else ", ".join(keys),
                )
            )
    for file in change.files:
        if file.kind == "create":
            reason = (
                "imports every model module"
                if file.path.endswith("models/__init__.py")
                else "new package"
            )
            if not file.path.endswith("__init__.py"):
                continue
            rows.append(PlanRow("create", "", file.path, reason))
        elif file.kind == "delete" and file.path.endswith("__init__.py"):
            rows.append(PlanRow("delete", file.path, "", "empty package"))
    return rows
