from pathlib import Path

from fastapi_fix.engine.discover import discover, module_name


def touch(root: Path, *names: str) -> None:
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x = 1\n")


def found(root: Path, **kwargs) -> list[str]:
    return [f.display_path for f in discover([root], cwd=root, **kwargs).files]


def test_skips_the_usual_folders(tmp_path):
    touch(
        tmp_path,
        "app/main.py",
        ".venv/lib/x.py",
        "venv/x.py",
        "node_modules/x.py",
        "build/x.py",
        "dist/x.py",
        "app/__pycache__/x.py",
        "lib/site-packages/x.py",
        ".git/x.py",
        "pkg.egg-info/x.py",
    )
    assert found(tmp_path) == ["app/main.py"]


def test_honours_gitignore_files_at_every_level(tmp_path):
    (tmp_path / ".git").mkdir()
    touch(
        tmp_path,
        "app/main.py",
        "app/secret.py",
        "generated/x.py",
        "app/sub/keep.py",
        "app/sub/drop.py",
    )
    (tmp_path / ".gitignore").write_text("generated/\n/app/secret.py\n")
    (tmp_path / "app" / "sub" / ".gitignore").write_text("drop.py\n")
    assert found(tmp_path) == ["app/main.py", "app/sub/keep.py"]


def test_gitignore_above_the_given_folder_applies(tmp_path):
    (tmp_path / ".git").mkdir()
    (tmp_path / ".gitignore").write_text("*_pb2.py\n")
    touch(tmp_path, "app/api_pb2.py", "app/main.py")
    assert [f.path.name for f in discover([tmp_path / "app"]).files] == ["main.py"]


def test_exclude_globs(tmp_path):
    touch(tmp_path, "app/main.py", "app/migrations/0001.py", "tests/test_x.py")
    assert found(tmp_path, excludes=["migrations/", "tests/*.py"]) == ["app/main.py"]


def test_files_named_explicitly_are_always_processed(tmp_path):
    touch(tmp_path, "build/gen.py")
    result = discover([tmp_path / "build" / "gen.py"], cwd=tmp_path)
    assert [f.display_path for f in result.files] == ["build/gen.py"]


def test_symlink_out_of_the_root_is_skipped_with_a_reason(tmp_path):
    touch(tmp_path, "outside/lib.py", "project/main.py")
    (tmp_path / "project" / "lib.py").symlink_to(tmp_path / "outside" / "lib.py")
    result = discover([tmp_path / "project"], cwd=tmp_path)
    assert [f.display_path for f in result.files] == ["project/main.py"]
    assert result.skipped == [("project/lib.py", "symlink to a file outside the given paths")]


def test_same_file_twice_is_processed_once(tmp_path):
    touch(tmp_path, "app/main.py")
    result = discover([tmp_path, tmp_path / "app" / "main.py"], cwd=tmp_path)
    assert [f.display_path for f in result.files] == ["app/main.py"]


def test_module_names_follow_packages(tmp_path):
    touch(tmp_path, "app/__init__.py", "app/api/__init__.py", "app/api/deps.py", "scripts/run.py")
    assert module_name(tmp_path / "app" / "api" / "deps.py") == "app.api.deps"
    assert module_name(tmp_path / "app" / "api" / "__init__.py") == "app.api"
    assert module_name(tmp_path / "scripts" / "run.py") == "run"


def test_files_sharing_a_module_name_get_distinct_names(tmp_path):
    touch(
        tmp_path,
        "main.py",
        "users_service/main.py",
        "orders_service/main.py",
        "app/__init__.py",
        "app/main.py",
        "legacy/app/__init__.py",
        "legacy/app/main.py",
    )
    names = {f.display_path: f.module_name for f in discover([tmp_path], cwd=tmp_path).files}
    assert names == {
        "main.py": "main",  # nearest the top: the one importable from there
        "users_service/main.py": "users_service.main",
        "orders_service/main.py": "orders_service.main",
        "app/__init__.py": "app",
        "app/main.py": "app.main",
        "legacy/app/__init__.py": "legacy.app",
        "legacy/app/main.py": "legacy.app.main",
    }


def test_virtual_environments_by_any_name_are_skipped(tmp_path):
    touch(tmp_path, "app/main.py", "venv2/lib/x.py")
    (tmp_path / "venv2" / "pyvenv.cfg").write_text("home = /usr/bin\n")
    assert found(tmp_path) == ["app/main.py"]


def test_symlink_inside_the_root_is_processed_as_its_target(tmp_path):
    touch(tmp_path, "app/target.py")
    (tmp_path / "app" / "alias.py").symlink_to(tmp_path / "app" / "target.py")
    assert found(tmp_path) == ["app/target.py"]
