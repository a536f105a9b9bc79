"""Guarantee 6: many clients at once, some stalled, some gone, are all answered correctly; a
stalled client never holds back another client of the same file; one key costs one upstream
fetch, with or without --no-cache and across processes sharing a cache directory.

Orderings are asserted, not durations: a generous hang guard turns a client that waits on
another into a failure.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
import socket
import struct
import time
from collections.abc import Callable
from pathlib import Path

import aiohttp
import pytest

from tests.faults.conftest import Serve
from tests.faults.hostile_upstream import (
    SIMPLE_JSON,
    Entry,
    HostileUpstream,
    blob_entry,
    delay,
    hang,
    hold_after,
)
from tests.faults.probes import BEFORE, MiB, Proxy, need_open_files, read_response

GUARD = 60.0
MODES = pytest.mark.parametrize("no_cache", [False, True], ids=["cache", "no-cache"])


async def until(predicate: Callable[[], bool], what: str, timeout: float = GUARD) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up after {timeout:g}s waiting for {what}")
        await asyncio.sleep(0.01)


def _session() -> aiohttp.ClientSession:
    # No pooling limit, a connection per request, bytes exactly as sent.
    connector = aiohttp.TCPConnector(limit=0, force_close=True)
    timeout = aiohttp.ClientTimeout(total=GUARD * 2)
    return aiohttp.ClientSession(
        connector=connector,
        timeout=timeout,
        auto_decompress=False,
        headers={"Accept-Encoding": "identity"},  # aiohttp asks for gzip unless told
    )


async def fetch(
    session: aiohttp.ClientSession, url: str, headers: dict[str, str] | None = None
) -> tuple[int, bytes, bool]:
    """(status, body, complete): incomplete when the framing was not honoured."""
    async with session.get(url, headers=headers or {}, allow_redirects=False) as resp:
        try:
            body = await resp.read()
        except aiohttp.ClientPayloadError:
            return resp.status, b"", False
        return resp.status, body, True


async def stalled_request(port: int, path: str, window: int = 64 * 1024) -> socket.socket:
    """Send a GET and then read nothing: a small receive window that is never drained.

    The window plus the proxy's send buffer must stay well below the file sent, so that
    the proxy's writes to this client block. 64 KiB suits a file the client reads later
    (4 KiB would make reading it take a minute); clients that never read use 4 KiB.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, window)
    sock.setblocking(False)
    loop = asyncio.get_running_loop()
    await loop.sock_connect(sock, ("127.0.0.1", port))
    request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    await loop.sock_sendall(sock, request.encode())
    return sock


def _reset(sock: socket.socket) -> None:
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def _file_url(proxy: Proxy, entry: Entry) -> str:
    return proxy.url(f"/files/{entry.project}/{entry.filename}")


def _right(entry: Entry, status: int, body: bytes, complete: bool) -> bool:
    return status == 200 and complete and hashlib.sha256(body).hexdigest() == entry.sha256


# ---- single flight ---------------------------------------------------------------------


@MODES
async def test_concurrent_requests_for_one_file_cost_one_upstream_fetch(
    upstream: HostileUpstream, serve: Serve, no_cache: bool
) -> None:
    """Issue 8.9: with --no-cache, 20 concurrent requests made 20 upstream fetches."""
    entry = blob_entry("popular", "1.0", random.Random(1).randbytes(4 * MiB), BEFORE)
    upstream.add(entry)
    gate = upstream.gate()
    upstream.fault(entry.files_path, hang(gate), origin="files")
    proxy = serve(no_cache=no_cache)
    async with _session() as session:
        tasks = [asyncio.create_task(fetch(session, _file_url(proxy, entry))) for _ in range(20)]
        await until(lambda: upstream.count(entry.files_path, "files") >= 1, "the first fetch")
        # Give the other 19 requests time to arrive while upstream holds its answer; a
        # proxy without single flight has sent them all upstream by then.
        deadline = time.monotonic() + 1.5
        await until(
            lambda: gate.waiting >= 20 or time.monotonic() > deadline, "requests to arrive"
        )
        gate.open()
        results = await asyncio.gather(*tasks)
    assert all(_right(entry, *r) for r in results), [(s, len(b), c) for s, b, c in results]
    assert upstream.count(entry.files_path, "files") == 1


