import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from fastapi_fix.engine.codemod import NO_FIXED_POINTS, FixedPoints, SourceFile
from fastapi_fix.engine.discover import discover
from fastapi_fix.engine.results import Status
from fastapi_fix.engine.runner import Runner
from tests.engine.toy import Broken, RenameFoo, SeededRename, Unstable
from tests.helpers import make_project


def run(root: Path, codemod=None, *, write=True, jobs=1):
    found = discover([root], cwd=root)
    results = Runner([codemod or RenameFoo()], jobs=jobs).run(
        found.files, write=write, roots=found.roots
    )
    return {r.display_path: r for r in results}


BAD_FILES = {
    "good.py": b"foo = 1\n",
    "syntax.py": b"foo = (\n",
    "undecodable.py": b"foo = '\xff'\n",
    "generated.py": b"# @generated\nfoo = 1\n",
    "crlf.py": b"foo = 1\r\nx = foo\r\n",
    "bom.py": b"\xef\xbb\xbffoo = 1\n",
    "latin1.py": b"# -*- coding: latin-1 -*-\nfoo = '\xe9'\n",
    "tabs.py": b"if True:\n\tfoo = 1\n",
    "no_newline.py": b"foo = 1",
    "newer_syntax.py": b"try:\n    foo()\nexcept A, B:\n    pass\n",
    "cr_only.py": b"foo = 1\rx = 2\r",
}


def test_one_bad_file_never_stops_the_others(tmp_path):
    results = run(make_project(tmp_path, BAD_FILES))
    assert results["syntax.py"].status is Status.SKIPPED
    assert results["syntax.py"].reason.startswith("syntax error at line")
    assert results["undecodable.py"].status is Status.SKIPPED
    assert "undecodable" in results["undecodable.py"].reason
    assert results["generated.py"].status is Status.SKIPPED
    assert results["cr_only.py"].status is Status.SKIPPED
    assert "byte for byte" in results["cr_only.py"].reason
    assert (tmp_path / "cr_only.py").read_bytes() == BAD_FILES["cr_only.py"]
    assert (tmp_path / "syntax.py").read_bytes() == BAD_FILES["syntax.py"]
    assert (tmp_path / "good.py").read_bytes() == b"bar = 1\n"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("crlf.py", b"bar = 1\r\nx = bar\r\n"),
        ("bom.py", b"\xef\xbb\xbfbar = 1\n"),
        ("latin1.py", b"# -*- coding: latin-1 -*-\nbar = '\xe9'\n"),
        ("tabs.py", b"if True:\n\tbar = 1\n"),
        ("no_newline.py", b"bar = 1"),
        # stdlib ast of this Python rejects PEP 758; LibCST still rewrites it.
        ("newer_syntax.py", b"try:\n    bar()\nexcept A, B:\n    pass\n"),
    ],
)
def test_untouched_bytes_stay_identical(tmp_path, name, expected):
    results = run(make_project(tmp_path, BAD_FILES))
    assert results[name].status is Status.CHANGED
    assert (tmp_path / name).read_bytes() == expected


def test_dry_run_writes_nothing(tmp_path):
    make_project(tmp_path, BAD_FILES)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    results = run(tmp_path, write=False)
    assert results["good.py"].new == b"bar = 1\n"
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_findings_and_edits_are_reported(tmp_path):
    make_project(tmp_path, {"a.py": b"foo = baz\n"})
    result = run(tmp_path)["a.py"]
    assert [str(f) for f in result.findings] == ["a.py:1:7: rename-foo: baz left alone"]
    assert [(e.codemod, e.line) for e in result.edits] == [("rename-foo", 1)]


def test_files_without_markers_are_never_parsed(tmp_path, monkeypatch):
    make_project(tmp_path, {"a.py": b"x = 1\n", "b.py": b"foo = 1\n"})
    parsed = []
    import fastapi_fix.engine.pipeline as pipeline

    original = pipeline.parse_module
    monkeypatch.setattr(
        pipeline,
        "parse_module",
        lambda data, **options: parsed.append(data) or original(data, **options),
    )
    run(tmp_path, write=False)
    assert parsed == [b"foo = 1\n"]


