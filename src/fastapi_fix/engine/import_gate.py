"""The static import gate: after a change, every project import it touches still resolves.

Given the project's files and a change (new contents by path, moves, removals), it checks,
with stdlib ``ast`` and without running any code of the project, that each import of a
project module in every written or moved file, and in every file importing a module that
lost a name or moved, names a module of the project after the change, and a name that
module defines: a top-level binding (``def``, ``class``, an assignment, an import, a name
listed in ``__all__``, a ``global`` one) or a submodule. A module with a star import or a
module-level ``__getattr__`` is assumed to define every name; a module ``ast`` cannot read
is assumed to define every name, and a file it cannot read is not checked.

Imports of modules that are not the project's (no module of the project starts with their
first name) are not checked, nor are imports guarded by ``except ImportError``. Only new
problems count: an import that did not resolve before the change either (a module the
discovery does not see, built at install time, say) is not the change's doing.

A transaction plugs it in as ``gate = ImportGate([*found.files, *found.context], root).check``
(every file of the project, named or context; ``root``: the project's root), built once per
run before anything is written, and calls ``accept(changed)`` after each change set it
wrote. The gate reads the files from disk once, when a change needs them.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from fastapi_fix.engine.codemod import SourceFile
from fastapi_fix.engine.discover import display_path
from fastapi_fix.engine.files import words_of

# Handlers that make an import optional: the code expects it may fail.
_OPTIONAL = frozenset({"ImportError", "ModuleNotFoundError", "Exception", "BaseException"})


@dataclass(frozen=True)
class Definitions:
    """What a module defines at its top level, as far as ``ast`` tells."""

    names: frozenset[str] = frozenset()
    # A star import, a module `__getattr__`, or unreadable: any name may be there.
    open: bool = False

    def defines(self, name: str) -> bool:
        return self.open or name in self.names


@dataclass(frozen=True)
class _Import:
    line: int
    column: int  # 0-based
    module: str  # absolute; "" for a relative import beyond the top-level package
    name: str | None  # None: `import module`; else `from module import name`

    def key(self) -> tuple[str, str | None]:
        return (self.module, self.name)


@dataclass
class _State:
    """The project's Python files at one moment: module name → file, and file contents."""

    files: dict[Path, str]  # path → module name (as discovery names it)
    read: Callable[[Path], bytes | None]
    root: Path | None  # folders below it may be namespace packages
    # The one folder on sys.path, when known: modules are named from it only.
    import_root: Path | None = None
    modules: dict[str, Path] = field(default_factory=dict)
    packages: set[str] = field(default_factory=set)  # every dotted prefix of a module name
    first_party: set[str] = field(default_factory=set)  # the first names of its modules
    _definitions: dict[Path, Definitions] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.modules = {name: path for path, name in self.files.items()}
        for path in self.files:
            # Through folders without `__init__.py` too: namespace packages, importable
            # when the folder above them is on the path. The discovered name comes first.
            for name in _namespace_names(path, self.root, self.import_root):
                self.modules.setdefault(name, path)
        for name in self.modules:
            parts = name.split(".")
            self.packages.update(".".join(parts[:end]) for end in range(1, len(parts)))
        # A one-part suffix name (`jwt` for `app/auth/jwt.py`) makes no first-party name, or
        # the library the file itself imports (`import jwt`) is taken for a project module.
        self.first_party = {name.partition(".")[0] for name in self.files.values()} | {
            name.partition(".")[0] for name in self.modules if "." in name
        }

    def reading(self, read: Callable[[Path], bytes | None]) -> _State:
        """The same modules, their contents read through ``read`` (definitions read anew)."""
        state = _State.__new__(_State)
        state.files, state.read, state.root = self.files, read, self.root
        state.import_root = self.import_root
        state.modules, state.packages, state.first_party = (
            self.modules,
            self.packages,
            self.first_party,
        )
        state._definitions = {}
        return state

    def exists(self, module: str) -> bool:
        """A module or package of the project (a folder without ``__init__.py`` counts:
        a namespace package)."""
        return module in self.modules or module in self.packages

    def definitions(self, module: str) -> Definitions:
        path = self.modules.get(module)
        if path is None:
            return Definitions()  # a namespace package: only its submodules
        if path not in self._definitions:
            tree = _parse(self.read(path))
            self._definitions[path] = Definitions(open=True) if tree is None else defined(tree)
        return self._definitions[path]

    def provides(self, module: str, name: str) -> bool:
        return self.definitions(module).defines(name) or self.exists(f"{module}.{name}")


