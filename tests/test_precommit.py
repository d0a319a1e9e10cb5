"""``.pre-commit-hooks.yaml``: each hook's entry, run as pre-commit runs it, does what it says."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest
import yaml  # a dependency of libcst
from click.testing import CliRunner

from fastapi_fix import codemods
from fastapi_fix.cli import main
from tests.engine.toy import RenameFoo, RenameQux

HOOKS = {
    hook["id"]: hook
    for hook in yaml.safe_load(
        (Path(__file__).resolve().parent.parent / ".pre-commit-hooks.yaml").read_text(
            encoding="utf-8"
        )
    )
}


class ProjectWide(RenameQux):
    name = "project-wide"


@pytest.fixture
def staged(tmp_path, monkeypatch):
    monkeypatch.setattr(codemods, "REGISTRY", (RenameFoo, ProjectWide))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.py").write_bytes(b"foo = qux\n")
    (tmp_path / "b.py").write_bytes(b"qux = 1\n")
    return tmp_path


def run_hook(hook_id: str, files: list[str]):
    hook = HOOKS[hook_id]
    command, *args = shlex.split(hook["entry"])
    assert command == "fastapi-fix" and hook["language"] == "python" and hook["types"] == ["python"]
    if hook.get("pass_filenames", True):
        args += files
    return CliRunner().invoke(main, args, catch_exceptions=False)


def test_check_hook_checks_only_the_staged_files(staged):
    result = run_hook("fastapi-fix", ["a.py"])
    assert (result.exit_code, result.stdout) == (1, "would fix a.py\n")
    assert (staged / "a.py").read_bytes() == b"foo = qux\n"


def test_apply_hook_rewrites_only_the_staged_files(staged):
    assert run_hook("fastapi-fix-apply", ["a.py"]).exit_code == 0
    assert (staged / "a.py").read_bytes() == b"bar = quux\n"
    assert (staged / "b.py").read_bytes() == b"qux = 1\n"


def test_project_hook_checks_every_codemod_over_the_repository(staged):
    result = run_hook("fastapi-fix-project", ["ignored.py"])
    assert (result.exit_code, result.stdout) == (1, "would fix a.py\nwould fix b.py\n")
    assert (staged / "b.py").read_bytes() == b"qux = 1\n"
