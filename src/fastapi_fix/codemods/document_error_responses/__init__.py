"""Codemod document-error-responses: every HTTP error a route can raise is documented in its
decorator's ``responses=``; runs only when selected by name (it changes the API document on
purpose).

FastAPI documents 200 and 422 by itself; an ``HTTPException`` raised in the route, in one of
its dependencies or deep in a service is missing from the OpenAPI document unless written by
hand. For each route (``@router.get(...)`` and the other methods, ``api_route``; not
``include_in_schema=False``) the codemod collects, transitively through the project:

- ``raise HTTPException(...)`` (fastapi or starlette; status positional or ``status_code=``,
  an int literal, ``status.HTTP_*`` from fastapi or starlette, ``HTTPStatus.X``);
- project subclasses of ``HTTPException`` with a fixed code (a ``status_code`` class attribute,
  or an ``__init__`` handing a literal to ``super().__init__``);
- project exceptions mapped to a code by an exception handler (``@app.exception_handler``,
  ``add_exception_handler``, ``exception_handlers={...}``) whose response status is a literal;

through the route's body, its dependencies (``Depends``/``Security`` in the signature, in an
``Annotated`` alias, in the decorator's, the router's and ``include_router``'s
``dependencies=``, sub-dependencies, class dependencies' ``__init__``/``__call__``) and the
project functions they call, each once (a cycle ends where it started).

What it writes, as FastAPI's docs do: one ``{code: {"description": ...}}`` entry per code, int
keys, the description being the ``detail`` when every raise of that code gives the same
literal string, else the HTTP phrase (``"Not Found"``); added to the decorator's
``responses=`` (created, or merged into a dict literal: new entries go before a ``**spread``,
so an entry the spread holds still wins). Every documented code is kept as it is, and a code
the route's router documents (``APIRouter(responses=...)``, ``include_router(...,
responses=...)``) is not repeated (a route's entry would replace the router's). Errors every
route of a router raises (a router dependency's 401) are written on each route, not on the
router: the document of each operation is then complete where it is read, and no router
entry shadows what a route says. 422 is never added (FastAPI's own validation schema), nor
codes outside 400-599.

It leaves, and reports: a ``responses=`` that is not a dict literal (a name, a call), on the
route or on its router; a status code it cannot read (a variable, ``exc.status_code``), a
subclass whose code is not fixed, a handler whose status is not a literal. A raise inside a
``try`` whose ``except`` catches it (bare, ``Exception``, ``HTTPException``, or a project
class, which may be a base of it) does not leave the function and is not documented; nor is
what a call inside such a ``try`` raises.

The steps import what they run with when they first run (``facts``, ``index``, LibCST's
``rewrite``): the CLI builds its options from this class and lists the codemods without them
(start-up).
"""

from __future__ import annotations

import ast
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from fastapi_fix.engine.codemod import (
    ADDED_RESPONSES,
    NO_FIXED_POINTS,
    Codemod,
    FileContext,
    FixedPoints,
    SourceFile,
    Wanted,
)

if TYPE_CHECKING:
    import libcst as cst

    from fastapi_fix.codemods.document_error_responses.facts import ModuleFacts
    from fastapi_fix.codemods.document_error_responses.index import ErrorIndex, RoutePlan
    from fastapi_fix.codemods.document_error_responses.rewrite import PlanKey

UNDOCUMENTED = "error-response-undocumented"
UNDOCUMENTED_DETAIL = (
    "a route can raise an HTTP error the codemod could not document: its responses= is not a "
    "dict literal, or the status code is not a literal it can read; add the entry by hand"
)
_MARKERS = (b"HTTPException", b"exception_handler", b"Depends", b"Security", b"responses")