class ImportGate:
    """Checks changes to one project; the project's own files are read once, on demand.

    ``files``: every Python file of the project as it is on disk (`SourceFile`, with the
    module name discovery gave it). ``root``: the project's root; the folders below it
    without ``__init__.py`` are taken for namespace packages. ``read``: a file's bytes
    (default: from disk; None when it cannot be read). ``import_root``: the one folder the
    project runs from (on ``sys.path``), when known: an import resolves from it or not at
    all (``import crud`` does not find ``sql_app/crud.py`` run from the project's root); the
    files' module names must be given from it.
    """

    def __init__(
        self,
        files: Sequence[SourceFile],
        root: Path | None = None,
        read: Callable[[Path], bytes | None] | None = None,
        import_root: Path | None = None,
    ) -> None:
        self._read_disk = read or _read
        self._cache: dict[Path, bytes | None] = {}
        self._parsed: dict[tuple[Path, str, int], list[_Import]] = {}
        self._words: dict[bytes, set[Path]] | None = None  # word → files holding it
        self.files = {file.path: file for file in files}
        self.root = root
        self.import_root = import_root
        self.before = _State(
            {file.path: file.module_name for file in files}, self._read, root, import_root
        )
        self.first_party = self.before.first_party

    def _read(self, path: Path) -> bytes | None:
        if path not in self._cache:
            self._cache[path] = self._read_disk(path)
        return self._cache[path]

    def check(
        self,
        changed: Mapping[Path, bytes],
        moved: Mapping[Path, Path] | None = None,
        removed: Collection[Path] = (),
    ) -> list[str]:
        """One line per import the change breaks: ``path:line:col: cannot import ...``.

        ``changed``: new contents, by the file's path after the change (a moved file by its
        new path; a new file too). ``moved``: old path → new path. ``removed``: deleted files.
        """
        moved = dict(moved or {})
        after = self._after(changed, moved, set(removed))
        origin = {new: old for old, new in moved.items()}
        written = sorted({*changed, *moved.values()} - set(removed))
        checked = [path for path in written if path in after.files]
        checked += self._dependents(after, set(checked), moved, changed, set(removed))
        problems: list[str] = []
        for path in checked:
            problems.extend(self._new_problems(path, after, origin.get(path, path)))
        return problems

    def accept(self, changed: Mapping[Path, bytes]) -> None:
        """The project's files in ``changed`` now hold these bytes (a change set written in
        place): later checks start from them."""
        for path, data in changed.items():
            if path not in self.before.files:
                continue
            if self._words is not None:
                for word in words_of(self._read(path) or b""):
                    self._words[word].discard(path)
                for word in words_of(data):
                    self._words[word].add(path)
            self._cache[path] = data
            self.before._definitions.pop(path, None)

    # -- the project after the change -------------------------------------------------------

    def _after(
        self, changed: Mapping[Path, bytes], moved: Mapping[Path, Path], removed: set[Path]
    ) -> _State:
        if not (moved or removed) and all(path in self.before.files for path in changed):
            # The same files, some rewritten: the same modules, read through the change.
            return self.before.reading(
                lambda path: changed[path] if path in changed else self._read(path)
            )
        gone = removed | set(moved)
        paths = {p for p in self.before.files if p not in gone}
        paths |= set(moved.values()) | {p for p in changed if p.suffix == ".py"}
        origin = {new: old for old, new in moved.items()}
        names: dict[Path, str] = {}
        for path in paths:
            kept = self.files.get(path)
            if kept is not None and path not in origin:
                names[path] = kept.module_name  # as discovery named it (distinct names kept)
            else:
                names[path] = _module_name(path, paths, gone, self.import_root)

        def read(path: Path) -> bytes | None:
            if path in changed:
                return changed[path]
            return self._read(origin.get(path, path))

        return _State(names, read, self.root, self.import_root)

    def _dependents(
        self,
        after: _State,
        checked: set[Path],
        moved: Mapping[Path, Path],
        changed: Mapping[Path, bytes],
        removed: set[Path],
    ) -> list[Path]:
        """Files not written whose imports the change may break: they name a module that
        moved or went, or a name a written module no longer defines (and that module, or
        they are inside its package: a relative import need not name it)."""
        gone: set[bytes] = set()  # last names of modules moved, renamed or removed
        lost: list[tuple[str, set[bytes]]] = []  # (module, the names it no longer defines)
        # Only rewrites of files in place: only those can have lost a name.
        same_files = not (moved or removed) and all(p in self.before.files for p in changed)
        candidates = (
            [(p, self.before.files[p]) for p in changed]
            if same_files
            else self.before.files.items()
        )
        for path, module in candidates:
            new_path = moved.get(path, path)
            if path in removed or after.files.get(new_path) != module:
                gone.add(module.rpartition(".")[2].encode())
            elif new_path in changed:
                old, new = self.before.definitions(module), after.definitions(module)
                if new.open:
                    continue
                if old.open:  # it may have offered any name: whoever imports it
                    gone.add(module.rpartition(".")[2].encode())
                elif old.names - new.names:
                    lost.append((module, {name.encode() for name in old.names - new.names}))
        found: set[Path] = set()
        for word in gone:
            found |= self._holding(word)
        for module, names in lost:
            # `from .mod import name` names the module; `from . import name` is below a package.
            naming = self._holding(module.rpartition(".")[2].encode())
            if self.before.modules[module].name == "__init__.py":
                below = module + "."
                naming = naming | {p for p, m in self.before.files.items() if m.startswith(below)}
            for name in names:
                found |= naming & self._holding(name)
        # Not written, so as they were (a moved file is checked at its new path already).
        return sorted(p for p in found if p not in checked and p not in moved and p not in removed)

    def _holding(self, word: bytes) -> set[Path]:
        """The project's files (as they were) holding ``word`` (an identifier)."""
        if self._words is None:
            self._words = defaultdict(set)
            for path in self.before.files:
                for each in words_of(self._read(path) or b""):
                    self._words[each].add(path)
        if not word.isascii():  # `words_of` knows ASCII identifiers only
            return {p for p in self.before.files if word in (self._read(p) or b"")}
        return self._words.get(word, set())

    # -- the imports of one file --------------------------------------------------------------

    def _new_problems(self, path: Path, after: _State, old_path: Path) -> Iterator[str]:
        found = list(self._problems(path, after))
        if not found:
            return
        already = set()
        if old_path in self.before.files:
            already = {imp.key() for imp, _ in self._problems(old_path, self.before)}
        known = self.files.get(path)
        shown = known.display_path if known is not None else display_path(path, Path.cwd())
        for imp, message in found:
            if imp.key() not in already:
                yield f"{shown}:{imp.line}:{imp.column + 1}: {message}"

    def _problems(self, path: Path, state: _State) -> Iterator[tuple[_Import, str]]:
        module = state.files[path]
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        for imp in self._imports(path, package, state):
            problem = _problem(imp, state)
            if problem is not None:
                yield imp, problem

    def _imports(self, path: Path, package: str, state: _State) -> list[_Import]:
        """The file's project imports; parsed once per content (one gate, many checks)."""
        data = state.read(path)
        if data is None:
            return []
        key = (path, package, hash(data))
        if key not in self._parsed:
            tree = _parse(data)
            first_party = self.first_party | state.first_party
            self._parsed[key] = [] if tree is None else list(imports_of(tree, package, first_party))
        return self._parsed[key]


