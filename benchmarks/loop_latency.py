"""Latency of /-/health and a cached page while the largest pages are being filtered.

A local upstream (loopback only) serves one small project and one huge one (100,000 files
by default, about 40 MB of JSON).  The real `snapproxy serve` CLI runs in front of it.
Each round measures probe latency twice, interleaved: once with the server idle, once
while a loader keeps asking for the huge page under cutoffs it has not filtered yet (so
every request parses, filters, renders and compresses it again).  Probes are /-/health
and the small project's page (cached after the first request), sent one at a time.

    python benchmarks/loop_latency.py [--files 100000] [--rounds 3] [--seconds 6]

Prints, per condition, the median over rounds of each round's p50, p99 and max, with the
min-max range across rounds, and the ratio busy/idle.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import aiohttp
from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_support import (
    machine_facts,
    median,
    percentile,
    start_snapproxy,
    table,
)

SIMPLE_JSON = "application/vnd.pypi.simple.v1+json"


def project_page(name: str, files: int) -> bytes:
    entries = []
    for n in range(files):
        filename = f"{name}-1.{n}-py3-none-any.whl"
        entries.append(
            {
                "filename": filename,
                "url": f"http://127.0.0.1:1/packages/{filename}",
                "hashes": {"sha256": hashlib.sha256(filename.encode()).hexdigest()},
                "requires-python": ">=3.8",
                "size": 1000 + n,
                "upload-time": f"20{10 + n % 12:02d}-0{1 + n % 9}-1{n % 10}T10:00:00.000000Z",
                "yanked": False,
                "core-metadata": False,
            }
        )
    doc = {"meta": {"api-version": "1.1"}, "name": name, "files": entries, "versions": []}
    return json.dumps(doc).encode()


def serve_pages(pages: dict[str, bytes]) -> str:
    """A loopback upstream serving ``pages`` as PEP 691 project pages; its origin."""

    async def page(request: web.Request) -> web.Response:
        body = pages.get(request.match_info["name"])
        if body is None:
            raise web.HTTPNotFound()
        return web.Response(body=body, content_type=SIMPLE_JSON)

    app = web.Application()
    app.router.add_get("/simple/{name}/", page)
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(app, access_log=None)
    ready = threading.Event()
    address: list[str] = []

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(runner.setup())
        site = web.TCPSite(runner, "127.0.0.1", 0)
        loop.run_until_complete(site.start())
        address.append(f"http://127.0.0.1:{runner.addresses[0][1]}")
        ready.set()
        loop.run_forever()

    threading.Thread(target=serve, daemon=True).start()
    ready.wait()
    return address[0]


async def probe(base: str, seconds: float, busy: bool) -> list[float]:
    """Probe latencies in ms over ``seconds``, with or without the huge-page loader."""
    latencies: list[float] = []
    stop = time.monotonic() + seconds
    async with aiohttp.ClientSession() as session:
        # The small page is cached before measuring.
        async with session.get(f"{base}/simple/small/", headers={"Accept": SIMPLE_JSON}) as r:
            await r.read()

        async def loader() -> None:
            day = 0
            while time.monotonic() < stop:
                day += 1
                cutoff = f"2030-01-{1 + day % 28:02d}T{day % 24:02d}:{day % 60:02d}:00Z"
                url = f"{base}/snapshot/{cutoff}/simple/huge/"
                async with session.get(url, headers={"Accept": SIMPLE_JSON}) as r:
                    await r.read()

        task = asyncio.create_task(loader()) if busy else None
        await asyncio.sleep(0.5 if busy else 0)  # let the first filtering start
        n = 0
        while time.monotonic() < stop:
            path = "/-/health" if n % 2 else "/simple/small/"
            n += 1
            start = time.perf_counter()
            async with session.get(base + path, headers={"Accept": SIMPLE_JSON}) as r:
                await r.read()
                assert r.status == 200, (path, r.status)
            latencies.append((time.perf_counter() - start) * 1000)
            await asyncio.sleep(0.01)
        if task is not None:
            await task
    return latencies


def summary(rounds: list[list[float]]) -> dict[str, tuple[float, float, float]]:
    out = {}
    for label, q in (("p50", 50.0), ("p99", 99.0), ("max", 100.0)):
        values = [percentile(sorted(r), q) for r in rounds]
        out[label] = (median(values) or 0.0, min(values), max(values))
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=6.0)
    args = parser.parse_args(argv)

    pages = {"small": project_page("small", 20), "huge": project_page("huge", args.files)}
    upstream = serve_pages(pages)
    results: dict[str, list[list[float]]] = {"idle": [], "busy": []}
    with tempfile.TemporaryDirectory() as scratch:
        server = start_snapproxy(
            "2031-01-01",
            Path(scratch),
            None,
            ["--upstream", upstream, "--files-host", upstream, "--max-page-size", "256MiB", "-q"],
        )
        base = server.index_url.removesuffix("/simple/")
        try:
            for _ in range(args.rounds):
                for condition in ("idle", "busy"):
                    latencies = asyncio.run(probe(base, args.seconds, condition == "busy"))
                    results[condition].append(latencies)
        finally:
            server.stop()
    stats = {c: summary(r) for c, r in results.items()}
    rows = []
    for label in ("p50", "p99", "max"):
        idle, busy = stats["idle"][label], stats["busy"][label]
        rows.append(
            [
                label,
                f"{idle[0]:.1f} ({idle[1]:.1f}-{idle[2]:.1f})",
                f"{busy[0]:.1f} ({busy[1]:.1f}-{busy[2]:.1f})",
                f"{busy[0] / idle[0]:.2f}x" if idle[0] else "-",
            ]
        )
    print(f"# {args.files} files on the huge page; {args.rounds} rounds of {args.seconds} s")
    for key, value in machine_facts().items():
        print(f"# {key}: {value}")
    print(table(["probe ms", "idle median (min-max)", "busy median (min-max)", "busy/idle"], rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
