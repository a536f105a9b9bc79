"""Distribution files: each fetched from upstream once, read by every client as it grows.

The first request for a file starts a :class:`Download`, a task of its own that streams
upstream's bytes into a temporary file while hashing them.  Every client of that file,
the first included, reads the temporary file as it grows, at its own pace: a client that
stalls or disconnects neither slows the others nor stops the download.

No client can take a wrong file for whole: the last byte is held back until the digest
and size are known to match the index, and a response is cut (never completed) when
they do not.  Responses carry the index's size as ``Content-Length`` (chunked when the
index gives none) and never upstream's framing headers.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections import deque
from pathlib import Path

import aiohttp
from aiohttp import web
from aiohttp.abc import AbstractStreamWriter

from snapproxy.atomic_file import AtomicFile
from snapproxy.cache_lock import held
from snapproxy.cache_status import CACHE_STATUS
from snapproxy.file_store import DigestMismatch, FileStore, Verifier, check_size
from snapproxy.upstream import Upstream, UpstreamBadResponse, UpstreamError, UpstreamNotFound

__all__ = ["Download", "Downloads", "StoredFile", "send"]

log = logging.getLogger("snapproxy.access")

CHUNK = 256 * 1024


class Download:
    """One upstream transfer and what it has written so far."""

    def __init__(self, size: int | None):
        self.size = size  # what the index says, if it says
        self.written = 0
        self.state = "waiting"  # waiting, running, done, failed
        self.error = ""
        self.error_status = 502
        self.stored: Path | None = None
        self._fd = -1
        self._readers = 0
        self._changed = asyncio.Event()

    # -- the writer's side --------------------------------------------------------------

    def begin(self, pending: AtomicFile, *, keep: bool) -> None:
        self._fd = os.open(pending.temp, os.O_RDONLY | os.O_CLOEXEC)
        if not keep:
            # Nothing to keep: the name goes now, the open descriptors keep the bytes.
            pending.temp.unlink(missing_ok=True)
        self.state = "running"
        self._notify()

    def grew(self, n: int) -> None:
        self.written += n
        self._notify()

    def finish(self, stored: Path | None) -> None:
        self.stored = stored
        self.state = "done"
        self._notify()
        self._release()

    def fail(self, error: str, status: int = 502) -> None:
        self.error = error
        self.error_status = status
        self.state = "failed"
        self._notify()
        self._release()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    # -- the readers' side --------------------------------------------------------------

    def readable(self) -> int:
        """How many bytes a client may have now: all once verified, else one less.

        Holding the last byte back is what keeps a response from ever looking complete
        before the digest is known.
        """
        if self.state == "done":
            return self.written
        written = self.written if self.size is None else min(self.written, self.size)
        return max(0, written - 1)

    def read(self, offset: int, n: int) -> bytes:
        return os.pread(self._fd, n, offset)

    def failure(self) -> UpstreamError:
        error = UpstreamError(self.error)
        error.status = self.error_status
        return error

    async def changed(self) -> None:
        await self._changed.wait()

    async def settled(self) -> None:
        """Wait until the download is done or failed."""
        while self.state not in ("done", "failed"):
            await self.changed()

    def attach(self) -> None:
        self._readers += 1

    def detach(self) -> None:
        self._readers -= 1
        self._release()

    def _release(self) -> None:
        if self.state in ("done", "failed") and self._readers == 0 and self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


class Downloads:
    """The downloads under way, one per file, and the clients reading them."""

    def __init__(self, upstream: Upstream, store: FileStore):
        self.upstream = upstream
        self.store = store
        self._running: dict[str, Download] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        # The last files refused for not matching the index, for an in-process user (the
        # fetcher) to explain its failure; bounded, as a server runs for long.
        self.mismatched: deque[str] = deque(maxlen=16)

    def get(self, url: str, verifier: Verifier | None, size: int | None) -> Download:
        """The download of ``url``: the one under way, or a new one."""
        key = f"{verifier.algorithm}:{verifier.digest}" if verifier is not None else url
        download = self._running.get(key)
        if download is None:
            download = Download(size)
            self._running[key] = download
            task = asyncio.create_task(self._transfer(key, download, url, verifier))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return download

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _transfer(
        self, key: str, download: Download, url: str, verifier: Verifier | None
    ) -> None:
        keep = self.store.keep and verifier is not None
        lock_dir = self.store.root if keep else None
        pending: AtomicFile | None = None
        try:
            async with held(lock_dir, "files", key) as waited:
                if waited and verifier is not None:
                    # Another process fetched it while we waited for its lock.
                    stored = await asyncio.to_thread(self.store.lookup, verifier, download.size)
                    if stored is not None:
                        download.finish(stored)
                        return
                pending = self.store.pending(verifier)
                download.begin(pending, keep=keep)
                await self._pump(url, verifier, download, pending)
                stored = None
                if keep:
                    await asyncio.to_thread(pending.commit)
                    stored = pending.final
                    self.store.mark_verified(stored)
                else:
                    pending.discard()
                download.finish(stored)
        except (DigestMismatch, UpstreamError, UpstreamNotFound, OSError) as exc:
            if pending is not None:
                pending.discard()
            message = _describe(url, exc)
            log.error("aborting %s: %s", url, message)
            if isinstance(exc, DigestMismatch):
                self.mismatched.append(f"{url}: {exc}")
            download.fail(message, exc.status if isinstance(exc, UpstreamError) else 502)
        except BaseException:
            if pending is not None:
                pending.discard()
            download.fail(f"the transfer of {url} was stopped")
            raise
        finally:
            self._running.pop(key, None)

    async def _pump(
        self, url: str, verifier: Verifier | None, download: Download, pending: AtomicFile
    ) -> None:
        try:
            async with self.upstream.stream(url) as upstream:
                async for chunk in upstream.content.iter_chunked(CHUNK):
                    if verifier is not None:
                        verifier.update(chunk)
                    pending.write(chunk)
                    download.grew(len(chunk))
                    if download.size is not None and download.written > download.size:
                        check_size(download.size, download.written)
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            reason = str(exc) or type(exc).__name__
            raise UpstreamBadResponse(f"transfer of {url} failed: {reason}") from None
        if verifier is not None:
            verifier.check()
        check_size(download.size, download.written)


def _describe(url: str, exc: BaseException) -> str:
    if isinstance(exc, DigestMismatch):
        return f"{url} does not match the index: {exc}"
    if isinstance(exc, UpstreamNotFound):
        return f"not found upstream: {url}"
    if isinstance(exc, OSError):
        return f"cannot store {url} ({exc.strerror or exc}); try again"
    return str(exc)


class StoredFile(web.FileResponse):
    """A stored file (aiohttp's FileResponse: HEAD, Range, sendfile), quiet when the
    client left before sending began.

    asyncio's sendfile raises RuntimeError("Transport is closing") then, which aiohttp
    logs as an unhandled exception; it is a closed connection like any other.
    """

    async def prepare(self, request: web.BaseRequest) -> AbstractStreamWriter | None:
        try:
            return await super().prepare(request)
        except RuntimeError:
            if request.transport is None or request.transport.is_closing():
                raise ConnectionResetError("the client closed the connection") from None
            raise


async def send(
    request: web.Request, download: Download, headers: dict[str, str]
) -> web.StreamResponse:
    """Answer ``request`` with ``download``'s bytes as they arrive.

    Nothing is sent before the first byte is there, so a download that fails early is a
    clean 502; one that fails later is cut before its response completes.
    """
    download.attach()
    response: web.StreamResponse | None = None
    try:
        sent = 0
        while True:
            available = download.readable()
            if sent < available:
                if response is None:
                    response = web.StreamResponse(headers=headers)
                    if download.size is not None:
                        response.content_length = download.size
                    await response.prepare(request)
                chunk = download.read(sent, min(CHUNK, available - sent))
                await response.write(chunk)
                sent += len(chunk)
            elif download.state == "failed":
                CACHE_STATUS.set("aborted")
                if response is None:
                    raise download.failure()
                if request.transport is not None:
                    request.transport.close()
                return response
            elif download.state == "done":
                if response is None:
                    if download.stored is not None:
                        return StoredFile(download.stored, headers=headers)
                    response = web.StreamResponse(headers=headers)
                    response.content_length = 0
                    await response.prepare(request)
                await response.write_eof()
                return response
            else:
                await download.changed()
    except ConnectionError:
        # The client went away; the download goes on for the others (and the store).
        CACHE_STATUS.set("client gone")
        return response if response is not None else web.Response(status=499)
    finally:
        download.detach()
