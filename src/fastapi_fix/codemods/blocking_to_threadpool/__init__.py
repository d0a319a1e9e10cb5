"""Codemod blocking-to-threadpool: a blocking call in an async route, dependency or task that
also awaits runs in the threadpool: ``x = svc.get(db, id)`` → ``x = await run_in_threadpool(svc.get, db, id)``.

async-to-sync makes an ``async def`` that awaits nothing but blocks a plain ``def``; one that
also awaits cannot be, and every blocking call in it stalls the event loop, and so every other
request, while it runs. This codemod offloads those calls, found by async-to-sync's analysis
(the same catalogue, followed through the project's functions), one call at a time.

How it writes the call (what ruff and pyupgrade users expect: the callable and its arguments,
no lambda where none is needed, no new names):

- a plain call: ``await run_in_threadpool(callee, *args, **kwargs)``; arguments are evaluated
  on the event loop as before, keyword arguments pass through;
- a method chain (``db.query(User).filter(...).first()``, ``requests.get(url).json()``), or a
  call with a keyword named ``func`` (``run_in_threadpool``'s own parameter): the whole chain
  as one unit, ``await run_in_threadpool(lambda: ...)``;
- each call its own ``await``: statements are not merged into one offload (each keeps its own
  line, its own traceback and its own place among the other statements);
- ``run_in_threadpool`` comes from ``fastapi.concurrency`` (from ``starlette.concurrency`` in a
  module importing nothing from FastAPI, or from where the module already imports it), added
  with the module's other imports.

It leaves, and reports, a call: in a comprehension, a lambda, or a ``with`` item; in an async
generator; made on, or handed, an object bound to one thread (a sqlite3 connection without
``check_same_thread=False``, ``threading.local``, a thread-local ``scoped_session``), or an
async SQLAlchemy object; inside a ``with`` over such an object or a ``threading`` lock; whose
project callee is a generator function, needs the running loop or sets a ContextVar, or
writes module-level state the coroutine reads afterwards; that uses SQLAlchemy while the
project has an in-memory SQLite engine without ``StaticPool`` (one database per thread).
Each call it offloads or reports answers async-to-sync's finding about it, which the engine
then drops.

Context variables: every Starlette that has ``run_in_threadpool`` (0.7.4 on, FastAPI 0.42
on) runs the call in a copy of the caller's context (by hand up to 0.18, through AnyIO ≥ 3.4
since 0.19, which Starlette requires), so a ContextVar read in the worker sees the request's
value whatever versions the project declares; a ContextVar *set* there is lost, so callees that
set one are refused.

The steps import what they run with when they first run (async-to-sync's analysis, ``facts``,
``plan``, LibCST's ``rewrite``): the CLI builds its options from this class and lists the
codemods without them (start-up).
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
    SourceFile,
    Wanted,
)

if TYPE_CHECKING:
    import libcst as cst

    from fastapi_fix.codemods.async_to_sync.facts import ModuleFacts
    from fastapi_fix.codemods.blocking_to_threadpool.facts import ThreadpoolFacts
    from fastapi_fix.codemods.blocking_to_threadpool.plan import FilePlan, ThreadpoolIndex
    from fastapi_fix.codemods.blocking_to_threadpool.rewrite import Located
    from fastapi_fix.project.blocking import Catalogue

LEFT_ON_LOOP = "blocking-left-on-loop"
ENGINE_MARKERS = (b"create_engine", b"check_same_thread")
LEFT_ON_LOOP_DETAIL = (
    "a blocking call in an async function that also awaits, left on the event loop because "
    "offloading it to a worker thread would not be safe (the reason is given): move it, or "
    "what makes it unsafe, into a sync function and offload that by hand"
)


class BlockingToThreadpool(Codemod):
    name = "blocking-to-threadpool"
    summary = (
        "Run blocking calls of async routes, dependencies and tasks that also await in the "
        "threadpool: `await run_in_threadpool(fn, *args, **kwargs)`."
    )
    safety = (
        "Only calls async-to-sync's analysis shows to block, in functions FastAPI runs; never in "
        "comprehensions, lambdas, `with` items or async generators, nor on objects bound to one "
        "thread (sqlite3 check_same_thread, threading.local, scoped_session, locks) or callees "
        "that need the loop, set a ContextVar or write state read afterwards; the 40-thread "
        "pool is shared, and lazy loads after the call still block."
    )
    example = (
        "@router.get('/users/{id}')\nasync def read_user(id: int, db: SessionDep):\n"
        "    user = crud.get_user(db, id)\n    await audit.log(user)\n    return user\n",
        "@router.get('/users/{id}')\nasync def read_user(id: int, db: SessionDep):\n"
        "    user = await run_in_threadpool(crud.get_user, db, id)\n"
        "    await audit.log(user)\n    return user\n",
    )
    markers = (b"async",)
    implementation = (
        "fastapi_fix.codemods.async_to_sync.rounds",
        "fastapi_fix.codemods.blocking_to_threadpool.facts",
        "fastapi_fix.codemods.blocking_to_threadpool.plan",
        "fastapi_fix.codemods.blocking_to_threadpool.rewrite",
        "libcst.codemod.visitors",
    )
    # No options of its own: what blocks is async-to-sync's `blocking-calls` (one analysis,
    # one setting; a second option of that name would also clash on the command line).

    def _catalogue(self) -> Catalogue:
        from fastapi_fix.project.blocking import Catalogue

        given = self.settings.options.get("async-to-sync", {})
        return Catalogue(given.get("blocking-calls", []))

    def wants_gather(self, source: bytes) -> bool:
        # Also where engines and connections are made: a test engine decides what is safe.
        from fastapi_fix.codemods.async_to_sync.rounds import wants_first_round

        return wants_first_round(source) or any(marker in source for marker in ENGINE_MARKERS)

    def gather(self, file: SourceFile, tree: ast.Module) -> tuple[ModuleFacts, ThreadpoolFacts]:
        from fastapi_fix.codemods.async_to_sync.facts import gather_module
        from fastapi_fix.codemods.blocking_to_threadpool.facts import gather_extras

        return gather_module(file, tree), gather_extras(file, tree)

    def more_to_gather(self, facts: Mapping[SourceFile, Any]) -> Wanted:
        from fastapi_fix.codemods.async_to_sync.rounds import wanted_after

        return wanted_after(_module_facts(facts), self._catalogue())

    def build_index(
        self,
        facts: Mapping[SourceFile, Any],
        unparsed: Sequence[SourceFile],
        fixed: FixedPoints = NO_FIXED_POINTS,
    ) -> ThreadpoolIndex:
        # `fixed` changes nothing: every rewrite stays in its own file.
        from fastapi_fix.codemods.blocking_to_threadpool.plan import plan_offloads

        return plan_offloads(facts, unparsed, self._catalogue())

    def targets(self, index: ThreadpoolIndex) -> set[Path]:
        return set(index.plans)

    def file_plan(self, index: ThreadpoolIndex, file: SourceFile) -> object:
        return index.plans.get(file.path)

    def transform(self, ctx: FileContext, module: cst.Module, index: ThreadpoolIndex) -> cst.Module:
        from fastapi_fix.codemods.async_to_sync.index import BLOCKING_TO_THREADPOOL
        from fastapi_fix.codemods.blocking_to_threadpool.rewrite import Offload, locate

        file_plan = index.plans.get(ctx.file.path)
        if file_plan is None:
            return module
        found, calls, locator = locate(module, file_plan)
        if any(located.refusal is None for located in found):
            # The import first, so that every line reported is a line of the file written.
            module = _with_import(module, ctx, file_plan)
            found, calls, _ = locate(module, file_plan, locator)
        for located in calls:
            # Offloaded, or reported with why not: async-to-sync's advice to do it is answered.
            ctx.answer("async-to-sync", BLOCKING_TO_THREADPOOL, located.site.line)
        for located in found:
            if located.refusal is not None:
                _report(ctx, located)
        units = {id(located.unit): located for located in found if located.refusal is None}
        if not units:
            return module
        for located in units.values():
            ctx.record_edit(located.line, located.end_line, _description(located))
        return module.visit(Offload(units))


def _module_facts(facts: Mapping[SourceFile, Any]) -> dict[SourceFile, ModuleFacts]:
    return {file: pair[0] for file, pair in facts.items()}


def _with_import(module: cst.Module, ctx: FileContext, file_plan: FilePlan) -> cst.Module:
    from libcst.codemod import CodemodContext
    from libcst.codemod.visitors import AddImportsVisitor

    from fastapi_fix.codemods.blocking_to_threadpool.facts import RUN_IN_THREADPOOL
    from fastapi_fix.codemods.blocking_to_threadpool.rewrite import TopImportsAdder

    context = CodemodContext(
        full_module_name=ctx.file.module_name, full_package_name=ctx.file.package
    )
    AddImportsVisitor.add_needed_import(context, file_plan.offloader_module, RUN_IN_THREADPOOL)
    # Not `transform_module`: it copies the whole tree first, for metadata this visitor
    # does not use.
    return module.visit(TopImportsAdder(context))


def _description(located: Located) -> str:
    how = "as one `lambda`" if located.lambda_form else "with its arguments"
    return (
        f"`{located.site.text}(...)` in async `{located.function}` runs in the threadpool "
        f"({how}): {located.site.what}"
    )


def _report(ctx: FileContext, located: Located) -> None:
    site = located.site
    ctx.report(
        located.line,
        located.column,
        f"{site.what} in async `{located.function}`; not offloaded to the threadpool because "
        f"{located.refusal}",
        kind=LEFT_ON_LOOP,
        summary=f"`{site.text}(...)` left on the event loop → see {LEFT_ON_LOOP}",
        detail=LEFT_ON_LOOP_DETAIL,
    )
