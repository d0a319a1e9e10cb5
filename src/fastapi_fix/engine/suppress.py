"""``# fastapi-fix: ignore`` comments, honoured by the engine for every codemod.

A trailing ``# fastapi-fix: ignore`` (or ``ignore[name, ...]``) keeps codemods away from its
line; when that line belongs to a multi-line parameter or simple statement, from all of it.
On a decorator line, on the ``def`` line or after the colon that ends a signature, it keeps
them away from the whole function, decorators included.

The engine lets a codemod transform the file, then puts back every changed region (difflib
opcodes over lines) that touches a suppressed range, and drops the edits and findings that
fall inside one. A partial revert can leave inconsistent code (a parameter out of order, an
import removed because its last use was rewritten, while the suppressed use still needs it).
So the merged result must parse, compile whenever the input compiled, and use no global name
the input did not define; otherwise the codemod leaves the whole file as it was and says so.
"""

from __future__ import annotations

import bisect
import builtins
import codecs
import difflib
import io
import symtable
import tokenize
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import libcst as cst
from libcst.metadata import CodeRange, MetadataWrapper, PositionProvider

from fastapi_fix.engine.codemod import FileContext
from fastapi_fix.engine.files import SkipFile, source_encoding
from fastapi_fix.engine.positions import statement_positions

# Files without these bytes are never examined (the fast path for almost every file).
MARKER = b"fastapi-fix:"
_PREFIX = "fastapi-fix:"
_KEYWORD = "ignore"


@dataclass(frozen=True)
class Suppression:
    """Lines ``first``..``last`` (1-based, inclusive) kept from ``codemods`` (None: all)."""

    first: int
    last: int
    codemods: frozenset[str] | None
    comment_line: int
    # On a decorator or def line: the range is the whole function.
    whole_function: bool = False

    def applies_to(self, codemod: str) -> bool:
        return self.codemods is None or codemod in self.codemods

    def covers(self, line: int) -> bool:
        return self.first <= line <= self.last


def parse_comment(comment: str) -> frozenset[str] | Literal[False] | None:
    """The codemods a comment suppresses: ``None`` for all, a set of names, or ``False`` when
    it is not a suppression. Other tools' directives may share the comment (``# noqa  # ...``)."""
    for part in comment.split("#")[1:]:
        text = part.strip()
        if not text.startswith(_PREFIX):
            continue
        directive = text[len(_PREFIX) :].strip()
        if not directive.startswith(_KEYWORD):
            continue
        rest = directive[len(_KEYWORD) :]
        if not rest or rest[0].isspace():
            return None
        if rest.startswith("[") and "]" in rest:
            names = rest[1 : rest.index("]")].split(",")
            return frozenset(name.strip() for name in names if name.strip())
    return False


def suppressed_codemods(data: bytes) -> frozenset[str] | None:
    """The codemods some ``# fastapi-fix: ignore`` in ``data`` keeps away from some line:
    ``None`` for every codemod, an empty set when there is no such comment.

    Read with the tokenizer (no tree), before any index is built: a file whose rewrite the
    engine may partly put back is a fixed point for those codemods (`FixedPoints`).
    """
    if MARKER not in data:
        return frozenset()
    named: set[str] = set()
    try:
        for token in tokenize.tokenize(io.BytesIO(data).readline):
            if token.type == tokenize.COMMENT:
                names = parse_comment(token.string)
                if names is None:
                    return None
                if isinstance(names, frozenset):
                    named |= names
    except (tokenize.TokenError, SyntaxError, UnicodeDecodeError):
        return None  # unreadable as tokens: assume the worst (the file fails later anyway)
    return frozenset(named)


