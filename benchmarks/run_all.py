"""Every comparison of issue 10 in one run, then one table of its goals.

Runs the benchmark scripts one after the other, each with its own interleaved rounds
(their full output, with medians, min-max and per-pair ratios, is passed through), reads
the results each writes with `--json`, and prints one summary table: per goal the
measured ratio or figure, the bar and PASS or MISS.

  G1  fetch_speed.py        fetch warm <= 0.60x, cold <= 1.0x `pip download
                            --uploaded-prior-to --no-cache-dir` (jupyterlab at 2023-06-01)
  G2  proxy_resolution.py   a fresh proxy <= 1.10x the client's own date filter, pip and
                            uv, each closure on its own: boto3, pandas, sphinx (2023-06-01)
  G3  filtering.py          filter + render <= 1.5x json.loads + json.dumps: botocore,
                            boto3, pillow; JSON and HTML; per cutoff and first request
  G4  nar_hash.py           hash <= 1.10x nix-hash on >= 300 MB, <= 1.5x on < 1 MB
  G5  proxy_throughput.py   warm botocore req/s and p99 no worse than the last figures
  G6  memory_rss.py         memory per cached project; peak RSS within issue 8's bound
  S   scaling.py            cost against files per page, projects, cutoffs (no bar)

A MISS is reported, not an error. The exit status is 1 if a script failed, a run failed
or two runs disagreed (MISMATCH), 2 for bad arguments. --baseline-ref REF also runs the
snapproxy and fetcher of commit REF (unpacked with `git archive`) in G1's and G5's rounds,
so a change can be judged against the code before it on the same machine and load.

    benchmarks/run [--rounds 3] [--only G1,G3] [--quick] [--json FILE]
                   [--baseline-ref HEAD]
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import platform
import shlex
import signal
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import bench_support as bs

HERE = Path(__file__).resolve().parent
GROUPS = ("G1", "G2", "G3", "G4", "G5", "G6", "S")
RESOLUTION_DATE = "2023-06-01"
CLOSURES = ("boto3", "pandas", "sphinx")
FILTER_PAGES = ("botocore", "boto3", "pillow")
STEP_TIMEOUT = 1800.0
# G5's reference: benchmarks/README.md, "Throughput after the trust work (issue 8)", the
# "after" columns (three runs, 2026-12-02): the ranges of today's figures.
THROUGHPUT_TODAY = {
    "json": {"rps": (8420.0, 8857.0), "p99": (9.1, 14.0)},
    "html": {"rps": (9587.0, 9738.0), "p99": (4.7, 5.6)},
}
MIB = 1024 * 1024

# labels written by fetch_speed.py and proxy_resolution.py
FETCH_WARM = "snapproxy fetch (warm cache)"
FETCH_COLD = "snapproxy fetch (cold cache)"
FETCH_DIRECT = "pip download --uploaded-prior-to"
FETCH_BASE_WARM = "baseline fetch (warm cache)"
FETCH_BASE_COLD = "baseline fetch (cold cache)"
RESOLUTION_PAIRS = {
    "pip": ("pip -> snapproxy (cold cache)", "pip -> PyPI --uploaded-prior-to",
            "--uploaded-prior-to"),
    "uv": ("uv  -> snapproxy (cold cache)", "uv  -> PyPI --exclude-newer", "--exclude-newer"),
}


@dataclass
class Step:
    group: str
    title: str
    script: str
    args: list[str]
    ok_codes: frozenset[int] = frozenset({0})
    exit: int | None = None
    seconds: float = 0.0
    data: Any = None
    error: str = ""

    def failed(self) -> bool:
        return self.exit not in self.ok_codes or self.data is None


@dataclass
class Row:
    group: str
    what: str
    measured: str
    bar: str = "-"
    verdict: str = "info"
    value: float | None = None


@dataclass
class Summary:
    rows: list[Row] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def add(self, *rows: Row) -> None:
        self.rows.extend(rows)


# -- running the scripts -----------------------------------------------------------------


def script_help(script: str) -> str:
    proc = subprocess.run([sys.executable, str(HERE / script), "--help"], capture_output=True,
                          text=True, check=False, timeout=120)
    return proc.stdout + proc.stderr


def run_step(step: Step, json_path: Path) -> None:
    """Run one script with --json, its output passed through as it comes."""
    cmd = [sys.executable, str(HERE / step.script), *step.args, "--json", str(json_path)]
    shown = " ".join(["benchmarks/" + step.script, *step.args])
    print(f"\n=== {step.group}: {step.title}\n=== {shown}\n=== load {bs.load_average()}, "
          f"{datetime.now(timezone.utc):%H:%M:%S} UTC", flush=True)
    started = time.monotonic()
    # Own process group: a time-out kills the script and whatever servers it started.
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            bufsize=1, env=bs.clean_env(PYTHONUNBUFFERED="1"),
                            start_new_session=True)
    assert proc.stdout is not None

    def stop() -> None:
        step.error = f"stopped after {STEP_TIMEOUT:.0f}s"
        os.killpg(proc.pid, signal.SIGTERM)

    watchdog = threading.Timer(STEP_TIMEOUT, stop)
    watchdog.start()
    try:
        for line in proc.stdout:
            sys.stdout.write("  " + line)
            sys.stdout.flush()
        step.exit = proc.wait()
    except BaseException:
        # Ctrl-C reaches only this process (the script has its own session): stop it too.
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait()
        raise
    finally:
        watchdog.cancel()
    step.seconds = time.monotonic() - started
    try:
        step.data = json.loads(json_path.read_text())
    except (OSError, ValueError) as exc:
        step.error = step.error or f"no results ({type(exc).__name__}: {exc})"
    print(f"=== {step.group} done in {step.seconds:.0f}s, exit status {step.exit}"
          + (f" ({step.error})" if step.error else ""), flush=True)


def baseline_command(ref: str, where: Path) -> str:
    """A command that runs commit ``ref``'s snapproxy (with its fetcher) from ``where``.

    `git archive` only reads the repository. The launcher's own directory comes first on
    sys.path, ahead of the venv's editable install of the work tree.
    """
    data = subprocess.run(["git", "-C", str(bs.REPO), "archive", ref, "snapproxy", "fetcher"],
                          capture_output=True, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        archive.extractall(where, filter="data")
    launcher = where / "snapproxy_before.py"
    launcher.write_text("import sys\nfrom snapproxy.cli import main\nsys.exit(main())\n")
    return shlex.join([sys.executable, str(launcher)])


def plan(args: argparse.Namespace, baseline: str | None) -> list[Step]:
    rounds = ["--rounds", str(args.rounds)]
    load = ["--max-load", str(args.max_load), "--load-wait", str(args.load_wait)]
    base = ["--baseline", baseline] if baseline else []
    steps: list[Step] = []
    if "G1" in args.only:
        steps.append(Step("G1", "snapproxy fetch against pip download", "fetch_speed.py",
                          [*rounds, *load, *base, *(["--small"] if args.quick else [])]))
    if "G2" in args.only:
        closures = CLOSURES[:1] if args.quick else CLOSURES
        steps.append(Step("G2", "resolution through a fresh proxy: " + ", ".join(closures),
                          "proxy_resolution.py",
                          ["--closures", *closures, "--date", RESOLUTION_DATE,
                           *rounds, *load]))
    if "G3" in args.only:
        # Each case takes milliseconds, so more rounds cost little and steady the medians.
        steps.append(Step("G3", "filtering against the parse + dump floor", "filtering.py",
                          ["--rounds", str(args.rounds * 5), *load, *FILTER_PAGES]))
    if "G4" in args.only:
        # The two real wheelhouses are the goal's trees; the generated 600 MiB one is the
        # figure the README has followed so far.
        trees = ["--wheelhouse-small"] if args.quick else ["--all"]
        # Installed from a wheel, as nix/package.nix and pip users install it: the dev
        # venv's editable finder adds about 12 ms to every start, which a 0.6 MB tree shows.
        # nar_hash.py: 1 is a missed bar, 2 a failure or a digest mismatch.
        steps.append(Step("G4", "snapproxy hash against nix-hash", "nar_hash.py",
                          [*trees, "--non-editable", *rounds, *load],
                          ok_codes=frozenset({0, 1})))
    if "G5" in args.only:
        steps.append(Step("G5", "warm throughput, botocore (snapproxy only)",
                          "proxy_throughput.py",
                          ["--skip-timemachine", "--encodings", "gzip", *rounds, *load,
                           *base, *(["--requests", "500"] if args.quick else [])]))
    if "G6" in args.only:
        steps.append(Step("G6", "memory per cached project", "memory_rss.py",
                          ["--projects", "50"] if args.quick else []))
    if "S" in args.only:
        quick = ["--sizes", "100", "1000", "10000", "--cutoff-counts", "1", "10",
                 "--sets", "2"] if args.quick else []
        steps.append(Step("S", "scaling: files per page, projects, cutoffs", "scaling.py",
                          [*rounds, *load, *quick]))
    return steps


# -- reading the results -----------------------------------------------------------------


def ratio_row(group: str, what: str, value: float | None, bar: float, detail: str) -> Row:
    if value is None:
        return Row(group, what, "-", f"<= {bar:.2f}x", "FAILED")
    verdict = "PASS" if value <= bar else "MISS"
    return Row(group, what, f"{value:.2f}x ({detail})", f"<= {bar:.2f}x", verdict, value)


def med(spread: Any) -> float | None:
    return spread.get("median") if isinstance(spread, dict) else None


def quotient(mine: Any, theirs: Any) -> str:
    """The ratio of two spreads' medians, `1.05x`, or `-`."""
    a, b = med(mine), med(theirs)
    return f"{a / b:.2f}x" if a is not None and b else "-"


