"""Single flight: concurrent asks for one key share one piece of work.

The work runs in a task of its own, shielded from its askers: a client that goes away
does not cancel what the others (and the cache) are waiting for.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

__all__ = ["SingleFlight"]

V = TypeVar("V")


class SingleFlight(Generic[V]):
    def __init__(self) -> None:
        self._running: dict[Hashable, asyncio.Future[V]] = {}

    async def run(self, key: Hashable, work: Callable[[], Awaitable[V]]) -> V:
        """``work()``'s result, started once for all concurrent callers with ``key``."""
        future = self._running.get(key)
        if future is None:
            future = asyncio.ensure_future(work())
            self._running[key] = future
            future.add_done_callback(lambda _: self._running.pop(key, None))
        return await asyncio.shield(future)
