#!/usr/bin/env python
"""How fast is ``fastapi-fix`` on a code base, cold, warm and after one edit, next to the floors?

    python scripts/benchmark.py PATH [--jobs N] [--select NAME ...] [--repeat K] [--json]
    python scripts/benchmark.py --scaling [--lines 8000 16000 32000 ...] [--suppressed] [--keep DIR]

PATH is a project or a folder of projects. Beside two floors, timed in this process with N
processes (stdlib ``ast.parse`` of every file, and LibCST parse + print of every file: what any
LibCST tool that touched every file would pay, the floor of issue #12), it runs the installed
``fastapi-fix`` in child processes, exactly as a user would, and times:

- start-up: ``--version``, ``--help`` and ``--list-codemods`` (best of ``--startup-runs``);
- cold: ``--dry-run --format json -j N PATH`` with a fresh, empty cache directory
  (``FASTAPI_FIX_CACHE_DIR``; every run gets one, so nothing is written into PATH);
- warm: the same command again on the same cache, nothing changed (its output must be
  byte-identical to the cold one's; the script says whether it is);
- one edit: a comment line appended to one file that declares routes or dependencies, the same
  command on the same cache, then the file restored byte for byte (also on Ctrl-C);
- ``--no-cache``, when ``fastapi-fix --help`` offers it.

Each row gives the wall and CPU seconds (user + sys of the run and of every worker it waited
for: steadier than wall time on a busy machine), both as a ratio to the LibCST floor, and the
peak memory (max RSS of the largest single process of the run). ``--repeat K`` keeps the best
of K runs of each (each cold run on its own fresh cache, each edit a new line). The table is
Markdown; ``--json`` prints one JSON document instead.

``--phases`` also runs the codemods once through the engine's ``Runner`` in this process and
prints when each phase (gather rounds, transform) ended.

``--scaling`` checks that the time grows linearly with the size of one file: for each line
count it writes one generated module of FastAPI route blocks (work for every default
codemod), times ``fastapi-fix --dry-run -j 1`` on it and LibCST's own ``parse_module`` of
it (each in a fresh process), and prints the time ratio of every 4x step (goal: at most 5x)
and the time over LibCST's parse (goal: at most 3x). ``--suppressed`` puts one
``# fastapi-fix: ignore`` on the first async route (the engine then aligns old and new lines).
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import platform
import resource
import signal
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import libcst as cst

from fastapi_fix import codemods
from fastapi_fix.engine.codemod import Settings
from fastapi_fix.engine.discover import discover
from fastapi_fix.engine.results import Status
from fastapi_fix.engine.runner import Runner
from fastapi_fix.project.modules import name_modules

CACHE_VARIABLE = "FASTAPI_FIX_CACHE_DIR"
# Exit codes of a --dry-run that did its job: nothing to change, changes pending, some file failed.
_RUN_EXIT_CODES = (0, 1, 123)


@dataclass
class Timing:
    """One measured piece of work. ``peak_rss_mb``: max RSS of its largest single process."""

    wall: float
    cpu: float
    peak_rss_mb: float | None = None
    exit_code: int | None = None


def timing_json(timing: Timing | None, floor: Timing | None) -> dict[str, float | int | None]:
    """``timing``'s figures and its ratios to ``floor``; all None when it was not measured."""
    if timing is None:
        return dict.fromkeys(
            ("wall_s", "cpu_s", "floor_ratio", "floor_cpu_ratio", "peak_rss_mb", "exit_code")
        )
    return {
        "wall_s": round(timing.wall, 6),
        "cpu_s": round(timing.cpu, 6),
        "floor_ratio": round(timing.wall / floor.wall, 4) if floor else None,
        "floor_cpu_ratio": round(timing.cpu / floor.cpu, 4) if floor and floor.cpu else None,
        "peak_rss_mb": None if timing.peak_rss_mb is None else round(timing.peak_rss_mb, 1),
        "exit_code": timing.exit_code,
    }


