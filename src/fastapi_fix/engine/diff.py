"""Unified diffs over bytes, so that `git apply` reproduces the in-place result exactly."""

from __future__ import annotations

import bisect
import difflib
import heapq
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

NO_NEWLINE = b"\\ No newline at end of file\n"
CONTEXT_LINES = 3

# A diagonal run of equal lines: (first line in a, first line in b, length).
Run = tuple[int, int, int]
# The part of a and b still to be matched: [alo, ahi) x [blo, bhi).
Box = tuple[int, int, int, int]


def unified_diff(
    old: bytes, new: bytes, display_path: str, new_display_path: str | None = None
) -> bytes:
    """``--- a/path`` / ``+++ b/path`` diff, byte-exact (any encoding, CRLF, no final newline)."""
    return hunks(old, new, f"a/{display_path}", f"b/{new_display_path or display_path}")


def hunks(old: bytes, new: bytes, from_file: str, to_file: str) -> bytes:
    """The ``---``/``+++`` headers (names as given: ``a/x``, ``/dev/null``) and the hunks."""
    old_lines = old.splitlines(keepends=True)
    new_lines = new.splitlines(keepends=True)
    out = bytearray()
    for number, line in enumerate(_unified_lines(old_lines, new_lines, from_file, to_file)):
        if number < 2 or line.startswith(b"@@"):  # headers: ---, +++ and hunk ranges
            out += line + b"\n"
        elif line.endswith(b"\n"):
            out += line
        else:  # the last line of a file that has no final newline
            out += line + b"\n" + NO_NEWLINE
    return bytes(out)


def _unified_lines(
    old: Sequence[bytes], new: Sequence[bytes], from_file: str, to_file: str
) -> Iterator[bytes]:
    """`difflib.unified_diff` over bytes (no dates, no line terminator), with `LineMatcher`."""
    groups = LineMatcher(old, new).get_grouped_opcodes(CONTEXT_LINES)
    for number, group in enumerate(groups):
        if number == 0:
            yield b"--- " + from_file.encode()
            yield b"+++ " + to_file.encode()
        first, last = group[0], group[-1]
        old_range = _unified_range(first[1], last[2])
        new_range = _unified_range(first[3], last[4])
        yield f"@@ -{old_range} +{new_range} @@".encode()
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                yield from (b" " + line for line in old[i1:i2])
                continue
            if tag in ("replace", "delete"):
                yield from (b"-" + line for line in old[i1:i2])
            if tag in ("replace", "insert"):
                yield from (b"+" + line for line in new[j1:j2])


def _unified_range(start: int, stop: int) -> str:
    """A hunk's range as `difflib` writes it: ``3`` for one line, ``2,0`` for none."""
    length = stop - start
    if length == 1:
        return str(start + 1)
    return f"{start + 1 if length else start},{length}"


class LineMatcher(difflib.SequenceMatcher[bytes]):
    """`difflib.SequenceMatcher` (no junk function) with the very same matching blocks, found
    without rescanning.

    difflib takes the longest match in the whole range, then the longest in the part before
    it and in the part after it, and so on, scanning each part afresh. A large file with an
    edit in every function has many equally long unchanged stretches; the first one wins each
    time, the part after it is nearly the whole file again, and the diff takes quadratic time.

    Here each diagonal run of equal lines that difflib's scan can see (lines not popular in
    ``b``) is found once. The runs wait in a heap ordered as difflib chooses (longest, then
    first in ``a``, then first in ``b``), each keyed by what it was when last looked at: a run
    only ever shrinks, cut by the edges of the part it lies in, so a run whose key is still
    true when it comes out of the heap is the longest of its part, difflib's choice.
    """

    # Set by difflib (its documented attributes, not in the type stubs).
    a: Sequence[bytes]
    b: Sequence[bytes]
    b2j: dict[bytes, list[int]]
    matching_blocks: list[difflib.Match] | None

    def __init__(self, a: Sequence[bytes], b: Sequence[bytes]) -> None:
        super().__init__(None, a, b)

    def get_matching_blocks(self) -> list[difflib.Match]:
        if self.matching_blocks is not None:
            return self.matching_blocks
        a, b = self.a, self.b
        found: list[Run] = []
        heap = [(-size, i, j) for i, j, size in diagonal_runs(a, self.b2j)]
        heapq.heapify(heap)
        boxes = _OpenBoxes((0, len(a), 0, len(b)))
        while heap:
            negative_size, i, j = heapq.heappop(heap)
            located = boxes.locate(i, j, -negative_size)
            if located is None:
                continue  # the run lies where everything is already matched
            box, cut = located
            if cut != (i, j, -negative_size):
                heapq.heappush(heap, (-cut[2], cut[0], cut[1]))
                continue
            match = _extended(a, b, box, cut)
            found.append(match)
            boxes.split(box, match)
        for box in boxes:  # no run left in it: difflib's empty match, extended forwards
            match = _extended(a, b, box, (box[0], box[2], 0))
            if match[2]:
                found.append(match)
        blocks = [difflib.Match(*block) for block in _collapsed(sorted(found))]
        blocks.append(difflib.Match(len(a), len(b), 0))
        self.matching_blocks = blocks
        return blocks


