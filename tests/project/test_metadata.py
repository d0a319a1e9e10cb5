"""project.metadata: which FastAPI a project declares, read with `packaging`.

Each case is a small project in ``tmp_path``: its metadata files, and the finding
(file:line: requirement) that says the project admits a FastAPI older than 0.95, or None.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from fastapi_fix.project.metadata import too_old_by_file, too_old_fastapi


def declared(
    tmp_path: Path, files: dict[str, str], python: tuple[int, int] | None = None
) -> str | None:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    app = tmp_path / "app" / "main.py"
    app.parent.mkdir(parents=True, exist_ok=True)
    app.write_text("")
    return too_old_fastapi([app], python)


def pep621(*requirements: str) -> dict[str, str]:
    listed = ", ".join(f'"{r}"' for r in requirements)
    return {"pyproject.toml": f'[project]\nname = "x"\ndependencies = [{listed}]\n'}


@pytest.mark.parametrize(
    ("spec", "finding"),
    [
        (">=0.79,<1", "pyproject.toml:3: fastapi>=0.79,<1"),
        ("==0.94.*", "pyproject.toml:3: fastapi==0.94.*"),
        ("~=0.90", "pyproject.toml:3: fastapi~=0.90"),
        ("==0.88.0", "pyproject.toml:3: fastapi==0.88.0"),
        (" (>=0.80)", "pyproject.toml:3: fastapi (>=0.80)"),
        ("<0.90", "pyproject.toml:3: fastapi<0.90"),  # only old ones
        (">=0.95.1", None),
        (">=0.110", None),
        ("==0.95.*", None),  # 0.95's pre-releases sort below 0.95, but are not meant
        ("<1", None),  # no lower bound: current
        ("!=0.90.0", None),
        ("", None),
    ],
)
def test_pep621_specifiers(tmp_path: Path, spec: str, finding: str | None) -> None:
    assert declared(tmp_path, pep621(f"fastapi{spec}", "httpx")) == finding


def test_other_fastapi_distributions_do_not_count(tmp_path: Path) -> None:
    files = pep621(
        "fastapi==0.116.1", "fastapi-sso==0.19.0", "fastapi-pagination>=0.12.0", "Fastapi_Users>=10"
    )
    assert declared(tmp_path, files) is None


def test_extras_and_normalised_names(tmp_path: Path) -> None:
    assert (
        declared(tmp_path, pep621("FastAPI[standard]>=0.115", "fastapi-cli[standard]>=0.0.5"))
        is None
    )
    assert (
        declared(tmp_path, pep621("fastapi_slim==0.90.0"))
        == "pyproject.toml:3: fastapi_slim==0.90.0"
    )


def test_markers_are_evaluated_for_the_target_python(tmp_path: Path) -> None:
    files = pep621(
        "fastapi==0.90.0; python_version < '3.8'", "fastapi>=0.100; python_version >= '3.8'"
    )
    assert declared(tmp_path, files, (3, 10)) is None
    assert declared(tmp_path, files, (3, 7)) == (
        "pyproject.toml:3: fastapi==0.90.0; python_version < '3.8'"
    )


@pytest.mark.parametrize(
    ("constraint", "too_old"),
    [
        ('"^0.94"', True),
        ('"^0.100"', False),
        ('"~0.94.1"', True),
        ('"0.88.0"', True),
        ('"*"', False),
        ('">=0.100,<1.0"', False),
        ('"^0.80 || ^0.100"', True),
        ('{version = "^0.94", extras = ["all"]}', True),
        ('{version = "^0.94", markers = "python_version < \'3.8\'"}', False),
        ('[{version = "^0.100"}]', False),
    ],
)
def test_poetry_constraints(tmp_path: Path, constraint: str, too_old: bool) -> None:
    files = {
        "pyproject.toml": f"""\
            [tool.poetry.dependencies]
            python = "^3.10"
            fastapi = {constraint}
            """
    }
    found = declared(tmp_path, files)
    assert (found is not None) == too_old
    if too_old:
        assert found is not None and found.startswith("pyproject.toml:3: fastapi ")


def test_poetry_groups(tmp_path: Path) -> None:
    files = {
        "pyproject.toml": """\
            [tool.poetry.dependencies]
            python = "^3.10"

            [tool.poetry.group.web.dependencies]
            fastapi = "^0.94"
            """
    }
    assert declared(tmp_path, files) == "pyproject.toml:5: fastapi ^0.94"


def test_other_pyproject_tables(tmp_path: Path) -> None:
    groups = {"pyproject.toml": '[dependency-groups]\nweb = ["fastapi==0.90.0"]\n'}
    assert declared(tmp_path, groups) == "pyproject.toml:2: fastapi==0.90.0"
    uv = {"pyproject.toml": '[tool.uv]\noverride-dependencies = ["fastapi==0.91.0"]\n'}
    assert declared(tmp_path / "uv", uv) == "pyproject.toml:2: fastapi==0.91.0"
    pdm = {"pyproject.toml": '[tool.pdm.dev-dependencies]\nweb = ["fastapi==0.92.0"]\n'}
    assert declared(tmp_path / "pdm", pdm) == "pyproject.toml:2: fastapi==0.92.0"


def test_requirements_files_follow_includes(tmp_path: Path) -> None:
    files = {
        "requirements.txt": "# web\n-r requirements/base.txt\n--constraint=constraints.txt\nhttpx\n",
        "requirements/base.txt": "-r ../requirements.txt  # a cycle\nfastapi-sso==0.19.0\n",
        "constraints.txt": "-i https://example.org/simple\nfastapi \\\n  ==0.90.0 \\\n  --hash=sha256:abc\n",
    }
    assert declared(tmp_path, files) == "constraints.txt:2: fastapi ==0.90.0"


def test_requirements_comments_and_editables(tmp_path: Path) -> None:
    files = {"requirements-dev.txt": "-e .\nfastapi>=0.100  # was ==0.90.0\n#fastapi==0.80\n"}
    assert declared(tmp_path, files) is None


@pytest.mark.parametrize(
    ("lock", "text"),
    [
        ("uv.lock", '[[package]]\nname = "fastapi"\nversion = "0.90.0"\n'),
        ("poetry.lock", '[[package]]\nname = "fastapi"\nversion = "0.90.0"\n'),
        ("pdm.lock", '[[package]]\nname = "fastapi"\nversion = "0.90.0"\n'),
    ],
)
def test_a_lock_file_pinning_an_old_fastapi(tmp_path: Path, lock: str, text: str) -> None:
    files = {**pep621("fastapi"), lock: text}
    assert declared(tmp_path, files) == f"{lock}:2: fastapi 0.90.0"


def test_a_lock_file_wins_over_bounds(tmp_path: Path) -> None:
    files = {
        **pep621("fastapi>=0.80"),
        "uv.lock": '[[package]]\nname = "fastapi"\nversion = "0.116.1"\n',
    }
    assert declared(tmp_path, files) is None


def test_setup_cfg_and_setup_py(tmp_path: Path) -> None:
    cfg = {"setup.cfg": "[options]\ninstall_requires =\n    httpx\n    fastapi>=0.80\n"}
    assert declared(tmp_path / "cfg", cfg) == "setup.cfg:4: fastapi>=0.80"
    py = {
        "setup.py": 'from setuptools import setup\n\nREQUIRES = ["fastapi==0.90.0"]\n\nsetup(name="x", install_requires=REQUIRES)\n'
    }
    assert declared(tmp_path / "py", py) == "setup.py:3: fastapi==0.90.0"
    dynamic = {
        "setup.py": "from setuptools import setup\n\nsetup(install_requires=open('r').read().split())\n"
    }
    assert declared(tmp_path / "dynamic", dynamic) is None


def test_the_nearest_project_folder_decides(tmp_path: Path) -> None:
    """app P keeps backend/requirements.txt: a file under backend/ reads it."""
    (tmp_path / "backend" / "app").mkdir(parents=True)
    (tmp_path / "backend" / "requirements.txt").write_text("fastapi==0.90.0\n")
    main = tmp_path / "backend" / "app" / "main.py"
    main.write_text("")
    assert too_old_fastapi([main]) == "requirements.txt:1: fastapi==0.90.0"


def test_no_fastapi_declared_means_current(tmp_path: Path) -> None:
    assert declared(tmp_path, {**pep621("httpx"), "requirements.txt": "starlette==0.20\n"}) is None
    assert declared(tmp_path / "none", {}) is None


def test_each_file_is_judged_by_its_own_project(tmp_path: Path) -> None:
    (tmp_path / "old").mkdir()
    (tmp_path / "new").mkdir()
    (tmp_path / "old" / "requirements.txt").write_text("fastapi==0.90.0\n")
    (tmp_path / "new" / "requirements.txt").write_text("fastapi==0.116.1\n")
    files = [tmp_path / "old" / "main.py", tmp_path / "new" / "main.py"]
    for path in files:
        path.write_text("")
    assert too_old_by_file(files) == {files[0]: "old/requirements.txt:1: fastapi==0.90.0"}


def test_the_search_stops_at_the_repository_root(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("fastapi==0.90.0\n")  # outside the repository
    (tmp_path / "repo" / ".git").mkdir(parents=True)
    main = tmp_path / "repo" / "main.py"
    main.write_text("")
    assert too_old_fastapi([main]) is None


def test_relative_paths_look_above_the_current_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\ndependencies = ["fastapi==0.90.0"]\n')
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "main.py").write_text("")
    monkeypatch.chdir(tmp_path / "app")
    assert too_old_fastapi([Path("main.py")]) == "pyproject.toml:2: fastapi==0.90.0"