def _problem(imp: _Import, state: _State) -> str | None:
    if not imp.module:
        return "attempted relative import beyond the top-level package"
    missing = next((m for m in _prefixes(imp.module) if not state.exists(m)), None)
    if missing is not None:
        return f"no module named '{missing}'"
    if imp.name is None or state.provides(imp.module, imp.name):
        return None
    where = state.modules.get(imp.module)
    place = f" ({display_path(where, Path.cwd())})" if where is not None else " (a folder)"
    return f"cannot import name '{imp.name}' from '{imp.module}'{place}"


def _prefixes(module: str) -> Iterator[str]:
    parts = module.split(".")
    return (".".join(parts[:end]) for end in range(1, len(parts) + 1))


def _module_name(
    path: Path, paths: Collection[Path], gone: Collection[Path], import_root: Path | None = None
) -> str:
    """The dotted name of a file after the change: its folders count while they hold an
    ``__init__.py`` (after the change), as `discover.module_name` does on disk; below
    ``import_root``, its path from there."""
    if import_root is not None and import_root in path.parents:
        return ".".join(_from_folder(path, import_root))
    parts = [] if path.name == "__init__.py" else [path.stem]
    folder = path.parent
    while folder.parent != folder:
        init = folder / "__init__.py"
        if not (init in paths or (init not in gone and init.is_file())):
            break
        parts.append(folder.name)
        folder = folder.parent
    return ".".join(reversed(parts))


