"""Where a name lives after the move, and how to import it from a given module.

`World` answers "``from OLD import name``: where is ``name`` now?" for every module of
the project; `ImportSpec` and `render_import` turn the answer into a statement, relative
when the original was relative and the new path stays short, absolute otherwise, and never
``import pkg.x`` (it would rebind ``pkg``, which is often the ``app`` object's name).
"""

from __future__ import annotations

import sys
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import libcst as cst

from fastapi_fix.codemods.layered_layout.project_index import ProjectIndex

# A relative import is kept relative only while it needs at most this many dots.
MAX_RELATIVE_LEVEL = 2
# Generated ``from x import (...)`` statements wrap beyond this width, one name a line.
LINE_LENGTH = 88


@dataclass(frozen=True)
class Location:
    """Where something is after the move: ``name`` in ``module``, or the module itself."""

    module: str
    name: str | None = None


@dataclass
class World:
    """The project after the move, as seen by the rewriters."""

    project: ProjectIndex
    package: str
    package_dir: str
    module_map: dict[str, str] = field(default_factory=dict)  # old member -> new module
    deleted: set[str] = field(default_factory=set)  # old members whose file disappears
    symbol_map: dict[tuple[str, str], str] = field(
        default_factory=dict
    )  # (old module, name) -> new module
    bindings: dict[str, set[str]] = field(
        default_factory=lambda: defaultdict(set)
    )  # new module -> names
    placements: dict[tuple[str, int], str] = field(
        default_factory=dict
    )  # (old module, statement) -> path
    path_modules: dict[str, str] = field(default_factory=dict)  # target path -> module name
    known_modules: set[str] = field(default_factory=set)  # every module of the project, old names

    def new_module(self, old: str) -> str:
        if old in self.module_map:
            return self.module_map[old]
        # a module below a moved package (not a member itself): keep its relative place
        return old

    def module_for_path(self, rel_path: str) -> str:
        if rel_path in self.path_modules:
            return self.path_modules[rel_path]
        prefix = f"{self.package_dir}/" if self.package_dir else ""
        inside = rel_path[len(prefix) :] if prefix and rel_path.startswith(prefix) else rel_path
        parts = inside.removesuffix(".py").split("/")
        if parts[-1] == "__init__":
            parts = parts[:-1]
        dotted = ".".join(parts)
        if prefix and rel_path.startswith(prefix):
            return f"{self.package}.{dotted}" if dotted else self.package
        return dotted

    def is_project_module(self, name: str) -> bool:
        return name in self.known_modules

    def moves(self, old: str) -> bool:
        return self.module_map.get(old, old) != old or old in self.deleted

    def changed(self, old: str) -> bool:
        """The module moved, or lost names to other modules."""
        return self.moves(old) or any(module == old for module, _ in self.symbol_map)

    def home(self, old_module: str, name: str, _depth: int = 0) -> Location:
        """Where ``from old_module import name`` finds its object now."""
        submodule = f"{old_module}.{name}"
        if submodule in self.known_modules:
            return Location(self.new_module(submodule))
        new = self.new_module(old_module)
        info = self.project.modules.get(old_module)
        # Still reachable where it was (the module kept it, or imports it now): no change.
        if info is None or (old_module not in self.deleted and name in self.bindings.get(new, ())):
            return Location(new, name)
        if (old_module, name) in self.symbol_map:
            return Location(self.symbol_map[(old_module, name)], name)
        imported = info.imports.get(name)
        if imported is not None and _depth < 20:
            if imported.name is None:
                target = name if imported.dotted else imported.module
                return Location(self.new_module(target) if target in self.known_modules else target)
            if imported.module in self.known_modules:
                return self.home(imported.module, imported.name, _depth + 1)
            return Location(imported.module, imported.name)
        return Location(new, name)

    def consumers(self, old_module: str, name: str) -> set[str]:
        """The new modules whose code looks ``name`` up (for ``mock.patch`` targets)."""
        info = self.project.modules.get(old_module)
        if info is None:
            return set()
        found = set()
        for statement in info.statements:
            if name in statement.uses and not statement.is_import:
                path = self.placements.get((old_module, statement.index))
                if path is not None:
                    found.add(self.module_for_path(path))
        return found


@dataclass(frozen=True)
class ImportSpec:
    """``from module import name as asname`` (``name=None``: ``import module as asname``)."""

    module: str
    name: str | None = None
    asname: str | None = None
    relative: bool = False  # written relative when short enough
    type_only: bool = False

    @property
    def local(self) -> str:
        return self.asname or self.name or self.module.partition(".")[0]


def relative_module(importer_package: str, target: str, allow: bool) -> tuple[int, str] | None:
    """``(level, rest)`` for a relative import of ``target`` from ``importer_package``, or
    None when it must be absolute (other top package, too many dots, or not wanted)."""
    if not allow or not importer_package:
        return None
    here = importer_package.split(".")
    there = target.split(".")
    if here[0] != there[0]:
        return None
    common = 0
    while common < min(len(here), len(there)) and here[common] == there[common]:
        common += 1
    level = len(here) - common + 1
    if level > MAX_RELATIVE_LEVEL:
        return None
    return level, ".".join(there[common:])


def module_expression(dotted: str) -> cst.Attribute | cst.Name:
    parts = dotted.split(".")
    node: cst.Attribute | cst.Name = cst.Name(parts[0])
    for part in parts[1:]:
        node = cst.Attribute(node, cst.Name(part))
    return node


