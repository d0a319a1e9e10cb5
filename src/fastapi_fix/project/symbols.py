"""The symbols every module's facts are written in, and the ``ast`` walk that writes them
(runs in workers, one module at a time).

Nothing here knows other modules: every name is written down *symbolically*, as a small
tuple the project's `resolver` resolves later, when every module is known:

- ``("ref", "app.crud.get_user")``: the object a qualified name denotes (a module, a
  function, a class, a module-level instance, or something outside the project);
- ``("near", "users_service.main", "database.get_db")``: a name imported absolutely, which
  means the importing file's own folder first when that folder is not a package
  (``uvicorn main:app`` run from ``users_service/``);
- ``("funckey", id)`` / ``("classkey", id)``: a function or class of this module;
- ``("inst", sym)``: an instance of the class ``sym`` (from an annotation);
- ``("call", sym)``, ``("attr", sym, name)``, ``("item", sym)``, ``("div", sym)``: the
  result of calling, reading an attribute of, subscripting or ``/``-joining ``sym``;
- ``("dep", sym)``: the value ``Depends(sym)`` provides;
- ``("either", a, b)``: ``a`` if it resolves, else ``b`` (``db: Session = Depends(get_db)``);
- ``("param", function id, position, name)``: an unannotated parameter, typed by what the
  project's calls of that function pass to it;
- ``("annotated", type, dep)``: an ``Annotated[...]`` alias such as ``SessionDep``.

Local variables are replaced by what was assigned to them (first binding wins), so a
symbol never depends on the scope it came from.

`SymbolWalker` records what every consumer needs: module-level bindings, star imports and a
literal ``__all__``; classes (bases, methods, attributes); functions (decorators, calls,
returns, yields). A codemod that needs more subclasses it (async-to-sync records awaits,
event-loop uses, shared-state writes and the uses FastAPI makes of functions).
"""

from __future__ import annotations

import ast
import builtins
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Generic, Literal, NamedTuple, Optional, Protocol, TypeVar

from fastapi_fix.engine.codemod import SourceFile
from fastapi_fix.project.fastapi import (
    DEPENDENCY_FUNCTIONS,
    ImportTable,
    import_statements,
    param_function,
    resolve_relative,
    unquoted,
)

# The symbols of the module docstring: one tuple shape per kind, told apart by the first item
# (``symbol[0] == "ref"`` narrows a Sym to a Ref). Plain tuples: many per file, pickled.
Ref = tuple[Literal["ref"], str]
Near = tuple[Literal["near"], str, str]  # (kind, importing module, dotted name)
Key = tuple[Literal["funckey", "classkey"], str]  # (kind, function or class id)
Of = tuple[
    Literal["inst", "call", "item", "div", "dep", "managed", "entersas", "yieldsfrom", "super"],
    "Sym",
]
Enter = tuple[Literal["enter"], "Sym", bool]  # (kind, the context manager, ``async with``)
Attr = tuple[Literal["attr"], "Sym", str]
# ``either``: the first if it resolves, else the second; ``annotated``: (type, dependency).
Either = tuple[Literal["either", "annotated"], Optional["Sym"], Optional["Sym"]]
Param = tuple[Literal["param"], str, int | None, str]  # (kind, function id, position, name)
Sym = Ref | Near | Key | Of | Attr | Either | Param | Enter

# ``contextmanager(get_session)``: a generator made a context manager (``("managed", g)``).
CONTEXT_MANAGER_DECORATORS = frozenset(
    {"contextlib.contextmanager", "contextlib.asynccontextmanager"}
)
# ``with closing(x) as y``: ``y`` is ``x`` (``("entersas", x)``).
ENTERS_AS_ARGUMENT = frozenset({"contextlib.nullcontext", "contextlib.closing"})
_WRAPPED_KEYWORD = {  # the keyword of the argument each wraps
    "contextlib.contextmanager": "func",
    "contextlib.asynccontextmanager": "func",
    "contextlib.closing": "thing",
    "contextlib.nullcontext": "enter_result",
}

