"""How snapproxy's cost grows: with files on a page, projects in a resolution, cutoffs served.

Three parts, each in interleaved rounds (median and min-max over the rounds):

a. Files on a page. A local upstream on loopback serves synthetic project pages of
   100, 1,000, 10,000 and 100,000 files (`--sizes`); the real `snapproxy serve` runs in
   front of it (a fresh server and cache directory per round, `--max-page-size 256MiB`
   and `--memory-budget 1GiB` so that the largest page is accepted and stays in memory:
   with serve's defaults a 100,000-file page, about 40 MB, gets a 502). Per page size
   and round: the first request (fetch from the upstream, parse, work out the page's
   facts, filter, render, gzip, store), a request under a cutoff not served yet (filter
   and render the parsed page), and a warm hit (the same request again; median of 5).
   PEP 691 JSON with `Accept-Encoding: gzip`, timed at the client, in ms and in ms per
   1,000 files. Every file of a page has its own upload instant, and each new cutoff
   leaves out a different number of the newest files, so no two cutoffs share a result.
b. Projects in a resolution. pip (`install --dry-run --report`) and uv (`pip compile`)
   resolve three requirement sets as of 2021-05-01 through one warm `snapproxy serve`
   (real PyPI upstream; every set resolved once, untimed, before the rounds): `six`
   (1 project), `requests httpx` (10) and proxy_resolution.py's default set (45). Seconds
   and seconds per project, and the marginal cost of a project between the smallest and
   the largest set. Every run's versions are compared with the first run of its set.
c. Cutoffs served. A fresh server (serve's default memory budget) gets one page of
   10,000 files (`--cutoff-page-files`), then 1, 10 or 100 cutoffs it has not served
   (`--cutoff-counts`). Per count: ms per new cutoff (median over the count, then over
   the rounds) and the server's RSS growth from after the first request to after the
   last cutoff, in all and per cutoff.

    python benchmarks/scaling.py [--rounds 3] [--parts a b c] [--json FILE]

Only 127.0.0.1 and PyPI are contacted (part b only). Exit status 1 if a request or a
resolution fails or two resolutions of the same set differ.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_support as bs
import proxy_resolution as pr
from loop_latency import SIMPLE_JSON, serve_pages

MIB = 1024 * 1024
FIRST_UPLOAD = datetime(2010, 1, 1, tzinfo=timezone.utc)
UPLOAD_STEP = timedelta(minutes=10)
SERVE_DATE = "2020-01-01"  # after every synthetic upload (and in the past): keeps all
WARM_HITS = 5
RESOLUTION_DATE = "2021-05-01"
# 1, 10 and 45 projects as of 2021-05-01 (the counts are checked from what was resolved).
PROJECT_SETS: dict[str, tuple[str, ...]] = {
    "six": ("six",),
    "requests httpx": ("requests", "httpx"),
    "proxy_resolution default": pr.DEFAULT_REQUIREMENTS,
}


class Failure(Exception):
    """A request or resolution failed: the figures mean nothing (exit status 1)."""


# -- synthetic pages ---------------------------------------------------------------------


def upload_instant(n: int) -> datetime:
    return FIRST_UPLOAD + n * UPLOAD_STEP


def synthetic_page(name: str, files: int) -> bytes:
    """A PEP 691 page of ``files`` wheels, file n uploaded at FIRST_UPLOAD + n steps."""
    entries = []
    for n in range(files):
        filename = f"{name}-1.{n}-py3-none-any.whl"
        entries.append({
            "filename": filename,
            "url": f"http://127.0.0.1:1/packages/{filename}",
            "hashes": {"sha256": hashlib.sha256(filename.encode()).hexdigest()},
            "requires-python": ">=3.8",
            "size": 1000 + n,
            "upload-time": upload_instant(n).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "yanked": False,
            "core-metadata": False,
        })
    doc = {"meta": {"api-version": "1.1"}, "name": name, "files": entries, "versions": []}
    return json.dumps(doc).encode()


def cutoff_dropping(files: int, k: int) -> str:
    """A cutoff that keeps all but the newest ``k`` files of a ``files``-file page."""
    return bs.zulu(upload_instant(files - k) - UPLOAD_STEP / 2)


# -- requests ----------------------------------------------------------------------------


async def timed_get(session: aiohttp.ClientSession, url: str) -> float:
    """One GET as pip and uv send it; ms until the whole (compressed) body is read."""
    start = time.perf_counter()
    async with session.get(
        url, headers={"Accept": SIMPLE_JSON, "Accept-Encoding": "gzip"}
    ) as response:
        await response.read()
        if response.status != 200:
            raise Failure(f"{url}: {response.status}")
    return (time.perf_counter() - start) * 1000


def new_session() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(auto_decompress=False,
                                 timeout=aiohttp.ClientTimeout(total=300))


def fmt_spread(values: Sequence[float], fmt: str = ".1f") -> str:
    if not values:
        return "-"
    mid = bs.median(values) or 0.0
    return f"{mid:{fmt}} ({min(values):{fmt}}-{max(values):{fmt}})"


def rotated(items: Sequence[int], rnd: int) -> list[int]:
    """The items, starting one further on each round, so no size always goes first."""
    shift = rnd % len(items)
    return [*items[shift:], *items[:shift]]


# -- a. files on a page ------------------------------------------------------------------


@dataclass
class PageTimes:
    first: list[float] = field(default_factory=list)
    new_cutoff: list[float] = field(default_factory=list)
    warm: list[float] = field(default_factory=list)


async def page_round(base: str, sizes: Sequence[int], rnd: int,
                     times: dict[int, PageTimes]) -> None:
    async with new_session() as session:
        for files in rotated(sizes, rnd):
            name = f"s{files}r{rnd}"
            url = f"{base}/simple/{name}/"
            times[files].first.append(await timed_get(session, url))
            cutoff = cutoff_dropping(files, rnd)
            times[files].new_cutoff.append(
                await timed_get(session, f"{base}/snapshot/{cutoff}/simple/{name}/"))
            hits = [await timed_get(session, url) for _ in range(WARM_HITS)]
            times[files].warm.append(bs.median(hits) or 0.0)


def part_a(args: argparse.Namespace, scratch: Path) -> tuple[str, list[dict[str, object]]]:
    pages = {f"s{files}r{rnd}": synthetic_page(f"s{files}r{rnd}", files)
             for files in args.sizes for rnd in range(1, args.rounds + 1)}
    sizes_bytes = {files: len(pages[f"s{files}r1"]) for files in args.sizes}
    upstream = serve_pages(pages)
    times = {files: PageTimes() for files in args.sizes}
    load = bs.wait_for_quiet(args.max_load, args.load_wait)
    for rnd in range(1, args.rounds + 1):
        workdir = scratch / f"a{rnd}"
        server = bs.start_snapproxy(
            SERVE_DATE, workdir, workdir / "cache",
            ["--upstream", upstream, "--files-host", upstream, "-q",
             "--max-page-size", "256MiB", "--memory-budget", "1GiB"])
        with bs.stopping([server]):
            asyncio.run(page_round(server.index_url.removesuffix("/simple/"), args.sizes,
                                   rnd, times))
        shutil.rmtree(workdir, ignore_errors=True)
        print(f"# a, round {rnd}: " + ", ".join(
            f"{f} files {times[f].first[-1]:.0f}/{times[f].new_cutoff[-1]:.0f}/"
            f"{times[f].warm[-1]:.1f} ms" for f in args.sizes), file=sys.stderr, flush=True)
    rows, out = [], []
    for files in args.sizes:
        t = times[files]
        per_k = files / 1000
        row = [f"{files:,}", f"{sizes_bytes[files] / 1e6:.2f}"]
        for values in (t.first, t.new_cutoff, t.warm):
            row += [fmt_spread(values), f"{(bs.median(values) or 0.0) / per_k:.2f}"]
        rows.append(row)
        out.append({"files": files, "page_bytes": sizes_bytes[files],
                    "first_ms": bs.spread(t.first), "new_cutoff_ms": bs.spread(t.new_cutoff),
                    "warm_ms": bs.spread(t.warm)})
    headers = ["files", "JSON MB", "first request ms", "/1k files", "new cutoff ms",
               "/1k files", "warm hit ms", "/1k files"]
    text = (f"a. Files on a page: ms per request at the client, median (min-max) over "
            f"{args.rounds} round(s); load when timing started {load}\n"
            + bs.table(headers, rows))
    return text, out


# -- b. projects in a resolution ---------------------------------------------------------


def part_b(args: argparse.Namespace, scratch: Path) -> tuple[str, list[dict[str, object]]]:
    cutoff = bs.zulu(bs.cutoff_utc(RESOLUTION_DATE))
    pip_python = bs.pip_venv(args.pip_version) / "bin" / "python"
    uv = bs.uv_binary(args.uv_version)
    seen = bs.pip_sees_no_config(pip_python)
    if seen:
        raise SystemExit(f"the isolated pip still sees configuration:\n{seen}")
    setups: dict[str, pr.Setup] = {}
    for label, requirements in PROJECT_SETS.items():
        req_file = scratch / f"requirements-{len(setups)}.txt"
        req_file.write_text("\n".join(requirements) + "\n")
        setups[label] = pr.Setup(
            pip_python=pip_python, uv=uv, python=bs.base_python(), requirements_file=req_file,
            cutoff=cutoff, date_arg=RESOLUTION_DATE, only_binary=True, scratch=scratch)
    resolvers = {"pip": pr.pip_resolve, "uv": pr.uv_resolve}
    clients = [c for c in ("pip", "uv") if c in args.clients]
    runs: dict[tuple[str, str], list[pr.Run]] = {}
    reference: dict[str, pr.Resolution] = {}
    problems: list[str] = []

    def check(label: str, client: str, run: pr.Run) -> None:
        if not run.ok:
            problems.append(f"{client} {label} (round {run.round}) FAILED: {run.error}")
        elif reference.setdefault(label, run.resolved) != run.resolved:
            problems.append(f"MISMATCH {client} {label} (round {run.round}): "
                            f"{sorted(set(run.resolved.items()) ^ set(reference[label].items()))}")

    cache = scratch / "b-cache"
    server = bs.start_snapproxy(RESOLUTION_DATE, scratch, cache)
    with bs.stopping([server]):
        for label, setup in setups.items():  # untimed: fills the proxy's disk and memory
            for client in clients:
                check(label, client, resolvers[client](setup, "warm-up", 0, server.index_url,
                                                       False))
        load = bs.wait_for_quiet(args.max_load, args.load_wait)
        labels = list(setups)
        for rnd in range(1, args.rounds + 1):
            for i in rotated(range(len(labels)), rnd):
                label = labels[i]
                for client in clients:
                    run = resolvers[client](setups[label], label, rnd, server.index_url, False)
                    check(label, client, run)
                    runs.setdefault((label, client), []).append(run)
            print(f"# b, round {rnd}: " + ", ".join(
                f"{client} {label} {rs[-1].seconds:.2f}s" for (label, client), rs in runs.items()),
                file=sys.stderr, flush=True)
            if not server.alive():
                raise Failure(f"snapproxy died:\n{server.log_tail()}")
    if problems:
        raise Failure("\n".join(problems))

    rows, out = [], []
    for client in clients:
        per_set = []
        for label in labels:
            seconds = [r.seconds for r in runs[(label, client)]]
            projects = len(reference[label])
            mid = bs.median(seconds) or 0.0
            per_set.append((projects, mid))
            rows.append([f"{client} {label}", str(projects), fmt_spread(seconds, ".2f"),
                         f"{mid / projects:.3f}"])
            out.append({"client": client, "set": label, "projects": projects,
                        "seconds": bs.spread(seconds)})
        (p0, t0), (p1, t1) = per_set[0], per_set[-1]
        if p1 > p0:
            rows.append([f"{client}: each project beyond the first", "", "",
                         f"{(t1 - t0) / (p1 - p0):.3f}"])
    text = (f"b. Projects in a resolution through a warm snapproxy (as of {cutoff}): "
            f"seconds, median (min-max) over {args.rounds} round(s); load when timing "
            f"started {load}\n"
            + bs.table(["client, requirements", "projects", "seconds", "s per project"],
                       rows))
    return text, out


# -- c. cutoffs served -------------------------------------------------------------------


@dataclass
class CutoffTimes:
    per_cutoff_ms: list[float] = field(default_factory=list)
    growth: list[int] = field(default_factory=list)
    rss_after: list[int] = field(default_factory=list)


async def cutoff_round(base: str, pid: int, files: int, count: int) -> tuple[float, int, int]:
    """Median ms per new cutoff, RSS growth over the cutoffs, RSS after them."""
    async with new_session() as session:
        url = f"{base}/simple/page/"
        await timed_get(session, url)
        await timed_get(session, url)
        before = bs.process_memory(pid)["VmRSS"]
        times = [await timed_get(session, f"{base}/snapshot/{cutoff_dropping(files, k)}"
                                          f"/simple/page/")
                 for k in range(1, count + 1)]
        after = bs.process_memory(pid)["VmRSS"]
    return bs.median(times) or 0.0, after - before, after


def part_c(args: argparse.Namespace, scratch: Path) -> tuple[str, list[dict[str, object]]]:
    files = args.cutoff_page_files
    if max(args.cutoff_counts) >= files:
        raise SystemExit("--cutoff-counts must stay below --cutoff-page-files")
    page = synthetic_page("page", files)
    upstream = serve_pages({"page": page})
    results = {count: CutoffTimes() for count in args.cutoff_counts}
    load = bs.wait_for_quiet(args.max_load, args.load_wait)
    for rnd in range(1, args.rounds + 1):
        for count in rotated(args.cutoff_counts, rnd):
            workdir = scratch / f"c{rnd}-{count}"
            server = bs.start_snapproxy(
                SERVE_DATE, workdir, workdir / "cache",
                ["--upstream", upstream, "--files-host", upstream, "-q"])
            with bs.stopping([server]):
                ms, growth, after = asyncio.run(cutoff_round(
                    server.index_url.removesuffix("/simple/"), server.proc.pid, files, count))
            shutil.rmtree(workdir, ignore_errors=True)
            results[count].per_cutoff_ms.append(ms)
            results[count].growth.append(growth)
            results[count].rss_after.append(after)
        print(f"# c, round {rnd}: " + ", ".join(
            f"{c} cutoffs {r.per_cutoff_ms[-1]:.1f} ms, +{r.growth[-1] / MIB:.0f} MiB"
            for c, r in results.items()), file=sys.stderr, flush=True)
    rows, out = [], []
    for count, r in results.items():
        growth_mib = [g / MIB for g in r.growth]
        rows.append([str(count), fmt_spread(r.per_cutoff_ms), fmt_spread(growth_mib),
                     f"{(bs.median(r.growth) or 0) / count / 1024:.0f}",
                     fmt_spread([a / MIB for a in r.rss_after], ".0f")])
        out.append({"cutoffs": count, "per_cutoff_ms": bs.spread(r.per_cutoff_ms),
                    "rss_growth_bytes": bs.spread([float(g) for g in r.growth]),
                    "rss_after_bytes": bs.spread([float(a) for a in r.rss_after])})
    text = (f"c. Cutoffs served on one page of {files:,} files ({len(page) / 1e6:.1f} MB), "
            f"serve's default memory budget: median (min-max) over {args.rounds} round(s); "
            f"load when timing started {load}\n"
            + bs.table(["new cutoffs", "ms per new cutoff", "RSS growth MiB",
                        "KiB per cutoff", "RSS after MiB"], rows))
    return text, out


# -- main --------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="rounds (default: 3)")
    parser.add_argument("--parts", nargs="+", choices=["a", "b", "c"], default=["a", "b", "c"])
    parser.add_argument("--sizes", nargs="+", type=int,
                        default=[100, 1000, 10_000, 100_000], help="a: files per page")
    parser.add_argument("--clients", nargs="+", choices=["pip", "uv"], default=["pip", "uv"],
                        help="b: resolvers")
    parser.add_argument("--sets", type=int, default=len(PROJECT_SETS),
                        help="b: use the first N requirement sets (1, 10, 45 projects)")
    parser.add_argument("--cutoff-counts", nargs="+", type=int, default=[1, 10, 100],
                        help="c: new cutoffs per server")
    parser.add_argument("--cutoff-page-files", type=int, default=10_000)
    parser.add_argument("--pip-version", default="26.3")
    parser.add_argument("--uv-version", default=None, help="default: latest on PyPI")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    bs.add_load_options(parser)
    args = parser.parse_args(argv)
    if args.rounds < 1 or min(args.sizes) < 1 or min(args.cutoff_counts) < 1:
        parser.error("--rounds, --sizes and --cutoff-counts must be positive")
    if not 1 <= args.sets <= len(PROJECT_SETS):
        parser.error(f"--sets must be between 1 and {len(PROJECT_SETS)}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    for label in list(PROJECT_SETS)[args.sets:]:
        del PROJECT_SETS[label]
    facts = bs.machine_facts()
    facts["rounds"] = str(args.rounds)
    for key, value in facts.items():
        print(f"# {key}: {value}", flush=True)
    report: dict[str, object] = {"facts": facts}
    texts = []
    status = 0
    parts = {"a": ("pages", part_a), "b": ("resolution", part_b), "c": ("cutoffs", part_c)}
    with tempfile.TemporaryDirectory(prefix="snapproxy-scaling-") as tmp:
        for part in args.parts:
            key, run = parts[part]
            started = time.monotonic()
            try:
                text, data = run(args, Path(tmp))
            except (Failure, RuntimeError) as exc:
                status = 1
                text, data = f"{part}. FAILED: {exc}", []
                report[f"{key}_error"] = str(exc)
            report[key] = data
            texts.append(text)
            print(f"# part {part} took {time.monotonic() - started:.0f}s", file=sys.stderr,
                  flush=True)
    print()
    print("\n\n".join(texts))
    facts["load average at end"] = bs.load_average()
    print(f"# load average at end: {facts['load average at end']}")
    report["failed"] = bool(status)
    if args.json is not None:
        bs.dump_json(args.json, report)
    return status


if __name__ == "__main__":
    sys.exit(main())
