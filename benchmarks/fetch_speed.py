"""Side-by-side: `snapproxy fetch` against `pip download --uploaded-prior-to`, same closure.

Issue 10's fetch goal: with a warm cache `snapproxy fetch` takes at most 0.60x the time of
`pip download --uploaded-prior-to CUTOFF --no-cache-dir` for the same requirements, target
and files; with an empty cache at most 1.0x. Each round runs, one after the other:

* `snapproxy fetch` with a warm cache (a cache dir filled by an untimed first fetch);
* `pip download` (pip from a clean venv, no pip configuration, no cache) straight from PyPI
  with pip's own client-side filter;
* `snapproxy fetch` with a fresh, empty cache dir.

The default closure is examples/jupyterlab (jupyterlab as of 2023-06-01, 85 wheels for
CPython 3.11 on manylinux2014_x86_64, the target options of examples/jupyterlab/default.nix).
Every run's set of downloaded filenames is compared with the first one's: a difference is a
MISMATCH and makes the exit status 1, as does a failed run.

Usage: python benchmarks/fetch_speed.py [--rounds 3] [--small] [--requirements FILE
       --date D --target-args '...'] [--json FILE]
"""

from __future__ import annotations

import argparse
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import bench_support as bs

JUPYTERLAB = bs.REPO / "examples" / "jupyterlab" / "requirements.txt"
# examples/jupyterlab/default.nix: onlyBinary, platforms, pythonVersion, extraArgs.
JUPYTERLAB_TARGET = (
    "--only-binary --platform manylinux2014_x86_64 --python-version 3.11 --implementation cp"
)
# --small: a closure of 5 wheels, for a quick look.
SMALL_REQUIREMENTS = "requests==2.31.0\n"
LOCK = "requirements.lock.txt"

WARM = "snapproxy fetch (warm cache)"
DIRECT = "pip download --uploaded-prior-to"
COLD = "snapproxy fetch (cold cache)"
BASE_WARM = "baseline fetch (warm cache)"
BASE_COLD = "baseline fetch (cold cache)"
ORDER = (WARM, BASE_WARM, DIRECT, COLD, BASE_COLD)


@dataclass
class Run:
    competitor: str
    round: int
    seconds: float
    ok: bool
    files: list[str] = field(default_factory=list)
    error: str = ""


@dataclass(frozen=True)
class Setup:
    snapproxy: tuple[str, ...]
    baseline: tuple[str, ...] | None  # another snapproxy (e.g. an earlier commit's)
    pip_python: Path
    requirements: Path
    date: str
    cutoff: str
    target: tuple[str, ...]  # snapproxy fetch's form; pip's is derived from it
    scratch: Path


def pip_target(target: Sequence[str]) -> list[str]:
    """fetch's target options as pip spells them (`--only-binary` takes `:all:` there)."""
    out: list[str] = []
    for word in target:
        out += [word, ":all:"] if word == "--only-binary" else [word]
    return out


def _tail(proc: subprocess.CompletedProcess[str], lines: int = 15) -> str:
    text = (proc.stderr or "") + (proc.stdout or "")
    return "\n".join(text.strip().splitlines()[-lines:])


def _timed(competitor: str, rnd: int, cmd: Sequence[str], out: Path) -> Run:
    start = time.perf_counter()
    proc = subprocess.run(
        list(cmd), capture_output=True, text=True, env=bs.clean_env(), timeout=1800,
        check=False,
    )
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        return Run(competitor, rnd, seconds, False, error=_tail(proc))
    files = sorted(p.name for p in out.iterdir() if p.name != LOCK)
    # fetch's output is read-only (0o555), as in the Nix store.
    out.chmod(0o755)
    shutil.rmtree(out, ignore_errors=True)
    return Run(competitor, rnd, seconds, True, files)


def fetch(
    setup: Setup, competitor: str, rnd: int, cache: Path, snapproxy: Sequence[str]
) -> Run:
    out = Path(tempfile.mkdtemp(prefix="out-", dir=setup.scratch)) / "wheels"
    cmd = [
        *snapproxy, "fetch", "--quiet", "-o", str(out), "-r", str(setup.requirements),
        "--date", setup.date, "--cache-dir", str(cache), *setup.target,
    ]
    return _timed(competitor, rnd, cmd, out)