def rng(spread: Any, fmt: str) -> str:
    if not isinstance(spread, dict):
        return "-"
    return f"{spread['median']:{fmt}} ({spread['min']:{fmt}}-{spread['max']:{fmt}})"


def read_g1(step: Step, quick: bool) -> list[Row]:
    seconds, ratios = step.data.get("seconds", {}), step.data.get("ratio_to_pip_download", {})
    closure = "5-wheel --small closure (--quick)" if quick else "jupyterlab, 85 wheels"
    direct = med(seconds.get(FETCH_DIRECT))
    rows = []
    for label, name, bar in ((FETCH_WARM, "warm", 0.60), (FETCH_COLD, "cold", 1.0)):
        mine = med(seconds.get(label))
        detail = (f"{mine:.2f} s vs {direct:.2f} s" if mine is not None and direct is not None
                  else "")
        rows.append(ratio_row("G1", f"fetch {name} / pip download ({closure})",
                              ratios.get(label), bar, detail))
    for label, ours, name in ((FETCH_BASE_WARM, FETCH_WARM, "warm"),
                              (FETCH_BASE_COLD, FETCH_COLD, "cold")):
        theirs, mine = med(seconds.get(label)), med(seconds.get(ours))
        if theirs is not None and direct:
            rows.append(Row("G1", f"baseline fetch {name} / pip download",
                            f"{theirs / direct:.2f}x ({theirs:.2f} s); this tree / baseline: "
                            + (f"{mine / theirs:.2f}x" if mine is not None else "-")))
    return rows


