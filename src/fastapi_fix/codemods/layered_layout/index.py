"""What the planner knows of a module: its top-level statements, what each one binds and
uses (LibCST scopes, so string annotations and nested scopes count), and where each
import points, relative imports resolved.
"""

from __future__ import annotations

import bisect
import enum
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property

import libcst as cst
from libcst.helpers import get_full_name_for_node
from libcst.metadata import (
    CodeRange,
    GlobalScope,
    ImportAssignment,
    MetadataWrapper,
    ParentNodeProvider,
    PositionProvider,
    ScopeProvider,
)

from fastapi_fix.codemods._build import BodyStatement
from fastapi_fix.engine.codemod import SourceFile
from fastapi_fix.project.fastapi import resolve_relative


class Kind(str, enum.Enum):
    DOCSTRING = "docstring"
    FUTURE = "future"
    IMPORT = "import"
    GUARDED_IMPORT = "guarded-import"  # ``if TYPE_CHECKING:`` holding only imports
    DEF = "def"
    CLASS = "class"
    ASSIGN = "assign"
    OTHER = "other"  # anything else: a side effect, it stays where it is


IMPORT_KINDS = (Kind.FUTURE, Kind.IMPORT, Kind.GUARDED_IMPORT)


@dataclass(frozen=True)
class ImportedName:
    """One name bound by an import statement."""

    local: str  # the bound name: "crud", "np", and "a" for ``import a.b``
    module: str  # the absolute module the statement names
    name: str | None  # the attribute imported from it; None for ``import module``
    level: int = 0  # leading dots of a relative import
    dotted: bool = False  # ``import a.b.c`` without ``as``: binds "a", reaches "a.b.c"

    @property
    def origin(self) -> str:
        return f"{self.module}.{self.name}" if self.name else self.module


@dataclass
class Statement:
    """One top-level statement (a whole ``SimpleStatementLine`` or compound statement)."""

    index: int
    node: BodyStatement
    kind: Kind
    names: tuple[str, ...]
    first_line: int
    last_line: int
    # global name -> True when some use runs code, False when all are string annotations
    uses: dict[str, bool] = field(default_factory=dict)
    # global name -> how many times it is read (to pick the entity a function is about)
    use_counts: dict[str, int] = field(default_factory=dict)
    # module-valued global binding ("crud", "a.b.c") -> attributes read from it
    attribute_uses: dict[str, set[str]] = field(default_factory=dict)
    # module-valued global bindings used as a value, not through an attribute
    bare_uses: set[str] = field(default_factory=set)
    # names imported inside this statement (function-level and TYPE_CHECKING imports)
    local_imports: dict[str, ImportedName] = field(default_factory=dict)

    @property
    def key(self) -> str:
        """How the plan names this statement: its first bound name."""
        return self.names[0] if self.names else f"line {self.first_line}"

    @property
    def is_import(self) -> bool:
        return self.kind in IMPORT_KINDS


@dataclass
class ModuleInfo:
    file: SourceFile
    rel_path: str  # posix, relative to the project root
    source: bytes
    tree: cst.Module
    statements: list[Statement]
    binders: dict[str, list[int]]  # global name -> statements binding it
    imports: dict[str, ImportedName]  # top-level import bindings
    all_names: tuple[str, ...]  # __all__
    star_imports: tuple[str, ...]  # modules star-imported at top level
    relative_style: bool  # the module uses relative imports for its own package
    file_uses: tuple[int, ...]  # lines using __file__
    name_uses: tuple[int, ...]  # lines using __name__ other than the __main__ guard

    @property
    def name(self) -> str:
        return self.file.module_name

    @property
    def package(self) -> str:
        return self.file.package

    @property
    def is_package(self) -> bool:
        return self.file.is_package

    def statement_of(self, name: str) -> Statement | None:
        """The (first non-import) statement binding ``name`` at top level."""
        indices = self.binders.get(name, [])
        for index in indices:
            if not self.statements[index].is_import:
                return self.statements[index]
        return self.statements[indices[0]] if indices else None

    def defines(self, name: str) -> bool:
        """Bound by a definition, not only by an import."""
        return any(not self.statements[i].is_import for i in self.binders.get(name, []))

    def qualify(self, node: cst.BaseExpression, statement: Statement | None = None) -> str | None:
        """``Depends`` -> ``fastapi.Depends``, ``crud.get`` -> ``app.crud.get``, else None."""
        full = get_full_name_for_node(node)
        if not full:
            return None
        head, _, rest = full.partition(".")
        imported = (statement.local_imports.get(head) if statement else None) or self.imports.get(
            head
        )
        if imported is not None and not self.defines(head):
            base = head if imported.dotted else imported.origin
            return f"{base}.{rest}" if rest else base
        if head in self.binders:
            return f"{self.name}.{full}"
        return None

    @cached_property
    def all_identifiers(self) -> frozenset[str]:
        """Every identifier in the module: a new name must avoid all of them."""
        return frozenset(_identifiers(self.tree))

    def docstring(self) -> Statement | None:
        first = self.statements[0] if self.statements else None
        return first if first is not None and first.kind is Kind.DOCSTRING else None