def pip_download(setup: Setup, rnd: int) -> Run:
    out = Path(tempfile.mkdtemp(prefix="pip-download-", dir=setup.scratch))
    cmd = [
        str(setup.pip_python), "-m", "pip", "--isolated", "--no-cache-dir",
        "--disable-pip-version-check", "--no-input", "download", "--quiet",
        "--uploaded-prior-to", setup.cutoff, "--index-url", bs.PYPI_SIMPLE,
        "-d", str(out), "-r", str(setup.requirements), *pip_target(setup.target),
    ]
    return _timed(DIRECT, rnd, cmd, out)


def round_runs(setup: Setup, rnd: int, warm: Path, base_warm: Path) -> list[Run]:
    def cold(competitor: str, snapproxy: Sequence[str]) -> Run:
        cache = Path(tempfile.mkdtemp(prefix="cold-cache-", dir=setup.scratch))
        try:
            return fetch(setup, competitor, rnd, cache, snapproxy)
        finally:
            shutil.rmtree(cache, ignore_errors=True)

    runs = [fetch(setup, WARM, rnd, warm, setup.snapproxy)]
    if setup.baseline:
        runs.append(fetch(setup, BASE_WARM, rnd, base_warm, setup.baseline))
    runs += [pip_download(setup, rnd), cold(COLD, setup.snapproxy)]
    if setup.baseline:
        runs.append(cold(BASE_COLD, setup.baseline))
    return runs


