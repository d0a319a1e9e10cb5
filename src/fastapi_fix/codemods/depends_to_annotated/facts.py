"""Gather step of depends-to-annotated: what one file says, read with stdlib ``ast``.

Everything here is small, frozen and picklable: it travels from worker processes to the
index. Names are recorded as qualified names so the index can match them across modules.
"""

from __future__ import annotations

import ast
import builtins
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import NamedTuple

from fastapi_fix.engine.codemod import SourceFile
from fastapi_fix.project import symbols
from fastapi_fix.project.fastapi import (
    DEPENDENCY_FUNCTIONS,
    ImportTable,
    child_nodes,
    import_statements,
    param_function,
    resolve_relative,
    unquoted,
    walk,
)

ANNOTATED = frozenset({"typing.Annotated", "typing_extensions.Annotated"})
LITERAL = frozenset({"typing.Literal", "typing_extensions.Literal"})
GENERATOR_TYPES = frozenset(
    f"{module}.{name}"
    for module in ("typing", "typing_extensions", "collections.abc")
    for name in ("Generator", "Iterator", "AsyncGenerator", "AsyncIterator")
)
# Defaults that mean "required", like `...`.
REQUIRED_MARKERS = frozenset(
    {
        "builtins.Ellipsis",
        "pydantic.Required",
        "pydantic_core.PydanticUndefined",
        "pydantic.fields.Undefined",
        "fastapi._compat.Undefined",
    }
)
# Decorators that keep a dependency's return type what its annotation says.
TRANSPARENT_DECORATORS = frozenset({"functools.lru_cache", "functools.cache"})
BUILTIN_NAMES = frozenset(dir(builtins))
# `try: from typing import Annotated / except ImportError: from typing_extensions import ...`
EQUIVALENT = ANNOTATED


@dataclass(frozen=True)
class TypeExpr:
    """A type expression that can travel between modules: its code and what each name in it means."""

    code: str
    # Every ``Name`` in the code → the qualified name it is bound to.
    roots: tuple[tuple[str, str], ...]

    @property
    def key(self) -> str:
        """The code with each name replaced by its qualified name: equal keys, same type."""
        meaning = dict(self.roots)
        tree = ast.parse(self.code, mode="eval")
        for node in walk(tree):
            if isinstance(node, ast.Name):
                node.id = meaning[node.id]
        return ast.unparse(tree)

    @property
    def simple_name(self) -> str | None:
        """``Session`` for ``Session`` or ``orm.Session``; None for anything else."""
        tree = ast.parse(self.code, mode="eval").body
        if isinstance(tree, ast.Attribute):
            return tree.attr
        if isinstance(tree, ast.Name):
            return tree.id
        return None


ANY_TYPE = TypeExpr("Any", (("Any", "typing.Any"),))


class Binding(NamedTuple):
    """A module-level name bound when the module runs (not under ``if TYPE_CHECKING``).

    A named tuple, like `CallSite`: every file has many, and they travel between processes.
    """

    qualified: str | None  # None: bound to different things on different paths
    line: int
    # "from" (from-import), "import", or "local" (def, class, assignment)
    kind: str
    # For from-imports: (module, imported name) as RemoveImportsVisitor wants them.
    source: tuple[str, str] | None = None


@dataclass(frozen=True)
class Definition:
    """A top-level def, class, or ``name = Callee(...)`` a dependency may point to."""

    kind: str  # "function" | "class" | "instance"
    line: int
    end_line: int
    # function: its return type (generators unwrapped); class: what its ``__call__`` returns
    returns: TypeExpr | None
    instance_of: str | None = None
    ambiguous: bool = False
    # An unannotated function: what every ``return``/``yield`` of it calls (``UserManager``
    # for ``yield UserManager(db)``); the index keeps it if that is a class.
    constructs: str | None = None
    # A class: the methods its body defines (`Depends(service.method)` may share an alias).
    methods: frozenset[str] = frozenset()


@dataclass(frozen=True)
class ExistingAlias:
    """``SessionDep = Annotated[Session, Depends(get_db)]`` at module level."""

    name: str
    line: int
    function: str
    dependency: str
    type_key: str
    extras_key: str


