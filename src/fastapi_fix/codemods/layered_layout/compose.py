"""Build the content of one target module.

A target has an optional *base* (the source module whose file it is: the module stays or
moves there, keeping its docstring, comments and import block) and *parts* (statements
split out of other modules). Statements are emitted in their original source order; the
imports they need are exactly the names they use: their original imports (re-pointed), and
``from <new module> import name`` for siblings that went elsewhere, under
``if TYPE_CHECKING:`` when only a string annotation of an ORM class needs them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import libcst as cst

from fastapi_fix.codemods._build import BodyStatement, string_literal
from fastapi_fix.codemods.layered_layout import rewrite
from fastapi_fix.codemods.layered_layout.imports import (
    ImportSpec,
    Location,
    World,
    group_specs,
    render_specs,
)
from fastapi_fix.codemods.layered_layout.index import (
    IMPORT_KINDS,
    ImportedName,
    Kind,
    ModuleInfo,
    Statement,
)
from fastapi_fix.codemods.layered_layout.rewrite import AliasRegistry, StringHook, Target
from fastapi_fix.engine.results import Finding

CODEMOD = "layered-layout"

# What a person edits when two definitions or imports would share a name in one module.
EDIT_CLASH = (
    "rename one of them in the code, or write the plan (--write-plan FILE), give the "
    "definitions that use one of them another target under [module.symbols], and apply it "
    "with --plan FILE"
)


@dataclass
class TargetFile:
    path: str
    module: str
    base: ModuleInfo | None = None
    parts: dict[str, list[int]] = field(
        default_factory=dict
    )  # source module -> statements placed here
    history: ModuleInfo | None = None  # a removed module whose file becomes this one (git mv)
    aggregate: list[ImportSpec] = field(default_factory=list)  # models/__init__: every model
    docstring: str | None = None  # for a new module without base
    app_routes: dict[str, str] = field(default_factory=dict)  # source module -> its app variable
    include_routers: list[tuple[str, str]] = field(
        default_factory=list
    )  # (routes module, router name)
    include_at: int | None = None  # the base's first route that moved out: includes go there
    router_name: str = "router"

    @property
    def package(self) -> str:
        return self.module if self.path.endswith("__init__.py") else self.module.rpartition(".")[0]


@dataclass
class Composer:
    world: World
    orm_classes: set[
        tuple[str, int]
    ]  # (module, statement) of ORM classes: string annotations stay strings
    strings: StringHook | None
    findings: list[Finding] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def compose(self, target: TargetFile) -> bytes | None:
        """The new bytes of ``target``; None when it has no content at all."""
        self._check_duplicates(target)
        taken = self._identifiers(target)
        context = Target(
            target.path, target.module, target.package, AliasRegistry(taken), target.router_name
        )
        blocks: list[tuple[set[str], list[BodyStatement]]] = []
        specs: list[ImportSpec] = []
        bound: dict[str, ImportSpec | str] = {}  # local name -> what binds it in the target
        if target.base is not None:
            blocks, base_specs, bound = self._base_body(target, context)
            specs.extend(base_specs)
        extra_blocks: list[tuple[set[str], set[str], list[BodyStatement]]] = []
        for source_name, indices in self._ordered_parts(target):
            source = self.world.project.modules[source_name]
            part_blocks, part_specs = self._part(target, context, source, indices)
            specs.extend(part_specs)
            extra_blocks.extend(part_blocks)
        for (
            names,
            _uses,
            _lines,
        ) in extra_blocks:  # what the split-in statements define is bound too
            for name in names:
                bound.setdefault(name, "defined")
        body, extras = _interleave(blocks, extra_blocks)
        if target.aggregate:
            specs.extend(target.aggregate)
        specs = self._deduplicate(target, group_specs(specs), bound)
        if not body and not extras and not specs and target.base is None:
            return None
        module = self._module_for(target)
        first_party = frozenset(
            {m.partition(".")[0] for m in self.world.known_modules} | {self.world.package}
        )
        if target.base is not None:
            body, specs = _merge_into_imports(body, specs, target.package)
            lines = _import_lines(specs, target.package, first_party, sections=False)
            body = _insert_after_imports(body, lines, target.base)
            body.extend(_spaced(extras, after=body))
        else:
            header: list[BodyStatement] = []
            if target.docstring:
                header.append(
                    cst.SimpleStatementLine(
                        [cst.Expr(cst.SimpleString(f'"""{target.docstring}"""'))]
                    )
                )
            header.extend(self._futures(target))
            header.extend(_import_lines(specs, target.package, first_party, sections=True))
            if extras and target.app_routes and not _defines(extras, target.router_name):
                header_imports = [
                    cst.SimpleStatementLine(
                        [
                            cst.Assign(
                                [cst.AssignTarget(cst.Name(target.router_name))],
                                cst.Call(cst.Name("APIRouter")),
                            )
                        ]
                    )
                ]
                extras = _spaced(header_imports, after=header) + extras
            body = header + _spaced(extras, after=header)
            if target.aggregate:
                body.append(_all_statement(target.aggregate))
        return module.with_changes(body=body).bytes

    def _check_duplicates(self, target: TargetFile) -> None:
        """Two modules' definitions of one name in one file: the later would silently win."""
        definers: dict[str, str] = {}
        sources = (
            [(target.base, self._placed(target.base, target.path))]
            if target.base is not None
            else []
        )
        sources += [
            (self.world.project.modules[name], indices) for name, indices in target.parts.items()
        ]
        for module, indices in sources:
            for index in indices:
                for name in module.statements[index].names:
                    first = definers.setdefault(name, module.rel_path)
                    if first != module.rel_path:
                        self.errors.append(
                            f"{target.path}: the name {name} is defined by both {first} and "
                            f"{module.rel_path}; {EDIT_CLASH}"
                        )

    # -- the base module ----------------------------------------------------------------
    def _base_body(
        self, target: TargetFile, context: Target
    ) -> tuple[
        list[tuple[set[str], list[BodyStatement]]],
        list[ImportSpec],
        dict[str, ImportSpec | str],
    ]:
        """The base module's statements that stay, as (names they use, lines) blocks."""
        base = target.base
        assert base is not None
        placed = self._placed(base, target.path)
        kept_names = {name for i in placed for name in base.statements[i].uses}
        used_anywhere = {name for s in base.statements if not s.is_import for name in s.uses}
        prune = frozenset(
            name
            for name, imported in base.imports.items()
            if name in used_anywhere and name not in kept_names and name not in base.all_names
        ) | self._guarded_prune(base, kept_names, used_anywhere)
        imports = {s.index for s in base.statements if s.kind in (*IMPORT_KINDS, Kind.DOCSTRING)}
        result = rewrite.run(
            self.world,
            base,
            context,
            set(placed) | imports,
            top_imports=True,
            prune=prune,
            strings=self.strings,
        )
        self.findings.extend(result.findings)
        specs = list(result.header)
        for index in placed:
            specs.extend(
                self._needs(
                    target, base, base.statements[index], result.dropped, include_imports=False
                )
            )
        body: list[tuple[set[str], list[BodyStatement]]] = []
        include_done = False
        carry = 0  # blank lines above statements that left: the next one keeps them
        for statement in base.statements:
            index = statement.index
            rewritten: list[BodyStatement] = []
            if index in result.statements:
                rewritten = result.statements[index]
                if statement.kind is Kind.GUARDED_IMPORT:
                    rewritten = [
                        s for s in (_prune_guarded(r, prune) for r in rewritten) if s is not None
                    ]
            elif not include_done and index == target.include_at:
                rewritten = self._include_statements(target, statement, specs)
                include_done = True
            if not rewritten:
                carry = max(carry, _blank_lines(statement.node))
                continue
            if carry and body:
                rewritten[0] = _with_blank_lines(
                    rewritten[0], max(carry, _blank_lines(rewritten[0]))
                )
            elif not body and not base.tree.header:  # the module's first line moved away
                rewritten[0] = _with_blank_lines(rewritten[0], 0)
            carry = 0
            body.append((set(statement.uses), rewritten))
        bound: dict[str, ImportSpec | str] = {}
        for name, imported in base.imports.items():
            if name not in prune and name not in result.dropped:
                bound[name] = self._replicate(
                    imported, base, False
                )  # where it points after the move
        for index in placed:
            for name in base.statements[index].names:
                bound[name] = "defined"
        return body, specs, bound

    def _guarded_prune(
        self, base: ModuleInfo, kept_names: set[str], used: set[str]
    ) -> frozenset[str]:
        names = set()
        for statement in base.statements:
            if statement.kind is Kind.GUARDED_IMPORT:
                for name in statement.local_imports:
                    if name in used and name not in kept_names:
                        names.add(name)
        return frozenset(names)

    def _include_statements(
        self, target: TargetFile, route: Statement, specs: list[ImportSpec]
    ) -> list[BodyStatement]:
        """``app.include_router(router)`` where the first moved route was: routes keep their order."""
        app = next(iter(target.app_routes.values()), "app")
        blank = [line for line in route.node.leading_lines if line.comment is None] or [
            cst.EmptyLine()
        ]
        statements: list[BodyStatement] = []
        relative = target.base.relative_style if target.base is not None else False
        taken = target.base.all_identifiers if target.base is not None else frozenset()
        for number, (module, router) in enumerate(target.include_routers):
            parent, _, last = module.rpartition(".")
            if last == "routes":  # api/v1/routes.py: import its router
                local = router if router not in taken else f"{last}_{router}"
                reference: cst.BaseExpression = cst.Name(local)
                specs.append(
                    ImportSpec(module, router, local if local != router else None, relative)
                )
            else:  # api/v1/routes/<name>.py: import the module, like the other routers
                local = last if last not in taken else f"{last}_routes"
                reference = cst.Attribute(cst.Name(local), cst.Name(router))
                specs.append(ImportSpec(parent, last, local if local != last else None, relative))
            call = cst.Call(
                cst.Attribute(cst.Name(app), cst.Name("include_router")), [cst.Arg(reference)]
            )
            statements.append(
                cst.SimpleStatementLine(
                    [cst.Expr(call)], leading_lines=blank if number == 0 else []
                )
            )
        return statements

    # -- statements from other modules -------------------------------------------------
    def _part(
        self, target: TargetFile, context: Target, source: ModuleInfo, indices: list[int]
    ) -> tuple[list[tuple[set[str], set[str], list[BodyStatement]]], list[ImportSpec]]:
        """Statements split out of ``source`` into ``target``: (names, uses, lines) blocks."""
        app_name = target.app_routes.get(source.name)
        result = rewrite.run(
            self.world,
            source,
            context,
            set(indices),
            top_imports=False,
            app_name=app_name,
            strings=self.strings,
        )
        self.findings.extend(result.findings)
        specs = list(result.header)
        blocks = []
        for index in indices:
            statement = source.statements[index]
            specs.extend(
                self._needs(
                    target,
                    source,
                    statement,
                    result.dropped,
                    include_imports=True,
                    app_name=app_name,
                )
            )
            blocks.append(
                (set(statement.names), set(statement.uses), result.statements.get(index, []))
            )
        if app_name:
            specs.append(ImportSpec("fastapi", "APIRouter"))
        return blocks, specs

    def _needs(
        self,
        target: TargetFile,
        source: ModuleInfo,
        statement: Statement,
        dropped: set[str],
        *,
        include_imports: bool,
        app_name: str | None = None,
    ) -> list[ImportSpec]:
        """The imports ``statement`` needs once it sits in ``target``."""
        specs: list[ImportSpec] = []
        orm_class = (source.name, statement.index) in self.orm_classes
        for name, runtime in statement.uses.items():
            if name == app_name:
                continue
            type_only = orm_class and not runtime
            binder = source.statement_of(name)
            if binder is not None and not binder.is_import:
                path = self.world.placements.get((source.name, binder.index))
                if path is None or path == target.path:
                    continue
                module = self.world.module_for_path(path)
                specs.append(ImportSpec(module, name, None, source.relative_style, type_only))
            elif include_imports and name not in dropped:
                imported = source.imports.get(name) or _guarded(source, name)
                if imported is not None:
                    specs.append(
                        self._replicate(imported, source, type_only or _is_guarded(source, name))
                    )
        return specs

    def _replicate(self, imported: ImportedName, source: ModuleInfo, type_only: bool) -> ImportSpec:
        relative = imported.level > 0
        if imported.name is None:
            module = imported.module
            if self.world.is_project_module(module) and not imported.dotted:
                new = self.world.new_module(module)
                parent, _, last = new.rpartition(".")
                if parent:
                    return ImportSpec(
                        parent,
                        last,
                        imported.local if imported.local != last else None,
                        source.relative_style,
                        type_only,
                    )
            return ImportSpec(
                module, None, imported.local if imported.local != module else None, False, type_only
            )
        in_project = self.world.is_project_module(imported.module) or self.world.is_project_module(
            f"{imported.module}.{imported.name}"
        )
        where = (
            self.world.home(imported.module, imported.name)
            if in_project
            else Location(imported.module, imported.name)
        )
        if where.name is None:
            parent, _, last = where.module.rpartition(".")
            return ImportSpec(
                parent,
                last,
                imported.local if imported.local != last else None,
                relative,
                type_only,
            )
        asname = imported.local if imported.local != where.name else None
        return ImportSpec(where.module, where.name, asname, relative, type_only)

    # -- helpers ---------------------------------------------------------------------------
    def _placed(self, module: ModuleInfo, path: str) -> list[int]:
        return [
            s.index
            for s in module.statements
            if self.world.placements.get((module.name, s.index)) == path
        ]

    def _ordered_parts(self, target: TargetFile) -> list[tuple[str, list[int]]]:
        """Parts in an order where what a part needs at import time comes first."""
        names = list(target.parts)
        provides = {
            name: {
                n
                for i in target.parts[name]
                for n in self.world.project.modules[name].statements[i].names
            }
            for name in names
        }
        needs = {
            name: {
                n
                for i in target.parts[name]
                for n in self.world.project.modules[name].statements[i].uses
            }
            for name in names
        }
        ordered: list[str] = []
        remaining = list(names)
        while remaining:
            ready = next(
                (
                    n
                    for n in remaining
                    if not any(needs[n] & provides[o] for o in remaining if o != n)
                ),
                remaining[0],
            )
            ordered.append(ready)
            remaining.remove(ready)
        return [(name, sorted(target.parts[name])) for name in ordered]

    def _identifiers(self, target: TargetFile) -> set[str]:
        names: set[str] = set()
        if target.base is not None:
            names |= target.base.all_identifiers
        for source_name in target.parts:
            names |= self.world.project.modules[source_name].all_identifiers
        return names

    def _deduplicate(
        self, target: TargetFile, specs: list[ImportSpec], bound: dict[str, ImportSpec | str]
    ) -> list[ImportSpec]:
        out: list[ImportSpec] = []
        seen: dict[str, ImportSpec] = {}
        for spec in specs:
            if spec.module == target.module and spec.name is not None:
                continue  # defined right here
            local = spec.local
            existing = bound.get(local)
            if existing is not None:
                if isinstance(existing, ImportSpec) and _same_binding(
                    existing, spec
                ):  # not "defined"
                    continue
                self.errors.append(
                    f"{target.path}: the name {local} would mean two things "
                    f"({_describe(existing)} and {_describe(spec)}); {EDIT_CLASH}"
                )
                continue
            previous = seen.get(local)
            if previous is not None:
                if _same_binding(previous, spec):
                    if previous.type_only and not spec.type_only:
                        out[out.index(previous)] = spec
                        seen[local] = spec
                    continue
                self.errors.append(
                    f"{target.path}: the name {local} would mean two things "
                    f"({_describe(previous)} and {_describe(spec)}); {EDIT_CLASH}"
                )
                continue
            seen[local] = spec
            out.append(spec)
        return out

    def _module_for(self, target: TargetFile) -> cst.Module:
        if target.base is not None:
            return target.base.tree
        first = next(iter(target.parts), None)
        template = self.world.project.modules[first].tree if first else cst.Module(body=[])
        return cst.Module(
            body=[],
            header=[],
            footer=[],
            encoding=template.encoding,
            default_indent=template.default_indent,
            default_newline=template.default_newline,
            has_trailing_newline=True,
        )

    def _futures(self, target: TargetFile) -> list[BodyStatement]:
        seen: set[str] = set()
        lines: list[BodyStatement] = []
        for source_name in target.parts:
            for statement in self.world.project.modules[source_name].statements:
                if statement.kind is Kind.FUTURE:
                    code = cst.Module(body=[statement.node]).code.strip()
                    if code not in seen:
                        seen.add(code)
                        lines.append(statement.node.with_changes(leading_lines=[]))
        return lines


