#!/usr/bin/env python
"""How fast is ``fastapi-fix --dry-run`` on a code base, next to the parsing floors?

    python scripts/benchmark.py PATH [--jobs N] [--select NAME ...]

Prints files/s and seconds for: stdlib ``ast.parse`` of every file, LibCST parse + print of
every file (the cost of handing every file to LibCST), and a ``--dry-run`` of the chosen
codemods (default: every default codemod) through the real engine, plus peak memory.
All three use the same number of processes.
"""

from __future__ import annotations

import argparse
import ast
import os
import resource
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


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("path", type=Path)
    parser.add_argument("--jobs", "-j", type=int, default=os.cpu_count())
    parser.add_argument("--select", action="append", default=[])
    parser.add_argument("--skip-libcst", action="store_true", help="skip the slow LibCST floor")
    args = parser.parse_args()

    files = discover([args.path]).files
    paths = [f.path for f in files]
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
    ours = _timed(
        "fastapi-fix --dry-run",
        lambda: statuses.extend(r.status for r in runner.run(files)),
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