def read_g2(step: Step) -> list[Row]:
    rows = []
    for closure in step.data["closures"]:
        seconds = closure["seconds"]
        for client, (fresh, direct, flag) in RESOLUTION_PAIRS.items():
            mine, theirs = med(seconds.get(fresh)), med(seconds.get(direct))
            value = mine / theirs if mine is not None and theirs else None
            detail = f"{mine:.2f} s vs {theirs:.2f} s" if value is not None else ""
            rows.append(ratio_row(
                "G2", f"{closure['name']} ({closure['projects']} projects): {client} fresh "
                f"proxy / {client} {flag}", value, 1.10, detail))
    return rows


def read_g3(step: Step) -> list[Row]:
    rows = []
    for page in step.data.get("pages", []):
        floor = med(page["ms"]["floor"])
        for case, what in (("json", "JSON per new cutoff"), ("html", "HTML per new cutoff"),
                           ("first json", "JSON first request of a copy"),
                           ("first html", "HTML first request of a copy")):
            mine = med(page["ms"][case])
            rows.append(ratio_row(
                "G3", f"{page['project']} {what} / parse+dump floor",
                page["ratio_to_floor"].get(case), 1.5,
                f"{mine:.1f} ms vs {floor:.1f} ms" if mine is not None and floor else ""))
    return rows


