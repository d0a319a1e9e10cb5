"""Strings naming moved code: patch targets, entrypoints, config files, and what is reported."""

import pytest

from tests.layout.helpers import dedent, layout, messages
from tests.layout.test_imports import SHOP, SINGLE


def shop(tmp_path, **extra):
    files = dict(SHOP)
    files.update(extra)
    return layout(tmp_path, files)


def single(tmp_path, **extra):
    files = dict(SINGLE)
    files.update(extra)
    return layout(tmp_path, files)


PATCH_CASES = [
    pytest.param('mock.patch("shop.crud.list_items")', 'mock.patch("shop.services.item_service.list_items")',
                 id="whole-module-move-prefix"),
    pytest.param('monkeypatch.setattr("shop.config.settings.page_size", 5)',
                 'monkeypatch.setattr("shop.core.config.settings.page_size", 5)', id="monkeypatch-attribute-chain"),
    pytest.param('mocker.patch("shop.auth.current_user")', 'mocker.patch("shop.api.v1.dependencies.current_user")',
                 id="moved-name-without-consumer-goes-home"),
    pytest.param('mock.patch("shop.auth.hmac.new")', 'mock.patch("shop.core.security.hmac.new")',
                 id="import-binding-looked-up-by-its-one-consumer"),
    pytest.param('mock.patch("shop.crud_extra.thing")', 'mock.patch("shop.crud_extra.thing")',
                 id="never-a-substring"),
    pytest.param('mock.patch.dict("os.environ", {})', 'mock.patch.dict("os.environ", {})', id="not-ours"),
]


@pytest.mark.parametrize(("before", "expected"), PATCH_CASES)
def test_patch_targets(tmp_path, before, expected):
    test = f"from unittest import mock\n\n\ndef test_it(monkeypatch, mocker):\n    {before}\n"
    _change, files = shop(tmp_path, **{"tests/test_it.py": test})
    assert files["tests/test_it.py"] == test.replace(before, expected)


def test_patch_target_follows_the_name_to_the_module_that_looks_it_up(tmp_path):
    """``patch("main.sign")``: after the split, ``sign`` is defined in core/security.py but
    looked up by the route in api/v1/routes.py, so that is where the patch must go."""
    _change, files = single(tmp_path)
    assert 'patch("app.api.v1.routes.sign", return_value="fake")' in files["tests/test_main.py"]


def test_ambiguous_patch_target_is_reported_and_left(tmp_path):
    main = dedent(SINGLE["main.py"]) + dedent("""\


        @app.get("/check")
        def check(payload: str, signature: str):
            return {"ok": hmac.compare_digest(sign(payload), signature)}
        """)
    test = 'from unittest.mock import patch\n\n\ndef test_it():\n    patch("main.hmac.compare_digest")\n'
    change, files = single(tmp_path, **{"main.py": main, "tests/test_main.py": test})
    assert files["tests/test_main.py"] == test
    assert any("main.hmac.compare_digest" in m and "looked up in 2 modules" in m for m in messages(change))


def test_entrypoints_in_deployment_files(tmp_path):
    change, files = single(tmp_path, **{
        "Procfile": "web: uvicorn main:app --host 0.0.0.0 --port $PORT\n",
        "Dockerfile": 'FROM python:3.12\nCOPY pyproject.toml main.py ./\nCMD ["uvicorn", "main:app"]\n',
        "pyproject.toml": '[tool.fastapi]\nentrypoint = "main:app"\n\n[tool.setuptools]\npy-modules = ["main"]\n',
        "Makefile": "run:\n\tuvicorn main:app --reload\nscript:\n\tpython main.py\n",
        ".github/workflows/ci.yml": "jobs:\n  smoke:\n    steps:\n      - run: gunicorn -k uvicorn.workers.UvicornWorker main:app\n",
        "README.md": "Run `uvicorn main:app`.\n",
        "docker-compose.yml": "services:\n  api:\n    command: uvicorn main:app --reload  # not domain:app\n",
        "alembic.ini": "[alembic]\nscript_location = migrations\n",
    })
    assert files["docker-compose.yml"] == "services:\n  api:\n    command: uvicorn app.main:app --reload  # not domain:app\n"
    assert files["alembic.ini"] == "[alembic]\nscript_location = migrations\n"
    assert files["Procfile"] == "web: uvicorn app.main:app --host 0.0.0.0 --port $PORT\n"
    assert files["Dockerfile"] == 'FROM python:3.12\nCOPY pyproject.toml main.py ./\nCMD ["uvicorn", "app.main:app"]\n'
    assert files["pyproject.toml"].startswith('[tool.fastapi]\nentrypoint = "app.main:app"\n')
    assert files["Makefile"] == "run:\n\tuvicorn app.main:app --reload\nscript:\n\tpython main.py\n"
    assert "UvicornWorker app.main:app" in files[".github/workflows/ci.yml"]
    assert files["README.md"] == "Run `uvicorn main:app`.\n"
    reported = messages(change)
    assert "Dockerfile:2: mentions main.py (now app/main.py); update it by hand" in reported
    assert "Makefile:4: mentions main.py (now app/main.py); update it by hand" in reported
    assert "pyproject.toml:5: lists the module main, now inside a package; update it by hand" in reported
    assert "README.md:1: mentions main:app, now app.main:app" in reported