@MODES
async def test_concurrent_requests_for_one_page_cost_one_upstream_fetch(
    upstream: HostileUpstream, serve: Serve, no_cache: bool
) -> None:
    entry = blob_entry("popular", "1.0", b"popular\n", BEFORE)
    upstream.add(entry)
    upstream.fault("/simple/popular/", delay(1.0))
    proxy = serve(no_cache=no_cache)
    urls = [proxy.url("/simple/popular/"), proxy.url("/snapshot/2023-12-01/simple/popular/")]
    accepts = [SIMPLE_JSON, "text/html"]
    async with _session() as session:
        results = await asyncio.gather(
            *(
                fetch(session, urls[n % 2], {"Accept": accepts[n // 2 % 2]})
                for n in range(20)
            )
        )
    assert all(s == 200 and entry.sha256.encode() in b for s, b, _ in results)
    assert upstream.count("/simple/popular/") == 1


# ---- stalled and disconnecting clients ----------------------------------------------------


@MODES
async def test_a_stalled_first_client_does_not_hold_back_another(
    upstream: HostileUpstream, serve: Serve, no_cache: bool
) -> None:
    """Issue 8.5: a client that reads nothing kept every other client of the file at 0 bytes."""
    entry = blob_entry("large", "1.0", random.Random(2).randbytes(32 * MiB), BEFORE)
    upstream.add(entry)
    gate = upstream.gate()
    upstream.fault(entry.files_path, hold_after(1 * MiB, gate), origin="files")
    proxy = serve(no_cache=no_cache)
    path = f"/files/{entry.project}/{entry.filename}"
    first = await stalled_request(proxy.port, path)
    try:
        await until(
            lambda: upstream.bytes_sent(entry.files_path) >= 1 * MiB, "the download to start"
        )
        async with _session() as session:
            second = asyncio.create_task(fetch(session, _file_url(proxy, entry)))
            await asyncio.sleep(0.3)  # the second request is in before upstream goes on
            gate.open()
            # The first client still reads nothing; the second gets the whole file anyway.
            done, _ = await asyncio.wait({second}, timeout=GUARD)
            assert done, "the second client waited on the stalled one"
            assert _right(entry, *second.result())
        assert upstream.count(entry.files_path, "files") == 1
        # The stalled client gets the right bytes too, once it reads.
        first.setblocking(True)
        first.settimeout(GUARD)
        answer = await asyncio.to_thread(read_response, first)
        assert answer.complete and answer.sha256 == entry.sha256
    finally:
        first.close()


@MODES
async def test_a_disconnecting_first_client_does_not_cancel_the_download(
    upstream: HostileUpstream, serve: Serve, no_cache: bool
) -> None:
    """Issue 8.5: a disconnect discarded the download and forced a second upstream fetch."""
    entry = blob_entry("fragile", "1.0", random.Random(3).randbytes(8 * MiB), BEFORE)
    upstream.add(entry)
    gate = upstream.gate()
    upstream.fault(entry.files_path, hold_after(1 * MiB, gate), origin="files")
    proxy = serve(no_cache=no_cache)
    path = f"/files/{entry.project}/{entry.filename}"
    first = await stalled_request(proxy.port, path)
    await until(lambda: upstream.bytes_sent(entry.files_path) >= 1 * MiB, "the download to start")
    async with _session() as session:
        second = asyncio.create_task(fetch(session, _file_url(proxy, entry)))
        await asyncio.sleep(0.3)  # the second request is in before the first goes
        _reset(first)
        await asyncio.sleep(0.3)  # and the proxy has seen the reset before upstream goes on
        gate.open()
        assert _right(entry, *await asyncio.wait_for(second, GUARD))
        if not no_cache:
            assert _right(entry, *await fetch(session, _file_url(proxy, entry)))
    assert upstream.count(entry.files_path, "files") == 1


# ---- processes sharing a cache directory ----------------------------------------------------


async def test_two_servers_sharing_a_cache_fetch_each_file_once(
    upstream: HostileUpstream, serve: Serve, tmp_path: Path
) -> None:
    """Issue 8.14: two processes on one cache directory fetched about half the keys twice."""
    entries = [
        blob_entry(f"shared-{n}", "1.0", random.Random(n).randbytes(1 * MiB), BEFORE)
        for n in range(10)
    ]
    upstream.add(*entries)
    for entry in entries:
        upstream.fault(entry.files_path, delay(0.3), origin="files")
    cache = tmp_path / "shared-cache"
    proxies = [serve(cache_dir=cache), serve(cache_dir=cache)]
    async with _session() as session:
        results = await asyncio.gather(
            *(fetch(session, _file_url(p, e)) for e in entries for p in proxies)
        )
    assert all(
        _right(e, *r) for e, r in zip([e for e in entries for _ in proxies], results, strict=True)
    )
    counts = {e.project: upstream.count(e.files_path, "files") for e in entries}
    assert set(counts.values()) == {1}, counts


async def test_two_servers_sharing_a_cache_fetch_each_page_once(
    upstream: HostileUpstream, serve: Serve, tmp_path: Path
) -> None:
    """Guarantee 6 says every key; pages are keys as much as files are."""
    entries = [blob_entry(f"page-{n}", "1.0", b"x", BEFORE) for n in range(10)]
    upstream.add(*entries)
    for entry in entries:
        upstream.fault(f"/simple/{entry.project}/", delay(0.3))
    cache = tmp_path / "shared-cache"
    proxies = [serve(cache_dir=cache), serve(cache_dir=cache)]
    async with _session() as session:
        results = await asyncio.gather(
            *(
                fetch(session, p.url(f"/simple/{e.project}/"), {"Accept": SIMPLE_JSON})
                for e in entries
                for p in proxies
            )
        )
    assert all(s == 200 for s, _, _ in results)
    counts = {e.project: upstream.count(f"/simple/{e.project}/") for e in entries}
    assert set(counts.values()) == {1}, counts


# ---- a thousand connections -------------------------------------------------------------


async def test_a_thousand_concurrent_connections_mixing_routes(
    upstream: HostileUpstream, serve: Serve
) -> None:
    """800 ordinary clients over every route, 100 stalled and 100 disconnecting, at once."""
    need_open_files(4096)
    rng = random.Random(1000)
    entries = [
        blob_entry(f"mix-{n}", f"1.{v}", rng.randbytes(4 * MiB), BEFORE)
        for n in range(5)
        for v in range(2)
    ]
    upstream.add(*entries)
    for entry in entries:  # every file is still downloading when its clients arrive
        upstream.fault(entry.files_path, delay(0.5), origin="files")
    proxy = serve()
    projects = sorted({e.project for e in entries})

    def check_page(project: str) -> Callable[[int, bytes], bool]:
        wanted = [e.sha256.encode() for e in entries if e.project == project]
        return lambda s, b: s == 200 and all(w in b for w in wanted)

    def check_file(entry: Entry) -> Callable[[int, bytes], bool]:
        return lambda s, b: s == 200 and hashlib.sha256(b).hexdigest() == entry.sha256

    def check_health(s: int, b: bytes) -> bool:
        return s == 200 and json.loads(b)["status"] == "ok"

    jobs: list[tuple[str, dict[str, str], Callable[[int, bytes], bool]]] = []
    for n in range(800):
        project = projects[n % len(projects)]
        entry = entries[n % len(entries)]
        kind = n % 6
        if kind == 0:
            jobs.append((f"/simple/{project}/", {"Accept": SIMPLE_JSON}, check_page(project)))
        elif kind == 1:
            jobs.append((f"/simple/{project}/", {"Accept": "text/html"}, check_page(project)))
        elif kind == 2:
            jobs.append((f"/pypi/{project}/json", {}, check_page(project)))
        elif kind == 3:
            path = f"/snapshot/2023-12-01/simple/{project}/"
            jobs.append((path, {"Accept": SIMPLE_JSON}, check_page(project)))
        elif kind == 4:
            jobs.append((f"/files/{entry.project}/{entry.filename}", {}, check_file(entry)))
        else:
            jobs.append(("/-/health", {}, check_health))

    async def ordinary(
        session: aiohttp.ClientSession, path: str, headers: dict[str, str]
    ) -> tuple[int, bytes]:
        status, body, complete = await fetch(session, proxy.url(path), headers)
        return (status if complete else -1), body

    async def disconnecting(n: int) -> None:
        entry = entries[n % len(entries)]
        path = f"/files/{entry.project}/{entry.filename}"
        sock = await stalled_request(proxy.port, path, window=4096)
        await asyncio.sleep(rng.random() * 1.5)
        _reset(sock)

    stalled: list[socket.socket] = []

    async def stall(n: int) -> None:
        entry = entries[n % len(entries)]
        path = f"/files/{entry.project}/{entry.filename}"
        stalled.append(await stalled_request(proxy.port, path, window=4096))

    try:
        async with _session() as session:
            started = time.monotonic()
            answers = asyncio.gather(*(ordinary(session, p, h) for p, h, _ in jobs))
            others = asyncio.gather(
                *(stall(n) for n in range(100)), *(disconnecting(n) for n in range(100))
            )
            results, _ = await asyncio.wait_for(asyncio.gather(answers, others), GUARD * 2)
            elapsed = time.monotonic() - started
        wrong = [
            (path, status, len(body))
            for (path, _, check), (status, body) in zip(jobs, results, strict=True)
            if not check(status, body)
        ]
        print(f"\n1,000 connections: 800 answered in {elapsed:.1f}s, {len(wrong)} wrong")
        assert not wrong, wrong[:20]
        counts = {e.filename: upstream.count(e.files_path, "files") for e in entries}
        assert set(counts.values()) == {1}, counts
    finally:
        for sock in stalled:
            sock.close()