class _Collector(cst.CSTVisitor):
    """Suppression comments, function extents and the multi-line units a line belongs to."""

    def __init__(self, positions: Mapping[cst.CSTNode, CodeRange]) -> None:
        super().__init__()
        self.positions = positions
        self.comments: dict[int, frozenset[str] | None] = {}
        # (lines that suppress the function, its whole range)
        self.functions: list[tuple[set[int], tuple[int, int]]] = []
        self.units: list[tuple[int, int]] = []

    def _range(self, node: cst.CSTNode) -> CodeRange:
        return self.positions[node]

    def visit_Comment(self, node: cst.Comment) -> None:
        names = parse_comment(node.value)
        if names is not False:
            line = self._range(node).start.line
            known = self.comments.get(line, frozenset())
            self.comments[line] = None if names is None or known is None else known | names

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        extent = self._range(node)
        trigger = {extent.start.line}
        first = extent.start.line
        for decorator in node.decorators:
            span = self._range(decorator)
            trigger.update(range(span.start.line, span.end.line + 1))
            first = min(first, span.start.line)
        if isinstance(node.body, cst.IndentedBlock) and node.body.header.comment is not None:
            trigger.add(self._range(node.body.header.comment).start.line)
        self.functions.append((trigger, (first, extent.end.line)))

    def visit_Param(self, node: cst.Param) -> None:
        self._unit(node)

    def visit_SimpleStatementLine(self, node: cst.SimpleStatementLine) -> None:
        self._unit(node)

    def _unit(self, node: cst.CSTNode) -> None:
        extent = self._range(node)
        if extent.end.line > extent.start.line:
            self.units.append((extent.start.line, extent.end.line))


# The suppressions of the trees seen last, by identity: the codemods of a file hand each
# other their trees (one's output is the next one's input), and a tree never changes.
_recent: OrderedDict[int, tuple[cst.Module, list[Suppression]]] = OrderedDict()
_RECENT_TREES = 4


def find_suppressions(module: cst.Module) -> list[Suppression]:
    hit = _recent.get(id(module))
    if hit is not None and hit[0] is module:
        return list(hit[1])
    found = _find_suppressions(module)
    _recent[id(module)] = (module, found)
    while len(_recent) > _RECENT_TREES:
        _recent.popitem(last=False)
    return list(found)


def _find_suppressions(module: cst.Module) -> list[Suppression]:
    # Only the top-level statements that hold the marker are measured: positions of a whole
    # large module, once for each tree a file's codemods make, would cost more than the rest.
    marker = MARKER.decode()
    if any(marker in module.code_for_node(line) for line in (*module.header, *module.footer)):
        wrapper = MetadataWrapper(module)
        collector = _Collector(wrapper.resolve(PositionProvider))
        wrapper.visit(collector)
    else:
        marked = [
            statement for statement in module.body if marker in module.code_for_node(statement)
        ]
        collector = _Collector(statement_positions(module, marked))
        for statement in marked:
            statement.visit(collector)
    found = []
    for line, names in sorted(collector.comments.items()):
        functions = [extent for trigger, extent in collector.functions if line in trigger]
        if functions:
            first, last = min(functions, key=lambda extent: extent[1] - extent[0])
        else:
            units = [u for u in collector.units if u[0] <= line <= u[1]]
            first, last = min(units, key=lambda u: u[1] - u[0]) if units else (line, line)
        found.append(Suppression(first, last, names, line, whole_function=bool(functions)))
    return found


# -- reverting what a codemod did inside suppressed ranges -------------------------------


@dataclass(frozen=True)
class _Region:
    """A changed block: old lines [old_start, old_end) became new lines [new_start, new_end)."""

    old_start: int
    old_end: int
    new_start: int
    new_end: int

    def touches(self, first: int, last: int) -> bool:
        """Whether it overlaps the 1-based old lines first..last (an insertion: lands
        between two of them)."""
        if self.old_start == self.old_end:
            return first <= self.old_start < last
        return self.old_start < last and first - 1 < self.old_end

    def lands_in(self, new_suppressed: set[int]) -> bool:
        return any(j + 1 in new_suppressed for j in range(self.new_start, self.new_end))


