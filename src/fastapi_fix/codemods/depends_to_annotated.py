"""Codemod depends-to-annotated: FastAPI parameter defaults → ``Annotated``, with shared aliases.

``q: str | None = Query(None, max_length=50)`` becomes
``q: Annotated[str | None, Query(max_length=50)] = None``, everywhere FastAPI reads a
signature (any function with such a default: routes however registered, dependencies,
class dependencies, methods). A dependency used in two or more places gets one alias,
``SessionDep = Annotated[Session, Depends(get_db)]``, defined next to the dependency.

The work is split in three steps (see ``engine/codemod.py``): ``_annotated_facts`` reads
the files naming ``fastapi`` with stdlib ``ast``, then those ``_annotated_gather`` asks for
(where dependencies are defined, who calls a rewritten function, the import graph),
``_annotated_index`` decides for the whole project, and ``_annotated_cst`` /
``_annotated_imports`` rewrite the target files with LibCST.
"""

from __future__ import annotations

import ast
from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path

import libcst as cst
from libcst.helpers import get_full_name_for_node
from libcst.metadata import MetadataWrapper, PositionProvider

from fastapi_fix.codemods._annotated_cst import SignatureRewriter
from fastapi_fix.codemods._annotated_facts import FileFacts, gather_facts, name_uses
from fastapi_fix.codemods._annotated_gather import more_to_gather
from fastapi_fix.codemods._annotated_imports import add_imports, insert_aliases, remove_imports
from fastapi_fix.codemods._annotated_index import AliasDefinition, FilePlan, Index, Planner
from fastapi_fix.codemods._annotated_version import too_old_fastapi
from fastapi_fix.codemods._fastapi import param_function
from fastapi_fix.engine.codemod import Codemod, FileContext, Option, SourceFile, Wanted


class DependsToAnnotated(Codemod):
    name = "depends-to-annotated"
    summary = "Rewrite FastAPI parameter defaults (Depends, Query, Body, ...) into Annotated, sharing aliases."
    safety = (
        "Unlike ruff's always-unsafe FAST002, no parameter moves: only the default leaves the call; "
        "a bare `*` is added only where a required parameter would follow a defaulted one (and dropped "
        "only where it served nothing else); a function called positionally, or without an argument "
        "that becomes required, is left and reported; comments are kept; FastAPI < 0.95 is left alone."
    )
    example = (
        "def read_items(q: str | None = Query(None, max_length=50), db: Session = Depends(get_db)): ...\n"
        "def create_item(db: Session = Depends(get_db)): ...",
        "SessionDep = Annotated[Session, Depends(get_db)]  # next to get_db, imported here\n\n"
        "def read_items(*, q: Annotated[str | None, Query(max_length=50)] = None, db: SessionDep): ...\n"
        "def create_item(db: SessionDep): ...",
    )
    # Every file that calls FastAPI's parameter functions imports them from fastapi (FastAPI's
    # own modules aside); the other files the index reads come in later gather rounds.
    markers = (b"fastapi",)
    # A parameter function resolves to FastAPI only through an import naming fastapi somewhere.
    seed_markers = markers
    options = (
        Option("aliases", True, "Share a dependency used twice or more as an alias "
                                "(SessionDep = Annotated[Session, Depends(get_db)])."),
    )

    def gather(self, file: SourceFile, tree: ast.Module) -> FileFacts:
        return gather_facts(file, tree)

    def more_to_gather(self, facts: Mapping[SourceFile, FileFacts]) -> Wanted:
        # Where dependencies are defined, who calls a rewritten function, the import graph:
        # see `_annotated_gather`.
        return more_to_gather(facts)

    def build_index(self, facts: Mapping[SourceFile, FileFacts], unparsed: Sequence[SourceFile]) -> Index:
        planner = Planner(facts, unparsed, self.settings.target_version, aliases=self.option("aliases"),
                          too_old_fastapi=too_old_fastapi([*(file.path for file in facts), *(f.path for f in unparsed)]))
        return planner.plan()

    def targets(self, index: Index) -> Collection[Path]:
        return set(index.files)

    def transform(self, ctx: FileContext, module: cst.Module, index: Index) -> cst.Module:
        plan = index.files.get(ctx.file.path)
        if plan is None:
            if ctx.file.path in index.unparsed:
                _report_unanalysed(ctx, module)
            return module
        return _rewrite(ctx, module, plan)


