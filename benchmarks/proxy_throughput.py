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

With --rounds N every measurement is repeated N times, the formats and encodings
alternating within each round; the table then shows the median over the rounds with the
min-max (pypi-timemachine is measured in the first round only, to keep PyPI's load
bounded). --json FILE writes every measurement and the summary. --baseline CMD adds
another snapproxy (such as an earlier commit's, run by CMD), measured in every round right
after this one, so that a change is judged against the code before it on the same machine
at the same time.

Usage: python benchmarks/proxy_throughput.py [--project botocore] [--requests 2000]
       [--concurrency 32] [--date 2021-05-01] [--rounds 1] [--json FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import re
import shlex
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
    round: int = 1
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
    time_limit: float, rnd: int = 1,
) -> Load:
    """Fire at most `requests` GETs at `url`, `concurrency` at a time, for at most
    `time_limit` seconds; a few warm-up requests first are not counted."""
    result = Load(server, fmt, encoding, rnd)
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


def fmt_spread(values: Sequence[float], fmt: str) -> str:
    """`median (min-max)`, or the value alone when there is one."""
    if not values:
        return "-"
    mid = bs.median(values) or 0.0
    if len(values) == 1:
        return format(mid, fmt)
    return f"{mid:{fmt}} ({min(values):{fmt}}-{max(values):{fmt}})"


Key = tuple[str, str, str]


def grouped(loads: Sequence[Load]) -> dict[Key, list[Load]]:
    """Measurements by (server, format, encoding), in first-seen order."""
    out: dict[Key, list[Load]] = {}
    for x in loads:
        out.setdefault((x.server, x.fmt, x.encoding), []).append(x)
    return out


def summary(loads: Sequence[Load]) -> list[dict[str, object]]:
    """Per server, format and encoding: req/s, p50 and p99 over the rounds (for --json)."""
    out: list[dict[str, object]] = []
    for (server, fmt, encoding), xs in grouped(loads).items():
        out.append({
            "server": server, "format": fmt, "encoding": encoding, "rounds": len(xs),
            "rps": bs.spread([x.rps() for x in xs]),
            "p50_ms": bs.spread([p for x in xs if (p := x.pct(50)) is not None]),
            "p99_ms": bs.spread([p for x in xs if (p := x.pct(99)) is not None]),
            "ok": sum(x.ok for x in xs), "sent": sum(x.sent for x in xs),
            "files": xs[0].files,
        })
    return out


def report(loads: Sequence[Load]) -> str:
    groups = grouped(loads)
    rps = {k: bs.median([x.rps() for x in xs]) or 0.0 for k, xs in groups.items()}
    p50 = {k: bs.median([p for x in xs if (p := x.pct(50)) is not None])
           for k, xs in groups.items()}
    rows = []
    for key, xs in groups.items():
        server, fmt, encoding = key
        snap_key = ("snapproxy", fmt, encoding)
        snap_rps, snap_p50 = rps.get(snap_key), p50.get(snap_key)
        ratio_rps = f"{rps[key] / snap_rps:.3f}x" if snap_rps else "-"
        mine = p50[key]
        ratio_p50 = f"{mine / snap_p50:.1f}x" if mine and snap_p50 else "-"
        ok, sent = sum(x.ok for x in xs), sum(x.sent for x in xs)
        timed_out = any(x.stopped_by_time for x in xs)
        rows.append([
            f"{server} {fmt} {encoding}",
            str(len(xs)),
            f"{ok}/{sent}" + (" (time limit)" if timed_out else ""),
            str(sent - ok),
            fmt_spread([x.rps() for x in xs], ".1f"),
            fmt_spread([p for x in xs if (p := x.pct(50)) is not None], ".1f"),
            fmt_spread([p for x in xs if (p := x.pct(99)) is not None], ".1f"),
            f"{sum(x.wire_bytes for x in xs) / max(ok, 1) / 1024:.0f}",
            str(xs[0].files),
            ratio_rps,
            ratio_p50,
        ])
    headers = ["server, format, Accept-Encoding", "rounds", "ok/sent", "errors", "req/s",
               "p50 ms", "p99 ms", "KiB/resp", "files", "req/s vs snap", "p50 vs snap"]
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
    parser.add_argument("--baseline", default=None,
                        help="command that runs another snapproxy, measured in the same "
                        "rounds, e.g. 'python /tmp/before/snapproxy_before.py'")
    parser.add_argument("--rounds", type=int, default=1,
                        help="repeat every measurement this many times (default: 1)")
    parser.add_argument("--json", type=Path, default=None,
                        help="also write every measurement and the summary here")
    bs.add_load_options(parser)
    args = parser.parse_args(argv)
    if not 1 <= args.rounds <= 100:
        parser.error("--rounds must be between 1 and 100")
    for name in ("requests", "timemachine_requests", "concurrency"):
        if not 1 <= getattr(args, name) <= 100_000:
            parser.error(f"--{name.replace('_', '-')} must be between 1 and 100000")
    return args


async def run(args: argparse.Namespace, scratch: Path) -> tuple[list[Load], str]:
    """Every measurement, and the load averages when the timed rounds started."""
    cutoff = bs.zulu(bs.cutoff_utc(args.date))
    servers: list[bs.Server] = []
    loads: list[Load] = []
    with bs.stopping(servers):
        snap = bs.start_snapproxy(args.date, scratch, scratch / "snapproxy-cache")
        servers.append(snap)
        targets = [(snap, f"{snap.index_url}{args.project}/", args.requests)]
        if args.baseline:
            base = bs.start_snapproxy(args.date, scratch, scratch / "baseline-cache",
                                      command=shlex.split(args.baseline), name="baseline")
            servers.append(base)
            targets.append((base, f"{base.index_url}{args.project}/", args.requests))
        if not args.skip_timemachine:
            venv = bs.timemachine_venv(args.timemachine_version)
            tm = bs.start_timemachine(venv, cutoff, scratch)
            servers.append(tm)
            targets.append((tm, f"{tm.index_url}{args.project}/", args.timemachine_requests))
        load_start = bs.wait_for_quiet(args.max_load, args.load_wait)
        for rnd in range(1, args.rounds + 1):
            for fmt in args.formats:
                for encoding in args.encodings:
                    for server, url, count in targets:
                        if server.name == "pypi-timemachine" and rnd > 1:
                            continue
                        print(f"# round {rnd}: {server.name} {fmt} {encoding}: {count} GETs, "
                              f"concurrency {args.concurrency}", file=sys.stderr, flush=True)
                        loads.append(await load(
                            server.name, url, fmt, encoding, count, args.concurrency,
                            args.time_limit, rnd,
                        ))
                        if not server.alive():
                            raise RuntimeError(
                                f"{server.name} died under load:\n{server.log_tail()}"
                            )
    return loads, load_start


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    facts = bs.machine_facts()
    if not args.skip_timemachine:
        venv = bs.timemachine_venv(args.timemachine_version)
        facts["pypi-timemachine"] = bs.distribution_version(
            venv / "bin" / "python", "pypi-timemachine"
        )
    facts["aiohttp (client)"] = aiohttp.__version__
    facts["baseline"] = args.baseline or "none"
    facts["target"] = f"/simple/{args.project}/ as of {bs.zulu(bs.cutoff_utc(args.date))}"
    tm_load = "" if args.skip_timemachine else (
        f" / {args.timemachine_requests} GETs (pypi-timemachine)"
    )
    facts["load"] = (f"{args.requests} GETs (snapproxy){tm_load} per format and encoding, "
                     f"{args.rounds} round(s), concurrency {args.concurrency}, "
                     f"Accept-Encoding: {'/'.join(args.encodings)}, "
                     f"time limit {args.time_limit:.0f}s")
    for key, value in facts.items():
        print(f"# {key}: {value}")
    sys.stdout.flush()
    with tempfile.TemporaryDirectory(prefix="snapproxy-throughput-") as tmp:
        loads, load_start = asyncio.run(run(args, Path(tmp)))
    print(f"# load average when timing started: {load_start}")
    print()
    print(report(loads))
    if args.rounds > 1:
        print(f"req/s, p50 and p99: median over {args.rounds} rounds (min-max)")
    print("ratios: this row / snapproxy for the same format and encoding "
          "(req/s < 1 and p50 > 1: slower than snapproxy)")
    status = 0
    for x in loads:
        if x.sent != x.ok:
            status = 1
            print(f"NOT OK: {x.server} {x.fmt} {x.encoding}: statuses {dict(x.statuses)}, "
                  f"errors {dict(x.errors)}")
    facts["load average when timing started"] = load_start
    facts["load average at end"] = bs.load_average()
    if args.json is not None:
        bs.dump_json(args.json, {
            "facts": facts,
            "loads": [{
                "server": x.server, "format": x.fmt, "encoding": x.encoding,
                "round": x.round, "ok": x.ok, "sent": x.sent, "errors": dict(x.errors),
                "statuses": {str(k): v for k, v in x.statuses.items()},
                "rps": x.rps(), "p50_ms": x.pct(50), "p99_ms": x.pct(99),
                "seconds": x.seconds, "files": x.files,
                "kib_per_response": x.wire_bytes / max(x.ok, 1) / 1024,
            } for x in loads],
            "summary": summary(loads),
            "failed": status != 0,
        })
    print(f"# load average at end: {facts['load average at end']}")
    return status


if __name__ == "__main__":
    sys.exit(main())
