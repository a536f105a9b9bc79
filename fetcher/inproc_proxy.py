"""The snapshot proxy, started inside the fetching process on a free loopback port."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from aiohttp import web

from snapproxy.app import PROXY, Proxy, ServerConfig, create_app, runner_for

__all__ = ["RunningProxy", "running_proxy"]


@dataclass(frozen=True)
class RunningProxy:
    base: str  # http://127.0.0.1:PORT
    proxy: Proxy

    @property
    def index_url(self) -> str:
        return f"{self.base}/simple/"


@asynccontextmanager
async def running_proxy(config: ServerConfig) -> AsyncIterator[RunningProxy]:
    app = create_app(config)
    # The only client is this process's pip, gone by the time the proxy stops (or being
    # killed after a signal): nothing is worth waiting for.
    runner = runner_for(app, shutdown_timeout=0.1)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        yield RunningProxy(f"http://127.0.0.1:{port}", app[PROXY])
    finally:
        await runner.cleanup()