def _namespace_names(
    path: Path, root: Path | None, import_root: Path | None = None
) -> Iterator[str]:
    """The dotted names of ``path`` from each folder between it and ``root`` (from
    ``import_root`` only, when it is known)."""
    if import_root is not None:
        if import_root in path.parents:
            parts = _from_folder(path, import_root)
            if parts and all(part.isidentifier() for part in parts):
                yield ".".join(parts)
        return
    if root is None or root not in path.parents:
        return
    parts = _from_folder(path, root)
    for start in range(len(parts)):
        if all(part.isidentifier() for part in parts[start:]):
            yield ".".join(parts[start:])


def _from_folder(path: Path, folder: Path) -> list[str]:
    parts = list(path.relative_to(folder).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return parts


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None


def _parse(data: bytes | None) -> ast.Module | None:
    if data is None:
        return None
    try:
        return ast.parse(data)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


# -- what a module defines ----------------------------------------------------------------


def defined(tree: ast.Module) -> Definitions:
    """The names ``tree`` binds at its top level, however conditionally (inside ``if``,
    ``try``, loops, ``with``, ``match``), plus ``global`` ones and those ``__all__`` lists."""
    names: set[str] = set()
    open_ = False
    for node in _top_level(tree.body):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
            open_ = open_ or node.name == "__getattr__"
        elif isinstance(node, ast.ImportFrom):
            for alias in node.names:
                if alias.name == "*":
                    open_ = True
                else:
                    names.add(alias.asname or alias.name)
        elif isinstance(node, ast.Import):
            names.update(alias.asname or alias.name.partition(".")[0] for alias in node.names)
        elif _is_type_alias(node):
            names.update(_targets(getattr(node, "name", None)))
        else:
            for target in _assigned(node):
                names.update(_targets(target))
            names.update(_all_entries(node))
    for node in ast.walk(tree):
        if isinstance(node, ast.Global):
            names.update(node.names)
    return Definitions(frozenset(names), open_)


def _is_type_alias(node: ast.AST) -> bool:
    return type(node).__name__ == "TypeAlias"  # Python 3.12+


def _top_level(body: Sequence[ast.stmt]) -> Iterator[ast.AST]:
    """The module's statements, those nested in its compound statements (not in defs or
    classes), and what binds among them: walrus targets, ``except ... as``, match captures."""
    for statement in body:
        yield statement
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        for child in ast.iter_child_nodes(statement):
            if isinstance(child, ast.expr):
                yield from (n for n in ast.walk(child) if isinstance(n, ast.NamedExpr))
            elif isinstance(child, ast.ExceptHandler):
                yield child
            elif isinstance(child, ast.match_case):
                yield from ast.walk(child.pattern)
        for nested in _nested_bodies(statement):
            yield from _top_level(nested)


def _nested_bodies(statement: ast.stmt) -> Iterator[Sequence[ast.stmt]]:
    for name in ("body", "orelse", "finalbody"):
        nested = getattr(statement, name, None)
        if isinstance(nested, list) and nested and isinstance(nested[0], ast.stmt):
            yield nested
    for handler in getattr(statement, "handlers", ()):
        yield handler.body
    for case in getattr(statement, "cases", ()):
        yield case.body


def _assigned(node: ast.AST) -> Iterator[ast.AST]:
    if isinstance(node, ast.Assign):
        yield from node.targets
    elif isinstance(node, (ast.AnnAssign, ast.AugAssign, ast.NamedExpr, ast.For, ast.AsyncFor)):
        yield node.target
    elif isinstance(node, (ast.With, ast.AsyncWith)):
        yield from (item.optional_vars for item in node.items if item.optional_vars)
    else:
        # `except E as name`; match captures (`case [x, *rest]`, `case {**rest}`: 3.10+)
        for field_name in ("name", "rest") if type(node).__name__ != "TypeAlias" else ():
            bound = getattr(node, field_name, None)
            if isinstance(bound, str) and not isinstance(node, _DEFINING):
                yield ast.Name(bound)


_DEFINING = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.alias)


