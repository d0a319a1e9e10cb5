"""The plan as a TOML file a person can edit: one ``[[module]]`` table per module of the
package (``from``, ``to``) and, for a module being split, where each of its definitions
goes (``[module.symbols]``). Written by hand (the format is tiny), read with ``tomllib``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from fastapi_fix.layout.plan import ModulePlan, Plan

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

VERSION = 1


class PlanFileError(ValueError):
    """The plan file cannot be read or does not describe a plan."""


def _string(value: str) -> str:
    escaped = (
        value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
    )
    return f'"{escaped}"'


def _comment(text: str) -> str:
    return " ".join(text.split())


def dumps(plan: Plan) -> str:
    lines = [
        "# fastapi-fix layered-layout plan.",
        "# Edit where modules (`to`) and definitions (`[module.symbols]`) go, then apply it:",
        "#   fastapi-fix --select layered-layout --plan THIS_FILE .",
        "# (add --dry-run to preview). A module whose `to` equals `from` stays where it is.",
        f"version = {VERSION}",
        f"package = {_string(plan.package)}",
        f"package_dir = {_string(plan.package_dir)}",
        f"new_package = {'true' if plan.new_package else 'false'}",
        f"fingerprint = {_string(plan.fingerprint)}  # the project this plan was made for",
    ]
    if plan.organisation:
        lines.append(f"organisation = {_string(plan.organisation)}")
    for module in plan.modules:
        lines += [
            "",
            "[[module]]",
            f"from = {_string(module.source)}",
            f"to = {_string(module.target)}",
        ]
        if module.reason:
            lines.append(f"reason = {_string(module.reason)}")
        if module.symbols:
            lines.append("[module.symbols]")
            for key, target in module.symbols.items():
                reason = module.symbol_reasons.get(key)
                suffix = f"  # {_comment(reason)}" if reason else ""
                lines.append(f"{_string(key)} = {_string(target)}{suffix}")
    return "\n".join(lines) + "\n"


def loads(text: str, origin: str = "plan") -> Plan:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PlanFileError(f"{origin}: not valid TOML: {exc}") from None
    if data.get("version") != VERSION:
        raise PlanFileError(
            f"{origin}: unknown plan version {data.get('version')!r} (expected {VERSION})"
        )
    plan = Plan(
        package=_text(data, "package", origin),
        package_dir=_text(data, "package_dir", origin, allow_empty=True),
        new_package=bool(data.get("new_package", False)),
        fingerprint=str(data.get("fingerprint", "")),
        organisation=str(data.get("organisation", "")),
    )
    modules = data.get("module", [])
    if not isinstance(modules, list):
        raise PlanFileError(f"{origin}: [[module]] must be an array of tables")
    for number, entry in enumerate(modules, 1):
        if not isinstance(entry, dict):
            raise PlanFileError(f"{origin}: module #{number} is not a table")
        symbols = entry.get("symbols", {})
        if not isinstance(symbols, dict) or not all(isinstance(v, str) for v in symbols.values()):
            raise PlanFileError(f"{origin}: module #{number}: symbols must map names to paths")
        source = _text(entry, "from", f"{origin}: module #{number}")
        plan.modules.append(
            ModulePlan(
                source,
                _text(entry, "to", f"{origin}: module #{number}"),
                str(entry.get("reason", "")),
                dict(symbols),
            )
        )
    return plan


def load(path: Path) -> Plan:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PlanFileError(f"{path}: cannot read the plan: {exc.strerror or exc}") from None
    return loads(text, str(path))


def _text(data: dict[str, Any], key: str, origin: str, allow_empty: bool = False) -> str:
    value = data.get(key)
    if not isinstance(value, str) or (not value and not allow_empty):
        raise PlanFileError(f"{origin}: `{key}` must be a non-empty string")
    return value
