"""Which files declare a project's dependencies, found without reading what they say.

A file belongs to the nearest folder above it that holds project metadata (`project_folder`);
`declaration_inputs` lists every file the FastAPI version is read from (`project.metadata`),
so that a cache can tell by their stat that the answer holds. No `packaging` here: a run the
cache replays imports only this.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from fastapi_fix.engine.config import ConfigError, load_pyproject, lookup
from fastapi_fix.engine.files import RealPaths

LOCK_FILES = ("uv.lock", "poetry.lock", "pdm.lock", "pylock.toml", "Pipfile.lock")
# The files that make a folder a project's root for `project_folder`.
METADATA_FILES = frozenset(
    {"pyproject.toml", "setup.cfg", "setup.py", "Pipfile", "requirements", *LOCK_FILES}
)


def declaration_inputs(paths: Iterable[Path]) -> list[Path]:
    """Every file `too_old_by_file` may read for these ``paths``: each project folder's
    metadata, lock and requirements files, and the files they include (``-r``/``-c``,
    setuptools' dynamic dependencies). Lets a cache tell by their stat that the answer holds."""
    folders: dict[Path, Path | None] = {}
    real = RealPaths()  # many files, few folders: each resolved once
    parents = {os.path.abspath(path.parent) for path in paths}
    projects = {project_folder(Path(real.folder(parent)), folders) for parent in parents}
    found: set[Path] = set()
    for project in sorted(p for p in projects if p is not None):
        found.update(
            project / name
            for name in names_in(project)
            if name in METADATA_FILES or is_requirements_file(name)
        )
        if (project / "requirements").is_dir():
            found.update(
                project / "requirements" / name for name in names_in(project / "requirements")
            )
        if (project / "pyproject.toml").is_file():
            data = read_toml(project / "pyproject.toml")
            dynamic = lookup(data, "tool", "setuptools", "dynamic", "dependencies", "file")
            for name in [dynamic] if isinstance(dynamic, str) else dynamic or []:
                if isinstance(name, str):
                    found.add((project / name).resolve())
    # Requirements files (any name: setuptools' dynamic ones too) may include others.
    pending = sorted(path for path in found if path.name not in METADATA_FILES)
    while pending:
        for included in _includes(pending.pop()):
            if included not in found:
                found.add(included)
                pending.append(included)
    return sorted(found)


def _includes(path: Path) -> list[Path]:
    """The files a requirements file names with ``-r``/``-c``."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    return [
        included
        for _, line in logical_lines(text)
        if (included := included_path(path, line)) is not None
    ]


def project_folder(folder: Path, known: dict[Path, Path | None]) -> Path | None:
    """The nearest folder at or above ``folder`` holding project metadata, not above the
    repository's root (memoised)."""
    walked = []
    found: Path | None = None
    for directory in (folder, *folder.parents):
        if directory in known:
            found = known[directory]
            break
        walked.append(directory)
        names = names_in(directory)
        if any(name in METADATA_FILES or is_requirements_file(name) for name in names):
            found = directory
            break
        if ".git" in names:
            break
    for directory in walked:
        known[directory] = found
    return found


def names_in(folder: Path) -> list[str]:
    try:
        return os.listdir(folder)
    except OSError:
        return []


def is_requirements_file(name: str) -> bool:
    return name.startswith("requirements") and name.endswith((".txt", ".in"))


def logical_lines(text: str) -> Iterator[tuple[int, str]]:
    """(first line number, text) of each requirement line: ``\\`` continuations joined,
    comments and blank lines left out, whitespace runs made one space."""
    pending: list[str] = []
    first = 0
    for number, raw in enumerate(text.splitlines(), 1):
        line = "" if raw.lstrip().startswith("#") else raw.split(" #")[0].split("\t#")[0]
        if not pending:
            first = number
        if line.endswith("\\"):
            pending.append(line[:-1])
            continue
        joined = " ".join(" ".join([*pending, line]).split())
        pending = []
        if joined:
            yield first, joined
    joined = " ".join(" ".join(pending).split())
    if joined:
        yield first, joined


def included_path(requirements: Path, line: str) -> Path | None:
    """The file a line of the ``requirements`` file includes (``-r``/``-c``), resolved from
    that file's folder; None for any other line."""
    name = _included_file(line) if line.startswith("-") else None
    return None if name is None else (requirements.parent / os.path.expandvars(name)).resolve()


def _included_file(line: str) -> str | None:
    """The file ``-r x``, ``--requirement=x``, ``-c x`` or ``--constraint x`` names."""
    for option in ("--requirement", "--constraint", "-r", "-c"):
        if line.startswith(option):
            rest = line[len(option) :]
            if option.startswith("--") and rest[:1] not in ("=", " ", "\t"):
                return None
            return rest.lstrip("= \t").strip() or None
    return None


def read_toml(path: Path) -> dict[str, Any]:
    try:
        return load_pyproject(path)
    except ConfigError:
        return {}
