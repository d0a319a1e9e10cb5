"""Project settings read from ``pyproject.toml``."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pathspec

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from fastapi_fix.engine.cache import Cache
from fastapi_fix.engine.codemod import Codemod, SourceFile
from fastapi_fix.engine.discover import Discovery, discover, project_context, repository_root


class ConfigError(ValueError):
    """Bad configuration: a usage error."""


def find_pyproject(paths: Iterable[Path]) -> Path | None:
    """The nearest ``pyproject.toml`` above the first path, as ruff and black find theirs."""
    for path in paths:
        start = path.resolve()
        for directory in (start if start.is_dir() else start.parent, *start.parents):
            candidate = directory / "pyproject.toml"
            if candidate.is_file():
                return candidate
        return None
    return None


def load_pyproject(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not a readable TOML file: {exc}") from None


def check_globs(patterns: Sequence[str], where: str) -> None:
    """`ConfigError` naming the first glob that is not a valid gitignore pattern (``!``)."""
    for pattern in patterns:
        try:
            pathspec.GitIgnoreSpec.from_lines([pattern])
        except ValueError:
            raise ConfigError(f"{where}: invalid glob {pattern!r}") from None


def parse_target_version(text: str) -> tuple[int, int]:
    """``py39``, ``3.9`` or ``39`` → ``(3, 9)``."""
    match = re.fullmatch(r"(?:py)?3\.?(\d+)", text.strip().lower())
    if not match:
        raise ConfigError(f"invalid target version {text!r}; expected e.g. py39 or 3.9")
    return (3, int(match.group(1)))


def minimum_python(requires_python: str) -> tuple[int, int] | None:
    """The lowest Python a ``requires-python`` specifier admits (``>=3.8,<4`` → 3.8)."""
    lowest = None
    for clause in requires_python.split(","):
        match = re.fullmatch(r"\s*(>=|~=|==|\^|>)\s*3\.(\d+)(?:\.[\d*]+)?\s*", clause)
        if match:
            minor = int(match.group(2)) + (1 if match.group(1) == ">" else 0)
            lowest = min(lowest or (3, minor), (3, minor))
    return lowest


def project_target_version(pyproject: dict[str, Any]) -> tuple[int, int] | None:
    requires = lookup(pyproject, "project", "requires-python")
    if isinstance(requires, str):
        return minimum_python(requires)
    poetry = lookup(pyproject, "tool", "poetry", "dependencies", "python")
    if isinstance(poetry, str):
        return minimum_python(poetry)
    return None


def lookup(document: Any, *keys: str) -> Any:
    """``document[k1][k2]...``, or ``None`` where a table is missing or is not a table
    (other tools' sections are not ours to validate)."""
    for key in keys:
        if not isinstance(document, dict):
            return None
        document = document.get(key)
    return document


# -- [tool.fastapi-fix] -----------------------------------------------------------------

TOOL_TABLE = "tool.fastapi-fix"
GENERAL_KEYS = ("select", "ignore", "exclude", "target-version")


@dataclass(frozen=True)
class ToolConfig:
    """``[tool.fastapi-fix]`` of one ``pyproject.toml``, validated."""

    # The pyproject.toml it came from; its folder anchors the ``exclude`` globs.
    path: Path | None = None
    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    # ``target-version`` if set, else the minimum of ``requires-python``.
    target_version: tuple[int, int] | None = None
    # {codemod name: {option name: value}} from ``[tool.fastapi-fix.<codemod>]`` tables.
    options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    @property
    def root(self) -> Path | None:
        return self.path.parent if self.path else None


def load_tool_config(paths: Iterable[Path], codemods: Sequence[type[Codemod]]) -> ToolConfig:
    """The configuration of the project holding ``paths`` (empty without a pyproject.toml)."""
    pyproject = find_pyproject(paths)
    if pyproject is None:
        return ToolConfig()
    return parse_tool_config(load_pyproject(pyproject), pyproject, codemods)


def parse_tool_config(
    document: Mapping[str, Any], path: Path, codemods: Sequence[type[Codemod]]
) -> ToolConfig:
    tool = document.get("tool", {})
    table = tool.get("fastapi-fix", {}) if isinstance(tool, dict) else {}
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [{TOOL_TABLE}] must be a table")
    by_name = {codemod.name: codemod for codemod in codemods}
    _reject_unknown_keys(path, table, by_name)
    known = list(by_name)
    version = table.get("target-version")
    if version is not None and not isinstance(version, str):
        raise ConfigError(f'{path}: [{TOOL_TABLE}] target-version must be a string such as "py39"')
    return ToolConfig(
        path=path,
        select=_codemod_names(path, table, "select", known),
        ignore=_codemod_names(path, table, "ignore", known),
        exclude=_globs(path, table),
        target_version=parse_target_version(version)
        if version
        else project_target_version(dict(document)),
        options=_all_codemod_options(path, table, by_name),
    )


def _option_owners(by_name: Mapping[str, type[Codemod]]) -> dict[str, str]:
    """Option name → its codemod. Names are unique across codemods (they are CLI flags too)."""
    return {option.name: name for name, codemod in by_name.items() for option in codemod.options}


def _all_codemod_options(
    path: Path, table: Mapping[str, Any], by_name: Mapping[str, type[Codemod]]
) -> dict[str, dict[str, Any]]:
    """Options from ``[tool.fastapi-fix.<codemod>]`` tables and, like the command line's flags,
    flat ``[tool.fastapi-fix]`` keys (``blocking-calls = [...]``)."""
    options = {
        name: _codemod_options(path, table[name], by_name[name])
        for name in by_name
        if name in table
    }
    for key, owner in _option_owners(by_name).items():
        if key not in table:
            continue
        if key in options.get(owner, {}):
            raise ConfigError(
                f"{path}: {key!r} is set both in [{TOOL_TABLE}] and in [{TOOL_TABLE}.{owner}]"
            )
        options.setdefault(owner, {}).update(
            _codemod_options(path, {key: table[key]}, by_name[owner])
        )
    return options


def _reject_unknown_keys(
    path: Path, table: Mapping[str, Any], by_name: Mapping[str, type[Codemod]]
) -> None:
    valid = [*GENERAL_KEYS, *by_name, *_option_owners(by_name)]
    for key in table:
        if key not in valid:
            raise ConfigError(
                f"{path}: unknown key {key!r} in [{TOOL_TABLE}]; valid keys: {', '.join(valid)}"
            )


def _strings(path: Path, table: Mapping[str, Any], key: str) -> tuple[str, ...]:
    value = table.get(key, [])
    if not (isinstance(value, list) and all(isinstance(item, str) for item in value)):
        raise ConfigError(f"{path}: [{TOOL_TABLE}] {key} must be a list of strings")
    return tuple(value)


def _globs(path: Path, table: Mapping[str, Any]) -> tuple[str, ...]:
    globs = _strings(path, table, "exclude")
    check_globs(globs, f"{path}: [{TOOL_TABLE}] exclude")
    return globs


def _codemod_names(
    path: Path, table: Mapping[str, Any], key: str, known: Sequence[str]
) -> tuple[str, ...]:
    names = _strings(path, table, key)
    unknown = [name for name in names if name not in known]
    if unknown:
        raise ConfigError(
            f"{path}: [{TOOL_TABLE}] {key}: unknown codemod {', '.join(map(repr, unknown))}; "
            f"valid names: {', '.join(known)}"
        )
    return names


def _codemod_options(path: Path, table: Any, codemod: type[Codemod]) -> dict[str, Any]:
    section = f"[{TOOL_TABLE}.{codemod.name}]"
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: {section} must be a table of options")
    options = {option.name: option for option in codemod.options}
    for key, value in table.items():
        if key not in options:
            valid = ", ".join(options) if options else "none, this codemod has no options"
            raise ConfigError(f"{path}: unknown key {key!r} in {section}; valid keys: {valid}")
        try:
            options[key].validate(value)
        except ValueError as exc:
            raise ConfigError(f"{path}: {section} {exc}") from None
    return dict(table)


# -- command line over configuration -----------------------------------------------------


def effective_selection(
    config: ToolConfig, select: Sequence[str], ignore: Sequence[str]
) -> tuple[list[str], list[str]]:
    """(select, ignore) after the command line: ``--select`` replaces the configured ``select``
    and ``ignore`` (naming a codemod means running it); ``--ignore`` adds to ``ignore``."""
    if select:
        return list(select), list(ignore)
    return list(config.select), [*config.ignore, *ignore]


def effective_options(
    config: ToolConfig, command_line: Mapping[str, Mapping[str, Any]]
) -> dict[str, dict[str, Any]]:
    """Codemod options: the configuration, then each option given on the command line."""
    merged = {name: dict(values) for name, values in config.options.items()}
    for name, values in command_line.items():
        merged.setdefault(name, {}).update(values)
    return merged


def without_excluded(
    files: Sequence[SourceFile], patterns: Sequence[str], root: Path
) -> list[SourceFile]:
    """``files`` minus those the configured ``exclude`` globs match, relative to ``root`` (the
    folder of pyproject.toml). Applies to files named on the command line too, which is what a
    pre-commit hook passes."""
    if not patterns:
        return list(files)
    spec = pathspec.GitIgnoreSpec.from_lines(list(patterns))
    kept = []
    for file in files:
        try:
            relative = file.path.relative_to(root).as_posix()
        except ValueError:  # outside the project: the project's globs do not speak for it
            kept.append(file)
            continue
        if not spec.match_file(relative):
            kept.append(file)
    return kept


@dataclass(frozen=True)
class Targets:
    """What a run covers: the paths named, ``--exclude`` globs (relative to each path) and
    the configured ``exclude`` globs (relative to the folder of pyproject.toml)."""

    paths: tuple[Path, ...]
    exclude: tuple[str, ...] = ()
    config_exclude: tuple[str, ...] = ()
    config_root: Path | None = None
    # Display paths are relative to this folder (default: the current one).
    cwd: Path | None = None
    # The cache folder of the run (`engine.cache`); None: no cache.
    cache: Path | None = None

    def discover(self, cache: Cache | None = None) -> Discovery:
        found = discover(self.paths, self.exclude, cwd=self.cwd, cache=cache)
        if self.config_root is not None:
            found.files = without_excluded(found.files, self.config_exclude, self.config_root)
        if not self._covers_whole_project():  # else every project file is named already
            project_context(found, self.project_root, cwd=self.cwd, cache=cache)
        return found

    def _covers_whole_project(self) -> bool:
        root = self.project_root
        if root is None or self.exclude or self.config_exclude:
            return False
        real_root = Path(os.path.realpath(root))
        return any(
            real_root == (real := Path(os.path.realpath(p))) or real in real_root.parents
            for p in self.paths
        )

    @property
    def project_root(self) -> Path | None:
        """The folder of pyproject.toml, else the git repository's top: what the codemods
        read to know the whole project, whichever part of it they rewrite."""
        if self.config_root is not None:
            return self.config_root
        first = Path(os.path.abspath(self.paths[0])) if self.paths else None
        return repository_root(first if first.is_dir() else first.parent) if first else None

    def relocated(self, old_root: Path, new_root: Path) -> Targets:
        """The same targets in another checkout of the repository (``--branch``'s worktree);
        paths are shown relative to its root."""

        def move(path: Path) -> Path:
            return new_root / os.path.relpath(os.path.realpath(path), old_root)

        return replace(
            self,
            paths=tuple(move(p) for p in self.paths),
            cwd=new_root,
            config_root=move(self.config_root) if self.config_root else None,
        )
