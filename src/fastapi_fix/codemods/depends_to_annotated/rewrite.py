"""depends-to-annotated, step 3 (LibCST): one target file rewritten as its `FilePlan` says,
signatures (``transform``), then aliases and imports (``imports``); a file the running Python
cannot parse has its FastAPI defaults reported instead."""

from __future__ import annotations

import ast
from collections import Counter
from collections.abc import Sequence

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider, QualifiedNameProvider

from fastapi_fix.codemods.depends_to_annotated.facts import name_uses
from fastapi_fix.codemods.depends_to_annotated.imports import (
    add_imports,
    insert_aliases,
    remove_imports,
)
from fastapi_fix.codemods.depends_to_annotated.index import AliasDefinition, FilePlan
from fastapi_fix.codemods.depends_to_annotated.transform import SignatureRewriter
from fastapi_fix.engine.codemod import FileContext
from fastapi_fix.project.fastapi import cst_param_function


def rewrite_module(ctx: FileContext, original: cst.Module, plan: FilePlan) -> cst.Module:
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


def report_unanalysed(ctx: FileContext, module: cst.Module) -> None:
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