ANNOTATED = frozenset({"typing.Annotated", "typing_extensions.Annotated"})
OPTIONAL = frozenset({"typing.Optional", "typing.Union", "typing_extensions.Optional"})
TYPE_ALIAS = frozenset({"typing.TypeAlias", "typing_extensions.TypeAlias"})
# ``-> Generator[Session, None, None]``: a generator dependency provides a Session.
ITERATOR_TYPES = frozenset(
    f"{module}.{name}"
    for module in ("typing", "typing_extensions", "collections.abc")
    for name in (
        "Generator",
        "Iterator",
        "Iterable",
        "AsyncGenerator",
        "AsyncIterator",
        "AsyncIterable",
    )
)
_BUILTINS = frozenset(dir(builtins))
_STDLIB = frozenset(getattr(sys, "stdlib_module_names", ()))  # Python 3.10+; 3.9 follows all
_TEXT_LIMIT = 60
# The node types ``SymbolWalker._record`` looks at; the walk only passes through the others.
_RECORDED = frozenset(
    {
        ast.FunctionDef,
        ast.AsyncFunctionDef,
        ast.ClassDef,
        ast.Lambda,
        ast.Constant,
        ast.ImportFrom,
        ast.Await,
        ast.AsyncFor,
        ast.AsyncWith,
        ast.comprehension,
        ast.Yield,
        ast.YieldFrom,
        ast.Return,
        ast.Call,
        ast.Name,
        ast.Attribute,
        ast.Subscript,
        ast.Assign,
        ast.AugAssign,
        ast.AnnAssign,
        ast.Delete,
    }
)
# Leaves with nothing to record (``Load``, ``+``, literals) and lambdas, whose bodies are not
# the enclosing function's: a third of all nodes, not worth a call each.
_INERT = frozenset(
    {
        ast.Constant,
        ast.Lambda,
        ast.alias,
        *(
            kind
            for base in (ast.expr_context, ast.operator, ast.boolop, ast.unaryop, ast.cmpop)
            for kind in base.__subclasses__()
        ),
    }
)

# Fields that hold no node worth a visit: names, numbers and flags, inert contexts and operators.
_UNVISITED_FIELDS = frozenset(
    {
        "id",
        "attr",
        "arg",
        "name",
        "module",
        "level",
        "is_async",
        "conversion",
        "simple",
        "kind",
        "type_comment",
        "ctx",
        "op",
        "ops",
    }
)
_VISITED_FIELDS: dict[
    type, tuple[str, ...]
] = {}  # node type -> its fields not in _UNVISITED_FIELDS


class CallSite(NamedTuple):  # a named tuple: many per file, pickled to the main process
    line: int
    col: int  # UTF-8 byte offset, as ast gives it
    text: str  # the callee as written, for messages
    callee: Sym | None
    awaited: bool = False
    # The call it is an argument of (``asyncio.create_task(handler())``), as written.
    argument_of: str | None = None
    name: str = ""  # the callee's last name: ``get_user`` of ``crud.get_user``
    # What the call passes, so an unannotated parameter can take its callers' types.
    args: tuple[Sym | None, ...] = ()
    keywords: tuple[tuple[str, Sym | None], ...] = ()


class Decorator(NamedTuple):
    text: str
    target: Sym | None  # the decorator, or the callee of a decorator call


@dataclass
class FunctionFacts:
    id: str  # key, plus "#n" for the n-th redefinition in the module
    key: str  # module + qualified name, as ``__qualname__`` spells it
    qualname: str
    ordinal: int
    name: str
    line: int
    col: int
    is_async: bool
    class_id: str | None = None
    # Arguments a caller passes start at this parameter (1 past ``self``/``cls``).
    first_argument: int = 0
    decorators: list[Decorator] = field(default_factory=list)
    calls: list[CallSite] = field(default_factory=list)
    generator: bool = False
    returns: Sym | None = None  # return annotation
    yields_annotation: Sym | None = None  # T of ``-> Iterator[T]``
    yielded: list[Sym] = field(default_factory=list)
    returned: list[Sym] = field(default_factory=list)


F = TypeVar("F", bound=FunctionFacts)


@dataclass
class ClassFacts:
    id: str
    bases: list[Sym] = field(default_factory=list)
    methods: dict[str, str] = field(default_factory=dict)  # name -> function id
    attributes: dict[str, Sym] = field(default_factory=dict)


@dataclass
class ModuleFacts(Generic[F]):
    module: str
    display_path: str
    symbols: dict[str, Sym] = field(default_factory=dict)
    star_imports: list[str] = field(default_factory=list)
    # A literal ``__all__`` (what ``from module import *`` takes); None when there is none
    # or it is not a literal (then every public name is taken).
    all_names: tuple[str, ...] | None = None
    functions: list[F] = field(default_factory=list)
    classes: list[ClassFacts] = field(default_factory=list)


def text_of(node: ast.AST) -> str:
    text = _dotted(node) or ast.unparse(node)
    return text if len(text) <= _TEXT_LIMIT else text[: _TEXT_LIMIT - 1] + "…"


def _dotted(node: ast.AST) -> str | None:
    """``crud.get_user`` as ``ast.unparse`` writes it, without its cost (most callees)."""
    parts: list[str] = []
    while type(node) is ast.Attribute:
        parts.append(node.attr)
        node = node.value
    if type(node) is not ast.Name:
        return None
    parts.append(node.id)
    return ".".join(reversed(parts))


def ref_name(symbol: Sym | None) -> str | None:
    if symbol and symbol[0] == "ref":
        return symbol[1]
    return symbol[2] if symbol and symbol[0] == "near" else None


class _Globals(Protocol):
    def global_symbol(self, name: str) -> Sym | None: ...


