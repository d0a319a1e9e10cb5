"""Which FastAPI a project declares: ``Annotated`` parameters need FastAPI 0.95 or newer.

An older FastAPI ignores the metadata in ``Annotated``, so a rewritten ``Depends`` would
silently become a query parameter. The lowest version the project's ``pyproject.toml``
(PEP 621 or Poetry) or ``requirements*.txt`` admits decides.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from fastapi_fix.engine.config import ConfigError, find_pyproject, load_pyproject, lookup

ANNOTATED_SINCE = (0, 95)
_REQUIREMENT = re.compile(r"^\s*fastapi(?:\[[^\]]*\])?\s*(?P<spec>[^;#]*)", re.IGNORECASE)
_LOWER_BOUND = re.compile(r"(>=|==|~=|\^|~|>)?\s*v?(\d+(?:\.\d+)*)")


def too_old_fastapi(paths: Iterable[Path]) -> str | None:
    """Where the project admits a FastAPI without Annotated support, e.g. ``pyproject.toml: ^0.79.1``."""
    existing = [path for path in paths if path.exists()]
    if not existing:
        return None
    root = Path(os.path.commonpath(existing))
    pyproject = find_pyproject([root])
    if pyproject is None:
        return None
    for where, spec in _declared(pyproject):
        lowest = _lowest(spec)
        if lowest is not None and lowest < ANNOTATED_SINCE:
            return f"{where}: fastapi {spec.strip()}"
    return None


def _declared(pyproject: Path) -> Iterator[tuple[str, str]]:
    try:
        data = load_pyproject(pyproject)
    except ConfigError:
        return
    dependencies = lookup(data, "project", "dependencies")
    optional = lookup(data, "project", "optional-dependencies")
    for requirement in [
        *(dependencies if isinstance(dependencies, list) else []),
        *(
            r
            for group in (optional.values() if isinstance(optional, dict) else [])
            if isinstance(group, list)
            for r in group
        ),
    ]:
        match = _REQUIREMENT.match(requirement) if isinstance(requirement, str) else None
        if match and match.group("spec").strip():
            yield pyproject.name, match.group("spec")
    poetry = lookup(data, "tool", "poetry", "dependencies", "fastapi")
    spec = poetry.get("version") if isinstance(poetry, dict) else poetry
    if isinstance(spec, str) and spec.strip() not in ("", "*"):
        yield pyproject.name, spec
    for requirements in sorted(pyproject.parent.glob("requirements*.txt")):
        try:
            lines = requirements.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            continue
        for line in lines:
            match = _REQUIREMENT.match(line)
            if (
                match
                and match.group("spec").strip()
                and not match.group("spec").strip().startswith("-")
            ):
                yield requirements.name, match.group("spec")


def _lowest(spec: str) -> tuple[int, ...] | None:
    """The lowest version a specifier admits; None when it sets no lower bound."""
    bounds = []
    for clause in spec.split(","):
        match = _LOWER_BOUND.search(clause)
        operator = match.group(1) if match else None
        if match and (
            operator in (">=", "==", "~=", "^", "~", ">")
            or (operator is None and clause.strip()[:1].isdigit())
        ):
            bounds.append(tuple(int(part) for part in match.group(2).split(".")))
    return max(bounds) if bounds else None
