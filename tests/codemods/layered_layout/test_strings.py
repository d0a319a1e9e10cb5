"""Strings naming moved code: patch targets, entrypoints, config files, and what is reported."""

import pytest

from tests.codemods.layered_layout.helpers import dedent, layout, messages
from tests.codemods.layered_layout.test_imports import SHOP, SINGLE


def shop(tmp_path, **extra):
    files = dict(SHOP)
    files.update(extra)
    return layout(tmp_path, files)


def single(tmp_path, **extra):
    files = dict(SINGLE)
    files.update(extra)
    return layout(tmp_path, files)


PATCH_CASES = [
    pytest.param(
        'mock.patch("shop.crud.list_items")',
        'mock.patch("shop.services.item_service.list_items")',
        id="whole-module-move-prefix",
    ),
    pytest.param(
        'monkeypatch.setattr("shop.config.settings.page_size", 5)',
        'monkeypatch.setattr("shop.core.config.settings.page_size", 5)',
        id="monkeypatch-attribute-chain",
    ),
    pytest.param(
        'mocker.patch("shop.auth.current_user")',
        'mocker.patch("shop.api.v1.dependencies.current_user")',
        id="moved-name-without-consumer-goes-home",
    ),
    pytest.param(
        'mock.patch("shop.auth.hmac.new")',
        'mock.patch("shop.core.security.hmac.new")',
        id="import-binding-looked-up-by-its-one-consumer",
    ),
    pytest.param(
        'mock.patch("shop.crud_extra.thing")',
        'mock.patch("shop.crud_extra.thing")',
        id="never-a-substring",
    ),
    pytest.param(
        'mock.patch.dict("os.environ", {})', 'mock.patch.dict("os.environ", {})', id="not-ours"
    ),
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
    assert any(
        "main.hmac.compare_digest" in m and "looked up in 2 modules" in m for m in messages(change)
    )


def test_entrypoints_in_deployment_files(tmp_path):
    change, files = single(
        tmp_path,
        **{
            "Procfile": "web: uvicorn main:app --host 0.0.0.0 --port $PORT\n",
            "Dockerfile": 'FROM python:3.12\nCOPY pyproject.toml main.py ./\nCMD ["uvicorn", "main:app"]\n',
            "pyproject.toml": '[tool.fastapi]\nentrypoint = "main:app"\n\n[tool.setuptools]\npy-modules = ["main"]\n',
            "Makefile": "run:\n\tuvicorn main:app --reload\nscript:\n\tpython main.py\n",
            ".github/workflows/ci.yml": "jobs:\n  smoke:\n    steps:\n      - run: gunicorn -k uvicorn.workers.UvicornWorker main:app\n",
            "README.md": "Run `uvicorn main:app`.\n\nThe app object is `main:app`.\n",
            "docker-compose.yml": "services:\n  api:\n    command: uvicorn main:app --reload  # not domain:app\n",
            "alembic.ini": "[alembic]\nscript_location = migrations\n",
        },
    )
    assert (
        files["docker-compose.yml"]
        == "services:\n  api:\n    command: uvicorn app.main:app --reload  # not domain:app\n"
    )
    assert files["alembic.ini"] == "[alembic]\nscript_location = migrations\n"
    assert files["Procfile"] == "web: uvicorn app.main:app --host 0.0.0.0 --port $PORT\n"
    assert (
        files["Dockerfile"]
        == 'FROM python:3.12\nCOPY pyproject.toml main.py ./\nCMD ["uvicorn", "app.main:app"]\n'
    )
    assert files["pyproject.toml"].startswith('[tool.fastapi]\nentrypoint = "app.main:app"\n')
    assert files["Makefile"] == "run:\n\tuvicorn app.main:app --reload\nscript:\n\tpython main.py\n"
    assert "UvicornWorker app.main:app" in files[".github/workflows/ci.yml"]
    # A README's server command is rewritten (people copy it); other mentions are reported.
    assert files["README.md"] == "Run `uvicorn app.main:app`.\n\nThe app object is `main:app`.\n"
    reported = messages(change)
    assert "Dockerfile:2: mentions main.py (now app/main.py); update it by hand" in reported
    assert "Makefile:4: mentions main.py (now app/main.py); update it by hand" in reported
    assert (
        "pyproject.toml:5: lists the module main, now inside a package; update it by hand"
        in reported
    )
    assert "README.md:3: mentions main:app, now app.main:app" in reported
    assert not any(m.startswith("README.md:1:") for m in reported)


def test_entrypoint_string_in_python_and_the_script_report(tmp_path):
    main = (
        dedent(SINGLE["main.py"])
        + '\n\nif __name__ == "__main__":\n    import uvicorn\n\n    uvicorn.run("main:app")\n'
    )
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
    assert files["pyproject.toml"] == pyproject.replace(
        '"shop.crud"', '"shop.services.item_service"'
    ).replace('"shop/config.py"', '"shop/core/config.py"')


def test_migrations_env_imports(tmp_path):
    env = "from shop.config import settings\nfrom shop.models import Base\n\ntarget_metadata = Base.metadata\n"
    _change, files = shop(tmp_path, **{"migrations/env.py": env})
    assert files["migrations/env.py"] == env.replace("shop.config", "shop.core.config")


PYTHON_LITERALS = [
    pytest.param(
        'relationship("shop.models.Item")',
        'relationship("shop.models.item.Item")',
        id="orm-qualified-name",
    ),
    pytest.param(
        'logging.getLogger("shop.crud")',
        'logging.getLogger("shop.services.item_service")',
        id="logger",
    ),
    pytest.param('x = "shop.crud_extra"', 'x = "shop.crud_extra"', id="substring"),
    pytest.param(
        'x = "shop.crud.nothing_there"', 'x = "shop.crud.nothing_there"', id="unknown-attribute"
    ),
    pytest.param('x = "see shop.crud"', 'x = "see shop.crud"', id="prose"),
]


@pytest.mark.parametrize(("before", "expected"), PYTHON_LITERALS)
def test_python_literals(tmp_path, before, expected):
    _change, files = shop(tmp_path, **{"scripts/tool.py": before + "\n"})
    assert files["scripts/tool.py"] == expected + "\n"


def test_dynamic_imports(tmp_path):
    script = (
        'import importlib\n\nimportlib.import_module("shop.crud")\nimportlib.import_module(name)\n'
    )
    change, files = shop(tmp_path, **{"shop/plugins.py": script})
    assert 'importlib.import_module("shop.services.item_service")' in "".join(files.values())
    reported = messages(change)
    assert any(m.startswith("shop/plugins.py:3: dynamic import of shop.crud") for m in reported)
    assert (
        "shop/plugins.py:4: dynamic import with a computed name: check it still finds its module"
        in reported
    )


def test_celery_task_names_are_reported_not_rewritten(tmp_path):
    script = 'def enqueue(celery):\n    celery.send_task("shop.crud.list_items")\n'
    change, files = shop(tmp_path, **{"scripts/enqueue.py": script})
    assert files["scripts/enqueue.py"] == script
    assert any(
        m.startswith("scripts/enqueue.py:2: task name 'shop.crud.list_items'")
        for m in messages(change)
    )


def test_file_relative_paths_in_moved_code_are_reported(tmp_path):
    config = (
        "from pathlib import Path\n\n\nclass Settings:\n    templates = Path(__file__).parent / 'templates'\n"
        "\n\nsettings = Settings()\n"
    )
    change, _files = shop(tmp_path, **{"shop/config.py": config})
    assert (
        "shop/config.py:5: uses __file__, and this code moves to shop/core/config.py: check the paths built "
        "from it"
    ) in messages(change)


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
        "shop/crud.py:10: task shop.crud.rebuild_index becomes shop.services.item_service.rebuild_index: "
        'queued messages carry the old name; pin name="shop.crud.rebuild_index" on @shared_task to keep it'
    ]


