"""From the paths a user names to the Python files to process."""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path

import pathspec

from fastapi_fix.engine.cache import REMEMBERED, Cache, file_signature
from fastapi_fix.engine.codemod import SourceFile
from fastapi_fix.engine.files import RealPaths, real_is_within

# Folders no one wants rewritten: VCS data, environments, build output, caches.
DEFAULT_EXCLUDED_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        ".venv",
        "venv",
        ".env",
        ".tox",
        ".nox",
        "node_modules",
        "build",
        "dist",
        "__pycache__",
        "site-packages",
        ".eggs",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        ".fastapi-fix_cache",
    }
)


@dataclass
class Discovery:
    files: list[SourceFile] = field(default_factory=list)
    # (display path, reason) for files found but not processed.
    skipped: list[tuple[str, str]] = field(default_factory=list)
    # Real paths under which the tool may write.
    roots: list[Path] = field(default_factory=list)
    # The rest of the project: read to know who calls what, never rewritten. An excluded or
    # unnamed file may still await a route or call a task directly.
    context: list[SourceFile] = field(default_factory=list)


def display_path(path: Path, cwd: Path) -> str:
    """Relative to the current folder when possible, always with forward slashes."""
    try:
        return Path(os.path.relpath(path, cwd)).as_posix()
    except ValueError:  # another drive on Windows
        return path.as_posix()


@cache
def _package_parts(directory: Path) -> tuple[str, ...]:
    """The dotted package path of a folder: parents are walked while they hold __init__.py."""
    if not (directory / "__init__.py").is_file() or directory.parent == directory:
        return ()
    return (*_package_parts(directory.parent), directory.name)


def module_name(path: Path) -> str:
    parts = _package_parts(path.parent)
    if path.name == "__init__.py":
        return ".".join(parts)
    return ".".join((*parts, path.stem))


def source_file(path: Path, cwd: Path) -> SourceFile:
    absolute = Path(os.path.abspath(path))
    return SourceFile(absolute, display_path(absolute, cwd), module_name(absolute))


def _gitignore_spec(lines: list[str]) -> pathspec.GitIgnoreSpec:
    """A .gitignore's rules; like git, a line that is not a valid pattern (``!``) is ignored."""
    try:
        return pathspec.GitIgnoreSpec.from_lines(lines)
    except ValueError:
        return pathspec.GitIgnoreSpec.from_lines([line for line in lines if _valid_glob(line)])


def _valid_glob(line: str) -> bool:
    try:
        pathspec.GitIgnoreSpec.from_lines([line])
    except ValueError:
        return False
    return True


@dataclass
class _Looked:
    """What a discovery looked at: each folder it listed, each ``.gitignore`` it read or found
    missing, each path it was given. While they stand as they were, a discovery finds the same
    files (a folder's times move whenever an entry is added, removed or renamed in it)."""

    signatures: dict[str, tuple[int, int, int, int] | None] = field(default_factory=dict)

    def record(self, path: Path) -> None:
        self.signatures[os.fspath(path)] = file_signature(path)

    def unchanged(self) -> bool:
        return all(file_signature(Path(p)) == s for p, s in self.signatures.items())


class _IgnoreRules:
    """.gitignore files (from the repository root down) plus the user's --exclude globs."""

    def __init__(self, excludes: Iterable[str], looked: _Looked | None = None) -> None:
        self._looked = looked
        patterns = list(excludes)
        self._excludes = pathspec.GitIgnoreSpec.from_lines(patterns) if patterns else None
        self._by_dir: dict[Path, pathspec.GitIgnoreSpec | None] = {}
        # (folder, walk root) -> the .gitignore files that apply to the folder's entries.
        self._chains: dict[tuple[Path, Path], list[tuple[str, pathspec.GitIgnoreSpec]]] = {}

    def _spec(self, directory: Path) -> pathspec.GitIgnoreSpec | None:
        if directory not in self._by_dir:
            gitignore = directory / ".gitignore"
            if self._looked is not None:
                self._looked.record(gitignore)
            spec = None
            if gitignore.is_file():
                lines = gitignore.read_text(encoding="utf-8", errors="replace").splitlines()
                spec = _gitignore_spec(lines)
            self._by_dir[directory] = spec
        return self._by_dir[directory]

    def ignored(self, path: Path, root: Path, is_dir: bool) -> bool:
        suffix = "/" if is_dir else ""
        text = os.fspath(path)
        if self._excludes is not None and self._excludes.match_file(
            _below(text, os.fspath(root)) + suffix
        ):
            return True
        return any(
            spec.match_file(_below(text, directory) + suffix)
            for directory, spec in self._applying(path.parent, root)
        )

    def _applying(self, folder: Path, root: Path) -> list[tuple[str, pathspec.GitIgnoreSpec]]:
        chain = self._chains.get((folder, root))
        if chain is None:
            chain = self._chains[folder, root] = [
                (os.fspath(directory), spec)
                for directory in _gitignore_dirs(folder, root)
                if (spec := self._spec(directory)) is not None
            ]
        return chain


def _below(path: str, folder: str) -> str:
    """``path`` relative to ``folder`` (an absolute folder it is inside), with ``/``."""
    relative = path[len(folder.rstrip(os.sep)) + 1 :]
    return relative.replace(os.sep, "/") if os.sep != "/" else relative


def repository_root(start: Path) -> Path | None:
    for directory in (start, *start.parents):
        if (directory / ".git").exists():
            return directory
    return None


@cache
def _gitignore_dirs(directory: Path, root: Path) -> tuple[Path, ...]:
    """Folders whose .gitignore applies below ``directory``: up to the repository root."""
    top = repository_root(root) or root
    chain = []
    for candidate in (directory, *directory.parents):
        chain.append(candidate)
        if candidate == top:
            break
    return tuple(reversed(chain))


