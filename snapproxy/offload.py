"""Work that must not run on the event loop: parsing, filtering and rendering big pages.

Small documents are handled inline (a thread hop costs more than the work).  Big ones go
to one worker thread: the event loop keeps answering health checks and cached pages,
since Python hands the GIL back to it every few milliseconds, provided no single C call
runs long (see :mod:`snapproxy.json_pieces`).  One worker, not several, so that only one
big page's working set exists at a time.
"""

from __future__ import annotations

import asyncio
import ctypes
import gc
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

__all__ = ["INLINE_BYTES", "Offload"]

T = TypeVar("T")

# Below this many bytes of input, work runs inline (about a millisecond of filtering).
INLINE_BYTES = 256 * 1024
# Seconds between full garbage collections (see Offload._spare_the_collector).
FULL_COLLECTION = 600.0


class Offload:
    def __init__(self, inline_bytes: int = INLINE_BYTES):
        self.inline_bytes = inline_bytes
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="snapproxy-work")
        self._last_full = time.monotonic()
        # The loop waits at most this long for the GIL while the worker runs (default 5 ms).
        sys.setswitchinterval(0.001)

    async def run(self, size: int, work: Callable[[], T]) -> T:
        """``work()``, inline when its input is ``size`` bytes or fewer, else in the worker."""
        if size <= self.inline_bytes:
            return work()
        result = await asyncio.get_running_loop().run_in_executor(self._executor, work)
        self._spare_the_collector()
        return result

    def _spare_the_collector(self) -> None:
        """Keep the cyclic garbage collector away from the objects a big job just made.

        A parsed page of 100,000 files is about a million objects; once they are old,
        every full collection walks them all, holding the GIL for tens of milliseconds,
        which the event loop feels as latency.  Parsed documents hold no reference cycles
        (reference counting frees them), so they are moved where the collector no longer
        looks (gc.freeze), after a young-generation collection.  Whatever cycle was
        frozen with them is found by a full collection every ``FULL_COLLECTION`` seconds.
        """
        now = time.monotonic()
        if now - self._last_full > FULL_COLLECTION:
            self._last_full = now
            gc.unfreeze()
            gc.collect()
        else:
            gc.collect(1)
        gc.freeze()
        _return_freed_memory()

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


def _load_malloc_trim() -> Callable[[int], int] | None:
    try:
        libc = ctypes.CDLL(None)
        trim: Callable[[int], int] = libc.malloc_trim
    except (OSError, AttributeError):
        return None  # not glibc
    return trim


_MALLOC_TRIM = _load_malloc_trim()


def _return_freed_memory() -> None:
    """Give the memory a big job freed back to the system (glibc keeps it otherwise).

    A page's working set is several times its size and lives only while it is filtered;
    without this the process keeps its high-water mark for good.
    """
    if _MALLOC_TRIM is not None:
        _MALLOC_TRIM(0)
