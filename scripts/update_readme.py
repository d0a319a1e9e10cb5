#!/usr/bin/env python
"""Write the README's codemod table from the registry (as Fixit's ``document_rules.py``).

    python scripts/update_readme.py           # rewrite README.md between the markers
    python scripts/update_readme.py --check   # exit 1 if README.md is out of date

Everything between ``<!-- codemods:start -->`` and ``<!-- codemods:end -->`` is generated:
a table (name, what it does, safety, default, pre-commit) and, per codemod, its options (the
``[tool.fastapi-fix.<codemod>]`` keys and command-line flags) and its before/after example.
``tests/test_readme.py`` fails when the README and the registry disagree.
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fastapi_fix import codemods
from fastapi_fix.engine.codemod import Codemod, Option

README = Path(__file__).resolve().parent.parent / "README.md"
START, END = "<!-- codemods:start -->", "<!-- codemods:end -->"


class MarkersMissing(ValueError):
    pass


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _toml(value: Any) -> str:
    return json.dumps(value)  # bool, int, str and list[str] read the same in TOML


def _flag(option: Option) -> str:
    if isinstance(option.default, bool):
        return f"`--{option.name}/--no-{option.name}`"
    return f"`--{option.name} VALUE`" + (
        " (repeatable)" if isinstance(option.default, list) else ""
    )


def _table(registry: Sequence[type[Codemod]]) -> list[str]:
    lines = ["| codemod | what it does | safety | runs by default |", "|---|---|---|---|"]
    lines.extend(
        f"| [`{codemod.name}`](#{codemod.name}) | {_cell(codemod.summary)} | {_cell(codemod.safety)} "
        f"| {'yes' if codemod.default_enabled else 'only with `--select`'} |"
        for codemod in registry
    )
    return lines


def _options(codemod: type[Codemod]) -> list[str]:
    if not codemod.options:
        return []
    lines = [
        f"Options (`[tool.fastapi-fix.{codemod.name}]` in `pyproject.toml`, or the command line):",
        "",
        "| key | flag | default | meaning |",
        "|---|---|---|---|",
    ]
    lines.extend(
        f"| `{option.name}` | {_flag(option)} | `{_toml(option.default)}` | {_cell(option.help)} |"
        for option in codemod.options
    )
    return [*lines, ""]


def _example(codemod: type[Codemod]) -> list[str]:
    before, after = (textwrap.dedent(code).strip("\n") for code in codemod.example)
    if not (before or after):
        return []
    return [
        "Before:",
        "",
        "```python",
        before,
        "```",
        "",
        "After:",
        "",
        "```python",
        after,
        "```",
        "",
    ]


def render(registry: Sequence[type[Codemod]]) -> str:
    """The generated part of the README (without the markers)."""
    lines = [*_table(registry), ""]
    for codemod in registry:
        lines += [
            f"### `{codemod.name}`",
            "",
            _cell(codemod.summary),
            "",
            f"**Safety:** {_cell(codemod.safety)}",
            "",
        ]
        lines += _options(codemod)
        lines += _example(codemod)
    return "\n".join(lines).rstrip("\n") + "\n"


def updated(readme: str, registry: Sequence[type[Codemod]]) -> str:
    """``readme`` with the text between the markers replaced by `render`."""
    start, end = readme.find(START), readme.find(END)
    if start < 0 or end < start:
        raise MarkersMissing(f"README.md needs the markers {START} and {END}")
    return f"{readme[:start]}{START}\n{render(registry)}{readme[end:]}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if README.md is out of date")
    args = parser.parse_args(argv)
    current = README.read_text(encoding="utf-8")
    wanted = updated(current, codemods.REGISTRY)
    if wanted == current:
        return 0
    if args.check:
        print("README.md is out of date: run python scripts/update_readme.py", file=sys.stderr)
        return 1
    README.write_text(wanted, encoding="utf-8")
    print("README.md updated", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
