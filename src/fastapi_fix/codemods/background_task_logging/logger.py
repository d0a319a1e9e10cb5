"""background-task-logging, step 3 (LibCST): the logger a wrapped task logs with.

Reuse the module's logger when it has one under a conventional (or the configured) name;
otherwise add ``logger = logging.getLogger(__name__)`` under a name that collides with
nothing, after the last top-level import, with ``import logging`` where isort would put it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import libcst as cst

from fastapi_fix.codemods._build import BodyStatement, assign_call
from fastapi_fix.codemods.background_task_logging.facts import STDLIB_MODULES

# Names under which a module's logger is reused (plus the configured `logger-name`); a
# differently named logger (``audit_log``) may have another purpose, so it is not reused.
CONVENTIONAL_LOGGERS = ("logger", "log", "LOGGER", "_logger")
# Fallback names for a new logger when the configured one is taken by something else.
SPARE_LOGGER_NAMES = ("task_logger", "background_task_logger")


def is_docstring(statement: cst.BaseStatement) -> bool:
    return (
        isinstance(statement, cst.SimpleStatementLine)
        and len(statement.body) == 1
        and isinstance(statement.body[0], cst.Expr)
        and isinstance(statement.body[0].value, (cst.SimpleString, cst.ConcatenatedString))
    )


@dataclass(frozen=True)
class LoggerPlan:
    name: str
    # The statement to add (`logger = logging.getLogger(__name__)`), when there is none to reuse.
    create: cst.SimpleStatementLine | None = None
    import_logging: bool = False


def _top_level_statements(
    body: Sequence[cst.BaseStatement],
) -> Iterator[tuple[int, cst.BaseSmallStatement]]:
    """(index in the module, small statement) for simple statements at top level, including
    those inside top-level ``if``/``try`` blocks (``if TYPE_CHECKING:``, optional imports)."""
    for index, statement in enumerate(body):
        for line in _simple_lines(statement):
            for small in line.body:
                yield index, small


def _simple_lines(statement: cst.BaseStatement) -> Iterator[cst.SimpleStatementLine]:
    if isinstance(statement, cst.SimpleStatementLine):
        yield statement
    elif isinstance(statement, (cst.If, cst.Try)):
        blocks = [statement.body]
        if isinstance(statement, cst.Try):
            blocks += [h.body for h in statement.handlers]
        for block in blocks:
            if isinstance(block, cst.IndentedBlock):
                for inner in block.body:
                    yield from _simple_lines(inner)


def _dotted(node: cst.BaseExpression) -> str:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        return f"{_dotted(node.value)}.{node.attr.value}"
    return ""


class _Identifiers(cst.CSTVisitor):
    """Every name the module binds or reads (attribute and keyword names excluded)."""

    def __init__(self) -> None:
        self.names: set[str] = set()

    def visit_Name(self, node: cst.Name) -> None:
        self.names.add(node.value)

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        node.value.visit(self)
        return False

    def visit_Arg(self, node: cst.Arg) -> bool:
        node.value.visit(self)
        return False


@dataclass
class _ModuleLogging:
    """How a module reaches ``logging.getLogger`` and which top-level names hold a logger."""

    # Spellings of getLogger (`logging.getLogger`, `lg.getLogger`, `getLogger`) → the index
    # of the top-level statement that imports it.
    get_logger: dict[str, int] = field(default_factory=dict)
    # Names bound once, at top level, to a getLogger call.
    loggers: set[str] = field(default_factory=set)


def _getlogger_imports(small: cst.BaseSmallStatement) -> Iterator[str]:
    if isinstance(small, cst.Import):
        for alias in small.names:
            imported = _dotted(alias.name)
            if imported == "logging" or (imported.startswith("logging.") and not alias.asname):
                local = alias.evaluated_alias or "logging"
                yield f"{local}.getLogger"
    elif (
        isinstance(small, cst.ImportFrom)
        and not small.relative
        and small.module is not None
        and _dotted(small.module) == "logging"
        and not isinstance(small.names, cst.ImportStar)
    ):
        for alias in small.names:
            if alias.name.value == "getLogger":
                yield alias.evaluated_alias or "getLogger"


def module_logging(body: Sequence[cst.BaseStatement]) -> _ModuleLogging:
    found = _ModuleLogging()
    assigned: dict[str, list[str]] = {}
    for index, small in _top_level_statements(body):
        for spelling in _getlogger_imports(small):
            found.get_logger.setdefault(spelling, index)
        pairs: list[tuple[cst.BaseExpression, cst.BaseExpression]] = []
        if isinstance(small, cst.Assign):
            pairs = [(t.target, small.value) for t in small.targets]
        elif isinstance(small, cst.AnnAssign) and small.value is not None:
            pairs = [(small.target, small.value)]
        for target, value in pairs:
            if isinstance(target, cst.Name):
                called = _dotted(value.func) if isinstance(value, cst.Call) else ""
                assigned.setdefault(target.value, []).append(called)
    found.loggers = {
        name for name, calls in assigned.items() if len(calls) == 1 and calls[0] in found.get_logger
    }
    return found


def plan_logger(module: cst.Module, shadowed: set[str], configured: str) -> LoggerPlan | None:
    """Reuse the module's logger when it has one; otherwise name a new one that collides
    with nothing. ``None`` when ``import logging`` cannot be added."""
    found = module_logging(module.body)
    for name in dict.fromkeys((configured, *CONVENTIONAL_LOGGERS)):
        if name in found.loggers and name not in shadowed:
            return LoggerPlan(name)
    identifiers = _Identifiers()
    module.visit(identifiers)
    taken = identifiers.names | shadowed
    spare = (
        configured,
        "logger",
        *SPARE_LOGGER_NAMES,
        *(f"{configured}_{n}" for n in range(2, 100)),
    )
    name = next(candidate for candidate in spare if candidate not in taken)
    if found.get_logger:
        return LoggerPlan(
            name, assign_call(name, next(iter(found.get_logger)), cst.Name("__name__"))
        )
    if "logging" in taken:
        return None
    return LoggerPlan(
        name, assign_call(name, "logging.getLogger", cst.Name("__name__")), import_logging=True
    )


def _is_import(statement: cst.BaseStatement) -> bool:
    if isinstance(statement, cst.SimpleStatementLine):
        return all(isinstance(s, (cst.Import, cst.ImportFrom)) for s in statement.body)
    if isinstance(statement, (cst.If, cst.Try)) and isinstance(statement.body, cst.IndentedBlock):
        return all(_is_import(s) for s in statement.body.body)
    return False


def _is_future(statement: cst.BaseStatement) -> bool:
    return isinstance(statement, cst.SimpleStatementLine) and any(
        isinstance(s, cst.ImportFrom) and s.module is not None and _dotted(s.module) == "__future__"
        for s in statement.body
    )


def _stdlib_import(statement: cst.BaseStatement) -> str | None:
    """``"import"``/``"from"`` for a one-import line of a stdlib module, else ``None``."""
    if not (isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1):
        return None
    small = statement.body[0]
    if isinstance(small, cst.Import) and all(
        _top(_dotted(a.name)) in STDLIB_MODULES for a in small.names
    ):
        return "import"
    if (
        isinstance(small, cst.ImportFrom)
        and not small.relative
        and small.module is not None
        and _top(_dotted(small.module)) in STDLIB_MODULES
        and not _is_future(statement)
    ):
        return "from"
    return None


def _top(dotted: str) -> str:
    return dotted.partition(".")[0]


def _imported_module(statement: cst.BaseStatement) -> str:
    """The module of an ``import x`` line, lower-cased (isort's order); "" for other lines."""
    small = statement.body[0] if isinstance(statement, cst.SimpleStatementLine) else None
    return _dotted(small.names[0].name).lower() if isinstance(small, cst.Import) else ""


def _header_end(body: Sequence[cst.BaseStatement]) -> int:
    """The index after the module docstring and the ``from __future__`` imports."""
    index = 1 if body and is_docstring(body[0]) else 0
    while index < len(body) and _is_future(body[index]):
        index += 1
    return index


def insert_logging_import(body: list[BodyStatement], before: int) -> int:
    """Add ``import logging`` where isort would put it (stdlib section, plain imports first,
    alphabetical) among the imports above ``before``; returns where it went."""
    statement = cst.parse_statement("import logging\n")
    start = _header_end(body)
    stdlib = [i for i in range(start, before) if _stdlib_import(body[i])]
    if stdlib:
        group = [stdlib[0]]
        while group[-1] + 1 in stdlib:
            group.append(group[-1] + 1)
        plain = [i for i in group if _stdlib_import(body[i]) == "import"]
        later = [i for i in plain if _imported_module(body[i]) > "logging"]
        at = later[0] if later else (plain[-1] + 1 if plain else group[0])
        if at == group[0]:  # a section's leading blank lines and comments stay above it
            statement = statement.with_changes(leading_lines=body[at].leading_lines)
            body[at] = body[at].with_changes(leading_lines=())
    else:
        first_import = next((i for i in range(start, before) if _is_import(body[i])), None)
        if first_import is not None:  # a new stdlib section above the others
            at = first_import
            statement = statement.with_changes(leading_lines=body[at].leading_lines)
            body[at] = body[at].with_changes(leading_lines=(cst.EmptyLine(),))
        else:
            at = start
            statement = statement.with_changes(leading_lines=(cst.EmptyLine(),) if start else ())
    body.insert(at, statement)
    return at


def insert_logger(
    body: list[BodyStatement],
    statement: cst.SimpleStatementLine,
    before: int,
    after_at_least: int,
) -> None:
    """``logger = ...`` after the last top-level import above ``before`` (and never above
    the import it needs), separated by a blank line."""
    imports = [i for i in range(before) if _is_import(body[i])]
    at = max([*imports, after_at_least, _header_end(body) - 1]) + 1
    statement = statement.with_changes(leading_lines=(cst.EmptyLine(),) if at else ())
    if at < len(body) and not body[at].leading_lines:
        follows_definition = isinstance(body[at], (cst.FunctionDef, cst.ClassDef))
        body[at] = body[at].with_changes(
            leading_lines=(cst.EmptyLine(),) * (2 if follows_definition else 1)
        )
    body.insert(at, statement)