def read_g4(step: Step) -> list[Row]:
    """nar_hash.py's per-tree entries: tree, both medians, ratio, bar (None: no bar for a
    tree of that size), pass, peak RSS."""
    rows = []
    for tree in step.data.get("trees", []):
        size = tree.get("content_bytes", 0) / 1e6
        what = f"{tree['tree']} ({size:,.1f} MB): hash / nix-hash"
        snap, nix = tree.get("snapproxy_median_s"), tree.get("nix_hash_median_s")
        ratio, bar = tree.get("ratio"), tree.get("bar")
        detail = f"{snap:.3f} s vs {nix:.3f} s" if snap is not None and nix is not None else ""
        if tree.get("snapproxy_peak_rss_mib") is not None:
            detail += f", peak {tree['snapproxy_peak_rss_mib']:.0f} MiB"
        if ratio is None:
            rows.append(Row("G4", what, "no figures", verdict="FAILED"))
        elif bar is None:
            rows.append(Row("G4", what, f"{ratio:.2f}x ({detail})", "no bar", "info", ratio))
        else:
            row = ratio_row("G4", what, float(ratio), float(bar), detail)
            if tree.get("pass") is not None and bool(tree["pass"]) != (row.verdict == "PASS"):
                row.verdict += " (nar_hash.py: " + ("PASS" if tree["pass"] else "MISS") + ")"
            rows.append(row)
        if tree.get("rss_pass") is False:
            rows.append(Row("G4", f"{tree['tree']}: hash peak RSS",
                            f"{tree['snapproxy_peak_rss_mib']:.0f} MiB",
                            f"< {tree['rss_bar_mib']:.0f} MiB", "MISS"))
    return rows or [Row("G4", "hash / nix-hash", "no trees in nar_hash.py's JSON",
                        verdict="FAILED")]


def read_g5(step: Step) -> list[Row]:
    rows = []
    summary = step.data.get("summary", [])
    base = {(i["format"], i["encoding"]): i for i in summary if i["server"] == "baseline"}
    for item in summary:
        fmt = item["format"]
        if item["server"] != "snapproxy" or item["encoding"] != "gzip":
            continue
        today = THROUGHPUT_TODAY.get(fmt)
        if today is None:
            continue
        rps, p99 = med(item["rps"]), med(item["p99_ms"])
        lo, hi = today["rps"]
        rows.append(Row("G5", f"botocore {fmt} gzip req/s (today {lo:.0f}-{hi:.0f})",
                        rng(item["rps"], ".0f"), f">= {lo:.0f}",
                        "PASS" if rps is not None and rps >= lo else "MISS", rps))
        lo, hi = today["p99"]
        rows.append(Row("G5", f"botocore {fmt} gzip p99 ms (today {lo:.1f}-{hi:.1f})",
                        rng(item["p99_ms"], ".1f"), f"<= {hi:.1f}",
                        "PASS" if p99 is not None and p99 <= hi else "MISS", p99))
        if (fmt, "gzip") in base:
            theirs = base[(fmt, "gzip")]
            rows.append(Row(
                "G5", f"baseline {fmt} gzip req/s; p99 ms (same rounds)",
                f"{rng(theirs['rps'], '.0f')}; {rng(theirs['p99_ms'], '.1f')}; this tree / "
                f"baseline: req/s {quotient(item['rps'], theirs['rps'])}, p99 "
                f"{quotient(item['p99_ms'], theirs['p99_ms'])}"))
    return rows or [Row("G5", "throughput", "no snapproxy gzip figures", verdict="FAILED")]


