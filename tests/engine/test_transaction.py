"""Writes are one transaction: change sets written together or not at all, a gate that can
veto a set, a journal that the next run rolls back from, and files kept as they were."""

from __future__ import annotations

import ast
import json
import os
from collections.abc import Mapping
from pathlib import Path

import pytest
from click.testing import CliRunner

from fastapi_fix import codemods
from fastapi_fix.cli import main
from fastapi_fix.engine.discover import discover
from fastapi_fix.engine.files import SkipFile, read_snapshot
from fastapi_fix.engine.results import Status
from fastapi_fix.engine.runner import Runner
from fastapi_fix.engine.transaction import (
    JOURNAL_NAME,
    Transaction,
    recover,
    stale_temp_files,
)
from tests.engine.toy import RenameFooTogether
from tests.helpers import make_project

# provider.py defines foo; main.py and users.py import it (each needs provider.py's rewrite);
# alone.py has a foo of its own and needs nothing.
CROSS_FILE = {
    "provider.py": b"def foo():\n    return 1\n",
    "main.py": b"from provider import foo\n\nx = foo()\n",
    "users.py": b"from provider import foo\n\ny = foo()\n",
    "alone.py": b"foo = 2\n",
}
RENAMED = {name: data.replace(b"foo", b"bar") for name, data in CROSS_FILE.items()}


