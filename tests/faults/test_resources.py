"""Guarantee 3, last part: after a battery of faults, the server's open descriptors and
resident memory are back near where they started.
"""

from __future__ import annotations

import contextlib
import random
import socket
import struct
import time

from tests.faults.conftest import Serve
from tests.faults.hostile_upstream import (
    SIMPLE_JSON,
    HostileUpstream,
    blob_entry,
    cut_after,
    gzip_coded,
    hang,
    huge_json_stream,
    lying_length,
    reset,
)
from tests.faults.probes import BEFORE, MiB, get, wait_for

SLACK_FDS = 3
SLACK_RSS = 64 * MiB
PARTIAL = b"GET /-/health HTTP/1.1\r\nHost: 127.0.0.1\r\n"


def _abort(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def test_descriptors_and_memory_return_to_their_start_after_faults(
    upstream: HostileUpstream, serve: Serve
) -> None:
    rng = random.Random(12)
    good = [blob_entry(f"good-{n}", "1.0", rng.randbytes(1 * MiB), BEFORE) for n in range(4)]
    cut = blob_entry("cut", "1.0", rng.randbytes(2 * MiB), BEFORE)
    squeezed = blob_entry("squeezed", "1.0", b"squeeze me " * 100_000, BEFORE)
    big = blob_entry("big", "1.0", rng.randbytes(16 * MiB), BEFORE)
    upstream.add(*good, cut, squeezed, big)
    upstream.add(*(blob_entry(n, "1.0", b"x", BEFORE) for n in ("broken", "lying", "hanging")))
    gate = upstream.gate()
    upstream.fault("/simple/broken/", reset())
    upstream.fault("/simple/lying/", lying_length(-30))
    upstream.fault("/simple/hanging/", hang(gate))
    upstream.set_body("/simple/huge/", huge_json_stream(100 * MiB), SIMPLE_JSON)
    upstream.fault(cut.files_path, cut_after(1 * MiB), origin="files")
    upstream.fault(squeezed.files_path, gzip_coded(), origin="files")
    proxy = serve("--idle-timeout", "1", "--negative-ttl", "0", "--timeout", "1")

    # Warm: the caches hold what an ordinary day puts there.
    for entry in good:
        assert get(proxy.port, f"/simple/{entry.project}/", {"Accept": SIMPLE_JSON}).status == 200
        assert get(proxy.port, f"/files/{entry.project}/{entry.filename}").complete
    time.sleep(1.5)
    fds, rss = proxy.fds(), proxy.rss()

    held: list[socket.socket] = []
    try:
        for _ in range(5):  # each costs every retry: --negative-ttl 0
            assert get(proxy.port, "/simple/broken/").status == 502
            assert get(proxy.port, "/simple/lying/").status == 502
        for _ in range(10):
            get(proxy.port, f"/files/cut/{cut.filename}")
            get(proxy.port, f"/files/squeezed/{squeezed.filename}")
        for _ in range(2):
            assert get(proxy.port, "/simple/hanging/").status == 504
            assert get(proxy.port, "/simple/huge/").status == 502
        for _ in range(100):  # slowloris, left for the idle time-out
            sock = socket.create_connection(("127.0.0.1", proxy.port))
            sock.sendall(PARTIAL)
            held.append(sock)
        for _ in range(50):  # idle keep-alives
            sock = socket.create_connection(("127.0.0.1", proxy.port))
            sock.sendall(b"GET /-/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            held.append(sock)
        stalled = []
        for _ in range(20):  # clients of a big file that read nothing, then vanish
            sock = socket.create_connection(("127.0.0.1", proxy.port))
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            sock.sendall(f"GET /files/big/{big.filename} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            stalled.append(sock)
        for _ in range(50):  # clients gone right after asking
            sock = socket.create_connection(("127.0.0.1", proxy.port))
            sock.sendall(f"GET /simple/{good[0].project}/ HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            _abort(sock)
        time.sleep(1.0)
        for sock in stalled:
            _abort(sock)
        # The server closes what it holds for idle clients; ours stay open until it has.
        wait_for(lambda: proxy.fds() <= fds + SLACK_FDS, "descriptors to come back", 60)
    finally:
        for sock in held:
            sock.close()
        gate.open()
    time.sleep(1.0)
    end_fds, end_rss = proxy.fds(), proxy.rss()
    print(
        f"\nafter the fault battery: fds {fds} -> {end_fds}, RSS {rss / MiB:.0f} -> "
        f"{end_rss / MiB:.0f} MiB (peak {proxy.peak_rss() / MiB:.0f} MiB)"
    )
    assert end_fds <= fds + SLACK_FDS
    assert end_rss <= rss + SLACK_RSS, f"RSS grew by {(end_rss - rss) / MiB:.0f} MiB"
    assert get(proxy.port, "/-/health").status == 200
