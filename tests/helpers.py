"""The helper every codemod case goes through.

Each case is checked, for free, under three byte variants (LF, CRLF, UTF-8 BOM): the exact
expected bytes, a full ``compile()`` of the output, and that a second run changes nothing.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from fastapi_fix import codemods
from fastapi_fix.engine.codemod import Settings, SourceFile
from fastapi_fix.engine.results import FileResult, Finding, Status
from fastapi_fix.engine.runner import Runner
from fastapi_fix.project.modules import module_names

PROJECT = Path("/project")
BOM = b"\xef\xbb\xbf"

VARIANTS: dict[str, Callable[[bytes], bytes]] = {
    "lf": lambda data: data,
    "crlf": lambda data: data.replace(b"\n", b"\r\n"),
    "bom": lambda data: BOM + data,
}


def make_project(root: Path, files: Mapping[str, bytes]) -> Path:
    """Write ``files`` (relative path → bytes) under ``root``."""
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def in_memory_file(relative: str) -> SourceFile:
    """A file of an in-memory project where every folder is a package."""
    parts = Path(relative).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return SourceFile(PROJECT / relative, relative, ".".join(parts))


def named_as_the_cli_names(sources: Mapping[Path, bytes]) -> dict[SourceFile, bytes]:
    """Files of an in-memory project under ``PROJECT``, named by the project model, as a run
    from the command line names them."""
    names = module_names(list(sources), PROJECT, sources.get)
    return {
        SourceFile(path, path.relative_to(PROJECT).as_posix(), names.names[path]): data
        for path, data in sources.items()
    }


def run_project(
    codemod: str,
    files: Mapping[str, bytes],
    *,
    options: Mapping[str, Any] | None = None,
    target_version: tuple[int, int] | None = None,
) -> dict[str, FileResult]:
    """Run one codemod over an in-memory project; results by relative path."""
    settings = Settings(target_version, {codemod: dict(options or {})})
    instances = [cls(settings) for cls in codemods.select([codemod])]
    sources = {in_memory_file(path): data for path, data in files.items()}
    results = Runner(instances, jobs=1).run(list(sources), sources=sources)
    return {r.display_path: r for r in results}


def _source(code: str) -> bytes:
    return textwrap.dedent(code).encode()


def _run_variant(
    codemod: str, path: str, data: bytes, context: Mapping[str, str], **kwargs: Any
) -> FileResult:
    files = {name: _source(code) for name, code in context.items()}
    files[path] = data
    result = run_project(codemod, files, **kwargs)[path]
    assert result.status is not Status.FAILED, result.reason
    assert result.status is not Status.SKIPPED, result.reason
    return result


def check_transformed(
    codemod: str,
    before: str,
    after: str,
    *,
    path: str = "app/main.py",
    context: Mapping[str, str] | None = None,
    **kwargs: Any,
) -> list[Finding]:
    """``before`` becomes exactly ``after``; returns the findings of the LF run."""
    context = context or {}
    findings: list[Finding] = []
    for variant_name, variant in VARIANTS.items():
        expected = variant(_source(after))
        result = _run_variant(codemod, path, variant(_source(before)), context, **kwargs)
        assert result.status is Status.CHANGED, f"[{variant_name}] nothing changed"
        assert result.new is not None
        assert result.new.decode("utf-8-sig") == expected.decode("utf-8-sig"), f"[{variant_name}]"
        assert result.new == expected, f"[{variant_name}] same text, different bytes"
        compile(result.new, path, "exec", dont_inherit=True)
        again = _run_variant(codemod, path, result.new, context, **kwargs)
        assert again.status is Status.UNCHANGED, f"[{variant_name}] second run changed it again"
        if variant_name == "lf":
            findings = result.findings
    return findings


def check_noop(
    codemod: str,
    source: str,
    *,
    path: str = "app/main.py",
    context: Mapping[str, str] | None = None,
    **kwargs: Any,
) -> list[Finding]:
    """``source`` comes back byte-identical; returns the findings of the LF run."""
    findings: list[Finding] = []
    for variant_name, variant in VARIANTS.items():
        result = _run_variant(codemod, path, variant(_source(source)), context or {}, **kwargs)
        assert result.status is Status.UNCHANGED, (
            f"[{variant_name}] expected no change, got:\n{(result.new or b'').decode('utf-8-sig')}"
        )
        if variant_name == "lf":
            findings = result.findings
    return findings
