"""What happens to one file: gather its facts, then transform it and check the result.

These functions take bytes and return plain data; they never touch the disk except to
read the file they are given, so the runner can call them in any process.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import libcst as cst

from fastapi_fix.engine.codemod import Codemod, FileContext, SourceFile
from fastapi_fix.engine.deep import TooDeep, too_deep
from fastapi_fix.engine.files import SkipFile, source_encoding, words_of
from fastapi_fix.engine.parsing import (
    NewerSyntax,
    check_tree_nesting,
    compile_source,
    compiles,
    parse_ast,
    parse_module,
)
from fastapi_fix.engine.results import Edit, Finding
from fastapi_fix.engine.suppress import MARKER as SUPPRESSION_MARKER
from fastapi_fix.engine.suppress import honour_suppressions, suppressed_codemods

GENERATED_MARKER = b"@" + b"generated"


class CodemodBug(Exception):
    """A codemod crashed or produced output that fails the engine's checks."""


@dataclass
class GatherOutcome:
    file: SourceFile
    facts: dict[str, Any] = field(default_factory=dict)
    # Codemods whose byte markers occur in the file.
    applicable: frozenset[str] = frozenset()
    # Codemods that gathered the file (or tried to: see ``ast_ok``).
    gathered: frozenset[str] = frozenset()
    # stdlib ``ast`` could read it, if need be with newer syntax spelled the old way
    # (False: newer syntax that `parsing` cannot spell for this Python).
    ast_ok: bool = True
    skip: str | None = None
    failure: str | None = None
    # The file's words, from the first round, for the runner's word index (later rounds may want it).
    words: frozenset[bytes] = frozenset()
    # Codemods a `# fastapi-fix: ignore` in the file names (None: every codemod).
    suppressed: frozenset[str] | None = frozenset()
    # Its ``ast`` passed `check_tree_nesting`: LibCST need not measure it again.
    nesting_checked: bool = False

    def suppresses(self, codemod: str) -> bool:
        return self.suppressed is None or codemod in self.suppressed

    def merge(self, later: GatherOutcome) -> None:
        """Add what a later gather round found in the same file."""
        self.facts.update(later.facts)
        self.gathered |= later.gathered
        self.ast_ok = self.ast_ok and later.ast_ok
        self.skip = self.skip or later.skip
        self.failure = self.failure or later.failure
        self.nesting_checked = self.nesting_checked or later.nesting_checked


def check_readable(data: bytes) -> None:
    """Raise `SkipFile` for files the tool must not touch."""
    if GENERATED_MARKER in data:
        raise SkipFile("generated file (@generated)")
    source_encoding(data)


def gather_file(
    file: SourceFile,
    data: bytes,
    codemods: Sequence[Codemod],
    chosen: Sequence[Codemod] | None = None,
) -> GatherOutcome:
    """Gather ``data`` for the ``chosen`` codemods, or in a first round for every codemod
    that `wants_gather` it (keeping the file's words if some codemod did not)."""
    try:
        return _gather(file, data, codemods, chosen)
    except (RecursionError, MemoryError, TooDeep) as exc:
        return GatherOutcome(file, failure=too_deep(exc))


def _gather(
    file: SourceFile,
    data: bytes,
    codemods: Sequence[Codemod],
    chosen: Sequence[Codemod] | None,
) -> GatherOutcome:
    outcome = GatherOutcome(file)
    try:
        check_readable(data)
    except SkipFile as exc:
        outcome.skip = str(exc)
        return outcome
    outcome.applicable = frozenset(cm.name for cm in codemods if cm.may_apply(data))
    outcome.suppressed = suppressed_codemods(data)
    gatherers = [cm for cm in codemods if cm.wants_gather(data)] if chosen is None else list(chosen)
    if chosen is None and len(gatherers) < len(codemods):
        outcome.words = words_of(data)
    if not gatherers:
        return outcome
    outcome.gathered = frozenset(cm.name for cm in gatherers)
    try:
        tree = parse_ast(data, file.display_path)
    except SkipFile as exc:
        outcome.skip = str(exc)
        return outcome
    except NewerSyntax:
        outcome.ast_ok = False
        return outcome
    check_tree_nesting(tree, data)  # TooDeep: see `gather_file`
    outcome.nesting_checked = True
    for codemod in gatherers:
        try:
            facts = codemod.gather(file, tree)
        except (RecursionError, MemoryError):
            raise
        except Exception as exc:  # noqa: BLE001 - a bug in one codemod must not stop the run
            outcome.failure = f"internal error in {codemod.name} (gather): {exc!r}"
            return outcome
        if facts is not None:
            outcome.facts[codemod.name] = facts
    return outcome


