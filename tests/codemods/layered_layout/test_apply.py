"""Applying a layout: the command line, git, plan files, and all-or-nothing."""

import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from fastapi_fix.cli import main
from fastapi_fix.engine.project_change import ApplyError, apply_change
from tests.codemods.layered_layout.helpers import after, commit_all, git, plan, write_project
from tests.codemods.layered_layout.test_imports import SHOP


def snapshot(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".git" not in p.relative_to(root).parts
    }


@pytest.fixture
def shop(tmp_path, monkeypatch):
    root = tmp_path / "shop-project"
    write_project(root, SHOP)
    commit_all(root)
    monkeypatch.chdir(root)
    return root


def invoke(*args):
    return CliRunner().invoke(main, ["--select", "layered-layout", *args], catch_exceptions=False)


def test_dry_run_changes_nothing_and_its_patch_applies_with_renames(shop, tmp_path):
    before = snapshot(shop)
    result = invoke("--dry-run", ".")
    assert result.exit_code == 1, result.output
    assert snapshot(shop) == before
    patch = result.stdout_bytes
    assert b"rename from shop/config.py\nrename to shop/core/config.py\n" in patch
    assert b"diff --git a/shop/crud.py b/shop/services/item_service.py\n" in patch
    # git apply reproduces exactly what applying writes.
    expected = after(shop, plan(shop))
    subprocess.run(["git", "apply", "--index", "-"], input=patch, cwd=shop, check=True)
    assert {k: v.decode() for k, v in snapshot(shop).items()} == expected


def test_apply_uses_git_mv_and_a_second_run_has_nothing_to_do(shop):
    result = invoke(".")
    assert result.exit_code == 0, result.output
    assert "moved shop/config.py -> shop/core/config.py (git mv)" in result.stderr
    status = git(shop, "status", "--porcelain")
    assert "R  shop/config.py -> shop/core/config.py" in status.splitlines()
    assert invoke("--dry-run", ".").exit_code == 0


def test_a_dirty_tree_is_refused_unless_allowed(shop):
    (shop / "shop/config.py").write_text(
        "class Settings:\n    page_size = 20\n\n\nsettings = Settings()\n"
    )
    before = snapshot(shop)
    refused = invoke(".")
    assert refused.exit_code == 123
    assert "uncommitted changes" in refused.stderr
    assert snapshot(shop) == before
    allowed = invoke("--allow-dirty", ".")
    assert allowed.exit_code == 0, allowed.output
    assert (
        (shop / "shop/core/config.py")
        .read_text()
        .startswith("class Settings:\n    page_size = 20\n")
    )


@pytest.mark.parametrize("failing_step", [1, 5, 12])
def test_a_failure_rolls_every_step_back(shop, failing_step):
    change = plan(shop)
    before, status = snapshot(shop), git(shop, "status", "--porcelain")
    steps = []

    def fail(step):
        steps.append(step)
        if len(steps) == failing_step:
            raise OSError("disk full")

    with pytest.raises(ApplyError, match="every change was rolled back"):
        apply_change(change, step_hook=fail)
    assert snapshot(shop) == before
    assert git(shop, "status", "--porcelain") == status


def test_a_file_changed_after_planning_is_refused(shop):
    change = plan(shop)
    (shop / "shop/crud.py").write_text("# edited\n")
    with pytest.raises(ApplyError, match=r"shop/crud\.py changed since the plan was made"):
        apply_change(change, allow_dirty=True)
    assert (shop / "shop/crud.py").read_text() == "# edited\n"
    assert not (shop / "shop/core").exists()


def test_without_git_files_are_renamed(tmp_path):
    write_project(tmp_path, SHOP)
    applied = apply_change(plan(tmp_path))
    assert not applied.used_git
    assert (tmp_path / "shop/core/config.py").is_file() and not (
        tmp_path / "shop/config.py"
    ).exists()
    assert not (tmp_path / "shop/routers").exists()


