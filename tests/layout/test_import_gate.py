"""layered-layout refuses a plan that the static import gate fails."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from click.testing import CliRunner

from fastapi_fix.cli import main
from fastapi_fix.codemods.layered_layout import broken_imports
from fastapi_fix.engine.discover import discover
from tests.layout.helpers import commit_all, plan, write_project
from tests.layout.test_imports import SHOP

# A test module that LibCST cannot analyse (too deeply nested for its recursion) while
# stdlib ast reads it: the layout reports it "not checked for references" and leaves its
# import of shop.crud, which moves.
DEEP = "from shop.crud import list_items\n\nNESTED = " + "len(" * 150 + "[]" + ")" * 150 + "\n"


def snapshot(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".git" not in p.relative_to(root).parts
    }


def test_a_plan_leaving_an_import_unresolved_is_refused_and_nothing_moves(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = write_project(tmp_path / "shop-project", {**SHOP, "tests/test_deep.py": DEEP})
    commit_all(root)
    monkeypatch.chdir(root)
    before = snapshot(root)
    result = CliRunner().invoke(main, ["--select", "layered-layout", "."])
    assert result.exit_code == 123, result.output
    assert "the planned change would leave imports that no longer resolve" in result.stderr
    assert "tests/test_deep.py:1:1: no module named 'shop.crud'" in result.stderr
    assert snapshot(root) == before


def test_the_gate_lists_the_importer_a_plan_fails_to_rewrite(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = write_project(tmp_path, SHOP)
    monkeypatch.chdir(root)
    change = plan(root)
    assert change.errors == []
    files = discover([root]).files
    assert broken_imports(change, files) == []
    # The same plan, had it forgotten to rewrite the router's imports:
    router = next(f for f in change.files if f.old_path == "shop/routers/items.py")
    forgetful = dataclasses.replace(
        change,
        files=[dataclasses.replace(f, new=f.old) if f is router else f for f in change.files],
    )
    assert broken_imports(forgetful, files) == [
        "the planned change would leave imports that no longer resolve; nothing was changed:\n"
        "  shop/api/v1/routes.py:3:1: cannot import name 'auth' from 'shop.api' (shop/api/__init__.py)\n"
        "  shop/api/v1/routes.py:3:1: cannot import name 'crud' from 'shop.api' (shop/api/__init__.py)\n"
        "  shop/api/v1/routes.py:4:1: no module named 'shop.api.config'"
    ]
