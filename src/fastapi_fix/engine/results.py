"""What a run produces: one `FileResult` per file, with its findings and edits."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from pathlib import Path

from fastapi_fix.engine.files import Snapshot


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
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}: {self.codemod}: {self.message}"


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