def test_output_that_does_not_compile_is_never_written(tmp_path):
    make_project(tmp_path, {"a.py": b"foo = 1\n"})
    result = run(tmp_path, Broken())["a.py"]
    assert result.status is Status.FAILED
    assert "does not compile" in result.reason
    assert (tmp_path / "a.py").read_bytes() == b"foo = 1\n"


def test_output_that_is_not_a_fixed_point_is_never_written(tmp_path):
    make_project(tmp_path, {"a.py": b"foo = 1\n"})
    result = run(tmp_path, Unstable())["a.py"]
    assert result.status is Status.FAILED
    assert "not stable" in result.reason
    assert (tmp_path / "a.py").read_bytes() == b"foo = 1\n"


def test_read_only_file_is_skipped_and_kept(tmp_path):
    make_project(tmp_path, {"a.py": b"foo = 1\n", "b.py": b"foo = 2\n"})
    (tmp_path / "a.py").chmod(0o444)
    results = run(tmp_path)
    assert results["a.py"].status is Status.SKIPPED
    assert results["a.py"].write_refused
    assert (tmp_path / "a.py").read_bytes() == b"foo = 1\n"
    assert (tmp_path / "b.py").read_bytes() == b"bar = 2\n"


def test_parallel_run_gives_the_same_results(tmp_path):
    files = {f"pkg/m{i}.py": f"foo = {i}\nx = 1\n".encode() for i in range(80)}
    make_project(tmp_path, files)
    serial = run(tmp_path, write=False, jobs=1)
    parallel = run(tmp_path, write=False, jobs=2)
    assert list(serial) == list(parallel)
    assert all(serial[k].new == parallel[k].new for k in serial)


class RecordExcepts(RenameFoo):
    """Gathers the line of every ``except`` clause, to see what `ast` made of the file."""

    name = "record-excepts"

    def gather(self, file, tree):
        import ast

        return [node.lineno for node in ast.walk(tree) if isinstance(node, ast.ExceptHandler)]


@pytest.mark.parametrize(
    ("source", "except_lines"),
    [
        pytest.param(
            b"foo = 1\ntry:\n    pass\nexcept A, B:\n    pass\n", [4], id="PEP 758 except"
        ),
        pytest.param(
            b"type foo = int\ndef f[T](x: T) -> T:\n    try:\n        pass\n    except A:\n"
            b"        pass\n",
            [5],
            id="PEP 695 type params and alias",
        ),
    ],
)
def test_newer_syntax_is_still_gathered_with_true_line_numbers(source, except_lines):
    from fastapi_fix.engine.pipeline import gather_file
    from tests.helpers import in_memory_file

    outcome = gather_file(in_memory_file("m.py"), source, [RecordExcepts()])
    assert outcome.ast_ok
    assert outcome.facts["record-excepts"] == except_lines


def test_a_real_syntax_error_is_skipped_not_taken_for_newer_syntax():
    from fastapi_fix.engine.pipeline import gather_file
    from tests.helpers import in_memory_file

    outcome = gather_file(in_memory_file("m.py"), b"async def foo(:\n    pass\n", [RecordExcepts()])
    assert outcome.skip == "syntax error at line 1:15: invalid syntax"
    assert outcome.ast_ok


def test_null_bytes_are_a_one_line_skip(tmp_path):
    make_project(tmp_path, {"a.py": b"foo = 1\x00\n"})
    result = run(tmp_path)["a.py"]
    assert result.status is Status.SKIPPED
    assert result.reason == "cannot parse: source code string cannot contain null bytes"


@pytest.mark.parametrize("jobs", [1, 2])
def test_codemod_without_a_seed_in_the_project_is_skipped(tmp_path, jobs):
    files = {f"m{i}.py": b"foo = 1\ncrash = 2\n" for i in range(40)}
    results = run(make_project(tmp_path, files), SeededRename(), write=False, jobs=jobs)
    assert {r.status for r in results.values()} == {Status.UNCHANGED}