def read_g6(step: Step) -> list[Row]:
    d = step.data
    per = d["per_project_bytes"]
    budget, peak, bar = d["budget_bytes"], d["peak_bytes"], d["rss_bar_bytes"]
    return [
        Row("G6", f"RSS per cached project ({d['page_bytes'] / 1e6:.2f} MB JSON page, "
            f"JSON+HTML; first {d['per_project_count']})",
            f"{per / MIB:.2f} MiB ({per:,.0f} bytes, {per / d['page_bytes']:.1f}x the page)",
            "report", "info", per),
        Row("G6", f"RSS growth over {d['projects']} cached projects",
            f"{d['growth_all_projects_bytes'] / MIB:.0f} MiB",
            f"budget {budget / MIB:.0f} MiB", "info", d["growth_all_projects_bytes"]),
        Row("G6", "peak RSS (projects, 40 Host values, 30 cutoffs; default budget)",
            f"{peak / MIB:.0f} MiB", f"< {bar / MIB:.0f} MiB",
            "PASS" if peak < bar else "MISS", peak),
    ]


def read_s(step: Step) -> list[Row]:
    d = step.data
    rows = []
    for page in d.get("pages", []):
        per_k = page["files"] / 1000
        first, cut, warm = (med(page[k]) or 0.0 for k in ("first_ms", "new_cutoff_ms",
                                                           "warm_ms"))
        rows.append(Row("S", f"a. page of {page['files']:,} files: first / new cutoff / "
                        "warm hit", f"{first:.0f} / {cut:.0f} / {warm:.1f} ms "
                        f"({first / per_k:.2f} / {cut / per_k:.2f} / {warm / per_k:.3f} ms "
                        "per 1k files)"))
    by_client: dict[str, list[tuple[int, float]]] = {}
    for item in d.get("resolution", []):
        by_client.setdefault(item["client"], []).append(
            (item["projects"], med(item["seconds"]) or 0.0))
    for client, points in by_client.items():
        counts = "/".join(str(p) for p, _ in points)
        times = " / ".join(f"{t:.2f}" for _, t in points)
        (p0, t0), (p1, t1) = points[0], points[-1]
        marginal = f", {(t1 - t0) / (p1 - p0):.3f} s per extra project" if p1 > p0 else ""
        rows.append(Row("S", f"b. {client} resolution of {counts} projects (warm proxy)",
                        f"{times} s{marginal}"))
    for item in d.get("cutoffs", []):
        growth = med(item["rss_growth_bytes"]) or 0.0
        rows.append(Row("S", f"c. {item['cutoffs']} new cutoff(s) on one page",
                        f"{med(item['per_cutoff_ms']) or 0.0:.0f} ms per cutoff, RSS "
                        f"+{growth / MIB:.0f} MiB ({growth / item['cutoffs'] / 1024:.0f} KiB "
                        "per cutoff)"))
    for key in ("pages_error", "resolution_error", "cutoffs_error"):
        if key in d:
            rows.append(Row("S", key.replace("_error", ""), d[key][:200], verdict="FAILED"))
    return rows


def summarise(steps: Sequence[Step], args: argparse.Namespace, g4_available: bool) -> Summary:
    summary = Summary()
    readers: dict[str, Callable[[Step], list[Row]]] = {
        "G1": lambda s: read_g1(s, args.quick), "G2": read_g2, "G3": read_g3,
        "G4": read_g4, "G5": read_g5, "G6": read_g6, "S": read_s,
    }
    if "G4" in args.only and not g4_available:
        summary.add(Row("G4", "hash / nix-hash",
                        "not available: nar_hash.py has no --json option yet", "-", "n/a"))
    for step in steps:
        name = f"{step.group} {step.script} {' '.join(step.args)}"
        if step.failed():
            summary.failures.append(f"{name}: exit status {step.exit}"
                                    + (f", {step.error}" if step.error else ""))
        if step.data is None:
            summary.add(Row(step.group, step.title, step.error or f"exit {step.exit}",
                            verdict="FAILED"))
            continue
        if isinstance(step.data, dict):
            if step.data.get("mismatches"):
                summary.failures.append(f"{name}: MISMATCH {step.data['mismatches']}")
            if step.data.get("failed"):
                summary.failures.append(f"{name}: a run failed (see its output)")
        try:
            summary.add(*readers[step.group](step))
        except (KeyError, TypeError, ValueError, ZeroDivisionError) as exc:
            summary.failures.append(f"{name}: its JSON could not be read ({exc!r})")
            summary.add(Row(step.group, step.title, f"unreadable results: {exc!r}",
                            verdict="FAILED"))
    return summary