def _interleave(
    blocks: list[tuple[set[str], list[BodyStatement]]],
    extras: list[tuple[set[str], set[str], list[BodyStatement]]],
) -> tuple[list[BodyStatement], list[BodyStatement]]:
    """The base's statements with the split-in ones placed before the first base statement
    that uses them (``Depends(get_db)`` runs at ``def`` time); the rest go last.
    Returns (body, statements left for the end)."""
    positions = [
        next((i for i, (uses, _lines) in enumerate(blocks) if uses & names), len(blocks))
        for names, _uses, _lines in extras
    ]
    for k in reversed(range(len(extras))):  # an extra needed by a later one comes no later
        for j in range(k + 1, len(extras)):
            if extras[j][1] & extras[k][0]:
                positions[k] = min(positions[k], positions[j])
    body: list[BodyStatement] = []
    for i, (_uses, lines) in enumerate(blocks):
        early = [
            line for k, (_n, _u, extra) in enumerate(extras) if positions[k] == i for line in extra
        ]
        if early:
            body.extend(_spaced(early, after=body))
            lines = _spaced(lines[:1], after=body) + lines[1:]
        body.extend(lines)
    late = [
        line
        for k, (_n, _u, extra) in enumerate(extras)
        if positions[k] == len(blocks)
        for line in extra
    ]
    return body, late


