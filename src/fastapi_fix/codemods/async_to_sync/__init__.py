"""Codemod async-to-sync: ``async def`` → ``def`` for routes and dependencies that only block.

FastAPI runs an ``async def`` route or dependency on the event loop and a plain ``def`` one
in its threadpool. An ``async def`` that awaits nothing but calls something blocking (a sync
SQLAlchemy ``Session`` handed to the service layer, ``requests``, ``open``, ``time.sleep``)
therefore stalls every other request while it runs; as ``def`` it runs beside them.
An await-less ``async def`` that blocks nothing is what FastAPI prefers, so the codemod
needs positive evidence: at least one call from the catalogue (``_blocking``), made directly
or through project functions and methods, followed across modules.

"Functions FastAPI calls" are routes (decorators, ``add_api_route``, ``app.get(...)(fn)``),
dependencies (``Depends``/``Security``) and background tasks (``BackgroundTasks.add_task``,
``BackgroundTask(fn)``: Starlette awaits an async task, runs a sync one in the threadpool).

It converts a function only when its own body has no ``await``/``async for``/``async with``/
async comprehension; neither it nor a project function it calls uses what needs the running
loop (asyncio, anyio, contextvars) or writes state every request shares (a module-level
object's attribute or item, a ``global``, ``app.state``, a module-level dict, list or set
changed in place; without an ``await`` the function runs on the loop without a break, in the
threadpool requests interleave); it is not a websocket or lifespan handler nor an
``@asynccontextmanager``; its only decorators are route decorators and decorators known to
accept a sync function (``project.decorators``, ``safe-decorators``, or already on a sync
route of the project); and
nothing in the project calls, awaits, schedules or otherwise uses it as a value (stored in a
dict, passed to a function: whoever gets it may await it). The rewrite removes the ``async``
keyword and nothing else; an async generator dependency becomes a sync generator dependency,
which FastAPI also runs in its threadpool (its ``AsyncGenerator[X, None]`` annotation becomes
``Generator[X, None, None]``).
Every blocking call it leaves on the event loop is reported with what to use instead.

What it reads: the files that can make an async function one FastAPI calls (they name
``fastapi``, decorate an async function like a route, register a task or a route), then,
round after round, only the files the decisions need: where the functions they call are
defined, down to the blocking call, and, for a function that may become ``def``, every file
naming it (``rounds``).

Trade-offs of ``def``: the threadpool has 40 threads by default (anyio's limiter), so 40
slow sync requests at once make the 41st wait; and the function now runs in a worker
thread, so objects bound to one thread break: a SQLite connection made with the default
``check_same_thread=True`` in one thread and used in another raises ``ProgrammingError``
(a session per request from a ``Depends`` generator is fine; a module-level connection is
not).

The steps import what they run with when they first run (``facts``, ``rounds``, ``index``,
LibCST's ``rewrite``): the CLI builds its options from this class and lists the codemods
without them (start-up).
"""

from __future__ import annotations

import ast
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi_fix.engine.codemod import (
    NO_FIXED_POINTS,
    Codemod,
    FileContext,
    FixedPoints,
    Option,
    SourceFile,
    Wanted,
    check_patterns,
)

if TYPE_CHECKING:
    import libcst as cst

    from fastapi_fix.codemods.async_to_sync.facts import ModuleFacts
    from fastapi_fix.codemods.async_to_sync.index import AsyncIndex


