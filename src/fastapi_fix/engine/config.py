"""Project settings read from ``pyproject.toml``."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


class ConfigError(ValueError):
    """Bad configuration: a usage error."""


def find_pyproject(paths: Iterable[Path]) -> Path | None:
    """The nearest ``pyproject.toml`` above the first path, as ruff and black find theirs."""
    for path in paths:
        start = path.resolve()
        for directory in (start if start.is_dir() else start.parent, *start.parents):
            candidate = directory / "pyproject.toml"
            if candidate.is_file():
                return candidate
        return None
    return None


def load_pyproject(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: {exc}") from None


def parse_target_version(text: str) -> tuple[int, int]:
    """``py39``, ``3.9`` or ``39`` → ``(3, 9)``."""
    match = re.fullmatch(r"(?:py)?3\.?(\d+)", text.strip().lower())
    if not match:
        raise ConfigError(f"invalid target version {text!r}; expected e.g. py39 or 3.9")
    return (3, int(match.group(1)))


def minimum_python(requires_python: str) -> tuple[int, int] | None:
    """The lowest Python a ``requires-python`` specifier admits (``>=3.8,<4`` → 3.8)."""
    lowest = None
    for clause in requires_python.split(","):
        match = re.fullmatch(r"\s*(>=|~=|==|\^|>)\s*3\.(\d+)(?:\.[\d*]+)?\s*", clause)
        if match:
            minor = int(match.group(2)) + (1 if match.group(1) == ">" else 0)
            lowest = min(lowest or (3, minor), (3, minor))
    return lowest


def project_target_version(pyproject: dict[str, Any]) -> tuple[int, int] | None:
    requires = pyproject.get("project", {}).get("requires-python")
    if isinstance(requires, str):
        return minimum_python(requires)
    poetry = pyproject.get("tool", {}).get("poetry", {}).get("dependencies", {}).get("python")
    if isinstance(poetry, str):
        return minimum_python(poetry)
    return None
