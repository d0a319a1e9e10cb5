"""A tiny codemod that exercises the engine without depending on any real codemod."""

from __future__ import annotations

import ast

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from fastapi_fix.engine.codemod import Codemod, FileContext, SourceFile


class RenameFoo(Codemod):
    """Renames every name ``foo`` to ``bar``; reports every name ``baz``."""

    name = "rename-foo"
    summary = "foo → bar"
    safety = "test only"
    markers = (b"foo", b"baz")

    def transform(self, ctx: FileContext, module: cst.Module, index: object) -> cst.Module:
        wrapper = MetadataWrapper(module)
        positions = wrapper.resolve(PositionProvider)

        class Rename(cst.CSTTransformer):
            def leave_Name(self, original: cst.Name, updated: cst.Name) -> cst.Name:
                start = positions[original].start
                if original.value == "foo":
                    ctx.record_edit(start.line, start.line, "foo → bar")
                    return updated.with_changes(value="bar")
                if original.value == "baz":
                    ctx.report(start.line, start.column, "baz left alone")
                return updated

        return wrapper.module.visit(Rename())


class Broken(Codemod):
    """Produces output that does not compile: the engine must refuse to write it."""

    name = "broken"
    summary = "breaks code"
    safety = "test only"
    markers = (b"foo",)

    def transform(self, ctx: FileContext, module: cst.Module, index: object) -> cst.Module:
        return module.with_changes(body=[*module.body, cst.parse_statement("await foo()\n")])


class Unstable(Codemod):
    """Adds a line every time it runs: the engine must catch the missing fixed point."""

    name = "unstable"
    summary = "never converges"
    safety = "test only"
    markers = (b"foo",)

    def transform(self, ctx: FileContext, module: cst.Module, index: object) -> cst.Module:
        return module.with_changes(body=[*module.body, cst.parse_statement("foo = 1\n")])


class SeededRename(RenameFoo):
    """RenameFoo that gathers every file, and has work only where some file mentions ``seed``.

    Its gather fails on any file holding ``crash``, so a test can see whether it gathered.
    """

    name = "seeded-rename"
    seed_markers = (b"seed",)

    def wants_gather(self, source: bytes) -> bool:
        return True

    def gather(self, file: SourceFile, tree: ast.Module) -> object:
        if any(isinstance(node, ast.Name) and node.id == "crash" for node in ast.walk(tree)):
            raise RuntimeError("gathered")
        return None


class RenameQux(Codemod):
    """``qux`` → ``quux``: a second codemod with changes of its own."""

    name = "rename-qux"
    summary = "qux becomes quux"
    safety = "test only"
    markers = (b"qux",)

    def transform(self, ctx: FileContext, module: cst.Module, index: object) -> cst.Module:
        class Swap(cst.CSTTransformer):
            def leave_Name(self, original: cst.Name, updated: cst.Name) -> cst.Name:
                return updated.with_changes(value="quux") if updated.value == "qux" else updated

        ctx.record_edit(1, 1, "qux → quux")
        return module.visit(Swap())


def use_toy_codemods(monkeypatch, root) -> None:
    """Run the CLI in ``root`` with rename-foo (default) and broken (only when selected)."""
    from fastapi_fix import codemods

    monkeypatch.chdir(root)
    monkeypatch.setattr(codemods, "REGISTRY", (RenameFoo, Broken))
    monkeypatch.setattr(Broken, "default_enabled", False)


class RenameFooTogether(RenameFoo):
    """RenameFoo where a file importing from ``provider`` needs ``provider.py``'s rewrite
    (the name it imports is renamed there): one change set, as a real cross-file codemod."""

    name = "rename-foo-together"

    def transform(self, ctx: FileContext, module: cst.Module, index: object) -> cst.Module:
        for statement in module.body:
            if not isinstance(statement, cst.SimpleStatementLine):
                continue
            for small in statement.body:
                if (
                    isinstance(small, cst.ImportFrom)
                    and isinstance(small.module, cst.Name)
                    and small.module.value == "provider"
                ):
                    ctx.require(ctx.file.path.parent / "provider.py")
        return super().transform(ctx, module, index)