def _rewrite(ctx: FileContext, module: cst.Module, plan: FilePlan) -> cst.Module:
    for line, column, message in plan.left:
        ctx.report(line, column, message)
    rewriter = SignatureRewriter(ctx, plan, module)
    module = rewriter.rewrite()
    module, inserted = insert_aliases(module, plan.aliases)
    imports = list(plan.annotated_imports) if rewriter.uses_annotated or inserted else []
    imports.extend(rewriter.imports)
    for alias in inserted:
        imports.extend(alias.imports)
        ctx.record_edit(alias.line, alias.line, f"new alias {alias.name} after {alias.after}")
    module = add_imports(module, imports, ctx.file, plan.first_party)
    if rewriter.uses_alias:
        unused = _left_unused(plan, rewriter, inserted)
        module = remove_imports(module, ctx.file, [i for i in plan.removable if (i[2] or i[1]) in unused])
    return module


def _left_unused(plan: FilePlan, rewriter: SignatureRewriter, inserted: Sequence[AliasDefinition]) -> set[str]:
    """Local names of removable imports that nothing uses any more.

    The gathered counts say how often each name occurs in the file; every occurrence inside a
    parameter now written with an alias is gone, and the code this rewrite adds may use it again.
    """
    left = Counter(plan.name_uses)
    left.update(rewriter.type_parameter_names)
    for step in rewriter.aliased:
        left.subtract(dict(step.uses))
    added = [alias.code for alias in inserted]
    added.extend(step.alias for step in rewriter.aliased if step.alias)
    added.extend(rewriter.type_codes)
    if rewriter.uses_annotated and plan.annotated:
        added.append(plan.annotated)
    for code in added:
        left.update(name_uses(None, [ast.parse(code)]))
    return {name for name, count in left.items() if count <= 0}


def _report_unanalysed(ctx: FileContext, module: cst.Module) -> None:
    """A file the running Python cannot parse: report its FastAPI defaults instead of guessing."""
    finder = _FastapiDefaults()
    module.visit(finder)
    found = finder.resolve()
    if not found:
        return
    # No copy: the tree is only read, and positions are looked up by its own nodes.
    positions = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    for param in found:
        start = positions[param.name].start
        ctx.report(start.line, start.column, f"`{param.name.value}` left as is: this file uses syntax "
                                             "newer than the running Python; run fastapi-fix under a newer one")


class _Scope:
    """A scope's imports: local name → (order, what it names) of each import binding it (a
    name may be imported twice, e.g. in ``try``/``except ImportError``)."""

    def __init__(self, is_class: bool) -> None:
        self.is_class = is_class
        self.imports: dict[str, list[tuple[int, str]]] = {}
        self.count = 0

    def bind(self, local: str, qualified: str) -> None:
        self.imports.setdefault(local, []).append((self.count, qualified))
        self.count += 1


