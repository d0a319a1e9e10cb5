"""Business functions of a single-file app go to services/, named after their domain; an
import the move makes run against the layers is reported."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from fastapi_fix.cli import main
from tests.codemods.layered_layout.helpers import commit_all, write_project
from tests.codemods.layered_layout.test_run_folder import SQL_APP

# Background tasks, helpers doing I/O (a file, an HTTP call) and a helper two routes share.
TASKS_APP = {
    "main.py": """\
        import json
        from pathlib import Path

        import httpx
        from fastapi import BackgroundTasks, FastAPI
        from pydantic import BaseModel

        app = FastAPI()
        STORE = Path("items.json")


        class ItemIn(BaseModel):
            name: str


        def load_items() -> list[dict]:
            if not STORE.exists():
                return []
            with open(STORE) as f:
                return json.load(f)


        def normalise(name: str) -> str:
            return name.strip().lower()


        async def notify_webhook(name: str) -> None:
            async with httpx.AsyncClient() as client:
                await client.post("http://localhost:9/hook", json={"name": name})


        def write_audit(line: str) -> None:
            with open("audit.log", "a") as f:
                f.write(line + "\\n")


        def page_title() -> str:
            return "Items"


        @app.get("/api/v1/items")
        def list_items():
            return {"title": page_title(), "items": [normalise(i["name"]) for i in load_items()]}


        @app.post("/api/v1/items/{item_id}")
        def create_item(item_id: int, item: ItemIn, background_tasks: BackgroundTasks):
            background_tasks.add_task(write_audit, f"created {item.name}")
            background_tasks.add_task(notify_webhook, item.name)
            return {"name": normalise(item.name)}
    """,
}


def top_level_names(path: Path) -> set[str]:
    import ast

    tree = ast.parse(path.read_text())
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return names


def test_tasks_io_helpers_and_shared_helpers_of_a_single_file_app_go_to_services(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = write_project(tmp_path, TASKS_APP)
    commit_all(root)
    monkeypatch.chdir(root)
    result = CliRunner().invoke(main, ["--select", "layered-layout", "."])
    assert result.exit_code == 0, result.output
    service = root / "app/services/item_service.py"
    assert top_level_names(service) == {
        "STORE",
        "load_items",
        "normalise",
        "notify_webhook",
        "write_audit",
    }
    # A helper only one route uses stays with the routes.
    assert top_level_names(root / "app/api/v1/routes.py") == {
        "router",
        "page_title",
        "list_items",
        "create_item",
    }
    imported = subprocess.run(
        [sys.executable, "-c", "import app.main"], cwd=root, capture_output=True, text=True
    )
    assert imported.returncode == 0, imported.stderr


def test_a_service_importing_api_schemas_is_reported_with_the_names_it_uses(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = write_project(tmp_path, SQL_APP)
    monkeypatch.chdir(root)
    result = CliRunner().invoke(main, ["--select", "layered-layout", "--dry-run", "."])
    assert result.exit_code == 1, result.output
    assert (
        "sql_app/app/services/item_service.py:2:1: layered-layout: the services layer would "
        "import schemas.ItemOut from app.api.v1, the API layer above it"
    ) in " ".join(result.stderr.split())
    assert "1 left for review" in result.stderr
