"""Which module is each file: the project's import roots, and one dotted name per file.

Folders holding ``__init__.py`` do not say where imports start: a project run from its top
folder may hold an ``__init__.py`` there (its files are ``main`` and ``api.core.x``, not
``<folder>.main``), keep PEP 420 folders without one below or above a regular package
(``api/core/x.py`` is ``api.core.x``), or run an app from inside its folder, where
``import crud`` means the ``crud.py`` beside it. So, like pyright, mypy and ty, names are
taken relative to *import roots*:

- declared: ``src/`` when it is not a regular package (and some import needs it: not
  when the project writes ``from src.app import x``), then the project root;
- by evidence: a folder from which some of the project's own absolute imports resolve,
  when no declared root resolves them (``sql_app/`` for ``import crud`` in
  ``sql_app/main.py``). An import that only finds the importing file itself (``import
  redis`` in ``cache/redis.py``), standard-library names, and regular packages or folders
  inside one (a run folder is not a package) give no evidence.

A file's name is the shortest one, from any root above it, that resolves back to that very
file (ty's round trip: ``src/foo.py`` beside ``src/foo/__init__.py`` is not ``foo``) and
leaves its relative imports a package to start from. Names are keys, so they must be
distinct: when two files would share one (two services each with its ``tasks.py`` run from
its own folder), each takes its next name that resolves back (the PEP 420 path from the
project root) and keeps the shared one as an alias, for lookups made from its own folder.
A file no root reaches keeps the name of its ``__init__.py`` chain. Relative imports start
from the package of the name chosen.
"""

from __future__ import annotations

import ast
import keyword
import os
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from fastapi_fix.engine.discover import Discovery, module_name, suffix_names

STDLIB_MODULES = frozenset(sys.stdlib_module_names)


@dataclass(frozen=True)
class Root:
    """A folder absolute imports are resolved from."""

    path: Path
    kind: str  # "src", "project" or "evidence"
    votes: int = 0  # evidence: how many project imports resolve only from here


@dataclass(frozen=True)
class ModuleNames:
    roots: tuple[Root, ...]
    names: dict[Path, str]  # file → its dotted name, distinct across the project
    aliases: dict[Path, tuple[str, ...]]  # file → its other names that resolve back to it


class _Tree:
    """The project's Python files and the folders holding them, to resolve dotted names
    the way Python's path finder does, without touching the disk. Paths are strings
    (``os.sep`` joined): this runs on every run, and `Path` arithmetic dominated it."""

    def __init__(self, files: Iterable[str]) -> None:
        self.files = set(files)
        self.folders: set[str] = set()  # folders with a Python file somewhere below
        for file in self.files:
            folder = os.path.dirname(file)
            while folder not in self.folders:
                self.folders.add(folder)
                parent = os.path.dirname(folder)
                if parent == folder:
                    break
                folder = parent
        self._resolved: dict[tuple[str, str], str | None] = {}

    def is_package(self, folder: str) -> bool:
        return _join(folder, "__init__.py") in self.files

    def resolve(self, root: str, dotted: str) -> str | None:
        """The file (or namespace folder) ``dotted`` names from ``root``; None if none."""
        key = (root, dotted)
        if key not in self._resolved:
            self._resolved[key] = self._resolve(root, dotted.split("."))
        return self._resolved[key]

    def _resolve(self, root: str, parts: Sequence[str]) -> str | None:
        folder = root
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            below = _join(folder, part)
            if self.is_package(below):  # a regular package comes first
                if last:
                    return _join(below, "__init__.py")
                folder = below
            elif (module := _join(folder, f"{part}.py")) in self.files:  # then a module
                return module if last else None
            elif below in self.folders:  # then a namespace portion
                if last:
                    return below
                folder = below
            else:
                return None
        return folder


