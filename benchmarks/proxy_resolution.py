"""Side-by-side: how long a real resolution takes as of a past date, per approach.

Every competitor resolves the same requirements as of the same cutoff, with no client cache
and no pip/uv configuration from the machine:

* pip through snapproxy, cold (a fresh --cache-dir) and warm (the same server again);
* pip directly against PyPI with its own client-side filter, --uploaded-prior-to;
* pip through pypi-timemachine (the prior-art proxy: FastAPI/uvicorn, no cache);
* uv (`uv pip compile`) through snapproxy cold and warm, directly with --exclude-newer, and
  through pypi-timemachine.

pip runs `install --dry-run --ignore-installed --report`; uv runs `pip compile`. Each round
does every competitor once; the table shows the median over the rounds and the ratio to the
same client through snapproxy. Every run's resolved versions are compared with the first
one's; any difference is printed as a MISMATCH and makes the exit status 1.

Usage: python benchmarks/proxy_resolution.py [--requirements REQ ...] [--date 2021-05-01]
       [--rounds 3] [--json FILE]

`--requirements boto3` (or any list of specifiers) picks the closure. `--closures boto3
pandas sphinx` measures several closures, each resolved on its own (its own fresh
servers, its own table and version check), interleaved in the same rounds: issue 10's
goal 2, as run_all.py runs it. A closure of more than one requirement is one quoted
argument: `--closures "requests django==3.2" boto3`.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import bench_support as bs

# 45 projects, every one a wheel usable on CPython 3.11 as of 2021-05-01; botocore, boto3
# and django have some of the largest project pages on PyPI.
DEFAULT_REQUIREMENTS = (
    "requests",
    "django==3.2",
    "boto3",
    "fastapi",
    "httpx",
    "rich",
    "google-api-python-client",
    "networkx",
)
# Competitor labels, in the order of the table.
PIP_SNAP_COLD = "pip -> snapproxy (cold cache)"
PIP_SNAP_WARM = "pip -> snapproxy (warm cache)"
PIP_DIRECT = "pip -> PyPI --uploaded-prior-to"
PIP_TM = "pip -> pypi-timemachine"
UV_SNAP_COLD = "uv  -> snapproxy (cold cache)"
UV_SNAP_WARM = "uv  -> snapproxy (warm cache)"
UV_DIRECT = "uv  -> PyPI --exclude-newer"
UV_TM = "uv  -> pypi-timemachine"
ORDER = (PIP_SNAP_COLD, PIP_SNAP_WARM, PIP_DIRECT, PIP_TM,
         UV_SNAP_COLD, UV_SNAP_WARM, UV_DIRECT, UV_TM)
# The snapproxy rows each client's ratios are taken against.
WARM_OF = {"pip": PIP_SNAP_WARM, "uv": UV_SNAP_WARM}
COLD_OF = {"pip": PIP_SNAP_COLD, "uv": UV_SNAP_COLD}
LOG_LINE = re.compile(r" GET (\S+) (\d{3}) (\S+) ([\d.]+)ms$")

Resolution = dict[str, str]


@dataclass
class Run:
    competitor: str
    round: int
    seconds: float
    ok: bool
    resolved: Resolution = field(default_factory=dict)
    error: str = ""
    closure: str = ""


@dataclass
class Setup:
    pip_python: Path
    uv: Path
    python: str
    requirements_file: Path
    cutoff: str  # 2021-05-01T00:00:00Z
    date_arg: str  # as given to snapproxy
    only_binary: bool
    scratch: Path
    closure: str = ""  # its name, as given to --closures


def normalize(name: str) -> str:
    """PEP 503 name normalisation."""
    return re.sub(r"[-_.]+", "-", name).lower()


# -- clients ----------------------------------------------------------------------------


def timed(
    cmd: Sequence[str], env: dict[str, str]
) -> tuple[float, subprocess.CompletedProcess[str]]:
    start = time.perf_counter()
    proc = subprocess.run(
        list(cmd), capture_output=True, text=True, env=env, timeout=900, check=False
    )
    return time.perf_counter() - start, proc


def pip_resolve(setup: Setup, label: str, rnd: int, index_url: str, direct: bool) -> Run:
    report = Path(tempfile.mkstemp(prefix="pip-report-", suffix=".json", dir=setup.scratch)[1])
    cmd = [
        str(setup.pip_python), "-m", "pip", "--isolated", "--no-cache-dir",
        "--disable-pip-version-check", "--no-input",
        "install", "--dry-run", "--ignore-installed", "--quiet", "--report", str(report),
        "--index-url", index_url, "-r", str(setup.requirements_file),
    ]
    if direct:
        cmd += ["--uploaded-prior-to", setup.cutoff]
    if setup.only_binary:
        cmd += ["--only-binary", ":all:"]
    seconds, proc = timed(cmd, bs.clean_env())
    if proc.returncode != 0:
        return Run(label, rnd, seconds, False, error=_tail(proc))
    data = json.loads(report.read_text())
    report.unlink()
    resolved = {
        normalize(item["metadata"]["name"]): item["metadata"]["version"]
        for item in data["install"]
    }
    return Run(label, rnd, seconds, True, resolved)


def uv_resolve(setup: Setup, label: str, rnd: int, index_url: str, direct: bool) -> Run:
    cache = Path(tempfile.mkdtemp(prefix="uv-cache-", dir=setup.scratch))
    out = cache.with_suffix(".txt")
    cmd = [
        str(setup.uv), "pip", "compile", str(setup.requirements_file), "-o", str(out),
        "--quiet", "--no-header", "--no-annotate", "--no-config", "--cache-dir", str(cache),
        "--python", setup.python, "--index-url", index_url,
    ]
    if direct:
        cmd += ["--exclude-newer", setup.cutoff]
    if setup.only_binary:
        cmd += ["--only-binary", ":all:"]
    try:
        seconds, proc = timed(cmd, bs.clean_env())
        if proc.returncode != 0:
            return Run(label, rnd, seconds, False, error=_tail(proc))
        resolved: Resolution = {}
        for line in out.read_text().splitlines():
            line = line.split("#", 1)[0].strip()
            if line:
                name, _, version = line.partition("==")
                resolved[normalize(name.split("[", 1)[0])] = version.split(";", 1)[0].strip()
        return Run(label, rnd, seconds, True, resolved)
    finally:
        shutil.rmtree(cache, ignore_errors=True)
        out.unlink(missing_ok=True)


def _tail(proc: subprocess.CompletedProcess[str], lines: int = 15) -> str:
    text = (proc.stderr or "") + (proc.stdout or "")
    return f"exit {proc.returncode}: " + "\n".join(text.strip().splitlines()[-lines:])


# -- one round --------------------------------------------------------------------------


@dataclass
class LogSummary:
    requests: int = 0
    by_cache: Counter[str] = field(default_factory=Counter)
    server_ms: float = 0.0
    slowest: list[tuple[float, str]] = field(default_factory=list)


def summarise_log(lines: Sequence[str]) -> LogSummary:
    """snapproxy's access log (one line per request): counts and server-side time."""
    summary = LogSummary()
    for line in lines:
        match = LOG_LINE.search(line)
        if match is None:
            continue
        path, _status, cache, ms = match.groups()
        summary.requests += 1
        summary.by_cache[cache] += 1
        summary.server_ms += float(ms)
        summary.slowest.append((float(ms), path))
    summary.slowest = sorted(summary.slowest, reverse=True)[:5]
    return summary


