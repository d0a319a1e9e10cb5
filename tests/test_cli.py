"""The command line contract, with test-only codemods so it holds whatever the real ones do."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from fastapi_fix import codemods
from fastapi_fix.cli import main
from fastapi_fix.engine.codemod import ProjectCodemod
from tests.engine.toy import RenameFoo, use_toy_codemods
from tests.helpers import make_project

PROJECT = {
    "pkg/__init__.py": b"",
    "pkg/a.py": b"foo = 1\r\nprint(foo)\r\n",
    "pkg/b.py": b"x = baz\n",
    "pkg/c.py": b"nothing = 1\n",
}


@pytest.fixture
def project(tmp_path, monkeypatch):
    use_toy_codemods(monkeypatch, make_project(tmp_path, PROJECT))
    return tmp_path


def invoke(*args):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*.py"))}


def test_in_place_applies_and_exits_0(project):
    result = invoke(".")
    assert result.exit_code == 0, result.output
    assert (project / "pkg/a.py").read_bytes() == b"bar = 1\r\nprint(bar)\r\n"
    assert invoke(".").exit_code == 0  # nothing left to do


def test_dry_run_writes_nothing_and_its_patch_applies(project):
    before = snapshot(project)
    result = invoke("--dry-run", ".")
    assert result.exit_code == 1
    assert snapshot(project) == before
    assert result.stdout_bytes.startswith(b"--- a/pkg/a.py\n+++ b/pkg/a.py\n")
    subprocess.run(["git", "init", "-q"], cwd=project, check=True)
    subprocess.run(["git", "apply", "-"], input=result.stdout_bytes, cwd=project, check=True)
    applied = snapshot(project)
    for name, data in before.items():
        (project / name).write_bytes(data)
    invoke(".")
    assert applied == snapshot(project)


def test_check_lists_files_and_exits_1(project):
    before = snapshot(project)
    result = invoke("--check", ".")
    assert result.exit_code == 1
    assert result.stdout == "would fix pkg/a.py\n"
    assert snapshot(project) == before


def test_findings_are_listed_as_path_line_col(project):
    result = invoke("--dry-run", ".")
    assert "pkg/b.py:1:5: rename-foo: baz left alone" in result.stderr


def test_unknown_codemod_is_a_usage_error_listing_valid_names(project):
    result = invoke("--select", "nope", ".")
    assert result.exit_code == 2
    assert "unknown codemod 'nope'" in result.output
    assert "rename-foo, broken" in result.output


def test_missing_path_is_a_usage_error(project):
    result = invoke("does-not-exist")
    assert result.exit_code == 2
    assert "does-not-exist" in result.output


def test_failure_exits_123_and_writes_nothing(project):
    before = snapshot(project)
    result = invoke("--select", "broken", ".")
    assert result.exit_code == 123
    assert "pkg/a.py: error: rewrite does not compile" in result.stderr
    assert snapshot(project) == before


def test_read_only_file_exits_123_and_others_are_written(project):
    (project / "pkg/b.py").write_bytes(b"foo = 2\n")
    (project / "pkg/b.py").chmod(0o444)
    result = invoke(".")
    assert result.exit_code == 123
    assert "pkg/b.py: skipped: read-only file" in result.stderr
    assert (project / "pkg/b.py").read_bytes() == b"foo = 2\n"
    assert (project / "pkg/a.py").read_bytes() == b"bar = 1\r\nprint(bar)\r\n"


def test_syntax_error_is_one_line_and_others_are_processed(project):
    (project / "pkg/bad.py").write_bytes(b"foo = (\n")
    result = invoke(".")
    assert result.exit_code == 0
    assert "pkg/bad.py: skipped: syntax error at line 1:7: " in result.stderr
    assert "Traceback" not in result.output


def test_select_ignore_and_list(project):
    assert invoke("--select", "rename-foo", "--ignore", "rename-foo", "--check", ".").exit_code == 0
    listing = invoke("--list-codemods").stdout
    assert "rename-foo" in listing and "broken (only with --select)" in listing


def test_summary_counts_per_codemod(project):
    result = invoke("--dry-run", ".")
    row = next(line for line in result.stderr.splitlines() if line.strip().startswith("rename-foo"))
    assert row.split()[1:] == ["│", "1", "│", "2", "│", "1"]


def test_console_script_and_module_entry_points():
    for command in (["fastapi-fix"], [sys.executable, "-m", "fastapi_fix"]):
        if command[0] == "fastapi-fix":
            command[0] = shutil.which("fastapi-fix") or str(
                Path(sys.executable).with_name("fastapi-fix")
            )
        out = subprocess.run(
            [*command, "--version"], capture_output=True, text=True, env=os.environ
        )
        assert out.returncode == 0 and "fastapi-fix" in out.stdout


def _run_python(script: str) -> str:
    """``script`` run by a fresh interpreter (nothing imported yet); its stdout."""
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=os.environ
    )
    assert out.returncode == 0, out.stderr
    return out.stdout


@pytest.mark.parametrize(
    "args",
    [["--version"], ["--help"], ["--list-codemods"], ["--list-codemods", "--format", "json"]],
    ids=" ".join,
)
def test_version_help_and_list_start_without_the_rewriting_libraries(args):
    """They need the codemods' names, summaries and options, not LibCST nor what reads a
    project (pathspec, packaging): their start-up is a fraction of a run's."""
    script = (
        "import sys\n"
        "from fastapi_fix.cli import main\n"
        f"code = main({args!r}, standalone_mode=False)\n"
        "heavy = {'libcst', 'pathspec', 'packaging'}\n"
        "print('exit', code, sorted(heavy.intersection(m.partition('.')[0] for m in sys.modules)))\n"
    )
    assert _run_python(script).splitlines()[-1] == "exit 0 []"