@dataclass
class TransformOutcome:
    new: bytes | None = None
    findings: list[Finding] = field(default_factory=list)
    edits: list[Edit] = field(default_factory=list)
    skip: str | None = None
    failure: str | None = None
    requires: frozenset[Path] = frozenset()


def apply_codemods(
    file: SourceFile,
    module: cst.Module,
    plan: Sequence[tuple[Codemod, Any]],
    source: bytes | None = None,
) -> tuple[cst.Module, TransformOutcome]:
    """Run the plan on ``module``; the outcome's ``new`` is left unset (see `transform_source`).

    ``source``: the module's bytes if known, to skip rendering it for the suppression check.
    """
    findings: list[Finding] = []
    edits: list[Edit] = []
    requires: set[Path] = set()
    answered: set[tuple[str, str, int]] = set()
    suppressible = SUPPRESSION_MARKER in (module.bytes if source is None else source)
    for codemod, index in plan:
        ctx = FileContext(file, codemod.name)
        try:
            transformed = codemod.transform(ctx, module, index)
            if suppressible:
                transformed = honour_suppressions(ctx, module, transformed)
            module = transformed
        except (RecursionError, MemoryError):
            raise  # the file, not the codemod: see `transform_source`
        except Exception as exc:
            raise CodemodBug(f"internal error in {codemod.name}: {exc!r}") from exc
        findings.extend(ctx.findings)
        edits.extend(ctx.edits)
        requires |= ctx.requires
        answered |= ctx.answered
    if answered:
        findings = [f for f in findings if (f.codemod, f.kind, f.line) not in answered]
    return module, TransformOutcome(findings=findings, edits=edits, requires=frozenset(requires))


def transform_source(
    file: SourceFile,
    data: bytes,
    plan: Sequence[tuple[Codemod, Any]],
    *,
    nesting_checked: bool = False,
) -> TransformOutcome:
    """Run the planned codemods on ``data``; the result is checked before anyone may write it.
    ``nesting_checked``: the gather found the file not too deeply nested already."""
    try:
        return _transform(file, data, plan, nesting_checked)
    except (RecursionError, MemoryError, TooDeep) as exc:
        return TransformOutcome(failure=too_deep(exc))


def _transform(
    file: SourceFile, data: bytes, plan: Sequence[tuple[Codemod, Any]], nesting_checked: bool
) -> TransformOutcome:
    try:
        check_readable(data)
        module = parse_module(data, nesting_checked=nesting_checked)
        if module.bytes != data:  # e.g. a lone CR at the very end: LibCST would drop it
            raise SkipFile(
                "the parser cannot reproduce this file byte for byte (unusual line endings?)"
            )
    except SkipFile as exc:
        return TransformOutcome(skip=str(exc))
    try:
        transformed, outcome = apply_codemods(file, module, plan, data)
        new = transformed.bytes
        if new != data:
            check_output(file, data, new, transformed, plan)
    except CodemodBug as exc:
        return TransformOutcome(failure=str(exc))
    if new != data:
        outcome.new = new
    return outcome


def check_output(
    file: SourceFile,
    old: bytes,
    new: bytes,
    transformed: cst.Module,
    plan: Sequence[tuple[Codemod, Any]],
) -> None:
    """The new bytes must compile (when the old did, else re-parse) and be a fixed point of
    the codemods.

    The second run starts from the transformed tree, which prints as ``new``: parsing ``new``
    again would cost as much as the first parse and only tell the same. (The tests run the
    whole tool a second time on the written bytes.)
    """
    if compiles(old, file.display_path):
        try:
            compile_source(new, file.display_path)
        except (SyntaxError, ValueError) as exc:
            raise CodemodBug(f"rewrite does not compile: {exc}") from None
    else:
        try:
            transformed = cst.parse_module(new)
        except cst.ParserSyntaxError as exc:
            raise CodemodBug(f"rewrite does not parse: {exc.message}") from None
    again, _ = apply_codemods(file, transformed, plan, new)
    # A codemod that hands back the very tree it was given changed nothing: no need to print it.
    if again is not transformed and again.bytes != new:
        raise CodemodBug("rewrite is not stable: a second run changes it again")