def honour_suppressions(ctx: FileContext, before: cst.Module, after: cst.Module) -> cst.Module:
    """``after`` with every change that touches a line suppressed for ``ctx.codemod`` undone;
    the edits and findings inside suppressed ranges dropped from ``ctx``."""
    suppressions = [s for s in find_suppressions(before) if s.applies_to(ctx.codemod)]
    if not suppressions:
        return after
    ctx.findings = [f for f in ctx.findings if not any(s.covers(f.line) for s in suppressions)]
    if after is before:
        return after
    old, new = before.bytes, after.bytes
    if old == new:
        return after
    # The BOM belongs to the file, not to its first line (which an insertion pushes down).
    bom = (
        codecs.BOM_UTF8
        if old.startswith(codecs.BOM_UTF8) and new.startswith(codecs.BOM_UTF8)
        else b""
    )
    old_lines = old[len(bom) :].splitlines(keepends=True)
    new_lines = new[len(bom) :].splitlines(keepends=True)
    # Where the suppressed ranges are after the rewrite: a decorator inserted above a
    # suppressed function, or a handler appended to it, lands inside its new extent.
    new_suppressed = {
        line
        for s in find_suppressions(after)
        if s.applies_to(ctx.codemod)
        for line in range(s.first, s.last + 1)
    }
    opcodes = _split_insertions(line_opcodes(old_lines, new_lines), new_suppressed)
    regions = [_Region(i1, i2, j1, j2) for tag, i1, i2, j1, j2 in opcodes if tag != "equal"]
    reverted = {
        r
        for r in regions
        if r.lands_in(new_suppressed) or any(r.touches(s.first, s.last) for s in suppressions)
    }
    ctx.edits = [
        e for e in ctx.edits if _edit_survives(e.line, e.end_line, regions, reverted, suppressions)
    ]
    if not reverted:
        return after
    merged = bom + _merge(opcodes, old_lines, new_lines, reverted)
    if merged == old:
        ctx.edits = []
        return before
    module, problem = _consistent_module(old, merged)
    if module is not None:
        return module
    ctx.edits = []
    ctx.report(
        _first_cause(reverted, suppressions),
        0,
        f"'# fastapi-fix: ignore' cannot be honoured line by line here ({problem}); "
        f"left the whole file unchanged",
    )
    return before


def _first_cause(reverted: set[_Region], suppressions: Sequence[Suppression]) -> int:
    """The comment line of the first suppression that made a change go back."""
    first = min(reverted, key=lambda r: r.old_start)
    for suppression in suppressions:
        if first.touches(suppression.first, suppression.last) or (
            suppression.first - 1 <= first.old_start <= suppression.last
        ):
            return suppression.comment_line
    return suppressions[0].comment_line


Opcode = tuple[str, int, int, int, int]
# Above this many line pairs, a replaced block is not split further (it stays one region).
_MAX_PAIRS = 10_000
_SIMILAR = 0.75


def line_opcodes(old_lines: Sequence[bytes], new_lines: Sequence[bytes]) -> list[Opcode]:
    """difflib opcodes, with each ``replace`` block split into the smallest regions: difflib
    joins neighbouring changed lines into one block, and a suppressed line must not take its
    neighbour's rewrite back with it. Lines are paired one to one when the block keeps its
    length, else by similarity, as ``difflib.Differ`` pairs them."""
    out: list[Opcode] = []
    for tag, i1, i2, j1, j2 in _aligned(old_lines, new_lines):
        if tag == "replace":
            out.extend(_split_replace(old_lines, new_lines, i1, i2, j1, j2))
        else:
            out.append((tag, i1, i2, j1, j2))
    return out


# Up to this many lines a side, difflib aligns the whole file; above, only the stretches
# between anchors (its cost grows with the square of a file's repeated lines).
_WHOLE_FILE_LINES = 2_000