class _FastapiDefaults(cst.CSTVisitor):
    """Parameters whose default calls one of FastAPI's parameter functions named through an
    import, as LibCST's `QualifiedNameProvider` tells them, without analysing every name of
    the file: an import binds in its own scope; decorators, annotations and defaults are
    read in the scope around their function; a class body is no scope for the functions
    inside it. A name that an enclosing function binds otherwise still counts as the
    import: a report more, never one fewer. As for LibCST, the scope a default is read in
    offers only the imports before it; the scopes around, all of theirs."""

    def __init__(self) -> None:
        self.scopes = [_Scope(is_class=False)]
        # Defaults to resolve once every import is known, in the order of the file: (parameter,
        # callee, the scopes it is read in, how many imports the innermost had bound by then).
        self.pending: list[tuple[cst.Param, cst.BaseExpression, list[_Scope], int]] = []

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        for decorator in node.decorators:
            decorator.visit(self)
        scope = _Scope(is_class=False)
        self.scopes.append(scope)
        node.params.visit(self)
        self.scopes.pop()
        if node.returns is not None:
            node.returns.visit(self)
        self.scopes.append(scope)
        node.body.visit(self)
        self.scopes.pop()
        return False

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        self.scopes.append(_Scope(is_class=False))
        node.params.visit(self)
        node.body.visit(self)
        self.scopes.pop()
        return False

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        for decorator in node.decorators:
            decorator.visit(self)
        for argument in (*node.bases, *node.keywords):
            argument.visit(self)
        self.scopes.append(_Scope(is_class=True))
        node.body.visit(self)
        self.scopes.pop()
        return False

    def visit_ListComp(self, node: cst.ListComp) -> bool:
        return self._comprehension(node, node.elt)

    def visit_SetComp(self, node: cst.SetComp) -> bool:
        return self._comprehension(node, node.elt)

    def visit_GeneratorExp(self, node: cst.GeneratorExp) -> bool:
        return self._comprehension(node, node.elt)

    def visit_DictComp(self, node: cst.DictComp) -> bool:
        return self._comprehension(node, node.key, node.value)

    def _comprehension(self, node: cst.ListComp | cst.SetComp | cst.GeneratorExp | cst.DictComp,
                       *elements: cst.BaseExpression) -> bool:
        """A scope of its own, but for the first iterable, read in the scope around it."""
        scope = _Scope(is_class=False)
        self.scopes.append(scope)
        for element in elements:
            element.visit(self)
        node.for_in.target.visit(self)
        self.scopes.pop()
        node.for_in.iter.visit(self)
        self.scopes.append(scope)
        for condition in node.for_in.ifs:
            condition.visit(self)
        if node.for_in.inner_for_in is not None:
            node.for_in.inner_for_in.visit(self)
        self.scopes.pop()
        return False

    def visit_Param(self, node: cst.Param) -> bool:
        if isinstance(node.default, cst.Call):
            self.pending.append((node, node.default.func, self.scopes[:-1], self.scopes[-2].count))
        own = self.scopes.pop()
        for part in (node.annotation, node.default):
            if part is not None:
                part.visit(self)
        self.scopes.append(own)
        return False

    def visit_Import(self, node: cst.Import) -> None:
        for alias in node.names:
            imported = get_full_name_for_node(alias.name) or ""
            if alias.asname is not None:
                self.scopes[-1].bind(get_full_name_for_node(alias.asname.name) or "", imported)
            else:
                top = imported.partition(".")[0]
                self.scopes[-1].bind(top, top)

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        if isinstance(node.names, cst.ImportStar):
            return
        # Relative imports keep their dots: they never name FastAPI's modules, as for LibCST.
        module = "." * len(node.relative) + ((get_full_name_for_node(node.module) or "") if node.module else "")
        for alias in node.names:
            name = get_full_name_for_node(alias.name) or ""
            local = (get_full_name_for_node(alias.asname.name) or "") if alias.asname is not None else name
            self.scopes[-1].bind(local, f"{module}{name}" if module.endswith(".") else f"{module}.{name}")

    def resolve(self) -> list[cst.Param]:
        """The parameters whose default calls one of FastAPI's parameter functions."""
        return [param for param, callee, scopes, bound_before in self.pending
                if any(param_function(name) for name in _qualified(callee, scopes, bound_before))]


def _qualified(callee: cst.BaseExpression, scopes: Sequence[_Scope], bound_before: int) -> list[str]:
    """What an import makes ``callee`` (``D``, ``fastapi.params.Depends``): the imports of its
    first name in the innermost of ``scopes`` binding it (those before it in the scope it is
    read in; a class body only for code directly in it)."""
    dotted = get_full_name_for_node(callee)
    if dotted is None:
        return []
    root, dot, rest = dotted.partition(".")
    for depth, scope in enumerate(reversed(scopes)):
        if depth and scope.is_class:
            continue
        bound = [qualified for order, qualified in scope.imports.get(root, ()) if depth or order < bound_before]
        if bound:
            return [qualified + dot + rest for qualified in bound]
    return []
