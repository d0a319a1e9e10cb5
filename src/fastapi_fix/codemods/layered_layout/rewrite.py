"""Rewrite the references of one source module for the place its statements go to.

The same transformer serves every file: a module that stays (only its imports change), a
module that moves (relative imports are recomputed from its new package), and statements
split out of a module into another (they get that module's aliases). It rewrites:

- ``import``/``from ... import`` at any depth (functions, ``TYPE_CHECKING`` blocks),
  regrouping the names of a split module by their new module;
- ``mod.name`` where ``mod`` is a split module: ``other.name`` with ``other`` imported
  beside ``mod``'s import;
- ``@app.get`` on a route leaving the module of ``app``: ``@router.get``;
- strings naming moved code (see `strings`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import libcst as cst
from libcst.helpers import get_full_name_for_node
from libcst.metadata import (
    ImportAssignment,
    MetadataWrapper,
    ParentNodeProvider,
    PositionProvider,
    Scope,
    ScopeProvider,
)

from fastapi_fix.codemods._build import BodyStatement
from fastapi_fix.codemods.layered_layout.imports import (
    ImportSpec,
    Location,
    World,
    module_expression,
    render_from,
    render_import_as,
    render_module_binding,
)
from fastapi_fix.codemods.layered_layout.index import ModuleInfo
from fastapi_fix.engine.results import Finding
from fastapi_fix.project.fastapi import ROUTE_DECORATORS, resolve_relative

CODEMOD = "layered-layout"


class AliasRegistry:
    """Names a target module uses for modules it reaches through an attribute
    (``security.hash_password``): unique in that module, stable for a run."""

    def __init__(self, taken: set[str]) -> None:
        self.taken = set(taken)
        self.by_module: dict[str, str] = {}

    def alias_for(self, module: str) -> str:
        if module in self.by_module:
            return self.by_module[module]
        parts = module.split(".")
        candidates = [parts[-1], "_".join(parts[-2:])] if len(parts) > 1 else [parts[0]]
        candidates.append(f"{parts[-1]}_module")
        alias = next((c for c in candidates if c not in self.taken), None)
        number = 2
        while alias is None:
            candidate = f"{parts[-1]}_{number}"
            alias = candidate if candidate not in self.taken else None
            number += 1
        self.taken.add(alias)
        self.by_module[module] = alias
        return alias


@dataclass
class Target:
    """Where the rewritten statements go."""

    path: str
    module: str
    package: str  # the package relative imports start from
    aliases: AliasRegistry
    router_name: str = "router"  # what ``@app.get`` becomes in this module


@dataclass
class Rewritten:
    """The result of one run: each emitted top-level statement's new form(s)."""

    statements: dict[int, list[BodyStatement]] = field(default_factory=dict)
    header: list[ImportSpec] = field(default_factory=list)  # imports the target must add
    dropped: set[str] = field(default_factory=set)  # top-level bindings no longer needed
    findings: list[Finding] = field(default_factory=list)
    edits: int = 0


# A string rewriter: (literal node, enclosing call or None, rewriter) -> new literal or None
StringHook = Callable[
    [cst.SimpleString, "cst.Call | None", "ReferenceRewriter"], "cst.SimpleString | None"
]


