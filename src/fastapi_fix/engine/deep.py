"""Deeply nested code: long chains of ``+`` or ``.``, calls inside calls.

The parsers (``ast``, LibCST) and every recursive walk over their trees use one Python frame
(and some C stack) per level. As black and LibCST do, each file's work runs on a thread with a
large stack under a higher recursion limit, so that deep but ordinary code still works; code
deeper still raises `RecursionError` (or `MemoryError`), which `too_deep` turns into the reason
the file is left alone, so that one file never ends the run.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from fastapi_fix.engine.parsing import TooDeep

# Room for DEEP_RECURSION_LIMIT frames of parser and visitor recursion, with a wide margin
# (only the pages actually used are ever allocated).
DEEP_STACK_BYTES = 512 * 1024 * 1024
DEEP_RECURSION_LIMIT = 12_000

Result = TypeVar("Result")

_executor: ThreadPoolExecutor | None = None
_lock = threading.Lock()


def call_deep(fn: Callable[..., Result], *args: object) -> Result:
    """``fn(*args)`` on the deep-stack thread, under the higher recursion limit; the caller
    waits (the limit is the interpreter's, raised only while no other thread recurses)."""
    return _deep_thread().submit(_with_higher_limit, fn, *args).result()


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


def _deep_thread() -> ThreadPoolExecutor:
    global _executor
    with _lock:
        if _executor is None:
            previous = threading.stack_size(DEEP_STACK_BYTES)
            try:
                executor = ThreadPoolExecutor(1, thread_name_prefix="fastapi-fix-deep")
                executor.submit(int).result()  # the thread starts now, with the large stack
            finally:
                threading.stack_size(previous)
            _executor = executor
        return _executor


def _forget_thread_in_child() -> None:
    """A forked worker inherits the executor but not its thread: it starts its own."""
    global _executor, _lock
    _executor, _lock = None, threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_thread_in_child)