# -- main --------------------------------------------------------------------------------


def left_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A plain-text table, every column left-aligned (its cells are phrases, not numbers)."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    return "\n".join([line(headers), "  ".join("-" * w for w in widths),
                      *(line(r) for r in rows)])


def git(*a: str) -> str:
    # rstrip only: porcelain lines start with a status column that may be a space.
    return subprocess.run(["git", "-C", str(bs.REPO), *a], capture_output=True,
                          text=True, check=False).stdout.rstrip()


def git_state(ref: str | None = None) -> str:
    """`<hash> <subject>`, and for the work tree the top directories with changes."""
    head = git("log", "-1", "--format=%h %s", ref or "HEAD")
    if ref is not None:
        return head
    dirty = sorted({line[3:].split("/")[0] + ("/" if "/" in line[3:] else "")
                    for line in git("status", "--porcelain").splitlines()})
    return head + (f" + uncommitted changes in {', '.join(dirty)}" if dirty else "")


def code_fingerprint() -> str:
    """What the measured code is: HEAD, the diff against it and untracked files, under
    snapproxy/ and fetcher/. Other sessions edit and commit while a run takes minutes."""
    digest = hashlib.sha256(git("rev-parse", "HEAD").encode())
    digest.update(git("diff", "HEAD", "--", "snapproxy", "fetcher").encode())
    for name in git("ls-files", "--others", "--exclude-standard", "--", "snapproxy",
                    "fetcher").splitlines():
        try:
            digest.update(name.encode() + (bs.REPO / name).read_bytes())
        except OSError:
            digest.update(name.encode())
    return digest.hexdigest()


