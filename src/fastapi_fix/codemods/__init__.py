"""The codemods, in the order they run (and are committed by ``--branch``)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from fastapi_fix.codemods.async_to_sync import AsyncToSync
from fastapi_fix.codemods.background_task_logging import BackgroundTaskLogging
from fastapi_fix.codemods.blocking_to_threadpool import BlockingToThreadpool
from fastapi_fix.codemods.depends_to_annotated import DependsToAnnotated
from fastapi_fix.codemods.document_error_responses import DocumentErrorResponses
from fastapi_fix.codemods.layered_layout.codemod import LayeredLayout
from fastapi_fix.engine.codemod import Codemod

# Order matters: `--branch` commits one codemod after another in this order, and the
# file-moving layout comes last (blocking-to-threadpool follows async-to-sync, which makes
# `def` what needs no threadpool call at all) so that every other rewrite happens in place first.
REGISTRY: tuple[type[Codemod], ...] = (
    DependsToAnnotated,
    AsyncToSync,
    BlockingToThreadpool,
    BackgroundTaskLogging,
    DocumentErrorResponses,
    LayeredLayout,
)


class UnknownCodemod(ValueError):
    pass


def by_name() -> dict[str, type[Codemod]]:
    return {codemod.name: codemod for codemod in REGISTRY}


def split_names(values: Iterable[str]) -> list[str]:
    return [name.strip() for value in values for name in value.split(",") if name.strip()]


def select(selected: Sequence[str] = (), ignored: Sequence[str] = ()) -> list[type[Codemod]]:
    """The codemods to run, in registry order. Without a selection: every default one."""
    known = by_name()
    chosen, skipped = split_names(selected), set(split_names(ignored))
    unknown = [name for name in (*chosen, *skipped) if name not in known]
    if unknown:
        raise UnknownCodemod(
            f"unknown codemod {', '.join(map(repr, unknown))}; valid names: {', '.join(known)}"
        )
    wanted = set(chosen) if chosen else {c.name for c in REGISTRY if c.default_enabled}
    return [c for c in REGISTRY if c.name in wanted and c.name not in skipped]
