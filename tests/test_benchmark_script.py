"""scripts/benchmark.py measures what issue #12 asks: floors, start-up, cold, warm, one edit.

One end-to-end run on a three-file project (a run of the script is a dozen fastapi-fix start-ups,
so one is all a test can afford), and the edit-and-restore helpers on their own.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import make_project

ROOT = Path(__file__).resolve().parent.parent


def _load_script():
    spec = importlib.util.spec_from_file_location("benchmark", ROOT / "scripts" / "benchmark.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["benchmark"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


benchmark = _load_script()

ROUTES = b"""from fastapi import Depends, FastAPI

app = FastAPI()


def get_db():
    return None


@app.get("/items")
async def read_items(db=Depends(get_db)):
    return db
"""

FILES = {
    "app/__init__.py": b"",
    "app/main.py": ROUTES,
    # CRLF and no final newline: the edit must be undone exactly all the same.
    "app/settings.py": b"NAME = 'x'\r\nDEBUG = False",
}


def _snapshot(root: Path) -> dict[str, tuple[bytes, int]]:
    """Every file under ``root``: its bytes and modification time."""
    return {
        path.relative_to(root).as_posix(): (path.read_bytes(), path.stat().st_mtime_ns)
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def test_benchmark_reports_every_figure_and_leaves_the_project_as_it_was(tmp_path):
    project = make_project(tmp_path / "project", FILES)
    before = _snapshot(project)
    command = [sys.executable, str(ROOT / "scripts" / "benchmark.py"), str(project)]
    done = subprocess.run(
        [*command, "--json", "--jobs", "1", "--startup-runs", "1"],
        capture_output=True,
        text=True,
        check=True,
    )
    report = json.loads(done.stdout)

    assert _snapshot(project) == before
    assert report["files"] == 3
    assert report["lines"] == ROUTES.count(b"\n") + 1
    assert report["edited_file"] == str(project / "app" / "main.py")
    assert report["edited_file_restored"] is True
    assert report["warm_output_identical"] is True
    assert report["stray_cache_folders"] == []
    assert report["fastapi_fix"]["summary"]["files"] == 3
    assert report["fastapi_fix"]["exit_code"] == 1  # the route is rewritten

    rows = report["rows"]
    measured = ["floor_ast", "floor_libcst", "startup_version", "startup_help"]
    measured += ["startup_list_codemods", "cold", "warm", "one_edit"]
    assert list(rows) == [*measured, "no_cache"]
    floor = rows["floor_libcst"]
    assert floor["floor_ratio"] == 1.0
    for key in measured:
        row = rows[key]
        assert row["wall_s"] > 0, key
        assert math.isclose(row["floor_ratio"], row["wall_s"] / floor["wall_s"], rel_tol=0.01)
    for key in measured[2:]:  # the child runs
        assert rows[key]["peak_rss_mb"] > 10, key
        assert rows[key]["cpu_s"] > 0, key
        assert rows[key]["exit_code"] == (0 if key.startswith("startup") else 1), key
    help_text = subprocess.run(
        [*benchmark.fastapi_fix_command(), "--help"], capture_output=True, text=True, check=True
    ).stdout
    assert (rows["no_cache"]["wall_s"] is not None) == ("--no-cache" in help_text)

    table = benchmark.render(report)
    assert "| cold: --dry-run --format json, empty cache |" in table
    assert "Warm output byte-identical to the cold one: yes." in table
    assert "restored byte for byte: yes." in table


@pytest.mark.parametrize(
    ("original", "expected"),
    [
        (b"x = 1\n", b"x = 1\n# benchmark edit 3\n"),
        (b"x = 1\r\ny = 2\r\n", b"x = 1\r\ny = 2\r\n# benchmark edit 3\r\n"),
        (b"x = 1", b"x = 1\n# benchmark edit 3\n"),
        (b"", b"# benchmark edit 3\n"),
    ],
    ids=["lf", "crlf", "no-final-newline", "empty"],
)
def test_the_edit_appends_one_comment_line(original, expected):
    assert benchmark.edited(original, 3) == expected


def test_the_edited_file_is_restored_on_ctrl_c(tmp_path):
    path = tmp_path / "routes.py"
    path.write_bytes(ROUTES)
    os.utime(path, ns=(1_000_000_000, 2_000_000_000))
    with pytest.raises(KeyboardInterrupt), benchmark.restored(path) as original:
        path.write_bytes(benchmark.edited(original, 1))
        raise KeyboardInterrupt
    assert path.read_bytes() == ROUTES
    assert path.stat().st_mtime_ns == 2_000_000_000


def test_a_file_left_edited_by_a_killed_run_is_refused(tmp_path):
    path = tmp_path / "routes.py"
    path.write_bytes(benchmark.edited(ROUTES, 1))
    with pytest.raises(SystemExit, match="benchmark edit"), benchmark.restored(path):
        pass
    assert path.read_bytes() == benchmark.edited(ROUTES, 1)


def test_the_edit_goes_to_the_first_file_declaring_dependencies_else_routes(tmp_path):
    files = {
        "a.py": b"x = 1\n",
        "b.py": b"@router.get('/')\ndef f(): ...\n",
        "c.py": b"def f(db=Depends(get_db)): ...\n",
        "d.py": b"def g(db=Depends(get_db)): ...\n",
    }
    make_project(tmp_path, files)
    paths = [tmp_path / name for name in reversed(files)]
    assert benchmark.edit_target(paths) == tmp_path / "c.py"
    assert benchmark.edit_target(paths[2:]) == tmp_path / "b.py"
    assert benchmark.edit_target(paths[3:]) is None


def test_a_run_reports_its_own_peak_memory_not_the_benchmarks(tmp_path):
    # A child forked straight from a large process would report that process's memory as its
    # own (Linux keeps the high-water mark across exec).
    ours = benchmark._max_rss_mb(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    command = [sys.executable, "-c", "pass"]
    timing = benchmark.run_child(command, dict(os.environ), tmp_path / "out", tmp_path / "err")
    assert timing.exit_code == 0
    assert 0 < timing.peak_rss_mb < min(ours / 2, 30)
