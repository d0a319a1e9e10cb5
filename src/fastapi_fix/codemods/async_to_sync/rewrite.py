"""async-to-sync, step 3 (LibCST): ``async`` dropped from the planned functions, and an
async generator's annotation made the sync one."""

from __future__ import annotations

import libcst as cst
from libcst.codemod import CodemodContext
from libcst.codemod.visitors import AddImportsVisitor, RemoveImportsVisitor

from fastapi_fix.codemods._build import qualified_name
from fastapi_fix.codemods.async_to_sync.index import AnnotationRewrite, FilePlan
from fastapi_fix.engine.codemod import FileContext


def character_column(lines: list[str], line: int, byte_offset: int) -> int:
    """ast counts columns in UTF-8 bytes; findings count characters."""
    if not 0 < line <= len(lines):
        return byte_offset
    text = lines[line - 1].lstrip("\ufeff") if line == 1 else lines[line - 1]
    return len(text.encode("utf-8")[:byte_offset].decode("utf-8", "ignore"))


_WITHOUT_FUNCTIONS = (
    cst.SimpleStatementLine,
    cst.SimpleStatementSuite,
    cst.BaseExpression,
    cst.Parameters,
    cst.Decorator,
    cst.Annotation,
    cst.EmptyLine,
    cst.TrailingWhitespace,
    cst.BaseParenthesizableWhitespace,
)


class DropAsync(cst.CSTTransformer):
    """Removes ``async`` from the planned functions, found by qualified name and ordinal."""

    def __init__(self, ctx: FileContext, plan: FilePlan, imports: CodemodContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.plan = plan
        self.imports = imports  # AsyncGenerator → Generator changes them
        self.scopes: list[tuple[str, bool]] = []  # (name, is a function)
        self.seen: dict[str, int] = {}
        self.functions: list[tuple[str, int]] = []
        self.converted = False

    def on_visit(self, node: cst.CSTNode) -> bool:
        # A function is a statement: none hides below a simple statement or an expression,
        # and a large module is mostly those; their nodes are neither visited nor rebuilt.
        if isinstance(node, _WITHOUT_FUNCTIONS):
            return False
        return super().on_visit(node)

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self.scopes.append((node.name.value, False))

    def leave_ClassDef(
        self, original_node: cst.ClassDef, updated_node: cst.ClassDef
    ) -> cst.ClassDef:
        self.scopes.pop()
        return updated_node

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        qualname = qualified_name(self.scopes, node.name.value)
        ordinal = self.seen.get(qualname, 0)
        self.seen[qualname] = ordinal + 1
        self.functions.append((qualname, ordinal))
        self.scopes.append((node.name.value, True))

    def leave_FunctionDef(
        self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef
    ) -> cst.FunctionDef:
        self.scopes.pop()
        planned = self.plan.conversions.get(self.functions.pop())
        if planned is None or updated_node.asynchronous is None:
            return updated_node
        rewrite = planned.annotation
        self.converted = True
        self.ctx.record_edit(
            planned.line, rewrite.end_line if rewrite else planned.line, planned.description
        )
        if rewrite is None or updated_node.returns is None:
            return updated_node.with_changes(asynchronous=None)
        self._change_imports(rewrite)
        returns = updated_node.returns.with_changes(
            annotation=_sync_annotation(updated_node.returns.annotation, rewrite)
        )
        return updated_node.with_changes(asynchronous=None, returns=returns)

    def _change_imports(self, rewrite: AnnotationRewrite) -> None:
        if rewrite.new_import:
            AddImportsVisitor.add_needed_import(self.imports, *rewrite.new_import)
        if rewrite.old_import:
            module, name, asname = rewrite.old_import
            RemoveImportsVisitor.remove_unused_import(self.imports, module, name, asname)


def _sync_annotation(
    annotation: cst.BaseExpression, rewrite: AnnotationRewrite
) -> cst.BaseExpression:
    """``AsyncGenerator[X, None]`` → ``Generator[X, None, None]``; ``typing.AsyncIterator[X]`` →
    ``typing.Iterator[X]``: the last name of the head changes, ``None`` send/return types join."""
    head = annotation.value if isinstance(annotation, cst.Subscript) else annotation
    if isinstance(head, cst.Attribute):
        head = head.with_changes(attr=head.attr.with_changes(value=rewrite.sync_name))
    elif isinstance(head, cst.Name):
        head = head.with_changes(value=rewrite.sync_name)
    if not isinstance(annotation, cst.Subscript):
        return head
    elements = list(annotation.slice)
    if rewrite.added_nones:
        comma = cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
        last = elements[-1]
        if not isinstance(last.comma, cst.Comma) or last.comma.whitespace_after.deep_equals(
            cst.SimpleWhitespace("")
        ):
            elements[-1] = last.with_changes(comma=comma)
        added = [
            cst.SubscriptElement(cst.Index(cst.Name("None")), comma=comma)
            for _ in range(rewrite.added_nones)
        ]
        elements += [*added[:-1], added[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)]
    return annotation.with_changes(value=head, slice=elements)
