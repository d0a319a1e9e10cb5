import subprocess

import pytest

from fastapi_fix.engine.diff import unified_diff

CASES = [
    pytest.param(b"a = 1\nb = 2\n", b"a = 1\nb = 3\n", id="lf"),
    pytest.param(b"a = 1\r\nb = 2\r\n", b"a = 1\r\nb = 3\r\n", id="crlf"),
    pytest.param(b"a = 1\nb = 2", b"a = 1\nb = 3", id="no final newline"),
    pytest.param(b"a = 1\n", b"a = 1\nb = 2", id="newline lost"),
    pytest.param(b"\xef\xbb\xbfa = 1\n", b"\xef\xbb\xbfa = 2\n", id="bom"),
    pytest.param(
        b"# coding: latin-1\na = '\xe9'\n", b"# coding: latin-1\nb = '\xe9'\n", id="latin-1"
    ),
    pytest.param(b"x = 1\n--a = 2\n", b"x = 1\n", id="removed line that looks like a header"),
]


@pytest.mark.parametrize(("old", "new"), CASES)
def test_git_apply_reproduces_the_new_bytes(tmp_path, old, new):
    (tmp_path / "pkg").mkdir()
    target = tmp_path / "pkg" / "m.py"
    target.write_bytes(old)
    patch = unified_diff(old, new, "pkg/m.py")
    assert patch.startswith(b"--- a/pkg/m.py\n+++ b/pkg/m.py\n@@")
    subprocess.run(["git", "apply", "--unsafe-paths", "-"], input=patch, cwd=tmp_path, check=True)
    assert target.read_bytes() == new
