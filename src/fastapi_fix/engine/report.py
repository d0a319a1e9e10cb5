"""The machine-readable report of a run (``--format json``), for CI and editors.

One JSON document; its schema is documented in the README ("JSON output") and versioned by
``schema_version``: fields may be added, never renamed or removed, without bumping it.
"""

from __future__ import annotations

import json
import os
import posixpath
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from fastapi_fix import __version__
from fastapi_fix.engine.codemod import Codemod
from fastapi_fix.engine.results import Edit, FileResult, Finding, Status

SCHEMA_VERSION = 1


def edit_entry(path: str, edit: Edit) -> dict[str, Any]:
    return {
        "codemod": edit.codemod,
        "path": path,
        "line": edit.line,
        "end_line": edit.end_line,
        "description": edit.description,
    }


def finding_entry(finding: Finding) -> dict[str, Any]:
    return {
        "codemod": finding.codemod,
        "path": finding.path,
        "line": finding.line,
        "column": finding.column,
        "message": finding.message,
        "kind": finding.kind or None,
        "summary": finding.headline,
        "detail": finding.detail or None,
    }


def new_display_path(result: FileResult) -> str | None:
    """Where a moved file went, shown the way its ``display_path`` is (relative, ``/``)."""
    if result.new_path is None:
        return None
    relative = os.path.relpath(result.new_path, result.path.parent)
    return posixpath.normpath(
        posixpath.join(posixpath.dirname(result.display_path), Path(relative).as_posix())
    )


def file_entry(result: FileResult) -> dict[str, Any]:
    """One file; edits are listed only when its change exists (changed, or refused at write)."""
    has_change = result.status is Status.CHANGED or result.write_refused
    return {
        "path": result.display_path,
        "status": result.status.value,
        "reason": result.reason or None,
        "written": result.written,
        "new_path": new_display_path(result),
        "edits": [edit_entry(result.display_path, e) for e in result.edits] if has_change else [],
        "findings": [finding_entry(f) for f in sorted(result.findings, key=_finding_order)],
        "diff": result.patch.decode("utf-8", errors="replace") if result.patch else None,
    }


def _finding_order(finding: Finding) -> tuple[int, int, str]:
    return (finding.line, finding.column, finding.codemod)


def summary(files: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    statuses = Counter(entry["status"] for entry in files)
    return {
        "files": len(files),
        **{status.value: statuses[status.value] for status in Status},
        "edits": sum(len(entry["edits"]) for entry in files),
        "findings": sum(len(entry["findings"]) for entry in files),
    }


def document(
    results: Sequence[FileResult],
    *,
    mode: str,
    codemods: Sequence[str],
    exit_code: int,
    **sections: Any,
) -> dict[str, Any]:
    """The whole report. ``mode``: apply, dry-run, check or branch; ``sections``: optional
    ``verify`` and ``branch`` objects, included when not None."""
    files = [file_entry(result) for result in results]
    doc: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "fastapi-fix", "version": __version__},
        "mode": mode,
        "codemods": list(codemods),
        "exit_code": exit_code,
        "summary": summary(files),
        "files": files,
    }
    doc.update({name: value for name, value in sections.items() if value is not None})
    return doc


def error_document(message: str, *, exit_code: int) -> dict[str, Any]:
    """The report of a run that stopped before it looked at any file (a usage error, exit 2,
    or an internal error, exit 123): the keys of `document`, ``mode`` null, no files, and
    ``error``, the one line also printed on stderr."""
    doc = document([], mode="", codemods=[], exit_code=exit_code)
    doc["mode"] = None
    doc["error"] = message
    return doc


def codemods_document(codemods: Sequence[type[Codemod]]) -> dict[str, Any]:
    """``--list-codemods --format json``: each codemod, whether it runs by default, its options."""
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "fastapi-fix", "version": __version__},
        "codemods": [
            {
                "name": codemod.name,
                "summary": codemod.summary,
                "safety": codemod.safety,
                "default": codemod.default_enabled,
                "options": [
                    {"name": option.name, "default": option.default, "help": option.help}
                    for option in codemod.options
                ],
            }
            for codemod in codemods
        ],
        "exit_code": 0,  # every document repeats its exit code
    }


def dumps(doc: Mapping[str, Any]) -> str:
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def merge_results(runs: Sequence[Sequence[FileResult]]) -> list[FileResult]:
    """One result per file out of several runs over the same files (``--branch`` runs one
    codemod at a time): the most telling status wins, edits and findings add up."""
    rank = {Status.FAILED: 3, Status.CHANGED: 2, Status.SKIPPED: 1, Status.UNCHANGED: 0}
    merged: dict[str, FileResult] = {}
    for run in runs:
        for result in run:
            seen = merged.get(result.display_path)
            if seen is None:
                merged[result.display_path] = FileResult(
                    result.path,
                    result.display_path,
                    result.status,
                    result.reason,
                    new_path=result.new_path,
                    findings=list(result.findings),
                    edits=list(result.edits) if result.status is Status.CHANGED else [],
                    written=result.written,
                    write_refused=result.write_refused,
                )
                continue
            if rank[result.status] > rank[seen.status]:
                seen.status, seen.reason = result.status, result.reason
            seen.findings.extend(result.findings)
            if result.status is Status.CHANGED:
                seen.edits.extend(result.edits)
            seen.written |= result.written
            seen.write_refused |= result.write_refused
            seen.new_path = result.new_path or seen.new_path
    return sorted(merged.values(), key=lambda r: r.display_path)
