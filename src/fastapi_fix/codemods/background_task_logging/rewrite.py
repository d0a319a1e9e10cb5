"""background-task-logging, step 3 (LibCST): a task's body wrapped in ``try``/``except``
that logs it (the logger itself: `logger`).
"""

from __future__ import annotations

import libcst as cst

from fastapi_fix.codemods._build import call_statement, string_literal
from fastapi_fix.codemods.background_task_logging.logger import is_docstring

# -- transform: the wrapped body --------------------------------------------------------------


def _as_block(body: cst.BaseSuite) -> cst.IndentedBlock:
    """``def f(): a(); b()`` → the same statements as an indented block."""
    if isinstance(body, cst.IndentedBlock):
        return body
    assert isinstance(body, cst.SimpleStatementSuite)
    line = cst.SimpleStatementLine(body.body, trailing_whitespace=body.trailing_whitespace)
    return cst.IndentedBlock(body=[line])


def wrap_body(func: cst.FunctionDef, logger: str, task_name: str, reraise: bool) -> cst.FunctionDef:
    """The body after the docstring inside ``try:`` / ``except Exception:`` that logs the task."""
    block = _as_block(func.body)
    statements = list(block.body)
    head = [statements.pop(0)] if is_docstring(statements[0]) else []
    # Blank lines above the first statement go above the `try:`; comments stay with it.
    first = statements[0]
    assert isinstance(first, (cst.SimpleStatementLine, cst.BaseCompoundStatement))  # all are
    leading = list(first.leading_lines)
    blank = next((i for i, line in enumerate(leading) if line.comment is not None), len(leading))
    statements[0] = first.with_changes(leading_lines=leading[blank:])
    # Built, not formatted: the task's name comes from a file name, which may hold anything.
    log = call_statement(
        f"{logger}.exception",
        string_literal("Background task %s failed"),
        string_literal(task_name),
    )
    handler_body: list[cst.BaseStatement] = (
        [log, cst.SimpleStatementLine([cst.Raise()])] if reraise else [log]
    )
    wrapped = cst.Try(
        body=cst.IndentedBlock(statements, indent=block.indent, footer=block.footer),
        handlers=[
            cst.ExceptHandler(
                cst.IndentedBlock(handler_body, indent=block.indent), type=cst.Name("Exception")
            )
        ],
        leading_lines=leading[:blank],
    )
    return func.with_changes(body=block.with_changes(body=[*head, wrapped], footer=()))