def test_write_edit_and_apply_a_plan(shop):
    written = invoke("--write-plan", "layout.toml", ".")
    assert written.exit_code == 0, written.output
    assert git(shop, "status", "--porcelain") == "?? layout.toml\n"
    text = (shop / "layout.toml").read_text()
    assert 'from = "shop/crud.py"\nto = "shop/services/item_service.py"\n' in text
    (shop / "layout.toml").write_text(
        text.replace("shop/services/item_service.py", "shop/services/catalog.py")
    )
    applied = invoke("--plan", "layout.toml", ".")
    assert applied.exit_code == 0, applied.output
    assert (shop / "shop/services/catalog.py").read_text().startswith("from ..models import Item\n")
    assert (
        "from shop.services import catalog as crud" in (shop / "shop/api/v1/routes.py").read_text()
    )


def test_a_stale_plan_is_refused(shop):
    assert invoke("--write-plan", "layout.toml", ".").exit_code == 0
    (shop / "shop/extra.py").write_text("X = 1\n")
    git(shop, "add", "shop/extra.py")
    git(shop, "commit", "-qm", "more code")
    result = invoke("--plan", "layout.toml", ".")
    assert result.exit_code == 123
    assert "the project changed since this plan was written" in result.stderr
    assert (shop / "shop/config.py").exists()


def test_check_lists_the_files(shop):
    result = invoke("--check", ".")
    assert result.exit_code == 1
    assert "would move shop/config.py" not in result.stdout  # paths are the new ones
    assert "would move shop/core/config.py" in result.stdout


def test_it_runs_on_its_own(shop):
    result = CliRunner().invoke(main, ["--select", "layered-layout,async-to-sync", "."])
    assert result.exit_code == 2
    assert "runs on its own" in result.output


def test_json_report(shop):
    import json

    result = CliRunner().invoke(
        main,
        ["--select", "layered-layout", "--dry-run", "--format", "json", "."],
        catch_exceptions=False,
    )
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    files = {entry["path"]: entry for entry in doc["files"]}
    assert files["shop/config.py"]["new_path"] == "shop/core/config.py"
    assert files["shop/config.py"]["written"] is False
    assert {
        "kind": "move",
        "from": "shop/config.py",
        "to": "shop/core/config.py",
        "reason": "config: settings class; settings object",
    } in doc["layout"]["rows"]
    assert doc["mode"] == "dry-run" and doc["codemods"] == ["layered-layout"]


@pytest.mark.parametrize("mode", [[], ["--dry-run"], ["--check"]])
def test_a_module_that_does_not_parse_fails_the_run_and_changes_nothing(shop, mode):
    (shop / "shop/broken.py").write_text("def broken(:\n    pass\n")
    git(shop, "add", "-A")
    git(shop, "commit", "-qm", "a broken module")
    before = snapshot(shop)
    result = invoke(*mode, ".")
    assert result.exit_code == 123
    assert "error: shop/broken.py:2: does not parse" in result.output
    assert snapshot(shop) == before


def test_a_project_without_an_app_is_nothing_to_do(tmp_path, monkeypatch):
    write_project(tmp_path, {"lib.py": "def helper():\n    return 1\n"})
    monkeypatch.chdir(tmp_path)
    result = invoke("--dry-run", ".")
    assert result.exit_code == 0
    assert "no FastAPI() application found" in result.output


# -- plan files are input from outside: confined to the project, never over another file --


def _one_line(result) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.output, result.output
    return lines[0]


@pytest.mark.parametrize(
    "target",
    [
        pytest.param("shop/config.py", id="a-module"),
        pytest.param("notes.toml", id="another-toml-file"),
        pytest.param("shop", id="a-folder"),
        pytest.param("shop/new_module.py", id="a-new-python-file"),
    ],
)
def test_write_plan_never_replaces_a_file_that_is_not_its_plan(shop, target):
    (shop / "notes.toml").write_text("[notes]\nkeep = true\n")
    before = snapshot(shop)
    result = invoke("--dry-run", "--write-plan", target, ".")
    assert result.exit_code == 2, result.output
    assert f"--write-plan {target}" in _one_line(result)
    assert snapshot(shop) == before