@pytest.mark.parametrize("jobs", [1, 2])
def test_one_seed_anywhere_runs_the_codemod_on_every_file(tmp_path, jobs):
    files = {f"m{i}.py": b"foo = 1\n" for i in range(40)}
    files["last.py"] = b"seed = 1\n"
    results = run(make_project(tmp_path, files), SeededRename(), write=False, jobs=jobs)
    assert results["m0.py"].new == b"bar = 1\n"
    assert results["m39.py"].status is Status.CHANGED
    assert results["last.py"].status is Status.UNCHANGED


def test_a_seeded_project_is_gathered(tmp_path):
    results = run(
        make_project(tmp_path, {"a.py": b"seed = crash = 1\n"}), SeededRename(), write=False
    )
    assert results["a.py"].status is Status.FAILED
    assert "gathered" in results["a.py"].reason


class FollowNames(RenameFoo):
    """Gathers files saying ``start``, then every file naming a name or module they use, and
    so on: records which modules it gathered, and which it could not read."""

    name = "follow-names"
    markers = (b"start",)

    def gather(self, file, tree):
        import ast

        names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
        modules = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        return names, modules

    def more_to_gather(self, facts):
        from fastapi_fix.engine.codemod import Wanted

        return Wanted(
            names=frozenset().union(*(names for names, _ in facts.values())),
            modules=frozenset().union(*(modules for _, modules in facts.values())),
        )

    def build_index(self, facts, unparsed, fixed=None):
        self.gathered = sorted(f.module_name for f in facts)
        self.unparsed = sorted(f.module_name for f in unparsed)


FOLLOWED = {
    "a.py": b"import pkg.e\nstart()\nhelper()\n",
    "b.py": b"def helper():\n    deeper()\n",
    "c.py": b"def deeper():\n    pass\n",
    "pkg/__init__.py": b"",
    "pkg/e.py": b"x = 1\n",
    "z.py": b"unrelated = 1\n",
    "newer.py": b"def helper[T](x: T) -> T:\n    return (yield x)\nclass C[T]: pass\n"
    b"type Alias = list[int]\nprint(f'{'nested'}')\n",
}


@pytest.mark.parametrize("jobs", [1, 2])
def test_gather_rounds_reach_what_the_facts_name_and_nothing_else(tmp_path, jobs):
    files = {**FOLLOWED, **{f"filler{i}.py": b"nothing = 1\n" for i in range(40)}}
    codemod = FollowNames()
    run(make_project(tmp_path, files), codemod, write=False, jobs=jobs)
    # newer.py names `helper` too; before Python 3.12 `ast` cannot read its nested f-string quotes.
    readable = sys.version_info >= (3, 12)
    assert codemod.gathered == ["a", "b", "c", *(["newer"] if readable else []), "pkg.e"]
    assert codemod.unparsed == ([] if readable else ["newer"])


def test_a_name_that_is_not_ascii_makes_every_file_wanted(tmp_path):
    files = {"a.py": "start()\nhélper()\n".encode(), "z.py": b"unrelated = 1\n"}
    codemod = FollowNames()
    run(make_project(tmp_path, files), codemod, write=False)
    assert codemod.gathered == ["a", "z"]


def test_a_wanted_module_means_every_file_of_that_name():
    from fastapi_fix.engine.codemod import SourceFile

    files = [
        SourceFile(Path("/p/a.py"), "a.py", "a"),
        SourceFile(Path("/p/x/m.py"), "x/m.py", "m"),
        SourceFile(Path("/p/y/m.py"), "y/m.py", "m"),
    ]
    sources = dict(zip(files, [b"import m\nstart()\n", b"one = 1\n", b"two = 2\n"], strict=True))
    codemod = FollowNames()
    list(Runner([codemod], jobs=1).run(files, write=False, sources=sources))
    assert codemod.gathered == ["a", "m", "m"]


