"""Codemod depends-to-annotated: FastAPI parameter defaults → ``Annotated``, with shared aliases.

``q: str | None = Query(None, max_length=50)`` becomes
``q: Annotated[str | None, Query(max_length=50)] = None``, everywhere FastAPI reads a
signature (any function with such a default: routes however registered, dependencies,
class dependencies, methods). A dependency used in two or more places gets one alias,
``SessionDep = Annotated[Session, Depends(get_db)]``, defined next to the dependency.

The work is split in three steps (see ``engine/codemod.py``): ``facts`` reads
the files naming ``fastapi`` with stdlib ``ast``, then those ``gather`` asks for
(where dependencies are defined, who calls a rewritten function, the import graph),
``index`` decides for the whole project, and ``transform`` /
``imports`` rewrite the target files with LibCST.
"""

from __future__ import annotations

import ast
from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider, QualifiedNameProvider

from fastapi_fix.codemods.depends_to_annotated.facts import (
    FileFacts,
    gather_facts,
    name_uses,
)
from fastapi_fix.codemods.depends_to_annotated.gather import more_to_gather
from fastapi_fix.codemods.depends_to_annotated.imports import (
    add_imports,
    insert_aliases,
    remove_imports,
)
from fastapi_fix.codemods.depends_to_annotated.index import (
    AliasDefinition,
    FilePlan,
    Index,
    Planner,
)
from fastapi_fix.codemods.depends_to_annotated.transform import SignatureRewriter
from fastapi_fix.engine.cache import file_signature
from fastapi_fix.engine.codemod import (
    NO_FIXED_POINTS,
    Codemod,
    FileContext,
    FixedPoints,
    Option,
    SourceFile,
    Wanted,
)
from fastapi_fix.project.fastapi import cst_param_function
from fastapi_fix.project.metadata import declaration_inputs, too_old_by_file


class DependsToAnnotated(Codemod):
    name = "depends-to-annotated"
    summary = "Rewrite FastAPI parameter defaults (Depends, Query, Body, ...) into Annotated, sharing aliases."
    safety = (
        "Unlike ruff's always-unsafe FAST002, no parameter moves: only the default leaves the call; "
        "a bare `*` is added only where a required parameter would follow a defaulted one (and dropped "
        "only where it served nothing else); a function called positionally, or without an argument "
        "that becomes required, is left and reported; comments are kept; a project whose lock file "
        "(else its requirements) admits FastAPI < 0.95 is left alone."
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
        Option(
            "aliases",
            True,
            "Share a dependency used twice or more as an alias "
            "(SessionDep = Annotated[Session, Depends(get_db)]).",
        ),
    )

    def gather(self, file: SourceFile, tree: ast.Module) -> FileFacts:
        return gather_facts(file, tree)

    def more_to_gather(self, facts: Mapping[SourceFile, FileFacts]) -> Wanted:
        # Where dependencies are defined, who calls a rewritten function, the import graph:
        # see `gather`.
        return more_to_gather(facts)

    def build_index(
        self,
        facts: Mapping[SourceFile, FileFacts],
        unparsed: Sequence[SourceFile],
        fixed: FixedPoints = NO_FIXED_POINTS,
    ) -> Index:
        planner = Planner(
            facts,
            unparsed,
            self.settings.target_version,
            aliases=self.option("aliases"),
            too_old_fastapi=too_old_by_file(
                [*(file.path for file in facts), *(f.path for f in unparsed)],
                self.settings.target_version,
            ),
            fixed=fixed,
        )
        return planner.plan()

    def external_state(self, files: Sequence[SourceFile]) -> object:
        # The FastAPI version the project declares decides whether a file is rewritten at all:
        # the files it is read from, by their stat (parsing a large lock file is what it saves).
        inputs = declaration_inputs(file.path for file in files)
        return [(str(path), file_signature(path)) for path in inputs]

    def targets(self, index: Index) -> Collection[Path]:
        return set(index.files)

    def file_plan(self, index: Index, file: SourceFile) -> object:
        return (index.files.get(file.path), file.path in index.unparsed)

    def transform(self, ctx: FileContext, module: cst.Module, index: Index) -> cst.Module:
        plan = index.files.get(ctx.file.path)
        if plan is None:
            if ctx.file.path in index.unparsed:
                _report_unanalysed(ctx, module)
            return module
        return _rewrite(ctx, module, plan)


def _rewrite(ctx: FileContext, original: cst.Module, plan: FilePlan) -> cst.Module:
    module = original
    for line, column, message in plan.left:
        ctx.report(line, column, message)
    rewriter = SignatureRewriter(ctx, plan, module)
    module = rewriter.rewrite()
    for step in rewriter.aliased:
        if step.alias_provider is not None:  # a new alias, defined there: both or neither
            ctx.require(step.alias_provider)
    module, inserted = insert_aliases(module, plan.aliases)
    imports = list(plan.annotated_imports) if rewriter.uses_annotated or inserted else []
    imports.extend(rewriter.imports)
    for alias in inserted:
        imports.extend(alias.imports)
        ctx.record_edit(alias.line, alias.line, f"new alias {alias.name} after {alias.after}")
    module = add_imports(module, imports, ctx.file, plan.first_party)
    if rewriter.uses_alias:
        unused = _left_unused(plan, rewriter, inserted)
        module = remove_imports(
            module, ctx.file, [i for i in plan.removable if (i[2] or i[1]) in unused]
        )
    if module is not original:
        module = remove_imports(module, ctx.file, _fastapi_left_unused(plan, rewriter, inserted))
    return module


def _fastapi_left_unused(
    plan: FilePlan, rewriter: SignatureRewriter, inserted: Sequence[AliasDefinition]
) -> list[tuple[str, str, str | None]]:
    """Imports of FastAPI's parameter functions the module used before its rewrite and no
    longer uses (``Depends`` once every use is an alias); one that was unused before stays.
    Counted as `_left_unused` counts, without printing and parsing the module again."""
    used_before = {
        imported
        for imported in plan.fastapi_imports
        if plan.name_uses.get(imported[2] or imported[1], 0) > 0
    }
    if not used_before or not rewriter.aliased:  # an inline Annotated keeps its Depends(...)
        return []
    unused = _left_unused(plan, rewriter, inserted)
    return [i for i in sorted(used_before) if (i[2] or i[1]) in unused]


def _left_unused(
    plan: FilePlan, rewriter: SignatureRewriter, inserted: Sequence[AliasDefinition]
) -> set[str]:
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
    if not _has_call_defaults(module):
        return  # spare the scope analysis, the costly part

    class Finder(cst.CSTVisitor):
        METADATA_DEPENDENCIES = (QualifiedNameProvider, PositionProvider)

        def visit_Param(self, node: cst.Param) -> None:
            if isinstance(node.default, cst.Call) and cst_param_function(self, node.default):
                start = self.get_metadata(PositionProvider, node.name).start
                ctx.report(
                    start.line,
                    start.column,
                    f"`{node.name.value}` left as is: this file uses syntax "
                    "newer than the running Python; run fastapi-fix under a newer one",
                )

    # No copy: the tree is only read.
    MetadataWrapper(module, unsafe_skip_copy=True).visit(Finder())


def _has_call_defaults(module: cst.Module) -> bool:
    class Finder(cst.CSTVisitor):
        found = False

        def visit_Param(self, node: cst.Param) -> None:
            self.found = self.found or isinstance(node.default, cst.Call)

    finder = Finder()
    module.visit(finder)
    return finder.found