def name_modules(found: Discovery, project_root: Path | None) -> Discovery:
    """``found`` with every file, named or context, renamed by `module_names`."""
    everything = [*found.files, *found.context]
    if not everything:
        return found
    top = project_root or _common_folder(found.roots or [f.path for f in everything])
    named = module_names([f.path for f in everything], Path(os.path.abspath(top)), _read)
    renamed = [
        replace(f, module_name=named.names[f.path], aliases=named.aliases[f.path])
        for f in everything
    ]
    found.files, found.context = renamed[: len(found.files)], renamed[len(found.files) :]
    return found


def module_names(
    paths: Sequence[Path], project_root: Path, read: Callable[[Path], bytes | None]
) -> ModuleNames:
    """The import roots of the project at ``project_root`` and a distinct name per file."""
    files = {os.fspath(path): path for path in paths}
    tree = _Tree(files)
    top = os.fspath(project_root)
    declared = _declared_roots(top, tree)
    scan = _Scan()
    evidence = _evidence_roots(files, top, declared, tree, read, scan)
    if declared[0].kind == "src" and scan.src_prefixed and not scan.src_relative:
        # `from src.app import x` everywhere, never `from app import x`: the project runs
        # from its root, and `src` is a namespace package there, not a root.
        declared = declared[1:]
    roots = (*declared, *evidence)
    candidates = {
        file: _deep_enough(
            list(_round_trip_names(file, roots, tree)), file, scan.levels.get(file, 0)
        )
        for file in files
    }
    names = _distinct(candidates)
    return ModuleNames(
        tuple(Root(Path(r.path), r.kind, r.votes) for r in roots),
        {path: names[file] for file, path in files.items()},
        {
            path: tuple(name for name in candidates[file] if name != names[file])
            for file, path in files.items()
        },
    )


@dataclass
class _Scan:
    """What the reading of every file's imports tells besides roots."""

    # file → how many dots its relative imports climb (their package must be that deep)
    levels: dict[str, int] = field(default_factory=dict)
    src_prefixed: int = 0  # imports of `src.x`, a folder `src/` not being a package
    src_relative: int = 0  # imports that only `src/` as a root resolves

    def count_src(self, dotted: str, declared: Sequence[_Root], tree: _Tree) -> None:
        if declared[0].kind != "src":
            return
        if dotted.partition(".")[0] == "src":
            self.src_prefixed += 1
        elif tree.resolve(declared[0].path, dotted) and not tree.resolve(declared[1].path, dotted):
            self.src_relative += 1


@dataclass(frozen=True)
class _Root:
    path: str
    kind: str
    votes: int = 0


def _declared_roots(project_root: str, tree: _Tree) -> list[_Root]:
    src = _join(project_root, "src")
    roots = [_Root(src, "src")] if src in tree.folders and not tree.is_package(src) else []
    return [*roots, _Root(project_root, "project")]


# -- evidence roots -----------------------------------------------------------------------


def _evidence_roots(
    files: Mapping[str, Path],
    project_root: str,
    declared: Sequence[_Root],
    tree: _Tree,
    read: Callable[[Path], bytes | None],
    scan: _Scan,
) -> list[_Root]:
    """Folders from which imports no declared root resolves do resolve (see the module's
    docstring), with the number of such imports. Imports are found in the bytes; a folder
    counts once a file that votes for it is parsed and its statements confirm the vote (so
    a word in a docstring never makes a root), and that one parse is enough: a project
    under ``backend/`` would otherwise parse every file here. Fills ``scan`` on the way."""
    local = {_stem(f) for f in tree.files} | {os.path.basename(f) for f in tree.folders}
    voter = _Voter(tree, project_root, declared)
    votes: Counter[str] = Counter()
    confirmed: set[str] = set()
    for file, path in files.items():
        data = read(path)
        if not data or b"import" not in data:
            continue
        if b"from ." in data:
            scan.levels[file] = _relative_level(data)
        for dotted in _imported_in_bytes(data, local):
            scan.count_src(dotted, declared, tree)
            folder = voter.vote(file, dotted)
            if folder is not None:
                votes[folder] += 1
                if folder not in confirmed:
                    confirmed.update(voter.votes_of_statements(file, data))
    return [
        _Root(folder, "evidence", votes[folder]) for folder in sorted(votes) if folder in confirmed
    ]