def _guarded(source: ModuleInfo, name: str) -> ImportedName | None:
    for statement in source.statements:
        if statement.kind is Kind.GUARDED_IMPORT and name in statement.local_imports:
            return statement.local_imports[name]
    return None


def _is_guarded(source: ModuleInfo, name: str) -> bool:
    return name not in source.imports and _guarded(source, name) is not None


def _same_binding(a: ImportSpec, b: ImportSpec) -> bool:
    return (a.module, a.name) == (b.module, b.name)


def _describe(binding: ImportSpec | str) -> str:
    if isinstance(binding, str):
        return "a definition of the module"
    return f"{binding.module}.{binding.name}" if binding.name else binding.module


def _import_lines(
    specs: list[ImportSpec], package: str, first_party: frozenset[str], sections: bool
) -> list[BodyStatement]:
    runtime = [s for s in specs if not s.type_only]
    guarded = [s for s in specs if s.type_only]
    if guarded and not any(s.local == "TYPE_CHECKING" for s in runtime):
        runtime.append(ImportSpec("typing", "TYPE_CHECKING"))
    lines: list[BodyStatement] = list(render_specs(runtime, package, first_party, sections))
    if guarded:
        block = cst.If(
            test=cst.Name("TYPE_CHECKING"),
            body=cst.IndentedBlock(body=render_specs(guarded, package, first_party)),
            leading_lines=[cst.EmptyLine()],
        )
        lines.append(block)
    return lines


