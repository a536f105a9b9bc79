"""Filtering and rendering a page against the parse + dump floor of the same page.

For each project (real pages from the index, fetched once), interleaved rounds time:

* floor: ``json.loads`` + ``json.dumps`` of the upstream page (what any JSON proxy pays);
* json / html: what snapproxy does per request under a new cutoff once the page is
  parsed (``snapshot_stream`` with the page's facts, rendered to JSON or HTML bytes);
* first: what the first request of an upstream copy adds (parsing with the project's
  parser and working out the page's facts);
* first json / first html: the whole first request of an upstream copy, parse + facts +
  filter + render, timed as one piece; the fair match for the floor, which parses too.

    python benchmarks/filtering.py [--rounds 15] [--cutoff 2023-06-01] [--json FILE]
        botocore boto3 pillow

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
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench_support import (
    add_load_options,
    dump_json,
    load_average,
    machine_facts,
    median,
    spread,
    table,
    wait_for_quiet,
)

from snapproxy import json_pieces
from snapproxy.cutoff import parse_cutoff
from snapproxy.documents import parse_project_page
from snapproxy.simple_html import render_project
from snapproxy.simple_page import page_facts, snapshot_stream
from snapproxy.snapshot import Snapshot

SIMPLE_JSON = "application/vnd.pypi.simple.v1+json"
INDEX = "https://pypi.org/simple/"
CASES = ("floor", "json", "html", "first", "first json", "first html")


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

    def stream(parsed: Any = page, kept: Any = facts) -> dict[str, Any]:
        return snapshot_stream(parsed, snapshot, page_url=page_url, url_for=url_for,
                               facts=kept)

    def first() -> tuple[Any, Any]:
        parsed = parse_project_page(body)
        return parsed, page_facts(parsed)

    cases: dict[str, Callable[[], object]] = {
        "floor": lambda: json.dumps(json.loads(body), separators=(",", ":"), ensure_ascii=False),
        "json": lambda: json_pieces.dumps(stream()).encode(),
        "html": lambda: render_project(stream()).encode(),
        "first": lambda: page_facts(parse_project_page(body)),
        "first json": lambda: json_pieces.dumps(stream(*first())).encode(),
        "first html": lambda: render_project(stream(*first())).encode(),
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
    parser.add_argument("--json", type=Path, default=None,
                        help="also write every case's times and ratios here")
    add_load_options(parser)
    args = parser.parse_args(argv)
    snapshot = Snapshot(parse_cutoff(args.cutoff))
    bodies = {project: fetch_page(project) for project in args.projects}
    load_start = wait_for_quiet(args.max_load, args.load_wait)
    rows = []
    pages = []
    for project, body in bodies.items():
        times = measure(project, body, snapshot, args.rounds)
        floor = median(times["floor"]) or 1.0
        row = [f"{project} ({len(body) / 1e6:.1f} MB)"]
        for name in CASES:
            values = times[name]
            mid = median(values) or 0.0
            ratio = "" if name == "floor" else f" {mid / floor:.2f}x"
            row.append(f"{mid:.1f} ({min(values):.1f}-{max(values):.1f}){ratio}")
        rows.append(row)
        pages.append({
            "project": project,
            "bytes": len(body),
            "ms": {name: spread(times[name]) for name in CASES},
            "ratio_to_floor": {name: (median(times[name]) or 0.0) / floor
                               for name in CASES if name != "floor"},
        })
    facts = machine_facts()
    facts["load average at start"] = load_start
    facts["load average at end"] = load_average()
    for key, value in facts.items():
        print(f"# {key}: {value}")
    print(f"# cutoff {args.cutoff}; {args.rounds} interleaved rounds; ms, median (min-max)")
    headers = ["page", "floor: loads+dumps", "json", "html", "first request adds",
               "first json", "first html"]
    print(table(headers, rows))
    print("per cutoff (json, html): filter + render of a parsed page; first json/html: "
          "parse + facts + filter + render; ratios to the floor")
    if args.json is not None:
        dump_json(args.json, {"facts": facts, "cutoff": args.cutoff, "rounds": args.rounds,
                              "pages": pages})
    return 0


if __name__ == "__main__":
    sys.exit(main())
