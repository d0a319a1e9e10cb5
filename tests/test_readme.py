"""The README's codemod table is generated from the registry and must stay in sync with it."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from fastapi_fix import codemods
from fastapi_fix.engine.codemod import Codemod, Option

ROOT = Path(__file__).resolve().parent.parent


def _load_generator():
    spec = importlib.util.spec_from_file_location(
        "update_readme", ROOT / "scripts" / "update_readme.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


update_readme = _load_generator()


class Sample(Codemod):
    name = "sample"
    summary = "Turn `a | b` into c."
    safety = "Always."
    example = ("x = a | b\n", "x = c\n")
    options = (
        Option("loud", False, "Shout."),
        Option("names", [], "More names."),
        Option("tag", "t", "A tag."),
    )
    default_enabled = False


def test_readme_is_in_sync_with_the_registry():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert update_readme.updated(readme, codemods.REGISTRY) == readme, (
        "README.md is out of date: run python scripts/update_readme.py"
    )


def test_every_codemod_has_a_row_and_a_section():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for codemod in codemods.REGISTRY:
        assert f"| [`{codemod.name}`](#{codemod.name}) |" in readme
        assert f"### `{codemod.name}`" in readme


def test_rendering_of_one_codemod():
    text = update_readme.render([Sample])
    assert text.splitlines()[2] == (
        "| [`sample`](#sample) | Turn `a \\| b` into c. | Always. | only with `--select` |"
    )
    assert "| `loud` | `--loud/--no-loud` | `false` | Shout. |" in text
    assert "| `names` | `--names VALUE` (repeatable) | `[]` | More names. |" in text
    assert '| `tag` | `--tag VALUE` | `"t"` | A tag. |' in text
    assert "Before:\n\n```python\nx = a | b\n```\n\nAfter:\n\n```python\nx = c\n```\n" in text


def test_update_replaces_only_between_the_markers():
    readme = "# Title\n\n<!-- codemods:start -->\nstale\n<!-- codemods:end -->\n\nAfter.\n"
    result = update_readme.updated(readme, [Sample])
    assert result.startswith("# Title\n\n<!-- codemods:start -->\n| codemod |")
    assert result.endswith("```\n<!-- codemods:end -->\n\nAfter.\n")
    assert "stale" not in result
    assert update_readme.updated(result, [Sample]) == result


def test_missing_markers_are_an_error():
    with pytest.raises(update_readme.MarkersMissing):
        update_readme.updated("# Title\n", [Sample])