class Scope:
    """The names of one function body (or of the module, when ``parent`` is None)."""

    def __init__(self, gatherer: _Globals, parent: Scope | None, prefix: str) -> None:
        self.gatherer = gatherer
        self.parent = parent
        self.prefix = prefix  # qualname prefix of what is defined here ("f.<locals>.")
        self.types: dict[str, Sym | None] = {}
        self.method_of: str | None = None  # in a method's body: its class id (``super()``)

    def bind(self, name: str, symbol: Sym | None) -> None:
        existing = self.types.get(name)
        if existing is None:  # the first binding with a type wins...
            self.types[name] = symbol
        elif existing[0] == "param" and symbol is not None:  # ...over what callers pass
            self.types[name] = ("either", symbol, existing)

    def lookup(self, name: str) -> Sym | None:
        scope: Scope | None = self
        while scope is not None and scope.parent is not None:
            if name in scope.types:
                return scope.types[name]
            scope = scope.parent
        return self.gatherer.global_symbol(name)


class SymbolWalker(Generic[F]):
    """One module's walk: subclasses say which facts they fill (`function_facts_type`,
    `module_facts_type`: subclasses of `FunctionFacts` and `ModuleFacts`) and may record more
    (`_record`, `_record_uses`, `_function_started`)."""

    function_facts_type: type[F]
    module_facts_type: type[ModuleFacts[F]]
    facts: ModuleFacts[F]

    def __init__(self, file: SourceFile, tree: ast.Module, outline: bool = False) -> None:
        # An outline leaves function bodies out: names, classes and signatures only.
        self.outline = outline
        self.file = file
        self.tree = tree
        self.module = file.module_name
        self.imports = ImportTable(file, tree)
        self.facts = self.module_facts_type(self.module, self.file.display_path)
        self.globals: set[str] = set()
        self.global_symbols: dict[str, Sym | None] = {}
        self.seen_keys: dict[str, int] = {}
        self.argument_of: dict[int, str] = {}  # id(call node) -> outer call text
        self.awaited_calls: set[int] = set()
        self.absolute_imports = _absolute_imports(tree)
        # Names read here that are not plain values: called, decorating, registered with FastAPI.
        self.not_values: set[int] = set()
        self.chain_parts: set[int] = set()  # ``crud`` of ``crud.get_user``
        self.self_names: dict[str, str] = {}  # method id -> its ``self`` parameter
        self.symbols: dict[Sym, Sym] = {}

    # -- names -------------------------------------------------------------------------

    def qualify(self, name: str) -> str:
        return f"{self.module}.{name}" if self.module else name

    def global_symbol(self, name: str) -> Sym | None:
        if name not in self.global_symbols:  # fixed once ``run`` has found the module's names
            self.global_symbols[name] = self._global_symbol(name)
        return self.global_symbols[name]

    def _global_symbol(self, name: str) -> Sym | None:
        if name in self.globals:
            return ("ref", self.qualify(name))
        if name in self.imports.names:
            return self._import_symbol(name)
        if name in _BUILTINS:
            return ("ref", f"builtins.{name}")
        return None

    def _import_symbol(self, name: str) -> Sym:
        dotted = self.imports.names[name]
        if self.absolute_imports.get(name) == dotted and dotted.partition(".")[0] not in _STDLIB:
            return ("near", self.module, dotted)
        return ("ref", dotted)

    def sym(self, expr: ast.expr, scope: Scope) -> Sym | None:
        symbol = self._symbol(expr, scope)
        # One object per distinct symbol, so that pickling the facts writes each once.
        return None if symbol is None else self.symbols.setdefault(symbol, symbol)

    def _symbol(self, expr: ast.expr, scope: Scope) -> Sym | None:
        if isinstance(expr, ast.Name):
            return scope.lookup(expr.id)
        if isinstance(expr, ast.Attribute):
            base = self.sym(expr.value, scope)
            if base is None:
                return None
            if base[0] == "ref":
                return ("ref", f"{base[1]}.{expr.attr}")
            if base[0] == "near":
                return ("near", base[1], f"{base[2]}.{expr.attr}")
            return ("attr", base, expr.attr)
        if isinstance(expr, ast.Call):
            callee = self.sym(expr.func, scope)
            wrapper = ref_name(callee)
            if wrapper == "builtins.super":  # ``super()`` in a method, ``super(C, self)``
                if expr.args:
                    owner = self.sym(expr.args[0], scope)
                    return ("super", owner) if owner else None
                return ("super", ("classkey", scope.method_of)) if scope.method_of else None
            if wrapper in _WRAPPED_KEYWORD:
                wrapped = call_argument(expr, 0, _WRAPPED_KEYWORD[wrapper])
                wrapped_symbol = self.sym(wrapped, scope) if wrapped is not None else None
                if wrapped_symbol is None:
                    return None
                kind: Literal["managed", "entersas"] = (
                    "managed" if wrapper in CONTEXT_MANAGER_DECORATORS else "entersas"
                )
                return (kind, wrapped_symbol)
            return ("call", callee) if callee else None
        if isinstance(expr, ast.Subscript):
            if ref_name(self.sym(expr.value, scope)) in ANNOTATED:
                return self._annotated_alias(expr, scope)
            base = self.sym(expr.value, scope)
            return ("item", base) if base else None
        if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Div):
            left = self.sym(expr.left, scope)
            return ("div", left) if left else None
        if isinstance(expr, ast.NamedExpr):
            return self.sym(expr.value, scope)
        return None

    def annotation(self, expr: ast.expr | None, scope: Scope) -> Sym | None:
        """The type an annotation declares, as ``("inst", class)``, Annotated unwrapped."""
        if expr is None:
            return None
        if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
            parsed = unquoted(expr)
            return None if parsed is None else self.annotation(parsed, scope)
        if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.BitOr):
            left_is_none = isinstance(expr.left, ast.Constant) and expr.left.value is None
            return self.annotation(expr.right if left_is_none else expr.left, scope)
        if isinstance(expr, ast.Subscript):
            outer = ref_name(self.sym(expr.value, scope))
            args = subscript_args(expr)
            if outer in ANNOTATED and args:
                declared = self.annotation(args[0], scope)
                dependency = self._dependency_in(args[1:], scope)
                return ("either", declared, dependency) if dependency else declared
            if outer in OPTIONAL:
                real = [a for a in args if not (isinstance(a, ast.Constant) and a.value is None)]
                return self.annotation(real[0], scope) if real else None
            return self.annotation(expr.value, scope)
        if isinstance(expr, (ast.Name, ast.Attribute)):
            target = self.sym(expr, scope)
            return ("inst", target) if target else None
        return None

    def iterated(self, expr: ast.expr | None, scope: Scope) -> Sym | None:
        """``T`` of a ``Generator[T, ...]``/``Iterator[T]`` return annotation."""
        expr = unquoted(expr) if expr is not None else None
        if (
            isinstance(expr, ast.Subscript)
            and ref_name(self.sym(expr.value, scope)) in ITERATOR_TYPES
        ):
            args = subscript_args(expr)
            return self.annotation(args[0], scope) if args else None
        return None

    def _annotated_alias(self, expr: ast.Subscript, scope: Scope) -> Sym | None:
        args = subscript_args(expr)
        if not args:
            return None
        return ("annotated", self.annotation(args[0], scope), self._dependency_in(args[1:], scope))

    def _dependency_in(self, metadata: Iterable[ast.expr], scope: Scope) -> Sym | None:
        for item in metadata:
            target = self.dependency_target(item, scope)
            if target:
                return ("dep", target)
        return None

    def dependency_target(self, expr: ast.expr, scope: Scope) -> Sym | None:
        """``f`` of ``Depends(f)`` / ``Security(f, ...)`` / ``Depends(dependency=f)``."""
        argument = self._dependency_argument(expr, scope)
        return self.sym(argument, scope) if argument is not None else None

    def _dependency_argument(self, expr: ast.expr, scope: Scope) -> ast.expr | None:
        if not isinstance(expr, ast.Call):
            return None
        qualified = ref_name(self.sym(expr.func, scope))
        if not qualified or param_function(qualified) not in DEPENDENCY_FUNCTIONS:
            return None
        return call_argument(expr, 0, "dependency")

    # -- walking -----------------------------------------------------------------------

    def run(self) -> ModuleFacts[F]:
        self.globals = _module_bindings(self.tree.body)
        self.global_symbols.clear()
        scope = Scope(self, None, "")
        owner = self.function_facts_type(  # module-level code
            id=self.qualify("<module>"),
            key=self.qualify("<module>"),
            qualname="<module>",
            ordinal=0,
            name="<module>",
            line=1,
            col=0,
            is_async=False,
        )
        for name in self.imports.names:
            self.facts.symbols.setdefault(name, self._import_symbol(name))
        self.facts.all_names = _literal_all(self.tree.body)
        self._visit_body(self.tree.body, scope, owner, module_level=True)
        self.facts.functions.append(owner)
        return self.facts

    def _new_function(
        self,
        node: ast.FunctionDef | ast.AsyncFunctionDef,
        scope: Scope,
        class_id: str | None,
        class_prefix: str = "",
    ) -> F:
        qualname = f"{scope.prefix}{class_prefix}{node.name}"
        key = self.qualify(qualname)
        ordinal = self.seen_keys.get(key, 0)
        self.seen_keys[key] = ordinal + 1
        return self.function_facts_type(
            id=key if ordinal == 0 else f"{key}#{ordinal}",
            key=key,
            qualname=qualname,
            ordinal=ordinal,
            name=node.name,
            line=node.lineno,
            col=node.col_offset,
            is_async=isinstance(node, ast.AsyncFunctionDef),
            class_id=class_id,
        )

    def _visit_body(
        self, body: list[ast.stmt], scope: Scope, owner: F, module_level: bool = False
    ) -> None:
        for statement in body:
            if module_level:
                self._bind_module_statement(statement, scope)
            self._visit(statement, scope, owner)

    def _bind_module_statement(self, statement: ast.stmt, scope: Scope) -> None:
        """Module-level ``x = ...`` and ``x: T`` become symbols other modules can resolve."""
        if isinstance(
            statement, ast.Assign
        ):  # also ``users_router = r = APIRouter()``, ``a, b = ...``
            for target in statement.targets:
                for name, expr in assigned_pairs(target, statement.value):
                    value = self.sym(expr, scope) if expr is not None else None
                    if value is not None:
                        self.facts.symbols[name] = value
        elif isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
            declared = ref_name(self.sym(statement.annotation, scope))
            if declared in TYPE_ALIAS and statement.value is not None:
                value = self.sym(statement.value, scope)
            else:
                value = self.annotation(statement.annotation, scope) or (
                    self.sym(statement.value, scope) if statement.value else None
                )
            if value is not None:
                self.facts.symbols[statement.target.id] = value
        elif isinstance(statement, (ast.If, ast.Try)):
            for child in ast.iter_child_nodes(statement):
                if isinstance(child, ast.stmt):
                    self._bind_module_statement(child, scope)
            for handler in getattr(statement, "handlers", ()):
                for child in handler.body:
                    self._bind_module_statement(child, scope)

    def _visit(self, node: ast.AST, scope: Scope, owner: F) -> None:
        kind = type(node)
        if kind in _RECORDED and self._record(node, scope, owner):
            return
        fields = _VISITED_FIELDS.get(kind)
        if fields is None:
            fields = _VISITED_FIELDS[kind] = tuple(
                name for name in kind._fields if name not in _UNVISITED_FIELDS
            )
        for name in fields:  # ast.iter_child_nodes, without what holds nothing to record
            value = getattr(node, name, None)
            if type(value) is list:
                for child in value:
                    if isinstance(child, ast.AST) and type(child) not in _INERT:
                        self._visit(child, scope, owner)
            elif isinstance(value, ast.AST) and type(value) not in _INERT:
                self._visit(value, scope, owner)

    def _record(self, node: ast.AST, scope: Scope, owner: F) -> bool:
        """What ``node`` itself does; True when its children are not this body's (or done)."""
        if isinstance(node, (ast.Name, ast.Attribute)):  # the most frequent first
            if isinstance(node.ctx, ast.Load):
                if isinstance(node, ast.Attribute):  # ``asyncio.TimeoutError`` is one name
                    self.chain_parts.add(id(node.value))
                if id(node) not in self.chain_parts:
                    self._visit_name(node, scope, owner)
            return False
        if isinstance(node, ast.Call):
            self._visit_call(node, scope, owner)
            return False
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            self._visit_function(node, scope, owner)
            return True
        if isinstance(node, ast.ClassDef):
            self._visit_class(node, scope, owner)
            return True
        if isinstance(node, (ast.Lambda, ast.Constant)):
            return True  # a lambda's body is not this function's body
        if isinstance(node, ast.ImportFrom):
            if any(alias.name == "*" for alias in node.names):
                self.facts.star_imports.append(resolve_relative(self.file, node.module, node.level))
            return True
        if isinstance(node, ast.Await):
            if isinstance(node.value, ast.Call):
                self.awaited_calls.add(id(node.value))
        elif isinstance(node, (ast.Yield, ast.YieldFrom)):
            owner.generator = True
            if node.value is not None:
                yielded = self.sym(node.value, scope)
                if yielded and isinstance(node, ast.YieldFrom):
                    yielded = ("yieldsfrom", yielded)
                if yielded:
                    owner.yielded.append(yielded)
        elif isinstance(node, ast.Return) and node.value is not None:
            returned = self.sym(node.value, scope)
            if returned:
                owner.returned.append(returned)
        return False

    def _visit_name(self, node: ast.Name | ast.Attribute, scope: Scope, facts: F) -> None:
        """A whole name read (``crud.get_user``, ``handler``): nothing to record here."""

    def _visit_call(self, call: ast.Call, scope: Scope, owner: F) -> None:
        self.not_values.add(id(call.func))
        callee = self.sym(call.func, scope)
        text = text_of(call.func)
        name = (
            call.func.attr if isinstance(call.func, ast.Attribute) else getattr(call.func, "id", "")
        )
        positional: list[Sym | None] = []
        for argument in call.args:
            if isinstance(argument, ast.Starred):
                break  # positions after *args are unknown
            positional.append(self.sym(argument, scope))
        owner.calls.append(
            CallSite(
                call.lineno,
                call.col_offset,
                text,
                callee,
                awaited=id(call) in self.awaited_calls,
                argument_of=self.argument_of.get(id(call)),
                name=name,
                args=tuple(positional),
                keywords=tuple((k.arg, self.sym(k.value, scope)) for k in call.keywords if k.arg),
            )
        )
        for argument in [*call.args, *(k.value for k in call.keywords)]:
            if isinstance(argument, ast.Starred):
                argument = argument.value
            if isinstance(argument, ast.Call):
                self.argument_of[id(argument)] = text
        self._record_uses(call, callee, text, scope)

    def _record_uses(self, call: ast.Call, callee: Sym | None, text: str, scope: Scope) -> None:
        """What a subclass learns from a call besides the call itself."""

    def _visit_signature(
        self, node: ast.FunctionDef | ast.AsyncFunctionDef, scope: Scope, owner: F
    ) -> None:
        """Decorators, defaults and annotations run in the enclosing scope."""
        arguments = node.args
        self.not_values.update(map(id, node.decorator_list))
        parts: list[ast.AST | None] = [
            *node.decorator_list,
            *arguments.defaults,
            *arguments.kw_defaults,
            node.returns,
        ]
        parts.extend(
            argument.annotation
            for argument in [
                *arguments.posonlyargs,
                *arguments.args,
                *arguments.kwonlyargs,
                arguments.vararg,
                arguments.kwarg,
            ]
            if argument is not None
        )
        for part in parts:
            if part is not None:
                self._visit(part, scope, owner)

    def _visit_function(
        self,
        node: ast.FunctionDef | ast.AsyncFunctionDef,
        scope: Scope,
        owner: F,
        class_facts: ClassFacts | None = None,
        class_name: str = "",
    ) -> None:
        self._visit_signature(node, scope, owner)
        facts = self._new_function(
            node,
            scope,
            class_facts.id if class_facts else None,
            f"{class_name}." if class_name else "",
        )
        facts.decorators = [self._decorator(d, scope) for d in node.decorator_list]
        facts.returns = self.annotation(node.returns, scope)
        facts.yields_annotation = self.iterated(node.returns, scope)
        self._function_started(node, scope, facts)
        if class_facts is None:
            self._bind_definition(node.name, ("funckey", facts.id), scope)
        elif not _is_property_accessor(node):  # ``@users.setter`` keeps the getter as ``users``
            class_facts.methods[node.name] = facts.id
        inner = Scope(self, scope, f"{facts.qualname}.<locals>.")
        inner.method_of = class_facts.id if class_facts is not None else None
        self._bind_parameters(node, scope, inner, class_facts, facts)
        if not self.outline:
            self._bind_locals(node.body, inner)
            self._visit_body(node.body, inner, facts)
            if class_facts is not None:
                self._collect_self_attributes(node, inner, class_facts)
        self.facts.functions.append(facts)

    def _function_started(
        self, node: ast.FunctionDef | ast.AsyncFunctionDef, scope: Scope, facts: F
    ) -> None:
        """What a subclass records of a function's signature before its body is walked."""

    def _bind_definition(self, name: str, symbol: Sym, scope: Scope) -> None:
        if scope.parent is None:
            self.facts.symbols[name] = symbol  # at module level the last definition wins
        else:
            scope.bind(name, symbol)

    def _decorator(self, node: ast.expr, scope: Scope) -> Decorator:
        target = node.func if isinstance(node, ast.Call) else node
        return Decorator(text_of(node), self.sym(target, scope))

    def _bind_parameters(
        self,
        node: ast.FunctionDef | ast.AsyncFunctionDef,
        outer: Scope,
        inner: Scope,
        class_facts: ClassFacts | None,
        facts: F,
    ) -> None:
        arguments = node.args
        positional = [*arguments.posonlyargs, *arguments.args]
        defaults = parameter_defaults(arguments)
        kinds = {ref_name(self.sym(d, outer)) for d in node.decorator_list}
        for index, argument in enumerate([*positional, *arguments.kwonlyargs]):
            if (
                class_facts is not None
                and index == 0
                and "builtins.staticmethod" not in kinds
                and argument.annotation is None
            ):
                itself: Key = ("classkey", class_facts.id)
                inner.bind(
                    argument.arg, itself if "builtins.classmethod" in kinds else ("inst", itself)
                )
                facts.first_argument = 1
                self.self_names[facts.id] = argument.arg
                continue
            declared = self.annotation(argument.annotation, outer)
            default = defaults.get(argument.arg)
            provided = self.dependency_target(default, outer) if default is not None else None
            dependency: Sym | None = ("dep", provided) if provided else None
            if declared and dependency:
                inner.bind(argument.arg, ("either", declared, dependency))
            elif declared or dependency:
                inner.bind(argument.arg, declared or dependency)
            else:
                position = index if index < len(positional) else None
                inner.bind(argument.arg, ("param", facts.id, position, argument.arg))
        for star in (arguments.vararg, arguments.kwarg):
            if star is not None:
                inner.bind(star.arg, None)

    def _bind_locals(self, body: list[ast.stmt], scope: Scope) -> None:
        """What each local name holds, in source order (the first binding wins)."""
        for node in own_statements(body):
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    for name, expr in assigned_pairs(target, node.value):
                        scope.bind(name, self.sym(expr, scope) if expr is not None else None)
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                declared = self.annotation(node.annotation, scope)
                scope.bind(
                    node.target.id,
                    declared or (self.sym(node.value, scope) if node.value else None),
                )
            elif isinstance(node, (ast.With, ast.AsyncWith)):
                for item in node.items:
                    if item.optional_vars is not None:
                        for name in target_names(item.optional_vars):
                            single = isinstance(item.optional_vars, ast.Name)
                            manager = self.sym(item.context_expr, scope) if single else None
                            is_async = isinstance(node, ast.AsyncWith)
                            scope.bind(name, ("enter", manager, is_async) if manager else None)
            elif isinstance(node, (ast.For, ast.AsyncFor)):
                for name in target_names(node.target):
                    scope.bind(name, None)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                scope.types.setdefault(node.name, None)  # bound for real when visited
            elif isinstance(node, ast.ExceptHandler) and node.name:
                scope.bind(node.name, None)

    def _collect_self_attributes(
        self, node: ast.FunctionDef | ast.AsyncFunctionDef, scope: Scope, class_facts: ClassFacts
    ) -> None:
        """``self.db = db`` in a method: the class's ``db`` attribute has the type of ``db``."""
        positional = [*node.args.posonlyargs, *node.args.args]
        if not positional:
            return
        self_name = positional[0].arg
        for statement in own_statements(node.body):
            if isinstance(statement, ast.Assign):
                targets, value = statement.targets, self.sym(statement.value, scope)
            elif isinstance(statement, ast.AnnAssign):
                targets = [statement.target]
                value = self.annotation(statement.annotation, scope) or (
                    self.sym(statement.value, scope) if statement.value else None
                )
            else:
                continue
            for target in targets:
                if (
                    isinstance(target, ast.Attribute)
                    and isinstance(target.value, ast.Name)
                    and target.value.id == self_name
                    and value is not None
                ):
                    class_facts.attributes.setdefault(target.attr, value)

    def _visit_class(
        self, node: ast.ClassDef, scope: Scope, owner: F, outer_class: str = ""
    ) -> None:
        self.not_values.update(map(id, node.decorator_list))
        for part in [*node.decorator_list, *node.bases, *(k.value for k in node.keywords)]:
            self._visit(part, scope, owner)
        relative = f"{outer_class}{node.name}"  # Outer.Inner for a class in a class
        class_facts = ClassFacts(self.qualify(f"{scope.prefix}{relative}"))
        for base in node.bases:
            target = base.value if isinstance(base, ast.Subscript) else base  # CRUDBase[User]
            symbol = self.sym(target, scope)
            if symbol:
                class_facts.bases.append(symbol)
        if not outer_class:
            self._bind_definition(node.name, ("classkey", class_facts.id), scope)
        for statement in node.body:
            if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
                self._visit_function(statement, scope, owner, class_facts, relative)
                continue
            if isinstance(statement, ast.ClassDef):
                self._visit_class(statement, scope, owner, f"{relative}.")
                continue
            if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
                declared = self.annotation(statement.annotation, scope)
                if declared:
                    class_facts.attributes[statement.target.id] = declared
            elif isinstance(statement, ast.Assign):
                for target in statement.targets:
                    for name, expr in assigned_pairs(target, statement.value):
                        value = self.sym(expr, scope) if expr is not None else None
                        if value is not None:
                            class_facts.attributes.setdefault(name, value)
            self._visit(statement, scope, owner)
        self.facts.classes.append(class_facts)