def _identifiers(tree: cst.CSTNode) -> Iterator[str]:
    class Collector(cst.CSTVisitor):
        def __init__(self) -> None:
            self.names: list[str] = []

        def visit_Name(self, node: cst.Name) -> None:
            self.names.append(node.value)

    collector = Collector()
    tree.visit(collector)
    return iter(collector.names)


# -- reading one module ------------------------------------------------------------------


def analyse(
    file: SourceFile, rel_path: str, source: bytes, tree: cst.Module | None = None
) -> ModuleInfo:
    """Parse (if needed) and index one module."""
    tree = tree if tree is not None else cst.parse_module(source)
    wrapper = MetadataWrapper(tree, unsafe_skip_copy=True)
    scopes = wrapper.resolve(ScopeProvider)
    positions = wrapper.resolve(PositionProvider)
    parents = wrapper.resolve(ParentNodeProvider)
    statements = [
        Statement(
            index,
            node,
            _kind(index, node),
            (),
            _first_line(node, positions),
            positions[node].end.line,
        )
        for index, node in enumerate(tree.body)
    ]
    starts = [s.first_line for s in statements]

    def statement_at(node: cst.CSTNode) -> Statement | None:
        line = positions[node].start.line
        position = bisect.bisect_right(starts, line) - 1
        return statements[position] if position >= 0 else None

    global_scope = next((s for s in set(scopes.values()) if isinstance(s, GlobalScope)), None)
    imports: dict[str, ImportedName] = {}
    binders: dict[str, list[int]] = {}
    relative = False
    for statement in statements:
        for imported in _imports_in(file, statement.node):
            relative = relative or imported[1].level > 0
            if imported[0]:  # top level
                imports[imported[1].local] = imported[1]
            else:
                statement.local_imports.setdefault(imported[1].local, imported[1])
    if global_scope is not None:
        _bindings_and_uses(global_scope, statements, statement_at, parents, binders)
    for index, statement in enumerate(statements):
        statement.names = tuple(name for name, where in binders.items() if index in where)
    star = tuple(
        resolve_relative(file, _dotted(node.module), _level(node))
        for statement in statements
        if statement.kind is Kind.IMPORT
        for node in _small(statement.node)
        if isinstance(node, cst.ImportFrom) and isinstance(node.names, cst.ImportStar)
    )
    file_uses, name_uses = _dunder_uses(tree, positions)
    return ModuleInfo(
        file=file,
        rel_path=rel_path,
        source=source,
        tree=tree,
        statements=statements,
        binders=binders,
        imports=imports,
        all_names=_all_names(statements),
        star_imports=star,
        relative_style=relative,
        file_uses=file_uses,
        name_uses=name_uses,
    )


def _first_line(node: cst.BaseStatement, positions: Mapping[cst.CSTNode, CodeRange]) -> int:
    """Decorators belong to their definition (its position starts at ``def``)."""
    decorators = getattr(node, "decorators", ())
    return min([positions[node].start.line, *(positions[d].start.line for d in decorators)])


def _bindings_and_uses(
    global_scope: GlobalScope,
    statements: list[Statement],
    statement_at: Callable[[cst.CSTNode], Statement | None],
    parents: Mapping[cst.CSTNode, cst.CSTNode],
    binders: dict[str, list[int]],
) -> None:
    for assignment in global_scope.assignments:
        name = assignment.name
        bound = name.partition(".")[0]
        owner = statement_at(assignment.node) if hasattr(assignment, "node") else None
        if owner is not None and "." not in name:
            where = binders.setdefault(bound, [])
            if owner.index not in where:
                where.append(owner.index)
        module_valued = isinstance(assignment, ImportAssignment)
        for access in assignment.references:
            user = statement_at(access.node)
            if user is None:
                continue
            runtime = not isinstance(access.node, cst.SimpleString)
            user.uses[bound] = user.uses.get(bound, False) or runtime
            user.use_counts[bound] = user.use_counts.get(bound, 0) + 1
            if not module_valued:
                continue
            parent = parents.get(access.node)
            if isinstance(parent, cst.Attribute) and parent.value is access.node:
                user.attribute_uses.setdefault(name, set()).add(parent.attr.value)
            else:
                user.bare_uses.add(name)
    for where in binders.values():
        where.sort()


def _small(node: cst.CSTNode) -> list[cst.BaseSmallStatement]:
    return list(node.body) if isinstance(node, cst.SimpleStatementLine) else []


def _dotted(node: cst.BaseExpression | None) -> str | None:
    return get_full_name_for_node(node) if node is not None else None


def _level(node: cst.ImportFrom) -> int:
    return len(node.relative)


