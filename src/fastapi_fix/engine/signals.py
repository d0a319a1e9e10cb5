"""SIGINT, SIGTERM and SIGHUP end a run cleanly: raised as `Interrupted` in the main process,
so every ``finally`` and rollback on the way out runs (transactions, layered-layout's
journal, ``--branch``'s worktree); worker processes leave the signal to their parent, which
terminates them."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Iterator
from types import FrameType

HANDLED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class Interrupted(KeyboardInterrupt):
    """A signal asked the run to stop. A KeyboardInterrupt, so that code which already undoes
    its work on Ctrl-C does the same for SIGTERM and SIGHUP."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum
        # What the clean-up did that the user must know (a branch kept, ...), one phrase each.
        self.details: list[str] = []

    @property
    def exit_code(self) -> int:
        return 128 + self.signum

    def __str__(self) -> str:
        return self.message(written_before=0)

    def message(self, written_before: int) -> str:
        """The one line to say; ``written_before``: files already written whole by then."""
        undone = "every change in progress was rolled back"
        if written_before:
            undone = (
                f"{written_before} file(s) were written before it, every other change rolled back"
            )
        done = "; ".join([undone, *self.details])
        return f"interrupted by {signal.Signals(self.signum).name}: {done}"


@contextlib.contextmanager
def interrupts_raised() -> Iterator[None]:
    """Within the block, the handled signals raise `Interrupted` once; later ones are ignored
    so that the clean-up they started runs to its end, and stay ignored after an interruption
    (the process is on its way out: a second Ctrl-C must not break its exit). Outside the main
    thread (where Python cannot set handlers) this does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    raised = False

    def handle(signum: int, frame: FrameType | None) -> None:
        nonlocal raised
        if not raised:
            raised = True
            raise Interrupted(signum)

    previous = {signum: signal.signal(signum, handle) for signum in HANDLED}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, signal.SIG_IGN if raised else handler)


@contextlib.contextmanager
def signals_blocked() -> Iterator[None]:
    """Hold the handled signals back (they are delivered on leaving the block) while worker
    processes are started: a child forked with the parent's handlers must not get one before
    `quiet_worker` has replaced them."""
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, HANDLED)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def quiet_worker() -> None:
    """In a worker process: Ctrl-C (sent to the whole process group) is the parent's to
    handle, and SIGTERM/SIGHUP end the worker at once, without a traceback."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGHUP, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, HANDLED)  # blocked by `signals_blocked`
    _die_with_parent()


# prctl(2) option: the signal a process gets when its parent dies.
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """A parent killed by SIGKILL runs no handler: without this, its idle workers wait for
    work forever (they hold the pool's pipes themselves, so they never read its end), keep
    the terminal's output open and keep the project's files open. Linux sends them SIGTERM
    instead; elsewhere the pool's own checks are all there is."""
    if sys.platform != "linux":
        return
    # Imported here, as in `terminate_workers`: only runs with worker processes need them, and
    # the CLI starts without them (start-up).
    import ctypes
    import multiprocessing

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        return
    parent = multiprocessing.parent_process()
    if parent is not None and os.getppid() != parent.pid:
        os._exit(1)  # the parent died before the request took effect


def terminate_workers(timeout: float = 5.0) -> None:
    """Stop every worker process this process started (the pools of a run being abandoned)."""
    import multiprocessing

    children = multiprocessing.active_children()
    for child in children:
        child.terminate()
    for child in children:
        child.join(timeout)
        if child.is_alive():
            child.kill()
