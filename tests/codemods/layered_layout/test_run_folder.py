"""The run folder: a flat app whose modules import each other by bare name is planned for
the folder it runs from, refused when no one folder runs it; what apply leaves in git."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from fastapi_fix.cli import main
from fastapi_fix.engine.project_change import ApplyError, apply_change
from tests.codemods.layered_layout.helpers import commit_all, git, plan, write_project

# The FastAPI tutorial's sql_app, written as people start it: `cd sql_app && uvicorn
# main:app`, so its modules import each other by bare name (it has an __init__.py too).
SQL_APP = {
    "sql_app/__init__.py": "",
    "sql_app/database.py": """\
        from sqlalchemy import create_engine
        from sqlalchemy.orm import declarative_base, sessionmaker

        engine = create_engine("sqlite:///./app.db", connect_args={"check_same_thread": False})
        SessionLocal = sessionmaker(bind=engine)
        Base = declarative_base()
    """,
    "sql_app/models.py": """\
        from sqlalchemy import Column, Integer, String

        from database import Base


        class Item(Base):
            __tablename__ = "items"
            id = Column(Integer, primary_key=True)
            title = Column(String)
    """,
    "sql_app/schemas.py": """\
        from pydantic import BaseModel


        class ItemOut(BaseModel):
            id: int
            title: str
    """,
    "sql_app/crud.py": """\
        import models
        import schemas


        def list_items(db):
            return [schemas.ItemOut(id=i.id, title=i.title) for i in db.query(models.Item)]
    """,
    "sql_app/main.py": """\
        from fastapi import Depends, FastAPI

        import crud
        import models
        import schemas
        from database import SessionLocal, engine

        models.Base.metadata.create_all(bind=engine)

        app = FastAPI()


        def get_db():
            db = SessionLocal()
            try:
                yield db
            finally:
                db.close()


        @app.get("/items", response_model=list[schemas.ItemOut])
        def list_items(db=Depends(get_db)):
            return crud.list_items(db)
    """,
    "sql_app/test_main.py": """\
        from fastapi.testclient import TestClient

        from main import app


        def test_items():
            assert TestClient(app).get("/items").json() == []
    """,
    "Procfile": "web: cd sql_app && uvicorn main:app\n",
    "README.md": "Run it:\n\n    cd sql_app && uvicorn main:app --reload\n",
}


# Two modules merged into api/v1/schemas.py, each with its own `Date`.
TWO_MEANINGS = {
    "main.py": """\
            from fastapi import FastAPI

            import models
            import schemas

            app = FastAPI()


            @app.get("/a", response_model=schemas.A)
            def a():
                return {"when": "x"}


            @app.get("/b", response_model=models.B)
            def b():
                return {"when": "2020-01-01"}
        """,
    "schemas.py": "from pydantic import BaseModel\n\nDate = str\n\n\nclass A(BaseModel):\n    when: Date\n",
    "models.py": "from datetime import date as Date\n\nfrom pydantic import BaseModel\n\n\nclass B(BaseModel):\n    when: Date\n",
}


def imports_from(folder: Path, module: str) -> subprocess.CompletedProcess[str]:
    """Import ``module`` in a fresh interpreter started in ``folder`` (as uvicorn would)."""
    return subprocess.run(
        [sys.executable, "-c", f"import {module}"],
        cwd=folder,
        capture_output=True,
        text=True,
        check=False,
    )


def test_bare_name_imports_are_laid_out_for_the_folder_the_app_runs_from(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = write_project(tmp_path, SQL_APP)
    commit_all(root)
    monkeypatch.chdir(root)
    result = CliRunner().invoke(main, ["--select", "layered-layout", "."])
    assert result.exit_code == 0, result.output
    run_folder = root / "sql_app"
    assert (run_folder / "app/main.py").is_file()
    assert (run_folder / "app/services/item_service.py").is_file()
    assert (root / "Procfile").read_text() == "web: cd sql_app && uvicorn app.main:app\n"
    assert "    cd sql_app && uvicorn app.main:app --reload\n" in (root / "README.md").read_text()
    assert "from app.main import app" in (run_folder / "test_main.py").read_text()
    for module in ("app.main", "app.services.item_service", "app.api.v1.routes"):
        assert imports_from(run_folder, module).returncode == 0, imports_from(run_folder, module)
    tests = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_main.py"],
        cwd=run_folder,
        capture_output=True,
        text=True,
        check=False,
    )
    assert tests.returncode == 0, tests.stdout + tests.stderr


def test_a_flat_app_in_a_plain_folder_gets_its_package_in_that_folder(tmp_path: Path) -> None:
    files = {
        k.replace("sql_app/", "backend/"): v
        for k, v in SQL_APP.items()
        if k not in ("sql_app/__init__.py", "Procfile")
    }
    files["backend/text.py"] = "def shout(text):\n    return text.upper()\n"
    files["backend/main.py"] = (
        textwrap.dedent(files["backend/main.py"])
        + "\n\nimport text\n\n\n@app.get('/shout')\ndef shout():\n    return text.shout('hi')\n"
    )
    root = write_project(tmp_path, files)
    change = plan(root)
    assert change.errors == []
    new_paths = {f.new_path for f in change.files}
    assert "backend/app/main.py" in new_paths
    assert not any(p and p.startswith("app/") for p in new_paths)
    helper = next(row for row in change.rows if row.source == "backend/text.py")
    assert helper.target == "backend/app/services/text.py"
    assert helper.reason == "helpers only; its lowest user is routes, hence services/"


def test_imports_needing_two_run_folders_are_refused_with_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # main.py imports `crud` by bare name (run from sql_app/), crud.py imports
    # `sql_app.models` (run from the root): no one folder runs both.
    files = {
        **SQL_APP,
        "sql_app/crud.py": "from sql_app import models\n\n\ndef list_items(db):\n    return []\n",
    }
    root = write_project(tmp_path, files)
    commit_all(root)
    monkeypatch.chdir(root)
    result = CliRunner().invoke(main, ["--select", "layered-layout", "."])
    assert result.exit_code == 2, result.output
    assert "the app's imports resolve from several folders" in result.stderr
    assert "sql_app/crud.py:1" in result.stderr
    assert git(root, "status", "--porcelain") == ""


def test_a_plan_giving_a_name_two_meanings_exits_2_and_says_what_to_edit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = write_project(tmp_path, TWO_MEANINGS)
    commit_all(root)
    monkeypatch.chdir(root)
    result = CliRunner().invoke(main, ["--select", "layered-layout", "."])
    assert result.exit_code == 2, result.output
    assert "the name Date would mean two things" in result.stderr
    assert "[module.symbols]" in result.stderr
    assert git(root, "status", "--porcelain") == ""


def test_apply_stages_everything_it_moved_created_or_rewrote(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = write_project(tmp_path, SQL_APP)
    commit_all(root)
    monkeypatch.chdir(root)
    assert CliRunner().invoke(main, ["--select", "layered-layout", "."]).exit_code == 0
    status = git(root, "status", "--porcelain").splitlines()
    assert status
    assert all(line[0] in "RAMD" and line[1] == " " for line in status), status
    assert "R  sql_app/crud.py -> sql_app/app/services/item_service.py" in status
    assert "A  sql_app/app/api/v1/routes.py" in status
    assert "M  Procfile" in status


def test_imports_broken_once_applied_roll_everything_back(tmp_path: Path) -> None:
    root = write_project(tmp_path, SQL_APP)
    commit_all(root)
    change = plan(root)
    before = git(root, "ls-files", "-s")
    with pytest.raises(ApplyError, match="broke imports; every change was rolled back"):
        apply_change(change, verify=lambda: ["sql_app/app/main.py:3:1: no module named 'crud'"])
    assert git(root, "status", "--porcelain") == ""
    assert git(root, "ls-files", "-s") == before
    assert not (root / "sql_app/app").exists()


def test_json_fills_each_diff_under_dry_run_and_lists_no_file_of_a_refused_plan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    root = write_project(tmp_path / "ok", SQL_APP)
    monkeypatch.chdir(root)
    result = CliRunner().invoke(
        main, ["--select", "layered-layout", "--dry-run", "--format", "json", "."]
    )
    assert result.exit_code == 1, result.output
    files = {entry["path"]: entry for entry in json.loads(result.stdout)["files"]}
    crud = files["sql_app/crud.py"]
    assert crud["status"] == "changed"
    assert "rename to sql_app/app/services/item_service.py" in crud["diff"]
    assert all(entry["diff"] for entry in files.values() if entry["status"] == "changed")

    root = write_project(tmp_path / "refused", TWO_MEANINGS)
    monkeypatch.chdir(root)
    result = CliRunner().invoke(
        main, ["--select", "layered-layout", "--dry-run", "--format", "json", "."]
    )
    assert result.exit_code == 2, result.output
    doc = json.loads(result.stdout)
    assert [entry for entry in doc["files"] if entry["status"] == "changed"] == []
    assert doc["layout"]["errors"]


def test_apps_running_from_different_folders_are_refused_with_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two services, each started from its own folder, each importing its siblings by bare
    # name: one run folder cannot serve both.
    app = "from fastapi import FastAPI\n\nfrom {0} import router\n\napp = FastAPI()\napp.include_router(router)\n"
    router = "from fastapi import APIRouter\n\nrouter = APIRouter()\n"
    root = write_project(
        tmp_path,
        {
            "services/users/main.py": app.format("user_routes"),
            "services/users/user_routes.py": router,
            "services/orders/main.py": app.format("order_routes"),
            "services/orders/order_routes.py": router,
        },
    )
    commit_all(root)
    monkeypatch.chdir(root)
    result = CliRunner().invoke(main, ["--select", "layered-layout", "."])
    assert result.exit_code == 2, result.output
    assert (
        "FastAPI() applications run from several folders (services/orders, services/users)"
        in " ".join(result.stderr.split())
    )
    # Each service, given as the PATH, is laid out in its own folder.
    result = CliRunner().invoke(main, ["--select", "layered-layout", "services/users"])
    assert result.exit_code == 0, result.output
    assert (root / "services/users/app/api/v1/routes.py").is_file()
    assert (root / "services/orders/order_routes.py").is_file()


def test_a_namespace_app_package_imported_from_the_root_stays_in_its_folder(
    tmp_path: Path,
) -> None:
    # app/ has no __init__.py, its modules import `app.x` (run from the root).
    root = write_project(
        tmp_path,
        {
            "app/main.py": "from fastapi import FastAPI\n\nfrom app.routes import router\n\napp = FastAPI()\napp.include_router(router)\n",
            "app/routes.py": "from fastapi import APIRouter\n\nfrom app import crud\n\nrouter = APIRouter()\n\n\n@router.get('/')\ndef root():\n    return crud.hello()\n",
            "app/crud.py": "def hello():\n    return {'msg': 'hi'}\n",
        },
    )
    change = plan(root)
    assert change.errors == []
    new_paths = {f.new_path for f in change.files if f.new_path}
    assert "app/api/v1/routes.py" in new_paths
    assert all(path.startswith("app/") for path in new_paths), new_paths


def test_a_tests_package_beside_src_says_nothing_of_where_the_app_runs(tmp_path: Path) -> None:
    # tests/ imports its own helpers as `tests.helpers` (from the root), the app runs from
    # src/: the tests' own imports do not make a second run folder.
    root = write_project(
        tmp_path,
        {
            "src/shop/__init__.py": "",
            "src/shop/main.py": "from fastapi import FastAPI\n\nfrom shop import crud\n\napp = FastAPI()\n\n\n@app.get('/')\ndef root():\n    return crud.hello()\n",
            "src/shop/crud.py": "def hello():\n    return {'msg': 'hi'}\n",
            "tests/__init__.py": "",
            "tests/helpers.py": "from shop.main import app\n",
            "tests/test_main.py": "from tests.helpers import app\n\n\ndef test_app():\n    assert app\n",
        },
    )
    change = plan(root)
    assert change.errors == []
    assert "src/shop/api/v1/routes.py" in {f.new_path for f in change.files}


def test_a_root_app_beside_a_package_holding_the_layers_is_already_layered(
    tmp_path: Path,
) -> None:
    root = write_project(
        tmp_path,
        {
            "main.py": "from fastapi import FastAPI\n\nfrom api.v1.routes.items import router\n\napp = FastAPI()\napp.include_router(router)\n",
            "api/core/config.py": "DEBUG = False\n",
            "api/v1/models/item.py": "ITEM = 1\n",
            "api/v1/schemas/item.py": "ITEM = 1\n",
            "api/v1/services/item.py": "ITEM = 1\n",
            "api/v1/routes/items.py": "from fastapi import APIRouter\n\nrouter = APIRouter()\n",
        },
    )
    change = plan(root)
    assert change.files == []
    assert change.notes == [
        "already layered (api/ (core/, models/, schemas/, services/)): nothing to do "
        "(--layout-force plans anyway)"
    ]


@pytest.mark.parametrize(
    ("files", "app", "expected"),
    [
        pytest.param(
            {"sql_app/main.py": "import crud\n", "sql_app/crud.py": ""},
            "sql_app/main.py",
            "sql_app",
            id="bare-name-sibling",
        ),
        pytest.param(
            {"sql_app/main.py": "from sql_app import crud\n", "sql_app/crud.py": ""},
            "sql_app/main.py",
            "",
            id="package-from-the-root",
        ),
        pytest.param(
            # `utils` is beside the app and at the root: it resolves from either folder.
            {
                "backend/main.py": "from apps.images import main\n",
                "backend/utils/__init__.py": "",
                "backend/apps/images/main.py": "from utils import x\nfrom apps.images import y\n",
                "backend/apps/images/utils/__init__.py": "",
            },
            "backend/apps/images/main.py",
            "backend",
            id="held-by-two-folders-is-no-evidence",
        ),
        pytest.param(
            {
                "src/shop/main.py": "from shop import crud\n",
                "src/shop/crud.py": "",
                "tests/test_a.py": "from tests import helpers\n",
                "tests/helpers.py": "",
            },
            "src/shop/main.py",
            "src",
            id="tests-beside-src",
        ),
        pytest.param(
            {"main.py": "import json\n", "json.py": ""},
            "main.py",
            "the default",
            id="stdlib-names-are-not-evidence",
        ),
        pytest.param(
            # The template's migrations folder is named after the library it imports: inside
            # `app/alembic/`, `import alembic` is the library, not the folder holding the file.
            {
                "backend/app/main.py": "from app.api import router\n",
                "backend/app/api.py": "",
                "backend/app/alembic/env.py": "from alembic import context\n\nfrom app import api\n",
            },
            "backend/app/main.py",
            "backend",
            id="a-folder-holding-the-importing-file-is-no-evidence",
        ),
    ],
)
def test_find_run_folder(files: dict[str, str], app: str, expected: str) -> None:
    import ast

    from fastapi_fix.codemods.layered_layout.run_folder import find_run_folder

    sources = {path: text.encode() for path, text in files.items()}
    trees = {path: ast.parse(text) for path, text in files.items()}
    assert find_run_folder(sources, trees, [app], "the default") == expected