def _aligned(old: Sequence[bytes], new: Sequence[bytes]) -> list[Opcode]:
    """difflib's opcodes (no junk heuristic) for a file of ordinary size; for a larger one,
    patience alignment: lines found exactly once on each side, in the same order, anchor
    the alignment (as ``git diff --patience``), and difflib aligns each stretch between
    two anchors, which a codemod's scattered edits keep short."""
    if max(len(old), len(new)) <= _WHOLE_FILE_LINES:
        return list(difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes())
    opcodes: list[Opcode] = []
    i0 = j0 = 0
    for i, j in [*_anchors(old, new), (len(old), len(new))]:
        gap = difflib.SequenceMatcher(None, old[i0:i], new[j0:j], autojunk=False)
        for tag, i1, i2, j1, j2 in gap.get_opcodes():
            _append(opcodes, (tag, i0 + i1, i0 + i2, j0 + j1, j0 + j2))
        if i < len(old):
            _append(opcodes, ("equal", i, i + 1, j, j + 1))
        i0, j0 = i + 1, j + 1
    return opcodes


def _anchors(old: Sequence[bytes], new: Sequence[bytes]) -> list[tuple[int, int]]:
    """The longest run, in order on both sides, of lines that occur once in each."""
    once_old = _unique_positions(old)
    once_new = _unique_positions(new)
    pairs = [(i, once_new[line]) for line, i in once_old.items() if line in once_new]
    pairs.sort()
    # Longest increasing subsequence of the new positions (patience sorting).
    tails: list[int] = []  # index into pairs of the smallest tail of each length
    tail_positions: list[int] = []  # and that tail's new position
    previous: list[int] = [-1] * len(pairs)
    for index, (_, j) in enumerate(pairs):
        length = bisect.bisect_left(tail_positions, j)
        if length > 0:
            previous[index] = tails[length - 1]
        if length == len(tails):
            tails.append(index)
            tail_positions.append(j)
        else:
            tails[length] = index
            tail_positions[length] = j
    chain: list[tuple[int, int]] = []
    at = tails[-1] if tails else -1
    while at >= 0:
        chain.append(pairs[at])
        at = previous[at]
    return chain[::-1]


def _unique_positions(lines: Sequence[bytes]) -> dict[bytes, int]:
    seen: dict[bytes, int] = {}
    repeated: set[bytes] = set()
    for index, line in enumerate(lines):
        if line in seen:
            repeated.add(line)
        else:
            seen[line] = index
    return {line: index for line, index in seen.items() if line not in repeated}


def _append(opcodes: list[Opcode], opcode: Opcode) -> None:
    """Add ``opcode``, joined to the last one when both are ``equal`` and touch."""
    tag, i1, i2, j1, j2 = opcode
    if i1 == i2 and j1 == j2:
        return
    if opcodes and tag == "equal" and opcodes[-1][0] == "equal" and opcodes[-1][2] == i1:
        last = opcodes[-1]
        opcodes[-1] = ("equal", last[1], i2, last[3], j2)
    else:
        opcodes.append(opcode)


def _split_replace(
    old: Sequence[bytes], new: Sequence[bytes], i1: int, i2: int, j1: int, j2: int
) -> list[Opcode]:
    if i1 == i2 or j1 == j2:
        return (
            [("insert" if i1 == i2 else "delete", i1, i2, j1, j2)] if (i1, j1) != (i2, j2) else []
        )
    if i2 - i1 == j2 - j1:
        return [("replace", i, i + 1, j1 + (i - i1), j1 + (i - i1) + 1) for i in range(i1, i2)]
    if (i2 - i1) * (j2 - j1) > _MAX_PAIRS:
        return [("replace", i1, i2, j1, j2)]
    best, best_i, best_j = _SIMILAR, -1, -1
    matcher = difflib.SequenceMatcher(None, b"", b"", autojunk=False)  # compares lines' bytes
    for j in range(j1, j2):
        matcher.set_seq2(new[j])
        for i in range(i1, i2):
            matcher.set_seq1(old[i])
            if (
                matcher.real_quick_ratio() > best
                and matcher.quick_ratio() > best
                and matcher.ratio() > best
            ):
                best, best_i, best_j = matcher.ratio(), i, j
    if best_i < 0:
        return [("replace", i1, i2, j1, j2)]
    return [
        *_split_replace(old, new, i1, best_i, j1, best_j),
        ("replace", best_i, best_i + 1, best_j, best_j + 1),
        *_split_replace(old, new, best_i + 1, i2, best_j + 1, j2),
    ]


