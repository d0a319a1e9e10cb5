"""Which module is each file: import roots by evidence, names by round trip.

Each layout is one a real project has (see the cases' names); the names are checked
directly, and end to end through the CLI where a codemod depends on them: a background task
registered in one module and defined in another is found (and wrapped) only when the
defining file's name is the one the route imports, and its logged name is that full name.
"""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from fastapi_fix.cli import main
from fastapi_fix.project.modules import module_names
from tests.helpers import make_project

TASK = b"def {name}(to):\n    print('sending', to)\n"

ROUTE = b"""\
from fastapi import APIRouter, BackgroundTasks
{imports}

router = APIRouter()


@router.post("/send")
def register(background_tasks: BackgroundTasks):
    background_tasks.add_task({task}, "a@b.c")
"""


def _task(name: str) -> bytes:
    return TASK.replace(b"{name}", name.encode())


def _route(imports: str, task: str) -> bytes:
    return ROUTE.replace(b"{imports}", imports.encode()).replace(b"{task}", task.encode())


def _names(root: Path) -> dict[str, str]:
    paths = sorted(root.rglob("*.py"))
    found = module_names(paths, root, Path.read_bytes)
    return {p.relative_to(root).as_posix(): found.names[p] for p in paths}


def _roots(root: Path) -> list[tuple[str, str]]:
    found = module_names(sorted(root.rglob("*.py")), root, Path.read_bytes)
    return [(r.path.relative_to(root).as_posix(), r.kind) for r in found.roots]


