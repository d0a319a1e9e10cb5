"""Which FastAPI a project declares: ``Annotated`` parameters need FastAPI 0.95 or newer.

An older FastAPI ignores the metadata in ``Annotated``, so a rewritten ``Depends`` would
silently become a query parameter. Each file belongs to the nearest folder above it that
holds project metadata; there, a lock file (``uv.lock``, ``poetry.lock``, ``pdm.lock``,
``pylock.toml``, ``Pipfile.lock``) says exactly which FastAPI runs, and without one every
requirement decides: PEP 621 and PEP 735 tables, uv, Poetry and PDM tables, ``Pipfile``,
``requirements*.txt`` (following ``-r``/``-c``), ``setup.cfg`` and a static ``setup.py``.

Requirement strings are read with ``packaging``: only the ``fastapi`` and ``fastapi-slim``
distributions count (``fastapi-sso`` is another project), markers are evaluated for the
target Python, and a requirement without a version (or no requirement at all) means a
current FastAPI.
"""

from __future__ import annotations

import ast
import configparser
import json
import os
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.markers import InvalidMarker, Marker
from packaging.ranges import VersionRange
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from fastapi_fix.engine.config import lookup
from fastapi_fix.project.declaration_files import (
    LOCK_FILES,
    included_path,
    logical_lines,
    project_folder,
    read_toml,
)

ANNOTATED_SINCE = Version("0.95")
# `fastapi-slim` ships the same `fastapi` import package.
FASTAPI_DISTRIBUTIONS = frozenset({"fastapi", "fastapi-slim"})
_OLD = VersionRange.from_bounds(upper=ANNOTATED_SINCE, include_upper=False, prereleases=False)
_NOTHING_BELOW_ZERO = VersionRange.from_bounds(upper="0", prereleases=False)


@dataclass(frozen=True)
class Declaration:
    """One place that says which FastAPI the project runs: file, line, and what it admits."""

    file: Path
    line: int | None
    text: str  # as the finding shows it: ``fastapi ^0.79.1``
    admits: VersionRange

    def where(self, common: Path | None, project: Path) -> str:
        """The file (relative to ``common``, else to its ``project`` folder) and line."""
        name = self.file.as_posix()
        for folder in (common, project):
            if folder is None:
                continue
            try:
                name = self.file.relative_to(folder.resolve()).as_posix()
                break
            except ValueError:
                continue
        return f"{name}:{self.line}" if self.line else name

    @property
    def too_old(self) -> bool:
        """It admits a FastAPI below 0.95: with a lower bound below it, or only such versions.
        No lower bound at all (``fastapi``, ``<1``, ``!=0.3``) means current."""
        if self.admits.is_empty or self.admits.is_disjoint(_OLD):
            return False
        return self.admits.is_subset(_OLD) or self.admits.is_disjoint(_NOTHING_BELOW_ZERO)


def too_old_fastapi(paths: Iterable[Path], python: tuple[int, int] | None = None) -> str | None:
    """Where the project admits a FastAPI without Annotated support, e.g.
    ``pyproject.toml:7: fastapi ^0.79.1``; None when it admits only newer ones (or says nothing)."""
    return next(iter(too_old_by_file(paths, python).values()), None)


def too_old_by_file(
    paths: Iterable[Path], python: tuple[int, int] | None = None
) -> dict[Path, str]:
    """Each file whose project (`project_folder`) admits a FastAPI without Annotated
    support → where it says so, relative to the folder holding all ``paths`` if it can be."""
    paths = list(paths)
    folders: dict[Path, Path | None] = {}
    projects = {path: project_folder(path.parent.resolve(), folders) for path in paths}
    common = _common_folder(paths)
    environment = _environment(python)
    verdicts: dict[Path, str | None] = {}
    for project in dict.fromkeys(p for p in projects.values() if p is not None):
        found = next((d for d in declarations(project, environment) if d.too_old), None)
        verdicts[project] = (
            None if found is None else f"{found.where(common, project)}: {found.text}"
        )
    return {
        path: verdict
        for path, project in projects.items()
        if project is not None
        for verdict in [verdicts[project]]
        if verdict is not None
    }


