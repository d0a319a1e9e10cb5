import difflib
import random
import subprocess

import pytest

from fastapi_fix.engine.diff import NO_NEWLINE, LineMatcher, hunks, unified_diff

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


def _difflib_hunks(old: bytes, new: bytes) -> bytes:
    """What `hunks` printed when it called `difflib.unified_diff` itself."""
    out = bytearray()
    lines = difflib.diff_bytes(
        difflib.unified_diff,
        old.splitlines(keepends=True),
        new.splitlines(keepends=True),
        fromfile=b"a/m.py",
        tofile=b"b/m.py",
        lineterm=b"",
    )
    for number, line in enumerate(lines):
        if number < 2 or line.startswith(b"@@"):
            out += line + b"\n"
        elif line.endswith(b"\n"):
            out += line
        else:
            out += line + b"\n" + NO_NEWLINE
    return bytes(out)


def _edited(rng: random.Random, lines: list[bytes], alphabet: int) -> list[bytes]:
    edited = list(lines)
    for _ in range(rng.randrange(len(lines) // 5 + 2)):
        at = rng.randrange(len(edited) + 1)
        choice = rng.random()
        if choice < 0.4:
            edited.insert(at, b"%d\n" % rng.randrange(alphabet))
        elif edited and choice < 0.7:
            del edited[min(at, len(edited) - 1)]
        elif edited:
            edited[min(at, len(edited) - 1)] = b"%d\n" % rng.randrange(alphabet)
    return edited


# Sizes around difflib's popularity threshold (200 lines), alphabets from "every line popular"
# to "nearly every line unique": ties between equally long runs, runs cut by the parts
# already matched, matches grown over popular lines.
@pytest.mark.parametrize("seed", range(40))
def test_line_matcher_finds_the_blocks_difflib_finds(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(25):
        size = rng.choice([0, 1, 4, 30, 199, 200, 260, 700])
        alphabet = rng.choice([2, 3, 8, 40, 5000])
        old = [b"%d\n" % rng.randrange(alphabet) for _ in range(size)]
        new = _edited(rng, old, alphabet) if rng.random() < 0.85 else old[::-1]
        expected = difflib.SequenceMatcher(None, old, new)
        matcher = LineMatcher(old, new)
        assert matcher.get_matching_blocks() == expected.get_matching_blocks()
        assert matcher.get_opcodes() == expected.get_opcodes()


def _route_blocks(count: int, edited: bool) -> bytes:
    """Many equally long, nearly identical functions (the shape difflib is slowest on)."""
    blocks = []
    for number in range(count):
        head = f"def route_{number}(" if edited and number % 3 else f"async def route_{number}("
        blocks.append(f"{head}\n    db: Session,\n):\n    return db.get({number})\n\n\n")
    return ("import x\n\n\n" + "".join(blocks)).encode()


@pytest.mark.parametrize(
    ("old", "new"),
    [
        *CASES,
        pytest.param(_route_blocks(300, False), _route_blocks(300, True), id="repeated blocks"),
        pytest.param(b"a\nb\n" * 150, b"b\na\n" * 151, id="only popular lines"),
        pytest.param(b"", b"a = 1\n", id="from nothing"),
        pytest.param(b"a = 1\n", b"", id="to nothing"),
    ],
)
def test_hunks_are_difflibs_unified_diff(old: bytes, new: bytes) -> None:
    assert hunks(old, new, "a/m.py", "b/m.py") == _difflib_hunks(old, new)
