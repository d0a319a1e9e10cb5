"""``[tool.fastapi-fix]``: found by walking up from the paths, validated, and overridden by
the command line. Test-only codemods with options make the effect visible in the files."""

from __future__ import annotations

from pathlib import Path

import libcst as cst
import pytest
from click.testing import CliRunner

from fastapi_fix import cli, codemods
from fastapi_fix.engine.codemod import Codemod, FileContext, Option
from fastapi_fix.engine.config import (
    ConfigError,
    ToolConfig,
    effective_options,
    effective_selection,
    load_tool_config,
    parse_tool_config,
)
from tests.engine.toy import RenameQux


class Rename(Codemod):
    """``foo`` → the ``to`` option (upper-cased with ``upper``), except in ``keep-in`` files."""

    name = "rename"
    summary = "rename foo"
    safety = "test only"
    markers = (b"foo",)
    options = (
        Option("to", "bar", "New name."),
        Option("upper", False, "Upper-case the new name."),
        Option("keep-in", [], "File names left alone."),
    )

    def transform(self, ctx: FileContext, module: cst.Module, index: object) -> cst.Module:
        if ctx.file.path.name in self.option("keep-in"):
            return module
        new = self.option("to").upper() if self.option("upper") else self.option("to")

        class Swap(cst.CSTTransformer):
            def leave_Name(self, original: cst.Name, updated: cst.Name) -> cst.Name:
                return updated.with_changes(value=new) if updated.value == "foo" else updated

        return module.visit(Swap())


class Other(RenameQux):
    name = "other"


@pytest.fixture
def project(tmp_path, monkeypatch):
    monkeypatch.setattr(codemods, "REGISTRY", (Rename, Other))
    flags = [cli._option_param(Rename, option) for option in Rename.options]
    monkeypatch.setattr(cli.main, "params", [*cli.main.params, *flags])
    (tmp_path / "pkg" / "legacy").mkdir(parents=True)
    (tmp_path / "pkg" / "a.py").write_text("foo = qux\n")
    (tmp_path / "pkg" / "legacy" / "old.py").write_text("foo = 1\n")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def configure(root: Path, body: str) -> None:
    (root / "pyproject.toml").write_text(
        f"[project]\nname = 'x'\nrequires-python = '>=3.10'\n\n{body}"
    )


def invoke(*args: str):
    return CliRunner().invoke(cli.main, list(args), catch_exceptions=False)


def source(root: Path, name: str = "pkg/a.py") -> str:
    return (root / name).read_text()


# -- values reach the codemods, the command line wins ------------------------------------


def test_codemod_table_sets_options(project):
    configure(project, '[tool.fastapi-fix.rename]\nto = "baz"\nupper = true\n')
    assert invoke("pkg").exit_code == 0
    assert source(project) == "BAZ = quux\n"


def test_flat_option_keys_work_like_the_command_line_flags(project):
    configure(project, '[tool.fastapi-fix]\nto = "baz"\nupper = true\n')
    assert invoke("pkg").exit_code == 0
    assert source(project) == "BAZ = quux\n"


def test_command_line_option_beats_the_configuration(project):
    configure(project, '[tool.fastapi-fix.rename]\nto = "baz"\nupper = true\n')
    assert invoke("--to", "zap", "--no-upper", "pkg").exit_code == 0
    assert source(project) == "zap = quux\n"


def test_list_option_from_configuration_and_command_line(project):
    configure(project, '[tool.fastapi-fix.rename]\nkeep-in = ["a.py"]\n')
    invoke("pkg")
    assert (source(project), source(project, "pkg/legacy/old.py")) == ("foo = quux\n", "bar = 1\n")
    (project / "pkg/a.py").write_text("foo = 1\n")
    invoke("--keep-in", "old.py", "pkg")  # replaces the configured list
    assert source(project) == "bar = 1\n"


def test_list_option_takes_comma_lists_on_the_command_line(project):
    invoke("--keep-in", "a.py,old.py", "pkg")
    assert (source(project), source(project, "pkg/legacy/old.py")) == ("foo = quux\n", "foo = 1\n")


def test_configured_select_and_ignore(project):
    configure(project, '[tool.fastapi-fix]\nignore = ["other"]\n')
    invoke("pkg")
    assert source(project) == "bar = qux\n"


def test_select_on_the_command_line_overrides_the_configured_ignore(project):
    configure(project, '[tool.fastapi-fix]\nignore = ["other"]\n')
    invoke("--select", "other", "pkg")
    assert source(project) == "foo = quux\n"


def test_ignore_on_the_command_line_adds_to_the_configured_one(project):
    configure(project, '[tool.fastapi-fix]\nselect = ["rename", "other"]\n')
    invoke("--ignore", "rename", "pkg")
    assert source(project) == "foo = quux\n"


def test_exclude_is_relative_to_pyproject_and_applies_to_named_files(project, monkeypatch):
    configure(project, '[tool.fastapi-fix]\nexclude = ["pkg/legacy/"]\n')
    monkeypatch.chdir(project / "pkg")
    invoke(".", "legacy/old.py")  # a pre-commit hook names files one by one
    assert source(project, "pkg/legacy/old.py") == "foo = 1\n"
    assert source(project) == "bar = quux\n"


