"""SIGINT and SIGTERM cancel the work, let it clean up, and are reported as Interrupted.

The signals are real: sent to this process while the work waits.
"""

from __future__ import annotations

import asyncio
import os
import signal

import pytest

from fetcher.signals import Interrupted, cancelled_on_signals


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
async def test_a_signal_cancels_the_work_after_its_clean_up(signum: signal.Signals) -> None:
    events: list[str] = []
    waiting = asyncio.Event()

    async def work() -> None:
        try:
            waiting.set()
            await asyncio.Event().wait()  # forever
        finally:
            # Clean-up that itself awaits still runs to its end.
            await asyncio.sleep(0)
            events.append("cleaned up")

    async def send() -> None:
        await waiting.wait()
        os.kill(os.getpid(), signum)

    sender = asyncio.ensure_future(send())
    with pytest.raises(Interrupted) as info:
        await cancelled_on_signals(work())
    await sender
    assert events == ["cleaned up"]
    assert info.value.signum == signum
    assert info.value.exit_status == 128 + signum
    assert str(info.value) == f"interrupted ({signum.name})"


async def test_a_second_signal_does_not_cut_the_clean_up_short() -> None:
    events: list[str] = []
    waiting, cleaning = asyncio.Event(), asyncio.Event()

    async def work() -> None:
        try:
            waiting.set()
            await asyncio.Event().wait()
        finally:
            cleaning.set()
            await asyncio.sleep(0.01)
            await asyncio.sleep(0.01)
            events.append("cleaned up")

    async def send() -> None:
        await waiting.wait()
        os.kill(os.getpid(), signal.SIGTERM)
        await cleaning.wait()
        os.kill(os.getpid(), signal.SIGINT)

    sender = asyncio.ensure_future(send())
    with pytest.raises(Interrupted) as info:
        await cancelled_on_signals(work())
    await sender
    assert events == ["cleaned up"]
    assert info.value.signum == signal.SIGTERM


async def test_without_a_signal_the_result_and_errors_pass_through() -> None:
    async def answer() -> int:
        return 42

    async def fail() -> None:
        raise ValueError("no")

    assert await cancelled_on_signals(answer()) == 42
    with pytest.raises(ValueError, match="no"):
        await cancelled_on_signals(fail())


async def test_the_handlers_are_removed_afterwards() -> None:
    async def nothing() -> None:
        return None

    before = signal.getsignal(signal.SIGTERM)
    await cancelled_on_signals(nothing())
    assert signal.getsignal(signal.SIGTERM) == before
    assert not asyncio.get_running_loop().remove_signal_handler(signal.SIGTERM)