def hardware() -> str:
    cpu = "?"
    try:
        cpu = next(line.split(":", 1)[1].strip()
                   for line in Path("/proc/cpuinfo").read_text().splitlines()
                   if line.startswith("model name"))
        mem_kib = next(int(line.split()[1])
                       for line in Path("/proc/meminfo").read_text().splitlines()
                       if line.startswith("MemTotal:"))
        return f"{cpu}, {os.cpu_count()} cores, {mem_kib / 1024 / 1024:.0f} GiB RAM"
    except (OSError, StopIteration):
        return f"{cpu}, {os.cpu_count()} cores"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="benchmarks/run", description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n\n".join(__doc__.split("\n\n")[1:4]))
    parser.add_argument("--rounds", type=int, default=None,
                        help="rounds for every script (default: 3, --quick: 1); filtering.py "
                        "gets 5x as many, its cases take milliseconds")
    parser.add_argument("--only", default=",".join(GROUPS),
                        help="comma-separated groups to run (default: all: %(default)s)")
    parser.add_argument("--quick", action="store_true",
                        help="a smoke test: 1 round, a small fetch closure, one resolution "
                        "closure, fewer requests, projects and page sizes")
    parser.add_argument("--json", type=Path, default=None,
                        help="write the summary, with every script's results, here")
    parser.add_argument("--baseline-ref", default=None, metavar="REF",
                        help="also run commit REF's snapproxy in G1's and G5's rounds")
    parser.add_argument("--max-load", type=float, default=1.0,
                        help="each script waits for the 1-minute load average to drop "
                        "below this before timing (default: %(default)s)")
    # A smoke test does not wait for a quiet machine unless told to.
    parser.add_argument("--load-wait", type=float, default=None,
                        help="seconds each script waits for that at most, then measures "
                        "anyway (default: 90, --quick: 0)")
    args = parser.parse_args(argv)
    args.rounds = args.rounds or (1 if args.quick else 3)
    if args.load_wait is None:
        # The 1-minute average left by the script before halves in about 40 s when the
        # machine is otherwise idle; longer waits only help against other sessions' work.
        args.load_wait = 0.0 if args.quick else 90.0
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    only = [g.strip().upper() for g in args.only.split(",") if g.strip()]
    unknown = [g for g in only if g not in GROUPS]
    if unknown or not only:
        parser.error(f"--only: unknown group(s) {unknown}; choose from {', '.join(GROUPS)}")
    args.only = only
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    # SIGTERM as an exception, so that run_step stops the script it is running.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    started = time.monotonic()
    started_at = datetime.now(timezone.utc)
    facts = {
        "date (UTC)": f"{started_at:%Y-%m-%d %H:%M:%S}",
        "machine": f"{hardware()}, {platform.machine()}, Linux {platform.release()}",
        "python": f"{platform.python_version()} ({bs.base_python()})",
        "git": git_state(),
        "load average at start": bs.load_average(),
        "groups": ",".join(args.only) + (" (--quick)" if args.quick else ""),
        "rounds": str(args.rounds),
    }
    for key, value in facts.items():
        print(f"# {key}: {value}", flush=True)
    g4_available = "G4" not in args.only or "--json" in script_help("nar_hash.py")
    code_before = code_fingerprint()
    with tempfile.TemporaryDirectory(prefix="snapproxy-run-") as tmp:
        baseline = None
        if args.baseline_ref:
            baseline = baseline_command(args.baseline_ref, Path(tmp) / "baseline")
            facts["baseline"] = f"{args.baseline_ref} ({git_state(args.baseline_ref)})"
            print(f"# baseline: {facts['baseline']}", flush=True)
        steps = [s for s in plan(args, baseline) if s.group != "G4" or g4_available]
        for n, step in enumerate(steps):
            run_step(step, Path(tmp) / f"{n:02d}-{step.group}.json")
    code_changed = code_fingerprint() != code_before
    summary = summarise(steps, args, g4_available)
    summary.rows.sort(key=lambda r: GROUPS.index(r.group))  # stable: keeps each group's order
    facts["load average at end"] = bs.load_average()
    facts["git at end"] = git_state()
    if code_changed:
        facts["WARNING"] = ("the code under snapproxy/ or fetcher/ changed while the "
                            "benchmarks ran: steps measured different code")
    elapsed = time.monotonic() - started
    facts["duration"] = f"{elapsed / 60:.1f} min"

    print("\n" + "=" * 100)
    print(f"Issue 10 goals, {facts['date (UTC)']} UTC, git {facts['git']}")
    if code_changed:
        print(f"WARNING: {facts['WARNING']} (git at end: {facts['git at end']})")
    if "baseline" in facts:
        print(f"baseline (G1, G5): {facts['baseline']}")
    print(f"machine: {facts['machine']}; rounds: {args.rounds}"
          + (" (--quick)" if args.quick else ""))
    print(left_table(["goal", "comparison", "measured (ratio of medians; or median (min-max))",
                      "bar", "verdict"],
                     [[r.group, r.what, r.measured, r.bar, r.verdict] for r in summary.rows]))
    misses = [r for r in summary.rows if r.verdict.startswith("MISS")]
    if misses:
        print(f"MISS: {len(misses)} bar(s) not met: "
              + "; ".join(f"{r.group} {r.what}" for r in misses))
    print("per step: " + ", ".join(f"{s.group} {s.seconds:.0f}s" for s in steps))
    print(f"# load average at start: {facts['load average at start']}, at end: "
          f"{facts['load average at end']}; took {facts['duration']}")
    for failure in summary.failures:
        print(f"FAILED: {failure}")
    status = 1 if summary.failures else 0
    if args.json is not None:
        bs.dump_json(args.json, {
            "facts": facts,
            "rows": [r.__dict__ for r in summary.rows],
            "failures": summary.failures,
            "steps": [{"group": s.group, "script": s.script, "args": s.args, "exit": s.exit,
                       "seconds": s.seconds, "error": s.error, "results": s.data}
                      for s in steps],
            "status": status,
        })
    return status


if __name__ == "__main__":
    sys.exit(main())