def discover(
    paths: Iterable[Path],
    excludes: Iterable[str] = (),
    cwd: Path | None = None,
    cache: Cache | None = None,
) -> Discovery:
    """The files below ``paths``; with a ``cache``, the files an earlier run found, as long as
    nothing it looked at moved."""
    cwd = cwd or Path.cwd()
    paths, excludes = list(paths), list(excludes)
    if cache is None:
        return _discover(paths, excludes, cwd, None)
    key = cache.key("discover", [os.fspath(p) for p in paths], excludes, os.fspath(cwd))
    stored = cache.load(REMEMBERED, key)
    if isinstance(stored, tuple) and len(stored) == 2:
        found, looked = stored
        if isinstance(found, Discovery) and isinstance(looked, _Looked) and looked.unchanged():
            return found
    looked = _Looked()
    found = _discover(paths, excludes, cwd, looked)
    cache.store(REMEMBERED, key, (found, looked))
    return found


def _discover(
    paths: list[Path], excludes: list[str], cwd: Path, looked: _Looked | None
) -> Discovery:
    rules = _IgnoreRules(excludes, looked)
    result = Discovery()
    seen: set[Path] = set()
    given = [Path(os.path.abspath(p)) for p in paths]
    result.roots = [Path(os.path.realpath(p)) for p in given]
    real_path = RealPaths()
    for path in given:
        if looked is not None:
            looked.record(path)
        candidates = [path] if path.is_file() else _walk(path, rules, looked)
        for file in candidates:
            real = real_path(file)
            if real in seen:
                continue
            seen.add(real)
            if file != path and not real_is_within(os.fspath(real), result.roots):
                result.skipped.append(
                    (display_path(file, cwd), "symlink to a file outside the given paths")
                )
                continue
            # A link found while walking is processed as its target: that is what gets written,
            # and what a --dry-run patch must name to apply.
            result.files.append(source_file(real if file != path else file, cwd))
    result.files = sorted(distinct_module_names(result.files), key=lambda f: f.display_path)
    return result


def distinct_module_names(files: list[SourceFile]) -> list[SourceFile]:
    """Give files that would share a module name (``users/main.py`` and ``orders/main.py``
    in folders without ``__init__.py``) distinct names, so their facts never mix."""
    names = suffix_names([f.path for f in files], [f.module_name for f in files])
    return [
        f if f.module_name == name else replace(f, module_name=name)
        for f, name in zip(files, names, strict=True)
    ]


def suffix_names(
    paths: Sequence[Path], names: Sequence[str], taken: Collection[str] = ()
) -> list[str]:
    """``names`` (one per path) made distinct, and distinct from ``taken``: the file nearest
    the top keeps a shared name (it is the one importable from there); the others are named
    by as many of their folders as it takes to tell them apart."""
    groups: dict[str, list[int]] = defaultdict(list)
    for index, name in enumerate(names):
        groups[name].append(index)
    result = list(names)
    for name, group in groups.items():
        if len(group) < 2 and name not in taken:
            continue
        depth = [len(paths[i].parts) for i in group]
        keeper = (
            group[depth.index(min(depth))]
            if depth.count(min(depth)) == 1 and name not in taken
            else None
        )
        others = [i for i in group if i != keeper]
        suffixes = _shortest_distinct_suffixes([paths[i] for i in others], name, taken)
        for index, qualified in zip(others, suffixes, strict=True):
            result[index] = qualified
    return result


def _shortest_distinct_suffixes(
    paths: Sequence[Path], name: str, taken: Collection[str]
) -> list[str]:
    parts = [p.with_suffix("").parts for p in paths]
    parts = [p[:-1] if p[-1] == "__init__" else p for p in parts]
    for length in range(len(name.split(".")) + 1, max(map(len, parts)) + 1):
        suffixes = [".".join(p[-length:]) for p in parts]
        if len(set(suffixes)) == len(suffixes) and not any(s in taken for s in suffixes):
            return suffixes
    return [".".join(p) for p in parts]


def _walk(root: Path, rules: _IgnoreRules, looked: _Looked | None = None) -> Iterator[Path]:
    for directory, dirnames, filenames in os.walk(root):
        here = Path(directory)
        dirnames[:] = sorted(
            name
            for name in dirnames
            if name not in DEFAULT_EXCLUDED_DIRS
            and not name.endswith(".egg-info")
            and not (here / name / "pyvenv.cfg").exists()  # a virtual environment by any name
            and not (here / name / "CACHEDIR.TAG").exists()  # a cache (ours, wherever it is)
            and not rules.ignored(here / name, root, is_dir=True)
        )
        if looked is not None:  # before they are listed: a later change moves their times
            for name in dirnames:
                looked.record(here / name)
        for name in sorted(filenames):
            file = here / name
            if (
                name.endswith(".py")
                and file.is_file()
                and not rules.ignored(file, root, is_dir=False)
            ):
                yield file


def project_context(
    found: Discovery, project_root: Path | None, cwd: Path | None = None, cache: Cache | None = None
) -> None:
    """Fill ``found.context`` with the project's other Python files (``.gitignore`` and the
    usual folders still apply; ``--exclude`` globs do not: they only say what not to rewrite)."""
    if project_root is None:
        return
    real_path = RealPaths()
    named = {real_path(f.path) for f in found.files}
    others = discover([project_root], cwd=cwd, cache=cache).files
    context = [f for f in others if real_path(f.path) not in named]
    everything = distinct_module_names([*found.files, *context])
    found.files, found.context = everything[: len(found.files)], everything[len(found.files) :]
