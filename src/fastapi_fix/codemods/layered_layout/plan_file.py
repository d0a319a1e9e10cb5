"""The plan as a TOML file a person can edit: one ``[[module]]`` table per module of the
package (``from``, ``to``) and, for a module being split, where each of its definitions
goes (``[module.symbols]``). Written by hand (the format is tiny), read with ``tomllib``.

A plan is input from outside: every path in it is checked when it is read, before anything
is built from it. Paths are relative to the project's root, with ``/``, inside the project
(no ``..``, not absolute), outside ``.git``; where a path becomes a module (``to``, a
definition's target, ``package_dir``), each of its parts is a valid module name.
"""

from __future__ import annotations

import keyword
import sys
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

from fastapi_fix.codemods.layered_layout.plan import ModulePlan, Plan
from fastapi_fix.engine.config import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

VERSION = 1


# The first line of every plan the tool writes: how it knows a file it may overwrite.
HEADER = "# fastapi-fix layered-layout plan."


class PlanFileError(ConfigError):
    """The plan file cannot be read, does not describe a plan, or names a path it may not:
    a usage error (exit 2), reported before anything is built from the plan."""


def _string(value: str) -> str:
    escaped = (
        value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
    )
    return f'"{escaped}"'


def _comment(text: str) -> str:
    return " ".join(text.split())


def dumps(plan: Plan) -> str:
    lines = [
        HEADER,
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
        package=_package(_text(data, "package", origin), origin),
        package_dir=_folder(_text(data, "package_dir", origin, allow_empty=True), origin),
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
        where = f"{origin}: module #{number}"
        source = _path(_text(entry, "from", where), f"{where} from")
        target = _text(entry, "to", where)
        # A module that stays keeps its name, whatever it is; one that moves gets a new one.
        _path(target, f"{where} to", module=target != source)
        for name, symbol_target in symbols.items():
            _path(symbol_target, f"{where} symbols.{name}", module=True)
        plan.modules.append(ModulePlan(source, target, str(entry.get("reason", "")), dict(symbols)))
    return plan


def check_plan_target(path: Path) -> None:
    """``--write-plan`` creates a file or replaces a plan it wrote, nothing else: `PlanFileError`
    for a Python file, a folder, a link, or any file that does not start as its plans do."""
    refused = f"--write-plan {path}: "
    if path.suffix in (".py", ".pyi"):
        raise PlanFileError(refused + "a plan is a TOML file, not Python source; name it *.toml")
    if path.is_symlink():
        raise PlanFileError(refused + "is a symbolic link; not overwritten")
    if not path.exists():
        return
    if not path.is_file():
        raise PlanFileError(refused + "exists and is not a file")
    if not _is_plan(path):
        raise PlanFileError(refused + "exists and is not a plan fastapi-fix wrote; not overwritten")


def _is_plan(path: Path) -> bool:
    try:
        text = path.read_text(encoding="utf-8")
        return text.startswith(HEADER + "\n") and tomllib.loads(text).get("version") == VERSION
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return False


def _path(value: str, where: str, *, module: bool = False) -> str:
    """``value`` if it is a path the plan may name (see the module's docstring)."""
    parts = value.split("/")
    if (
        "\\" in value
        or PurePosixPath(value).is_absolute()
        or PureWindowsPath(value).drive
        or any(part in ("", ".", "..") for part in parts)
    ):
        raise PlanFileError(
            f"{where} = {value!r}: must be a relative path inside the project, with / "
            "and without '..'"
        )
    if ".git" in parts:
        raise PlanFileError(f"{where} = {value!r}: must not be inside .git")
    if module:
        if not value.endswith(".py"):
            raise PlanFileError(f"{where} = {value!r}: must be a .py file")
        _module_names([*parts[:-1], parts[-1].removesuffix(".py")], value, where)
    return value


def _folder(value: str, origin: str) -> str:
    """``package_dir``: empty (the project's root) or a folder whose parts are package names."""
    if value:
        where = f"{origin}: package_dir"
        _path(value, where)
        _module_names(value.split("/"), value, where)
    return value


def _package(value: str, origin: str) -> str:
    _module_names(value.split("."), value, f"{origin}: package")
    return value


def _module_names(names: list[str], value: str, where: str) -> None:
    for name in names:
        if not name.isidentifier() or keyword.iskeyword(name):
            raise PlanFileError(f"{where} = {value!r}: {name!r} is not a valid module name")


def load(path: Path) -> Plan:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PlanFileError(f"{path}: cannot read the plan: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise PlanFileError(f"{path}: not a UTF-8 plan file: {exc}") from None
    return loads(text, str(path))


def _text(data: dict[str, Any], key: str, origin: str, allow_empty: bool = False) -> str:
    value = data.get(key)
    if not isinstance(value, str) or (not value and not allow_empty):
        raise PlanFileError(f"{origin}: `{key}` must be a non-empty string")
    return value
