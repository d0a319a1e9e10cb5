"""Decorators known to accept a sync function: a route under one of them may become ``def``.

A decorator may call the function it wraps with ``await`` (a cache that stores what the
coroutine returns, a retry loop around it): given a ``def`` it then awaits what a sync
call returned and fails on every request. So async-to-sync keeps a decorated function async
unless the decorator is listed here, matches the user's ``safe-decorators`` patterns, or
already decorates a sync route of the same project. Names are qualified as the blocking
catalogue qualifies them: a method of a library instance is ``<type>.<method>``
(``limiter = Limiter(...)``, then ``@limiter.limit("5/minute")`` is ``slowapi.Limiter.limit``),
and every entry is an ``fnmatchcase`` pattern, as users write theirs.

Each entry was checked against the library's source; the reason is beside it.
"""

from __future__ import annotations

from collections.abc import Iterable

from fastapi_fix.project.blocking import matches_any

SAFE_DECORATORS: tuple[str, ...] = (
    # slowapi (slowapi/extension.py): ``Limiter.__limit_decorator`` checks
    # ``asyncio.iscoroutinefunction(func)`` and wraps a sync endpoint in a sync ``sync_wrapper``
    # that calls it directly; ``limit`` and ``shared_limit`` both return that decorator.
    "slowapi.Limiter.limit",
    "slowapi.Limiter.shared_limit",
    # ``Limiter.exempt`` wraps in a sync ``__inner`` that returns ``obj(*a, **k)``: right for a
    # ``def``, and only a ``def``.
    "slowapi.Limiter.exempt",
)
# Not listed: fastapi-cache's ``cache``. Its current source (fastapi_cache/decorator.py) runs
# a sync function with ``run_in_threadpool``, but it is typed for coroutine functions only
# (``Callable[P, Awaitable[R]]``) and the release a project pins is not checked here.


class SafeDecorators:
    """The built-in list plus the user's ``safe-decorators`` patterns."""

    def __init__(self, extra_patterns: Iterable[str] = ()) -> None:
        self.patterns = (*SAFE_DECORATORS, *extra_patterns)

    def accepts_sync(self, qualified: str) -> bool:
        return matches_any(self.patterns, qualified)