class DocumentErrorResponses(Codemod):
    name = "document-error-responses"
    summary = (
        "Document in each route's `responses=` the HTTP errors it can raise, through its "
        "dependencies and the project functions it calls (only with --select)."
    )
    safety = (
        "Changes the OpenAPI document on purpose (hence opt-in): only adds entries, never "
        "changes one; leaves `responses=` that is not a dict literal and codes it cannot read, "
        "and reports them; `--verify` accepts added response codes only."
    )
    example = (
        "@router.get('/items/{id}')\ndef read(id: int, user: User = Depends(current_user)):\n"
        "    if id not in db:\n        raise HTTPException(404, 'Item not found')\n",
        '@router.get(\'/items/{id}\', responses={401: {"description": "Not authenticated"}, '
        '404: {"description": "Item not found"}})\n'
        "def read(id: int, user: User = Depends(current_user)):\n"
        "    if id not in db:\n        raise HTTPException(404, 'Item not found')\n",
    )
    markers = _MARKERS
    default_enabled = False
    implementation = (
        "fastapi_fix.codemods.document_error_responses.facts",
        "fastapi_fix.codemods.document_error_responses.index",
        "fastapi_fix.codemods.document_error_responses.rewrite",
    )
    allowed_api_changes: ClassVar[frozenset[str]] = frozenset({ADDED_RESPONSES})

    def wants_gather(self, source: bytes) -> bool:
        return any(marker in source for marker in _MARKERS)

    def gather(self, file: SourceFile, tree: ast.Module) -> ModuleFacts:
        from fastapi_fix.codemods.document_error_responses.facts import gather_errors

        return gather_errors(file, tree)

    def more_to_gather(self, facts: Mapping[SourceFile, Any]) -> Wanted:
        """The modules the gathered functions call into or take dependencies from (a service
        that raises nothing itself may call one that does), and the project classes raised."""
        from fastapi_fix.codemods.document_error_responses.facts import _root_name

        modules: set[str] = set()
        for module in facts.values():
            for function in module.functions:
                symbols = [site.callee for site in function.calls]
                symbols += [raised.exception for raised in function.raises]
                symbols += function.dependencies
                for symbol in symbols:
                    dotted = _root_name(symbol)
                    if dotted:
                        parts = dotted.split(".")
                        modules.update(".".join(parts[:n]) for n in range(1, len(parts)))
        return Wanted(modules=frozenset(modules))

    def build_index(
        self,
        facts: Mapping[SourceFile, Any],
        unparsed: Sequence[SourceFile],
        fixed: FixedPoints = NO_FIXED_POINTS,
    ) -> ErrorIndex:
        from fastapi_fix.codemods.document_error_responses.index import plan_routes

        return plan_routes(facts)

    def targets(self, index: ErrorIndex) -> set[Path]:
        return set(index.plans)

    def file_plan(self, index: ErrorIndex, file: SourceFile) -> object:
        return index.plans.get(file.path)

    def transform(self, ctx: FileContext, module: cst.Module, index: ErrorIndex) -> cst.Module:
        from fastapi_fix.codemods.document_error_responses.rewrite import AddResponses

        plans = index.plans.get(ctx.file.path, [])
        keyed: dict[PlanKey, RoutePlan] = {
            (plan.qualname, plan.ordinal, plan.decorator): plan for plan in plans
        }
        rewriter = AddResponses(keyed)
        new = module.visit(rewriter)
        for key, plan in keyed.items():
            if plan.refusal:
                _report(ctx, plan, f"not documented: {plan.refusal}")
            if plan.unresolved:
                more = len(plan.unresolved) - 1
                also = f" (and {more} more)" if more else ""
                _report(
                    ctx,
                    plan,
                    f"an error it can raise is not documented: {plan.unresolved[0]}{also}",
                )
            if key in rewriter.done:
                codes = ", ".join(str(code) for code, _ in plan.added)
                ctx.record_edit(plan.line, plan.line, f"`{plan.name}`: responses += {codes}")
        return new


def _report(ctx: FileContext, plan: RoutePlan, message: str) -> None:
    ctx.report(
        plan.line,
        0,
        f"route `{plan.name}`: {message}",
        kind=UNDOCUMENTED,
        summary=f"`{plan.name}`: error response not documented → see {UNDOCUMENTED}",
        detail=UNDOCUMENTED_DETAIL,
    )