def subscript_args(expr: ast.Subscript) -> list[ast.expr]:
    inner = expr.slice
    return list(inner.elts) if isinstance(inner, ast.Tuple) else [inner]


def call_argument(call: ast.Call, position: int, keyword: str) -> ast.expr | None:
    for item in call.keywords:
        if item.arg == keyword:
            return item.value
    if len(call.args) > position and not isinstance(call.args[position], ast.Starred):
        return call.args[position]
    return None


def _absolute_imports(tree: ast.Module) -> dict[str, str]:
    """Local name -> dotted name, for what ``import x`` / ``from x import y`` bind."""
    found: dict[str, str] = {}
    for node in import_statements(tree):  # found once for ImportTable, cached
        if isinstance(node, ast.Import):
            for alias in node.names:
                local = alias.asname or alias.name.partition(".")[0]
                found[local] = alias.name if alias.asname else local
        elif node.level == 0 and node.module:
            for alias in node.names:
                found[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return found


def assigned_pairs(target: ast.expr, value: ast.expr | None) -> list[tuple[str, ast.expr | None]]:
    """(name, the expression it gets) for each name an assignment target binds, None where
    that is unknown: ``a, b = X, Y`` pairs them up; ``obj.attr``/``obj[k]`` bind no name."""
    if isinstance(target, ast.Name):
        return [(target.id, value)]
    if isinstance(target, ast.Starred):
        return assigned_pairs(target.value, None)
    if isinstance(target, (ast.Tuple, ast.List)):
        values: list[ast.expr | None] = [None] * len(target.elts)
        if (
            isinstance(value, (ast.Tuple, ast.List))
            and len(value.elts) == len(target.elts)
            and not any(isinstance(e, ast.Starred) for e in [*target.elts, *value.elts])
        ):
            values = list(value.elts)
        return [
            pair
            for element, item in zip(target.elts, values, strict=False)
            for pair in assigned_pairs(element, item)
        ]
    return []


def _is_property_accessor(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    return any(
        isinstance(d, ast.Attribute)
        and d.attr in ("setter", "deleter")
        and isinstance(d.value, ast.Name)
        and d.value.id == node.name
        for d in node.decorator_list
    )


def target_names(target: ast.expr) -> list[str]:
    return [n.id for n in ast.walk(target) if isinstance(n, ast.Name)]


def own_statements(body: list[ast.stmt]) -> Iterable[ast.AST]:
    """The statements of a body (and its except handlers) in source order, through ``if``,
    ``for``, ``with``, ``try`` and ``match`` blocks but not into nested functions or classes."""
    stack: list[ast.AST] = list(reversed(body))
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        blocks = _BLOCK_FIELDS.get(type(node))
        if blocks is None:
            blocks = _BLOCK_FIELDS[type(node)] = tuple(
                name for name in _BLOCKS if name in node._fields
            )
        if blocks:
            children = [child for name in blocks for child in getattr(node, name, None) or ()]
            stack.extend(reversed(children))


_BLOCKS = ("body", "handlers", "orelse", "finalbody", "cases")
_BLOCK_FIELDS: dict[type, tuple[str, ...]] = {}  # node type -> which of _BLOCKS it has


def _module_bindings(body: list[ast.stmt]) -> set[str]:
    """Names that module-level statements bind (imports aside)."""
    names: set[str] = set()
    for node in own_statements(body):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                names.update(name for name, _ in assigned_pairs(target, None))
        elif isinstance(node, (ast.AnnAssign, ast.AugAssign)) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, (ast.With, ast.For)):
            targets: list[ast.expr | None] = (
                [i.optional_vars for i in node.items]
                if isinstance(node, ast.With)
                else [node.target]
            )
            for bound in targets:
                if bound is not None:
                    names.update(target_names(bound))
    return names


def _literal_all(body: list[ast.stmt]) -> tuple[str, ...] | None:
    """A module's ``__all__`` when it is a list or tuple of strings (``+=`` and ``+`` of such
    literals too, as pyflakes reads it); None when there is none or it is computed."""
    names: list[str] | None = None
    for node in own_statements(body):
        value: ast.expr | None = None
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets
        ):
            names, value = [], node.value
        elif (
            isinstance(node, (ast.AugAssign, ast.AnnAssign))
            and isinstance(node.target, ast.Name)
            and node.target.id == "__all__"
        ):
            if isinstance(node, ast.AnnAssign):
                names = []
            value = node.value
        else:
            continue
        strings = _literal_strings(value)
        if strings is None or names is None:
            return None
        names.extend(strings)
    return None if names is None else tuple(names)


