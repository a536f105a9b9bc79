"""SIGINT and SIGTERM as a cancellation, so that a command cleans up before it exits.

Left to their defaults, SIGTERM ends the process on the spot and SIGINT raises wherever
the interpreter happens to be: the work directory, pip's temporary files and a
half-received cache file would stay behind.  Cancelling the main task instead runs
every ``finally`` and context exit on the way out (pip is killed and waited for, the
in-process proxy discards what it was receiving, the work directory goes).
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Coroutine
from typing import Any, TypeVar

__all__ = ["SIGNALS", "Interrupted", "cancelled_on_signals"]

T = TypeVar("T")
SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(Exception):
    """The work was cancelled by ``signum`` and has cleaned up after itself."""

    def __init__(self, signum: int):
        self.signum = signum
        self.name = signal.Signals(signum).name
        super().__init__(f"interrupted ({self.name})")

    @property
    def exit_status(self) -> int:
        # The shell's convention for a command that ended on a signal.
        return 128 + self.signum


async def cancelled_on_signals(work: Coroutine[Any, Any, T]) -> T:
    """Await ``work``; on SIGINT or SIGTERM cancel it and raise :class:`Interrupted`.

    A second signal during the clean-up is ignored rather than cutting it short.
    """
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    assert task is not None
    received: list[int] = []

    def on_signal(signum: int) -> None:
        if not received:
            received.append(signum)
            task.cancel()

    for signum in SIGNALS:
        loop.add_signal_handler(signum, on_signal, signum)
    try:
        return await work
    except BaseException:
        # Whatever the cancelled work ended with (pip may also have seen the signal and
        # failed first), the cause is the signal.
        if received:
            raise Interrupted(received[0]) from None
        raise
    finally:
        for signum in SIGNALS:
            loop.remove_signal_handler(signum)