def snapproxy_runs(
    setup: Setup, rnd: int, logs: dict[str, LogSummary]
) -> list[Run]:
    """pip cold, pip warm, uv warm on one fresh server; uv cold on another fresh one."""
    runs: list[Run] = []
    cache = Path(tempfile.mkdtemp(prefix="snapproxy-cache-", dir=setup.scratch))
    server = bs.start_snapproxy(setup.date_arg, setup.scratch, cache)
    with bs.stopping([server]):
        steps: list[tuple[str, Callable[[Setup, str, int, str, bool], Run]]] = [
            (PIP_SNAP_COLD, pip_resolve),
            (PIP_SNAP_WARM, pip_resolve),
            (UV_SNAP_WARM, uv_resolve),
        ]
        for label, resolve in steps:
            before = len(server.log_path.read_text(errors="replace").splitlines())
            runs.append(resolve(setup, label, rnd, server.index_url, False))
            lines = server.log_path.read_text(errors="replace").splitlines()[before:]
            logs[label] = summarise_log(lines)
            if not server.alive():
                raise RuntimeError(f"snapproxy died during {label}:\n{server.log_tail()}")
    shutil.rmtree(cache, ignore_errors=True)

    cache = Path(tempfile.mkdtemp(prefix="snapproxy-cache-", dir=setup.scratch))
    server = bs.start_snapproxy(setup.date_arg, setup.scratch, cache)
    with bs.stopping([server]):
        runs.append(uv_resolve(setup, UV_SNAP_COLD, rnd, server.index_url, False))
        logs[UV_SNAP_COLD] = summarise_log(
            server.log_path.read_text(errors="replace").splitlines()
        )
        if not server.alive():
            raise RuntimeError(f"snapproxy died during {UV_SNAP_COLD}:\n{server.log_tail()}")
    shutil.rmtree(cache, ignore_errors=True)
    return runs