class _Voter:
    """Which folder, if any, an import is evidence of a root for."""

    def __init__(self, tree: _Tree, project_root: str, declared: Sequence[_Root]) -> None:
        self.tree = tree
        self.project_root = project_root
        self.declared = declared
        self._unresolved: dict[str, bool] = {}  # dotted → no declared root resolves it
        self._nearest: dict[tuple[str, str], tuple[str, str] | None] = {}
        self._packaged: dict[str, bool] = {}

    def vote(self, importer: str, dotted: str) -> str | None:
        """The nearest folder above ``importer`` from which ``dotted`` resolves, when no
        declared root resolves it and that is evidence of a root there."""
        if not _inside(importer, self.project_root) or not self._unresolved_by_declared(dotted):
            return None
        nearest = self._nearest_from(os.path.dirname(importer), dotted)
        if nearest is None:
            return None
        folder, found = nearest
        # `import redis` in `cache/redis.py` (or anywhere in a `redis/` folder) means the
        # library the file is named after; and a regular package, or a folder inside one, is
        # not a folder one runs from (`onyx/background/` doing `from celery import Celery`
        # beside a local `celery/` folder means the library).
        if found == importer or _inside(importer, _package_folder(found)):
            return None
        return None if self._in_a_package(folder) else folder

    def votes_of_statements(self, importer: str, data: bytes) -> Iterator[str]:
        """The folders the file's import statements vote for (it is parsed)."""
        for dotted in _imported_in_tree(data):
            folder = self.vote(importer, dotted)
            if folder is not None:
                yield folder

    def _in_a_package(self, folder: str) -> bool:
        """``folder`` or a folder above it, below the project root, is a regular package."""
        if folder not in self._packaged:
            parent = os.path.dirname(folder)
            self._packaged[folder] = self.tree.is_package(folder) or (
                folder != self.project_root
                and parent != folder
                and parent != self.project_root
                and self._in_a_package(parent)
            )
        return self._packaged[folder]

    def _unresolved_by_declared(self, dotted: str) -> bool:
        if dotted not in self._unresolved:
            self._unresolved[dotted] = dotted.partition(".")[0] not in STDLIB_MODULES and not any(
                self.tree.resolve(root.path, dotted) for root in self.declared
            )
        return self._unresolved[dotted]

    def _nearest_from(self, folder: str, dotted: str) -> tuple[str, str] | None:
        """(folder, what ``dotted`` names from there) for the nearest folder from ``folder``
        up to, not including, the project root."""
        key = (folder, dotted)
        if key not in self._nearest:
            parent = os.path.dirname(folder)
            if folder == self.project_root or parent == folder:
                self._nearest[key] = None
            elif (found := self.tree.resolve(folder, dotted)) is not None:
                self._nearest[key] = (folder, found)
            else:
                self._nearest[key] = self._nearest_from(parent, dotted)
        return self._nearest[key]


def _package_folder(found: str) -> str:
    """The folder of a package that ``found`` is (its ``__init__.py``, or a namespace folder)."""
    return os.path.dirname(found) if os.path.basename(found) == "__init__.py" else found


def _imported_in_bytes(data: bytes, local: set[str]) -> Iterator[str]:
    """Absolute module names on lines that look like import statements, whose first name is
    the name of some file or folder of the project: a cheap superset of `_imported_in_tree`
    (a prefilter only: a file is parsed before its imports count). Lines are found from the
    word ``import``: several times faster than a regular expression over every line."""
    start = 0
    while (at := data.find(b"import", start)) != -1:
        begin = data.rfind(b"\n", 0, at) + 1
        end = data.find(b"\n", at)
        start = end = len(data) if end == -1 else end
        line = data[begin:end].strip()
        if line.startswith(b"from "):
            names = line[5:].split(None, 1)[:1]
        elif line.startswith(b"import "):
            names = [words[0] for part in line[7:].split(b",") if (words := part.split(None, 1))]
        else:
            continue
        for name in names:
            text = name.decode("utf-8", "replace").strip("(\\")
            if text.partition(".")[0] in local:
                yield text