class ReferenceRewriter(cst.CSTTransformer):
    METADATA_DEPENDENCIES = (ScopeProvider, ParentNodeProvider, PositionProvider)

    def __init__(
        self,
        world: World,
        source: ModuleInfo,
        target: Target,
        selected: set[int],
        *,
        top_imports: bool,
        prune: frozenset[str] = frozenset(),
        app_name: str | None = None,
        strings: StringHook | None = None,
    ) -> None:
        super().__init__()
        self.world = world
        self.source = source
        self.target = target
        self.selected = selected
        self.top_imports = top_imports  # rewrite top-level imports in place (the module's home)
        self.prune = prune  # top-level names to unbind (only the moved statements used them)
        self.app_name = app_name  # convert @<app_name>.get decorators
        self.strings = strings
        self.result = Rewritten()
        self._top_index = {id(node): i for i, node in enumerate(source.tree.body)}
        self._attribute_rewrites: dict[int, cst.BaseExpression] = {}
        self._binding_keep: dict[tuple[int, str], bool] = {}  # (import node, local) -> keep?
        self._binding_specs: dict[int, list[ImportSpec]] = {}  # import node -> alias imports to add
        self._replacements: dict[int, list[cst.BaseSmallStatement] | None] = {}
        self._depth = 0

    # -- helpers ----------------------------------------------------------------------
    def line_of(self, node: cst.CSTNode) -> int:
        return self.get_metadata(PositionProvider, node).start.line

    def report(self, node: cst.CSTNode, message: str) -> None:
        position = self.get_metadata(PositionProvider, node).start
        self.result.findings.append(
            Finding(self.source.rel_path, position.line, position.column + 1, CODEMOD, message)
        )

    def _in_selected(self, node: cst.CSTNode) -> bool:
        position = self.get_metadata(PositionProvider, node).start.line
        for index in self.selected:
            statement = self.source.statements[index]
            if statement.first_line <= position <= statement.last_line:
                return True
        return False

    # -- preparation: module-valued bindings ------------------------------------------
    def visit_Module(self, node: cst.Module) -> None:
        scopes = {s for s in self.metadata[ScopeProvider].values() if isinstance(s, Scope)}
        for scope in scopes:
            for assignment in scope.assignments:
                if isinstance(assignment, ImportAssignment):
                    self._plan_binding(assignment)

    def _imported_module(self, assignment: ImportAssignment) -> tuple[str | None, bool]:
        """The project module an import binds, and whether it is ``import a.b.c`` (dotted)."""
        statement = assignment.node
        name = assignment.name
        if isinstance(statement, cst.Import):
            for alias in statement.names:
                dotted = get_full_name_for_node(alias.name) or ""
                local = get_full_name_for_node(alias.asname.name) if alias.asname else dotted
                if local == name:
                    return (dotted, alias.asname is None and "." in dotted)
            return None, False
        if isinstance(statement, cst.ImportFrom) and not isinstance(
            statement.names, cst.ImportStar
        ):
            package = resolve_relative(
                self.source.file,
                get_full_name_for_node(statement.module) if statement.module else None,
                len(statement.relative),
            )
            for alias in statement.names:
                imported = get_full_name_for_node(alias.name) or ""
                local = get_full_name_for_node(alias.asname.name) if alias.asname else imported
                if local == name:
                    full = f"{package}.{imported}" if package else imported
                    return (full if self.world.is_project_module(full) else None), False
        return None, False

    def _plan_binding(self, assignment: ImportAssignment) -> None:
        module, dotted = self._imported_module(assignment)
        if (
            module is None
            or not self.world.is_project_module(module)
            or not self.world.changed(module)
        ):
            return
        statement = assignment.node
        line = self.get_metadata(ParentNodeProvider, statement, None)
        top_level = id(line) in self._top_index
        new_module = None if module in self.world.deleted else self.world.new_module(module)
        keep: bool | None = None  # None: not used by the statements emitted here
        for access in assignment.references:
            if not self._in_selected(access.node):
                continue
            keep = bool(keep)
            if dotted:
                self._plan_dotted(access.node, module, new_module)
                keep = True
                continue
            parent = self.get_metadata(ParentNodeProvider, access.node, None)
            patched = self._patched_attribute(access.node, parent)
            if patched is not None:  # patch.object(module, "name"): where "name" is looked up now
                where = self._patch_home(access.node, module, patched)
                if where is None or where.module == new_module:
                    keep = True
                    continue
                alias = self.target.aliases.alias_for(where.module)
                self._attribute_rewrites[id(access.node)] = cst.Name(alias)
            elif not (isinstance(parent, cst.Attribute) and parent.value is access.node):
                keep = True
                if new_module is None:
                    self.report(
                        access.node,
                        f"{module} is split up and no longer exists; "
                        "this use of the module object needs a person",
                    )
                continue
            else:
                attribute = parent.attr.value
                where = self.world.home(module, attribute)
                if new_module is not None and where == Location(new_module, attribute):
                    keep = True
                    continue
                alias = self.target.aliases.alias_for(where.module)
                replacement: cst.BaseExpression = cst.Name(alias)
                if where.name is not None:
                    replacement = cst.Attribute(cst.Name(alias), cst.Name(where.name))
                self._attribute_rewrites[id(parent)] = replacement
            spec = ImportSpec(where.module, None, alias, self.source.relative_style)
            if top_level and not self.top_imports:
                parent_module, _, last = where.module.rpartition(".")
                header = (
                    ImportSpec(
                        parent_module,
                        last,
                        alias if alias != last else None,
                        self.source.relative_style,
                    )
                    if parent_module
                    else spec
                )
                if header not in self.result.header:
                    self.result.header.append(header)
            elif spec not in self._binding_specs.setdefault(id(statement), []):
                self._binding_specs[id(statement)].append(spec)
        if keep is None:
            return
        local = assignment.name.partition(".")[0] if dotted else assignment.name
        key = (id(statement), local)
        self._binding_keep[key] = keep or self._binding_keep.get(key, False)
        if top_level and not self._binding_keep[key]:
            self.result.dropped.add(local)
        elif top_level:
            self.result.dropped.discard(local)

    def _patched_attribute(self, node: cst.CSTNode, parent: cst.CSTNode | None) -> str | None:
        """``"name"`` when ``node`` is the module in ``patch.object(module, "name")`` or
        ``monkeypatch.setattr(module, "name", value)``."""
        if not (isinstance(parent, cst.Arg) and parent.value is node):
            return None
        call = self.get_metadata(ParentNodeProvider, parent, None)
        if not isinstance(call, cst.Call) or len(call.args) < 2 or call.args[0] is not parent:
            return None
        callee = get_full_name_for_node(call.func) or ""
        if not (
            callee.endswith("patch.object") or callee.rpartition(".")[2] in ("setattr", "delattr")
        ):
            return None
        name = call.args[1].value
        if (
            isinstance(name, cst.SimpleString)
            and isinstance(name.evaluated_value, str)
            and name.evaluated_value.isidentifier()
        ):
            return name.evaluated_value
        return None

    def _patch_home(self, node: cst.CSTNode, module: str, name: str) -> Location | None:
        """The module a patch of ``module.name`` must target after the move (see `strings`)."""
        consumers = self.world.consumers(module, name)
        if len(consumers) > 1:
            self.report(
                node,
                f"patching {module}.{name}: after the move {name} is looked up in "
                f"{len(consumers)} modules ({', '.join(sorted(consumers))}); patch each of them",
            )
            return None
        if consumers:
            return Location(consumers.pop(), name)
        return self.world.home(module, name)

    def _plan_dotted(self, node: cst.CSTNode, module: str, new_module: str | None) -> None:
        """``import a.b.c`` then ``a.b.c.f()``: the chain follows a moved module."""
        if new_module is None or module in self.world.deleted:
            self.report(node, f"{module} is split up: update this use by hand")
        elif new_module.partition(".")[0] == module.partition(".")[0]:
            if get_full_name_for_node(node) == module:
                self._attribute_rewrites[id(node)] = module_expression(new_module)
        else:
            self.report(node, f"{module} moved to {new_module}: update this use by hand")

    # -- skipping the statements that go elsewhere ---------------------------------------
    def on_visit(self, node: cst.CSTNode) -> bool:
        index = self._top_index.get(id(node))
        if index is not None and index not in self.selected:
            return False
        return super().on_visit(node)

    def leave_Module(self, original_node: cst.Module, updated_node: cst.Module) -> cst.Module:
        for index, (before, after) in enumerate(
            zip(original_node.body, updated_node.body, strict=False)
        ):
            if index not in self.selected:
                continue
            replacement = self._replacements.get(id(before), ...)
            if replacement is ...:
                self.result.statements[index] = [after]
            elif replacement is None:
                self.result.statements[index] = []
            else:
                assert isinstance(after, cst.SimpleStatementLine)  # only import lines are replaced
                self.result.statements[index] = _lines(after, replacement)
        return updated_node

    # -- imports ---------------------------------------------------------------------------
    def leave_SimpleStatementLine(
        self, original_node: cst.SimpleStatementLine, updated_node: cst.SimpleStatementLine
    ) -> cst.BaseStatement | cst.FlattenSentinel[cst.BaseStatement] | cst.RemovalSentinel:
        if not any(isinstance(s, (cst.Import, cst.ImportFrom)) for s in original_node.body):
            return updated_node
        top_level = id(original_node) in self._top_index
        if top_level and not self.top_imports:
            return updated_node
        new_small: list[cst.BaseSmallStatement] = []
        changed = False
        for before, after in zip(original_node.body, updated_node.body, strict=False):
            # (``after`` is an import when ``before`` is: LibCST hands back the kind it was given)
            if isinstance(before, (cst.Import, cst.ImportFrom)) and isinstance(
                after, (cst.Import, cst.ImportFrom)
            ):
                rewritten = self._rewrite_import(before, after, top_level)
                if rewritten is None:
                    new_small.append(after)
                    continue
                changed = True
                new_small.extend(rewritten)
            else:
                new_small.append(after)
        if not changed:
            return updated_node
        self.result.edits += 1
        if top_level:
            self._replacements[id(original_node)] = new_small or None
            return updated_node
        lines = _lines(updated_node, new_small)
        if not lines:
            return cst.SimpleStatementLine([cst.Pass()], leading_lines=updated_node.leading_lines)
        return cst.FlattenSentinel(lines)

    def _rewrite_import(
        self,
        original: cst.Import | cst.ImportFrom,
        updated: cst.Import | cst.ImportFrom,
        top_level: bool,
    ) -> list[cst.BaseSmallStatement] | None:
        """The statements replacing one import, or None when it stays as it is."""
        extra = [self._render(spec) for spec in self._binding_specs.get(id(original), [])]
        if isinstance(original, cst.ImportFrom) and isinstance(updated, cst.ImportFrom):
            main = self._rewrite_from(original, updated, top_level)
        elif isinstance(original, cst.Import) and isinstance(updated, cst.Import):
            main = self._rewrite_plain(original, updated, top_level)
        else:  # never: LibCST hands back the kind of node it was given
            main = None
        if main is None and not extra:
            return None
        return [*(main if main is not None else [updated]), *extra]

    def _render(self, spec: ImportSpec) -> cst.BaseSmallStatement:
        if spec.name is None:
            return render_module_binding(
                spec.module, spec.asname or spec.module, self.target.package, spec.relative
            )
        return render_from(
            spec.module, [(spec.name, spec.asname)], self.target.package, spec.relative
        )

    def _dropped_alias(self, node: cst.CSTNode, alias: cst.ImportAlias, top_level: bool) -> bool:
        keep = self._binding_keep.get((id(node), _alias_local(alias)))
        return (top_level and _alias_local(alias) in self.prune) or keep is False

    def _dropped(self, node: cst.CSTNode, local: str, top_level: bool) -> bool:
        if top_level and local in self.prune:
            return True
        keep = self._binding_keep.get((id(node), local))
        if keep is False:
            if top_level:
                self.result.dropped.add(local)
            return True
        return False

    def _rewrite_from(
        self, original: cst.ImportFrom, updated: cst.ImportFrom, top_level: bool
    ) -> list[cst.BaseSmallStatement] | None:
        package = resolve_relative(
            self.source.file,
            get_full_name_for_node(original.module) if original.module else None,
            len(original.relative),
        )
        relative = len(original.relative) > 0
        if isinstance(original.names, cst.ImportStar) or isinstance(updated.names, cst.ImportStar):
            return self._rewrite_star(original, package, relative)
        moved_importer = self.target.package != self.source.package
        groups: dict[str, list[tuple[str, str]]] = {}
        same = True
        for alias in original.names:
            name = get_full_name_for_node(alias.name) or ""
            local = (get_full_name_for_node(alias.asname.name) if alias.asname else None) or name
            if self._dropped(original, local, top_level):
                same = False
                continue
            in_project = self.world.is_project_module(package) or self.world.is_project_module(
                f"{package}.{name}"
            )
            where = self.world.home(package, name) if in_project else Location(package, name)
            if where.name is None:  # a module: ``from pkg import module``
                module, _, imported = where.module.rpartition(".")
            else:
                module, imported = where.module, where.name
            if module == self.target.module and where.name is not None and imported == local:
                same = False  # defined in the module itself now: nothing to import
                continue
            same = same and module == package and imported == name
            groups.setdefault(module, []).append((imported, local))
        if same and not (moved_importer and relative):
            return None
        if not groups:
            return []
        kept = [a for a in updated.names if not self._dropped_alias(original, a, top_level)]
        if (
            list(groups) == [package]
            and not (moved_importer and relative)
            and [(n, a) for n, a in groups[package]]
            == [(_alias_name(a), _alias_local(a)) for a in kept]
        ):
            # Names were only dropped: keep the statement as written, minus those names.
            return [
                updated.with_changes(names=_without_trailing_comma(kept, updated.names, updated))
            ]
        statements: list[cst.BaseSmallStatement] = []
        for module, names in groups.items():
            statements.append(
                render_from(
                    module,
                    [(n, a if a != n else None) for n, a in names],
                    self.target.package,
                    relative,
                )
            )
        written = [
            (
                get_full_name_for_node(a.name),
                get_full_name_for_node(a.asname.name)
                if a.asname
                else get_full_name_for_node(a.name),
            )
            for a in original.names
        ]
        if len(groups) == 1 and written == next(iter(groups.values())):
            # Only the module changed: keep the names exactly as written (parentheses, comments).
            rendered = statements[0]
            assert isinstance(rendered, cst.ImportFrom)
            return [updated.with_changes(module=rendered.module, relative=rendered.relative)]
        return statements

    def _rewrite_star(
        self, original: cst.ImportFrom, package: str, relative: bool
    ) -> list[cst.BaseSmallStatement] | None:
        if not self.world.is_project_module(package) or not self.world.changed(package):
            if self.target.package != self.source.package and relative:
                return [render_star(package, self.target.package, relative)]
            return None
        statements: list[cst.BaseSmallStatement] = []
        if package not in self.world.deleted:
            statements.append(
                render_star(self.world.new_module(package), self.target.package, relative)
            )
        moved = [
            (name, self.world.home(package, name))
            for name in sorted(self._unresolved_names())
            if (package, name) in self.world.symbol_map
        ]
        for name, where in moved:
            statements.append(
                render_from(
                    where.module, [(where.name or name, None)], self.target.package, relative
                )
            )
        if moved or package in self.world.deleted:
            self.report(
                original,
                f"star import from {package}, which is split up: "
                "the names this module uses are imported explicitly; check what it re-exports",
            )
        return statements

    def _unresolved_names(self) -> set[str]:
        names: set[str] = set()
        for scope in {s for s in self.metadata[ScopeProvider].values() if isinstance(s, Scope)}:
            for access in scope.accesses:
                if not access.referents and isinstance(access.node, cst.Name):
                    names.add(access.node.value)
        return names

    def _rewrite_plain(
        self, original: cst.Import, updated: cst.Import, top_level: bool
    ) -> list[cst.BaseSmallStatement] | None:
        kept: list[cst.ImportAlias] = []
        extra: list[cst.BaseSmallStatement] = []
        changed = False
        for before, after in zip(original.names, updated.names, strict=False):
            dotted = get_full_name_for_node(before.name) or ""
            asname = get_full_name_for_node(before.asname.name) if before.asname else None
            local = asname or dotted.partition(".")[0]
            if self._dropped(original, local, top_level) and not ("." in dotted and asname is None):
                changed = True
                continue
            if (
                not self.world.is_project_module(dotted)
                or not self.world.moves(dotted)
                or dotted in self.world.deleted
            ):
                kept.append(after)
                continue
            new = self.world.new_module(dotted)
            changed = True
            if asname is not None:
                extra.append(render_import_as(new, asname))
            elif "." not in dotted:
                extra.append(render_module_binding(new, dotted, self.target.package, False))
            elif new.partition(".")[0] == dotted.partition(".")[0]:
                extra.append(render_import_as(new, None))
            else:
                kept.append(after)
                self.report(
                    before, f"import {dotted}: it moved to {new}; update this import by hand"
                )
        if not changed:
            return None
        statements: list[cst.BaseSmallStatement] = []
        if kept:
            kept[-1] = kept[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
            statements.append(updated.with_changes(names=kept))
        return statements + extra

    # -- names, decorators, strings ------------------------------------------------------
    def leave_Name(self, original_node: cst.Name, updated_node: cst.Name) -> cst.BaseExpression:
        replacement = self._attribute_rewrites.get(id(original_node))
        if replacement is None:
            return updated_node
        self.result.edits += 1
        return replacement

    def leave_Attribute(
        self, original_node: cst.Attribute, updated_node: cst.Attribute
    ) -> cst.BaseExpression:
        replacement = self._attribute_rewrites.get(id(original_node))
        if replacement is None:
            return updated_node
        self.result.edits += 1
        if isinstance(replacement, cst.Attribute):
            return updated_node.with_changes(value=replacement.value, attr=replacement.attr)
        return replacement

    def leave_Decorator(
        self, original_node: cst.Decorator, updated_node: cst.Decorator
    ) -> cst.Decorator:
        if self.app_name is None:
            return updated_node
        expression = updated_node.decorator
        callee = expression.func if isinstance(expression, cst.Call) else expression
        if (
            isinstance(callee, cst.Attribute)
            and isinstance(callee.value, cst.Name)
            and callee.value.value == self.app_name
            and callee.attr.value in ROUTE_DECORATORS
        ):
            new_callee = callee.with_changes(value=cst.Name(self.target.router_name))
            self.result.edits += 1
            if isinstance(expression, cst.Call):
                return updated_node.with_changes(decorator=expression.with_changes(func=new_callee))
            return updated_node.with_changes(decorator=new_callee)
        return updated_node

    def leave_SimpleString(
        self, original_node: cst.SimpleString, updated_node: cst.SimpleString
    ) -> cst.BaseExpression:
        if self.strings is None:
            return updated_node
        call = self._enclosing_call(original_node)
        replacement = self.strings(original_node, call, self)
        if replacement is None:
            return updated_node
        self.result.edits += 1
        return replacement

    def _enclosing_call(self, node: cst.CSTNode) -> cst.Call | None:
        parent = self.get_metadata(ParentNodeProvider, node, None)
        if isinstance(parent, cst.Arg):
            grand = self.get_metadata(ParentNodeProvider, parent, None)
            return grand if isinstance(grand, cst.Call) else None
        return None


def _alias_name(alias: cst.ImportAlias) -> str:
    return get_full_name_for_node(alias.name) or ""


def _alias_local(alias: cst.ImportAlias) -> str:
    return (get_full_name_for_node(alias.asname.name) if alias.asname else None) or _alias_name(
        alias
    )


def _without_trailing_comma(
    kept: list[cst.ImportAlias], names: Sequence[cst.ImportAlias], node: cst.ImportFrom
) -> list[cst.ImportAlias]:
    """After dropping names (of ``names``, the node's) the last one left must not end with a
    stray comma (unless the statement is parenthesised and had a trailing comma: keep that style)."""
    original_last = names[-1]
    if kept and kept[-1] is not original_last:
        if node.lpar is not None and not isinstance(original_last.comma, cst.MaybeSentinel):
            kept[-1] = kept[-1].with_changes(comma=original_last.comma)
        else:
            kept[-1] = kept[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
    return kept


def render_star(module: str, importer_package: str, relative: bool) -> cst.ImportFrom:
    statement = render_from(module, [("x", None)], importer_package, relative)
    return statement.with_changes(names=cst.ImportStar())


def _lines(
    template: cst.SimpleStatementLine, small: list[cst.BaseSmallStatement]
) -> list[BodyStatement]:
    """Small statements as lines: the first keeps the original's comments above and after;
    a ``# noqa`` after the original goes after each line (``E402`` applies to all of them)."""
    if not small:
        return []
    comment = template.trailing_whitespace.comment
    noqa = template.trailing_whitespace if comment is not None and "noqa" in comment.value else None
    lines: list[BodyStatement] = []
    for number, statement in enumerate(small):
        statement = statement.with_changes(semicolon=cst.MaybeSentinel.DEFAULT)
        if number == 0:
            lines.append(template.with_changes(body=[statement]))
        elif noqa is not None:
            lines.append(cst.SimpleStatementLine([statement], trailing_whitespace=noqa))
        else:
            lines.append(cst.SimpleStatementLine([statement]))
    return lines


def run(
    world: World,
    source: ModuleInfo,
    target: Target,
    selected: set[int],
    *,
    top_imports: bool,
    prune: frozenset[str] = frozenset(),
    app_name: str | None = None,
    strings: StringHook | None = None,
) -> Rewritten:
    """Rewrite the ``selected`` top-level statements of ``source`` for ``target``."""
    rewriter = ReferenceRewriter(
        world,
        source,
        target,
        selected,
        top_imports=top_imports,
        prune=prune,
        app_name=app_name,
        strings=strings,
    )
    wrapper = MetadataWrapper(source.tree, unsafe_skip_copy=True)
    wrapper.visit(rewriter)
    return rewriter.result