def round_runs(
    setup: Setup, rnd: int, timemachine: bs.Server | None, logs: dict[str, LogSummary]
) -> list[Run]:
    runs = snapproxy_runs(setup, rnd, logs)
    runs.append(pip_resolve(setup, PIP_DIRECT, rnd, bs.PYPI_SIMPLE, True))
    runs.append(uv_resolve(setup, UV_DIRECT, rnd, bs.PYPI_SIMPLE, True))
    if timemachine is not None:
        runs.append(pip_resolve(setup, PIP_TM, rnd, timemachine.index_url, False))
        runs.append(uv_resolve(setup, UV_TM, rnd, timemachine.index_url, False))
        if not timemachine.alive():
            raise RuntimeError(f"pypi-timemachine died:\n{timemachine.log_tail()}")
    for run in runs:
        run.closure = setup.closure
    return runs


# -- verdicts ---------------------------------------------------------------------------


def mismatches(runs: Sequence[Run]) -> list[str]:
    """Every successful run against the first successful one, named; [] if all agree."""
    good = [r for r in runs if r.ok]
    if not good:
        return []
    ref = good[0]
    problems = []
    for run in good[1:]:
        if run.resolved == ref.resolved:
            continue
        names = sorted(set(ref.resolved) | set(run.resolved))
        diffs = [
            f"{n}: {ref.resolved.get(n, '-')} vs {run.resolved.get(n, '-')}"
            for n in names
            if ref.resolved.get(n) != run.resolved.get(n)
        ]
        problems.append(
            f"{run.competitor} (round {run.round}) differs from {ref.competitor} "
            f"(round {ref.round}): " + "; ".join(diffs)
        )
    return problems