def _literal_strings(value: ast.expr | None) -> list[str] | None:
    if isinstance(value, ast.BinOp) and isinstance(value.op, ast.Add):
        left, right = _literal_strings(value.left), _literal_strings(value.right)
        return None if left is None or right is None else [*left, *right]
    if not isinstance(value, (ast.List, ast.Tuple)):
        return None
    strings = [
        e.value for e in value.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)
    ]
    return strings if len(strings) == len(value.elts) else None


def parameter_defaults(arguments: ast.arguments) -> dict[str, ast.expr]:
    """Each parameter with a default, by name (``def f(a, b=1, *, c=2)``: b and c)."""
    positional = [*arguments.posonlyargs, *arguments.args]
    named = [a.arg for a in positional][len(positional) - len(arguments.defaults) :]
    defaults = dict(zip(named, arguments.defaults, strict=True))
    defaults.update(
        {a.arg: d for a, d in zip(arguments.kwonlyargs, arguments.kw_defaults, strict=True) if d}
    )
    return defaults


class ModuleWalker(SymbolWalker[FunctionFacts]):
    """The walk every consumer shares, with nothing of its own."""

    function_facts_type = FunctionFacts
    module_facts_type = ModuleFacts[FunctionFacts]


def gather_symbols(
    file: SourceFile, tree: ast.Module, outline: bool = False
) -> ModuleFacts[FunctionFacts]:
    """The module's facts; with ``outline``, without what function bodies do (their calls,
    returns, yields, locals): a third of the cost, for files read only for their names."""
    return ModuleWalker(file, tree, outline).run()
