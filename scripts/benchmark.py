#!/usr/bin/env python
"""How fast is ``fastapi-fix --dry-run`` on a code base, next to the parsing floors?

    python scripts/benchmark.py PATH [--jobs N] [--select NAME ...]
    python scripts/benchmark.py --scaling [--lines 8000 16000 32000 ...] [--suppressed] [--keep DIR]

Prints files/s and seconds for: stdlib ``ast.parse`` of every file, LibCST parse + print of
every file (the cost of handing every file to LibCST), and a ``--dry-run`` of the chosen
codemods (default: every default codemod) through the real engine, plus peak memory.
All three use the same number of processes.

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
import os
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import libcst as cst

from fastapi_fix import codemods
from fastapi_fix.engine.codemod import Settings
from fastapi_fix.engine.discover import discover
from fastapi_fix.engine.results import Status
from fastapi_fix.engine.runner import Runner
from fastapi_fix.project.modules import name_modules


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


def _timed(label: str, fn: Callable[[], object], files: int) -> float:
    start, cpu = time.perf_counter(), _cpu_seconds()
    fn()
    seconds = time.perf_counter() - start
    print(
        f"{label:<34} {seconds:8.2f} s {files / seconds:10.0f} files/s {_cpu_seconds() - cpu:8.2f} CPU s"
    )
    return seconds


def _parallel(fn: Callable[[Path], bool], paths: list[Path], jobs: int) -> list[bool]:
    if jobs == 1:
        return [fn(p) for p in paths]
    with ProcessPoolExecutor(jobs) as pool:
        return list(pool.map(fn, paths, chunksize=32))


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


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("path", type=Path, nargs="?")
    parser.add_argument("--jobs", "-j", type=int, default=os.cpu_count())
    parser.add_argument("--select", action="append", default=[])
    parser.add_argument("--skip-libcst", action="store_true", help="skip the slow LibCST floor")
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

    found = discover([args.path])
    paths = [f.path for f in found.files]
    lines = sum(p.read_bytes().count(b"\n") for p in paths)
    chosen = codemods.select(args.select)
    print(
        f"{len(paths)} files, {lines:,} lines, {args.jobs} processes, "
        f"codemods: {', '.join(c.name for c in chosen)}\n"
    )

    floor_ast = _timed(
        "ast.parse every file", lambda: _parallel(_ast_parse, paths, args.jobs), len(paths)
    )
    floor_cst = None
    if not args.skip_libcst:
        floor_cst = _timed(
            "LibCST parse+print every file",
            lambda: _parallel(_libcst_roundtrip, paths, args.jobs),
            len(paths),
        )
    statuses: list[Status] = []
    phases = _PhaseClock()
    runner = Runner([c(Settings()) for c in chosen], jobs=args.jobs, progress=phases.tick)
    phases.start = time.perf_counter()
    root = args.path.resolve()  # as a run from there would take it (no configuration read)
    ours = _timed(
        "fastapi-fix --dry-run",
        lambda: statuses.extend(r.status for r in runner.run(name_modules(found, root).files)),
        len(paths),
    )
    print(phases.report())

    counts = {s.value: statuses.count(s) for s in Status}
    print(f"\nresults: {counts}")
    print(f"--dry-run / ast floor: {ours / floor_ast:.2f}x")
    if floor_cst:
        print(f"--dry-run / LibCST floor: {ours / floor_cst:.2f}x (goal: under 0.20x)")
    peak = max(
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
    )
    print(f"peak memory of one process: {peak / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
