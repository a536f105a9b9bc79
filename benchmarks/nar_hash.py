"""NAR sha256 of a large tree: `snapproxy hash` against `nix-hash --type sha256`.

Both tools hash the same tree: by default a deterministic one generated under a temporary
directory (seeded random bytes, --size-mb MiB of file contents in all: four large files, a
few thousand small files of 0 B to 64 KiB in nested directories, executables, relative,
absolute and dangling symlinks, empty directories); --tree PATH uses an existing tree
instead. Every file is read once before anything is timed, so neither tool pays for cold
disk reads, and each tool then runs once untimed (which also checks the digests agree).

Then the two tools run alternately for --rounds rounds, each as a child process:
`snapproxy hash PATH --format base16` (the real CLI) and `nix-hash --type sha256 PATH`.
Per run: wall time (time.perf_counter around spawn and wait) and the child's peak RSS
(ru_maxrss from os.wait4, KiB on Linux). Both must print the same digest in every round.

The bars come from the project's issue, for a tree of more than 500 MB: snapproxy's peak
RSS under 64 MiB, and its median time at most 1.1x nix-hash's. Exit status 1 if a bar
is missed, 2 if the digests differ or a tool fails.

Usage: python benchmarks/nar_hash.py [--size-mb 600] [--rounds 5] [--tree PATH]
       [--seed 0] [--keep] [--max-load 1.0] [--load-wait 300]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import bench_support as bs

MIB = 1024 * 1024
MAX_RATIO = 1.1
MAX_RSS_MIB = 64.0
MIN_TREE_BYTES = 500 * 1000 * 1000  # "more than 500 MB"
BIG_FILES = 4
SMALL_MAX = 64 * 1024
WRITE_CHUNK = 4 * MIB
# Names chosen so that byte order differs from case-insensitive and from code point order
# in UTF-8 would not: upper case sorts before lower case, and multi-byte names last.
ODD_NAMES = ["B", "a", "Z.txt", "_", "-dash", "é", "日本", "name with spaces", "x" * 200]


# -- the tree ----------------------------------------------------------------------------


@dataclass
class TreeStats:
    files: int = 0
    executables: int = 0
    symlinks: int = 0
    directories: int = 0
    empty_directories: int = 0
    content_bytes: int = 0
    largest: int = 0

    def describe(self) -> str:
        return (
            f"{self.content_bytes / MIB:.1f} MiB ({self.content_bytes / 1e6:.1f} MB) in "
            f"{self.files} files ({self.executables} executable, largest "
            f"{self.largest / MIB:.1f} MiB), {self.symlinks} symlinks, "
            f"{self.directories} directories ({self.empty_directories} empty)"
        )


def _write_random(path: Path, size: int, rng: random.Random, executable: bool) -> None:
    with open(path, "wb") as handle:
        left = size
        while left:
            step = min(left, WRITE_CHUNK)
            handle.write(rng.randbytes(step))
            left -= step
    path.chmod(0o755 if executable else 0o644)


def build_tree(root: Path, size_mib: int, seed: int) -> None:
    """A deterministic tree of about ``size_mib`` MiB of file contents under ``root``."""
    rng = random.Random(seed)
    total = size_mib * MIB
    # A few thousand small files, at most about a third of the total; the rest goes to
    # four large files of slightly different sizes (not multiples of 8, so padding shows).
    small_count = max(16, min(4000, total // 3 // (SMALL_MAX // 2)))
    small_sizes = [0, 1, 7, 8, 9, SMALL_MAX] + [
        rng.randint(0, SMALL_MAX) for _ in range(small_count - 6)
    ]
    big_total = max(0, total - sum(small_sizes))
    big_sizes = [big_total // BIG_FILES + (i * 4099) - 6000 for i in range(BIG_FILES)]
    big_sizes[-1] = big_total - sum(big_sizes[:-1])

    root.mkdir(parents=True)
    big = root / "big"
    big.mkdir()
    for i, size in enumerate(big_sizes):
        _write_random(big / f"blob-{i}.bin", max(0, size), rng, executable=(i == 1))

    # Nested directories: src/pkgNN/modNN/[subNN/] with the small files spread over them.
    dirs: list[Path] = []
    src = root / "src"
    for p in range(12):
        for m in range(rng.randint(2, 6)):
            leaf = src / f"pkg{p:02d}" / f"mod{m:02d}"
            dirs.append(leaf)
            if rng.random() < 0.4:
                dirs.append(leaf / f"sub{m:02d}" / "deeper")
    for d in dirs:
        d.mkdir(parents=True, exist_ok=True)
    odd = root / "odd names"
    odd.mkdir()
    for i, size in enumerate(small_sizes):
        if i < len(ODD_NAMES):
            path = odd / ODD_NAMES[i]
        else:
            path = dirs[rng.randrange(len(dirs))] / f"f{i:05d}{rng.choice(['.py', '.so', ''])}"
        _write_random(path, size, rng, executable=rng.random() < 0.05)

    bindir = root / "bin"
    bindir.mkdir()
    (bindir / "tool").symlink_to("../big/blob-1.bin")  # relative, to an executable
    (bindir / "src").symlink_to("../src")  # relative, to a directory (not followed)
    (bindir / "dangling").symlink_to("../does/not/exist")  # relative, dangling
    (bindir / "absolute").symlink_to("/nonexistent/snapproxy-bench")  # absolute, dangling
    (bindir / "self").symlink_to("self")  # a loop
    (bindir / "dot").symlink_to(".")
    for i, d in enumerate(dirs[::7]):
        (d / f"link{i}").symlink_to(f"../{d.parent.name}")

    for empty in ("empty", "nested/empty/a", "nested/empty/b", "src/pkg00/empty"):
        (root / empty).mkdir(parents=True)
    # Directory modes are not part of a NAR; make sure they stay readable for both tools.
    os.chmod(root, 0o755)


def scan_and_warm(root: Path) -> TreeStats:
    """Read every regular file once (page cache) and count what the tree holds."""
    stats = TreeStats()
    buf = bytearray(MIB)
    view = memoryview(buf)
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        stats.directories += 1
        if not dirnames and not filenames:
            stats.empty_directories += 1
        names = filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]
        for name in names:
            path = os.path.join(dirpath, name)
            info = os.lstat(path)
            if os.path.islink(path):
                stats.symlinks += 1
                continue
            if not os.path.isfile(path):
                continue
            stats.files += 1
            stats.executables += bool(info.st_mode & 0o100)
            stats.content_bytes += info.st_size
            stats.largest = max(stats.largest, info.st_size)
            with open(path, "rb", buffering=0) as handle:
                while handle.readinto(view):
                    pass
    return stats


# -- running the tools -------------------------------------------------------------------


@dataclass
class Run:
    seconds: float
    maxrss_kib: int
    digest: str


@dataclass
class Tool:
    name: str
    argv: list[str]
    runs: list[Run] = field(default_factory=list)


# The children are not spawned by this script itself but by a small launcher process that
# forks (not vforks) them. The kernel folds the RSS high-water mark of the memory a child
# had before exec into the ru_maxrss that wait4 reports: a vforked child (subprocess's
# default) would inherit this script's own peak (tens of MiB after building the tree), a
# forked one inherits only the pages it shares with its parent. The launcher stays a few
# MiB, below what any real tool uses; `true` run the same way shows that floor.
_LAUNCHER = r"""
import json, os, sys, time
for line in sys.stdin:
    job = json.loads(line)
    start = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        try:
            os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
            os.dup2(os.open(job["stdout"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), 1)
            os.dup2(os.open(job["stderr"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), 2)
            os.execvp(job["argv"][0], job["argv"])
        finally:
            os._exit(127)
    _, status, usage = os.wait4(pid, 0)
    seconds = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    print(json.dumps([seconds, usage.ru_maxrss, code]), flush=True)
"""


class BenchError(Exception):
    """A tool failed or the digests differ: the figures mean nothing (exit status 2)."""


class Launcher:
    """Runs one command at a time: wall time (perf_counter) and ru_maxrss via os.wait4."""

    def __init__(self, scratch: Path) -> None:
        self._out = scratch / "stdout"
        self._err = scratch / "stderr"
        self._proc = subprocess.Popen(
            [sys.executable, "-I", "-S", "-c", _LAUNCHER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )

    def run(self, argv: Sequence[str], digest: bool = True) -> Run:
        assert self._proc.stdin is not None and self._proc.stdout is not None
        job = {"argv": list(argv), "stdout": str(self._out), "stderr": str(self._err)}
        self._proc.stdin.write(json.dumps(job) + "\n")
        self._proc.stdin.flush()
        reply = self._proc.stdout.readline()
        if not reply:
            raise BenchError(f"FAILED: the launcher died running {' '.join(argv)}")
        seconds, maxrss_kib, code = json.loads(reply)
        stdout = self._out.read_text(errors="replace").strip()
        stderr = self._err.read_text(errors="replace").strip()
        if code != 0 or (digest and not stdout):
            raise BenchError(
                f"FAILED: {' '.join(argv)} exited {code}\n"
                f"stdout: {stdout[-2000:]}\nstderr: {stderr[-2000:]}"
            )
        return Run(seconds, maxrss_kib, stdout.split()[-1] if stdout else "")

    def close(self) -> None:
        assert self._proc.stdin is not None
        self._proc.stdin.close()
        self._proc.wait(timeout=30)


def wait_for_quiet(max_load: float, patience: float) -> None:
    """Wait (at most ``patience`` s) until the 1-minute load average is under ``max_load``."""
    deadline = time.monotonic() + patience
    while os.getloadavg()[0] >= max_load and time.monotonic() < deadline:
        print(f"# load {bs.load_average()}, waiting for < {max_load}", file=sys.stderr)
        time.sleep(15)
    if os.getloadavg()[0] >= max_load:
        print(f"# WARNING: load still {bs.load_average()}; measuring anyway", file=sys.stderr)


def version(argv: Sequence[str]) -> str:
    proc = subprocess.run(list(argv), capture_output=True, text=True, check=False)
    return (proc.stdout or proc.stderr).strip().splitlines()[0] if proc.returncode == 0 else "?"


# What `snapproxy hash` runs; an uncommitted change there is named next to the commit.
HASH_PATH_FILES = [
    "fetcher/nar.py",
    "fetcher/hash_formats.py",
    "fetcher/commands.py",
    "snapproxy/cli.py",
    "snapproxy/cli_options.py",
    "snapproxy/serve_command.py",
]


def git_head() -> str:
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(bs.REPO), *args], capture_output=True, text=True, check=False
        ).stdout.rstrip()

    dirty = [line[3:] for line in git("status", "--porcelain", "--", *HASH_PATH_FILES).splitlines()]
    head = git("rev-parse", "--short", "HEAD").strip()
    return head + (f" + uncommitted changes in {', '.join(dirty)}" if dirty else "")


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


# -- main --------------------------------------------------------------------------------


def default_snapproxy() -> str:
    beside = Path(sys.executable).parent / "snapproxy"
    if beside.exists():
        return str(beside)
    return str(bs.REPO / ".venv" / "bin" / "snapproxy")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=600, help="MiB of file contents")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--tree", type=Path, help="hash this existing tree instead")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workdir", type=Path, help="parent of the generated tree")
    parser.add_argument("--keep", action="store_true", help="keep the generated tree")
    parser.add_argument("--snapproxy", default=default_snapproxy())
    parser.add_argument("--nix-hash", default=shutil.which("nix-hash") or "nix-hash")
    parser.add_argument("--max-load", type=float, default=1.0)
    parser.add_argument("--load-wait", type=float, default=300.0, help="seconds, at most")
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.size_mb < 1:
        parser.error("--rounds and --size-mb must be positive")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="nar-bench-", dir=args.workdir))
    launcher: Launcher | None = None
    try:
        if args.tree:
            tree = args.tree.resolve()
        else:
            tree = workdir / "tree"
            started = time.perf_counter()
            build_tree(tree, args.size_mb, args.seed)
            print(
                f"# built {tree} (seed {args.seed}) in {time.perf_counter() - started:.1f}s",
                file=sys.stderr,
            )
        launcher = Launcher(workdir)
        return measure(args, tree, launcher)
    except BenchError as exc:
        print(exc)
        return 2
    finally:
        if launcher is not None:
            launcher.close()
        if args.keep and not args.tree:
            (workdir / "stdout").unlink(missing_ok=True)
            (workdir / "stderr").unlink(missing_ok=True)
            print(f"# kept {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def measure(args: argparse.Namespace, tree: Path, launcher: Launcher) -> int:
    started = time.perf_counter()
    stats = scan_and_warm(tree)
    print(
        f"# page cache warmed in {time.perf_counter() - started:.1f}s: {stats.describe()}",
        file=sys.stderr,
    )
    snap = Tool("snapproxy hash", [args.snapproxy, "hash", str(tree), "--format", "base16"])
    nix = Tool("nix-hash", [args.nix_hash, "--type", "sha256", str(tree)])
    tools = [snap, nix]

    # Untimed: one run of each (dentries, .pyc files, the digest), and the RSS floor: what
    # ru_maxrss reports for a child that does nothing (`true`), the launcher's pages that a
    # forked child starts with.
    warm = {tool.name: launcher.run(tool.argv) for tool in tools}
    floor = min(launcher.run(["true"], digest=False).maxrss_kib for _ in range(3))
    expected = warm[nix.name].digest
    if warm[snap.name].digest != expected:
        raise BenchError(
            f"MISMATCH in the warm-up run: snapproxy printed {warm[snap.name].digest}, "
            f"nix-hash {expected}"
        )

    wait_for_quiet(args.max_load, args.load_wait)
    load_start = bs.load_average()
    mismatches: list[str] = []
    for round_no in range(1, args.rounds + 1):
        # Alternate which tool goes first, so neither always follows the other.
        order = tools if round_no % 2 else tools[::-1]
        for tool in order:
            run = launcher.run(tool.argv)
            tool.runs.append(run)
            if run.digest != expected:
                mismatches.append(f"round {round_no}: {tool.name} printed {run.digest}")
        print(
            f"# round {round_no}: "
            + ", ".join(
                f"{t.name} {t.runs[-1].seconds:.3f}s {t.runs[-1].maxrss_kib / 1024:.1f} MiB"
                for t in tools
            ),
            file=sys.stderr,
        )
    load_end = bs.load_average()

    origin = "given" if args.tree else f"generated, seed {args.seed}"
    print(f"# tree ({origin}): {tree}: {stats.describe()}")
    agreed = "both tools, every round" if not mismatches else "nix-hash; see MISMATCH below"
    print(f"# sha256 ({agreed}): {expected}")
    print(
        f"# machine: nproc={os.cpu_count()}, {cpu_model()}, {platform.machine()}, "
        f"Linux {platform.release()}; python {platform.python_version()}; "
        f"{version([args.nix_hash, '--version'])}; snapproxy git {git_head()}"
    )
    print(f"# load average at start: {load_start}, at end: {load_end}")
    print(
        f"# per-round seconds: snapproxy {[round(r.seconds, 3) for r in snap.runs]}, "
        f"nix-hash {[round(r.seconds, 3) for r in nix.runs]}"
    )

    med = {t.name: statistics.median(r.seconds for r in t.runs) for t in tools}
    peak = {t.name: max(r.maxrss_kib for r in t.runs) / 1024 for t in tools}
    ratio = med[snap.name] / med[nix.name]
    ratio_ok = ratio <= MAX_RATIO
    rss_ok = peak[snap.name] < MAX_RSS_MIB
    rows = [
        [
            t.name,
            f"{med[t.name]:.3f}",
            f"{min(r.seconds for r in t.runs):.3f}",
            f"{max(r.seconds for r in t.runs):.3f}",
            f"{stats.content_bytes / MIB / med[t.name]:.0f}",
            f"{peak[t.name]:.1f}",
            f"{med[t.name] / med[nix.name]:.2f}x",
        ]
        for t in tools
    ]
    print(f"NAR sha256 of one tree, {args.rounds} rounds, wall-clock seconds per run")
    print(
        bs.table(
            ["tool", "median s", "min s", "max s", "MiB/s", "peak RSS MiB", "/ nix-hash"],
            rows,
        )
    )
    print(f"(peak RSS floor: `true` spawned the same way reports {floor / 1024:.1f} MiB)")
    print(
        f"time:   snapproxy/nix-hash median ratio {ratio:.3f} (bar <= {MAX_RATIO}) "
        f"{'PASS' if ratio_ok else 'FAIL'}"
    )
    print(
        f"memory: snapproxy peak RSS {peak[snap.name]:.1f} MiB (bar < {MAX_RSS_MIB:.0f} MiB) "
        f"{'PASS' if rss_ok else 'FAIL'}"
    )
    if stats.content_bytes <= MIN_TREE_BYTES:
        print("note: the tree holds no more than 500 MB; the issue's bars are for larger trees")
    if mismatches:
        print("MISMATCH (nix-hash printed " + expected + "):\n  " + "\n  ".join(mismatches))
        return 2
    self_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"# this script's own peak RSS: {self_peak:.1f} MiB", file=sys.stderr)
    return 0 if ratio_ok and rss_ok else 1


if __name__ == "__main__":
    sys.exit(main())