def _merge_into_imports(
    body: list[BodyStatement], specs: list[ImportSpec], package: str
) -> tuple[list[BodyStatement], list[ImportSpec]]:
    """Add names to the module's own ``from x import ...`` lines where there is one for
    the same module; the specs left need lines of their own."""
    left: list[ImportSpec] = []
    body = list(body)
    for spec in specs:
        if spec.name is None or spec.type_only:
            left.append(spec)
            continue
        for position, statement in enumerate(body):
            if not (_is_import_line(statement) and isinstance(statement, cst.SimpleStatementLine)):
                continue
            node = statement.body[0]
            if (
                len(statement.body) != 1
                or not isinstance(node, cst.ImportFrom)
                or isinstance(node.names, cst.ImportStar)
            ):
                continue
            if _absolute(node, package) != spec.module:
                continue
            merged = _with_alias(node, node.names, spec.name, spec.asname)
            if merged is not None:
                body[position] = statement.with_changes(body=[merged])
                break
        else:
            left.append(spec)
    return body, left


def _absolute(node: cst.ImportFrom, package: str) -> str:
    from libcst.helpers import get_full_name_for_node

    module = get_full_name_for_node(node.module) if node.module is not None else ""
    level = len(node.relative)
    if not level:
        return module or ""
    parts = package.split(".") if package else []
    parts = parts[: len(parts) - (level - 1)] if level - 1 <= len(parts) else []
    return ".".join([*parts, *([module] if module else [])])