def results_table(runs: Sequence[Run]) -> str:
    medians = {c: bs.median([r.seconds for r in runs if r.competitor == c and r.ok])
               for c in ORDER}
    direct = medians[DIRECT]
    rows = []
    for competitor in ORDER:
        if not any(r.competitor == competitor for r in runs):
            continue
        times = [r.seconds for r in runs if r.competitor == competitor and r.ok]
        total = sum(r.competitor == competitor for r in runs)
        mid = medians[competitor]
        rows.append([
            competitor,
            f"{mid:.2f}" if mid is not None else "-",
            f"{min(times):.2f}" if times else "-",
            f"{max(times):.2f}" if times else "-",
            f"{len(times)}/{total}",
            f"{mid / direct:.2f}x" if mid is not None and direct else "-",
        ])
    return bs.table(["competitor", "median s", "min s", "max s", "runs ok", "/ pip download"],
                    rows)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requirements", type=Path, default=None,
                        help="requirements file (default: examples/jupyterlab's)")
    parser.add_argument("--date", default="2023-06-01",
                        help="cutoff: YYYY-MM-DD (midnight UTC) or ISO 8601 with a zone")
    parser.add_argument("--target-args", default=JUPYTERLAB_TARGET,
                        help="fetch's target options (default: %(default)s)")
    parser.add_argument("--small", action="store_true",
                        help=f"requirements {SMALL_REQUIREMENTS.strip()!r} instead")
    parser.add_argument("--rounds", type=int, default=3, help="rounds (default: 3)")
    parser.add_argument("--pip-version", default="26.3")
    parser.add_argument("--snapproxy", default=None,
                        help="command that runs snapproxy (default: the venv's executable)")
    parser.add_argument("--baseline", default=None,
                        help="command that runs another snapproxy, measured in the same "
                        "rounds, e.g. 'env PYTHONPATH=/tmp/old python -m snapproxy.cli'")
    parser.add_argument("--json", type=Path, default=None,
                        help="also write every run, the medians and the ratios here")
    bs.add_load_options(parser)
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    cutoff = bs.zulu(bs.cutoff_utc(args.date))
    pip_python = bs.pip_venv(args.pip_version) / "bin" / "python"
    seen = bs.pip_sees_no_config(pip_python)
    if seen:
        raise SystemExit(f"the isolated pip still sees configuration:\n{seen}")
    facts = bs.machine_facts()
    dirty = subprocess.run(["git", "-C", str(bs.REPO), "status", "--porcelain", "--", "fetcher"],
                           capture_output=True, text=True, check=False).stdout.strip()
    facts.update({
        "fetcher/": "uncommitted changes" if dirty else "as committed",
        "baseline": args.baseline or "none",
        "pip (download)": args.pip_version,
        "cutoff": cutoff,
        "requirements": "--small: " + SMALL_REQUIREMENTS.strip() if args.small
        else str(args.requirements or JUPYTERLAB.relative_to(bs.REPO)),
        "target": args.target_args,
        "rounds": str(args.rounds),
    })
    for key, value in facts.items():
        print(f"# {key}: {value}")
    sys.stdout.flush()

    runs: list[Run] = []
    with tempfile.TemporaryDirectory(prefix="snapproxy-fetch-bench-") as tmp:
        scratch = Path(tmp)
        requirements = args.requirements or JUPYTERLAB
        if args.small:
            requirements = scratch / "requirements.txt"
            requirements.write_text(SMALL_REQUIREMENTS)
        setup = Setup(
            snapproxy=tuple(shlex.split(args.snapproxy or bs.snapproxy_executable())),
            baseline=tuple(shlex.split(args.baseline)) if args.baseline else None,
            pip_python=pip_python,
            requirements=requirements.resolve(), date=args.date, cutoff=cutoff,
            target=tuple(shlex.split(args.target_args)), scratch=scratch,
        )
        warm, base_warm = scratch / "warm-cache", scratch / "baseline-warm-cache"
        primings = [fetch(setup, "priming fetch", 0, warm, setup.snapproxy)]
        if setup.baseline:
            primings.append(fetch(setup, "baseline priming fetch", 0, base_warm, setup.baseline))
        for priming in primings:
            print(f"# {priming.competitor} (not counted): {priming.seconds:.2f}s"
                  + ("" if priming.ok else " FAILED"), flush=True)
            if not priming.ok:
                print(priming.error)
                if args.json is not None:
                    bs.dump_json(args.json, {"facts": facts, "failed": True,
                                             "error": priming.error})
                return 1
        facts["load average when timing started"] = bs.wait_for_quiet(
            args.max_load, args.load_wait)
        print(f"# load average when timing started: "
              f"{facts['load average when timing started']}", flush=True)
        for rnd in range(1, args.rounds + 1):
            got = round_runs(setup, rnd, warm, base_warm)
            runs += got
            line = ", ".join(f"{r.competitor} {r.seconds:.2f}s" + ("" if r.ok else " FAILED")
                             for r in got)
            print(f"# round {rnd}: {line}", flush=True)

    print()
    print(f"Fetch as of {cutoff}: median of {args.rounds} round(s), wall-clock seconds")
    print(results_table(runs))
    print("ratio: this row's median / pip download's median (goal: warm <= 0.60x, "
          "cold <= 1.0x)")
    status = 0
    for run in runs:
        if not run.ok:
            status = 1
            print(f"\nFAILED {run.competitor} (round {run.round}):\n{run.error}")
    good = [r for r in runs if r.ok] + primings[1:]
    reference = primings[0].files
    differing = [r for r in good if r.files != reference]
    if differing:
        status = 1
        for run in differing:
            extra = sorted(set(run.files) - set(reference))
            missing = sorted(set(reference) - set(run.files))
            print(f"\nMISMATCH {run.competitor} (round {run.round}): "
                  f"extra {extra}, missing {missing}")
    else:
        print(f"\nAll {len(good)} successful runs (and the priming fetches) got the same "
              f"{len(reference)} files.")
    facts["load average at end"] = bs.load_average()
    if args.json is not None:
        medians = {c: bs.median([r.seconds for r in runs if r.competitor == c and r.ok])
                   for c in ORDER if any(r.competitor == c for r in runs)}
        direct = medians.get(DIRECT)
        bs.dump_json(args.json, {
            "facts": facts,
            "runs": [r.__dict__ for r in runs],
            "seconds": {c: bs.spread([r.seconds for r in runs if r.competitor == c and r.ok])
                        for c in medians},
            "ratio_to_pip_download": {c: m / direct for c, m in medians.items()
                                      if m is not None and direct},
            "files": len(reference),
            "mismatches": [f"{r.competitor} (round {r.round})" for r in differing],
            "failed": any(not r.ok for r in runs),
        })
    print(f"# load average at end: {facts['load average at end']}")
    return status


if __name__ == "__main__":
    sys.exit(main())
