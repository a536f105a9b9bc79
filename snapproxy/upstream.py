"""The one way out: GETs to the configured index and file host, cached and deduplicated.

* one pooled :class:`aiohttp.ClientSession`;
* bounded retries with exponential backoff, for connection errors and 5xx only (every
  request here is an idempotent GET);
* single flight: concurrent requests for one key share one upstream fetch;
* documents are validated before they are cached, revalidated with ``If-None-Match``
  once stale, and a stale copy is served when upstream fails (stale-if-error).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from typing import Any, TypeVar
from urllib.parse import urlsplit

import aiohttp
import yarl

from snapproxy.page_cache import CachedDocument, PageCache, cache_key

__all__ = [
    "ForeignHost",
    "Upstream",
    "UpstreamBadResponse",
    "UpstreamError",
    "UpstreamNotFound",
    "UpstreamTimeout",
    "UpstreamUnreachable",
    "origin_of",
]

log = logging.getLogger("snapproxy.upstream")
T = TypeVar("T")
_MAX_REDIRECTS = 5


class UpstreamError(Exception):
    """Upstream could not give a usable answer; ``status`` is what the proxy answers."""

    status = 502


class UpstreamUnreachable(UpstreamError):
    """Connection refused, reset or DNS failure, after every retry."""


class UpstreamTimeout(UpstreamError):
    """Upstream did not answer in time, after every retry."""

    status = 504


class UpstreamBadResponse(UpstreamError):
    """A status the proxy cannot pass on (5xx after retries, 403...) or a malformed body."""


class UpstreamNotFound(LookupError):
    """Upstream answered 404: the project, version or file does not exist there."""


class ForeignHost(UpstreamError):
    """A URL outside the configured index and file host: never fetched (no open proxy)."""


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


@dataclass(frozen=True)
class Fetched:
    """A document and how it was obtained, for the request log."""

    document: CachedDocument
    cache: str  # "hit", "miss", "revalidated", "stale"


class Upstream:
    def __init__(
        self,
        session: aiohttp.ClientSession,
        cache: PageCache,
        *,
        allowed_origins: tuple[str, ...],
        retries: int = 3,
        backoff: float = 0.25,
        max_age: float = 600.0,
        clock: Callable[[], float] = time.time,
    ):
        self.session = session
        self.cache = cache
        self.allowed = tuple(origin_of(o) for o in allowed_origins)
        self.retries = retries
        self.backoff = backoff
        self.max_age = max_age
        self.clock = clock
        self._inflight: dict[str, asyncio.Future[Fetched]] = {}

    def check_allowed(self, url: str) -> None:
        if origin_of(url) not in self.allowed:
            raise ForeignHost(f"refusing to fetch {url}: not the configured index or file host")

    async def _with_retries(self, url: str, attempt: Callable[[], Awaitable[T]]) -> T:
        last: Exception | None = None
        for n in range(self.retries + 1):
            if n:
                await asyncio.sleep(self.backoff * 2 ** (n - 1))
            try:
                return await attempt()
            except _Retryable as exc:
                last = exc.cause
                log.debug("upstream %s failed (%s), attempt %d", url, exc.cause, n + 1)
        assert last is not None
        if isinstance(last, asyncio.TimeoutError):
            raise UpstreamTimeout(f"upstream timed out: {url}") from last
        if isinstance(last, _ServerError):
            raise UpstreamBadResponse(f"upstream answered {last.status} for {url}") from last
        raise UpstreamUnreachable(f"upstream unreachable: {url} ({last})") from last

    async def document(
        self,
        url: str,
        *,
        accept: str,
        parse: Callable[[bytes], Any],
    ) -> tuple[Any, str]:
        """The parsed document at ``url`` and its cache status.

        ``parse`` validates the body (raising ``ValueError``); a body it refuses is never
        cached and is reported as :class:`UpstreamBadResponse`.
        """
        self.check_allowed(url)
        key = cache_key(url, accept)
        future = self._inflight.get(key)
        if future is None:
            future = asyncio.ensure_future(self._document(key, url, accept, parse))
            self._inflight[key] = future
            future.add_done_callback(lambda _: self._inflight.pop(key, None))
        fetched = await asyncio.shield(future)
        return fetched.document.parsed, fetched.cache

    async def _document(
        self, key: str, url: str, accept: str, parse: Callable[[bytes], Any]
    ) -> Fetched:
        cached, _where = self.cache.get(key)
        if cached is not None and cached.parsed is None:
            try:
                cached = _parsed(cached, parse)
            except ValueError:
                # A disk entry that no longer parses is as good as none.
                cached = None
            else:
                self.cache.remember(key, cached)
        now = self.clock()
        if cached is not None and now - cached.fetched_at < self.max_age:
            return Fetched(cached, "hit")
        try:
            status, body, etag = await self._with_retries(
                url, lambda: self._get(url, accept, cached.etag if cached else None)
            )
        except UpstreamError:
            if cached is None:
                raise
            log.warning("upstream failed for %s; serving the cached copy", url)
            return Fetched(cached, "stale")
        if status == 304 and cached is not None:
            entry = cached.refreshed(now)
            self.cache.put(key, entry)
            return Fetched(entry, "revalidated")
        if status == 404:
            raise UpstreamNotFound(url)
        if status != 200:
            raise UpstreamBadResponse(f"upstream answered {status} for {url}")
        try:
            parsed = parse(body)
        except ValueError as exc:
            raise UpstreamBadResponse(f"malformed upstream response for {url}: {exc}") from exc
        entry = CachedDocument(url=url, body=body, etag=etag, fetched_at=now, parsed=parsed)
        self.cache.put(key, entry)
        return Fetched(entry, "miss")

    async def _get(self, url: str, accept: str, etag: str | None) -> tuple[int, bytes, str | None]:
        headers = {"Accept": accept}
        if etag:
            headers["If-None-Match"] = etag
        try:
            async with self.session.get(url, headers=headers, allow_redirects=False) as resp:
                if resp.status >= 500:
                    raise _Retryable(_ServerError(resp.status))
                body = await resp.read() if resp.status == 200 else b""
                return resp.status, body, resp.headers.get("ETag")
        except (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError) as exc:
            raise _Retryable(exc) from exc
        except asyncio.TimeoutError as exc:
            raise _Retryable(exc) from exc

    @asynccontextmanager
    async def stream(self, url: str) -> AsyncIterator[aiohttp.ClientResponse]:
        """An open upstream response for a file; retried until its headers arrive."""
        self.check_allowed(url)

        async def attempt() -> aiohttp.ClientResponse:
            target = url
            # Redirects are followed by hand so none leads off the configured hosts.
            for _ in range(_MAX_REDIRECTS):
                self.check_allowed(target)
                try:
                    # identity: the bytes the index hashed, never a transfer coding of them.
                    resp = await self.session.get(
                        target, allow_redirects=False, headers={"Accept-Encoding": "identity"}
                    )
                except (aiohttp.ClientConnectionError, asyncio.TimeoutError) as exc:
                    raise _Retryable(exc) from exc
                if resp.status >= 500:
                    resp.release()
                    raise _Retryable(_ServerError(resp.status))
                location = resp.headers.get("Location")
                if resp.status in (301, 302, 303, 307, 308) and location:
                    resp.release()
                    target = str(resp.url.join(yarl.URL(location)))
                    continue
                return resp
            raise UpstreamBadResponse(f"too many redirects for {url}")

        resp = await self._with_retries(url, attempt)
        try:
            if resp.status == 404:
                raise UpstreamNotFound(url)
            if resp.status != 200:
                raise UpstreamBadResponse(f"upstream answered {resp.status} for {url}")
            yield resp
        finally:
            resp.release()


class _ServerError(Exception):
    def __init__(self, status: int):
        super().__init__(f"HTTP {status}")
        self.status = status


class _Retryable(Exception):
    def __init__(self, cause: Exception):
        super().__init__(str(cause))
        self.cause = cause


def _parsed(entry: CachedDocument, parse: Callable[[bytes], Any]) -> CachedDocument:
    if entry.parsed is not None:
        return entry
    return replace(entry, parsed=parse(entry.body))