class FollowPairs(FollowNames):
    """Wants the files that hold both words of each pair ``left_right`` named in ``start`` files."""

    def more_to_gather(self, facts):
        from fastapi_fix.engine.codemod import Wanted

        names = frozenset().union(*(names for names, _ in facts.values()))
        return Wanted(together=frozenset(frozenset(n.split("_")) for n in names if "_" in n))


def test_a_group_of_words_wants_the_files_that_hold_them_all(tmp_path):
    files = {
        "a.py": b"start()\nget_orders()\n",
        "both.py": b"orders.get()\n",
        "one.py": b"d.get('x')\n",
        "other.py": b"orders = []\n",
    }
    codemod = FollowPairs()
    run(make_project(tmp_path, files), codemod, write=False)
    assert codemod.gathered == ["a", "both"]


class FollowWithin(FollowNames):
    """Wants the files inside package ``pkg`` that hold the word ``helper``."""

    def more_to_gather(self, facts):
        from fastapi_fix.engine.codemod import Wanted

        return Wanted(within=frozenset({("pkg", frozenset({"helper"}))}))


def test_a_group_within_a_package_wants_only_its_modules(tmp_path):
    files = {
        "a.py": b"start()\n",
        "pkg/__init__.py": b"helper = 1\n",
        "pkg/inner.py": b"helper()\n",
        "pkg/sub/__init__.py": b"",
        "pkg/sub/deep.py": b"x = helper\n",
        "pkg/other.py": b"nothing = 1\n",
        "outside.py": b"helper()\n",
    }
    codemod = FollowWithin()
    run(make_project(tmp_path, files), codemod, write=False)
    assert codemod.gathered == ["a", "pkg.inner", "pkg.sub.deep"]


class RecordFixed(RenameFoo):
    """Gathers every file; keeps the fixed points its index is given."""

    name = "record-fixed"
    fixed: FixedPoints | None = None

    def wants_gather(self, source: bytes) -> bool:
        return True

    def build_index(
        self,
        facts: Mapping[SourceFile, Any],
        unparsed: Sequence[SourceFile],
        fixed: FixedPoints = NO_FIXED_POINTS,
    ) -> None:
        RecordFixed.fixed = fixed


def test_the_index_knows_the_files_the_run_will_not_write(tmp_path: Path) -> None:
    root = make_project(
        tmp_path,
        {
            "named.py": b"foo = 1\n",
            "read_only.py": b"foo = 1\n",
            "generated.py": b"# @generated\nfoo = 1\n",
            "syntax.py": b"foo = (\n",
            "undecodable.py": b"foo = '\xff'\n",
            "ignored.py": b"foo = 1  # fastapi-fix: ignore\n",
            "ignored_for_another.py": b"foo = 1  # fastapi-fix: ignore[other]\n",
            "ignored_for_this.py": b"foo = 1  # fastapi-fix: ignore[record-fixed, other]\n",
            "context.py": b"foo = 1\n",
        },
    )
    (root / "read_only.py").chmod(0o444)
    found = discover([root], cwd=root)
    named = [f for f in found.files if f.display_path != "context.py"]
    context = [f for f in found.files if f.display_path == "context.py"]
    list(Runner([RecordFixed()], jobs=1).run(named, roots=found.roots, context=context))
    fixed = RecordFixed.fixed
    assert fixed is not None
    assert {path.name: fixed.reason(path) for path in fixed.reasons} == {
        "read_only.py": "read-only file",
        "generated.py": "generated file (@generated)",
        "syntax.py": fixed.reason(root / "syntax.py"),
        "undecodable.py": fixed.reason(root / "undecodable.py"),
        "ignored.py": "it holds a `# fastapi-fix: ignore` for this codemod",
        "ignored_for_this.py": "it holds a `# fastapi-fix: ignore` for this codemod",
        "context.py": "it is not among the files to rewrite (not named, or excluded)",
    }
    assert str(fixed.reason(root / "syntax.py")).startswith("syntax error")
    assert str(fixed.reason(root / "undecodable.py")).startswith("undecodable")
    assert fixed.writable(root / "named.py")
    assert fixed.writable(root / "ignored_for_another.py")
    assert not fixed.writable(root / "context.py")
