"""``--branch NAME`` end to end through the CLI, on temporary git repositories.

Test-only codemods stand in for the real ones, so these tests hold whatever they do.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import libcst as cst
import pytest
from click.testing import CliRunner

from fastapi_fix import codemods
from fastapi_fix.cli import main
from fastapi_fix.engine.codemod import Codemod, FileContext
from tests.engine.toy import Broken, RenameFoo, RenameQux
from tests.example_apps import copy_example


class LooksOnly(Codemod):
    """Matches files but never changes them."""

    name = "looks-only"
    summary = "changes nothing"
    safety = "test only"
    markers = (b"foo",)

    def transform(self, ctx: FileContext, module: cst.Module, index: object) -> cst.Module:
        return module


FILES = {
    "pkg/__init__.py": b"",
    "pkg/a.py": b"foo = 1\r\nprint(foo)\r\n",
    "pkg/b.py": b"x = baz\n",
    "pkg/c.py": b"qux = 2\n",
    "README.txt": b"not python\n",
}


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=repo, check=True, capture_output=True, text=True
    ).stdout


@pytest.fixture
def repo(tmp_path, monkeypatch):
    root = tmp_path / "repo"
    for name, data in FILES.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    git(root.parent, "init", "-q", "-b", "main", str(root))
    for key, value in {
        "user.name": "Test",
        "user.email": "test@example.com",
        "commit.gpgsign": "false",
        "core.autocrlf": "false",
    }.items():
        git(root, "config", key, value)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "initial")
    monkeypatch.chdir(root)
    return root


def blob(repo: Path, spec: str) -> bytes:
    return subprocess.run(["git", "show", spec], cwd=repo, capture_output=True, check=True).stdout


def use(monkeypatch, *registry: type[Codemod]) -> None:
    monkeypatch.setattr(codemods, "REGISTRY", registry)
    monkeypatch.setattr(Broken, "default_enabled", True)


def invoke(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def checkout_state(repo: Path) -> tuple[str, str, str, dict[str, bytes]]:
    """Branch, HEAD, status and every file: what --branch must never change."""
    files = {
        p.relative_to(repo).as_posix(): p.read_bytes()
        for p in sorted(repo.rglob("*"))
        if p.is_file() and ".git" not in p.parts
    }
    return (
        git(repo, "rev-parse", "--abbrev-ref", "HEAD"),
        git(repo, "rev-parse", "HEAD"),
        git(repo, "status", "--porcelain"),
        files,
    )


def commits(repo: Path, branch: str) -> list[str]:
    return git(repo, "log", "--format=%H", f"main..{branch}").split()


def test_one_commit_per_codemod_in_registry_order(repo, monkeypatch):
    use(monkeypatch, RenameQux, LooksOnly, RenameFoo)
    before = checkout_state(repo)
    result = invoke("--branch", "migrate", ".")
    assert result.exit_code == 0, result.output
    assert checkout_state(repo) == before  # still on main, same HEAD, same files
    qux_commit, foo_commit = reversed(commits(repo, "migrate"))
    assert (
        git(repo, "log", "-1", "--format=%s", qux_commit)
        == "fastapi-fix: rename-qux (1 file, 1 edit)\n"
    )
    assert git(repo, "diff", "--name-only", f"{qux_commit}~1", qux_commit) == "pkg/c.py\n"
    assert git(repo, "show", f"{qux_commit}:pkg/c.py") == "quux = 2\n"
    assert git(repo, "log", "-1", "--format=%B", foo_commit) == (
        "fastapi-fix: rename-foo (1 file, 2 edits)\n"
        "\n"
        "foo → bar\n"
        "\n"
        "Files and edits:\n"
        "- pkg/a.py\n"
        "  - line 1: foo → bar\n"
        "  - line 2: foo → bar\n"
        "\n"
        "Left for review (1):\n"
        "- pkg/b.py:1:5: baz left alone\n"
        "\n"
    )
    assert git(repo, "diff", "--name-only", f"{foo_commit}~1", foo_commit) == "pkg/a.py\n"
    assert (
        blob(repo, "migrate:pkg/a.py") == b"bar = 1\r\nprint(bar)\r\n"
    )  # bytes kept through the worktree
    assert (
        "committed" in result.stderr and "looks-only: nothing to change, no commit" in result.stderr
    )
    assert (
        git(repo, "worktree", "list", "--porcelain").count("worktree ") == 1
    )  # temporary one removed


def test_dirty_tree_is_refused(repo, monkeypatch):
    use(monkeypatch, RenameFoo)
    (repo / "pkg/c.py").write_bytes(b"qux = 3\n")
    before = checkout_state(repo)
    result = invoke("--branch", "migrate", ".")
    assert result.exit_code == 2
    assert "--branch needs a clean working tree" in result.stderr and " M pkg/c.py" in result.stderr
    assert checkout_state(repo) == before
    assert "migrate" not in git(repo, "branch", "--list")
    # a refused run prints its reason only: no all-zero summary table after it
    assert "files fixed" not in result.stderr and "0 files:" not in result.stderr
    assert result.stderr.startswith("error: --branch needs a clean working tree")


def test_refused_run_as_json_is_still_one_document(repo, monkeypatch):
    use(monkeypatch, RenameFoo)
    (repo / "pkg/c.py").write_bytes(b"qux = 3\n")
    result = invoke("--format", "json", "--branch", "migrate", ".")
    doc = json.loads(result.stdout)
    assert (doc["exit_code"], doc["files"]) == (2, [])


def test_untracked_file_is_refused(repo, monkeypatch):
    use(monkeypatch, RenameFoo)
    (repo / "pkg/new.py").write_bytes(b"foo = 3\n")
    result = invoke("--branch", "migrate", ".")
    assert result.exit_code == 2 and "?? pkg/new.py" in result.stderr


def test_failure_keeps_earlier_commits_and_leaves_the_checkout_alone(repo, monkeypatch):
    use(monkeypatch, RenameQux, Broken, RenameFoo)
    before = checkout_state(repo)
    result = invoke("--branch", "migrate", ".")
    assert result.exit_code == 123
    assert "broken: 1 file failed; nothing committed for it, the run stops here" in result.stderr
    assert checkout_state(repo) == before
    (only,) = commits(repo, "migrate")
    assert git(repo, "log", "-1", "--format=%s", only).startswith("fastapi-fix: rename-qux")
    assert blob(repo, "migrate:pkg/a.py") == FILES["pkg/a.py"]  # rename-foo never ran
    assert git(repo, "worktree", "list", "--porcelain").count("worktree ") == 1


def test_failure_of_the_first_codemod_leaves_no_branch(repo, monkeypatch):
    use(monkeypatch, Broken, RenameFoo)
    result = invoke("--branch", "migrate", ".")
    assert result.exit_code == 123
    assert "nothing committed: branch migrate was not created" in result.stderr
    assert git(repo, "branch", "--list", "migrate") == ""


def test_nothing_to_change_creates_no_branch(repo, monkeypatch):
    use(monkeypatch, LooksOnly)
    result = invoke("--branch", "migrate", ".")
    assert result.exit_code == 0
    assert git(repo, "branch", "--list", "migrate") == ""


@pytest.mark.parametrize(
    ("name", "message"),
    [
        pytest.param("main", "a branch named 'main' already exists", id="existing"),
        pytest.param("bad..name", "'bad..name' is not a valid branch name", id="invalid"),
    ],
)
def test_branch_name_is_checked(repo, monkeypatch, name, message):
    use(monkeypatch, RenameFoo)
    result = invoke("--branch", name, ".")
    assert result.exit_code == 2 and message in result.stderr


def test_outside_a_repository_is_refused(tmp_path, monkeypatch):
    use(monkeypatch, RenameFoo)
    (tmp_path / "a.py").write_bytes(b"foo = 1\n")
    monkeypatch.chdir(tmp_path)
    result = invoke("--branch", "migrate", ".")
    assert result.exit_code == 2 and "--branch needs a git repository" in result.stderr
    assert (tmp_path / "a.py").read_bytes() == b"foo = 1\n"


def test_branch_cannot_be_combined_with_a_preview(repo, monkeypatch):
    use(monkeypatch, RenameFoo)
    assert invoke("--branch", "migrate", "--dry-run", ".").exit_code == 2


def test_from_a_subfolder_only_its_files_change_and_paths_are_from_the_root(repo, monkeypatch):
    use(monkeypatch, RenameQux, RenameFoo)
    (repo / "other").mkdir()
    (repo / "other/d.py").write_bytes(b"foo = 4\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "other")
    monkeypatch.chdir(repo / "pkg")
    assert invoke("--branch", "migrate", "a.py").exit_code == 0
    (commit,) = commits(repo, "migrate")
    assert "- pkg/a.py\n" in git(repo, "log", "-1", "--format=%B", commit)
    assert git(repo, "show", "migrate:other/d.py") == "foo = 4\n"


def test_json_report_of_a_branch(repo, monkeypatch):
    use(monkeypatch, RenameQux, LooksOnly, RenameFoo)
    result = CliRunner().invoke(
        main, ["--format", "json", "--branch", "migrate", "."], catch_exceptions=False
    )
    doc = json.loads(result.stdout)
    assert (doc["mode"], doc["exit_code"], doc["branch"]["name"], doc["branch"]["kept"]) == (
        "branch",
        0,
        "migrate",
        True,
    )
    steps = {step["codemod"]: step for step in doc["branch"]["steps"]}
    assert steps["rename-qux"]["files"] == ["pkg/c.py"] and steps["looks-only"]["commit"] is None
    assert steps["rename-foo"]["commit"] == git(repo, "rev-parse", "migrate").strip()
    files = {entry["path"]: entry for entry in doc["files"]}
    assert files["pkg/a.py"]["status"] == "changed" and len(files["pkg/a.py"]["edits"]) == 2
    assert doc["branch"]["base"] == git(repo, "rev-parse", "main").strip()


def test_real_codemods_on_the_example_build_the_same_tree_as_in_place(tmp_path, monkeypatch):
    """End to end with the real registry on the bookshop: the branch's commits, in registry
    order, add up to exactly what an in-place run writes."""
    in_place = copy_example("bookshop", tmp_path / "in-place")
    repo = copy_example("bookshop", tmp_path / "branch")
    git(repo.parent, "init", "-q", "-b", "main", str(repo))
    for key, value in {
        "user.name": "Test",
        "user.email": "test@example.com",
        "commit.gpgsign": "false",
    }.items():
        git(repo, "config", key, value)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "initial")
    assert invoke(str(in_place)).exit_code == 0
    monkeypatch.chdir(repo)
    before = checkout_state(repo)
    assert invoke("--branch", "migrate", ".").exit_code == 0
    assert checkout_state(repo) == before
    subjects = git(repo, "log", "--reverse", "--format=%s", "main..migrate").splitlines()
    names = [subject.split()[1] for subject in subjects]
    registry_order = [c.name for c in codemods.REGISTRY]
    assert names and names == sorted(names, key=registry_order.index)
    changed = git(repo, "diff", "--name-only", "main", "migrate").split()
    assert changed
    for path in changed:
        assert blob(repo, f"migrate:{path}") == (in_place / path).read_bytes(), path