def test_entrypoint_string_in_python_and_the_script_report(tmp_path):
    main = dedent(SINGLE["main.py"]) + '\n\nif __name__ == "__main__":\n    import uvicorn\n\n    uvicorn.run("main:app")\n'
    change, files = single(tmp_path, **{"main.py": main})
    assert files["app/main.py"].endswith('    uvicorn.run("app.main:app")\n')
    assert "main.py:1: runs as a script; run it as `python -m app.main` now" in messages(change)


def test_tool_config_module_paths_match_exactly(tmp_path):
    pyproject = dedent("""\
        [[tool.mypy.overrides]]
        module = "shop.crud"

        [[tool.mypy.overrides]]
        module = "shop.crud_extra"

        [tool.coverage.run]
        omit = ["shop/config.py", "shop/configuration.py"]
        """)
    _change, files = shop(tmp_path, **{"pyproject.toml": pyproject})
    assert files["pyproject.toml"] == pyproject.replace('"shop.crud"', '"shop.services.item_service"').replace(
        '"shop/config.py"', '"shop/core/config.py"')


def test_migrations_env_imports(tmp_path):
    env = "from shop.config import settings\nfrom shop.models import Base\n\ntarget_metadata = Base.metadata\n"
    _change, files = shop(tmp_path, **{"migrations/env.py": env})
    assert files["migrations/env.py"] == env.replace("shop.config", "shop.core.config")


PYTHON_LITERALS = [
    pytest.param('relationship("shop.models.Item")', 'relationship("shop.models.item.Item")', id="orm-qualified-name"),
    pytest.param('logging.getLogger("shop.crud")', 'logging.getLogger("shop.services.item_service")', id="logger"),
    pytest.param('x = "shop.crud_extra"', 'x = "shop.crud_extra"', id="substring"),
    pytest.param('x = "shop.crud.nothing_there"', 'x = "shop.crud.nothing_there"', id="unknown-attribute"),
    pytest.param('x = "see shop.crud"', 'x = "see shop.crud"', id="prose"),
]


@pytest.mark.parametrize(("before", "expected"), PYTHON_LITERALS)
def test_python_literals(tmp_path, before, expected):
    _change, files = shop(tmp_path, **{"scripts/tool.py": before + "\n"})
    assert files["scripts/tool.py"] == expected + "\n"


def test_dynamic_imports(tmp_path):
    script = 'import importlib\n\nimportlib.import_module("shop.crud")\nimportlib.import_module(name)\n'
    change, files = shop(tmp_path, **{"shop/plugins.py": script})
    assert 'importlib.import_module("shop.services.item_service")' in "".join(files.values())
    reported = messages(change)
    assert any(m.startswith("shop/plugins.py:3: dynamic import of shop.crud") for m in reported)
    assert "shop/plugins.py:4: dynamic import with a computed name: check it still finds its module" in reported


def test_celery_task_names_are_reported_not_rewritten(tmp_path):
    script = 'def enqueue(celery):\n    celery.send_task("shop.crud.list_items")\n'
    change, files = shop(tmp_path, **{"scripts/enqueue.py": script})
    assert files["scripts/enqueue.py"] == script
    assert any(m.startswith("scripts/enqueue.py:2: task name 'shop.crud.list_items'") for m in messages(change))


def test_file_relative_paths_in_moved_code_are_reported(tmp_path):
    config = "from pathlib import Path\n\n\nclass Settings:\n    templates = Path(__file__).parent / 'templates'\n" \
             "\n\nsettings = Settings()\n"
    change, _files = shop(tmp_path, **{"shop/config.py": config})
    assert ("shop/config.py:5: uses __file__, and this code moves to shop/core/config.py: check the paths built "
            "from it") in messages(change)


def test_patch_object_on_a_split_module_targets_the_module_that_looks_the_name_up(tmp_path):
    test = dedent("""\
        from unittest import mock

        import main


        def test_it(monkeypatch):
            monkeypatch.setattr(main, "sign", lambda payload: "fake")
            with mock.patch.object(main, "SECRET", b"other"):
                pass
        """)
    _change, files = single(tmp_path, **{"tests/test_main.py": test})
    assert files["tests/test_main.py"] == dedent("""\
        from unittest import mock

        from app.api.v1 import routes
        from app.core import security


        def test_it(monkeypatch):
            monkeypatch.setattr(routes, "sign", lambda payload: "fake")
            with mock.patch.object(security, "SECRET", b"other"):
                pass
        """)


def test_moved_celery_tasks_are_reported(tmp_path):
    crud = dedent("""\
        from celery import shared_task

        from .models import Item


        def list_items(db, limit):
            return db.query(Item).limit(limit).all()


        @shared_task
        def rebuild_index():
            pass


        @shared_task(name="shop.tasks.named")
        def named():
            pass
        """)
    change, _files = shop(tmp_path, **{"shop/crud.py": crud})
    assert [m for m in messages(change) if "task " in m] == [
        'shop/crud.py:10: task shop.crud.rebuild_index becomes shop.services.item_service.rebuild_index: '
        'queued messages carry the old name; pin name="shop.crud.rebuild_index" on @shared_task to keep it']


def test_a_moved_schema_whose_name_another_module_uses_is_reported(tmp_path):
    out = "from pydantic import BaseModel\n\n\nclass Out(BaseModel):\n    id: int\n"
    change, _files = shop(tmp_path, **{"shop/schemas.py": out, "shop/legacy.py": out})
    assert [m for m in messages(change) if "Out is also defined" in m] == [
        "shop/legacy.py:4: Out is also defined in another module: FastAPI names its OpenAPI component after the "
        "module, which changes with this move"]  # schemas.py keeps its Out: api/v1/schemas.py has one already