def _relative_level(data: bytes) -> int:
    """The most dots of the lines that look like relative imports (``from ..x import y``)."""
    deepest, start = 0, 0
    while (at := data.find(b"from .", start)) != -1:
        start = at + 6
        begin = data.rfind(b"\n", 0, at) + 1
        if data[begin:at].strip():  # not at the start of a line
            continue
        end = at + 5
        while data[end : end + 1] == b".":
            end += 1
        deepest = max(deepest, end - at - 5)
    return deepest


def _imported_in_tree(data: bytes) -> Iterator[str]:
    """The absolute module names the file imports, at any depth."""
    try:
        tree = ast.parse(data)
    except (SyntaxError, ValueError):
        return
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module


# -- names --------------------------------------------------------------------------------


def _round_trip_names(file: str, roots: Sequence[_Root], tree: _Tree) -> Iterator[str]:
    """Every name of ``file`` from a root above it that resolves back to it, shortest first
    (evidence roots, nearest first, before the declared ones on ties)."""
    found: list[tuple[int, int, str]] = []
    for order, root in enumerate(_order_for(file, roots)):
        parts = file[len(root.path) + 1 : -len(".py")].split(os.sep)
        if parts[-1] == "__init__":
            parts.pop()
        if _importable(parts) and tree.resolve(root.path, ".".join(parts)) == file:
            found.append((len(parts), order, ".".join(parts)))
    seen = set()
    for _, _, name in sorted(found):
        if name not in seen:
            seen.add(name)
            yield name


def _deep_enough(names: list[str], file: str, level: int) -> list[str]:
    """The names under which the file's relative imports work: ``from . import x`` needs a
    package, so a file using it is not the top-level module a run folder would make it
    (Python: "attempted relative import with no known parent package"). All of them when
    none is deep enough: the file is named all the same."""
    if level == 0:
        return names
    inside = 0 if os.path.basename(file) == "__init__.py" else 1
    deep = [name for name in names if name.count(".") + 1 - inside >= level]
    return deep or names


def _importable(parts: Sequence[str]) -> bool:
    return bool(parts) and all(p.isidentifier() and not keyword.iskeyword(p) for p in parts)


def _order_for(file: str, roots: Sequence[_Root]) -> list[_Root]:
    above = [root for root in roots if _inside(file, root.path)]
    evidence = sorted((r for r in above if r.kind == "evidence"), key=lambda r: -len(r.path))
    return [*evidence, *(r for r in above if r.kind != "evidence")]


def _distinct(candidates: dict[str, list[str]]) -> dict[str, str]:
    """One name per file, no two alike: each file takes its shortest round-trip name no
    other file also wants; files that share every name, or have none, keep their
    ``__init__.py`` chain name, lengthened by folders until distinct."""
    names: dict[str, str] = {}
    choice = {file: 0 for file, found in candidates.items() if found}
    while choice:
        wanted = Counter(candidates[file][index] for file, index in choice.items())
        taken = set(names.values())
        progressed = False
        for file, index in list(choice.items()):
            name = candidates[file][index]
            if wanted[name] == 1 and name not in taken:
                names[file] = name
                del choice[file]
                progressed = True
        for file, index in list(choice.items()):
            if index + 1 < len(candidates[file]):
                choice[file] = index + 1
                progressed = True
        if not progressed:
            break
    rest = [Path(file) for file in candidates if file not in names]
    legacy = suffix_names(rest, [module_name(p) for p in rest], taken=set(names.values()))
    names.update(zip(map(os.fspath, rest), legacy, strict=True))
    return names


# -- helpers ------------------------------------------------------------------------------


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None


def _join(folder: str, name: str) -> str:
    return folder + os.sep + name


def _stem(file: str) -> str:
    return os.path.splitext(os.path.basename(file))[0]


def _inside(path: str, folder: str) -> bool:
    return path.startswith(folder + os.sep)


def _common_folder(paths: Sequence[Path]) -> Path:
    folders = [os.path.abspath(p if p.is_dir() else p.parent) for p in paths]
    return Path(os.path.commonpath(folders))