def _with_alias(
    node: cst.ImportFrom, aliases: Sequence[cst.ImportAlias], name: str, asname: str | None
) -> cst.ImportFrom | None:
    """``node`` (whose names are ``aliases``) importing ``name as asname`` too."""
    from fastapi_fix.codemods.layered_layout.imports import _wrapped

    local = asname or name
    names = list(aliases)
    if any(_local(a) == local for a in names):
        return node
    alias = cst.ImportAlias(
        cst.Name(name), cst.AsName(cst.Name(asname)) if asname and asname != name else None
    )
    if node.lpar is not None:
        if len(names) < 2:
            return None
        alias = alias.with_changes(comma=names[-1].comma)
        names[-1] = names[-1].with_changes(comma=names[-2].comma)
        return node.with_changes(names=[*names, alias])
    from fastapi_fix.codemods.layered_layout.imports import name_order

    keys = [name_order(_local(a)) for a in names]
    position = len(names)
    if keys == sorted(keys):  # a sorted list stays sorted
        position = next((i for i, key in enumerate(keys) if name_order(local) < key), len(names))
    names.insert(position, alias)
    names = [
        a.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
        for a in names[:-1]
    ] + [names[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)]
    return _wrapped(node.with_changes(names=names))


def _insert_after_imports(
    body: list[BodyStatement], lines: list[BodyStatement], base: ModuleInfo
) -> list[BodyStatement]:
    if not lines:
        return body
    position = 0
    for number, statement in enumerate(body):
        if _is_import_line(statement) or (number == 0 and _is_docstring(statement)):
            position = number + 1
        else:
            break
    return [*body[:position], *lines, *body[position:]]


