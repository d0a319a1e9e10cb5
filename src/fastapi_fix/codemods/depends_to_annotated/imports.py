"""Imports and alias definitions for depends-to-annotated, placed the way isort would.

A name goes into an existing ``from module import ...`` of the same module when there is
one (in sorted position if the names are sorted); otherwise a new statement joins its
import group: standard library, third party, or the project's own.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Sequence

import libcst as cst
from libcst.helpers import get_full_name_for_node

from fastapi_fix.codemods._build import BodyStatement, import_from
from fastapi_fix.codemods.depends_to_annotated.index import AliasDefinition, Import
from fastapi_fix.codemods.depends_to_annotated.transform import insert_item
from fastapi_fix.engine.codemod import SourceFile
from fastapi_fix.project.fastapi import resolve_relative

FUTURE, STDLIB, THIRD_PARTY, FIRST_PARTY = range(4)


def add_imports(
    module: cst.Module, imports: Iterable[Import], file: SourceFile, first_party: frozenset[str]
) -> cst.Module:
    """The module importing these too; the module itself when it already imports them all."""
    for from_module, name in dict.fromkeys(imports):
        module = _add_import(module, from_module, name, file, first_party)
    return module


def remove_imports(
    module: cst.Module, file: SourceFile, imports: Sequence[tuple[str, str, str | None]]
) -> cst.Module:
    """Drop these from-imports (module, name, asname) from the module's top level; the caller
    has made sure nothing uses them any more.

    A line that goes away hands its blank lines and comments to the next one, so import
    groups stay apart. The module itself comes back when none of them is there.
    """
    if not imports:
        return module
    wanted = set(imports)

    def removable(node: cst.ImportFrom, alias: cst.ImportAlias) -> bool:
        return (_from_module(node, file), alias.evaluated_name, alias.evaluated_alias) in wanted

    body: list[BodyStatement] = []
    carried: Sequence[cst.EmptyLine] | None = None  # the lines heading a removed statement
    for stmt in module.body:
        if carried is not None:
            own = stmt.leading_lines
            if not body:  # now the module's first statement: no blank lines above it
                own = _from_first_comment(own)
            stmt = stmt.with_changes(leading_lines=_merge_leading(carried, own))
            carried = None
        kept = _without_aliases(stmt, removable)
        if kept is None:
            carried = stmt.leading_lines
        else:
            body.append(kept)
    if len(body) == len(module.body) and all(
        new is old for new, old in zip(body, module.body, strict=True)
    ):
        return module
    return module.with_changes(body=body)


def _without_aliases(
    stmt: BodyStatement, removable: Callable[[cst.ImportFrom, cst.ImportAlias], bool]
) -> BodyStatement | None:
    """The statement without the removable import names (the statement itself if it has none
    of them); None if nothing is left of it."""
    if not isinstance(stmt, cst.SimpleStatementLine):
        return stmt
    smalls: list[cst.BaseSmallStatement] = []
    for small in stmt.body:
        if isinstance(small, cst.ImportFrom) and not isinstance(small.names, cst.ImportStar):
            names = [alias for alias in small.names if not removable(small, alias)]
            if not names:
                continue
            if len(names) < len(small.names):
                last = small.names[-1]
                names[-1] = names[-1].with_changes(
                    comma=last.comma if small.rpar else cst.MaybeSentinel.DEFAULT
                )
                small = small.with_changes(names=names)
        smalls.append(small)
    if not smalls:
        return None
    if len(smalls) == len(stmt.body) and all(
        new is old for new, old in zip(smalls, stmt.body, strict=True)
    ):
        return stmt
    if len(smalls) < len(stmt.body):
        smalls[-1] = smalls[-1].with_changes(semicolon=cst.MaybeSentinel.DEFAULT)
    return stmt.with_changes(body=smalls)


def _from_first_comment(lines: Sequence[cst.EmptyLine]) -> Sequence[cst.EmptyLine]:
    start = next((i for i, line in enumerate(lines) if line.comment is not None), len(lines))
    return lines[start:]


def _merge_leading(
    carried: Sequence[cst.EmptyLine], own: Sequence[cst.EmptyLine]
) -> list[cst.EmptyLine]:
    if any(line.comment for line in [*carried, *own]):
        return [*carried, *own]
    return list(carried if len(carried) > len(own) else own)


def insert_aliases(
    module: cst.Module, aliases: Sequence[AliasDefinition]
) -> tuple[cst.Module, list[AliasDefinition]]:
    """Each alias right after the definition of its dependency, unless it is already there
    (the module itself comes back when every one is)."""
    body = list(module.body)
    defined = {name for stmt in body for name in [_assigned_name(stmt)] if name}
    inserted: list[AliasDefinition] = []
    for alias in aliases:
        anchor = next(
            (i for i, stmt in enumerate(body) if _defined_name(stmt) == alias.after), None
        )
        if alias.name in defined or anchor is None:
            continue
        position = anchor + 1
        while position < len(body) and _assigned_name(body[position]) in {a.name for a in inserted}:
            position += 1
        blank = isinstance(body[anchor], (cst.FunctionDef, cst.ClassDef)) and position == anchor + 1
        statement = cst.parse_statement(alias.code + "\n").with_changes(
            leading_lines=[cst.EmptyLine(), cst.EmptyLine()] if blank else []
        )
        body.insert(position, statement)
        defined.add(alias.name)
        inserted.append(alias)
    if not inserted:
        return module, inserted
    return module.with_changes(body=body), inserted


def _defined_name(stmt: cst.CSTNode) -> str | None:
    if isinstance(stmt, (cst.FunctionDef, cst.ClassDef)):
        return stmt.name.value
    return _assigned_name(stmt)


def _assigned_name(stmt: cst.CSTNode) -> str | None:
    if not isinstance(stmt, cst.SimpleStatementLine) or len(stmt.body) != 1:
        return None
    small = stmt.body[0]
    if (
        isinstance(small, cst.Assign)
        and len(small.targets) == 1
        and isinstance(small.targets[0].target, cst.Name)
    ):
        return small.targets[0].target.value
    if (
        isinstance(small, cst.AnnAssign)
        and isinstance(small.target, cst.Name)
        and small.value is not None
    ):
        return small.target.value
    return None


# -- adding one import -------------------------------------------------------------------


def _add_import(
    module: cst.Module, from_module: str, name: str, file: SourceFile, first_party: frozenset[str]
) -> cst.Module:
    body = list(module.body)
    for index, stmt in enumerate(body):
        if not isinstance(stmt, cst.SimpleStatementLine):
            continue
        for position, small in enumerate(stmt.body):
            if (
                isinstance(small, cst.ImportFrom)
                and not isinstance(small.names, cst.ImportStar)
                and _from_module(small, file) == from_module
            ):
                if any(
                    alias.evaluated_name == name and alias.asname is None for alias in small.names
                ):
                    return module
                smalls = list(stmt.body)
                smalls[position] = _with_name(small, small.names, name)
                body[index] = stmt.with_changes(body=smalls)
                return module.with_changes(body=body)
    return module.with_changes(body=_with_statement(body, from_module, name, file, first_party))


def _from_module(node: cst.ImportFrom, file: SourceFile) -> str:
    module = get_full_name_for_node(node.module) if node.module else None
    return resolve_relative(file, module, len(node.relative))


def _sort_key(name: str) -> tuple[int, str, str]:
    """isort's and ruff's default order: CONSTANTS, Classes, then everything else."""
    rank = 0 if name.isupper() and len(name) > 1 else 1 if name[:1].isupper() else 2
    return rank, name.lower(), name


def _with_name(
    node: cst.ImportFrom, aliases: Sequence[cst.ImportAlias], name: str
) -> cst.ImportFrom:
    """``node`` (whose names are ``aliases``) importing ``name`` too, in sorted place."""
    names = list(aliases)
    keys = [_sort_key(alias.evaluated_name) for alias in names]
    index = len(names)
    if keys == sorted(keys):
        index = next((i for i, key in enumerate(keys) if key > _sort_key(name)), len(names))
    opening = (
        node.lpar.whitespace_after
        if isinstance(node.lpar, cst.LeftParen)
        else cst.SimpleWhitespace("")
    )
    return node.with_changes(
        names=insert_item(names, index, cst.ImportAlias(cst.Name(name)), opening)
    )


def _category(module: str, first_party: frozenset[str]) -> int:
    top = module.partition(".")[0]
    if module == "__future__":
        return FUTURE
    if not top or top in first_party:
        return FIRST_PARTY
    return STDLIB if top in sys.stdlib_module_names else THIRD_PARTY


def _import_module(
    stmt: cst.CSTNode, file: SourceFile, first_party: frozenset[str]
) -> tuple[int, str, tuple[bool, str]] | None:
    """(group, top-level package, sort key) of a line holding only imports; None otherwise."""
    if (
        not isinstance(stmt, cst.SimpleStatementLine)
        or not stmt.body
        or not all(isinstance(small, (cst.Import, cst.ImportFrom)) for small in stmt.body)
    ):
        return None
    first = stmt.body[0]
    if isinstance(first, cst.ImportFrom):
        module = _from_module(first, file)
        group = FIRST_PARTY if first.relative else _category(module, first_party)
        return group, module.partition(".")[0], (True, module.lower())
    assert isinstance(first, cst.Import)
    module = get_full_name_for_node(first.names[0].name) or ""
    return _category(module, first_party), module.partition(".")[0], (False, module.lower())


def _with_statement(
    body: list[BodyStatement],
    from_module: str,
    name: str,
    file: SourceFile,
    first_party: frozenset[str],
) -> list[BodyStatement]:
    statement = import_from(from_module, name)
    start = 1 if body and _is_docstring(body[0]) else 0
    block = []  # (index, group, top-level package, sort key) of the leading imports
    for index in range(start, len(body)):
        found = _import_module(body[index], file, first_party)
        if found is None:
            break
        block.append((index, *found))
    group, top, key = (
        _category(from_module, first_party),
        from_module.partition(".")[0],
        (True, from_module),
    )
    same_group = [entry for entry in block if entry[1] == group]
    # Sorted among the same package's imports if there are any, else among the group's.
    neighbours = [entry for entry in same_group if entry[2] == top] or same_group
    if neighbours:
        later = next((entry for entry in neighbours if entry[3] > key), None)
        if later is None:
            return _insert(body, neighbours[-1][0] + 1, statement)
        if later is same_group[0]:
            return _take_over_lines(body, later[0], statement)
        return _insert(body, later[0], statement)
    earlier = [entry for entry in block if entry[1] < group]
    if earlier:
        return _insert(
            body, earlier[-1][0] + 1, statement.with_changes(leading_lines=[cst.EmptyLine()])
        )
    if block:
        return _new_group_before(body, block[0][0], statement)
    return _insert_alone(body, start, statement)


def _is_docstring(stmt: cst.BaseStatement) -> bool:
    return (
        isinstance(stmt, cst.SimpleStatementLine)
        and len(stmt.body) == 1
        and isinstance(stmt.body[0], cst.Expr)
        and isinstance(stmt.body[0].value, (cst.SimpleString, cst.ConcatenatedString))
    )


def _insert(body: list[BodyStatement], index: int, statement: BodyStatement) -> list[BodyStatement]:
    return [*body[:index], statement, *body[index:]]


def _take_over_lines(
    body: list[BodyStatement], index: int, statement: cst.SimpleStatementLine
) -> list[BodyStatement]:
    """First of its group: the blank lines and comment heading the group now head it."""
    following = body[index]
    statement = statement.with_changes(leading_lines=following.leading_lines)
    return [*body[:index], statement, following.with_changes(leading_lines=[]), *body[index + 1 :]]


def _new_group_before(
    body: list[BodyStatement], index: int, statement: cst.SimpleStatementLine
) -> list[BodyStatement]:
    """A group of its own before ``body[index]``, which keeps its comments, a blank line apart."""
    following = body[index]
    lines = list(following.leading_lines)
    split = next((i for i, line in enumerate(lines) if line.comment is not None), len(lines))
    statement = statement.with_changes(leading_lines=lines[:split])
    following = following.with_changes(leading_lines=[cst.EmptyLine(), *lines[split:]])
    return [*body[:index], statement, following, *body[index + 1 :]]


def _insert_alone(
    body: list[BodyStatement], index: int, statement: cst.SimpleStatementLine
) -> list[BodyStatement]:
    """The module's first import: after the docstring, set apart by blank lines."""
    statement = statement.with_changes(leading_lines=[cst.EmptyLine()] if index else [])
    result = _insert(body, index, statement)
    if index + 1 < len(result):
        following = result[index + 1]
        if not any(line.comment is None for line in following.leading_lines):
            blank = 2 if isinstance(following, (cst.FunctionDef, cst.ClassDef)) else 1
            result[index + 1] = following.with_changes(
                leading_lines=[*[cst.EmptyLine()] * blank, *following.leading_lines]
            )
    return result