def render_from(
    module: str, names: Sequence[tuple[str, str | None]], importer_package: str, relative: bool
) -> cst.ImportFrom:
    """``from module import a, b as c`` (relative when wanted and short)."""
    aliases = [
        cst.ImportAlias(
            cst.Name(name), cst.AsName(cst.Name(asname)) if asname and asname != name else None
        )
        for name, asname in names
    ]
    rel = relative_module(importer_package, module, relative)
    if rel is not None:
        level, rest = rel
        node = cst.ImportFrom(
            module=module_expression(rest) if rest else None,
            names=aliases,
            relative=[cst.Dot()] * level,
        )
    else:
        node = cst.ImportFrom(module=module_expression(module), names=aliases)
    return _wrapped(node)


def render_import_as(module: str, asname: str | None) -> cst.Import:
    alias = cst.ImportAlias(
        module_expression(module), cst.AsName(cst.Name(asname)) if asname else None
    )
    return cst.Import(names=[alias])


def render_module_binding(
    module: str, local: str, importer_package: str, relative: bool
) -> cst.BaseSmallStatement:
    """A statement binding ``local`` to ``module``: ``from parent import last [as local]``."""
    parent, _, last = module.rpartition(".")
    if not parent:
        return render_import_as(module, local if local != module else None)
    return render_from(parent, [(last, local)], importer_package, relative)


def _wrapped(node: cst.ImportFrom) -> cst.ImportFrom:
    """One name a line, black style, when the statement would be too long."""
    text = cst.Module(body=[cst.SimpleStatementLine([node])]).code.rstrip("\n")
    if isinstance(node.names, cst.ImportStar) or len(text) <= LINE_LENGTH or len(node.names) < 2:
        return node
    names = list(node.names)
    indent = cst.ParenthesizedWhitespace(
        first_line=cst.TrailingWhitespace(),
        empty_lines=[],
        indent=True,
        last_line=cst.SimpleWhitespace("    "),
    )
    last = cst.ParenthesizedWhitespace(
        first_line=cst.TrailingWhitespace(),
        empty_lines=[],
        indent=True,
        last_line=cst.SimpleWhitespace(""),
    )
    wrapped = [
        alias.with_changes(comma=cst.Comma(whitespace_after=indent if i < len(names) - 1 else last))
        for i, alias in enumerate(names)
    ]
    return node.with_changes(
        names=wrapped, lpar=cst.LeftParen(whitespace_after=indent), rpar=cst.RightParen()
    )


def group_specs(specs: Iterable[ImportSpec]) -> list[ImportSpec]:
    """Specs without duplicates, first appearance first."""
    seen: set[ImportSpec] = set()
    out = []
    for spec in specs:
        if spec not in seen:
            seen.add(spec)
            out.append(spec)
    return out


def _section(module: str, relative: bool, first_party: frozenset[str]) -> int:
    """isort's sections: future, standard library, third party, first party."""
    top = module.partition(".")[0]
    if top == "__future__":
        return 0
    if relative or top in first_party:
        return 3
    if top in sys.stdlib_module_names:
        return 1
    return 2


def name_order(name: str) -> tuple[int, str]:
    """ruff/isort ``order-by-type``: CONSTANTS, Classes, then functions and variables."""
    if name.isupper() and len(name) > 1:
        return 0, name
    return (1 if name[:1].isupper() else 2), name


def render_specs(
    specs: Sequence[ImportSpec],
    importer_package: str,
    first_party: frozenset[str] = frozenset(),
    sections: bool = False,
) -> list[cst.SimpleStatementLine]:
    """Import lines for ``specs``, sorted the way isort sorts them (a blank line between
    sections when ``sections``): ``import x`` lines, then one ``from`` line per module."""
    by_module: dict[tuple[str, bool], set[tuple[str, str | None]]] = {}  # its (name, asname)
    plain: list[ImportSpec] = []
    for spec in specs:
        if spec.name is None:
            plain.append(spec)
        else:
            # Grouped by how the module is written: a relative wish that cannot be honoured
            # joins the absolute line of the same module.
            written_relative = (
                relative_module(importer_package, spec.module, spec.relative) is not None
            )
            by_module.setdefault((spec.module, written_relative), set()).add(
                (spec.name, spec.asname)
            )
    entries: list[tuple[tuple[int, int, str], cst.SimpleStatementLine]] = []  # (sort key, line)
    for spec in plain:
        key = (_section(spec.module, False, first_party), 0, spec.module)
        entries.append((key, cst.SimpleStatementLine([render_import_as(spec.module, spec.asname)])))
    for (module, relative), group in by_module.items():
        names = sorted(group, key=lambda n: name_order(n[0]))
        statement = render_from(module, names, importer_package, relative)
        written_relative = bool(statement.relative)
        key = (
            _section(module, written_relative, first_party),
            1,
            ("~" if written_relative else "") + module,
        )
        entries.append((key, cst.SimpleStatementLine([statement])))
    entries.sort(key=lambda entry: entry[0])
    lines: list[cst.SimpleStatementLine] = []
    previous = None
    for key, line in entries:
        if sections and previous is not None and key[0] != previous:
            line = line.with_changes(leading_lines=[cst.EmptyLine()])
        lines.append(line)
        previous = key[0]
    return lines
