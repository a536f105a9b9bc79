"""The aiohttp application: routes, error mapping, logging and the resources behind them.

Handlers are in :mod:`snapproxy.proxy`; this module wires them to URLs, maps domain
errors to statuses (one line each, never a traceback) and owns the upstream session,
the memory budget, the worker thread and the file store for the application's life.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import ssl
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import aiohttp
from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from snapproxy import __version__
from snapproxy.cache_lock import sweep_temp_files
from snapproxy.cache_status import CACHE_STATUS
from snapproxy.cutoff import CutoffError
from snapproxy.defaults import DEFAULT_FILES_HOST, DEFAULT_UPSTREAM
from snapproxy.file_store import FileStore
from snapproxy.memory_budget import ByteBudget
from snapproxy.names import InvalidProjectName
from snapproxy.negotiation import FormatNotAcceptable
from snapproxy.offload import Offload
from snapproxy.page_cache import PageCache
from snapproxy.proxy import InvalidVersionText, NoSuchProject, NotInSnapshot, Proxy
from snapproxy.representation import VARY
from snapproxy.server_config import ServerConfig
from snapproxy.simple_page import ProjectNotAtCutoff
from snapproxy.upstream import Upstream, UpstreamError, UpstreamNotFound

__all__ = [
    "DEFAULT_FILES_HOST",
    "DEFAULT_UPSTREAM",
    "PROXY",
    "Proxy",
    "ServerConfig",
    "create_app",
    "runner_for",
]

log = logging.getLogger("snapproxy.access")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _error(status: int, message: str, *, reason: str | None = None) -> web.Response:
    return web.Response(
        status=status,
        reason=reason,
        text=f"{message}\n",
        headers={"Cache-Control": "no-store", "Vary": VARY},
    )


def _missing_project(request: web.Request, exc: NoSuchProject | ProjectNotAtCutoff) -> web.Response:
    """The 404 of a project that is not in the snapshot, saying which of the two cases.

    pip and uv show no error body; pip -vv shows the reason phrase, so that says it too
    (when it can be one: a single line of printable ASCII).  The proxy remembers why, for
    the fetcher's error.
    """
    message = str(exc)
    project = request.match_info.get("project", exc.project)
    request.app[PROXY].missing.append((project, message))
    fits = message.isascii() and message.isprintable()
    return _error(404, message, reason=message if fits else None)


class AccessLogger(AbstractAccessLogger):
    """One line per request, written once the response is sent: method, path, the status
    as sent (FileResponse picks 206 or 304 only while sending), cache status, time."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        self.logger.info(
            "%s %s %d %s %.1fms",
            request.method,
            request.path_qs,
            response.status,
            CACHE_STATUS.get(),
            time * 1000,
        )


def runner_for(app: web.Application, *, shutdown_timeout: float = 60.0) -> web.AppRunner:
    """The runner every entry point serves the app with (so each logs the same way).

    ``keepalive_timeout`` closes a connection that has no request under way once it has
    been quiet that long: idle keep-alives, and connections that never complete their
    request headers (slowloris) alike, since the timer starts with the connection.
    ``shutdown_timeout`` is how long a stop waits for requests still running (aiohttp
    reads 0 as "for ever").
    """
    return web.AppRunner(
        app,
        access_log_class=AccessLogger,
        access_log=log,
        handle_signals=False,
        keepalive_timeout=app[CONFIG].idle_timeout,
        shutdown_timeout=shutdown_timeout,
    )


