"""The run cache (`engine.cache`): a warm run says exactly what a cold one says, and reads
only what changed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from fastapi_fix.cli import main
from fastapi_fix.engine import pipeline
from fastapi_fix.engine.cache import DEFAULT_FOLDER, ENV_VAR, NotFingerprintable, fingerprint
from fastapi_fix.engine.codemod import Codemod, SourceFile
from tests.helpers import make_project

# One project with work for every codemod run through the engine (layered-layout moves files
# in a flow of its own, without the cache).
PROJECT = {
    "pyproject.toml": b'[project]\nname = "shop"\ndependencies = ["fastapi>=0.115"]\n',
    "shop/__init__.py": b"",
    "shop/db.py": b"from sqlalchemy.orm import Session\n\n\ndef get_db():\n    yield Session()\n",
    "shop/deps.py": (
        b"from fastapi import Depends, HTTPException\n"
        b"from sqlalchemy.orm import Session\n\n"
        b"from shop.db import get_db\n\n\n"
        b"def current_user(db: Session = Depends(get_db)):\n"
        b"    user = db.get(dict, 1)\n"
        b"    if user is None:\n"
        b"        raise HTTPException(status_code=401, detail='no user')\n"
        b"    return user\n"
    ),
    "shop/routes.py": (
        b"import time\n\nimport httpx\nimport requests\n"
        b"from fastapi import APIRouter, BackgroundTasks, Depends, Query\n"
        b"from sqlalchemy.orm import Session\n\n"
        b"from shop.db import get_db\nfrom shop.deps import current_user\n\n"
        b"router = APIRouter()\n\n\n"
        b"def notify(email: str) -> None:\n"
        b"    requests.post('https://example.com', json={'to': email}, timeout=5)\n\n\n"
        b"@router.get('/items')\n"
        b"async def list_items(q: str = Query(None), db: Session = Depends(get_db), user=Depends(current_user)):\n"
        b"    time.sleep(0.1)\n"
        b"    return db.query(dict).all()\n\n\n"
        b"@router.get('/mixed')\n"
        b"async def mixed(db: Session = Depends(get_db)):\n"
        b"    async with httpx.AsyncClient() as client:\n"
        b"        await client.get('https://example.com')\n"
        b"    return requests.get('https://example.com', timeout=5).json()\n\n\n"
        b"@router.post('/signup')\n"
        b"def signup(email: str, tasks: BackgroundTasks, db: Session = Depends(get_db)):\n"
        b"    tasks.add_task(notify, email)\n"
        b"    return {'ok': True}\n"
    ),
}
EVERY_CODEMOD = [
    "depends-to-annotated",
    "async-to-sync",
    "blocking-to-threadpool",
    "background-task-logging",
    "document-error-responses",
]


def _cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["-j", "1", *args])
    return result.exit_code, result.output


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return make_project(tmp_path / "shop", PROJECT)


@pytest.fixture
def gathers(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Path]]:
    """The files parsed for their facts, one entry per gather."""
    seen: list[Path] = []
    original = pipeline.gather_file

    def counted(
        file: SourceFile,
        data: bytes,
        codemods: Sequence[Codemod],
        chosen: Sequence[Codemod] | None = None,
    ) -> pipeline.GatherOutcome:
        seen.append(file.path)
        return original(file, data, codemods, chosen)

    monkeypatch.setattr(pipeline, "gather_file", counted)
    yield seen


@pytest.mark.parametrize("output", ["text", "json"])
@pytest.mark.parametrize("codemod", EVERY_CODEMOD)
def test_warm_output_is_byte_identical_to_cold(project: Path, codemod: str, output: str) -> None:
    cache = project.parent / "cache"
    args = ["--dry-run", "--format", output, "--select", codemod, str(project)]
    uncached = _cli("--no-cache", *args)
    cold = _cli("--cache-dir", str(cache), *args)
    warm = _cli("--cache-dir", str(cache), *args)
    assert uncached[0] == 1, uncached[1]  # every codemod has something to do here
    assert cold == uncached
    assert warm == uncached


def test_warm_run_parses_nothing(project: Path, gathers: list[Path]) -> None:
    args = ["--dry-run", "--format", "json", str(project)]
    cold = _cli(*args)
    assert gathers, "the cold run gathers"
    gathers.clear()
    assert _cli(*args) == cold
    assert gathers == []
    assert (
        (project / DEFAULT_FOLDER / "CACHEDIR.TAG")
        .read_bytes()
        .startswith(b"Signature: 8a477f597d28d172789f06886806bc55")
    )
    assert (project / DEFAULT_FOLDER / ".gitignore").read_bytes() == b"*\n"


def test_one_edited_file_is_the_only_one_gathered_again(project: Path, gathers: list[Path]) -> None:
    args = ["--dry-run", "--format", "json", str(project)]
    _cli(*args)
    routes = project / "shop" / "routes.py"
    routes.write_bytes(routes.read_bytes().replace(b"time.sleep(0.1)", b"time.sleep(0.2)"))
    gathers.clear()
    warm = _cli(*args)
    assert set(gathers) == {routes}
    assert warm == _cli("--no-cache", *args)


@pytest.fixture
def transforms(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Path]]:
    """The files rewritten by LibCST, one entry per transform."""
    seen: list[Path] = []
    original = pipeline.transform_source

    def counted(
        file: SourceFile, data: bytes, plan: Sequence[tuple[Codemod, Any]], **options: bool
    ) -> pipeline.TransformOutcome:
        seen.append(file.path)
        return original(file, data, plan, **options)

    monkeypatch.setattr(pipeline, "transform_source", counted)
    yield seen


def test_an_edit_re_transforms_only_the_files_whose_plan_it_changes(
    project: Path, transforms: list[Path]
) -> None:
    args = ["--dry-run", "--format", "json", "--select", ",".join(EVERY_CODEMOD), str(project)]
    _cli(*args)
    assert len(set(transforms)) >= 2
    routes, deps = project / "shop" / "routes.py", project / "shop" / "deps.py"
    # An edit inside one route: no other file's plan moves.
    routes.write_bytes(routes.read_bytes().replace(b"time.sleep(0.1)", b"time.sleep(0.2)"))
    transforms.clear()
    warm = _cli(*args)
    assert set(transforms) == {routes}
    assert warm == _cli("--no-cache", *args)
    # The dependency no longer raises 401: the routes using it lose that response.
    deps.write_bytes(deps.read_bytes().replace(b"status_code=401", b"status_code=403"))
    transforms.clear()
    warm = _cli(*args)
    assert routes in transforms
    assert warm == _cli("--no-cache", *args)
    assert "403" in warm[1]


def test_the_projects_fastapi_version_is_an_input(project: Path) -> None:
    args = ["--dry-run", "--format", "json", "--select", "depends-to-annotated", str(project)]
    _cli(*args)
    (project / "pyproject.toml").write_bytes(
        b'[project]\nname = "shop"\ndependencies = ["fastapi==0.90.0"]\n'
    )
    warm = _cli(*args)
    assert warm == _cli("--no-cache", *args)
    assert "older than 0.95" in warm[1]


def test_an_added_init_file_renames_modules(tmp_path: Path) -> None:
    project = make_project(
        tmp_path / "p",
        {
            "app/deps.py": b"from fastapi import Depends\n\n\ndef get_db():\n    yield 1\n",
            "app/routes.py": (
                b"from fastapi import APIRouter, Depends\n\nfrom app.deps import get_db\n\n"
                b"router = APIRouter()\n\n\n@router.get('/a')\ndef a(db=Depends(get_db)):\n"
                b"    return db\n\n\n@router.get('/b')\ndef b(db=Depends(get_db)):\n    return db\n"
            ),
        },
    )
    args = ["--dry-run", "--format", "json", "--cache-dir", str(tmp_path / "c"), str(project)]
    _cli(*args)
    (project / "app" / "__init__.py").write_bytes(b"")
    assert _cli(*args) == _cli("--no-cache", *args)


def test_a_truncated_or_foreign_entry_is_a_miss_and_is_rewritten(project: Path) -> None:
    cache = project.parent / "cache"
    args = ["--dry-run", "--format", "json", "--cache-dir", str(cache), str(project)]
    cold = _cli(*args)
    entries = [p for p in cache.rglob("*") if p.is_file() and p.parent != cache]
    assert len(entries) > 3
    for number, entry in enumerate(entries):
        data = entry.read_bytes()
        entry.write_bytes(data[: len(data) // 2] if number % 2 else b"not a cache entry\n" + data)
    assert _cli(*args) == cold
    rewritten = {p: p.read_bytes() for p in entries if p.exists()}
    assert _cli(*args) == cold
    assert all(p.read_bytes() == data for p, data in rewritten.items())  # stable once rewritten


def test_a_replayed_dry_run_applies_as_an_uncached_run_does(tmp_path: Path) -> None:
    cached = make_project(tmp_path / "cached", PROJECT)
    plain = make_project(tmp_path / "plain", PROJECT)
    _cli("--dry-run", "--format", "json", str(cached))
    code, output = _cli("--format", "json", str(cached))
    assert code == 0
    # Written, not previewed: no diffs, as in a run without the cache.
    assert all(entry["diff"] is None for entry in json.loads(output)["files"])
    assert _cli("--no-cache", "--format", "json", str(plain))[0] == 0
    for name in PROJECT:
        assert (cached / name).read_bytes() == (plain / name).read_bytes(), name
    assert (cached / "shop" / "routes.py").read_bytes() != PROJECT["shop/routes.py"]
    # The tree the apply wrote is new: the next run computes, and finds nothing to do.
    assert _cli("--check", str(cached))[0] == 0


def test_no_cache_and_where_the_cache_is_kept(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    args = ["--dry-run", "--format", "json", str(project)]
    _cli("--no-cache", *args)
    assert not (project / DEFAULT_FOLDER).exists()
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "from-env"))
    _cli(*args)
    assert (tmp_path / "from-env" / "CACHEDIR.TAG").is_file()
    _cli("--cache-dir", str(tmp_path / "from-flag"), *args)  # the flag wins
    assert (tmp_path / "from-flag" / "CACHEDIR.TAG").is_file()
    assert not (project / DEFAULT_FOLDER).exists()


def test_a_cache_that_cannot_be_written_changes_nothing(project: Path, tmp_path: Path) -> None:
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the cache folder would be")
    args = ["--dry-run", "--format", "json", str(project)]
    assert _cli("--cache-dir", str(blocked / "cache"), *args) == _cli("--no-cache", *args)


def test_two_runs_sharing_one_cache(project: Path, tmp_path: Path) -> None:
    """Started together, each says what an uncached run says; so does the run after them."""
    cache = tmp_path / "shared"
    command = [sys.executable, "-m", "fastapi_fix", "--dry-run", "--format", "json"]
    env = {**os.environ, ENV_VAR: str(cache)}
    runs = [
        subprocess.Popen([*command, str(project)], stdout=subprocess.PIPE, env=env)
        for _ in range(2)
    ]
    outputs = [run.communicate(timeout=120)[0] for run in runs]
    expected = subprocess.run(
        [*command, "--no-cache", str(project)], stdout=subprocess.PIPE, check=False
    ).stdout
    assert outputs == [expected, expected]
    after = subprocess.run([*command, str(project)], stdout=subprocess.PIPE, env=env, check=False)
    assert after.stdout == expected
    assert json.loads(expected)["summary"]["changed"] >= 2


def test_a_requirements_file_included_from_elsewhere_is_an_input(tmp_path: Path) -> None:
    project = make_project(
        tmp_path / "svc",
        {
            "requirements.txt": b"-r ../shared/base.txt\nuvicorn\n",
            "app/__init__.py": b"",
            "app/main.py": (
                b"from fastapi import Depends, FastAPI\n\napp = FastAPI()\n\n\n"
                b"def dep():\n    return 1\n\n\n@app.get('/')\ndef root(x=Depends(dep)):\n"
                b"    return x\n"
            ),
        },
    )
    shared = make_project(tmp_path / "shared", {"base.txt": b"fastapi>=0.110\n"})
    args = ["--dry-run", "--format", "json", "--cache-dir", str(tmp_path / "c"), str(project)]
    assert _cli(*args)[0] == 1
    (shared / "base.txt").write_bytes(b"fastapi==0.90.0\n")
    warm = _cli(*args)
    assert warm == _cli("--no-cache", *args)
    assert warm[0] == 0 and "older than 0.95" in warm[1]


FINGERPRINTED = """
import dataclasses, sys
from pathlib import Path
from fastapi_fix.engine.cache import fingerprint