def _common_folder(paths: list[Path]) -> Path | None:
    try:
        return Path(os.path.commonpath([path.parent for path in paths])) if paths else None
    except ValueError:  # relative and absolute paths mixed
        return None


def _environment(python: tuple[int, int] | None) -> dict[str, str]:
    major, minor = python or sys.version_info[:2]
    return {"python_version": f"{major}.{minor}", "python_full_version": f"{major}.{minor}.0"}


def declarations(folder: Path, environment: dict[str, str]) -> Iterator[Declaration]:
    """What ``folder``'s metadata says about FastAPI: the lock files' pins when one pins it,
    else every requirement on it."""
    locked = list(_locked(folder))
    if locked:
        yield from locked
        return
    for requirement in _requirements(folder):
        declaration = requirement.declaration(environment)
        if declaration is not None:
            yield declaration


# -- lock files ----------------------------------------------------------------------------


def _locked(folder: Path) -> Iterator[Declaration]:
    for name in LOCK_FILES:
        path = folder / name
        if not path.is_file():
            continue
        if name == "Pipfile.lock":
            yield from _pipfile_locked(path)
            continue
        data = read_toml(path)
        packages = data.get("packages" if name == "pylock.toml" else "package")
        for package in packages if isinstance(packages, list) else []:
            if not isinstance(package, dict):
                continue
            distribution, version = package.get("name"), package.get("version")
            if _is_fastapi(distribution) and isinstance(version, str):
                yield _pinned(path, f'name = "{distribution}"', f"fastapi {version}", version)


def _pipfile_locked(path: Path) -> Iterator[Declaration]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    for section in ("default", "develop"):
        packages = data.get(section) if isinstance(data, dict) else None
        for distribution, package in packages.items() if isinstance(packages, dict) else ():
            version = package.get("version") if isinstance(package, dict) else None
            if _is_fastapi(distribution) and isinstance(version, str):
                pinned = version.removeprefix("==")
                yield _pinned(path, f'"{distribution}"', f"fastapi {pinned}", pinned)


def _pinned(path: Path, needle: str, text: str, version: str) -> Declaration:
    try:
        admits = VersionRange.singleton(Version(version), prereleases=False)
    except InvalidVersion:
        admits = VersionRange.full(prereleases=False)
    return Declaration(path, _line_of(path, needle), text, admits)


# -- requirements ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Requirement:
    """A requirement as a file writes it: PEP 508, or Poetry's constraint for a name."""

    file: Path
    text: str  # PEP 508 text; for Poetry, the constraint alone
    poetry_name: str | None = None  # set for Poetry tables
    poetry_markers: str | None = None
    line: int | None = None  # where it starts, when known (else looked up by its text)

    def declaration(self, environment: dict[str, str]) -> Declaration | None:
        if self.poetry_name is not None:
            return self._poetry(self.poetry_name, environment)
        try:
            requirement = Requirement(self.text)
        except InvalidRequirement:
            return None
        if not _is_fastapi(requirement.name):
            return None
        if requirement.marker is not None and not requirement.marker.evaluate(environment):
            return None
        admits = SpecifierSet(str(requirement.specifier), prereleases=False).to_range()
        line = self.line or _line_of(self.file, self.text)
        return Declaration(self.file, line, self.text, admits)

    def _poetry(self, name: str, environment: dict[str, str]) -> Declaration | None:
        if not _is_fastapi(name):
            return None
        if self.poetry_markers:
            try:
                if not Marker(self.poetry_markers).evaluate(environment):
                    return None
            except InvalidMarker:
                pass
        admits = poetry_range(self.text)
        if admits is None:
            return None
        line = _line_of(self.file, name, self.text)
        return Declaration(self.file, line, f"{name} {self.text}", admits)