def _fix_tasks(root: Path) -> str:
    """The dry-run diff of background-task-logging over the project at ``root``."""
    (root / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    result = CliRunner().invoke(
        main,
        ["--dry-run", "--select", "background-task-logging", str(root)],
        catch_exceptions=False,
    )
    assert result.exit_code in (0, 1), result.output
    return result.output


def _logged(name: str) -> str:
    return f'logger.exception("Background task %s failed", "{name}")'


# -- hng: the root holds an __init__.py, `api/` has none (PEP 420) ---------------------------

HNG = {
    "__init__.py": b"",
    "main.py": b"from api.v1.routes.auth import router\n",
    "api/core/__init__.py": b"",
    "api/core/dependencies/__init__.py": b"",
    "api/core/dependencies/email_sender.py": _task("send_email"),
    "api/v1/__init__.py": b"",
    "api/v1/routes/__init__.py": b"",
    "api/v1/routes/auth.py": _route(
        "from api.core.dependencies.email_sender import send_email", "send_email"
    ),
}


def test_hng_files_are_named_from_the_root_they_run_from(tmp_path):
    names = _names(make_project(tmp_path, HNG))
    assert names["api/core/dependencies/email_sender.py"] == "api.core.dependencies.email_sender"
    assert names["api/v1/routes/auth.py"] == "api.v1.routes.auth"
    assert names["main.py"] == "main"  # not named after the checkout's folder
    assert _roots(tmp_path) == [(".", "project")]


def test_hng_task_registered_in_a_route_module_is_wrapped_with_its_full_name(tmp_path):
    output = _fix_tasks(make_project(tmp_path, HNG))
    assert "not defined in this project" not in output
    assert _logged("api.core.dependencies.email_sender.send_email") in output


# -- app P: PEP 420 folders below a regular package, under `backend/` ------------------------

APP_P = {
    "backend/appp/__init__.py": b"",
    "backend/appp/main.py": b"from appp.routers.users import router\n",
    "backend/appp/models/users.py": _task("notify"),
    "backend/appp/routers/users.py": _route("from appp.models.users import notify", "notify"),
}


def test_app_p_is_named_from_the_backend_folder(tmp_path):
    names = _names(make_project(tmp_path, APP_P))
    assert names["backend/appp/models/users.py"] == "appp.models.users"
    assert names["backend/appp/main.py"] == "appp.main"
    assert ("backend", "evidence") in _roots(tmp_path)


def test_app_p_task_in_a_namespace_folder_is_wrapped(tmp_path):
    output = _fix_tasks(make_project(tmp_path, APP_P))
    assert _logged("appp.models.users.notify") in output


def test_a_folder_inside_a_package_is_not_a_root(tmp_path):
    # `import mcp` in appp/utils/client.py means the library, even though a local
    # appp/utils/mcp/ folder would resolve it from appp/utils/ (a folder inside a package).
    files = {
        **APP_P,
        "backend/appp/utils/client.py": b"import mcp\n",
        "backend/appp/utils/mcp/server.py": b"X = 1\n",
    }
    names = _names(make_project(tmp_path, files))
    assert names["backend/appp/utils/mcp/server.py"] == "appp.utils.mcp.server"
    assert _roots(tmp_path) == [(".", "project"), ("backend", "evidence")]


# -- a bare-import app run from its own folder -----------------------------------------------

SQL_APP = {
    "sql_app/main.py": _route("import crud", "crud.send_report"),
    "sql_app/crud.py": _task("send_report"),
    # Another `crud.py` elsewhere, never imported by its bare name.
    "admin/crud.py": _task("send_report"),
    "tests/test_main.py": b"from sql_app.main import router\n",
}


def test_bare_import_folder_is_a_root(tmp_path):
    names = _names(make_project(tmp_path, SQL_APP))
    assert names["sql_app/crud.py"] == "crud"
    assert names["sql_app/main.py"] == "main"
    assert names["admin/crud.py"] == "admin.crud"
    assert _roots(tmp_path) == [(".", "project"), ("sql_app", "evidence")]


def test_bare_import_task_is_wrapped(tmp_path):
    output = _fix_tasks(make_project(tmp_path, SQL_APP))
    assert _logged("crud.send_report") in output
    assert "admin/crud.py" not in output


# -- src/ layouts ----------------------------------------------------------------------------

SRC = {
    "src/app/main.py": b"from app.routers.channels import router\n",
    "src/app/routers/__init__.py": b"",
    "src/app/routers/channels.py": _route("", "send_notification")
    + b"\n\n"
    + _task("send_notification"),
}


def test_src_layout_names_keep_their_leading_package(tmp_path):
    names = _names(make_project(tmp_path, SRC))
    assert names["src/app/routers/channels.py"] == "app.routers.channels"
    assert _roots(tmp_path)[0] == ("src", "src")


def test_src_layout_logged_task_name_keeps_its_leading_package(tmp_path):
    output = _fix_tasks(make_project(tmp_path, SRC))
    assert _logged("app.routers.channels.send_notification") in output


SRC_PREFIXED = {
    "src/__main__.py": b"from src.app.routes import router\n",
    "src/app/__init__.py": b"",
    "src/app/tasks.py": _task("send_invoice"),
    "src/app/routes.py": _route("from src.app.tasks import send_invoice", "send_invoice"),
}


def test_src_imported_by_its_own_name_is_a_package_not_a_root(tmp_path):
    names = _names(make_project(tmp_path, SRC_PREFIXED))
    assert names["src/app/tasks.py"] == "src.app.tasks"
    assert _roots(tmp_path) == [(".", "project")]


def test_src_imported_by_its_own_name_task_is_wrapped(tmp_path):
    output = _fix_tasks(make_project(tmp_path, SRC_PREFIXED))
    assert _logged("src.app.tasks.send_invoice") in output


SHADOWED = {
    "src/main.py": _route("from foo import send", "send"),
    "src/foo/__init__.py": _task("send"),
    "src/foo.py": _task("send"),  # never imported: the package comes first
}


def test_a_module_beside_a_package_of_its_name_is_not_that_name(tmp_path):
    names = _names(make_project(tmp_path, SHADOWED))
    assert names["src/foo/__init__.py"] == "foo"
    assert names["src/foo.py"] != "foo"


def test_the_package_not_the_module_beside_it_is_wrapped(tmp_path):
    output = _fix_tasks(make_project(tmp_path, SHADOWED))
    assert "src/foo/__init__.py" in output
    assert "src/foo.py" not in output.replace("src/foo/", "")


# -- a file named after the library it imports -----------------------------------------------

REDIS = {
    "app/__init__.py": b"",
    "app/cache/redis.py": b"import redis\n\n\n" + _task("warm_cache"),
    "app/routes.py": _route("from app.cache.redis import warm_cache", "warm_cache"),
}


def test_a_self_shadowing_module_makes_no_root(tmp_path):
    names = _names(make_project(tmp_path, REDIS))
    assert names["app/cache/redis.py"] == "app.cache.redis"
    assert _roots(tmp_path) == [(".", "project")]


def test_a_self_shadowing_module_task_is_wrapped_under_its_package(tmp_path):
    output = _fix_tasks(make_project(tmp_path, REDIS))
    assert _logged("app.cache.redis.warm_cache") in output


# -- two services, each run from its folder --------------------------------------------------

SERVICES = {
    "services/users/main.py": _route("from tasks import welcome", "welcome"),
    "services/users/tasks.py": _task("welcome"),
    "services/orders/main.py": _route("from tasks import receipt", "receipt"),
    "services/orders/tasks.py": _task("receipt"),
}


def test_two_services_get_distinct_importable_names(tmp_path):
    names = _names(make_project(tmp_path, SERVICES))
    assert names["services/users/tasks.py"] == "services.users.tasks"
    assert names["services/orders/tasks.py"] == "services.orders.tasks"
    assert names["services/users/main.py"] == "services.users.main"
    found = module_names(sorted(tmp_path.rglob("*.py")), tmp_path, Path.read_bytes)
    assert found.aliases[tmp_path / "services/users/tasks.py"] == ("tasks",)
    assert {root for root, kind in _roots(tmp_path) if kind == "evidence"} == {
        "services/orders",
        "services/users",
    }


def test_two_services_each_task_is_found_beside_its_importer(tmp_path):
    output = _fix_tasks(make_project(tmp_path, SERVICES))
    assert _logged("services.users.tasks.welcome") in output
    assert _logged("services.orders.tasks.receipt") in output


# -- relative imports need a package ---------------------------------------------------------

RELATIVE = {
    # Run from `sql_app/` for `import crud`, but `main.py` imports relatively: it is only
    # importable as `sql_app.main` (a namespace package), never as the top-level `main`.
    "sql_app/main.py": _route("from .tasks import send_report", "send_report"),
    "sql_app/tasks.py": _task("send_report"),
    "sql_app/worker.py": b"import tasks\n",
}


def test_a_file_with_relative_imports_is_named_inside_its_package(tmp_path):
    names = _names(make_project(tmp_path, RELATIVE))
    assert names["sql_app/main.py"] == "sql_app.main"
    assert names["sql_app/tasks.py"] == "tasks"  # `import tasks`, run from sql_app/
