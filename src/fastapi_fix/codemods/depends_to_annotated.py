"""Codemod depends-to-annotated (being written)."""

from __future__ import annotations

import libcst as cst

from fastapi_fix.engine.codemod import Codemod, FileContext


class DependsToAnnotated(Codemod):
    name = "depends-to-annotated"
    summary = "(not written yet)"
    safety = "(not written yet)"
    markers = ()

    def transform(self, ctx: FileContext, module: cst.Module, index: object) -> cst.Module:
        return module