def _requirements(folder: Path) -> Iterator[_Requirement]:
    pyproject = folder / "pyproject.toml"
    if pyproject.is_file():
        yield from _pyproject_requirements(pyproject)
    requirement_files = sorted(
        path
        for path in [*folder.glob("requirements*"), *folder.glob("requirements/*")]
        if path.is_file() and path.suffix in (".txt", ".in")
    )
    seen: set[Path] = set()
    for path in requirement_files:
        yield from requirements_file(path.resolve(), seen)
    if (folder / "setup.cfg").is_file():
        yield from _setup_cfg(folder / "setup.cfg")
    if (folder / "setup.py").is_file():
        yield from _setup_py(folder / "setup.py")
    if (folder / "Pipfile").is_file():
        yield from _pipfile(folder / "Pipfile")


def _pyproject_requirements(path: Path) -> Iterator[_Requirement]:
    data = read_toml(path)
    strings = [
        lookup(data, "project", "dependencies"),
        *_tables(lookup(data, "project", "optional-dependencies")),
        *_tables(lookup(data, "dependency-groups")),  # `{include-group = ...}`: read anyway
        lookup(data, "tool", "uv", "dev-dependencies"),
        lookup(data, "tool", "uv", "constraint-dependencies"),
        lookup(data, "tool", "uv", "override-dependencies"),
        *_tables(lookup(data, "tool", "pdm", "dev-dependencies")),
    ]
    for group in strings:
        for text in group if isinstance(group, list) else []:
            if isinstance(text, str):
                yield _Requirement(path, text)
    dynamic = lookup(data, "tool", "setuptools", "dynamic", "dependencies", "file")
    for name in [dynamic] if isinstance(dynamic, str) else dynamic or []:
        if isinstance(name, str):
            yield from requirements_file((path.parent / name).resolve(), set())
    poetry = lookup(data, "tool", "poetry")
    tables = [
        lookup(poetry, "dependencies"),
        lookup(poetry, "dev-dependencies"),
        *(lookup(group, "dependencies") for group in _tables(lookup(poetry, "group"))),
    ]
    for table in tables:
        for name, spec in table.items() if isinstance(table, dict) else ():
            yield from _poetry_requirements(path, name, spec)


def _tables(value: Any) -> list[Any]:
    return list(value.values()) if isinstance(value, dict) else []


def _poetry_requirements(path: Path, name: str, spec: Any) -> Iterator[_Requirement]:
    """``fastapi = "^0.95"``, ``{version = ..., markers = ...}``, or a list of those."""
    for each in spec if isinstance(spec, list) else [spec]:
        if isinstance(each, str):
            yield _Requirement(path, each, name)
        elif isinstance(each, dict) and isinstance(each.get("version", "*"), str):
            markers = each.get("markers")
            yield _Requirement(
                path,
                each.get("version", "*"),
                name,
                markers if isinstance(markers, str) else None,
            )


def poetry_range(constraint: str) -> VersionRange | None:
    """What a Poetry constraint admits (python-poetry.org, "Dependency specification"):
    ``^0.2.3`` = ``>=0.2.3,<0.3.0``, ``~1.2.3`` = ``>=1.2.3,<1.3.0``, ``*``, a bare version
    is exact, ``||`` joins alternatives; anything else is PEP 440. None if unreadable."""
    admits = VersionRange.empty(prereleases=False)
    for alternative in constraint.split("||"):
        clauses: list[str] = []
        for clause in alternative.replace(",", " ").split():
            converted = _poetry_clause(clause)
            if converted is None:
                return None
            clauses.extend(converted)
        try:
            specifiers = SpecifierSet(",".join(clauses), prereleases=False)
        except InvalidSpecifier:
            return None
        admits = admits.union(specifiers.to_range())
    return admits


