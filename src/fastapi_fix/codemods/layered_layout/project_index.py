"""The project as the planner sees it: every Python file, the app's package (the modules
the planner may move) analysed with LibCST, and name resolution across those modules.
"""

from __future__ import annotations

import ast
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import libcst as cst

from fastapi_fix.codemods.layered_layout.index import ModuleInfo, analyse
from fastapi_fix.codemods.layered_layout.run_folder import (
    RunFolderError,
    find_run_folder,
    named_from,
)
from fastapi_fix.engine.codemod import SourceFile
from fastapi_fix.engine.deep import TooDeep, too_deep
from fastapi_fix.engine.files import SkipFile, read_snapshot
from fastapi_fix.engine.parsing import NewerSyntax, check_nesting, parse_ast
from fastapi_fix.engine.pipeline import check_readable
from fastapi_fix.project.fastapi import ImportTable, resolve_relative

FASTAPI_CLASSES = frozenset({"fastapi.FastAPI", "fastapi.applications.FastAPI"})
TEST_FOLDERS = frozenset({"tests", "test", "testing"})


class ProjectError(Exception):
    """The project cannot be planned (nothing to move, or a file that does not parse)."""

    def __init__(self, message: str, refused: bool = True, usage: bool = False) -> None:
        super().__init__(message)
        self.refused = refused  # False: there is simply nothing to lay out
        self.usage = usage  # the project needs editing first (exit 2), no file failed


def is_test_file(rel_path: str) -> bool:
    parts = rel_path.split("/")
    name = parts[-1]
    return (
        name == "conftest.py"
        or name.startswith("test_")
        or name.endswith("_test.py")
        or any(part in TEST_FOLDERS for part in parts[:-1])
    )


@dataclass
class ProjectIndex:
    root: Path
    files: list[SourceFile]
    sources: dict[str, bytes]  # rel path -> bytes, for every readable Python file
    rel_paths: dict[SourceFile, str]
    package: str  # the app's top package; "" for modules at the root
    package_dir: str  # its folder relative to the root ("bookshop", "src/bookshop", "")
    app_modules: list[str]  # modules creating FastAPI()
    # The folder the app runs from (on sys.path), relative to the root: see `run_folder`.
    run_folder: str = ""
    # (module name, is a package, rel path) of each member: enough to tell the organisation.
    member_names: list[tuple[str, bool, str]] = field(default_factory=list)
    modules: dict[str, ModuleInfo] = field(default_factory=dict)  # the members, analysed
    skipped: list[tuple[str, str]] = field(default_factory=list)

    @property
    def members(self) -> list[ModuleInfo]:
        return list(self.modules.values())

    @property
    def main_module(self) -> ModuleInfo:
        for name in self.app_modules:
            if name.rpartition(".")[2] == "main":
                return self.modules[name]
        return self.modules[self.app_modules[0]]

    def module_file(self, name: str) -> str | None:
        info = self.modules.get(name)
        return info.rel_path if info else None

    def is_root_package(self, name: str) -> bool:
        """A folder at the project root holding Python code (package or namespace)."""
        return (self.root / name).is_dir() and any(
            rel.startswith(f"{name}/") for rel in self.sources
        )

    def split_module(self, qualified: str) -> tuple[str | None, list[str]]:
        """``pkg.mod.Name.attr`` -> (``pkg.mod``, [``Name``, ``attr``]): the longest member prefix."""
        parts = qualified.split(".")
        for cut in range(len(parts), 0, -1):
            candidate = ".".join(parts[:cut])
            if candidate in self.modules:
                return candidate, parts[cut:]
        return None, parts

    def canonical(self, qualified: str) -> str:
        """Follow re-exports between members: ``pkg.models.Base`` -> ``pkg.database.Base``."""
        for _ in range(20):
            module, rest = self.split_module(qualified)
            if module is None or not rest:
                return qualified
            info = self.modules[module]
            imported = info.imports.get(rest[0])
            if imported is None or info.defines(rest[0]):
                return qualified
            base = rest[0] if imported.dotted else imported.origin
            following = ".".join([base, *rest[1:]])
            if following == qualified:
                return qualified
            qualified = following
        return qualified