def test_configuration_is_found_walking_up_from_the_paths(project, tmp_path_factory, monkeypatch):
    configure(project, '[tool.fastapi-fix.rename]\nto = "found"\n')
    monkeypatch.chdir(tmp_path_factory.mktemp("elsewhere"))
    invoke(str(project / "pkg" / "legacy"))
    assert source(project, "pkg/legacy/old.py") == "found = 1\n"


# -- errors: exit 2, naming the key and the valid ones -----------------------------------


@pytest.mark.parametrize(
    ("body", "message"),
    [
        pytest.param(
            '[tool.fastapi-fix]\nselct = ["rename"]\n',
            "unknown key 'selct' in [tool.fastapi-fix]; valid keys: select, ignore, exclude, "
            "target-version, rename, other, to, upper, keep-in",
            id="unknown top-level key",
        ),
        pytest.param(
            "[tool.fastapi-fix]\nupper = true\n[tool.fastapi-fix.rename]\nupper = false\n",
            "'upper' is set both in [tool.fastapi-fix] and in [tool.fastapi-fix.rename]",
            id="codemod option set twice",
        ),
        pytest.param(
            "[tool.fastapi-fix.rename]\nuper = true\n",
            "unknown key 'uper' in [tool.fastapi-fix.rename]; valid keys: to, upper, keep-in",
            id="unknown codemod option",
        ),
        pytest.param(
            "[tool.fastapi-fix.other]\nx = 1\n",
            "unknown key 'x' in [tool.fastapi-fix.other]; valid keys: none, this codemod has no options",
            id="codemod without options",
        ),
        pytest.param(
            '[tool.fastapi-fix.rename]\nupper = "yes"\n',
            "[tool.fastapi-fix.rename] upper must be a bool",
            id="wrong type",
        ),
        pytest.param(
            '[tool.fastapi-fix.rename]\nkeep-in = "a.py"\n',
            "[tool.fastapi-fix.rename] keep-in must be a list of strings",
            id="string for a list",
        ),
        pytest.param(
            '[tool.fastapi-fix]\nrename = "x"\n',
            "[tool.fastapi-fix.rename] must be a table of options",
            id="codemod key not a table",
        ),
        pytest.param(
            '[tool.fastapi-fix]\nselect = ["renam"]\n',
            "[tool.fastapi-fix] select: unknown codemod 'renam'; valid names: rename, other",
            id="unknown codemod in select",
        ),
        pytest.param(
            '[tool.fastapi-fix]\nignore = "other"\n',
            "[tool.fastapi-fix] ignore must be a list of strings",
            id="ignore not a list",
        ),
        pytest.param(
            '[tool.fastapi-fix]\ntarget-version = "2.7"\n',
            "invalid target version '2.7'",
            id="bad target version",
        ),
        pytest.param("[tool.fastapi-fix\n", "pyproject.toml: ", id="malformed toml"),
    ],
)
def test_configuration_errors_exit_2(project, body, message):
    configure(project, body)
    before = source(project)
    result = invoke("pkg")
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())
    assert source(project) == before


# -- the pieces ---------------------------------------------------------------------------


def test_parse_tool_config_values(tmp_path):
    document = {
        "project": {"requires-python": ">=3.9"},
        "tool": {
            "fastapi-fix": {
                "select": ["rename"],
                "ignore": ["other"],
                "exclude": ["migrations/"],
                "target-version": "py311",
                "rename": {"upper": True},
            }
        },
    }
    config = parse_tool_config(document, tmp_path / "pyproject.toml", [Rename, Other])
    assert config == ToolConfig(
        tmp_path / "pyproject.toml",
        ("rename",),
        ("other",),
        ("migrations/",),
        (3, 11),
        {"rename": {"upper": True}},
    )
    assert config.root == tmp_path


def test_target_version_falls_back_to_requires_python(tmp_path):
    config = parse_tool_config(
        {"project": {"requires-python": ">=3.10"}}, tmp_path / "p.toml", [Rename]
    )
    assert config.target_version == (3, 10)
    assert cli._target_version("py38", config) == (3, 8)  # the command line wins
    assert cli._target_version(None, config) == (3, 10)


def test_effective_selection_and_options():
    config = ToolConfig(
        select=("a",), ignore=("b",), options={"rename": {"to": "x", "upper": True}}
    )
    assert effective_selection(config, (), ()) == (["a"], ["b"])
    assert effective_selection(config, ("b",), ()) == (["b"], [])
    assert effective_selection(config, (), ("c",)) == (["a"], ["b", "c"])
    assert effective_options(config, {"rename": {"to": "y"}}) == {
        "rename": {"to": "y", "upper": True}
    }


def test_tool_section_must_be_a_table(tmp_path):
    with pytest.raises(ConfigError, match=r"\[tool.fastapi-fix\] must be a table"):
        parse_tool_config({"tool": {"fastapi-fix": []}}, tmp_path / "pyproject.toml", [Rename])


def test_no_pyproject_means_defaults(tmp_path):
    assert load_tool_config([tmp_path], [Rename]) == ToolConfig()
