"""Filtering and rendering a page against the parse + dump floor of the same page.

For each project (real pages from the index, fetched once), interleaved rounds time:

* floor: ``json.loads`` + ``json.dumps`` of the upstream page (what any JSON proxy pays);
* json / html: what snapproxy does per request under a new cutoff once the page is
  parsed (``snapshot_stream`` with the page's facts, rendered to JSON or HTML bytes);
* first: what the first request of an upstream copy adds (parsing with the project's
  parser and working out the page's facts).

    python benchmarks/filtering.py [--rounds 15] [--cutoff 2023-06-01] botocore boto3 pillow

Prints medians, min-max and the ratios to the floor.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench_support import machine_facts, median, table

from snapproxy import json_pieces
from snapproxy.cutoff import parse_cutoff
from snapproxy.documents import parse_project_page
from snapproxy.simple_html import render_project
from snapproxy.simple_page import page_facts, snapshot_stream
from snapproxy.snapshot import Snapshot

SIMPLE_JSON = "application/vnd.pypi.simple.v1+json"
INDEX = "https://pypi.org/simple/"


def fetch_page(project: str) -> bytes:
    request = urllib.request.Request(f"{INDEX}{project}/", headers={"Accept": SIMPLE_JSON})
    with urllib.request.urlopen(request, timeout=60) as reply:
        body: bytes = reply.read()
    return body


def timed(work: Callable[[], object]) -> float:
    start = time.perf_counter()
    work()
    return (time.perf_counter() - start) * 1000


def measure(project: str, body: bytes, snapshot: Snapshot, rounds: int) -> dict[str, list[float]]:
    page = parse_project_page(body)
    facts = page_facts(page)
    page_url = f"{INDEX}{project}/"

    def url_for(f: dict[str, object]) -> str:
        return f"../../files/{project}/{f['filename']}"

    def stream() -> dict[str, object]:
        return snapshot_stream(page, snapshot, page_url=page_url, url_for=url_for, facts=facts)

    cases: dict[str, Callable[[], object]] = {
        "floor": lambda: json.dumps(json.loads(body), separators=(",", ":"), ensure_ascii=False),
        "json": lambda: json_pieces.dumps(stream()).encode(),
        "html": lambda: render_project(stream()).encode(),
        "first": lambda: page_facts(parse_project_page(body)),
    }
    times: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(rounds):
        for name, work in cases.items():  # interleaved: every case once per round
            times[name].append(timed(work))
    return times


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("projects", nargs="*", default=["botocore", "boto3", "pillow"])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--cutoff", default="2023-06-01")
    args = parser.parse_args(argv)
    snapshot = Snapshot(parse_cutoff(args.cutoff))
    rows = []
    for project in args.projects:
        body = fetch_page(project)
        times = measure(project, body, snapshot, args.rounds)
        floor = median(times["floor"]) or 1.0
        row = [f"{project} ({len(body) / 1e6:.1f} MB)"]
        for name in ("floor", "json", "html", "first"):
            values = times[name]
            mid = median(values) or 0.0
            ratio = "" if name == "floor" else f" {mid / floor:.2f}x"
            row.append(f"{mid:.1f} ({min(values):.1f}-{max(values):.1f}){ratio}")
        rows.append(row)
    for key, value in machine_facts().items():
        print(f"# {key}: {value}")
    print(f"# cutoff {args.cutoff}; {args.rounds} interleaved rounds; ms, median (min-max)")
    headers = ["page", "floor: loads+dumps", "json", "html", "first request adds"]
    print(table(headers, rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