@pytest.mark.parametrize(
    "name",
    # A project-level codemod plans in the main process: it has no workers.
    [c.name for c in codemods.REGISTRY if not issubclass(c, ProjectCodemod)],
)
def test_a_loaded_codemod_has_imported_what_its_workers_use(name):
    """Forked workers share the modules imported before the pool starts: a codemod a run
    loads has imported every module of its package (its steps import them only when they
    first run), LibCST with them."""
    script = (
        "import pkgutil, sys\n"
        "from fastapi_fix import codemods\n"
        f"codemod = codemods.by_name()[{name!r}]\n"
        "package = sys.modules[codemod.__module__]\n"
        "codemod().load()\n"
        "prefix = package.__name__ + '.'\n"
        "modules = [m.name for m in pkgutil.iter_modules(package.__path__, prefix)]\n"
        "missing = [m for m in modules if m not in sys.modules]\n"
        "print(len(modules), missing)\n"
    )
    count, missing = _run_python(script).split(" ", 1)
    assert int(count) > 1 and missing == "[]\n"


class CountUses(RenameFoo):
    """Renames ``foo`` only where the whole project uses it once: needs every file's facts."""

    name = "count-uses"
    markers = (b"foo",)

    def wants_gather(self, source):
        return b"foo" in source

    def gather(self, file, tree):
        import ast

        return sum(isinstance(n, ast.Name) and n.id == "foo" for n in ast.walk(tree))

    def build_index(self, facts, unparsed, fixed=None):
        return sum(facts.values())

    def transform(self, ctx, module, index):
        return module if index != 1 else super().transform(ctx, module, index)


def test_excluded_and_unnamed_files_are_read_but_never_rewritten(tmp_path, monkeypatch):
    (tmp_path / ".git").mkdir()
    (tmp_path / "app").mkdir()
    (tmp_path / "app/routes.py").write_text("foo = 1\n")
    (tmp_path / "app/cli.py").write_text("print(foo)\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(codemods, "REGISTRY", (CountUses,))
    for args in (["--exclude", "app/cli.py", "."], ["app/routes.py"]):
        result = invoke(*args)
        assert result.exit_code == 0
        assert (tmp_path / "app/routes.py").read_text() == "foo = 1\n", (
            args
        )  # two uses project-wide
    (tmp_path / "app/cli.py").write_text("print(1)\n")
    assert invoke("app/routes.py").exit_code == 0
    assert (tmp_path / "app/routes.py").read_text() == "bar = 1\n"
    assert (tmp_path / "app/cli.py").read_text() == "print(1)\n"


def test_empty_branch_name_is_a_usage_error(project):
    before = snapshot(project)
    result = invoke("--branch", "", ".")
    assert result.exit_code == 2 and "--branch needs a branch name" in result.output
    assert snapshot(project) == before


def test_nothing_selected_says_so(project):
    result = invoke("--select", "rename-foo", "--ignore", "rename-foo", ".")
    assert result.exit_code == 0
    assert "no codemod selected" in result.stderr


def test_symlink_leading_out_counts_as_skipped_in_json(project, tmp_path_factory):
    import json

    outside = tmp_path_factory.mktemp("outside") / "ext.py"
    outside.write_bytes(b"foo = 1\n")
    (project / "pkg/link.py").symlink_to(outside)
    doc = json.loads(invoke("--dry-run", "--format", "json", ".").stdout)
    skipped = [f for f in doc["files"] if f["path"] == "pkg/link.py"]
    assert skipped == [
        {**skipped[0], "status": "skipped", "reason": "symlink to a file outside the given paths"}
    ]
    assert doc["summary"]["skipped"] == 1
    assert outside.read_bytes() == b"foo = 1\n"