@dataclasses.dataclass(frozen=True)
class Plan:
    names: frozenset
    where: dict
    path: Path

words = [f"name{n}" for n in range(50)]
print(fingerprint(Plan(frozenset(words), {"a": {"x", "y", "z"}}, Path("/p/a.py"))))
"""


def test_a_fingerprint_does_not_depend_on_string_hashing() -> None:
    """Two processes order a set of strings differently; their fingerprints agree."""
    prints = {
        subprocess.run(
            [sys.executable, "-c", FINGERPRINTED],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            check=True,
        ).stdout
        for seed in ("1", "2", "3")
    }
    assert len(prints) == 1


def test_a_plan_holding_an_unknown_object_is_not_fingerprinted() -> None:
    with pytest.raises(NotFingerprintable):
        fingerprint((1, frozenset({"a"}), object()))
    assert fingerprint({"a": (1, 2)}) != fingerprint({"a": (1, 3)})
    assert fingerprint([1, 2]) != fingerprint((1, 2))


def test_entries_unused_for_thirty_days_are_pruned(project: Path, tmp_path: Path) -> None:
    cache = tmp_path / "c"
    args = ["--dry-run", "--format", "json", "--cache-dir", str(cache), str(project)]
    cold = _cli(*args)
    (version,) = [p for p in cache.iterdir() if p.is_dir()]
    entries = [p for p in version.rglob("*") if p.is_file() and p.parent != version]
    stale = version / "gather" / "00" / "an-entry-of-a-file-long-gone"
    stale.parent.mkdir(exist_ok=True)
    stale.write_bytes(b"an entry no run reads any more")
    long_ago = time.time() - 40 * 24 * 3600
    os.utime(stale, (long_ago, long_ago))
    assert _cli(*args) == cold
    assert stale.exists()  # pruning runs at most once a day
    (version / "pruned").unlink()
    assert _cli(*args) == cold
    assert not stale.exists()
    assert all(entry.exists() for entry in entries)


def test_files_added_removed_or_ignored_are_seen(project: Path) -> None:
    args = ["--dry-run", "--format", "json", str(project)]
    _cli(*args)
    extra = project / "shop" / "sub" / "extra.py"
    extra.parent.mkdir()
    extra.write_bytes(PROJECT["shop/routes.py"])
    warm = _cli(*args)
    assert warm == _cli("--no-cache", *args)
    assert "shop/sub/extra.py" in warm[1]
    (project / ".gitignore").write_bytes(b"*.pyc\n")
    assert _cli(*args) == _cli("--no-cache", *args)
    (project / "shop" / ".gitignore").write_bytes(b"sub/\n")
    warm = _cli(*args)
    assert warm == _cli("--no-cache", *args)
    assert "shop/sub/extra.py" not in warm[1]
    (project / "shop" / ".gitignore").unlink()
    extra.unlink()
    assert _cli(*args) == _cli("--no-cache", *args)


REPLAY_IMPORTS = """
import sys
from fastapi_fix.cli import main
code = main(["--dry-run", "--format", "json", sys.argv[1]], standalone_mode=False)
print(code, sorted(m for m in ("libcst", "fastapi_fix.engine.pipeline") if m in sys.modules))
"""


def test_a_replayed_run_does_not_import_the_rewriting_machinery(project: Path) -> None:
    def run() -> str:
        command = [sys.executable, "-c", REPLAY_IMPORTS, str(project)]
        return subprocess.run(command, capture_output=True, text=True, check=True).stdout

    assert run().splitlines()[-1] == "1 ['fastapi_fix.engine.pipeline', 'libcst']"
    assert run().splitlines()[-1] == "1 []"


def test_a_run_whose_files_change_while_it_reads_them_is_not_recorded(
    project: Path, tmp_path: Path
) -> None:
    from fastapi_fix import codemods as registry
    from fastapi_fix.engine.cache import Cache, settings_key
    from fastapi_fix.engine.discover import source_file
    from fastapi_fix.engine.runner import Runner

    routes = project / "shop" / "routes.py"
    files = [source_file(path, project) for path in sorted(project.rglob("*.py"))]
    chosen = [registry.by_name()["depends-to-annotated"]()]
    cache = Cache(tmp_path / "c", settings_key(chosen))

    def edit_once(phase: str, done: int, total: int) -> None:
        if phase == "transform" and routes.read_bytes() == PROJECT["shop/routes.py"]:
            routes.write_bytes(PROJECT["shop/routes.py"] + b"# edited meanwhile\n")

    list(Runner(chosen, jobs=1, progress=edit_once, cache=cache).run(files, roots=[project]))
    assert cache.load_run([str(project)]) is None
    routes.write_bytes(PROJECT["shop/routes.py"])
    list(Runner(chosen, jobs=1, cache=cache).run(files, roots=[project]))
    assert cache.load_run([str(project)]) is not None


def test_a_cache_kept_inside_the_project_is_not_walked(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its folders change on every run: walking them would make every discovery new."""
    from fastapi_fix.engine import discover

    walks: list[list[Path]] = []
    original = discover._discover

    def counted(paths: list[Path], *args: Any) -> discover.Discovery:
        walks.append(paths)
        return original(paths, *args)

    monkeypatch.setattr(discover, "_discover", counted)
    args = ["--dry-run", "--format", "json", "--cache-dir", str(project / "cache"), str(project)]
    cold = _cli(*args)
    assert walks
    walks.clear()
    assert _cli(*args) == cold
    assert walks == []


def test_two_projects_sharing_one_cache_each_keep_their_last_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fastapi_fix.engine.runner import Runner

    computed: list[int] = []
    original = Runner._computed

    def counted(self: Runner, *args: Any, **kwargs: Any) -> Iterator[Any]:
        computed.append(1)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Runner, "_computed", counted)
    first = make_project(tmp_path / "one", PROJECT)
    second = make_project(tmp_path / "two", PROJECT)
    shared = ["--cache-dir", str(tmp_path / "shared"), "--dry-run", "--format", "json"]
    _cli(*shared, str(first))
    _cli(*shared, str(second))
    assert len(computed) == 2
    _cli(*shared, str(first))
    _cli(*shared, str(second))
    assert len(computed) == 2  # both replayed
