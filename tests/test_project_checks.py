"""The project's own checks stay one command: CI runs the README's, pre-commit the same tools."""

from __future__ import annotations

import sys
from pathlib import Path

import yaml  # a dependency of libcst

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent


def _readme_test_command() -> str:
    """The second command of the README's Quick start."""
    quick_start = (ROOT / "README.md").read_text(encoding="utf-8").split("## Quick start")[1]
    blocks = quick_start.split("## ")[0].split("```console\n")[1:]
    return blocks[1].split("\n```")[0].strip()


def _pinned(package: str) -> str:
    dev = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"][
        "optional-dependencies"
    ]["dev"]
    return next(spec.split("==")[1] for spec in dev if spec.startswith(f"{package}=="))


def test_ci_runs_the_readme_test_command_with_every_check():
    command = _readme_test_command()
    assert command in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    steps = [step.strip() for step in command.split("&&")]
    assert steps[-4:] == [
        ".venv/bin/ruff format --check .",
        ".venv/bin/ruff check .",
        ".venv/bin/mypy",
        ".venv/bin/python -m pytest",
    ]
    assert '".[test,dev]"' in steps[1]


def test_pre_commit_runs_the_pinned_ruff_and_the_venvs_mypy():
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text(encoding="utf-8"))
    repos = {repo["repo"]: repo for repo in config["repos"]}
    ruff = repos["https://github.com/astral-sh/ruff-pre-commit"]
    assert ruff["rev"] == f"v{_pinned('ruff')}"
    assert {hook["id"] for hook in ruff["hooks"]} == {"ruff-format", "ruff-check"}
    (mypy,) = repos["local"]["hooks"]
    assert mypy["entry"] == ".venv/bin/mypy"