def best_of(timings: list[Timing]) -> Timing:
    """The best of several runs of one piece of work: noise only ever adds time, so the least
    wall and the least CPU time; the highest peak memory, to understate nothing."""
    peaks = [t.peak_rss_mb for t in timings if t.peak_rss_mb is not None]
    return Timing(
        wall=min(t.wall for t in timings),
        cpu=min(t.cpu for t in timings),
        peak_rss_mb=max(peaks) if peaks else None,
        exit_code=timings[-1].exit_code,
    )


def _max_rss_mb(kilobytes_or_bytes: int) -> float:
    # ru_maxrss is in kilobytes on Linux, in bytes on macOS.
    return kilobytes_or_bytes / (1024 * 1024 if sys.platform == "darwin" else 1024)


# -- the floors: every file handed to ast / LibCST, in this process and its workers -----------


def _ast_parse(path: Path) -> bool:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            ast.parse(path.read_bytes())
        except (SyntaxError, ValueError):
            return False
    return True


def _libcst_roundtrip(path: Path) -> bool:
    try:
        data = path.read_bytes()
        return cst.parse_module(data).bytes == data
    except Exception:  # noqa: BLE001 - any failure on a corpus file counts as "does not round-trip"
        return False


def _cpu_seconds() -> float:
    """CPU time of this process and of its finished workers: steadier than wall time on a busy machine."""
    return sum(
        resource.getrusage(who).ru_utime + resource.getrusage(who).ru_stime
        for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
    )


def _parallel(fn: Callable[[Path], bool], paths: list[Path], jobs: int) -> list[bool]:
    if jobs == 1:
        return [fn(p) for p in paths]
    with ProcessPoolExecutor(jobs) as pool:
        return list(pool.map(fn, paths, chunksize=32))


def time_floor(fn: Callable[[Path], bool], paths: list[Path], jobs: int) -> Timing:
    """Wall and CPU time of ``fn`` over every file. With workers, the peak memory is the largest
    worker's: the floors run before any other child, so the children's max RSS is theirs."""
    start, cpu = time.perf_counter(), _cpu_seconds()
    _parallel(fn, paths, jobs)
    wall, cpu = time.perf_counter() - start, _cpu_seconds() - cpu
    peak = _max_rss_mb(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) if jobs > 1 else None
    return Timing(wall, cpu, peak)


# -- fastapi-fix in a child process ------------------------------------------------------------


def fastapi_fix_command() -> list[str]:
    """The installed console script beside this Python (what users run), else ``-m``."""
    script = Path(sys.executable).with_name("fastapi-fix")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "fastapi_fix"]


# Runs the command given on its command line, its output to two files, and prints its wall time
# and, from wait4, its CPU time, max RSS and exit status. The command is started from this small
# process, not from the benchmark's: a process's max RSS counts the memory of the process it was
# forked from (Linux keeps the high-water mark across exec), and the benchmark holds every
# path of the project and LibCST. Ctrl-C and SIGTERM stop the command too.
_WRAPPER = """
import json, os, signal, sys, time
signal.signal(signal.SIGTERM, signal.default_int_handler)
stdout, stderr, *command = sys.argv[1:]
with open(stdout, "wb") as out, open(stderr, "wb") as err:
    dup2 = [(os.POSIX_SPAWN_DUP2, out.fileno(), 1), (os.POSIX_SPAWN_DUP2, err.fileno(), 2)]
    start = time.perf_counter()
    pid = os.posix_spawnp(command[0], command, os.environ, file_actions=dup2)
    try:
        _, status, usage = os.wait4(pid, 0)
    except BaseException:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        raise
    wall = time.perf_counter() - start
cpu = usage.ru_utime + usage.ru_stime
print(json.dumps([wall, cpu, usage.ru_maxrss, os.waitstatus_to_exitcode(status)]))
"""