def test_a_moved_schema_whose_name_another_module_uses_is_reported(tmp_path):
    out = "from pydantic import BaseModel\n\n\nclass Out(BaseModel):\n    id: int\n"
    change, _files = shop(tmp_path, **{"shop/schemas.py": out, "shop/legacy.py": out})
    assert [m for m in messages(change) if "Out is also defined" in m] == [
        "shop/legacy.py:4: Out is also defined in another module: FastAPI names its OpenAPI component after the "
        "module, which changes with this move"
    ]  # schemas.py keeps its Out: api/v1/schemas.py has one already


# -- row 13: logging configuration (dictConfig dicts, JSON, YAML, fileConfig INI) -----------

AUDIT_CRUD = (
    "import logging\n\n"
    + dedent(SHOP["shop/crud.py"])
    + dedent("""\


    class AuditFormatter(logging.Formatter):
        pass


    class AuditHandler(logging.Handler):
        pass
    """)
)


def test_logging_dict_config_in_python(tmp_path):
    settings = dedent("""\
        LOGGING = {
            "formatters": {"audit": {"()": "shop.crud.AuditFormatter"}},
            "handlers": {
                "audit": {"class": "shop.crud.AuditHandler", "formatter": "audit"},
                "stdout": {"class": "logging.StreamHandler", "stream": "ext://sys.stdout"},
            },
            "loggers": {"shop.crud": {"handlers": ["audit"]}},
        }
        """)
    _change, files = shop(tmp_path, **{"shop/crud.py": AUDIT_CRUD, "shop/logconf.py": settings})
    assert files["shop/logconf.py"] == settings.replace("shop.crud", "shop.services.item_service")


