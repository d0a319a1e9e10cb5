"""Deeply nested code: long chains of ``+`` or ``.``, calls inside calls.

The parsers (``ast``, LibCST) and every recursive walk over their trees use one Python frame
(and some C stack) per level. As black and LibCST do, each file's work runs on a thread with a
large stack under a higher recursion limit, so that deep but ordinary code still works; code
deeper still raises `RecursionError` (or `MemoryError`), which `too_deep` turns into the reason
the file is left alone, so that one file never ends the run.
"""

from __future__ import annotations

import os
import queue
import sys
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

# Room for DEEP_RECURSION_LIMIT frames of parser and visitor recursion, with a wide margin
# (only the pages actually used are ever allocated).
DEEP_STACK_BYTES = 512 * 1024 * 1024
DEEP_RECURSION_LIMIT = 12_000

Result = TypeVar("Result")


class TooDeep(Exception):
    """Code nested too deeply for the parsers; the message says how deep."""


# (future, function, arguments) for the deep-stack thread.
_Job = tuple["Future[Any]", Callable[..., Any], tuple[object, ...]]
_jobs: queue.SimpleQueue[_Job] | None = None
_lock = threading.Lock()


def call_deep(fn: Callable[..., Result], *args: object) -> Result:
    """``fn(*args)`` on the deep-stack thread, under the higher recursion limit; the caller
    waits (the limit is the interpreter's, raised only while no other thread recurses)."""
    future: Future[Result] = Future()
    _deep_thread().put((future, fn, args))
    return future.result()


def too_deep(exc: BaseException) -> str | None:
    """The reason to leave a file alone after ``exc``, if it is about depth or memory (or
    `TooDeep`, the parsers' own limit)."""
    if isinstance(exc, TooDeep):
        return str(exc)
    if isinstance(exc, RecursionError):
        return "too deeply nested for the parser (RecursionError)"
    if isinstance(exc, MemoryError):
        return "too large for the memory available (MemoryError)"
    return None


def _with_higher_limit(fn: Callable[..., Result], *args: object) -> Result:
    previous = sys.getrecursionlimit()
    sys.setrecursionlimit(max(previous, DEEP_RECURSION_LIMIT))
    try:
        return fn(*args)
    finally:
        sys.setrecursionlimit(previous)


def _deep_thread() -> queue.SimpleQueue[_Job]:
    """The queue of the deep-stack thread, started on first use. A daemon: an interrupted run
    exits without waiting for the file it was parsing."""
    global _jobs
    with _lock:
        if _jobs is None:
            jobs: queue.SimpleQueue[_Job] = queue.SimpleQueue()
            previous = threading.stack_size(DEEP_STACK_BYTES)
            try:
                threading.Thread(
                    target=_serve, args=(jobs,), name="fastapi-fix-deep", daemon=True
                ).start()
            finally:
                threading.stack_size(previous)
            _jobs = jobs
        return _jobs


def _serve(jobs: queue.SimpleQueue[_Job]) -> None:
    while True:
        future, fn, args = jobs.get()
        if not future.set_running_or_notify_cancel():
            continue
        try:
            future.set_result(_with_higher_limit(fn, *args))
        except BaseException as exc:  # noqa: BLE001 -- handed to the caller, who re-raises it
            future.set_exception(exc)


def _forget_thread_in_child() -> None:
    """A forked worker inherits the queue but not its thread: it starts its own."""
    global _jobs, _lock
    _jobs, _lock = None, threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_thread_in_child)
