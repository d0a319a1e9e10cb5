"""FastAPI knowledge shared by the codemods: which names are FastAPI's, and how a module
names things it imports. Both the stdlib-``ast`` side (gather) and the LibCST side
(transform) resolve names to qualified names the same way, so the codemods never decide
by a bare name.
"""

from __future__ import annotations

import ast

import libcst as cst
from libcst.metadata import QualifiedNameProvider, QualifiedNameSource

from fastapi_fix.engine.codemod import SourceFile

# Where FastAPI's parameter functions can be imported from.
FASTAPI_PARAM_MODULES = ("fastapi", "fastapi.params", "fastapi.param_functions")
DEPENDENCY_FUNCTIONS = frozenset({"Depends", "Security"})
PARAM_FUNCTIONS = (
    frozenset({"Query", "Path", "Body", "Header", "Cookie", "Form", "File"}) | DEPENDENCY_FUNCTIONS
)
HTTP_METHODS = frozenset({"get", "post", "put", "delete", "patch", "options", "head", "trace"})
ROUTE_DECORATORS = HTTP_METHODS | {"api_route", "websocket"}
ROUTER_CLASSES = frozenset(
    {
        "fastapi.FastAPI",
        "fastapi.APIRouter",
        "fastapi.applications.FastAPI",
        "fastapi.routing.APIRouter",
    }
)
BACKGROUND_TASKS_CLASSES = frozenset(
    {
        "fastapi.BackgroundTasks",
        "fastapi.background.BackgroundTasks",
        "starlette.background.BackgroundTasks",
    }
)
# ``BackgroundTask(fn, ...)``: one task, e.g. for ``Response(background=...)``.
BACKGROUND_TASK_CLASSES = frozenset({"starlette.background.BackgroundTask"})


def param_function(qualified_name: str) -> str | None:
    """``fastapi.params.Depends`` → ``Depends``; ``None`` for anything not FastAPI's."""
    module, _, name = qualified_name.rpartition(".")
    if module in FASTAPI_PARAM_MODULES and name in PARAM_FUNCTIONS:
        return name
    return None


def task_function_argument(call: ast.Call) -> ast.expr | None:
    """The function handed to ``<tasks>.add_task(fn, ...)`` or ``BackgroundTask(fn, ...)``
    (first positional argument, or ``func=``); the caller checks what ``call`` calls."""
    if call.args:
        return None if isinstance(call.args[0], ast.Starred) else call.args[0]
    return next((k.value for k in call.keywords if k.arg == "func"), None)


# -- stdlib ast side -------------------------------------------------------------------


def resolve_relative(file: SourceFile, module: str | None, level: int) -> str:
    """The absolute module a ``from ... import`` names, seen from ``file``."""
    if level == 0:
        return module or ""
    base = file.package.split(".") if file.package else []
    if level > 1:
        base = base[: len(base) - (level - 1)] if level - 1 <= len(base) else []
    return ".".join([*base, *([module] if module else [])])


class ImportTable:
    """Local name → qualified name for every import in a module (any depth)."""

    def __init__(self, file: SourceFile, tree: ast.Module) -> None:
        self.names: dict[str, str] = {}
        for node in import_statements(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.asname:
                        self.names[alias.asname] = alias.name
                    else:
                        top = alias.name.partition(".")[0]
                        self.names[top] = top
            elif isinstance(node, ast.ImportFrom):
                module = resolve_relative(file, node.module, node.level)
                for alias in node.names:
                    if alias.name != "*":
                        self.names[alias.asname or alias.name] = (
                            f"{module}.{alias.name}" if module else alias.name
                        )

    def qualified(self, expr: ast.expr) -> str | None:
        """``D`` → ``fastapi.Depends``; ``fastapi.params.Query`` → itself; else ``None``."""
        parts: list[str] = []
        while isinstance(expr, ast.Attribute):
            parts.append(expr.attr)
            expr = expr.value
        if not isinstance(expr, ast.Name) or expr.id not in self.names:
            return None
        return ".".join([self.names[expr.id], *reversed(parts)])


def child_nodes(node: ast.AST) -> list[ast.AST]:
    """``ast.iter_child_nodes`` as a list, without its per-node generator overhead."""
    children: list[ast.AST] = []
    for name in node._fields:
        value = getattr(node, name, None)
        if isinstance(value, ast.AST):
            children.append(value)
        elif isinstance(value, list):
            children.extend(item for item in value if isinstance(item, ast.AST))
    return children


_WALK_CACHE = "_fastapi_fix_walk"


def walk(node: ast.AST) -> list[ast.AST]:
    """``ast.walk`` (breadth first, ``node`` included), computed once per node and kept on it.

    Gathering runs over every file of a project and each codemod walks the same trees
    several times; ``ast.walk`` was most of that time. Trees are never mutated while
    gathering, and are dropped with their file.
    """
    nodes = node.__dict__.get(_WALK_CACHE)
    if nodes is None:
        nodes = [node]
        for current in nodes:  # grows while it is read: breadth first
            nodes.extend(child_nodes(current))
        setattr(node, _WALK_CACHE, nodes)
    return nodes


_IMPORTS_CACHE = "_fastapi_fix_imports"
# The fields of a statement, an except handler or a match case that hold statements.
_BLOCKS = ("body", "handlers", "orelse", "finalbody", "cases")
_BLOCK_FIELDS: dict[type, tuple[str, ...]] = {}  # node type -> which of _BLOCKS it has


def import_statements(tree: ast.Module) -> list[ast.Import | ast.ImportFrom]:
    """Every import statement of a module (any depth) in ``walk`` order, computed once and
    kept on the tree. Only statements are visited: expressions hold no import and are most
    of a tree, so this costs a fraction of ``walk`` when nothing else needs the walk."""
    found = tree.__dict__.get(_IMPORTS_CACHE)
    if found is None:
        found = []
        statements: list[ast.AST] = [tree]
        for node in statements:  # grows while it is read: breadth first, as walk
            kind = type(node)
            if kind is ast.Import or kind is ast.ImportFrom:
                found.append(node)
            blocks = _BLOCK_FIELDS.get(kind)
            if blocks is None:
                blocks = _BLOCK_FIELDS[kind] = tuple(
                    name for name in kind._fields if name in _BLOCKS
                )
            for name in blocks:
                statements.extend(getattr(node, name))
        setattr(tree, _IMPORTS_CACHE, found)
    return found


def unquoted(annotation: ast.expr) -> ast.expr | None:
    """A string annotation (a forward reference) parsed into its expression; ``None`` when the
    string is not an expression. Any other annotation comes back as it is."""
    if isinstance(annotation, ast.Constant) and isinstance(annotation.value, str):
        try:
            return ast.parse(annotation.value, mode="eval").body
        except SyntaxError:
            return None
    return annotation


# -- LibCST side -----------------------------------------------------------------------


def cst_param_function(metadata: cst.MetadataDependent, call: cst.Call) -> str | None:
    """``Depends`` when ``call`` calls FastAPI's Depends (under any alias), else ``None``."""
    for name in metadata.get_metadata(QualifiedNameProvider, call.func, set()):
        if name.source is QualifiedNameSource.IMPORT:
            found = param_function(name.name)
            if found:
                return found
    return None
