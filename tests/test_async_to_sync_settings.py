"""async-to-sync's ``blocking-calls`` and ``safe-decorators`` end to end: the command line
and ``[tool.fastapi-fix.async-to-sync]`` in ``pyproject.toml`` reach project code."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from fastapi_fix import cli

STORE = """\
from vendorlib import connect


def fetch_item(item_id: int):
    return connect("store://").fetch(item_id)


class BaseTable:
    def get(self, key):
        return connect("store://").fetch(key)


class UsersTable(BaseTable):
    pass


Users = UsersTable()
"""
MAIN = """\
import time

from fastapi import FastAPI

from pkg.audit import audited
from pkg.shop import fetch_item
from pkg.store import Users

app = FastAPI()


@app.get("/items/{item_id}")
async def read_item(item_id: int):
    return fetch_item(item_id)


@app.get("/users/{key}")
async def read_user(key: str):
    return Users.get(key)


@app.get("/report")
@audited
async def report():
    time.sleep(1)
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    files = {
        "pkg/__init__.py": "",
        "pkg/store.py": STORE,
        "pkg/shop.py": "from pkg.store import fetch_item\n",
        "pkg/audit.py": "def audited(function):\n    return function\n",
        "pkg/main.py": MAIN,
    }
    for path, code in files.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(code)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _run(*args: str) -> set[str]:
    """The routes of pkg/main.py that are ``def`` after a run with these arguments."""
    result = CliRunner().invoke(
        cli.main, ["--select", "async-to-sync", "-j", "1", *args, "pkg"], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    text = Path("pkg/main.py").read_text()
    return {name for name in ("read_item", "read_user", "report") if f"\ndef {name}(" in text}


def _configure(root: Path, body: str) -> None:
    (root / "pyproject.toml").write_text(
        "[tool.fastapi-fix.async-to-sync]\n" + textwrap.dedent(body)
    )


def test_blocking_calls_option_names_project_functions(project):
    assert _run("--blocking-calls", "pkg.shop.fetch_item,pkg.store.UsersTable.*") == {
        "read_item",
        "read_user",
    }


def test_blocking_calls_setting_names_project_methods(project):
    _configure(project, 'blocking-calls = ["pkg.store.UsersTable.*"]\n')
    assert _run() == {"read_user"}


def test_blocking_calls_spell_a_class_as_its_imports_do(tmp_path, monkeypatch):
    """``pkg/models/`` has no ``__init__.py``: whatever name the engine gives
    ``pkg/models/users.py``, the name the code imports it by matches."""
    for path, code in {
        "pkg/__init__.py": "",
        "pkg/models/users.py": STORE,
        "pkg/main.py": (
            "from fastapi import FastAPI\n\nfrom pkg.models.users import Users\n\n"
            "app = FastAPI()\n\n\n@app.get('/users/{key}')\nasync def read_user(key: str):\n"
            "    return Users.get(key)\n"
        ),
    }.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(code)
    monkeypatch.chdir(tmp_path)
    assert _run("--blocking-calls", "pkg.models.users.UsersTable.*") == {"read_user"}


def test_safe_decorators_spell_a_decorator_as_its_imports_do(tmp_path, monkeypatch):
    """``pkg/auth/`` has no ``__init__.py``: whatever name the engine gives
    ``pkg/auth/checks.py``, the name the code imports the decorator by matches."""
    for path, code in {
        "pkg/__init__.py": "",
        "pkg/auth/checks.py": "def audited(function):\n    return function\n",
        "pkg/main.py": (
            "import time\n\nfrom fastapi import FastAPI\n\nfrom pkg.auth.checks import audited\n\n"
            "app = FastAPI()\n\n\n@app.get('/report')\n@audited\nasync def report():\n"
            "    time.sleep(1)\n"
        ),
    }.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(code)
    monkeypatch.chdir(tmp_path)
    assert _run("--safe-decorators", "pkg.auth.checks.audited") == {"report"}


def test_safe_decorators_option(project):
    assert _run("--safe-decorators", "pkg.audit.audited") == {"report"}


def test_safe_decorators_setting(project):
    _configure(project, 'safe-decorators = ["pkg.audit.*"]\n')
    assert _run() == {"report"}


def test_without_settings_nothing_is_known_to_block_or_to_accept_a_def(project):
    assert _run() == set()