def fmt_s(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def fmt_ratio(value: float | None, base: float | None) -> str:
    return "-" if value is None or not base else f"{value / base:.2f}x"


def results_table(runs: Sequence[Run], skipped: dict[str, str]) -> str:
    times = {c: [r.seconds for r in runs if r.competitor == c and r.ok] for c in ORDER}
    medians = {c: bs.median(t) for c, t in times.items()}
    rows = []
    for competitor in ORDER:
        if competitor in skipped:
            rows.append([competitor, "n/a", "", "", "0/0", "", "", "skipped"])
            continue
        client = competitor.split()[0]
        failed = sum(1 for r in runs if r.competitor == competitor and not r.ok)
        t = times[competitor]
        rows.append([
            competitor,
            fmt_s(medians[competitor]),
            fmt_s(min(t) if t else None),
            fmt_s(max(t) if t else None),
            f"{len(t)}/{len(t) + failed}",
            fmt_ratio(medians[competitor], medians[WARM_OF[client]]),
            fmt_ratio(medians[competitor], medians[COLD_OF[client]]),
            "FAILED" if failed else "ok",
        ])
    headers = ["competitor", "median s", "min s", "max s", "runs ok",
               "/ snap warm", "/ snap cold", "status"]
    return bs.table(headers, rows)


# -- main -------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requirements", nargs="+", default=list(DEFAULT_REQUIREMENTS),
                        metavar="REQ", help="requirement specifiers (default: %(default)s)")
    parser.add_argument("--closures", nargs="+", default=None, metavar="REQS",
                        help="several closures, each measured on its own in the same "
                        "rounds; each is one argument of whitespace-separated requirement "
                        "specifiers (instead of --requirements)")
    parser.add_argument("--date", default="2021-05-01",
                        help="cutoff: YYYY-MM-DD (midnight UTC) or ISO 8601 with a zone")
    parser.add_argument("--rounds", type=int, default=3, help="rounds (default: 3)")
    parser.add_argument("--pip-version", default="26.3")
    parser.add_argument("--uv-version", default=None, help="default: latest on PyPI")
    parser.add_argument("--timemachine-version", default=None, help="default: latest")
    parser.add_argument("--skip-timemachine", action="store_true")
    parser.add_argument("--allow-sdists", action="store_true",
                        help="do not pass --only-binary :all: to pip and uv")
    parser.add_argument("--json", type=Path, default=None,
                        help="also write every run and the per-competitor medians here")
    bs.add_load_options(parser)
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    cutoff = bs.zulu(bs.cutoff_utc(args.date))
    pip_python = bs.pip_venv(args.pip_version) / "bin" / "python"
    uv = bs.uv_binary(args.uv_version)
    seen = bs.pip_sees_no_config(pip_python)
    if seen:
        raise SystemExit(f"the isolated pip still sees configuration:\n{seen}")
    skipped: dict[str, str] = {}
    tm_venv: Path | None = None
    if not args.skip_timemachine:
        try:
            tm_venv = bs.timemachine_venv(args.timemachine_version)
        except RuntimeError as exc:
            reason = f"pypi-timemachine could not be installed: {exc}"
            skipped = {PIP_TM: reason, UV_TM: reason}
    else:
        skipped = {PIP_TM: "--skip-timemachine", UV_TM: "--skip-timemachine"}

    facts = bs.machine_facts()
    facts.update({
        "pip": args.pip_version,
        "uv": bs.run_checked([str(uv), "--version"]).strip(),
        "pypi-timemachine": (bs.distribution_version(tm_venv / "bin" / "python",
                                                     "pypi-timemachine")
                             if tm_venv else "not run"),
        "cutoff": cutoff,
        "requirements": " | ".join(args.closures) if args.closures
        else " ".join(args.requirements),
        "only binary": "no (--allow-sdists)" if args.allow_sdists else "yes (:all:)",
        "rounds": str(args.rounds),
    })
    for key, value in facts.items():
        print(f"# {key}: {value}")
    sys.stdout.flush()

    closures = {c.strip(): c.split() for c in args.closures} if args.closures else {
        " ".join(args.requirements): list(args.requirements)}
    runs: list[Run] = []
    logs: dict[str, dict[str, LogSummary]] = {name: {} for name in closures}
    with tempfile.TemporaryDirectory(prefix="snapproxy-bench-") as tmp:
        scratch = Path(tmp)
        setups = []
        for n, (name, requirements) in enumerate(closures.items()):
            requirements_file = scratch / f"requirements-{n}.txt"
            requirements_file.write_text("\n".join(requirements) + "\n")
            setups.append(Setup(
                pip_python=pip_python, uv=uv, python=bs.base_python(),
                requirements_file=requirements_file, cutoff=cutoff, date_arg=args.date,
                only_binary=not args.allow_sdists, scratch=scratch, closure=name,
            ))
        servers: list[bs.Server] = []
        with bs.stopping(servers):
            timemachine = None
            if tm_venv is not None:
                try:
                    timemachine = bs.start_timemachine(tm_venv, cutoff, scratch)
                    servers.append(timemachine)
                except RuntimeError as exc:
                    reason = f"pypi-timemachine did not start: {exc}"
                    skipped = {PIP_TM: reason, UV_TM: reason}
            facts["load average when timing started"] = bs.wait_for_quiet(
                args.max_load, args.load_wait)
            print(f"# load average when timing started: "
                  f"{facts['load average when timing started']}", flush=True)
            for rnd in range(1, args.rounds + 1):
                # The closure that goes first moves on each round.
                shift = (rnd - 1) % len(setups)
                for setup in setups[shift:] + setups[:shift]:
                    got = round_runs(setup, rnd, timemachine, logs[setup.closure])
                    runs += got
                    line = ", ".join(
                        f"{r.competitor.split(' -> ')[0].strip()}->"
                        f"{r.competitor.split(' -> ')[1]} {r.seconds:.2f}s"
                        + ("" if r.ok else " FAILED")
                        for r in got
                    )
                    name = f" [{setup.closure}]" if len(setups) > 1 else ""
                    print(f"# round {rnd}{name}: {line}", flush=True)

    status = 0
    for competitor, reason in skipped.items():
        print(f"\nSKIPPED {competitor}: {reason}")
    all_problems: list[str] = []
    per_closure = []
    for name in closures:
        mine = [r for r in runs if r.closure == name]
        print()
        title = f" [{name}]" if len(closures) > 1 else ""
        print(f"Resolution{title} as of {cutoff}: median of {args.rounds} round(s), "
              "wall-clock seconds")
        print(results_table(mine, skipped))
        print("ratios: this row's median / the same client's snapproxy median (>1: slower "
              "than snapproxy)")
        for run in mine:
            if not run.ok:
                status = 1
                print(f"\nFAILED {run.competitor} (round {run.round}):\n{run.error}")
        problems = mismatches(mine)
        good = next((r for r in mine if r.ok), None)
        if problems:
            status = 1
            all_problems += [f"[{name}] {p}" for p in problems]
            print("\n" + "!" * 78)
            print("MISMATCH: competitors resolved different versions")
            for problem in problems:
                print("  " + problem)
            print("!" * 78)
        elif good is not None:
            print(f"\nAll {sum(r.ok for r in mine)} successful runs resolved the same "
                  f"{len(good.resolved)} projects:")
            print("  " + " ".join(f"{n}=={v}" for n, v in sorted(good.resolved.items())))

        print("\nsnapproxy access log, last round (requests by cache status, summed server "
              "time):")
        for label, summary in logs[name].items():
            kinds = ", ".join(f"{k} {v}" for k, v in sorted(summary.by_cache.items()))
            slow = ", ".join(f"{p} {ms:.0f}ms" for ms, p in summary.slowest[:3])
            print(f"  {label}: {summary.requests} requests ({kinds}); "
                  f"{summary.server_ms / 1000:.2f}s in handlers; slowest: {slow}")
        per_closure.append({
            "name": name,
            "requirements": closures[name],
            "seconds": {c: bs.spread([r.seconds for r in mine if r.competitor == c and r.ok])
                        for c in ORDER if c not in skipped},
            "projects": len(good.resolved) if good else 0,
            "resolved": good.resolved if good else {},
            "mismatches": problems,
            "failed": any(not r.ok for r in mine),
        })

    facts["load average at end"] = bs.load_average()
    if args.json is not None:
        bs.dump_json(args.json, {
            "facts": facts,
            "closures": per_closure,
            "runs": [r.__dict__ for r in runs],
            "skipped": skipped,
            "mismatches": all_problems,
            "failed": any(not r.ok for r in runs),
        })
    print(f"# load average at end: {facts['load average at end']}")
    return status


if __name__ == "__main__":
    sys.exit(main())