@dataclass(frozen=True)
class FastapiDefault:
    """A parameter default that calls one of FastAPI's parameter functions."""

    function: str  # Depends, Query, ...
    func_code: str  # the callee as written, to check that LibCST sees the same call
    # "move": the default leaves the call; "required": `...` leaves it; "whole": the call stays whole
    mode: str
    leave: str | None  # why the parameter must stay as it is
    annotation: TypeExpr | None  # None when unannotated or not portable
    annotated: bool
    extend: bool  # the annotation already is Annotated[...]
    dependency: str | None = None  # qualified name of the dependency (Depends/Security)
    dependency_call: str | None = None  # Depends(Checker(...)): qualified name of Checker
    # (key, code) of the other arguments of Depends/Security; None unless all are literals
    extras: tuple[str, str] | None = None
    scopes: tuple[str, ...] = ()  # Security(..., scopes=[...]), for alias names


@dataclass(frozen=True)
class ParamFacts:
    name: str
    line: int
    kind: str  # "posonly" | "regular" | "vararg" | "kwonly" | "kwarg"
    has_default: bool
    fastapi: FastapiDefault | None = None
    # FastAPI parameters: how often each name occurs in the annotation and the default
    # (as names, or as words of strings in the annotation), for `FileFacts.name_uses`.
    uses: tuple[tuple[str, int], ...] = ()
    column: int = 0  # of the name, in UTF-8 bytes as `ast` counts


@dataclass(frozen=True)
class FunctionFacts:
    """A function with at least one FastAPI parameter default."""

    key: str  # qualified name inside the file + ordinal, e.g. "Items.read#0"
    name: str
    line: int
    kind: str  # "function" (module level), "method", "nested"
    qualified: str | None  # module.func or module.Class.method, when reachable by name
    offset: int  # arguments bound before the call's own: 1 for methods and classmethods
    params: tuple[ParamFacts, ...]

    @property
    def positional(self) -> tuple[ParamFacts, ...]:
        return tuple(p for p in self.params if p.kind in ("posonly", "regular"))


class CallSite(NamedTuple):
    """A call that may reach a function of the project (calls of builtins are left out).

    A named tuple: a project has tens of thousands, and all of them travel to the index.
    """

    path: str  # display path of the calling file (one shared string per file)
    line: int | None  # None: somewhere in a file this Python cannot parse
    target: str | None  # qualified name of the callee when it can be named
    name: str  # the callee's last name
    attribute: bool  # called as ``something.name(...)``
    positional: int
    starred: bool
    keywords: tuple[str, ...]
    double_star: bool

    @property
    def where(self) -> str:
        return self.path if self.line is None else f"{self.path}:{self.line}"


@dataclass(frozen=True)
class FileFacts:
    module: str
    display_path: str
    is_package: bool
    bindings: dict[str, Binding]
    identifiers: frozenset[str]
    runtime_imports: frozenset[str]  # modules a top-level import statement may load
    from_imports: frozenset[tuple[str, str]]  # (module, name) of every from-import
    # Every module an import statement anywhere names (`_imported_modules`): where a call
    # the index cannot resolve may still lead (`Project.calls_of`).
    imported_modules: frozenset[str]
    definitions: dict[str, Definition]
    aliases: tuple[ExistingAlias, ...]
    functions: tuple[FunctionFacts, ...]
    calls: tuple[CallSite, ...]
    # (line, column, parameter) of lambdas with FastAPI defaults: they cannot hold annotations.
    lambdas: tuple[tuple[int, int, str], ...] = ()
    # Names bound by a module-level from-import → how often they occur anywhere in the module
    # (as names, or as words of the strings LibCST's unused-import check reads as names:
    # annotations, subscripts, `TypeVar(...)`, `__all__`). A rewrite that removes every
    # occurrence leaves the import unused. Counted only in modules with `functions`.
    name_uses: dict[str, int] = field(default_factory=dict)
    # The module's names as every codemod writes them down, for the project's resolver.
    symbols: symbols.ModuleFacts[symbols.FunctionFacts] | None = None