def _imports_in(
    file: SourceFile, statement: cst.BaseStatement
) -> Iterator[tuple[bool, ImportedName]]:
    """(at top level?, name) for every import in a top-level statement, at any depth."""
    top = set(_small(statement))
    found: list[tuple[bool, ImportedName]] = []

    class Finder(cst.CSTVisitor):
        def visit_Import(self, node: cst.Import) -> None:
            for alias in node.names:
                dotted = _dotted(alias.name) or ""
                if alias.asname is not None:
                    local = _dotted(alias.asname.name) or dotted
                    found.append((node in top, ImportedName(local, dotted, None)))
                else:
                    found.append(
                        (
                            node in top,
                            ImportedName(
                                dotted.partition(".")[0], dotted, None, dotted="." in dotted
                            ),
                        )
                    )

        def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
            if isinstance(node.names, cst.ImportStar):
                return
            module = resolve_relative(file, _dotted(node.module), _level(node))
            for alias in node.names:
                name = _dotted(alias.name) or ""
                local = _dotted(alias.asname.name) if alias.asname is not None else name
                found.append((node in top, ImportedName(local or name, module, name, _level(node))))

    statement.visit(Finder())
    return iter(found)


def _kind(index: int, node: cst.BaseStatement) -> Kind:
    if isinstance(node, cst.FunctionDef):
        return Kind.DEF
    if isinstance(node, cst.ClassDef):
        return Kind.CLASS
    if isinstance(node, cst.If) and _is_type_checking_imports(node):
        return Kind.GUARDED_IMPORT
    small = _small(node)
    if not small:
        return Kind.OTHER
    if (
        index == 0
        and len(small) == 1
        and isinstance(small[0], cst.Expr)
        and isinstance(small[0].value, (cst.SimpleString, cst.ConcatenatedString))
    ):
        return Kind.DOCSTRING
    if all(isinstance(s, cst.ImportFrom) and _dotted(s.module) == "__future__" for s in small):
        return Kind.FUTURE
    if all(isinstance(s, (cst.Import, cst.ImportFrom)) for s in small):
        return Kind.IMPORT
    if all(_is_plain_assignment(s) for s in small):
        return Kind.ASSIGN
    return Kind.OTHER


def _is_plain_assignment(node: cst.BaseSmallStatement) -> bool:
    """``x = ...`` / ``x: T = ...`` to names only: no attribute or item assignment."""
    if isinstance(node, cst.Assign):
        return all(_names_only(target.target) for target in node.targets)
    if isinstance(node, cst.AnnAssign):
        return isinstance(node.target, cst.Name)
    return False


def _names_only(target: cst.BaseExpression) -> bool:
    if isinstance(target, cst.Name):
        return True
    if isinstance(target, (cst.Tuple, cst.List)):
        return all(_names_only(element.value) for element in target.elements)
    if isinstance(target, cst.StarredElement):
        return _names_only(target.value)
    return False


def is_type_checking_test(test: cst.BaseExpression) -> bool:
    return get_full_name_for_node(test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING")


def _is_type_checking_imports(node: cst.If) -> bool:
    if node.orelse is not None or not is_type_checking_test(node.test):
        return False
    body = node.body.body if isinstance(node.body, cst.IndentedBlock) else ()
    return bool(body) and all(
        isinstance(line, cst.SimpleStatementLine)
        and all(isinstance(s, (cst.Import, cst.ImportFrom, cst.Pass)) for s in line.body)
        for line in body
    )


def _all_names(statements: list[Statement]) -> tuple[str, ...]:
    for statement in statements:
        for small in _small(statement.node):
            if (
                isinstance(small, cst.Assign)
                and any(
                    isinstance(t.target, cst.Name) and t.target.value == "__all__"
                    for t in small.targets
                )
                and isinstance(small.value, (cst.List, cst.Tuple))
            ):
                return tuple(
                    element.value.evaluated_value
                    for element in small.value.elements
                    if isinstance(element.value, cst.SimpleString)
                    and isinstance(element.value.evaluated_value, str)
                )
    return ()


def _dunder_uses(
    tree: cst.Module, positions: Mapping[cst.CSTNode, CodeRange]
) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Lines reading ``__file__``, and ``__name__`` outside ``if __name__ == "__main__"``."""
    file_lines: list[int] = []
    name_lines: list[int] = []

    class Finder(cst.CSTVisitor):
        def __init__(self) -> None:
            self.main_guard = 0

        def visit_If(self, node: cst.If) -> None:
            if _is_main_guard(node.test):
                self.main_guard += 1

        def leave_If(self, node: cst.If) -> None:
            if _is_main_guard(node.test):
                self.main_guard -= 1

        def visit_Name(self, node: cst.Name) -> None:
            if node.value == "__file__":
                file_lines.append(positions[node].start.line)
            elif node.value == "__name__" and not self.main_guard:
                name_lines.append(positions[node].start.line)

    tree.visit(Finder())
    return tuple(sorted(set(file_lines))), tuple(sorted(set(name_lines)))


def _is_main_guard(test: cst.BaseExpression) -> bool:
    return (
        isinstance(test, cst.Comparison)
        and isinstance(test.left, cst.Name)
        and test.left.value == "__name__"
        and len(test.comparisons) == 1
        and isinstance(test.comparisons[0].comparator, cst.SimpleString)
        and test.comparisons[0].comparator.evaluated_value == "__main__"
    )


def has_main_guard(module: ModuleInfo) -> bool:
    return any(
        isinstance(s.node, cst.If) and _is_main_guard(s.node.test) for s in module.statements
    )