LOGGING_FILES = [
    pytest.param(
        "logging.json",
        '{\r\n  "formatters": {"audit": {"()": "shop.crud.AuditFormatter"}},\r\n'
        '  "handlers": {"audit": {"class": "shop.crud.AuditHandler", "filename": "logs/shop.crud.AuditHandler"}},\r\n'
        '  "loggers": {"shop.crud": {"level": "INFO"}}\r\n}\r\n',
        '{\r\n  "formatters": {"audit": {"()": "shop.services.item_service.AuditFormatter"}},\r\n'
        '  "handlers": {"audit": {"class": "shop.services.item_service.AuditHandler", '
        '"filename": "logs/shop.crud.AuditHandler"}},\r\n'
        '  "loggers": {"shop.services.item_service": {"level": "INFO"}}\r\n}\r\n',
        id="json-crlf",
    ),
    pytest.param(
        "logconf.prod.json",
        '{"handlers": {"audit": {"class": "shop.crud.AuditHandler"}}}',
        '{"handlers": {"audit": {"class": "shop.services.item_service.AuditHandler"}}}',
        id="logconf-json-without-final-newline",
    ),
    pytest.param(
        "logging.yaml",
        "version: 1\nformatters:\n  audit:\n    (): shop.crud.AuditFormatter  # our JSON lines\n"
        "handlers:\n  audit:\n    class: 'shop.crud.AuditHandler'\n    formatter: audit\n",
        "version: 1\nformatters:\n  audit:\n    (): shop.services.item_service.AuditFormatter  # our JSON lines\n"
        "handlers:\n  audit:\n    class: 'shop.services.item_service.AuditHandler'\n    formatter: audit\n",
        id="yaml",
    ),
    pytest.param(
        "logging.yml",
        "handlers:\n  audit:\n    class: shop.crud.AuditHandler\n",
        "handlers:\n  audit:\n    class: shop.services.item_service.AuditHandler\n",
        id="yml",
    ),
    pytest.param(
        "logging.ini",
        "[handler_audit]\nclass=shop.crud.AuditHandler\nargs=('shop.crud.log', 'a')\n\n"
        "[formatter_audit]\nclass = shop.crud.AuditFormatter\n",
        "[handler_audit]\nclass=shop.services.item_service.AuditHandler\nargs=('shop.crud.log', 'a')\n\n"
        "[formatter_audit]\nclass = shop.services.item_service.AuditFormatter\n",
        id="ini-file-config-args-filename-kept",
    ),
    pytest.param(
        "logging.conf",
        "[logger_crud]\nqualname=shop.crud\nhandlers=audit\n\n[handler_audit]\nclass=shop.crud.AuditHandler\n",
        "[logger_crud]\nqualname=shop.services.item_service\nhandlers=audit\n\n"
        "[handler_audit]\nclass=shop.services.item_service.AuditHandler\n",
        id="conf-logger-qualname",
    ),
]


@pytest.mark.parametrize(("name", "before", "expected"), LOGGING_FILES)
def test_logging_config_files(tmp_path, name, before, expected):
    (tmp_path / name).write_bytes(before.encode())  # as bytes: the CRLF case stays CRLF
    _change, files = shop(tmp_path, **{"shop/crud.py": AUDIT_CRUD})
    assert files[name] == expected


LOGGING_LOOKALIKES = [
    pytest.param('{"class": "shop.crud_extra.AuditHandler"}', id="module-name-prefix"),
    pytest.param('{"class": "myshop.crud.AuditHandler"}', id="other-package-suffix"),
    pytest.param('{"class": "vendor.shop.crud.AuditHandler"}', id="inside-a-longer-path"),
    pytest.param('{"class": "shop.crud.AuditHandlerV2"}', id="name-the-module-does-not-define"),
    pytest.param('{"class": "logging.handlers.RotatingFileHandler"}', id="not-ours"),
]


@pytest.mark.parametrize("before", LOGGING_LOOKALIKES)
def test_logging_config_lookalikes_are_left(tmp_path, before):
    (tmp_path / "logging.json").write_text(before)
    _change, files = shop(tmp_path, **{"shop/crud.py": AUDIT_CRUD})
    assert files["logging.json"] == before