class AsyncToSync(Codemod):
    name = "async-to-sync"
    summary = "Make `async def` routes and dependencies that await nothing but block plain `def`."
    safety = (
        "Only with evidence of a blocking call and no await, loop use, unknown decorator or caller; "
        "`def` runs in the threadpool (40 threads by default) and per-thread objects such as "
        "sqlite3 connections with check_same_thread need one per request."
    )
    example = (
        "@router.get('/users/{id}')\nasync def read_user(id: int, db: Session = Depends(get_db)):\n"
        "    return crud.get_user(db, id)\n",
        "@router.get('/users/{id}')\ndef read_user(id: int, db: Session = Depends(get_db)):\n"
        "    return crud.get_user(db, id)\n",
    )
    markers = (b"async",)
    implementation = (
        "fastapi_fix.codemods.async_to_sync.facts",
        "fastapi_fix.codemods.async_to_sync.rounds",
        "fastapi_fix.codemods.async_to_sync.index",
        "fastapi_fix.codemods.async_to_sync.rewrite",
    )
    options = (
        Option(
            "blocking-calls",
            [],
            "More blocking calls: fnmatch patterns on qualified names of library or project "
            "functions and methods (mylib.client.fetch, mylib.Client.*, app.crud.get_user).",
            check=lambda patterns: check_patterns("blocking-calls", patterns),
        ),
        Option(
            "safe-decorators",
            [],
            "More decorators that accept a sync function, so a route under them may become "
            "def: fnmatch patterns on qualified names (mylib.Limiter.limit, app.auth.*).",
            check=lambda patterns: check_patterns("safe-decorators", patterns),
        ),
        Option(
            "report-non-blocking",
            False,
            "Also report await-less async routes and dependencies "
            "kept async because nothing in them blocks.",
        ),
        Option(
            "convert-metadata-only",
            True,
            "Also convert functions whose only blocking calls are file-system metadata "
            "calls (os.path.exists, Path.is_file, mkdir, ...); their edits are labelled so.",
        ),
    )

    def wants_gather(self, source: bytes) -> bool:
        from fastapi_fix.codemods.async_to_sync.rounds import wants_first_round

        return wants_first_round(source)

    def gather(self, file: SourceFile, tree: ast.Module) -> ModuleFacts:
        from fastapi_fix.codemods.async_to_sync.facts import gather_module

        return gather_module(file, tree)

    def more_to_gather(self, facts: Mapping[SourceFile, Any]) -> Wanted:
        from fastapi_fix.codemods.async_to_sync.rounds import wanted_after
        from fastapi_fix.project.blocking import Catalogue

        # The service layer that blocks is often in files without any `async`: followed here.
        return wanted_after(facts, Catalogue(self.option("blocking-calls")))

    def build_index(
        self,
        facts: Mapping[SourceFile, Any],
        unparsed: Sequence[SourceFile],
        fixed: FixedPoints = NO_FIXED_POINTS,
    ) -> AsyncIndex:
        # `fixed` changes nothing here: a conversion never needs another file to change
        # (a function anything in the project calls, awaits or passes on stays async).
        from fastapi_fix.codemods.async_to_sync.index import Project
        from fastapi_fix.project.blocking import Catalogue
        from fastapi_fix.project.decorators import SafeDecorators

        catalogue = Catalogue(self.option("blocking-calls"))
        return Project(
            facts,
            unparsed,
            catalogue,
            self.option("report-non-blocking"),
            self.option("convert-metadata-only"),
            SafeDecorators(self.option("safe-decorators")),
        ).plan()

    def targets(self, index: AsyncIndex) -> set[Path]:
        return set(index.plans)

    def file_plan(self, index: AsyncIndex, file: SourceFile) -> object:
        return index.plan(file.path)

    def transform(self, ctx: FileContext, module: cst.Module, index: AsyncIndex) -> cst.Module:
        from libcst.codemod import CodemodContext
        from libcst.codemod.visitors import AddImportsVisitor, RemoveImportsVisitor

        from fastapi_fix.codemods.async_to_sync.index import KIND_DETAILS
        from fastapi_fix.codemods.async_to_sync.rewrite import DropAsync, character_column

        plan = index.plan(ctx.file.path)
        if plan is None:
            return module
        # Lines as ast counts them: str.splitlines would also split at \f or \u2028.
        code = module.code if plan.findings else ""  # rendering a large module is not free
        lines = code.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        for finding in plan.findings:
            ctx.report(
                finding.line,
                character_column(lines, finding.line, finding.col),
                finding.message,
                kind=finding.kind,
                summary=finding.summary,
                detail=KIND_DETAILS.get(finding.kind, ""),
            )
        if not plan.conversions:
            return module
        context = CodemodContext(
            full_module_name=ctx.file.module_name, full_package_name=ctx.file.package
        )
        drop = DropAsync(ctx, plan, context)
        converted = module.visit(drop)
        if not drop.converted:
            return module  # the very tree it was given: the engine need not print it again
        module = converted
        if not context.scratch:
            return module
        module = AddImportsVisitor(context).transform_module(module)
        return RemoveImportsVisitor(context).transform_module(module)