def test_write_plan_from_the_configuration_never_replaces_a_module(shop):
    (shop / "pyproject.toml").write_text(
        '[tool.fastapi-fix.layered-layout]\nwrite-plan = "shop/config.py"\n'
    )
    before = snapshot(shop)
    result = invoke("--dry-run", ".")
    assert result.exit_code == 2, result.output
    assert snapshot(shop) == before


def test_write_plan_replaces_its_own_plan(shop):
    assert invoke("--write-plan", "layout.toml", ".").exit_code == 0
    (shop / "layout.toml").write_text(
        (shop / "layout.toml").read_text().replace("item_service", "catalog")
    )
    assert invoke("--write-plan", "layout.toml", ".").exit_code == 0
    assert "shop/services/item_service.py" in (shop / "layout.toml").read_text()


def _edited_plan(shop, *replacements: tuple[str, str]) -> None:
    assert invoke("--write-plan", "layout.toml", ".").exit_code == 0
    text = (shop / "layout.toml").read_text()
    for old, new in replacements:
        assert old in text
        text = text.replace(old, new)
    (shop / "layout.toml").write_text(text)
    commit_all(shop)


@pytest.mark.parametrize(
    ("replacements", "named"),
    [
        pytest.param(
            [
                ('package_dir = "shop"', 'package_dir = "../evilpkg"'),
                ('to = "shop/', 'to = "../evilpkg/'),
            ],
            "package_dir = '../evilpkg'",
            id="sibling-folder",
        ),
        pytest.param(
            [('to = "shop/core/config.py"', 'to = "../other/evil/config.py"')],
            "to = '../other/evil/config.py'",
            id="monorepo-neighbour",
        ),
        pytest.param(
            [('to = "shop/core/config.py"', 'to = "shop/core/../../../evil.py"')],
            "to = 'shop/core/../../../evil.py'",
            id="dot-dot-inside",
        ),
        pytest.param(
            [('to = "shop/core/config.py"', 'to = ".git/hooks/config.py"')],
            "to = '.git/hooks/config.py'",
            id="git-folder",
        ),
        pytest.param(
            [('to = "shop/core/config.py"', 'to = "/tmp/evil/config.py"')],
            "to = '/tmp/evil/config.py'",
            id="absolute",
        ),
        pytest.param(
            [('"current_user" = "shop/api/v1/dependencies.py"', '"current_user" = "/etc/evil.py"')],
            "symbols.current_user = '/etc/evil.py'",
            id="absolute-symbol-target",
        ),
        pytest.param(
            [('to = "shop/core/config.py"', 'to = "shop/core/my-config.py"')],
            "'my-config' is not a valid module name",
            id="not-a-module-name",
        ),
        pytest.param(
            [('to = "shop/core/config.py"', 'to = "shop/class/config.py"')],
            "'class' is not a valid module name",
            id="keyword-folder",
        ),
        pytest.param(
            [('package = "shop"', 'package = "shop; import os"')],
            "package = 'shop; import os'",
            id="package-not-a-name",
        ),
    ],
)
def test_a_plan_naming_a_path_it_may_not_is_refused_before_anything_moves(
    shop, replacements, named
):
    _edited_plan(shop, *replacements)
    before = snapshot(shop)
    for mode in ([], ["--dry-run"]):
        result = invoke(*mode, "--plan", "layout.toml", ".")
        assert result.exit_code == 2, result.output
        line = _one_line(result)
        assert "layout.toml" in line and named in line
        assert "CSTValidationError" not in line
    assert snapshot(shop) == before
    assert sorted(p.name for p in shop.parent.iterdir()) == ["shop-project"]


@pytest.mark.parametrize(
    ("content", "named"),
    [
        pytest.param(b"version = 1\n\xff\n", "not a UTF-8 plan file", id="not-utf8"),
        pytest.param(b"version = [\n", "not valid TOML", id="not-toml"),
    ],
)
def test_an_unreadable_plan_is_a_usage_error(shop, content, named):
    (shop / "layout.toml").write_bytes(content)
    result = invoke("--dry-run", "--plan", "layout.toml", ".")
    assert result.exit_code == 2, result.output
    assert named in _one_line(result)
