import os
import stat
from pathlib import Path

import pytest

from fastapi_fix.engine.files import SkipFile, Snapshot, read_snapshot, source_encoding
from fastapi_fix.engine.transaction import Transaction


def write(path: Path, data: bytes, mode: int = 0o644) -> Path:
    path.write_bytes(data)
    path.chmod(mode)
    return path


def safe_write(path: Path, data: bytes, snapshot: Snapshot, roots: list[Path]) -> None:
    """One file written the way every run writes: staged and committed by a transaction."""
    transaction = Transaction(roots[0], roots)
    transaction.write(path, data, snapshot)
    transaction.commit()


def leftovers(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.endswith(".fastapi-fix.tmp")]


def test_replaces_content_and_keeps_mode(tmp_path):
    file = write(tmp_path / "a.py", b"x = 1\n", 0o755)
    safe_write(file, b"x = 2\n", read_snapshot(file), [tmp_path])
    assert file.read_bytes() == b"x = 2\n"
    assert stat.S_IMODE(file.stat().st_mode) == 0o755
    assert leftovers(tmp_path) == []


def test_refuses_read_only_file(tmp_path):
    file = write(tmp_path / "a.py", b"x = 1\n", 0o444)
    with pytest.raises(SkipFile, match="read-only"):
        safe_write(file, b"x = 2\n", read_snapshot(file), [tmp_path])
    assert file.read_bytes() == b"x = 1\n"


def test_refuses_file_changed_since_read(tmp_path):
    file = write(tmp_path / "a.py", b"x = 1\n")
    snapshot = read_snapshot(file)
    file.write_bytes(b"x = 3\n")
    with pytest.raises(SkipFile, match="changed on disk"):
        safe_write(file, b"x = 2\n", snapshot, [tmp_path])
    assert file.read_bytes() == b"x = 3\n"


def test_refuses_symlink_leading_outside_roots(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    target = write(outside / "lib.py", b"x = 1\n")
    root = tmp_path / "project"
    root.mkdir()
    link = root / "lib.py"
    link.symlink_to(target)
    with pytest.raises(SkipFile, match="outside"):
        safe_write(link, b"x = 2\n", read_snapshot(link), [root])
    assert target.read_bytes() == b"x = 1\n"


def test_symlink_inside_root_writes_the_target_and_keeps_the_link(tmp_path):
    target = write(tmp_path / "real.py", b"x = 1\n")
    link = tmp_path / "link.py"
    link.symlink_to(target)
    safe_write(link, b"x = 2\n", read_snapshot(link), [tmp_path])
    assert link.is_symlink()
    assert target.read_bytes() == b"x = 2\n"


def test_hard_linked_file_is_refused(tmp_path):
    file = write(tmp_path / "a.py", b"x = 1\n")
    twin = tmp_path.parent / f"{tmp_path.name}-elsewhere.py"  # another name, outside the project
    os.link(file, twin)
    with pytest.raises(SkipFile, match="hard-linked"):
        safe_write(file, b"x = 2\n", read_snapshot(file), [tmp_path])
    assert twin.read_bytes() == b"x = 1\n" and file.read_bytes() == b"x = 1\n"
    assert file.stat().st_ino == twin.stat().st_ino
    assert leftovers(tmp_path) == []


def test_failed_write_leaves_original_and_no_temp_file(tmp_path, monkeypatch):
    file = write(tmp_path / "a.py", b"x = 1\n")
    snapshot = read_snapshot(file)

    def disk_full(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", disk_full)
    with pytest.raises(OSError):
        safe_write(file, b"x = 2\n", snapshot, [tmp_path])
    assert file.read_bytes() == b"x = 1\n"
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        pytest.param(b"x = 1\n", "utf-8", id="plain"),
        pytest.param(b"\xef\xbb\xbfx = 1\n", "utf-8-sig", id="bom"),
        pytest.param(b"# -*- coding: latin-1 -*-\nx = '\xe9'\n", "iso-8859-1", id="latin-1 cookie"),
    ],
)
def test_source_encoding(data, encoding):
    assert source_encoding(data) == encoding


def test_undecodable_bytes_are_a_one_line_skip():
    with pytest.raises(SkipFile, match="undecodable"):
        source_encoding(b"x = '\xff'\n")
