"""Resident memory of `snapproxy serve` under many projects, Host values and cutoffs.

A local upstream (loopback only) serves 200 synthetic projects of 2,500 files (0.8 MB of
JSON each) and one of 50,000 files (16.6 MB).  The real CLI runs in front of it with its
default memory budget; the script asks for every small project in JSON and HTML, then
the big one under 40 Host values, then under 30 cutoffs, and prints VmRSS and VmHWM
(peak) after each phase.

    python benchmarks/memory_rss.py
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_support import machine_facts, start_snapproxy
from loop_latency import SIMPLE_JSON, project_page, serve_pages


def memory(pid: int) -> str:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0]) // 1024
    return f"RSS {fields['VmRSS']} MB, peak {fields['VmHWM']} MB"


async def phases(base: str, pid: int) -> None:
    print(f"started: {memory(pid)}")
    async with aiohttp.ClientSession() as session:

        async def get(path: str, **headers: str) -> None:
            async with session.get(base + path, headers=headers) as response:
                await response.read()
                assert response.status == 200, (path, response.status)

        for n in range(200):
            for accept in (SIMPLE_JSON, "text/html"):
                await get(f"/simple/p{n}/", Accept=accept)
        print(f"200 projects, JSON and HTML: {memory(pid)}")
        for n in range(40):
            await get("/simple/big/", Accept=SIMPLE_JSON, Host=f"h{n}.example:8080")
        print(f"big page under 40 Host values: {memory(pid)}")
        for n in range(30):
            await get(f"/snapshot/2030-01-{n + 1:02d}/simple/big/", Accept=SIMPLE_JSON)
        print(f"big page under 30 cutoffs: {memory(pid)}")


def main() -> int:
    pages = {f"p{n}": project_page(f"p{n}", 2500) for n in range(200)}
    pages["big"] = project_page("big", 50_000)
    upstream = serve_pages(pages)
    for key, value in machine_facts().items():
        print(f"# {key}: {value}")
    with tempfile.TemporaryDirectory() as scratch:
        server = start_snapproxy(
            "2031-01-01",
            Path(scratch),
            Path(scratch) / "cache",
            ["--upstream", upstream, "--files-host", upstream, "-q"],
        )
        try:
            asyncio.run(phases(server.index_url.removesuffix("/simple/"), server.proc.pid))
        finally:
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
