"""The run folder: the one folder on ``sys.path`` from which the app's own absolute imports
resolve (``uvicorn main:app`` started there). It is the project's root for ``app.main``,
``src/`` for a ``src/`` layout, or the app's own folder when its modules import each other
by bare name (``import crud`` beside ``crud.py``, ``cd sql_app && uvicorn main:app``).

The layout is planned, and its imports are checked, from that folder: every module is named
by its path below it. A project whose imports need two such folders (``import crud`` in one
module, ``from sql_app import crud`` in another) cannot be laid out for one of them, and is
refused.

`find_run_folder` reads the evidence, imports only; the `modules` work on import roots
may replace it (one function, one answer: a folder relative to the project root).
"""

from __future__ import annotations

import ast
import dataclasses
import sys
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from pathlib import PurePosixPath

from fastapi_fix.engine.codemod import SourceFile


class RunFolderError(Exception):
    """The app's imports need several folders on ``sys.path``: the plan is refused."""


def find_run_folder(
    sources: Mapping[str, bytes],
    trees: Mapping[str, ast.Module | None],
    app_paths: Sequence[str],
    default: str,
    other_apps: Sequence[str] = (),
) -> str:
    """The folder (relative to the project root, ``""`` for the root) the app runs from.

    ``sources``: every Python file by its project-relative path; ``app_paths``: the files
    creating the FastAPI app; ``default``: the folder above the app's top package.
    Each absolute import of a first-party module votes for the one folder, at or above the
    importing file, that holds the module it names (none when several do); votes count only for the app's own
    folder (``import crud`` beside it) or for a folder whose module named holds the app
    (``from sql_app import crud`` from the root; a ``tests`` package beside ``src/`` says
    nothing of where the app runs), and
    only from files outside the folders of ``other_apps`` (files creating other apps of the
    project: each runs from its own folder).
    """
    own = {PurePosixPath(path).parent.as_posix() for path in app_paths}
    # Another app's folder, unless it holds this app too (a main app mounting sub-apps).
    others = {
        folder
        for folder in (PurePosixPath(path).parent.as_posix() for path in other_apps)
        if folder != "." and not any(_inside(mine, folder) is not None for mine in own)
    }
    # (folder, first name) pairs that say where the app runs from.
    app_names = {
        (folder, PurePosixPath(path).relative_to(folder or ".").parts[0])
        for path in app_paths
        for folder in _folders_above(path)[1:]
    }
    app_folders = {_folders_above(path)[0] for path in app_paths}
    names_in = _importable_names(sources)
    votes: dict[str, list[str]] = defaultdict(list)
    for path, tree in sorted(trees.items()):
        if tree is None or any(_inside(path, folder) is not None for folder in others):
            continue
        for line, first, then in _absolute_imports(tree):
            holding = [f for f in _folders_above(path) if first in names_in.get(f, ())]
            # Held by several folders above it (`utils` beside the file and at the root):
            # it resolves from either, so it says nothing of which one runs the app.
            folder = holding[0] if len(holding) == 1 else None
            if folder is not None and _shadows(folder, first, then, path, names_in):
                continue  # `from alembic import context` in `alembic/env.py`: the library
            if folder is not None and (folder in app_folders or (folder, first) in app_names):
                votes[folder].append(f"{path}:{line} ({first})")
    if not votes:
        return default
    if len(votes) > 1:
        shown = "; ".join(
            f"from {folder or 'the project root'}: {', '.join(where[:2])}"
            + (", ..." if len(where) > 2 else "")
            for folder, where in sorted(votes.items())
        )
        raise RunFolderError(
            "the app's imports resolve from several folders, so no one folder runs it "
            f"({shown}); make them import from one folder (edit those imports, e.g. "
            "`import crud` -> `from sql_app import crud`), then plan again; nothing was changed"
        )
    return next(iter(votes))


def named_from(
    files: Iterable[SourceFile], rel_paths: Mapping[SourceFile, str], folder: str
) -> list[SourceFile]:
    """The files, those below ``folder`` named by their path from it (namespace folders
    included, as Python names them with ``folder`` on ``sys.path``). ``folder``'s own
    ``__init__.py`` is no module from there and is left out; files outside keep their names."""
    named = []
    for file in files:
        inside = _inside(rel_paths[file], folder)
        if inside is None:
            named.append(file)
            continue
        parts = list(PurePosixPath(inside).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        if not parts:
            continue
        if all(part.isidentifier() for part in parts):
            named.append(dataclasses.replace(file, module_name=".".join(parts)))
        else:
            named.append(file)
    return named


def _shadows(
    folder: str, name: str, then: tuple[str, ...], rel_path: str, names_in: Mapping[str, set[str]]
) -> bool:
    """Whether module ``name`` of ``folder`` holds the importing file yet has none of the
    names imported from it: a folder named after the library it imports (the template's
    `app/alembic/env.py` doing `from alembic import context`), which says nothing of where
    the app runs."""
    target = f"{folder}/{name}" if folder else name
    holds_the_file = rel_path == f"{target}.py" or rel_path.startswith(f"{target}/")
    return holds_the_file and not any(part in names_in.get(target, ()) for part in then)


def _inside(rel_path: str, folder: str) -> str | None:
    if not folder:
        return rel_path
    prefix = f"{folder}/"
    return rel_path[len(prefix) :] if rel_path.startswith(prefix) else None


def _folders_above(rel_path: str) -> list[str]:
    """The folders holding ``rel_path``, nearest first, the root (``""``) last."""
    parents = [p.as_posix() for p in PurePosixPath(rel_path).parents]
    return ["" if p == "." else p for p in parents]


def _importable_names(sources: Iterable[str]) -> dict[str, set[str]]:
    """Folder -> the first names importable with it on ``sys.path`` (its modules, and its
    sub-folders holding Python code)."""
    names: dict[str, set[str]] = defaultdict(set)
    for rel in sources:
        parts = PurePosixPath(rel).parts
        for depth in range(len(parts)):
            folder = "/".join(parts[:depth])
            name = parts[depth] if depth < len(parts) - 1 else PurePosixPath(parts[depth]).stem
            if name.isidentifier() and name != "__init__":
                names[folder].add(name)
    return names


def _absolute_imports(tree: ast.Module) -> Iterable[tuple[int, str, tuple[str, ...]]]:
    """(line, first name, the names imported from it) of each absolute import, standard
    library ones left out (a project file named like one does not make the stdlib import a
    project one)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                first, _, rest = alias.name.partition(".")
                if first not in sys.stdlib_module_names:
                    yield node.lineno, first, (rest.partition(".")[0],) if rest else ()
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            first, _, rest = node.module.partition(".")
            if first not in sys.stdlib_module_names and first != "__future__":
                then = (rest.partition(".")[0],) if rest else tuple(a.name for a in node.names)
                yield node.lineno, first, then