def load_project(
    root: Path,
    files: Sequence[SourceFile],
    analysed: Callable[[ProjectIndex], bool] | None = None,
) -> ProjectIndex:
    """Read every file, find the app and its package, and analyse the package's modules
    (unless ``analysed`` says, from the members' names, that they need not be: the
    analysis is the expensive part, and an organised project needs none)."""
    root = Path(os.path.abspath(root))
    sources: dict[str, bytes] = {}
    rel_paths: dict[SourceFile, str] = {}
    skipped: list[tuple[str, str]] = []
    readable: list[SourceFile] = []
    for file in files:
        try:
            rel = Path(os.path.relpath(file.path, root)).as_posix()
        except ValueError:
            continue
        if rel.startswith("../"):
            continue
        try:
            data = read_snapshot(file.path).data
            check_readable(data)
        except SkipFile as exc:
            skipped.append((rel, str(exc)))
            continue
        sources[rel] = data
        rel_paths[file] = rel
        readable.append(file)
    trees = {file: _parse_ast(sources[rel_paths[file]]) for file in readable}
    app_files = [
        f for f in readable if (parsed := trees[f]) is not None and _creates_app(f, parsed)
    ]
    run_folder = _run_folder(app_files, rel_paths, sources, trees)
    renamed = named_from(readable, rel_paths, run_folder)
    app_paths = {f.path for f in app_files}
    if any(f.path in app_paths and f not in app_files for f in renamed):
        # The app does not run from where discovery names it: name every file from there.
        old_by_path = {f.path: f for f in readable}
        rel_paths = {f: rel_paths[old_by_path[f.path]] for f in renamed}
        trees = {f: trees[old_by_path[f.path]] for f in renamed}
        readable = renamed
        app_files = [f for f in readable if f.path in app_paths]
    app_modules = [f.module_name for f in app_files]
    if not app_modules:
        broken = sorted(
            rel_paths[f]
            for f in readable
            if trees[f] is None and b"FastAPI" in sources[rel_paths[f]]
        )
        if broken:
            raise ProjectError(f"{', '.join(broken)} does not parse: fix it first")
        raise ProjectError("no FastAPI() application found: nothing to lay out", refused=False)
    packages = {
        name.partition(".")[0] if "." in name or _is_init(readable, name) else ""
        for name in app_modules
    }
    if len(packages) > 1:
        raise ProjectError(
            "FastAPI() applications in several packages "
            f"({', '.join(sorted(p or '(top-level modules)' for p in packages))}): "
            "run layered-layout on one of them at a time",
            usage=True,
        )
    package = packages.pop()
    by_name = {f.module_name: f for f in readable}
    if package:
        members = [
            f
            for f in readable
            if f.module_name == package or f.module_name.startswith(package + ".")
        ]
        init = by_name.get(package)
        package_dir = (
            Path(rel_paths[init]).parent.as_posix()
            if init
            else "/".join(filter(None, [run_folder, package]))  # a namespace package
        )
    else:
        members = _root_members(readable, by_name, trees, rel_paths, app_modules)
        package_dir = run_folder
    members = [f for f in members if not is_test_file(rel_paths[f])]
    index = ProjectIndex(
        root,
        list(readable),
        sources,
        rel_paths,
        package,
        package_dir,
        app_modules,
        run_folder=run_folder,
        member_names=[(f.module_name, f.is_package, rel_paths[f]) for f in members],
        skipped=skipped,
    )
    if analysed is not None and not analysed(index):
        return index
    for file in sorted(members, key=lambda f: rel_paths[f]):
        rel = rel_paths[file]
        try:
            check_nesting(sources[rel])
            tree = cst.parse_module(sources[rel])
            index.modules[file.module_name] = analyse(file, rel, sources[rel], tree)
        except cst.ParserSyntaxError as exc:
            raise ProjectError(
                f"{rel}:{exc.raw_line}: does not parse ({exc.message}); fix it first"
            ) from None
        except (RecursionError, MemoryError, TooDeep) as exc:
            raise ProjectError(f"{rel}: {too_deep(exc)}; the layout cannot move it") from None
    return index


def _run_folder(
    app_files: Sequence[SourceFile],
    rel_paths: dict[SourceFile, str],
    sources: dict[str, bytes],
    trees: dict[SourceFile, ast.Module | None],
) -> str:
    """The one folder every app of the project runs from (`find_run_folder`)."""
    by_path = {rel_paths[f]: tree for f, tree in trees.items()}
    folders = set()
    for app in app_files:
        rel = rel_paths[app]
        depth = len(app.module_name.split(".")) - (0 if app.is_package else 1)
        default = "/".join(rel.split("/")[: -1 - depth]) if "/" in rel else ""
        try:
            others = [rel_paths[f] for f in app_files if f is not app]
            folders.add(find_run_folder(sources, by_path, [rel], default, others))
        except RunFolderError as exc:
            raise ProjectError(str(exc), usage=True) from None
    if len(folders) > 1:
        shown = ", ".join(f or "the project root" for f in sorted(folders))
        raise ProjectError(
            f"FastAPI() applications run from several folders ({shown}): run layered-layout "
            "on one of them at a time (that folder as PATH)",
            usage=True,
        )
    return folders.pop() if folders else ""


def _is_init(files: Iterable[SourceFile], name: str) -> bool:
    return any(f.module_name == name and f.is_package for f in files)


def _parse_ast(data: bytes) -> ast.Module | None:
    try:
        return parse_ast(data, "<module>")
    except (SkipFile, NewerSyntax, RecursionError, MemoryError):
        return None


def _creates_app(file: SourceFile, tree: ast.Module) -> bool:
    imports = ImportTable(file, tree)
    for node in tree.body:
        value = node.value if isinstance(node, (ast.Assign, ast.AnnAssign)) else None
        if isinstance(value, ast.Call) and imports.qualified(value.func) in FASTAPI_CLASSES:
            return True
    return False


def _root_members(
    files: list[SourceFile],
    by_name: dict[str, SourceFile],
    trees: dict[SourceFile, ast.Module | None],
    rel_paths: dict[SourceFile, str],
    app_modules: list[str],
) -> list[SourceFile]:
    """Modules at the root that the app imports, directly or not (tests and scripts are not)."""
    seen: set[str] = set()
    todo = list(app_modules)
    while todo:
        name = todo.pop()
        if name in seen or name not in by_name or is_test_file(rel_paths[by_name[name]]):
            continue
        seen.add(name)
        tree = trees.get(by_name[name])
        for imported in _imported_modules(by_name[name], tree) if tree else ():
            top = imported.partition(".")[0]
            if top in by_name and "." not in top and not by_name[top].is_package:
                todo.append(top)
    return [by_name[name] for name in sorted(seen)]


def _imported_modules(file: SourceFile, tree: ast.Module) -> Iterable[str]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            module = resolve_relative(file, node.module, node.level)
            yield module
            yield from (f"{module}.{alias.name}" for alias in node.names)
