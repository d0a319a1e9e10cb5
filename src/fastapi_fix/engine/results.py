"""What a run produces: one `FileResult` per file, with its findings and edits."""

from __future__ import annotations

import enum
import re
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
        if self.summary:
            return self.summary
        in_code = False
        for index, char in enumerate(self.message):
            if char == "`":
                in_code = not in_code
            elif not in_code and char in ";:" and self.message[index + 1 : index + 2] == " ":
                return self.message[:index]
        return self.message

    def one_line(self, width: int = FINDING_WIDTH) -> str:
        """``path:line:col: codemod: what`` in at most ``width`` characters: the longest code
        spans (in backticks) are shortened first, so that the sentence around them stays."""
        place = f"{self.path}:{self.line}:{self.column}: {self.codemod}: "
        what = _shorten_code(" ".join(self.headline.split()), width - len(place))
        line = place + what
        return line if len(line) <= width else line[: width - 1] + "…"


_CODE_SPAN = re.compile(r"`[^`]{16,}`")


def _shorten_code(text: str, width: int) -> str:
    """``text`` with its longest backticked spans cut (``…`` kept inside the backticks) until
    it fits in ``width``, or no span is long enough to cut."""
    while len(text) > width:
        spans = sorted(_CODE_SPAN.finditer(text), key=lambda m: len(m.group()), reverse=True)
        if not spans:
            break
        longest = spans[0].group()
        # Down to the next longest span first, so that every long span keeps its share.
        next_longest = len(spans[1].group()) if len(spans) > 1 else 0
        target = max(14, len(longest) - (len(text) - width), next_longest)
        target = min(target, len(longest) - 1)
        start, end = spans[0].span()
        text = f"{text[:start]}{longest[: target - 2]}…`{text[end:]}"
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
