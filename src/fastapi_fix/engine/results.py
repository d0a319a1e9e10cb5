"""What a run produces: one `FileResult` per file, with its findings and edits."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from pathlib import Path

from fastapi_fix.engine.files import Snapshot

# The longest line a finding takes on a terminal (``Finding.one_line``).
FINDING_WIDTH = 160


class Status(str, enum.Enum):
    CHANGED = "changed"
    UNCHANGED = "unchanged"
    SKIPPED = "skipped"
    FAILED = "failed"


@dataclass(frozen=True)
class Finding:
    """A place a codemod could not fix safely: a person has to decide."""

    path: str
    line: int
    column: int
    codemod: str
    # The whole text: what, why, the evidence chain and the advice (``--format json``).
    message: str
    # What sort of finding this is, e.g. ``blocking-to-threadpool``: a terminal explains each
    # kind once, after the list, in ``detail``; "" when the message stands alone.
    kind: str = ""
    # The "what" for a one-line listing; "" when the message's first clause says it.
    summary: str = ""
    # The explanation of ``kind``: the same for every finding of that kind.
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}: {self.codemod}: {self.message}"

    @property
    def headline(self) -> str:
        """The "what" in one short line: the summary, else the message up to the first ``; ``
        or ``: `` outside backticks (where the why and the advice begin)."""
        return self.summary or first_clause(self.message)

    def one_line(self, width: int = FINDING_WIDTH) -> str:
        """``path:line:col: codemod: what`` in at most ``width`` characters: the longest code
        spans (in backticks) are shortened first, so that the sentence around them stays."""
        place = f"{self.path}:{self.line}:{self.column}: {self.codemod}: "
        what = _shorten_code(" ".join(self.headline.split()), width - len(place))
        line = place + what
        return line if len(line) <= width else line[: width - 1] + "…"


def first_clause(text: str, shortest: int = 40) -> str:
    """``text`` up to the first ``; `` or ``: `` (outside backticks and parentheses) that
    comes after ``shortest`` characters: "`q` left as is: <why>" keeps its why."""
    in_code, depth = False, 0
    for index, char in enumerate(text):
        if char == "`":
            in_code = not in_code
        elif in_code:
            continue
        elif char in "([":
            depth += 1
        elif char in ")]":
            depth = max(0, depth - 1)
        elif (
            depth == 0 and index >= shortest and char in ";:" and text[index + 1 : index + 2] == " "
        ):
            return text[:index]
    return text


# A code span long enough to be worth shortening: backticks around 16 characters or more.
_LONG_SPAN = 18


def _code_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each backticked span, backticks included, paired in order."""
    ticks = [index for index, char in enumerate(text) if char == "`"]
    return [(start, end + 1) for start, end in zip(ticks[0::2], ticks[1::2], strict=False)]


def _shorten_code(text: str, width: int) -> str:
    """``text`` with its longest backticked spans cut (``…`` kept inside the backticks) until
    it fits in ``width``, or no span is long enough to cut."""
    while len(text) > width:
        spans = sorted(_code_spans(text), key=lambda span: span[0] - span[1])
        spans = [span for span in spans if span[1] - span[0] >= _LONG_SPAN]
        if not spans:
            break
        start, end = spans[0]
        # Down to the next longest span first, so that every long span keeps its share.
        next_longest = spans[1][1] - spans[1][0] if len(spans) > 1 else 0
        target = max(_LONG_SPAN - 4, end - start - (len(text) - width), next_longest)
        target = min(target, end - start - 1)
        text = f"{text[: start + target - 2]}…`{text[end:]}"
    return text


@dataclass(frozen=True)
class Edit:
    """One rewrite a codemod made; lines are 1-based, in the file as it was read."""

    codemod: str
    line: int
    end_line: int
    description: str = ""


@dataclass
class FileResult:
    path: Path
    display_path: str
    status: Status
    reason: str = ""
    old: bytes | None = None
    new: bytes | None = None
    new_path: Path | None = None
    findings: list[Finding] = field(default_factory=list)
    edits: list[Edit] = field(default_factory=list)
    written: bool = False
    # Changes were computed but could not be written (read-only, changed meanwhile, ...).
    write_refused: bool = False
    # The file as read before transforming: what the safe write checks against.
    snapshot: Snapshot | None = None
    # The unified diff, kept for a machine-readable preview (--dry-run/--check --format json).
    patch: bytes | None = None
    # Other files whose rewrite this one needs (see `FileContext.require`): one change set.
    requires: frozenset[Path] = frozenset()