def _targets(target: ast.AST | None) -> Iterator[str]:
    if isinstance(target, ast.Name):
        yield target.id
    elif isinstance(target, (ast.Tuple, ast.List)):
        for element in target.elts:
            yield from _targets(element)
    elif isinstance(target, ast.Starred):
        yield from _targets(target.value)


def _all_entries(node: ast.AST) -> Iterator[str]:
    """Names ``__all__ = [...]`` (or ``+=``) lists: lenient, a module may add them otherwise."""
    if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        if any(isinstance(t, ast.Name) and t.id == "__all__" for t in targets) and isinstance(
            node.value, (ast.List, ast.Tuple)
        ):
            for element in node.value.elts:
                if isinstance(element, ast.Constant) and isinstance(element.value, str):
                    yield element.value


# -- the imports of a module ------------------------------------------------------------


def imports_of(tree: ast.Module, package: str, first_party: Collection[str]) -> Iterator[_Import]:
    """The project imports of a module whose relative imports start from ``package``: every
    ``import``/``from ... import`` (inside functions too), but not those an ``except
    ImportError`` guards; absolute ones only when their first name is in ``first_party``."""
    for node in _unguarded_imports(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.partition(".")[0] in first_party:
                    yield _Import(node.lineno, node.col_offset, alias.name, None)
            continue
        module = _absolute(node, package)
        if module is not None and node.level == 0 and module.partition(".")[0] not in first_party:
            continue
        for alias in node.names:
            if alias.name != "*":
                yield _Import(node.lineno, node.col_offset, module or "", alias.name)
            elif module is not None:
                yield _Import(node.lineno, node.col_offset, module, None)
        if module is None and all(alias.name == "*" for alias in node.names):
            yield _Import(node.lineno, node.col_offset, "", None)


def _absolute(node: ast.ImportFrom, package: str) -> str | None:
    """The module a from-import reads, or None when it climbs above the top-level package."""
    if node.level == 0:
        return node.module or ""
    parts = package.split(".") if package else []
    if node.level - 1 >= len(parts):
        return None
    base = parts[: len(parts) - (node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])])


def _unguarded_imports(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        elif isinstance(node, ast.Try) or type(node).__name__ == "TryStar":
            handlers: list[ast.ExceptHandler] = getattr(node, "handlers", [])
            guarded = any(_catches_import_error(handler) for handler in handlers)
            for name in ("body", "orelse", "finalbody"):
                if not (guarded and name == "body"):
                    for statement in getattr(node, name):
                        yield from _unguarded_imports(ast.Module([statement], []))
            for handler in handlers:
                yield from _unguarded_imports(handler)
        else:
            yield from _unguarded_imports(node)


def _catches_import_error(handler: ast.ExceptHandler) -> bool:
    if handler.type is None:
        return True
    caught = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return any(
        (isinstance(c, ast.Name) and c.id in _OPTIONAL)
        or (isinstance(c, ast.Attribute) and c.attr in _OPTIONAL)
        for c in caught
    )