@web.middleware
async def errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Map domain errors to HTTP statuses (the message names the value and the fix)."""
    CACHE_STATUS.set("-")
    try:
        return await handler(request)
    except (InvalidProjectName, CutoffError, InvalidVersionText) as exc:
        return _error(400, str(exc))
    except FormatNotAcceptable as exc:
        return _error(406, str(exc))
    except (NoSuchProject, ProjectNotAtCutoff) as exc:
        return _missing_project(request, exc)
    except UpstreamNotFound as exc:
        return _error(404, f"not found upstream: {exc}")
    except NotInSnapshot as exc:
        return _error(404, str(exc))
    except UpstreamError as exc:
        project = request.match_info.get("project")
        if project is not None:
            # pip reports only "no matching distribution": the fetcher explains with this
            # (an index refusing its credentials, a host down).
            request.app[PROXY].missing.append((project, str(exc)))
        return _error(exc.status, str(exc))
    except (web.HTTPException, ConnectionError, asyncio.CancelledError):
        raise
    except Exception:
        # A bug, not a user's or upstream's mistake: the log gets the traceback, the
        # client one line.
        logging.getLogger("snapproxy").exception("internal error on %s", request.path_qs)
        return _error(500, "internal error in snapproxy (see its log)")


def create_app(config: ServerConfig) -> web.Application:
    app = web.Application(middlewares=[errors])
    app[CONFIG] = config

    async def resources(app: web.Application) -> AsyncIterator[None]:
        budget = ByteBudget(config.memory_budget)
        offload = Offload()
        scratch: Path | None = None
        if config.cache_dir is not None:
            files = FileStore(config.cache_dir / "files")
            pages: Path | None = config.cache_dir
            # Leftovers of killed processes; a live process's files are locked and stay.
            removed, freed = await asyncio.to_thread(sweep_temp_files, config.cache_dir)
            if removed:
                logging.getLogger("snapproxy").info(
                    "removed %d leftover temporary files (%d bytes)", removed, freed
                )
        else:
            scratch = Path(tempfile.mkdtemp(prefix="snapproxy-"))
            files = FileStore(scratch, keep=False)
            pages = None
        timeout = aiohttp.ClientTimeout(
            total=None,
            connect=config.timeout,
            sock_connect=config.timeout,
            sock_read=config.timeout,
        )
        tls = ssl.create_default_context(cafile=config.ca_file) if config.ca_file else True
        connector = aiohttp.TCPConnector(limit=64, limit_per_host=32, ssl=tls)
        headers = {"User-Agent": f"snapproxy/{__version__}"}
        try:
            async with aiohttp.ClientSession(
                timeout=timeout, connector=connector, headers=headers, auto_decompress=True
            ) as session:
                upstream = Upstream(
                    session,
                    PageCache(pages, budget),
                    allowed_origins=config.origins,
                    offload=offload,
                    retries=config.retries,
                    backoff=config.backoff,
                    max_age=config.max_age,
                    max_document=config.max_page_size,
                    negative_ttl=config.negative_ttl,
                    routing=config.routing,
                )
                proxy = Proxy(config, upstream, files, budget, offload)
                app[PROXY] = proxy
                try:
                    yield
                finally:
                    await proxy.downloads.close()
        finally:
            offload.close()
            if scratch is not None:
                shutil.rmtree(scratch, ignore_errors=True)

    app.cleanup_ctx.append(resources)

    def route(name: str) -> Handler:
        async def handler(request: web.Request) -> web.StreamResponse:
            method: Handler = getattr(request.app[PROXY], name)
            return await method(request)

        return handler

    app.router.add_get("/snapshot/{cutoff}", route("add_slash"))
    for prefix in ("", "/snapshot/{cutoff}"):
        app.router.add_get(prefix + "/", route("home"))
        app.router.add_get(prefix + "/simple/", route("project_list"))
        app.router.add_get(prefix + "/simple", route("add_slash"))
        app.router.add_get(prefix + "/simple/{project}/", route("project_page"))
        app.router.add_get(prefix + "/simple/{project}", route("add_slash"))
        app.router.add_get(prefix + "/pypi/{project}/json", route("legacy_project"))
        app.router.add_get(prefix + "/pypi/{project}/{version}/json", route("legacy_version"))
        app.router.add_get(prefix + "/files/{project}/{filename}", route("file"))
        app.router.add_get(prefix + "/-/health", route("health"))
    return app


PROXY: web.AppKey[Proxy] = web.AppKey("proxy", Proxy)
CONFIG: web.AppKey[ServerConfig] = web.AppKey("config", ServerConfig)