def diagonal_runs(a: Sequence[Any], b2j: Mapping[Any, list[int]]) -> list[Run]:
    """Every maximal run of pairs ``a[i] == b[j]`` on one diagonal, ``b[j]`` taken from
    ``b2j`` (difflib's index of ``b``, popular elements left out)."""
    runs: list[Run] = []
    # The runs through the previous line of a: j of their last pair -> their first i.
    open_runs: dict[int, int] = {}
    for i, line in enumerate(a):
        continued: dict[int, int] = {}
        for j in b2j.get(line, ()):
            first = open_runs.pop(j - 1, i)
            continued[j] = first
        runs.extend((first, j - (i - 1 - first), i - first) for j, first in open_runs.items())
        open_runs = continued
    end = len(a)
    runs.extend((first, j - (end - 1 - first), end - first) for j, first in open_runs.items())
    return runs


def _cut(run: Run, box: Box) -> Run | None:
    """The part of ``run`` inside ``box``, or None."""
    i, j, size = run
    alo, ahi, blo, bhi = box
    shift = i - j
    start = max(i, alo, blo + shift)
    stop = min(i + size, ahi, bhi + shift)
    return (start, start - shift, stop - start) if stop > start else None


def _extended(a: Sequence[bytes], b: Sequence[bytes], box: Box, run: Run) -> Run:
    """``run`` grown over equal (popular) lines on both sides, within ``box``, as difflib does."""
    alo, ahi, blo, bhi = box
    i, j, size = run
    while i > alo and j > blo and a[i - 1] == b[j - 1]:
        i, j, size = i - 1, j - 1, size + 1
    while i + size < ahi and j + size < bhi and a[i + size] == b[j + size]:
        size += 1
    return i, j, size


def _collapsed(blocks: Sequence[Run]) -> Iterator[Run]:
    """Adjacent blocks joined, as difflib does after its search."""
    i1 = j1 = k1 = 0
    for i2, j2, k2 in blocks:
        if i1 + k1 == i2 and j1 + k1 == j2:
            k1 += k2
        else:
            if k1:
                yield i1, j1, k1
            i1, j1, k1 = i2, j2, k2
    if k1:
        yield i1, j1, k1


class _OpenBoxes:
    """The parts of a and b still to be matched: disjoint boxes, in order along both."""

    def __init__(self, box: Box) -> None:
        self._starts: list[int] = []
        self._boxes: dict[int, Box] = {}
        self._add(box)

    def __iter__(self) -> Iterator[Box]:
        return (self._boxes[start] for start in self._starts)

    def locate(self, i: int, j: int, size: int) -> tuple[Box, Run] | None:
        """The box that the run crosses (a run crosses at most one) and its part inside it."""
        starts = self._starts
        for at in range(max(bisect.bisect_right(starts, i) - 1, 0), len(starts)):
            if starts[at] >= i + size:
                break
            box = self._boxes[starts[at]]
            cut = _cut((i, j, size), box)
            if cut is not None:
                return box, cut
        return None

    def split(self, box: Box, match: Run) -> None:
        """``box`` is matched by ``match``: what lies before it and after it stay open."""
        alo, ahi, blo, bhi = box
        i, j, size = match
        del self._boxes[alo]
        self._starts.pop(bisect.bisect_left(self._starts, alo))
        if alo < i and blo < j:
            self._add((alo, i, blo, j))
        if i + size < ahi and j + size < bhi:
            self._add((i + size, ahi, j + size, bhi))

    def _add(self, box: Box) -> None:
        bisect.insort(self._starts, box[0])
        self._boxes[box[0]] = box