def test_other_json_files_are_not_scanned(tmp_path):
    fixture = '{"class": "shop.crud.AuditHandler"}\n'
    _change, files = shop(
        tmp_path, **{"shop/crud.py": AUDIT_CRUD, "tests/fixtures/handlers.json": fixture}
    )
    assert files["tests/fixtures/handlers.json"] == fixture


# -- row 17: data outside the repository (queues, job stores) is reported, never rewritten --

QUEUED_CRUD = dedent("""\
    import dramatiq
    from celery import shared_task
    from myjobs import job as house_job
    from rq.decorators import job

    from .models import Item
    from .scheduling import scheduler


    def list_items(db, limit):
        return db.query(Item).limit(limit).all()


    @job("default")
    def reindex():
        pass


    @dramatiq.actor(queue_name="mail")
    def send_mail():
        pass


    @scheduler.scheduled_job("interval", hours=1)
    def purge():
        pass


    @shared_task
    def rebuild_index():
        pass


    @house_job
    def not_queued():
        pass
    """)


def queue_messages(change):
    return [m for m in messages(change) if "queued" in m]


def test_moved_queue_tasks_and_scheduled_jobs_are_reported(tmp_path):
    change, files = shop(
        tmp_path, **{"shop/crud.py": QUEUED_CRUD, "shop/scheduling.py": "scheduler = None\n"}
    )
    # reported only: the decorators are left as they are (no name is pinned for the user)
    assert files["shop/services/item_service.py"] == QUEUED_CRUD.replace("from .", "from ..")
    assert queue_messages(change) == [
        "shop/crud.py:14: RQ job shop.crud.reindex becomes shop.services.item_service.reindex: queued messages or "
        "job stores may still name `shop.crud.reindex`; drain queues before deploying",
        "shop/crud.py:19: dramatiq actor send_mail moves from shop.crud to shop.services.item_service: its messages "
        "name the actor, not the module, so queued ones still match once the workers import "
        "shop.services.item_service",
        "shop/crud.py:24: APScheduler job shop.crud:purge becomes shop.services.item_service:purge: queued messages "
        "or job stores may still name `shop.crud:purge`; drain queues before deploying",
        "shop/crud.py:29: task shop.crud.rebuild_index becomes shop.services.item_service.rebuild_index: queued "
        'messages carry the old name; pin name="shop.crud.rebuild_index" on @shared_task to keep it',
    ]


SCHEDULING = dedent("""\
    from . import crud
    from .crud import list_items


    def schedule(scheduler, queue):
        scheduler.add_job(crud.list_items, "interval", minutes=5)
        scheduler.add_job("shop.crud:list_items", "interval")
        scheduler.add_job(func=list_items)
        queue.enqueue("shop.crud.list_items", None, 10)
        queue.enqueue_in(60, list_items)
    """)


def test_jobs_added_for_moved_functions_are_reported_and_their_strings_rewritten(tmp_path):
    change, files = shop(tmp_path, **{"shop/jobs.py": SCHEDULING})
    assert files["shop/jobs.py"] == SCHEDULING.replace(
        "from . import crud\nfrom .crud import list_items",
        "from .services import item_service as crud\nfrom .services.item_service import list_items",
    ).replace('"shop.crud:', '"shop.services.item_service:').replace(
        '"shop.crud.', '"shop.services.item_service.'
    )
    aps = (
        "APScheduler job shop.crud:list_items becomes shop.services.item_service:list_items: queued messages or "
        "job stores may still name `shop.crud:list_items`; drain queues before deploying"
    )
    rq = (
        "RQ job shop.crud.list_items becomes shop.services.item_service.list_items: queued messages or job "
        "stores may still name `shop.crud.list_items`; drain queues before deploying"
    )
    assert queue_messages(change) == [
        f"shop/jobs.py:6: {aps}",
        f"shop/jobs.py:7: {aps}",
        f"shop/jobs.py:8: {aps}",
        f"shop/jobs.py:9: {rq}",
        f"shop/jobs.py:10: {rq}",
    ]


def test_jobs_for_code_that_stays_or_lookalike_names_are_not_reported(tmp_path):
    jobs = dedent("""\
        from . import config


        def schedule(scheduler, queue):
            scheduler.add_job("shop.crud_extra:list_items")
            scheduler.add_job("myshop.crud:list_items")
            scheduler.add_job(print)
            queue.enqueue(config.nothing_there)
            queue.enqueue(helper)


        def helper():
            pass
        """)
    change, files = shop(tmp_path, **{"shop/jobs.py": jobs})
    assert files["shop/jobs.py"] == jobs.replace("from . import config", "from .core import config")
    assert queue_messages(change) == []
