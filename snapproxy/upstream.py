"""The one way out: GETs to the configured index and file host, cached and deduplicated.

* one pooled :class:`aiohttp.ClientSession`;
* bounded retries with exponential backoff, for connection errors and 5xx only (every
  request here is an idempotent GET);
* single flight: concurrent requests for one key share one upstream fetch;
* documents are validated before they are cached, revalidated with ``If-None-Match``
  once stale, and a stale copy is served when upstream fails (stale-if-error);
* documents above a size limit are refused before they are read whole;
* failures are remembered for a short time (a negative cache), per document and, when
  a host is unreachable or hanging, per host;
* processes sharing a cache directory fetch each document once (``cache_lock``).
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

from snapproxy.cache_lock import held
from snapproxy.index_routing import IndexRouting, origin_of
from snapproxy.memory_budget import format_size
from snapproxy.offload import Offload
from snapproxy.page_cache import CachedDocument, PageCache, body_digest, cache_key
from snapproxy.redirects import get_following, is_redirect
from snapproxy.single_flight import SingleFlight

__all__ = [
    "DEFAULT_MAX_DOCUMENT",
    "DocumentTooLarge",
    "FailureMemory",
    "Fetched",
    "ForeignHost",
    "Upstream",
    "UpstreamBadResponse",
    "UpstreamError",
    "UpstreamNotFound",
    "UpstreamRefused",
    "UpstreamTimeout",
    "UpstreamUnreachable",
    "origin_of",
]

log = logging.getLogger("snapproxy.upstream")
T = TypeVar("T")
DEFAULT_MAX_DOCUMENT = 24 * 1024 * 1024


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


class UpstreamRefused(UpstreamBadResponse):
    """An index answered 401 or 403: its credentials are missing or wrong (never shown)."""


class ForeignHost(UpstreamError):
    """A URL outside the configured index and file host: never fetched (no open proxy)."""


@dataclass(frozen=True)
class Fetched:
    """A document and how it was obtained, for the request log."""

    document: CachedDocument
    cache: str  # "hit", "miss", "revalidated", "stale"

    @property
    def parsed(self) -> Any:
        return self.document.parsed


class DocumentTooLarge(UpstreamBadResponse):
    """An upstream document above the configured size limit (never read whole)."""


class Upstream:
    def __init__(
        self,
        session: aiohttp.ClientSession,
        cache: PageCache,
        *,
        allowed_origins: tuple[str, ...],
        offload: Offload,
        retries: int = 3,
        backoff: float = 0.25,
        max_age: float = 600.0,
        max_document: int = DEFAULT_MAX_DOCUMENT,
        negative_ttl: float = 5.0,
        clock: Callable[[], float] = time.time,
        routing: IndexRouting | None = None,
    ):
        self.session = session
        self.cache = cache
        self.allowed = tuple(origin_of(o) for o in allowed_origins)
        self.offload = offload
        self.retries = retries
        self.backoff = backoff
        self.max_age = max_age
        self.max_document = max_document
        self.failures = FailureMemory(negative_ttl, clock)
        self.clock = clock
        self.routing = routing or IndexRouting()
        self._inflight: SingleFlight[Fetched] = SingleFlight()

    def _headers(self, url: str, headers: dict[str, str]) -> dict[str, str]:
        """``headers``, with the credentials of the index whose host serves ``url`` (and
        none for any other host: a redirect elsewhere never carries them)."""
        credentials = self.routing.credentials_for(url)
        if credentials is not None:
            headers["Authorization"] = credentials.header()
        return headers

    def _refused(self, status: int, url: str) -> UpstreamRefused:
        index = self.routing.index_named_for(url)
        if index is None:
            return UpstreamRefused(f"upstream answered {status} for {url}: it needs credentials")
        given = "were refused" if index.credentials is not None else "are missing"
        return UpstreamRefused(
            f"index {index.name} answered {status} for {url}: its credentials {given}; give "
            f"them in --index {index.name}=URL (user:password@host) or in the netrc file "
            f"(machine {urlsplit(url).hostname})"
        )

    def check_allowed(self, url: str) -> None:
        if origin_of(url) not in self.allowed:
            raise ForeignHost(f"refusing to fetch {url}: not the configured index or file host")

    async def _with_retries(self, url: str, attempt: Callable[[], Awaitable[T]]) -> T:
        """``attempt()``, retried with backoff on connection errors and 5xx.

        A time-out is not retried: the attempt already waited the whole ``--timeout``,
        and a hanging upstream would otherwise cost every request several of them.
        """
        self.failures.check(origin_of(url))
        last: Exception | None = None
        for n in range(self.retries + 1):
            if n:
                await asyncio.sleep(self.backoff * 2 ** (n - 1))
            try:
                return await attempt()
            except _Retryable as exc:
                last = exc.cause
                log.debug("upstream %s failed (%s), attempt %d", url, exc.cause, n + 1)
                if isinstance(last, asyncio.TimeoutError):
                    break
        assert last is not None
        error: UpstreamError
        if isinstance(last, asyncio.TimeoutError):
            error = UpstreamTimeout(f"upstream timed out: {url}")
        elif isinstance(last, _ServerError):
            error = UpstreamBadResponse(f"upstream answered {last.status} for {url}")
        else:
            error = UpstreamUnreachable(f"upstream unreachable: {url} ({last})")
        if not isinstance(last, _ServerError):
            # The host itself is down or hanging: every key on it would fail the same way.
            self.failures.remember(origin_of(url), error)
        raise error from last

    async def document(
        self,
        url: str,
        *,
        accept: str,
        parse: Callable[[bytes], Any],
    ) -> Fetched:
        """The document at ``url`` (parsed) and its cache status.

        ``parse`` validates the body (raising ``ValueError``); a body it refuses is never
        cached and is reported as :class:`UpstreamBadResponse`.
        """
        self.check_allowed(url)
        key = cache_key(url, accept)
        return await self._inflight.run(key, lambda: self._document(key, url, accept, parse))

    async def _from_disk(self, key: str, parse: Callable[[bytes], Any]) -> CachedDocument | None:
        loaded = await asyncio.to_thread(self.cache.load, key)
        if loaded is None:
            return None
        body = loaded.body
        try:
            parsed = await self.offload.run(loaded.size, lambda: parse(body))
        except ValueError:
            return None  # a disk entry that no longer parses is as good as none
        entry = replace(loaded, parsed=parsed)
        self.cache.remember(key, entry)
        return entry

    async def _document(
        self, key: str, url: str, accept: str, parse: Callable[[bytes], Any]
    ) -> Fetched:
        cached = self.cache.get(key) or await self._from_disk(key, parse)
        if cached is not None and cached.is_fresh(self.clock(), self.max_age):
            return Fetched(cached, "hit")
        try:
            self.failures.check(key)
        except UpstreamError:
            if cached is None:
                raise
            return Fetched(cached, "stale")
        async with held(self.cache.directory, "pages", key) as waited:
            if waited:
                # Another process fetched this key meanwhile: take its copy if fresh.
                shared = await self._from_disk(key, parse)
                if shared is not None and shared.is_fresh(self.clock(), self.max_age):
                    return Fetched(shared, "hit")
                cached = shared or cached
            try:
                return await self._fetch(key, url, accept, parse, cached)
            except UpstreamError as exc:
                self.failures.remember(key, exc)
                if cached is None:
                    raise
                log.warning("upstream failed for %s (%s); serving the cached copy", url, exc)
                return Fetched(cached, "stale")

    async def _fetch(
        self,
        key: str,
        url: str,
        accept: str,
        parse: Callable[[bytes], Any],
        cached: CachedDocument | None,
    ) -> Fetched:
        now = self.clock()
        status, body, etag = await self._with_retries(
            url, lambda: self._get(url, accept, cached.etag if cached else None)
        )
        if status == 304 and cached is not None:
            entry = cached.refreshed(now)
            self.cache.remember(key, entry)
            await asyncio.to_thread(self.cache.save_fetch_time, key, entry)
            return Fetched(entry, "revalidated")
        if status == 404:
            raise UpstreamNotFound(url)
        if status in (401, 403):
            raise self._refused(status, url)
        if status != 200:
            raise UpstreamBadResponse(f"upstream answered {status} for {url}")
        try:
            # Hashed beside the parse: a big page's digest would hold up the loop.
            parsed, digest = await self.offload.run(
                len(body), lambda: (parse(body), body_digest(body))
            )
        except ValueError as exc:
            raise UpstreamBadResponse(f"malformed upstream response for {url}: {exc}") from exc
        entry = CachedDocument(
            url=url, body=body, etag=etag, fetched_at=now, parsed=parsed, digest=digest
        )
        await asyncio.to_thread(self.cache.save, key, entry)
        self.cache.remember(key, entry)
        return Fetched(entry, "miss")

    async def _get(self, url: str, accept: str, etag: str | None) -> tuple[int, bytes, str | None]:
        headers = self._headers(url, {"Accept": accept})
        if etag:
            headers["If-None-Match"] = etag
        try:
            async with self.session.get(url, headers=headers, allow_redirects=False) as resp:
                if resp.status >= 500:
                    raise _Retryable(_ServerError(resp.status))
                body = await self._read_capped(url, resp) if resp.status == 200 else b""
                return resp.status, body, resp.headers.get("ETag")
        except aiohttp.ClientError as exc:
            # Connection errors, framing that does not add up, bodies cut short.
            raise _Retryable(exc) from exc
        except asyncio.TimeoutError as exc:
            raise _Retryable(exc) from exc

    async def _read_capped(self, url: str, resp: aiohttp.ClientResponse) -> bytes:
        """The (decoded) body, refused as soon as it passes the size limit."""
        limit = self.max_document
        too_large = DocumentTooLarge(
            f"upstream document {url} is larger than the limit of {format_size(limit)}; "
            "raise --max-page-size to serve it"
        )
        if resp.content_length is not None and resp.content_length > limit:
            raise too_large
        body = bytearray()
        async for chunk in resp.content.iter_chunked(64 * 1024):
            body += chunk
            if len(body) > limit:
                raise too_large
        return bytes(body)

    @asynccontextmanager
    async def stream(self, url: str) -> AsyncIterator[aiohttp.ClientResponse]:
        """An open upstream response for a file; retried until its headers arrive."""
        self.check_allowed(url)

        async def attempt() -> aiohttp.ClientResponse:
            # identity: the bytes the index hashed, never a transfer coding of them (a host
            # that encodes anyway is decoded: auto_decompress).  Redirects by hand, so that
            # none leads off the configured hosts, nor carries credentials to another host.
            try:
                resp = await get_following(
                    self.session,
                    url,
                    lambda target: self._headers(target, {"Accept-Encoding": "identity"}),
                    self.check_allowed,
                )
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                raise _Retryable(exc) from exc
            if resp.status >= 500:
                resp.release()
                raise _Retryable(_ServerError(resp.status))
            if is_redirect(resp):
                resp.release()
                raise UpstreamBadResponse(f"too many redirects for {url}")
            return resp

        resp = await self._with_retries(url, attempt)
        try:
            if resp.status == 404:
                raise UpstreamNotFound(url)
            if resp.status in (401, 403):
                raise self._refused(resp.status, str(resp.url))
            if resp.status != 200:
                raise UpstreamBadResponse(f"upstream answered {resp.status} for {url}")
            yield resp
        finally:
            resp.release()


class FailureMemory:
    """Upstream failures remembered for ``ttl`` seconds (a negative cache).

    Keyed by document or by origin: while a failure is remembered, the same request fails
    at once with the same error instead of costing upstream (and the client) every retry
    and time-out again.  Nothing is remembered longer than ``ttl``; 0 remembers nothing.
    """

    _LIMIT = 10_000

    def __init__(self, ttl: float, clock: Callable[[], float] = time.time):
        self.ttl = ttl
        self.clock = clock
        self._until: dict[str, tuple[float, UpstreamError]] = {}

    def remember(self, key: str, error: UpstreamError) -> None:
        if self.ttl <= 0:
            return
        now = self.clock()
        if len(self._until) >= self._LIMIT:
            self._until = {k: v for k, v in self._until.items() if v[0] > now}
            if len(self._until) >= self._LIMIT:
                return
        self._until[key] = (now + self.ttl, error)

    def check(self, key: str) -> None:
        """Raise the remembered error for ``key``, if one is still remembered."""
        found = self._until.get(key)
        if found is None:
            return
        until, error = found
        if self.clock() >= until:
            del self._until[key]
            return
        again = type(error)(f"{error} (failed {self.ttl:g} s ago or less; not asked again yet)")
        raise again


class _ServerError(Exception):
    def __init__(self, status: int):
        super().__init__(f"HTTP {status}")
        self.status = status


class _Retryable(Exception):
    def __init__(self, cause: Exception):
        super().__init__(str(cause))
        self.cause = cause