def run_child(command: list[str], env: dict[str, str], stdout: Path, stderr: Path) -> Timing:
    """Run ``command`` to its end, its output to files: its wall time, and its CPU time and
    max RSS, both covering the workers it waited for (from ``wait4``, in a small wrapper)."""
    wrapper = [sys.executable, "-I", "-S", "-c", _WRAPPER, str(stdout), str(stderr), *command]
    process = subprocess.Popen(wrapper, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        printed, problem = process.communicate()
    except BaseException:
        process.terminate()  # the wrapper stops the command, then exits
        process.wait()
        raise
    if process.returncode != 0:
        raise RuntimeError(f"could not run {command}: {problem.decode(errors='replace')}")
    wall, cpu, max_rss, exit_code = json.loads(printed)
    return Timing(wall, cpu, _max_rss_mb(max_rss), exit_code)


def edit_target(paths: list[Path]) -> Path | None:
    """The file the one-edit run changes: the first, in path order, that the codemods read for
    dependencies, else for routes."""
    for markers in ((b"Depends(",), (b"@router", b"@app.")):
        for path in sorted(paths):
            data = path.read_bytes()
            if any(marker in data for marker in markers):
                return path
    return None


EDIT_COMMENT = "# benchmark edit"


def edited(original: bytes, number: int) -> bytes:
    """``original`` with one comment line appended, in the file's own line ending."""
    newline = b"\r\n" if b"\r\n" in original else b"\n"
    separator = newline if original and not original.endswith(b"\n") else b""
    return original + separator + f"{EDIT_COMMENT} {number}".encode() + newline


@contextmanager
def restored(path: Path) -> Iterator[bytes]:
    """Yield ``path``'s bytes; whatever happens inside (an error, Ctrl-C, SIGTERM), put those
    bytes and the file's times back."""
    original = path.read_bytes()
    if original.rstrip().rpartition(b"\n")[2].startswith(EDIT_COMMENT.encode()):
        raise SystemExit(
            f"{path} ends with a '{EDIT_COMMENT}' line (an interrupted run?): remove it"
        )
    times = path.stat()
    try:
        yield original
    finally:
        path.write_bytes(original)
        os.utime(path, ns=(times.st_atime_ns, times.st_mtime_ns))


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def cache_folders(root: Path) -> set[Path]:
    """Every ``.fastapi-fix_cache`` under ``root``: none may appear (each run has its own cache)."""
    return {
        Path(folder) / ".fastapi-fix_cache"
        for folder, names, _ in os.walk(root)
        if ".fastapi-fix_cache" in names
    }


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


class _PhaseClock:
    """When each phase of a run ended and how many files it took, from the progress callbacks."""

    def __init__(self) -> None:
        self.start = 0.0
        # (phase, files) -> when its last file was done; a phase may run several rounds.
        self.rounds: list[tuple[str, int, float]] = []

    def tick(self, phase: str, done: int, total: int) -> None:
        if done == 1:
            self.rounds.append((phase, total, 0.0))
        self.rounds[-1] = (phase, total, time.perf_counter())

    def report(self) -> str:
        # Index building happens between the last gathered file and the first transformed one.
        parts, previous = [], self.start
        for phase, files, end in self.rounds:
            parts.append(f"{phase} {files} files (+ what precedes it) {end - previous:.2f} s")
            previous = end
        return "  phases: " + "; ".join(parts)


# -- the benchmark of one PATH ---------------------------------------------------------------


@dataclass
class Row:
    key: str
    label: str
    timing: Timing | None  # None: not measured (a flag this fastapi-fix lacks, a skipped floor)


class ChildRuns:
    """fastapi-fix runs on one PATH, each in a child process with its own output files in
    ``scratch`` and the cache folder it is given (never one inside PATH)."""

    def __init__(self, args: argparse.Namespace, scratch: Path) -> None:
        self.scratch = scratch
        self.command = fastapi_fix_command()
        self.path: Path = args.path.resolve()
        self.jobs: int = args.jobs
        self.repeat: int = args.repeat
        self.selection = [arg for name in args.select for arg in ("--select", name)]
        self.count = 0

    def fresh_cache(self) -> Path:
        return Path(tempfile.mkdtemp(prefix="cache-", dir=self.scratch))

    def run(self, label: str, arguments: list[str], cache: Path) -> tuple[Timing, Path]:
        """One run with ``cache`` as its cache folder: its timing and the file of its stdout."""
        self.count += 1
        stdout, stderr = self.scratch / f"{self.count}.out", self.scratch / f"{self.count}.err"
        env = {**os.environ, CACHE_VARIABLE: str(cache)}
        timing = run_child([*self.command, *arguments], env, stdout, stderr)
        _log(
            f"  {label}: {timing.wall:.2f} s, {timing.cpu:.2f} CPU s, "
            f"{timing.peak_rss_mb:.0f} MB, exit {timing.exit_code}"
        )
        if timing.exit_code not in _RUN_EXIT_CODES:
            _log(stderr.read_bytes().decode(errors="replace")[-2000:])
        return timing, stdout

    def dry_run(self, *extra: str) -> list[str]:
        jobs = ["-j", str(self.jobs)]
        return ["--dry-run", "--format", "json", *jobs, *self.selection, *extra, str(self.path)]

    def startup(self, flag: str, runs: int) -> tuple[Timing, str]:
        """Best of ``runs`` start-ups with ``flag``; what the last one printed."""
        cache = self.fresh_cache()
        timings = [self.run(flag, [flag], cache) for _ in range(runs)]
        return best_of([timing for timing, _ in timings]), timings[-1][1].read_text()

    def cold(self) -> tuple[Timing, Path, Path]:
        """Best of the cold runs, each on a fresh cache; the last one's cache and output."""
        caches = [self.fresh_cache() for _ in range(self.repeat)]
        runs = [self.run("cold", self.dry_run(), cache) for cache in caches]
        return best_of([timing for timing, _ in runs]), caches[-1], runs[-1][1]

    def warm(self, cache: Path) -> tuple[Timing, Path]:
        runs = [self.run("warm", self.dry_run(), cache) for _ in range(self.repeat)]
        return best_of([timing for timing, _ in runs]), runs[-1][1]

    def one_edit(self, cache: Path, target: Path) -> tuple[Timing, bool]:
        """Best of the runs after a new line in ``target`` each time, on ``cache``; whether
        ``target`` is back byte for byte afterwards."""
        timings = []
        with restored(target) as original:
            for number in range(1, self.repeat + 1):
                target.write_bytes(edited(original, number))
                timings.append(self.run(f"one edit ({number})", self.dry_run(), cache)[0])
        return best_of(timings), target.read_bytes() == original

    def no_cache(self) -> Timing:
        cache = self.fresh_cache()
        runs = [
            self.run("--no-cache", self.dry_run("--no-cache"), cache) for _ in range(self.repeat)
        ]
        return best_of([timing for timing, _ in runs])


def _log(line: str) -> None:
    """Progress goes to stderr: stdout holds only the table, or the JSON document."""
    print(line, file=sys.stderr, flush=True)


def _run_summary(output: Path) -> dict[str, object]:
    """What fastapi-fix itself says of a run, from its JSON document."""
    try:
        document = json.loads(output.read_bytes())
    except ValueError:
        return {}
    return {key: document.get(key) for key in ("tool", "codemods", "exit_code", "summary")}


def measure(args: argparse.Namespace) -> dict[str, object]:
    """Every figure of the benchmark of ``args.path``: the JSON document ``--json`` prints."""
    paths = [f.path for f in discover([args.path]).files]
    # Counting lines reads every file once, so that no timed run pays for a cold disk.
    lines = sum(p.read_bytes().count(b"\n") for p in paths)
    if not paths:
        raise SystemExit(f"{args.path}: no Python file to measure")
    caches_before = cache_folders(args.path)
    load_before = os.getloadavg()[0]
    _log(f"{args.path}: {len(paths)} files, {lines:,} lines, {args.jobs} processes")

    floors = [
        Row("floor_ast", "floor: stdlib ast.parse of every file", None),
        Row("floor_libcst", "floor: LibCST parse + print of every file", None),
    ]
    for row, fn in zip(floors, (_ast_parse, _libcst_roundtrip), strict=True):
        if fn is _libcst_roundtrip and args.skip_libcst:
            continue
        row.timing = best_of([time_floor(fn, paths, args.jobs) for _ in range(args.repeat)])
        _log(f"  {row.label}: {row.timing.wall:.2f} s, {row.timing.cpu:.2f} CPU s")
    floor = floors[1].timing

    with tempfile.TemporaryDirectory(prefix="fastapi-fix-bench-") as scratch:
        runs = ChildRuns(args, Path(scratch))
        rows = [*floors]
        printed = {}
        for flag in ("--version", "--help", "--list-codemods"):
            timing, printed[flag] = runs.startup(flag, args.startup_runs)
            rows.append(Row("startup_" + flag[2:].replace("-", "_"), f"start-up: {flag}", timing))

        cold, cache, cold_output = runs.cold()
        rows.append(Row("cold", "cold: --dry-run --format json, empty cache", cold))
        cache_bytes = folder_bytes(cache)
        warm, warm_output = runs.warm(cache)
        rows.append(Row("warm", "warm: the same again, nothing changed", warm))
        target = edit_target(paths)
        restored_exactly = None
        one_edit = None
        if target is not None:
            one_edit, restored_exactly = runs.one_edit(cache, target)
        rows.append(Row("one_edit", "one edit: one line appended to one file", one_edit))
        no_cache = runs.no_cache() if "--no-cache" in printed["--help"] else None
        rows.append(Row("no_cache", "--dry-run --no-cache", no_cache))
        warm_identical = warm_output.read_bytes() == cold_output.read_bytes()
        summary = _run_summary(cold_output)

    return {
        "path": str(args.path),
        "files": len(paths),
        "lines": lines,
        "jobs": args.jobs,
        "repeat": args.repeat,
        "select": args.select,
        "command": runs.command,
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        # The one-minute load average before and after: how shared the machine was.
        "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "rows": {row.key: {"label": row.label, **timing_json(row.timing, floor)} for row in rows},
        "edited_file": None if target is None else str(target),
        "edited_file_restored": restored_exactly,
        "warm_output_identical": warm_identical,
        "cache_bytes_after_cold": cache_bytes,
        "stray_cache_folders": sorted(str(p) for p in cache_folders(args.path) - caches_before),
        "fastapi_fix": summary,
    }


# -- one large generated file ---------------------------------------------------------------

_HEADER = '''"""Generated routes: one large module for fastapi-fix's scaling benchmark."""
import asyncio
import logging
import time

import requests
from fastapi import APIRouter, BackgroundTasks, Depends, HTTPException, Query
from pydantic import BaseModel
from sqlalchemy.orm import Session

from .database import SessionLocal

logger = logging.getLogger(__name__)
router = APIRouter()


def get_db():
    db = SessionLocal()
    try:
        yield db
    finally:
        db.close()


class ItemIn(BaseModel):
    name: str
    email: str


'''

# One block of routes: `Depends`/`Query` parameters (depends-to-annotated), `async def` routes
# that only block, directly or through a helper (async-to-sync), one that awaits (left async),
# and a background task (background-task-logging).
_BLOCK = """def notify_{n}(email: str, item_id: int) -> None:
    requests.post("https://hooks.example.com/{n}", json={{"email": email, "item": item_id}}, timeout=5)


def load_profile_{n}(user_id: int) -> dict:
    return requests.get(f"https://profiles.example.com/{{user_id}}", timeout=5).json()


@router.get("/items{n}/{{item_id}}")
async def read_item_{n}(
    item_id: int,
    q: str = Query(None, max_length=50),
    db: Session = Depends(get_db),
):
    time.sleep(0.01)  # a slow lookup
    item = db.get(ItemIn, item_id)
    if item is None:
        raise HTTPException(status_code=404, detail="Item not found")
    return {{"item": item, "q": q, "profile": load_profile_{n}(item_id)}}


@router.post("/items{n}", status_code=201)
def create_item_{n}(
    payload: ItemIn,
    background_tasks: BackgroundTasks,
    db: Session = Depends(get_db),
    limit: int = Query(10, ge=1, le=100),
):
    db.add(payload)
    db.commit()
    background_tasks.add_task(notify_{n}, payload.email, {n})
    return {{"id": {n}, "limit": limit}}


@router.get("/items{n}/external")
async def fetch_external_{n}(url: str = Query(...)):
    response = requests.get(url, timeout=10)
    return response.json()


@router.get("/items{n}/wait")
async def wait_{n}(seconds: float = Query(0.1)):
    await asyncio.sleep(seconds)
    return {{"waited": seconds}}


"""


def write_routes_package(folder: Path, lines: int, suppressed: bool = False) -> Path:
    """``folder/routes.py`` of about ``lines`` lines (whole blocks) and its ``database.py``;
    ``suppressed``: with a ``# fastapi-fix: ignore`` on the first async route."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "database.py").write_text("SessionLocal = None\n")
    parts, count = [_HEADER], _HEADER.count("\n")
    while count < lines:
        parts.append(_BLOCK.format(n=len(parts)))
        count += parts[-1].count("\n")
    text = "".join(parts)
    if suppressed:
        end_of_def = text.index(":\n", text.index("async def "))
        text = text[:end_of_def] + ":  # fastapi-fix: ignore" + text[end_of_def + 1 :]
    routes = folder / "routes.py"
    routes.write_text(text)
    return routes


def _child_seconds(command: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds of a child process (CPU: steadier on a busy machine)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, stdout=subprocess.DEVNULL, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return wall, cpu


# LibCST's parse alone (no import, no start-up): the CPU seconds, printed by the child.
_PARSE_ONLY = """
import sys, time, libcst
data = open(sys.argv[1], "rb").read()
start = time.process_time()
libcst.parse_module(data)
print(time.process_time() - start)
"""


def _parse_seconds(path: Path) -> float:
    command = [sys.executable, "-c", _PARSE_ONLY, str(path)]
    return float(subprocess.run(command, capture_output=True, text=True, check=True).stdout)


def scaling(sizes: list[int], keep: Path | None, suppressed: bool = False) -> None:
    """Time ``--dry-run -j 1`` on one generated file of each size; print the growth."""
    print(f"{'lines':>8} {'fastapi-fix wall':>17} {'CPU':>8} {'LibCST parse CPU':>17} {'ratio':>6}")
    cpu_by_size: dict[int, float] = {}
    with tempfile.TemporaryDirectory() as scratch:
        for size in sorted(sizes):
            folder = (keep or Path(scratch)) / f"routes_{size}"
            routes = write_routes_package(folder, size, suppressed)
            lines = routes.read_bytes().count(b"\n")
            command = [sys.executable, "-m", "fastapi_fix", "--dry-run", "-q", "-j", "1"]
            wall, cpu = _child_seconds([*command, str(folder)])
            parse_cpu = _parse_seconds(routes)
            cpu_by_size[size] = cpu
            print(
                f"{lines:8,} {wall:15.2f} s {cpu:6.2f} s {parse_cpu:15.2f} s {cpu / parse_cpu:5.2f}x"
            )
    for size, cpu in cpu_by_size.items():
        if size * 4 in cpu_by_size:
            growth = cpu_by_size[size * 4] / cpu
            print(f"{size:,} -> {size * 4:,} lines (4x): CPU time x{growth:.2f} (goal: at most 5x)")
    print("ratio: fastapi-fix CPU time over LibCST's parse of the same file (goal: at most 3x)")


def _cell(value: object, digits: int) -> str:
    return "n/a" if value is None else f"{value:,.{digits}f}"


def render(report: dict[str, Any]) -> str:
    """The report as a Markdown table and the notes that go with it."""
    summary = report["fastapi_fix"].get("summary") or {}
    tool = report["fastapi_fix"].get("tool") or {}
    selected = ", ".join(report["fastapi_fix"].get("codemods") or report["select"]) or "?"
    lines = [
        f"**{report['path']}**: {report['files']:,} files, {report['lines']:,} lines; "
        f"{report['jobs']} processes (`-j {report['jobs']}`); best of {report['repeat']}; "
        f"fastapi-fix {tool.get('version', '?')}; codemods: {selected}",
        "",
        f"Python {report['python']}, {report['cpus']} CPUs, load average "
        f"{report['load_average'][0]:.1f} before, {report['load_average'][1]:.1f} after.",
        "",
        "| work | wall s | x floor | CPU s | CPU x floor | peak RSS MB |",
        "|---|--:|--:|--:|--:|--:|",
    ]
    for row in report["rows"].values():
        cells = [
            row["label"],
            _cell(row["wall_s"], 2),
            _cell(row["floor_ratio"], 2),
            _cell(row["cpu_s"], 2),
            _cell(row["floor_cpu_ratio"], 2),
            _cell(row["peak_rss_mb"], 0),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    lines += [
        "",
        "x floor: over the LibCST floor (wall over wall, CPU over CPU). CPU s: user + sys of the "
        "run and its workers. Peak RSS: the largest single process (for a floor: its largest "
        "worker; n/a with one process).",
        f"fastapi-fix saw {summary.get('files', '?')} files: {summary.get('changed', '?')} to "
        f"change, {summary.get('failed', '?')} failed (exit {report['fastapi_fix'].get('exit_code')}).",
        f"Warm output byte-identical to the cold one: {'yes' if report['warm_output_identical'] else 'NO'}.",
        f"Cache after the cold run: {report['cache_bytes_after_cold'] / 1e6:.1f} MB.",
    ]
    if report["edited_file"]:
        restored_exactly = "yes" if report["edited_file_restored"] else "NO"
        lines.append(
            f"One edit: `{EDIT_COMMENT} <n>` appended to {report['edited_file']}; "
            f"restored byte for byte: {restored_exactly}."
        )
    if report["stray_cache_folders"]:
        lines.append(
            f"WARNING: these runs left cache folders in the project ({CACHE_VARIABLE} not "
            f"honoured?): {', '.join(report['stray_cache_folders'])}"
        )
    return "\n".join(lines)


def run_phases(args: argparse.Namespace) -> None:
    """One in-process run through the engine's Runner, and when each of its phases ended."""
    found = discover([args.path])
    chosen = codemods.select(args.select)
    statuses: list[Status] = []
    phases = _PhaseClock()
    runner = Runner([c(Settings()) for c in chosen], jobs=args.jobs, progress=phases.tick)
    phases.start = time.perf_counter()
    root = args.path.resolve()  # as a run from there would take it (no configuration read)
    statuses.extend(r.status for r in runner.run(name_modules(found, root).files))
    _log(f"in-process --dry-run (Runner): {time.perf_counter() - phases.start:.2f} s")
    _log(phases.report())
    _log(f"  results: { {s.value: statuses.count(s) for s in Status} }")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("path", type=Path, nargs="?", help="a project or a folder of projects")
    parser.add_argument("--jobs", "-j", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--select", action="append", default=[], help="passed to fastapi-fix")
    parser.add_argument("--repeat", type=int, default=1, help="best of this many runs of each")
    parser.add_argument("--startup-runs", type=int, default=5, help="best of this many start-ups")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument("--skip-libcst", action="store_true", help="skip the slow LibCST floor")
    parser.add_argument("--phases", action="store_true", help="also time the Runner's phases")
    parser.add_argument("--scaling", action="store_true", help="time one generated file by size")
    parser.add_argument("--lines", type=int, nargs="+", default=[8000, 16000, 32000])
    parser.add_argument("--keep", type=Path, help="--scaling: write the files here and keep them")
    parser.add_argument(
        "--suppressed", action="store_true", help="--scaling: one suppression comment in the file"
    )
    args = parser.parse_args()
    if args.scaling:
        scaling(args.lines, args.keep, args.suppressed)
        return
    if args.path is None:
        parser.error("give a PATH, or --scaling")
    if not args.path.exists():
        parser.error(f"{args.path} does not exist")
    if min(args.jobs, args.repeat, args.startup_runs) < 1:
        parser.error("--jobs, --repeat and --startup-runs take a number >= 1")
    # SIGTERM unwinds like Ctrl-C, so that the edited file is restored and the scratch removed.
    signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        report = measure(args)
    except KeyboardInterrupt:
        _log("interrupted (any edited file is restored)")
        raise SystemExit(130) from None
    print(json.dumps(report, indent=2) if args.json else render(report), flush=True)
    if args.phases:  # after the floors, whose peak memory is read from every child so far
        run_phases(args)


if __name__ == "__main__":
    main()
