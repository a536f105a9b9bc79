"""Guarantee 8: partial and idle connections are closed after `--idle-timeout`; the server
binds loopback unless told otherwise and warns when it is.
"""

from __future__ import annotations

import asyncio
import contextlib
import select
import socket
import time

import pytest

from tests.faults.conftest import Serve
from tests.faults.hostile_upstream import HostileUpstream
from tests.faults.probes import get, limit_open_files, need_open_files, read_response

PARTIAL = b"GET /-/health HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: slowloris\r\n"
GUARD = 60.0


def _connect(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=GUARD)


def _wait_closed(socks: list[socket.socket], guard: float = GUARD) -> list[float]:
    """Read every socket until the server closes it; seconds each took. Fails at `guard`."""
    started = time.monotonic()
    open_ = {s.fileno(): s for s in socks}
    took: list[float] = []
    while open_:
        left = started + guard - time.monotonic()
        assert left > 0, f"{len(open_)} of {len(socks)} connections still open after {guard}s"
        ready, _, _ = select.select(list(open_), [], [], min(left, 1.0))
        for fd in ready:
            try:
                data = open_[fd].recv(65536)
            except ConnectionError:
                data = b""
            if not data:  # EOF or reset: closed by the server (a 408 first is fine)
                del open_[fd]
                took.append(time.monotonic() - started)
    return took


def test_partial_headers_are_closed_after_the_idle_timeout(
    upstream: HostileUpstream, serve: Serve
) -> None:
    proxy = serve("--idle-timeout", "1")
    socks = [_connect(proxy.port) for _ in range(20)]
    try:
        for sock in socks:
            sock.sendall(PARTIAL)
        took = _wait_closed(socks)
        print(f"\npartial headers: closed after {max(took):.1f}s at most")
    finally:
        for sock in socks:
            sock.close()


def test_idle_keep_alive_connections_are_closed_after_the_idle_timeout(
    upstream: HostileUpstream, serve: Serve
) -> None:
    proxy = serve("--idle-timeout", "1")
    socks = [_connect(proxy.port) for _ in range(20)]
    try:
        for sock in socks:
            sock.sendall(b"GET /-/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            answer = read_response(sock)
            assert answer.status == 200 and answer.complete
            assert answer.header("Connection") != "close", "no keep-alive to test"
        took = _wait_closed(socks)
        print(f"\nidle keep-alive: closed after {max(took):.1f}s at most")
    finally:
        for sock in socks:
            sock.close()


def test_headers_trickled_byte_by_byte_are_cut_off(
    upstream: HostileUpstream, serve: Serve
) -> None:
    """Slowloris proper: a byte every 0.2 s never lets a per-read time-out fire."""
    proxy = serve("--idle-timeout", "1")
    sock = _connect(proxy.port)
    sock.sendall(b"GET /-/health HTTP/1.1\r\n")
    started = time.monotonic()
    try:
        while True:
            assert time.monotonic() - started < GUARD, "still open after a minute of trickling"
            try:
                sock.sendall(b"X")
            except (BrokenPipeError, ConnectionResetError):
                break
            ready, _, _ = select.select([sock], [], [], 0.2)
            if ready:
                try:
                    if not sock.recv(65536):
                        break
                except ConnectionError:
                    break
        print(f"\ntrickled headers: cut after {time.monotonic() - started:.1f}s")
    finally:
        sock.close()


async def test_a_slowloris_crowd_does_not_starve_health(
    upstream: HostileUpstream, serve: Serve
) -> None:
    """Issue 8.6: 1,100 partial-header connections exhausted the descriptors of a server
    with the common limit of 1,024, and /-/health timed out."""
    need_open_files(4096)
    proxy = serve("--idle-timeout", "2")
    limit_open_files(proxy.pid, 1024)
    writers: list[asyncio.StreamWriter] = []

    async def loris() -> None:
        with contextlib.suppress(OSError, asyncio.TimeoutError):
            _, writer = await asyncio.wait_for(
                asyncio.open_connection("127.0.0.1", proxy.port), 10
            )
            writer.write(PARTIAL)
            writers.append(writer)

    try:
        await asyncio.gather(*(loris() for _ in range(1100)))
        started = time.monotonic()
        health = await asyncio.to_thread(get, proxy.port, "/-/health", None, GUARD)
        waited = time.monotonic() - started
        print(f"\n{len(writers)} slowloris connections; /-/health answered after {waited:.1f}s")
        assert health.status == 200
        assert proxy.alive()
    finally:
        for writer in writers:
            writer.close()


def test_binds_loopback_by_default(upstream: HostileUpstream, serve: Serve) -> None:
    proxy = serve()
    assert proxy.base.startswith("http://127.0.0.1:"), proxy.base
    assert get(proxy.port, "/-/health").status == 200
    # Another loopback address reaches a socket bound to every interface, not this one.
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.2", proxy.port), timeout=5).close()
    assert "WARNING" not in proxy.stderr(), proxy.stderr()


def test_warns_when_bound_to_every_interface(upstream: HostileUpstream, serve: Serve) -> None:
    proxy = serve("--host", "0.0.0.0")
    assert get(proxy.port, "/-/health").status == 200
    warnings = [line for line in proxy.stderr().splitlines() if "WARNING" in line]
    assert any("0.0.0.0" in line for line in warnings), proxy.stderr()
