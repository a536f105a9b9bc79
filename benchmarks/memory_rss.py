"""Resident memory of `snapproxy serve` under many projects, Host values and cutoffs.

A local upstream (loopback only) serves --projects synthetic projects of 2,500 files
(0.8 MB of JSON each) and one of 50,000 files (16.6 MB).  The real CLI runs in front of it
with the given memory budget (default: serve's own, 64 MiB); the script asks for every
small project in JSON and HTML, then the big one under 40 Host values, then under 30
cutoffs, and prints VmRSS and VmHWM (peak) after each phase.

Memory per cached project is the RSS growth over the first --per-project-count projects
(which all fit in the budget) divided by their number; after that the budget evicts the
oldest and RSS should level off.  The bar is issue 8's: with the default budget, RSS
stays under 300 MiB whatever the number of projects, cutoffs, Host values or page sizes.

    python benchmarks/memory_rss.py [--projects 200] [--memory-budget 64MiB] [--json FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_support import (
    dump_json,
    load_average,
    machine_facts,
    process_memory,
    start_snapproxy,
    table,
)
from loop_latency import SIMPLE_JSON, project_page, serve_pages

from snapproxy.memory_budget import parse_size

MIB = 1024 * 1024
RSS_BAR = 300 * MIB  # issue 8, guarantee 3: RSS under 300 MiB with the default budget
SMALL_FILES = 2500
BIG_FILES = 50_000


async def phases(base: str, pid: int, projects: int, per_project_count: int
                 ) -> list[tuple[str, int, dict[str, int]]]:
    """(phase, projects cached so far, VmRSS/VmHWM) after each phase."""
    out = [("started", 0, process_memory(pid))]

    def note(label: str, cached: int) -> None:
        out.append((label, cached, process_memory(pid)))
        rss = out[-1][2]
        print(f"# {label}: RSS {rss['VmRSS'] / MIB:.0f} MiB, peak {rss['VmHWM'] / MIB:.0f} MiB",
              file=sys.stderr, flush=True)

    async with aiohttp.ClientSession() as session:

        async def get(path: str, **headers: str) -> None:
            async with session.get(base + path, headers=headers) as response:
                await response.read()
                assert response.status == 200, (path, response.status)

        # The first project pays for what any first request costs (imports, the worker
        # thread, pools); per-project growth is measured from after it.
        checkpoints = sorted({1, per_project_count, projects} | {
            c for c in (10, 50, 100) if c < projects})
        for n in range(projects):
            for accept in (SIMPLE_JSON, "text/html"):
                await get(f"/simple/p{n}/", Accept=accept)
            if n + 1 in checkpoints:
                note(f"projects: {n + 1}, JSON and HTML", n + 1)
        for n in range(40):
            await get("/simple/big/", Accept=SIMPLE_JSON, Host=f"h{n}.example:8080")
        note("big page under 40 Host values", projects)
        for n in range(30):
            await get(f"/snapshot/2030-01-{n + 1:02d}/simple/big/", Accept=SIMPLE_JSON)
        note("big page under 30 cutoffs", projects)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", type=int, default=200,
                        help="small projects to cache (default: %(default)s)")
    parser.add_argument("--per-project-count", type=int, default=10,
                        help="measure memory per project over the first N projects, which "
                        "must fit in the budget (default: %(default)s)")
    parser.add_argument("--memory-budget", default="64MiB",
                        help="serve's --memory-budget (default: %(default)s, serve's own)")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args(argv)
    if not 2 <= args.per_project_count <= args.projects:
        parser.error("--per-project-count must be between 2 and --projects")
    budget = parse_size(args.memory_budget)  # as serve reads it

    pages = {f"p{n}": project_page(f"p{n}", SMALL_FILES) for n in range(args.projects)}
    small_bytes = len(pages["p0"])
    pages["big"] = project_page("big", BIG_FILES)
    upstream = serve_pages(pages)
    facts = machine_facts()
    for key, value in facts.items():
        print(f"# {key}: {value}")
    with tempfile.TemporaryDirectory() as scratch:
        server = start_snapproxy(
            "2031-01-01",
            Path(scratch),
            Path(scratch) / "cache",
            ["--upstream", upstream, "--files-host", upstream, "-q",
             "--memory-budget", args.memory_budget],
        )
        try:
            got = asyncio.run(phases(server.index_url.removesuffix("/simple/"),
                                     server.proc.pid, args.projects, args.per_project_count))
        finally:
            server.stop()
    facts["load average at end"] = load_average()

    rss = {label: m["VmRSS"] for label, _, m in got}
    by_count = {cached: m["VmRSS"] for label, cached, m in got if label.startswith("projects:")}
    per_project = (by_count[args.per_project_count] - by_count[1]) / (args.per_project_count - 1)
    growth_all = by_count[args.projects] - rss["started"]
    peak = max(m["VmHWM"] for _, _, m in got)
    rows = [[label, f"{m['VmRSS'] / MIB:.0f}", f"{m['VmHWM'] / MIB:.0f}"] for label, _, m in got]
    print(table(["after", "RSS MiB", "peak MiB"], rows))
    print(f"project pages: {SMALL_FILES} files, {small_bytes / 1e6:.2f} MB of JSON each; "
          f"big page: {BIG_FILES} files, {len(pages['big']) / 1e6:.1f} MB")
    print(f"memory per cached project (RSS growth from 1 to {args.per_project_count} "
          f"projects / {args.per_project_count - 1}): {per_project / MIB:.2f} MiB "
          f"({per_project:,.0f} bytes, {per_project / small_bytes:.1f}x the page's JSON)")
    print(f"RSS growth over all {args.projects} projects: {growth_all / MIB:.0f} MiB "
          f"(memory budget {budget / MIB:.0f} MiB: about {budget / max(per_project, 1):.0f} "
          f"such projects fit)")
    verdict = "PASS" if peak < RSS_BAR else "MISS"
    print(f"peak RSS {peak / MIB:.0f} MiB (bar: < {RSS_BAR / MIB:.0f} MiB with the default "
          f"budget, issue 8) {verdict}")
    if args.json is not None:
        dump_json(args.json, {
            "facts": facts,
            "phases": [{"after": label, "projects": cached, "rss_bytes": m["VmRSS"],
                        "peak_bytes": m["VmHWM"]} for label, cached, m in got],
            "page_bytes": small_bytes,
            "per_project_bytes": per_project,
            "per_project_count": args.per_project_count,
            "growth_all_projects_bytes": growth_all,
            "projects": args.projects,
            "budget_bytes": budget,
            "peak_bytes": peak,
            "rss_bar_bytes": RSS_BAR,
            "pass": peak < RSS_BAR,
        })
    return 0


if __name__ == "__main__":
    sys.exit(main())
