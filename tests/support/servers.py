"""Run aiohttp applications as real listening servers on the loopback interface."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass

from aiohttp import web

# A request still sleeping in a fault-injected delay must not hold up a test's teardown.
_SHUTDOWN_TIMEOUT = 1.0


@asynccontextmanager
async def serve(app: web.Application, host: str = "127.0.0.1") -> AsyncIterator[str]:
    """Serve `app` on the running loop on a free port; yield its origin `http://HOST:PORT`."""
    runner = web.AppRunner(app, shutdown_timeout=_SHUTDOWN_TIMEOUT)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, 0).start()
        port = runner.addresses[0][1]
        yield f"http://{host}:{port}"
    finally:
        await runner.cleanup()


@dataclass
class _ThreadState:
    loop: asyncio.AbstractEventLoop | None = None
    stop: asyncio.Event | None = None
    origin: str | None = None
    error: BaseException | None = None


@contextmanager
def serve_in_thread(
    app: web.Application, host: str = "127.0.0.1", startup_timeout: float = 10.0
) -> Iterator[str]:
    """Serve `app` from a background thread with its own event loop; yield its origin.

    The thread lets a test block on a subprocess (pip, uv, the snapproxy CLI) while the
    server keeps answering.
    """
    ready = threading.Event()
    state = _ThreadState()

    async def main() -> None:
        state.loop, state.stop = asyncio.get_running_loop(), asyncio.Event()
        async with serve(app, host) as origin:
            state.origin = origin
            ready.set()
            await state.stop.wait()

    def run() -> None:
        try:
            asyncio.run(main())
        except BaseException as exc:  # handed over to the test thread, which raises it
            state.error = exc
        finally:
            ready.set()

    thread = threading.Thread(target=run, name=f"serve-{id(app):x}", daemon=True)
    thread.start()
    if not ready.wait(startup_timeout):
        raise TimeoutError(f"server did not start within {startup_timeout}s")
    if state.origin is None:
        raise RuntimeError("server failed to start") from state.error
    try:
        yield state.origin
    finally:
        assert state.loop is not None and state.stop is not None
        state.loop.call_soon_threadsafe(state.stop.set)
        thread.join(timeout=_SHUTDOWN_TIMEOUT + 10)
        if state.error is not None:
            raise RuntimeError("server thread failed") from state.error
