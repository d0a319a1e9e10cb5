"""Issue 10, case 1: a change that spans files never lands half-way.

``app/db.py`` defines ``get_db``; ``app/main.py`` uses it twice. When the run may not write
``db.py`` (not named, as in the pre-commit hook; excluded; read-only), ``main.py`` must not
import an alias from it: its uses are written out in full, the project still imports, and a
second run changes nothing.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from fastapi_fix.cli import main
from tests.codemods.test_depends_to_annotated_fixed import DB, ROUTES, ROUTES_INLINE
from tests.helpers import make_project


def invoke(*args: str) -> int:
    result = CliRunner().invoke(main, ["--select", "depends-to-annotated", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code


def imports(root: Path, module: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", f"import {module}"],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / ".git").mkdir()  # the project root: the other files are read for context
    make_project(
        tmp_path,
        {"app/__init__.py": b"", "app/db.py": DB.encode(), "app/main.py": ROUTES.encode()},
    )
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _not_named(root: Path) -> list[str]:
    return ["app/main.py"]


def _excluded(root: Path) -> list[str]:
    return ["--exclude", "app/db.py", "."]


def _read_only(root: Path) -> list[str]:
    # Mode bits, not os.access: the engine refuses a file without the owner's write bit
    # even when running as root (who could write it anyway), so this holds for root too.
    (root / "app/db.py").chmod(0o444)
    return ["."]


def _hard_linked(root: Path) -> list[str]:
    # Another name of db.py outside the project (a `cp -al` backup, say): never written.
    os.link(root / "app/db.py", root.parent / f"{root.name}-db-backup.py")
    return ["."]


@pytest.mark.parametrize("args", [_not_named, _excluded, _read_only, _hard_linked])
def test_provider_not_written_the_project_still_imports(
    project: Path, args: Callable[[Path], list[str]]
) -> None:
    arguments = args(project)
    assert imports(project, "app.main").returncode == 0  # the test's own premise
    assert invoke(*arguments) == 0
    assert (project / "app/db.py").read_text() == DB
    assert (project / "app/main.py").read_text() == ROUTES_INLINE
    completed = imports(project, "app.main")
    assert completed.returncode == 0, completed.stderr
    assert invoke(*arguments) == 0  # a second run: nothing left to do
    assert (project / "app/main.py").read_text() == ROUTES_INLINE
    assert invoke(".") == 0  # nor does a run over the whole project afterwards
    assert imports(project, "app.main").returncode == 0


def test_both_named_the_alias_is_shared_and_the_project_imports(project: Path) -> None:
    assert invoke(".") == 0
    assert "SessionDep = Annotated[Session, Depends(get_db)]" in (project / "app/db.py").read_text()
    assert "from .db import SessionDep" in (project / "app/main.py").read_text()
    completed = imports(project, "app.main")
    assert completed.returncode == 0, completed.stderr


def test_the_import_gate_keeps_a_rewrite_that_would_break_an_unwritten_importer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A codemod that renames a definition without declaring who imports it (here the toy
    rename-foo, run on the provider alone) must not land: ``user.py``, not written, still
    imports the old name. The gate refuses the change set, names the import, exit 123."""
    from fastapi_fix import codemods
    from tests.engine.toy import RenameFooTogether, use_toy_codemods

    (tmp_path / ".git").mkdir()
    make_project(
        tmp_path,
        {"provider.py": b"def foo():\n    return 1\n", "user.py": b"from provider import foo\n"},
    )
    use_toy_codemods(monkeypatch, tmp_path)
    result = CliRunner().invoke(main, ["provider.py"])
    assert result.exit_code == 123, result.output
    assert "user.py:1:1: cannot import name 'foo' from 'provider'" in result.output
    assert (tmp_path / "provider.py").read_bytes() == b"def foo():\n    return 1\n"
    # Both named, but two change sets: each alone breaks the other's imports, so neither lands.
    assert CliRunner().invoke(main, ["provider.py", "user.py"]).exit_code == 123
    assert (tmp_path / "user.py").read_bytes() == b"from provider import foo\n"
    # Declared as one change set (``ctx.require``), the same rewrite is consistent: written.
    monkeypatch.setattr(codemods, "REGISTRY", (RenameFooTogether,))
    assert CliRunner().invoke(main, ["provider.py", "user.py"]).exit_code == 0
    assert (tmp_path / "user.py").read_bytes() == b"from provider import bar\n"
    assert (tmp_path / "provider.py").read_bytes() == b"def bar():\n    return 1\n"