def _is_import_line(statement: BodyStatement) -> bool:
    if isinstance(statement, cst.SimpleStatementLine):
        return all(isinstance(s, (cst.Import, cst.ImportFrom)) for s in statement.body)
    if isinstance(statement, cst.If):
        from fastapi_fix.codemods.layered_layout.index import is_type_checking_test

        return is_type_checking_test(statement.test)
    return False


def _is_docstring(statement: BodyStatement) -> bool:
    return (
        isinstance(statement, cst.SimpleStatementLine)
        and len(statement.body) == 1
        and isinstance(statement.body[0], cst.Expr)
        and isinstance(statement.body[0].value, (cst.SimpleString, cst.ConcatenatedString))
    )


def _prune_guarded(statement: BodyStatement, prune: frozenset[str]) -> BodyStatement | None:
    """Drop unused names from an ``if TYPE_CHECKING:`` block of imports (all gone: no block)."""
    if not isinstance(statement, cst.If) or not isinstance(statement.body, cst.IndentedBlock):
        return statement
    lines = []
    for line in statement.body.body:
        if not isinstance(line, cst.SimpleStatementLine):
            lines.append(line)
            continue
        small = []
        for node in line.body:
            if isinstance(node, (cst.Import, cst.ImportFrom)) and not isinstance(
                node.names, cst.ImportStar
            ):
                names = [a for a in node.names if _local(a) not in prune]
                if not names:
                    continue
                if len(names) != len(node.names):
                    names[-1] = names[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
                    node = node.with_changes(names=names)
            small.append(node)
        if small:
            lines.append(line.with_changes(body=small))
    if not lines:
        return None
    return statement.with_changes(body=statement.body.with_changes(body=lines))


def _local(alias: cst.ImportAlias) -> str:
    from libcst.helpers import get_full_name_for_node

    if alias.asname is not None:
        return get_full_name_for_node(alias.asname.name) or ""
    return (get_full_name_for_node(alias.name) or "").partition(".")[0]


def _defines(statements: list[BodyStatement], name: str) -> bool:
    for statement in statements:
        if isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                if isinstance(small, cst.Assign) and any(
                    isinstance(t.target, cst.Name) and t.target.value == name for t in small.targets
                ):
                    return True
    return False


def _is_definition(statement: BodyStatement) -> bool:
    return isinstance(statement, (cst.FunctionDef, cst.ClassDef))


def _spaced(
    statements: Sequence[BodyStatement], after: Sequence[BodyStatement]
) -> list[BodyStatement]:
    """PEP 8 spacing where statements meet others they did not follow in their source:
    two blank lines around definitions, one otherwise; comments above a statement stay."""
    out: list[BodyStatement] = []
    previous = after[-1] if after else None
    for statement in statements:
        if previous is None:
            blank = 0
        elif _is_definition(statement) or _is_definition(previous):
            blank = 2
        else:
            blank = max(
                _blank_lines(statement),
                1 if _is_import_line(previous) or isinstance(previous, cst.If) else 0,
            )
        out.append(_with_blank_lines(statement, blank))
        previous = statement
    return out


def _blank_lines(statement: BodyStatement) -> int:
    count = 0
    for line in statement.leading_lines:
        if line.comment is not None:
            break
        count += 1
    return count


def _with_blank_lines(statement: BodyStatement, blank: int) -> BodyStatement:
    lines = list(statement.leading_lines)
    while lines and lines[0].comment is None:
        lines.pop(0)
    return statement.with_changes(leading_lines=[cst.EmptyLine() for _ in range(blank)] + lines)


def _all_statement(specs: list[ImportSpec]) -> BodyStatement:
    names = sorted({s.local for s in specs})
    elements = [cst.Element(string_literal(name)) for name in names]
    value = cst.List(elements)
    line = cst.SimpleStatementLine(
        [cst.Assign([cst.AssignTarget(cst.Name("__all__"))], value)],
        leading_lines=[cst.EmptyLine()],
    )
    return line
