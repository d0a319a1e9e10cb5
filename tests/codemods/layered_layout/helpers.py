"""Small projects on disk, planned and laid out in memory or for real."""

from __future__ import annotations

import subprocess
import textwrap
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fastapi_fix.codemods.layered_layout.codemod import LayeredLayout
from fastapi_fix.engine.codemod import Settings
from fastapi_fix.engine.discover import discover
from fastapi_fix.engine.project_change import ProjectChange
from fastapi_fix.project.modules import name_modules

GIT_IDENTITY = ("-c", "user.name=test", "-c", "user.email=test@example.com")


def write_project(root: Path, files: Mapping[str, str]) -> Path:
    """Create ``files`` (dedented) under ``root``; folders holding .py files get no
    ``__init__.py`` unless listed."""
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return root


def plan(root: Path, **options: Any) -> ProjectChange:
    codemod = LayeredLayout(Settings(options={"layered-layout": options}))
    return codemod.plan_project(root, name_modules(discover([root]), root).files)


def layout(
    root: Path, files: Mapping[str, str], **options: Any
) -> tuple[ProjectChange, dict[str, str]]:
    """Plan a project and return the change and every file after it, as text."""
    write_project(root, files)
    change = plan(root, **options)
    return change, after(root, change)


def after(root: Path, change: ProjectChange) -> dict[str, str]:
    """The project's files once ``change`` is applied, computed in memory."""
    files = {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in root.rglob("*")
        if p.is_file() and ".git" not in p.relative_to(root).parts
    }
    for file in change.files:
        if file.old_path is not None:
            files.pop(file.old_path, None)
        if file.new_path is not None:
            files[file.new_path] = file.new if file.new is not None else file.old or b""
    return {name: data.decode("utf-8") for name, data in files.items()}


def dedent(text: str) -> str:
    return textwrap.dedent(text)


def messages(change: ProjectChange) -> list[str]:
    return [f"{f.path}:{f.line}: {f.message}" for f in change.findings]


def git(root: Path, *args: str) -> str:
    completed = subprocess.run(
        ["git", *GIT_IDENTITY, *args], cwd=root, capture_output=True, text=True, check=True
    )
    return completed.stdout


def commit_all(root: Path) -> None:
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "before the layout")
