#!/usr/bin/env python
"""Does blocking-to-threadpool unstall the event loop? Measured on the bookshop example.

    python scripts/threadpool_latency.py [--delay 1.0] [--rounds 3]

Copies ``examples/bookshop`` to a temporary folder, serves it under uvicorn on 127.0.0.1
and, while ``/reports/restock`` (an async route that awaits the warehouse, then blocks in
``time.sleep`` and a sync query) is in its ``delay``-second replica wait, times a concurrent
``/health`` request. Then runs ``fastapi-fix --select blocking-to-threadpool`` on the copy and
measures again. Prints every round and the medians: before, ``/health`` waits for the rest of
the sleep; after, it answers at once. (A script, not a test: two uvicorn start-ups take longer
than a test should on a loaded machine.)
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
BOOKSHOP = ROOT / "examples" / "bookshop"
LITTER = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache", "*.db", "covers")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def _serve(app_dir: Path, delay: float) -> Iterator[str]:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOOKSHOP_")}
    env.update(
        BOOKSHOP_DATABASE_URL=f"sqlite:///{app_dir / 'shop.db'}",
        BOOKSHOP_REPORT_DELAY=str(delay),
        PYTHONDONTWRITEBYTECODE="1",
    )
    command = [sys.executable, "-m", "uvicorn", "bookshop.main:app", "--host", "127.0.0.1"]
    server = subprocess.Popen(
        [*command, "--port", str(port), "--log-level", "warning"],
        cwd=app_dir,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{url}/health", timeout=1).raise_for_status()
                break
            except httpx.HTTPError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("uvicorn did not start") from None
                time.sleep(0.1)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)


def _health_latency(url: str, delay: float) -> float:
    with ThreadPoolExecutor(max_workers=1) as pool:
        slow = pool.submit(httpx.get, f"{url}/reports/restock", timeout=30)
        time.sleep(delay / 4)  # the report is now inside its sleep
        start = time.perf_counter()
        httpx.get(f"{url}/health", timeout=30).raise_for_status()
        elapsed = time.perf_counter() - start
        slow.result(timeout=30).raise_for_status()
    return elapsed


def _measure(app_dir: Path, delay: float, rounds: int) -> list[float]:
    with _serve(app_dir, delay) as url:
        return [_health_latency(url, delay) for _ in range(rounds)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--delay", type=float, default=1.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        app_dir = Path(folder) / "bookshop"
        shutil.copytree(BOOKSHOP, app_dir, ignore=LITTER)
        before = _measure(app_dir, args.delay, args.rounds)
        fix = [sys.executable, "-m", "fastapi_fix", "--select", "blocking-to-threadpool"]
        subprocess.run([*fix, str(app_dir)], check=True, capture_output=True)
        after = _measure(app_dir, args.delay, args.rounds)
    print(f"/reports/restock sleeps {args.delay:.2f} s; /health latency beside it:")
    print("  before: " + ", ".join(f"{s:.3f} s" for s in before))
    print("  after:  " + ", ".join(f"{s:.3f} s" for s in after))
    print(f"  median: {statistics.median(before):.3f} s -> {statistics.median(after):.3f} s")


if __name__ == "__main__":
    main()