def gather_facts(file: SourceFile, tree: ast.Module) -> FileFacts:
    table = ImportTable(file, tree)
    bindings, runtime_imports = _runtime_bindings(file, tree)
    names = _Names(file.module_name, bindings, table)
    # Most files gathered only say where things are defined and who calls what: in them
    # no name can mean one of FastAPI's parameter functions, so nothing calls one.
    fastapi = _may_name_fastapi(file, table)
    functions = tuple(_FunctionCollector(file, names).collect(tree)) if fastapi else ()
    # How often imported names occur matters only where signatures change (`_removable`).
    imported = (
        {name for name, binding in bindings.items() if binding.kind == "from"}
        if functions
        else set()
    )
    identifiers, uses = _identifiers(tree, imported)
    return FileFacts(
        module=file.module_name,
        display_path=file.display_path,
        is_package=file.is_package,
        bindings=bindings,
        identifiers=identifiers,
        runtime_imports=frozenset(runtime_imports),
        from_imports=frozenset(_from_imports(file, tree)),
        imported_modules=frozenset(_imported_modules(file, tree)),
        definitions=_definitions(tree, names),
        aliases=tuple(_existing_aliases(tree, names)) if fastapi else (),
        functions=functions,
        calls=tuple(_calls(file, tree, names)),
        lambdas=tuple(_lambda_params(tree, names)) if fastapi else (),
        name_uses={name: uses[name] for name in imported},
        # Function bodies only where `super()` is called (`Project._super_elsewhere`).
        symbols=symbols.gather_symbols(file, tree, outline="super" not in identifiers),
    )


def _may_name_fastapi(file: SourceFile, table: ImportTable) -> bool:
    """Whether any name of the file can resolve into FastAPI: only through an import of it,
    or inside FastAPI's own package (its own names, its relative imports)."""
    return any(in_fastapi(qualified) for qualified in (file.module_name, *table.names.values()))


def in_fastapi(qualified: str) -> bool:
    """Whether a dotted name is FastAPI's package or inside it."""
    return qualified == "fastapi" or qualified.startswith("fastapi.")


def _lambda_params(tree: ast.Module, names: _Names) -> Iterator[tuple[int, int, str]]:
    for node in walk(tree):
        if isinstance(node, ast.Lambda):
            args = node.args
            positional = [*args.posonlyargs, *args.args]
            pairs = [
                *zip(
                    positional[len(positional) - len(args.defaults) :], args.defaults, strict=True
                ),
                *zip(args.kwonlyargs, args.kw_defaults, strict=True),
            ]
            for arg, default in pairs:
                if _fastapi_function(default, names):
                    yield arg.lineno, arg.col_offset, arg.arg


# -- names -----------------------------------------------------------------------------


class _Names:
    """Resolves names of one module to qualified names."""

    def __init__(self, module: str, bindings: dict[str, Binding], table: ImportTable) -> None:
        self.module = module
        self.bindings = bindings
        self.table = table

    def qualified(self, expr: ast.expr) -> str | None:
        """Any binding: module-level first, then imports anywhere in the file."""
        parts: list[str] = []
        while isinstance(expr, ast.Attribute):
            parts.append(expr.attr)
            expr = expr.value
        if not isinstance(expr, ast.Name):
            return None
        binding = self.bindings.get(expr.id)
        root = binding.qualified if binding else self.table.names.get(expr.id)
        if root is None and expr.id in BUILTIN_NAMES:
            root = f"builtins.{expr.id}"
        return ".".join([root, *reversed(parts)]) if root else None

    def runtime_root(self, name: str) -> str | None:
        """What a name means when the module runs: a module-level binding or a builtin."""
        binding = self.bindings.get(name)
        if binding is not None:
            return binding.qualified
        return f"builtins.{name}" if name in BUILTIN_NAMES else None

    def type_expr(self, node: ast.expr | None) -> TypeExpr | None:
        """The portable form of a type, or None when it names things only this module knows."""
        if node is None:
            return None
        node = unquoted(node)
        if node is None:
            return None
        roots: dict[str, str] = {}
        for sub in _type_nodes(node, self):
            if isinstance(sub, ast.Constant) and isinstance(sub.value, str):
                return None  # a nested forward reference: only the original module can resolve it
            if isinstance(sub, ast.Name):
                qualified = self.runtime_root(sub.id)
                if qualified is None:
                    return None
                roots[sub.id] = qualified
            elif not isinstance(sub, (ast.expr, ast.expr_context, ast.operator, ast.slice)):
                return None
        return TypeExpr(ast.unparse(node), tuple(sorted(roots.items())))


def _type_nodes(node: ast.AST, names: _Names) -> Iterator[ast.AST]:
    """The nodes of a type, skipping the insides of ``Literal[...]`` (strings there are values)."""
    yield node
    if isinstance(node, ast.Subscript) and names.qualified(node.value) in LITERAL:
        yield from _type_nodes(node.value, names)
        return
    for child in child_nodes(node):
        yield from _type_nodes(child, names)


