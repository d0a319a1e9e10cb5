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
``imports`` rewrite the target files with LibCST (``rewrite``).

Each step imports its modules when it first runs: the CLI builds its options from this
class and lists the codemods without importing LibCST or the project model (start-up).
"""

from __future__ import annotations

import ast
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from fastapi_fix.engine.codemod import (
    NO_FIXED_POINTS,
    Codemod,
    FileContext,
    FixedPoints,
    Option,
    SourceFile,
    Wanted,
)

if TYPE_CHECKING:
    import libcst as cst

    from fastapi_fix.codemods.depends_to_annotated.facts import FileFacts
    from fastapi_fix.codemods.depends_to_annotated.index import Index


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
    implementation = (
        "fastapi_fix.codemods.depends_to_annotated.facts",
        "fastapi_fix.codemods.depends_to_annotated.gather",
        "fastapi_fix.codemods.depends_to_annotated.index",
        "fastapi_fix.codemods.depends_to_annotated.rewrite",
        "fastapi_fix.project.metadata",
    )
    options = (
        Option(
            "aliases",
            True,
            "Share a dependency used twice or more as an alias "
            "(SessionDep = Annotated[Session, Depends(get_db)]).",
        ),
    )

    def gather(self, file: SourceFile, tree: ast.Module) -> FileFacts:
        from fastapi_fix.codemods.depends_to_annotated.facts import gather_facts

        return gather_facts(file, tree)

    def more_to_gather(self, facts: Mapping[SourceFile, FileFacts]) -> Wanted:
        # Where dependencies are defined, who calls a rewritten function, the import graph:
        # see `gather`.
        from fastapi_fix.codemods.depends_to_annotated.gather import more_to_gather

        return more_to_gather(facts)

    def build_index(
        self,
        facts: Mapping[SourceFile, FileFacts],
        unparsed: Sequence[SourceFile],
        fixed: FixedPoints = NO_FIXED_POINTS,
    ) -> Index:
        from fastapi_fix.codemods.depends_to_annotated.index import Planner
        from fastapi_fix.project.metadata import too_old_by_file

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
        from fastapi_fix.engine.cache import file_signature
        from fastapi_fix.project.declaration_files import declaration_inputs

        inputs = declaration_inputs(file.path for file in files)
        return [(str(path), file_signature(path)) for path in inputs]

    def targets(self, index: Index) -> Collection[Path]:
        return set(index.files)

    def file_plan(self, index: Index, file: SourceFile) -> object:
        return (index.files.get(file.path), file.path in index.unparsed)

    def transform(self, ctx: FileContext, module: cst.Module, index: Index) -> cst.Module:
        from fastapi_fix.codemods.depends_to_annotated.rewrite import (
            report_unanalysed,
            rewrite_module,
        )

        plan = index.files.get(ctx.file.path)
        if plan is None:
            if ctx.file.path in index.unparsed:
                report_unanalysed(ctx, module)
            return module
        return rewrite_module(ctx, module, plan)