@pytest.fixture
def project(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(codemods, "REGISTRY", (RenameFooTogether,))
    return make_project(tmp_path, CROSS_FILE)


def invoke(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def contents(root: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(root.glob("*.py"))}


# -- change sets ---------------------------------------------------------------------------


def test_a_read_only_provider_keeps_its_importers_unwritten(project):
    (project / "provider.py").chmod(0o444)
    result = invoke(".")
    assert result.exit_code == 123
    assert contents(project) == {**CROSS_FILE, "alone.py": RENAMED["alone.py"]}
    assert "provider.py: skipped: read-only file" in result.stderr
    for importer in ("main.py", "users.py"):
        assert f"{importer}: skipped: not written: needs provider.py rewritten with it" in (
            result.stderr
        )
    assert "fixed alone.py" in result.stderr


def test_naming_only_the_importer_writes_nothing_of_the_set(project):
    result = invoke("main.py")
    assert result.exit_code == 123
    assert contents(project) == CROSS_FILE
    assert "main.py: skipped: not written: needs provider.py rewritten with it" in result.stderr


def test_a_whole_set_is_written_together(project):
    result = invoke(".")
    assert result.exit_code == 0, result.output
    assert contents(project) == RENAMED
    assert not (project / JOURNAL_NAME).exists()
    assert list(stale_temp_files(project)) == []


def undefined_imports(new: Mapping[Path, bytes]) -> list[str]:
    """A small static import gate: each ``from MODULE import NAME`` of a sibling module must
    name something that module defines, as it will be (staged) or as it is (on disk)."""
    problems = []
    for path, data in new.items():
        for node in ast.walk(ast.parse(data)):
            if not isinstance(node, ast.ImportFrom) or node.module is None:
                continue
            source = path.parent / f"{node.module}.py"
            if not source.exists():
                continue
            tree = ast.parse(new.get(source, source.read_bytes()))
            defined = {
                target.id
                for statement in tree.body
                for target in getattr(statement, "targets", [])
                if isinstance(target, ast.Name)
            } | {s.name for s in tree.body if isinstance(s, (ast.FunctionDef, ast.ClassDef))}
            problems += [
                f"{path.name}: imports {alias.name} from {node.module}, which does not define it"
                for alias in node.names
                if alias.name not in defined
            ]
    return problems


def test_the_gate_vetoes_a_set_and_the_others_are_written(tmp_path):
    # lib.py is not linked to app.py (the codemod only knows about provider.py): without the
    # gate, app.py would import a bar that lib.py does not define.
    make_project(
        tmp_path,
        {
            "lib.py": b"# @generated\nfoo = 1\n",
            "app.py": b"from lib import foo\n",
            "alone.py": b"foo = 2\n",
        },
    )
    found = discover([tmp_path], cwd=tmp_path)
    runner = Runner([RenameFooTogether()], jobs=1, gate=undefined_imports)
    results = {r.display_path: r for r in runner.run(found.files, write=True, roots=found.roots)}
    assert results["app.py"].status is Status.SKIPPED and results["app.py"].write_refused
    assert results["app.py"].reason == "app.py: imports bar from lib, which does not define it"
    assert (tmp_path / "app.py").read_bytes() == b"from lib import foo\n"
    assert results["alone.py"].written
    assert (tmp_path / "alone.py").read_bytes() == b"bar = 2\n"
    assert list(stale_temp_files(tmp_path)) == []


def test_the_gate_lets_a_consistent_set_through(project):
    found = discover([project], cwd=project)
    runner = Runner([RenameFooTogether()], jobs=1, gate=undefined_imports)
    results = list(runner.run(found.files, write=True, roots=found.roots))
    assert all(r.written for r in results)
    assert contents(project) == RENAMED


# -- the journal and recovery -------------------------------------------------------------


def interrupted_commit(root: Path, renames_done: int, monkeypatch) -> None:
    """Stage every file of CROSS_FILE, then stop the commit as a crash would (no clean-up)
    after ``renames_done`` renames: the journal and the temp files stay."""
    from fastapi_fix.engine import transaction as module

    class Crash(BaseException):
        pass

    done = []
    real_apply = module._apply

    def apply(entry):
        if len(done) == renames_done:
            raise Crash
        done.append(entry)
        real_apply(entry)

    monkeypatch.setattr(module, "_apply", apply)
    monkeypatch.setattr(Transaction, "_undo", lambda self: None)  # a crash undoes nothing
    txn = Transaction(root)
    for name in CROSS_FILE:
        txn.write(root / name, RENAMED[name], read_snapshot(root / name))
    with pytest.raises(Crash):
        txn.commit()
    txn._lock.release()  # as the kernel does for a process that died
    monkeypatch.undo()


def test_the_next_run_rolls_an_interrupted_write_back_and_says_so(project, monkeypatch):
    interrupted_commit(project, 2, monkeypatch)
    monkeypatch.chdir(project)
    monkeypatch.setattr(codemods, "REGISTRY", (RenameFooTogether,))
    journal = json.loads((project / JOURNAL_NAME).read_text())
    assert [Path(e["path"]).name for e in journal["entries"]] == list(CROSS_FILE)
    assert sum(contents(project)[n] != CROSS_FILE[n] for n in CROSS_FILE) == 2  # half-applied

    result = invoke("--check", ".")
    assert result.exit_code == 1
    assert "was interrupted while writing; rolled back 2 file(s)" in result.stderr
    assert contents(project) == CROSS_FILE
    assert not (project / JOURNAL_NAME).exists()
    assert list(stale_temp_files(project)) == []


def test_recovery_leaves_a_file_edited_since_alone_and_names_it(project, monkeypatch):
    interrupted_commit(project, 2, monkeypatch)
    (project / "main.py").write_bytes(b"# edited after the crash\n")
    recovery = recover(project)
    assert recovery is not None
    assert [p.name for p in recovery.restored] == ["provider.py"]
    assert [p.name for p in recovery.left_alone] == ["main.py"]
    assert "left alone (changed since): " in recovery.message(project)
    assert (project / "main.py").read_bytes() == b"# edited after the crash\n"


def test_a_journal_cannot_lead_a_write_outside_the_project(tmp_path):
    project, outside = tmp_path / "project", tmp_path / "outside"
    project.mkdir()
    outside.mkdir()
    victim = outside / "victim.py"
    victim.write_bytes(b"safe\n")
    payload = project / ".payload.fastapi-fix.tmp"
    payload.write_bytes(b"evil\n")
    import hashlib

    entry = {
        "path": str(victim),
        "old_sha256": "0" * 64,
        "new_sha256": hashlib.sha256(b"safe\n").hexdigest(),
        "temp": None,
        "backup": str(payload),
    }
    (project / JOURNAL_NAME).write_text(json.dumps({"entries": [entry]}))
    recovery = recover(project)
    assert recovery is not None and recovery.left_alone == [victim]
    assert victim.read_bytes() == b"safe\n"


def test_a_stale_temp_file_from_a_killed_run_is_removed_by_the_next_run(project):
    # What safe_write's or a staged transaction's temp file looks like after SIGKILL.
    leftover = project / ".main.py.k3x9_a1.fastapi-fix.tmp"
    leftover.write_bytes(b"half\n")
    result = invoke("--check", ".")
    assert result.exit_code == 1
    assert not leftover.exists()


def test_recovery_never_touches_the_files_of_a_run_still_writing(project):
    writing = Transaction(project)
    writing.write(project / "main.py", b"x = 1\n", read_snapshot(project / "main.py"))
    staged = list(stale_temp_files(project))
    assert len(staged) == 2  # the new content and the backup of the old
    assert recover(project) is None
    assert list(stale_temp_files(project)) == staged
    writing.commit()
    assert (project / "main.py").read_bytes() == b"x = 1\n"
    assert list(stale_temp_files(project)) == []


# -- files kept as they were --------------------------------------------------------------


def test_mode_and_symlink_are_kept_and_a_hard_link_is_never_written(tmp_path):
    """A hard-linked file's other names may lie outside the project (a `cp -al` backup):
    writing it in place would change them, a rename would split them. It is refused."""
    make_project(tmp_path, {"real.py": b"foo = 1\n", "linked.py": b"foo = 2\n"})
    (tmp_path / "real.py").chmod(0o750)
    (tmp_path / "alias.py").symlink_to("real.py")
    os.link(tmp_path / "linked.py", tmp_path / "twin.py")
    txn = Transaction(tmp_path)
    txn.write(tmp_path / "alias.py", b"bar = 1\n", read_snapshot(tmp_path / "alias.py"))
    with pytest.raises(SkipFile, match="hard-linked file \\(2 names\\)"):
        txn.write(tmp_path / "linked.py", b"bar = 2\n", read_snapshot(tmp_path / "linked.py"))
    txn.commit()
    assert (tmp_path / "alias.py").is_symlink()
    assert (tmp_path / "real.py").read_bytes() == b"bar = 1\n"
    assert (tmp_path / "real.py").stat().st_mode & 0o777 == 0o750
    assert (tmp_path / "twin.py").read_bytes() == b"foo = 2\n"
    assert os.stat(tmp_path / "twin.py").st_ino == os.stat(tmp_path / "linked.py").st_ino
    assert list(stale_temp_files(tmp_path)) == [] and not (tmp_path / JOURNAL_NAME).exists()


def test_an_exception_during_the_commit_rolls_every_file_back(project, monkeypatch):
    from fastapi_fix.engine import transaction as module

    real_apply, done = module._apply, []

    def apply(entry):
        if len(done) == 3:
            raise OSError("disk full")
        done.append(entry)
        real_apply(entry)

    monkeypatch.setattr(module, "_apply", apply)
    result = invoke(".")
    assert result.exit_code == 123
    assert "write failed, nothing written: disk full" in result.stderr
    assert contents(project) == CROSS_FILE
    assert not (project / JOURNAL_NAME).exists()
    assert list(stale_temp_files(project)) == []


@pytest.mark.parametrize(
    "journal",
    [b"{not json", b'{"entries": [1, {"path": 2}]}', b"\xff\xfe", b'{"entries": "x"}'],
    ids=["torn", "foreign entries", "undecodable", "entries not a list"],
)
def test_a_journal_that_is_not_ours_is_removed_without_touching_a_file(project, journal):
    (project / JOURNAL_NAME).write_bytes(journal)
    recovery = recover(project)
    assert contents(project) == CROSS_FILE
    assert not (project / JOURNAL_NAME).exists() or recovery is None


def test_a_missing_backup_leaves_the_file_alone_and_named(project, monkeypatch):
    interrupted_commit(project, 2, monkeypatch)
    for backup in project.glob("*.old.fastapi-fix.tmp"):
        backup.unlink()
    recovery = recover(project)
    assert recovery is not None and len(recovery.left_alone) == 2
    assert not (project / JOURNAL_NAME).exists()