def _is_type_checking(test: ast.expr) -> bool:
    if isinstance(test, ast.Name):
        return test.id == "TYPE_CHECKING"
    return isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"


def _runtime_statements(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Module-level statements that run on import, through if/try/with blocks."""
    for stmt in body:
        yield stmt
        if isinstance(stmt, ast.If):
            if not _is_type_checking(stmt.test):
                yield from _runtime_statements(stmt.body)
            yield from _runtime_statements(stmt.orelse)
        elif isinstance(stmt, ast.Try):
            yield from _runtime_statements(stmt.body)
            for handler in stmt.handlers:
                yield from _runtime_statements(handler.body)
            yield from _runtime_statements(stmt.orelse)
            yield from _runtime_statements(stmt.finalbody)
        elif isinstance(stmt, ast.With):
            yield from _runtime_statements(stmt.body)


def _runtime_bindings(file: SourceFile, tree: ast.Module) -> tuple[dict[str, Binding], set[str]]:
    bindings: dict[str, Binding] = {}
    imports: set[str] = set()

    def bind(name: str, binding: Binding) -> None:
        known = bindings.get(name)
        if known is None:
            bindings[name] = binding
        elif (
            known.qualified != binding.qualified
            and {known.qualified, binding.qualified} - EQUIVALENT
        ):
            bindings[name] = Binding(None, known.line, known.kind)

    for stmt in _runtime_statements(tree.body):
        if isinstance(stmt, ast.Import):
            for alias in stmt.names:
                imports.add(alias.name)
                if alias.asname:
                    bind(alias.asname, Binding(alias.name, stmt.lineno, "import"))
                else:
                    top = alias.name.partition(".")[0]
                    bind(top, Binding(top, stmt.lineno, "import"))
        elif isinstance(stmt, ast.ImportFrom):
            module = resolve_relative(file, stmt.module, stmt.level)
            imports.add(module)
            for alias in stmt.names:
                if alias.name == "*":
                    continue
                imports.add(f"{module}.{alias.name}")
                qualified = f"{module}.{alias.name}" if module else alias.name
                bind(
                    alias.asname or alias.name,
                    Binding(qualified, stmt.lineno, "from", (module, alias.name)),
                )
        elif isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bind(stmt.name, Binding(f"{file.module_name}.{stmt.name}", stmt.lineno, "local"))
        elif isinstance(stmt, (ast.Assign, ast.AnnAssign)):
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            for target in targets:
                if isinstance(target, ast.Name):
                    bind(
                        target.id, Binding(f"{file.module_name}.{target.id}", stmt.lineno, "local")
                    )
    return bindings, imports


_DEFINES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
_DECLARES = (ast.Global, ast.Nonlocal)
# The node types `_identifiers` reads: one set lookup skips every other node (most of them).
_IDENTIFIER_NODES = frozenset({ast.Name, ast.Constant, ast.arg, ast.alias, *_DEFINES, *_DECLARES})


def _identifiers(tree: ast.Module, imported: set[str]) -> tuple[frozenset[str], Counter[str]]:
    """Every name the module uses or binds anywhere (a new name must avoid all of them), and
    how often each of the ``imported`` names occurs as a name or as a word of a string read
    as names (`_name_holders`)."""
    found: set[str] = set()
    uses: Counter[str] = Counter()
    strings: list[tuple[ast.Constant, str]] = []  # string constants, with their text
    # One pass over every node of the file.
    for node in walk(tree):
        if type(node) not in _IDENTIFIER_NODES:
            continue
        if isinstance(node, ast.Name):
            found.add(node.id)
            if node.id in imported:
                uses[node.id] += 1
        elif isinstance(node, ast.Constant):
            if imported and isinstance(node.value, str):
                strings.append((node, node.value))
        elif isinstance(node, _DEFINES):
            found.add(node.name)
        elif isinstance(node, ast.arg):
            found.add(node.arg)
        elif isinstance(node, ast.alias):
            found.add(node.asname or node.name.partition(".")[0])
        elif isinstance(node, _DECLARES):
            found.update(node.names)
    mentions = _mentions(strings, imported)
    if mentions:
        spans = [_span(holder) for holder in _name_holders(tree)]
        for mention, text in mentions:
            start, end = _span(mention)
            if any(first <= start and end <= last for first, last in spans):
                uses.update(word for word in _words(text) if word in imported)
    return frozenset(found), uses


def _mentions(
    strings: list[tuple[ast.Constant, str]], imported: set[str]
) -> list[tuple[ast.Constant, str]]:
    """The strings that hold one of the ``imported`` names as a word."""
    everything = "\0".join(text for _, text in strings)
    present = [name for name in imported if name in everything]  # one scan per name, usually none
    if not present:
        return []
    return [
        (node, text)
        for node, text in strings
        if any(name in text for name in present) and imported.intersection(_words(text))
    ]


WORD = re.compile(r"[^\W\d]\w*")


def _words(text: str) -> list[str]:
    """Every identifier-like word of a string: more than the names it holds, never fewer."""
    return WORD.findall(text)


def _span(node: ast.expr) -> tuple[tuple[int, int], tuple[int, int]]:
    return (node.lineno, node.col_offset), (
        node.end_lineno or node.lineno,
        node.end_col_offset or 0,
    )


def _name_holders(tree: ast.Module) -> Iterator[ast.expr]:
    """Where LibCST's unused-import check reads strings as names: annotations, subscripts,
    ``TypeVar(...)`` arguments, ``__all__``. A string is read if it lies inside one."""
    for node in walk(tree):
        if isinstance(node, ast.Subscript):
            yield node
        elif isinstance(node, ast.arg) and node.annotation is not None:
            yield node.annotation
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.returns is not None:
            yield node.returns
        elif isinstance(node, ast.AnnAssign):
            yield node.annotation
            if (
                isinstance(node.target, ast.Name)
                and node.target.id == "__all__"
                and node.value is not None
            ):
                yield node.value
        elif isinstance(node, (ast.Assign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id == "__all__" for t in targets):
                yield node.value
        elif isinstance(node, ast.Call) and _last_name(node.func) == "TypeVar":
            yield node


def _last_name(expr: ast.expr) -> str | None:
    return (
        expr.attr
        if isinstance(expr, ast.Attribute)
        else expr.id
        if isinstance(expr, ast.Name)
        else None
    )


def name_uses(annotation: ast.expr | None, rest: Iterable[ast.AST] = ()) -> Counter[str]:
    """How often each name occurs: as a name anywhere, as a word of a string in ``annotation``
    only (never more than `_identifiers` counts for the same nodes)."""
    uses: Counter[str] = Counter()
    for node in [annotation, *rest]:
        if node is None:
            continue
        for sub in walk(node):
            if isinstance(sub, ast.Name):
                uses[sub.id] += 1
            elif (
                node is annotation and isinstance(sub, ast.Constant) and isinstance(sub.value, str)
            ):
                uses.update(_words(sub.value))
    return uses


def _imported_modules(file: SourceFile, tree: ast.Module) -> Iterator[str]:
    """``import a.b`` names a.b; ``from m import n`` names m, and m.n (n may be a module)."""
    for node in import_statements(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
            continue
        module = resolve_relative(file, node.module, node.level)
        if module:
            yield module
        yield from (
            f"{module}.{alias.name}" if module else alias.name
            for alias in node.names
            if alias.name != "*"
        )


def _from_imports(file: SourceFile, tree: ast.Module) -> Iterator[tuple[str, str]]:
    for node in walk(tree):
        if isinstance(node, ast.ImportFrom):
            module = resolve_relative(file, node.module, node.level)
            for alias in node.names:
                yield module, alias.name


# -- what dependencies are -------------------------------------------------------------


def _definitions(tree: ast.Module, names: _Names) -> dict[str, Definition]:
    found: dict[str, Definition] = {}
    for stmt in tree.body:
        definition = _definition(stmt, names)
        if definition is None:
            continue
        name, value = definition
        if name in found:
            value = Definition(value.kind, value.line, value.end_line, None, ambiguous=True)
        found[name] = value
    return found


def _definition(stmt: ast.stmt, names: _Names) -> tuple[str, Definition] | None:
    end = stmt.end_lineno or stmt.lineno
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
        returns = _return_type(stmt, names)
        constructs = (
            _constructed(stmt, names) if stmt.returns is None and not stmt.decorator_list else None
        )
        return stmt.name, Definition("function", stmt.lineno, end, returns, constructs=constructs)
    if isinstance(stmt, ast.ClassDef):
        call = next(
            (
                s
                for s in stmt.body
                if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef)) and s.name == "__call__"
            ),
            None,
        )
        methods = frozenset(
            s.name for s in stmt.body if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef))
        )
        return stmt.name, Definition(
            "class", stmt.lineno, end, _return_type(call, names) if call else None, methods=methods
        )
    if (
        isinstance(stmt, ast.Assign)
        and len(stmt.targets) == 1
        and isinstance(stmt.targets[0], ast.Name)
    ):
        target, value = stmt.targets[0], stmt.value
    elif (
        isinstance(stmt, ast.AnnAssign)
        and isinstance(stmt.target, ast.Name)
        and stmt.value is not None
    ):
        target, value = stmt.target, stmt.value
    else:
        return None
    callee = names.qualified(value.func) if isinstance(value, ast.Call) else None
    return target.id, Definition("instance", stmt.lineno, end, None, instance_of=callee)


def _return_type(func: ast.FunctionDef | ast.AsyncFunctionDef, names: _Names) -> TypeExpr | None:
    if any(names.qualified(_callee(d)) not in TRANSPARENT_DECORATORS for d in func.decorator_list):
        return None  # a decorator may change what the call returns
    returns = unquoted(func.returns) if func.returns is not None else None
    if isinstance(returns, ast.Subscript) and names.qualified(returns.value) in GENERATOR_TYPES:
        returns = returns.slice.elts[0] if isinstance(returns.slice, ast.Tuple) else returns.slice
    if returns is None or (isinstance(returns, ast.Constant) and returns.value is None):
        return None
    return names.type_expr(returns)


def _constructed(func: ast.FunctionDef | ast.AsyncFunctionDef, names: _Names) -> str | None:
    """The one callee every ``return`` and ``yield`` of ``func`` hands back the result of
    (``return User(...)``, ``yield UserManager(db)``), its own nested scopes aside."""
    callees: set[str | None] = set()
    todo: list[ast.AST] = list(func.body)
    while todo:
        node = todo.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            continue
        if isinstance(node, ast.YieldFrom):
            return None
        if isinstance(node, (ast.Return, ast.Yield)):
            value = node.value
            if not isinstance(value, ast.Call):
                return None
            callees.add(names.qualified(value.func))
        todo.extend(child_nodes(node))
    return callees.pop() if len(callees) == 1 else None


def _callee(expr: ast.expr) -> ast.expr:
    return expr.func if isinstance(expr, ast.Call) else expr


def _existing_aliases(tree: ast.Module, names: _Names) -> Iterator[ExistingAlias]:
    for stmt in tree.body:
        if (
            isinstance(stmt, ast.Assign)
            and len(stmt.targets) == 1
            and isinstance(stmt.targets[0], ast.Name)
        ):
            target, value = stmt.targets[0], stmt.value
        elif (
            isinstance(stmt, ast.AnnAssign)
            and isinstance(stmt.target, ast.Name)
            and stmt.value is not None
        ):
            target, value = stmt.target, stmt.value
        else:
            continue
        if not (
            isinstance(value, ast.Subscript)
            and names.qualified(value.value) in ANNOTATED
            and isinstance(value.slice, ast.Tuple)
            and len(value.slice.elts) == 2
        ):
            continue
        type_node, call = value.slice.elts
        function = _fastapi_function(call, names)
        type_expr = names.type_expr(type_node)
        if function not in DEPENDENCY_FUNCTIONS or type_expr is None:
            continue
        assert isinstance(call, ast.Call)
        dependency, extras = _dependency_parts(call, names)
        if dependency is not None and extras is not None:
            yield ExistingAlias(
                target.id, stmt.lineno, function, dependency, type_expr.key, extras[0]
            )


# -- functions with FastAPI parameter defaults ------------------------------------------


def _fastapi_function(node: ast.expr | None, names: _Names) -> str | None:
    if not isinstance(node, ast.Call):
        return None
    qualified = names.qualified(node.func)
    return param_function(qualified) if qualified else None


def _dependency_parts(call: ast.Call, names: _Names) -> tuple[str | None, tuple[str, str] | None]:
    """The qualified dependency of Depends/Security, and its other arguments if all literal."""
    dependency = (
        call.args[0]
        if call.args
        else next((k.value for k in call.keywords if k.arg == "dependency"), None)
    )
    others = [k for k in call.keywords if k.arg != "dependency"]
    extras: tuple[str, str] | None = None
    if all(k.arg and _is_literal(k.value) for k in others):
        key = repr(sorted((k.arg or "", ast.dump(k.value)) for k in others))
        extras = (key, ", ".join(f"{k.arg}={_literal_code(k.value)}" for k in others))
    qualified = (
        names.qualified(dependency) if isinstance(dependency, (ast.Name, ast.Attribute)) else None
    )
    return qualified, extras


def _is_literal(node: ast.expr) -> bool:
    try:
        ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False
    return True


def _literal_code(node: ast.expr) -> str:
    """A literal written the way formatters write it (double quotes), for alias definitions."""
    if (
        isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and "\\" not in repr(node.value)
    ):
        text = repr(node.value)
        if text.startswith("'") and '"' not in node.value:
            return '"' + text[1:-1].replace("\\'", "'") + '"'
        return text
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        inner = ", ".join(_literal_code(e) for e in node.elts)
        if isinstance(node, ast.List):
            return f"[{inner}]"
        if isinstance(node, ast.Set):
            return f"{{{inner}}}"
        return f"({inner},)" if len(node.elts) == 1 else f"({inner})"
    if isinstance(node, ast.Dict):
        pairs = [(k, v) for k, v in zip(node.keys, node.values, strict=True) if k is not None]
        if len(pairs) == len(node.keys):  # no ``**spread`` (its key is None)
            return (
                "{" + ", ".join(f"{_literal_code(k)}: {_literal_code(v)}" for k, v in pairs) + "}"
            )
    return ast.unparse(node)


_BLOCKS = (ast.stmt, ast.excepthandler, ast.match_case)


def _statements(node: ast.AST) -> Iterator[ast.AST]:
    """The statements (and except/case clauses) directly inside ``node``, in source order.

    Functions and classes are statements, never inside expressions: skipping the
    expressions skips most of the tree.
    """
    for name in node._fields:
        value = getattr(node, name, None)
        if isinstance(value, list):
            for item in value:
                if isinstance(item, _BLOCKS):
                    yield item


class _FunctionCollector:
    def __init__(self, file: SourceFile, names: _Names) -> None:
        self.file = file
        self.names = names
        self.seen: Counter[str] = Counter()
        self.found: list[FunctionFacts] = []

    def collect(self, tree: ast.Module) -> list[FunctionFacts]:
        self._visit(tree, [], "module", self.file.module_name)
        return self.found

    def _visit(self, node: ast.AST, scope: list[str], where: str, container: str | None) -> None:
        """Source order, so the ordinals in keys match the order LibCST visits functions."""
        for child in _statements(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                self._function(child, scope, where, container)
                self._visit(child, [*scope, child.name], "function", None)
            elif isinstance(child, ast.ClassDef):
                inner = (
                    f"{container}.{child.name}"
                    if container and where in ("module", "class")
                    else None
                )
                self._visit(child, [*scope, child.name], "class", inner)
            else:
                self._visit(child, scope, where, container)

    def _function(
        self,
        func: ast.FunctionDef | ast.AsyncFunctionDef,
        scope: list[str],
        where: str,
        container: str | None,
    ) -> None:
        qualname = ".".join([*scope, func.name])
        key = f"{qualname}#{self.seen[qualname]}"
        self.seen[qualname] += 1
        params = tuple(self._params(func.args))
        if not any(p.fastapi for p in params):
            return
        decorators = {self.names.qualified(_callee(d)) for d in func.decorator_list}
        static = "builtins.staticmethod" in decorators
        kind = {"module": "function", "class": "method"}.get(where, "nested")
        qualified = f"{container}.{func.name}" if container and kind != "nested" else None
        offset = 1 if kind == "method" and not static else 0
        self.found.append(
            FunctionFacts(key, func.name, func.lineno, kind, qualified, offset, params)
        )

    def _params(self, args: ast.arguments) -> Iterator[ParamFacts]:
        positional = [*args.posonlyargs, *args.args]
        defaults: list[ast.expr | None] = [None] * (len(positional) - len(args.defaults)) + list(
            args.defaults
        )
        for index, (arg, default) in enumerate(zip(positional, defaults, strict=True)):
            kind = "posonly" if index < len(args.posonlyargs) else "regular"
            yield self._param(arg, kind, default)
        if args.vararg:
            yield ParamFacts(args.vararg.arg, args.vararg.lineno, "vararg", False)
        for arg, default in zip(args.kwonlyargs, args.kw_defaults, strict=True):
            yield self._param(arg, "kwonly", default)
        if args.kwarg:
            yield ParamFacts(args.kwarg.arg, args.kwarg.lineno, "kwarg", False)

    def _param(self, arg: ast.arg, kind: str, default: ast.expr | None) -> ParamFacts:
        function = _fastapi_function(default, self.names)
        if function is None:
            return ParamFacts(arg.arg, arg.lineno, kind, default is not None)
        assert isinstance(default, ast.Call)
        uses = tuple(sorted(name_uses(arg.annotation, [default]).items()))
        return ParamFacts(
            arg.arg,
            arg.lineno,
            kind,
            True,
            self._classify(function, default, arg, kind),
            uses,
            arg.col_offset,
        )

    def _classify(self, function: str, call: ast.Call, arg: ast.arg, kind: str) -> FastapiDefault:
        names = self.names
        annotation = arg.annotation
        extend = (
            isinstance(annotation, ast.Subscript) and names.qualified(annotation.value) in ANNOTATED
        )
        mode, leave = self._mode(function, call)
        if kind == "posonly":
            leave = "it is positional-only, and FastAPI passes every argument by keyword"
        elif (
            extend
            and isinstance(annotation, ast.Subscript)
            and isinstance(annotation.slice, ast.Tuple)
            and any(_fastapi_function(meta, names) for meta in annotation.slice.elts[1:])
        ):
            leave = "its Annotated[...] already holds a FastAPI parameter"
        elif (
            function in DEPENDENCY_FUNCTIONS
            and annotation is None
            and not (call.args or any(k.arg == "dependency" for k in call.keywords))
        ):
            leave = f"`{function}()` without an annotation takes its dependency from the annotation"
        type_node = (
            annotation.slice.elts[0]
            if extend
            and isinstance(annotation, ast.Subscript)
            and isinstance(annotation.slice, ast.Tuple)
            else annotation
        )
        facts = FastapiDefault(
            function,
            ast.unparse(call.func),
            mode,
            leave,
            names.type_expr(type_node),
            annotation is not None,
            extend,
        )
        if function not in DEPENDENCY_FUNCTIONS:
            return facts
        dependency, extras = _dependency_parts(call, names)
        inner = call.args[0] if call.args else None
        dependency_call = names.qualified(inner.func) if isinstance(inner, ast.Call) else None
        scopes = next((k.value for k in call.keywords if k.arg == "scopes"), None)
        scope_names = (
            tuple(
                e.value
                for e in scopes.elts
                if isinstance(e, ast.Constant) and isinstance(e.value, str)
            )
            if isinstance(scopes, (ast.List, ast.Tuple))
            else ()
        )
        return replace(
            facts,
            dependency=dependency,
            dependency_call=dependency_call,
            extras=extras,
            scopes=scope_names,
        )

    def _mode(self, function: str, call: ast.Call) -> tuple[str, str | None]:
        if any(isinstance(a, ast.Starred) for a in call.args) or any(
            k.arg is None for k in call.keywords
        ):
            return "whole", "its arguments are unpacked with * or **, so its default is unknown"
        if len(call.args) > 1:
            return "whole", f"`{function}` has more than one positional argument"
        if function in DEPENDENCY_FUNCTIONS:
            return "whole", None
        default = (
            call.args[0]
            if call.args
            else next((k.value for k in call.keywords if k.arg == "default"), None)
        )
        if default is None:
            return "whole", None
        if (
            isinstance(default, ast.Constant) and default.value is Ellipsis
        ) or self.names.qualified(default) in REQUIRED_MARKERS:
            return "required", None
        if function == "Path":
            return "move", "a path parameter cannot have a default value"
        return "move", None


# -- calls -----------------------------------------------------------------------------


def _calls(file: SourceFile, tree: ast.Module, names: _Names) -> Iterator[CallSite]:
    path = file.display_path
    for node in walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Name):
            name, attribute = func.id, False
        elif isinstance(func, ast.Attribute):
            name, attribute = func.attr, True
        else:
            continue
        target = names.qualified(func)
        if target is not None and target.startswith("builtins."):
            continue  # len(), isinstance(), ...: never a function of the project
        yield CallSite(
            path=path,
            line=node.lineno,
            target=target,
            name=name,
            attribute=attribute,
            positional=sum(1 for a in node.args if not isinstance(a, ast.Starred)),
            starred=any(isinstance(a, ast.Starred) for a in node.args),
            keywords=tuple(k.arg for k in node.keywords if k.arg),
            double_star=any(k.arg is None for k in node.keywords),
        )
