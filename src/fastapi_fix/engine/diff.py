"""Unified diffs over bytes, so that `git apply` reproduces the in-place result exactly."""

from __future__ import annotations

import difflib

NO_NEWLINE = b"\\ No newline at end of file\n"


def unified_diff(
    old: bytes, new: bytes, display_path: str, new_display_path: str | None = None
) -> bytes:
    """``--- a/path`` / ``+++ b/path`` diff, byte-exact (any encoding, CRLF, no final newline)."""
    return hunks(old, new, f"a/{display_path}", f"b/{new_display_path or display_path}")


def hunks(old: bytes, new: bytes, from_file: str, to_file: str) -> bytes:
    """The ``---``/``+++`` headers (names as given: ``a/x``, ``/dev/null``) and the hunks."""
    lines = difflib.diff_bytes(
        difflib.unified_diff,
        old.splitlines(keepends=True),
        new.splitlines(keepends=True),
        fromfile=from_file.encode(),
        tofile=to_file.encode(),
        lineterm=b"",
    )
    out = bytearray()
    for number, line in enumerate(lines):
        if number < 2 or line.startswith(b"@@"):  # headers: ---, +++ and hunk ranges
            out += line + b"\n"
        elif line.endswith(b"\n"):
            out += line
        else:  # the last line of a file that has no final newline
            out += line + b"\n" + NO_NEWLINE
    return bytes(out)
