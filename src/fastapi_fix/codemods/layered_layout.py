"""Codemod layered-layout (being written)."""

from __future__ import annotations

import libcst as cst

from fastapi_fix.engine.codemod import Codemod, FileContext


class LayeredLayout(Codemod):
    name = "layered-layout"
    summary = "(not written yet)"
    safety = "(not written yet)"
    markers = ()
    default_enabled = False  # moving files only ever happens when asked for by name
    file_local = False

    def transform(self, ctx: FileContext, module: cst.Module, index: object) -> cst.Module:
        return module
