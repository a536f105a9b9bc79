"""Load on one big project page: snapproxy (warm cache) against pypi-timemachine.

Both servers run on 127.0.0.1 with the same cutoff. A bounded number of GETs (at most
--requests, stopping early at --time-limit seconds) is fired at one project page, JSON
(PEP 691) and HTML (PEP 503) in turn, from --concurrency workers over pooled connections,
with `Accept-Encoding: gzip` as pip and uv send it (`--encodings gzip identity` adds
uncompressed runs). The table shows requests/s and p50/p99 latency per server, format and
encoding, and the ratio to snapproxy for the same format and encoding.

pypi-timemachine keeps no cache: every request it answers is a full fetch of the page
from PyPI (about 2 MB for botocore). So that it stays a polite load on PyPI, it gets at
most --timemachine-requests requests per format (default 100); snapproxy answers from its
cache and gets --requests (default 2000).

Usage: python benchmarks/proxy_throughput.py [--project botocore] [--requests 2000]
       [--concurrency 32] [--date 2021-05-01]
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import re
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import bench_support as bs

FORMATS = {
    "json": "application/vnd.pypi.simple.v1+json",
    "html": "text/html",
}
WARMUP = 8


@dataclass
class Load:
    server: str
    fmt: str
    encoding: str
    sent: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    wire_bytes: int = 0
    seconds: float = 0.0
    stopped_by_time: bool = False
    files: int | None = None  # files listed in the page, from one decoded response

    @property
    def ok(self) -> int:
        return self.statuses.get(200, 0)

    def rps(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0

    def pct(self, q: float) -> float | None:
        ok = sorted(self.latencies)
        return bs.percentile(ok, q) * 1000 if ok else None


async def fetch(
    session: aiohttp.ClientSession, url: str, accept: str, encoding: str
) -> tuple[int, bytes]:
    headers = {"Accept": accept, "Accept-Encoding": encoding}
    async with session.get(url, headers=headers, allow_redirects=False) as resp:
        return resp.status, await resp.read()


def count_files(body: bytes, fmt: str) -> int:
    if body[:2] == b"\x1f\x8b":
        body = gzip.decompress(body)
    if fmt == "json":
        return len(json.loads(body)["files"])
    return len(re.findall(rb"<a\s", body))


async def load(
    server: str, url: str, fmt: str, encoding: str, requests: int, concurrency: int,
    time_limit: float,
) -> Load:
    """Fire at most `requests` GETs at `url`, `concurrency` at a time, for at most
    `time_limit` seconds; a few warm-up requests first are not counted."""
    result = Load(server, fmt, encoding)
    accept = FORMATS[fmt]
    timeout = aiohttp.ClientTimeout(total=120)
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(
        connector=connector, timeout=timeout, auto_decompress=False
    ) as session:
        for _ in range(WARMUP):
            status, body = await fetch(session, url, accept, encoding)
            if status != 200:
                raise RuntimeError(f"{server} answered {status} to {url} ({fmt})")
        result.files = count_files(body, fmt)
        remaining = requests
        deadline = time.monotonic() + time_limit

        async def worker() -> None:
            nonlocal remaining
            while remaining > 0:
                if time.monotonic() > deadline:
                    result.stopped_by_time = True
                    return
                remaining -= 1
                result.sent += 1
                start = time.perf_counter()
                try:
                    status, body = await fetch(session, url, accept, encoding)
                except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                    result.errors[type(exc).__name__] += 1
                    continue
                result.statuses[status] += 1
                if status == 200:
                    result.latencies.append(time.perf_counter() - start)
                    result.wire_bytes += len(body)

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        result.seconds = time.perf_counter() - start
    return result


def fmt_ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def report(loads: Sequence[Load]) -> str:
    by = {(x.server, x.fmt, x.encoding): x for x in loads}
    rows = []
    for x in loads:
        snap = by.get(("snapproxy", x.fmt, x.encoding))
        ratio_rps = f"{x.rps() / snap.rps():.3f}x" if snap and snap.rps() else "-"
        p50, snap_p50 = x.pct(50), snap.pct(50) if snap else None
        ratio_p50 = f"{p50 / snap_p50:.1f}x" if p50 and snap_p50 else "-"
        bad = x.sent - x.ok
        rows.append([
            f"{x.server} {x.fmt} {x.encoding}",
            f"{x.ok}/{x.sent}" + (" (time limit)" if x.stopped_by_time else ""),
            str(bad),
            f"{x.rps():.1f}",
            fmt_ms(x.pct(50)),
            fmt_ms(x.pct(99)),
            f"{x.wire_bytes / max(x.ok, 1) / 1024:.0f}",
            str(x.files),
            ratio_rps,
            ratio_p50,
        ])
    headers = ["server, format, Accept-Encoding", "ok/sent", "errors", "req/s", "p50 ms", "p99 ms",
               "KiB/resp", "files", "req/s vs snap", "p50 vs snap"]
    return bs.table(headers, rows)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--project", default="botocore")
    parser.add_argument("--date", default="2021-05-01")
    parser.add_argument("--requests", type=int, default=2000,
                        help="GETs per format at snapproxy (default: 2000)")
    parser.add_argument("--timemachine-requests", type=int, default=100,
                        help="GETs per format at pypi-timemachine (default: 100)")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--time-limit", type=float, default=120.0,
                        help="stop a measurement after this many seconds (default: 120)")
    parser.add_argument("--formats", nargs="+", choices=sorted(FORMATS),
                        default=["json", "html"])
    parser.add_argument("--encodings", nargs="+", choices=["gzip", "identity"],
                        default=["gzip"], help="Accept-Encoding values (default: gzip)")
    parser.add_argument("--timemachine-version", default=None)
    parser.add_argument("--skip-timemachine", action="store_true")
    args = parser.parse_args(argv)
    for name in ("requests", "timemachine_requests", "concurrency"):
        if not 1 <= getattr(args, name) <= 100_000:
            parser.error(f"--{name.replace('_', '-')} must be between 1 and 100000")
    return args


async def run(args: argparse.Namespace, scratch: Path) -> list[Load]:
    cutoff = bs.zulu(bs.cutoff_utc(args.date))
    servers: list[bs.Server] = []
    loads: list[Load] = []
    with bs.stopping(servers):
        snap = bs.start_snapproxy(args.date, scratch, scratch / "snapproxy-cache")
        servers.append(snap)
        targets = [(snap, f"{snap.index_url}{args.project}/", args.requests)]
        if not args.skip_timemachine:
            venv = bs.timemachine_venv(args.timemachine_version)
            tm = bs.start_timemachine(venv, cutoff, scratch)
            servers.append(tm)
            targets.append((tm, f"{tm.index_url}{args.project}/", args.timemachine_requests))
        for fmt in args.formats:
            for encoding in args.encodings:
                for server, url, count in targets:
                    print(f"# {server.name} {fmt} {encoding}: {count} GETs, "
                          f"concurrency {args.concurrency}", file=sys.stderr, flush=True)
                    loads.append(await load(
                        server.name, url, fmt, encoding, count, args.concurrency,
                        args.time_limit,
                    ))
                    if not server.alive():
                        raise RuntimeError(
                            f"{server.name} died under load:\n{server.log_tail()}"
                        )
    return loads


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    facts = bs.machine_facts()
    if not args.skip_timemachine:
        venv = bs.timemachine_venv(args.timemachine_version)
        facts["pypi-timemachine"] = bs.distribution_version(
            venv / "bin" / "python", "pypi-timemachine"
        )
    facts["aiohttp (client)"] = aiohttp.__version__
    facts["target"] = f"/simple/{args.project}/ as of {bs.zulu(bs.cutoff_utc(args.date))}"
    tm_load = "" if args.skip_timemachine else (
        f" / {args.timemachine_requests} GETs (pypi-timemachine)"
    )
    facts["load"] = (f"{args.requests} GETs (snapproxy){tm_load} per format and encoding, "
                     f"concurrency {args.concurrency}, "
                     f"Accept-Encoding: {'/'.join(args.encodings)}, "
                     f"time limit {args.time_limit:.0f}s")
    for key, value in facts.items():
        print(f"# {key}: {value}")
    sys.stdout.flush()
    with tempfile.TemporaryDirectory(prefix="snapproxy-throughput-") as tmp:
        loads = asyncio.run(run(args, Path(tmp)))
    print()
    print(report(loads))
    print("ratios: this row / snapproxy for the same format and encoding "
          "(req/s < 1 and p50 > 1: slower than snapproxy)")
    status = 0
    for x in loads:
        if x.sent != x.ok:
            status = 1
            print(f"NOT OK: {x.server} {x.fmt} {x.encoding}: statuses {dict(x.statuses)}, "
                  f"errors {dict(x.errors)}")
    print(f"# load average at end: {bs.load_average()}")
    return status


if __name__ == "__main__":
    sys.exit(main())
