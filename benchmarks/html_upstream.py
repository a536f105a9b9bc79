"""Reading a project page that upstream serves as PEP 503 HTML against the same page as
PEP 691 JSON (private indexes often serve only HTML).

For each project (its real pages from the index, fetched once in each form), interleaved
rounds time ``snapproxy.documents.parse_project_page`` on the JSON body and on the HTML
body: what the first request of an upstream copy pays to read it.

    python benchmarks/html_upstream.py [--rounds 15] [--json FILE] boto3 pillow requests

Prints medians, min-max and the HTML/JSON ratio.
"""

from __future__ import annotations

import argparse
import sys
import time
import urllib.request
from collections.abc import Sequence
from pathlib import Path

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

from snapproxy.documents import parse_project_page

INDEX = "https://pypi.org/simple/"
FORMS = {
    "json": "application/vnd.pypi.simple.v1+json",
    "html": "application/vnd.pypi.simple.v1+html",
}


def fetch_page(project: str, accept: str) -> bytes:
    request = urllib.request.Request(f"{INDEX}{project}/", headers={"Accept": accept})
    with urllib.request.urlopen(request, timeout=60) as reply:
        body: bytes = reply.read()
    return body


def measure(bodies: dict[str, bytes], rounds: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {form: [] for form in bodies}
    for _ in range(rounds):
        for form, body in bodies.items():  # interleaved: each form once per round
            start = time.perf_counter()
            parse_project_page(body)
            times[form].append((time.perf_counter() - start) * 1000)
    return times


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("projects", nargs="*", default=["boto3", "pillow", "requests"])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--json", type=Path, default=None, help="also write the times here")
    add_load_options(parser)
    args = parser.parse_args(argv)
    pages = {p: {form: fetch_page(p, accept) for form, accept in FORMS.items()}
             for p in args.projects}
    load_start = wait_for_quiet(args.max_load, args.load_wait)
    rows, results = [], []
    for project, bodies in pages.items():
        times = measure(bodies, args.rounds)
        files = len(parse_project_page(bodies["json"])["files"])
        mids = {form: median(values) or 0.0 for form, values in times.items()}
        row = [f"{project} ({files} files)"]
        for form, values in times.items():
            size = len(bodies[form]) / 1e6
            row.append(f"{mids[form]:.1f} ({min(values):.1f}-{max(values):.1f}), {size:.2f} MB")
        row.append(f"{mids['html'] / (mids['json'] or 1.0):.1f}x")
        rows.append(row)
        results.append({"project": project, "files": files,
                        "bytes": {form: len(body) for form, body in bodies.items()},
                        "ms": {form: spread(values) for form, values in times.items()}})
    facts = machine_facts()
    facts["load average at start"] = load_start
    facts["load average at end"] = load_average()
    for key, value in facts.items():
        print(f"# {key}: {value}")
    print(f"# {args.rounds} interleaved rounds; ms, median (min-max)")
    print(table(["page", "JSON", "HTML", "HTML/JSON"], rows))
    if args.json is not None:
        dump_json(args.json, {"facts": facts, "rounds": args.rounds, "pages": results})
    return 0


if __name__ == "__main__":
    sys.exit(main())