def _poetry_clause(clause: str) -> list[str] | None:
    if clause == "*":
        return []
    if clause.startswith("^") or (clause.startswith("~") and not clause.startswith("~=")):
        try:
            version = Version(clause.lstrip("^~"))
        except InvalidVersion:
            return None
        parts = list(version.release)
        if clause.startswith("^"):  # the first non-zero part given (or the last) goes up
            bump = next((i for i, part in enumerate(parts) if part), len(parts) - 1)
        else:  # `~1` → <2, `~1.2` and `~1.2.3` → <1.3
            bump = min(1, len(parts) - 1)
        upper = [*parts[:bump], parts[bump] + 1]
        return [f">={version}", f"<{'.'.join(map(str, upper))}"]
    if clause[:1].isdigit():
        return [f"=={clause}"]
    return [clause]


def requirements_file(path: Path, seen: set[Path]) -> Iterator[_Requirement]:
    """The requirements of a pip requirements file and of the files it includes with
    ``-r``/``-c`` (relative to it, each read once): continuations joined, comments, options
    and editable installs left out."""
    resolved = path.resolve()
    if resolved in seen:
        return
    seen.add(resolved)
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return
    for number, line in logical_lines(text):
        if line.startswith("-"):
            included = included_path(path, line)
            if included is not None:
                yield from requirements_file(included, seen)
            continue
        yield _Requirement(path, line.split(" --")[0].strip(), line=number)


def _setup_cfg(path: Path) -> Iterator[_Requirement]:
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read(path, encoding="utf-8")
    except (configparser.Error, UnicodeDecodeError):
        return
    values = []
    if parser.has_option("options", "install_requires"):
        values.append(parser.get("options", "install_requires"))
    if parser.has_section("options.extras_require"):
        values.extend(value for _, value in parser.items("options.extras_require"))
    for value in values:
        for line in value.splitlines():
            line = line.split(" #")[0].strip()
            if line and not line.startswith("#"):
                yield _Requirement(path, line)


def _setup_py(path: Path) -> Iterator[_Requirement]:
    """``install_requires=`` and ``extras_require=`` of the first ``setup(...)`` call, when
    they are literals or names bound to literals earlier in the module."""
    try:
        tree = ast.parse(path.read_bytes())
    except (OSError, SyntaxError, ValueError):
        return
    bound: dict[str, ast.expr] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    bound[target.id] = node.value
    call = next(
        (
            node
            for node in ast.walk(tree)
            if isinstance(node, ast.Call)
            and (
                (isinstance(node.func, ast.Name) and node.func.id == "setup")
                or (isinstance(node.func, ast.Attribute) and node.func.attr == "setup")
            )
        ),
        None,
    )
    for keyword in call.keywords if call is not None else []:
        if keyword.arg not in ("install_requires", "extras_require"):
            continue
        value = keyword.value
        if isinstance(value, ast.Name):
            value = bound.get(value.id, value)
        try:
            literal = ast.literal_eval(value)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            continue
        groups = literal.values() if isinstance(literal, dict) else [literal]
        for group in groups:
            for text in [group] if isinstance(group, str) else group:
                if isinstance(text, str):
                    yield _Requirement(path, text)


def _pipfile(path: Path) -> Iterator[_Requirement]:
    data = read_toml(path)
    for section in ("packages", "dev-packages"):
        table = data.get(section)
        for name, spec in table.items() if isinstance(table, dict) else ():
            version = spec.get("version", "*") if isinstance(spec, dict) else spec
            if isinstance(version, str):
                yield _Requirement(path, f"{name}{'' if version == '*' else version}")


# -- helpers ----------------------------------------------------------------------------


def _is_fastapi(name: object) -> bool:
    return isinstance(name, str) and canonicalize_name(name) in FASTAPI_DISTRIBUTIONS


def _line_of(path: Path, *needles: str) -> int | None:
    """The first line of ``path`` holding every needle, for the finding to point at."""
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    return next(
        (number for number, line in enumerate(lines, 1) if all(n in line for n in needles)),
        None,
    )