def _edit_survives(
    line: int,
    end_line: int,
    regions: Sequence[_Region],
    reverted: set[_Region],
    suppressions: Sequence[Suppression],
) -> bool:
    if any(s.first <= line and end_line <= s.last for s in suppressions):
        return False
    touched = [r for r in regions if _near(r, line, end_line)]
    return not touched or any(r not in reverted for r in touched)


def _near(region: _Region, line: int, end_line: int) -> bool:
    """Whether a change region is where an edit on old lines line..end_line happened."""
    if region.old_start == region.old_end:
        return line - 1 <= region.old_start <= end_line
    return region.touches(line, end_line)


def _split_insertions(opcodes: Sequence[Opcode], new_suppressed: set[int]) -> list[Opcode]:
    """Insertions cut where their lines go in or out of a suppressed range of the new code:
    an import and a decorator inserted together are two different stories."""
    out: list[Opcode] = []
    for tag, i1, i2, j1, j2 in opcodes:
        if tag != "insert":
            out.append((tag, i1, i2, j1, j2))
            continue
        start = j1
        for j in range(j1 + 1, j2 + 1):
            if j == j2 or ((j + 1) in new_suppressed) != ((start + 1) in new_suppressed):
                out.append(("insert", i1, i2, start, j))
                start = j
    return out


def _merge(
    opcodes: Sequence[Opcode],
    old_lines: list[bytes],
    new_lines: list[bytes],
    reverted: set[_Region],
) -> bytes:
    out: list[bytes] = []
    for tag, i1, i2, j1, j2 in opcodes:
        if tag != "equal" and _Region(i1, i2, j1, j2) in reverted:
            out.extend(old_lines[i1:i2])
        else:
            out.extend(new_lines[j1:j2])
    return b"".join(out)


def _consistent_module(old: bytes, merged: bytes) -> tuple[cst.Module | None, str]:
    """``merged`` (part old, part rewritten) parsed, or None and why it cannot be kept."""
    try:
        module = cst.parse_module(merged)
    except (cst.ParserSyntaxError, SyntaxError, UnicodeDecodeError):
        return None, "the rest of the rewrite would not parse"
    if _compile_error(old) is None and (error := _compile_error(merged)) is not None:
        return None, f"the rest of the rewrite would not compile: {error}"
    old_names, new_names = _unbound_globals(old), _unbound_globals(merged)
    if old_names is None or new_names is None:
        return None, "this Python cannot check the result"
    missing = sorted(new_names - old_names)
    if missing:
        return None, f"the rest of the rewrite would use undefined names: {', '.join(missing)}"
    return module, ""


def _compile_error(data: bytes) -> str | None:
    try:
        compile(data, "<suppressed>", "exec", dont_inherit=True)
    except (SyntaxError, ValueError) as exc:
        return str(exc)
    return None


def _unbound_globals(data: bytes) -> set[str] | None:
    """Global names the module reads but never binds (builtins aside); None if unparseable."""
    try:
        text = data.decode(source_encoding(data))
        top = symtable.symtable(text, "<suppressed>", "exec")
    except (SkipFile, SyntaxError, ValueError):
        return None
    bound = {
        s.get_name()
        for s in top.get_symbols()
        if s.is_assigned() or s.is_imported() or s.is_namespace()
    }
    used: set[str] = set()
    stack = [top]
    while stack:
        table = stack.pop()
        stack.extend(table.get_children())
        for symbol in table.get_symbols():
            if table is top:
                if symbol.is_referenced():
                    used.add(symbol.get_name())
            elif symbol.is_global():
                if symbol.is_referenced():
                    used.add(symbol.get_name())
                if symbol.is_declared_global() and symbol.is_assigned():
                    bound.add(symbol.get_name())
    return used - bound - set(dir(builtins))
