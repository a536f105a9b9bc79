"""NAR sha256 of whole trees: `snapproxy hash` against `nix-hash --type sha256`.

Several trees can be timed in one invocation, each on its own:
- the generated tree (the default; --generated with other trees): a deterministic one under
  a temporary directory (seeded random bytes, --size-mb MiB of file contents in all: four
  large files, a few thousand small files of 0 B to 64 KiB in nested directories,
  executables, relative, absolute and dangling symlinks, empty directories);
- --wheelhouse-large: a real wheelhouse of 137 pinned wheels, 504 MB (tensorflow-cpu,
  scipy, pyarrow, jupyterlab and their dependencies, 8 KB to 207 MB each);
- --wheelhouse-small: a real wheelhouse of 6 pinned wheels, 0.59 MB (requests and its
  dependencies, six);
- --tree PATH (repeatable): any existing tree.
--all is the first three. The wheelhouses are made once with `pip download --no-deps` of
exact pins (see WHEELHOUSES) into --wheelhouse-dir (default
~/.cache/snapproxy-bench) and kept there; their NAR digest is checked against the pinned one.

Per tree, every file is read once before anything is timed, so neither tool pays for cold
disk reads, and each tool then runs once untimed (which also checks the digests agree).
Then, once the 1-minute load average is under --max-load, the tools run alternately for
--rounds rounds, each as a child process started when other processes have used less than
--max-busy cores for 0.3 s (the machine is shared; a run that found no such moment within
--busy-wait seconds is counted as noisy):
`snapproxy hash PATH --format base16` (the real console script) and `nix-hash --type
sha256 PATH`, plus the interpreter that runs snapproxy doing nothing (`python -c pass`:
the start-up floor, for reading the figures). Per run: wall time (time.perf_counter around
spawn and wait) and the child's peak RSS (ru_maxrss from os.wait4, KiB on Linux). Both
must print the same digest in every round.

The bars (issue 10): snapproxy's median time at most 1.10x nix-hash's on a tree of 300 MB
or more, at most 1.5x on a tree under 1 MB (none in between); its peak RSS under 64 MiB
on every tree. Exit status 1 if a bar is missed, 2 if the digests differ or a tool fails.
--json FILE writes the figures per tree (medians, ratio, bar, pass).

Usage: python benchmarks/nar_hash.py [--all | --generated --wheelhouse-large
       --wheelhouse-small --tree PATH ...] [--size-mb 600] [--rounds 5] [--seed 0] [--keep]
       [--max-load 1.0] [--load-wait 300] [--max-busy 0.2] [--busy-wait 60] [--json FILE]
       [--non-editable | --snapproxy PATH]
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
MAX_RSS_MIB = 64.0
# (smallest tree, largest tree, bar on snapproxy's median / nix-hash's), from issue 10.
TIME_BARS = [(300 * 1000 * 1000, None, 1.10), (0, 1000 * 1000 - 1, 1.5)]
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


def _cpu_jiffies() -> tuple[int, int]:
    """(busy, total) clock ticks of all CPUs since boot, from /proc/stat."""
    with open("/proc/stat") as handle:
        # user nice system idle iowait irq softirq steal (guest time is inside user)
        ticks = [int(value) for value in handle.readline().split()[1:9]]
    return sum(ticks) - ticks[3] - ticks[4], sum(ticks)


def others_busy(window: float) -> float:
    """How many cores' worth of CPU the machine spent in the last ``window`` seconds (this
    script and its launcher sleep meanwhile, so it is other processes' use)."""
    busy_before, total_before = _cpu_jiffies()
    time.sleep(window)
    busy_after, total_after = _cpu_jiffies()
    spent = total_after - total_before
    return (busy_after - busy_before) / spent * (os.cpu_count() or 1) if spent else 0.0


def wait_for_idle_cpu(max_busy: float, patience: float) -> bool:
    """Wait (at most ``patience`` s) for a moment when other processes use less than
    ``max_busy`` cores; False if none came (the run is then marked noisy).

    The 1-minute load average only says the machine was quiet before the rounds began;
    another session's tests starting during them would land on some runs and not others.
    Checking just before every run keeps those bursts out of most runs.
    """
    if max_busy <= 0:
        return True
    deadline = time.monotonic() + patience
    while others_busy(0.3) >= max_busy:
        if time.monotonic() >= deadline:
            return False
    return True


def version(argv: Sequence[str]) -> str:
    proc = subprocess.run(list(argv), capture_output=True, text=True, check=False)
    return (proc.stdout or proc.stderr).strip().splitlines()[0] if proc.returncode == 0 else "?"


# -- the real wheelhouses -----------------------------------------------------------------


@dataclass(frozen=True)
class Wheelhouse:
    name: str
    # Every wheel, pinned, downloaded with --no-deps: the same files on every machine.
    pins: tuple[str, ...]
    # What the pins were resolved from (pip download with dependencies, the same target
    # options, 2026-12-02), for the record.
    resolved_from: str
    # NAR sha256 (base16) of the directory the pins give; another one means PyPI changed.
    digest: str


# pip's target: CPython 3.11 on manylinux2014 x86_64, wheels only.
PIP_TARGET = [
    "--only-binary", ":all:", "--python-version", "3.11", "--platform",
    "manylinux2014_x86_64", "--implementation", "cp", "--abi", "cp311",
]  # fmt: skip
_LARGE_PINS = """
    absl_py==2.5.1 anyio==4.16.0 argon2_cffi==25.1.0 argon2_cffi_bindings==21.2.0
    arrow==1.4.0 asttokens==3.0.2 astunparse==1.6.3 async_lru==2.4.0 attrs==26.1.0
    babel==2.19.0 beautifulsoup4==4.15.0 bleach==6.4.0 certifi==2026.10.19.post1
    cffi==2.1.1 charset_normalizer==3.5.3 cloudpickle==3.1.3 comm==0.2.3
    contourpy==1.3.2 cryptography==50.0.2 cycler==0.12.1 debugpy==1.8.22
    defusedxml==0.7.1 executing==2.3.0 fastjsonschema==2.22.3 flatbuffers==25.12.19
    fonttools==4.68.0 fqdn==1.6.0 gast==0.7.0 google_auth==2.63.0
    google_auth_oauthlib==1.5.0 google_pasta==0.2.0 grpcio==1.62.0 h11==0.16.0
    h5py==3.14.0 httpcore==1.0.9 httpx==0.29.0 idna==3.20 ipykernel==7.4.0
    ipython==9.18.1 ipython_pygments_lexers==1.1.1 isoduration==20.11.0 jedi==0.20.1
    jinja2==3.1.6 joblib==1.6.0 json5==0.17.3 jsonpointer==3.12 jsonschema==4.26.0
    jsonschema_specifications==2025.9.1 jupyter_client==8.10.0 jupyter_core==5.9.1
    jupyter_events==0.12.1 jupyter_lsp==2.3.1 jupyter_server==2.21.1
    jupyter_server_terminals==0.5.4 jupyterlab==4.1.5 jupyterlab_pygments==0.3.0
    jupyterlab_server==2.28.1 keras==2.15.0 kiwisolver==1.5.1 lark==1.3.1
    libclang==18.1.1 markdown==3.11.3 markupsafe==3.0.4 matplotlib==3.8.3
    matplotlib_inline==0.2.2 mistune==3.4.0 ml_dtypes==0.2.0 nbclient==0.11.0
    nbconvert==7.17.2 nbformat==5.11.1 nest_asyncio2==1.7.4 notebook_shim==0.2.4
    numpy==1.26.4 oauthlib==4.0.1 opencv_python_headless==4.9.0.80 opt_einsum==3.4.0
    overrides==7.7.0 packaging==26.4 pandas==2.2.1 pandocfilters==1.5.1 parso==0.8.7
    pexpect==4.9.0 pillow==12.2.0 platformdirs==4.14.9 prometheus_client==0.26.0
    prompt_toolkit==3.0.53 protobuf==4.25.9 psutil==7.2.2 ptyprocess==0.7.0
    pure_eval==0.2.4 pyarrow==15.0.0 pyasn1==0.6.5 pyasn1_modules==0.4.2 pycparser==3.12
    pygments==2.21.0 pyparsing==3.3.3 python_dateutil==4.0.0 python_json_logger==4.2.0
    pytz==2026.6 pyyaml==6.0.4 pyzmq==26.4.0 referencing==0.37.0 requests==2.34.2
    requests_oauthlib==2.0.0 rfc3339_validator==0.1.4 rfc3986_validator==0.1.1
    rfc3987_syntax==1.1.0 rpds_py==2026.9.1 scikit_learn==1.4.1.post1 scipy==1.12.0
    send2trash==2.2.0 setuptools==84.2.1 six==1.17.0 soupsieve==2.10 stack_data==0.6.3
    tensorboard==2.15.2 tensorboard_data_server==0.7.2 tensorflow_cpu==2.15.0
    tensorflow_estimator==2.15.0 tensorflow_io_gcs_filesystem==0.37.1 termcolor==3.3.0
    terminado==0.18.1 threadpoolctl==3.8.0 tinycss2==1.5.1 tornado==6.6.1
    traitlets==5.16.1 typing_extensions==4.16.0 tzdata==2026.6 uri_template==1.3.0
    urllib3==2.8.0 wcwidth==0.9.4 webcolors==25.10.0 webencodings==0.6.1
    websocket_client==1.9.2 werkzeug==3.1.9 wheel==0.48.0 wrapt==1.14.2
"""
WHEELHOUSES = {
    "wheelhouse-large": Wheelhouse(
        "wheelhouse-large",
        tuple(_LARGE_PINS.split()),
        "tensorflow-cpu==2.15.0 numpy==1.26.4 scipy==1.12.0 pandas==2.2.1 pyarrow==15.0.0 "
        "scikit-learn==1.4.1.post1 matplotlib==3.8.3 opencv-python-headless==4.9.0.80 "
        "grpcio==1.62.0 jupyterlab==4.1.5",
        "c50fc73ed3659a237ce759c75fc5ceba5b28140ac03587af4c866cde774e967b",
    ),
    "wheelhouse-small": Wheelhouse(
        "wheelhouse-small",
        (
            "certifi==2024.8.30",
            "charset-normalizer==3.4.0",
            "idna==3.10",
            "requests==2.32.3",
            "six==1.17.0",
            "urllib3==2.2.3",
        ),
        "the same pins",
        "cbfe2eacc51fb1902d7b86ac9fd2de8ad4c12b21c92ff0fba56938d0e77f6369",
    ),
}


def wheelhouse(spec: Wheelhouse, parent: Path) -> Path:
    """The wheelhouse's directory under ``parent``, downloaded first if it is not there."""
    target = parent / spec.name
    stamp = parent / f"{spec.name}.complete"  # beside it: a file inside would be hashed
    wanted = "\n".join(spec.pins) + "\n"
    if target.is_dir() and stamp.exists() and stamp.read_text() == wanted:
        return target
    partial = parent / f"{spec.name}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    shutil.rmtree(target, ignore_errors=True)
    stamp.unlink(missing_ok=True)
    partial.mkdir(parents=True)
    command = [
        sys.executable, "-m", "pip", "download", "--isolated", "--no-deps", "--quiet",
        "--index-url", "https://pypi.org/simple/", *PIP_TARGET, "-d", str(partial),
        *spec.pins,
    ]  # fmt: skip
    print(f"# downloading {spec.name}: {' '.join(command)}", file=sys.stderr, flush=True)
    bs.run_checked(command)
    partial.rename(target)
    stamp.write_text(wanted)
    return target


# -- one tree ------------------------------------------------------------------------------


def time_bar(content_bytes: int) -> float | None:
    for smallest, largest, bar in TIME_BARS:
        if content_bytes >= smallest and (largest is None or content_bytes <= largest):
            return bar
    return None


@dataclass
class TreeResult:
    name: str
    path: Path
    stats: TreeStats
    digest: str
    tools: list[Tool]
    floor_rss_kib: int
    load_start: str
    load_end: str
    expected_digest: str = ""  # the pinned digest of a wheelhouse
    noisy_runs: int = 0  # runs started while other processes were busy (see --max-busy)
    mismatches: list[str] = field(default_factory=list)

    def tool(self, name: str) -> Tool:
        return next(t for t in self.tools if t.name == name)

    def median(self, name: str) -> float:
        return statistics.median(r.seconds for r in self.tool(name).runs)

    def peak_mib(self, name: str) -> float:
        return max(r.maxrss_kib for r in self.tool(name).runs) / 1024

    @property
    def ratio(self) -> float:
        return self.median(SNAP) / self.median(NIX)

    @property
    def bar(self) -> float | None:
        return time_bar(self.stats.content_bytes)

    @property
    def time_ok(self) -> bool | None:
        return None if self.bar is None else self.ratio <= self.bar

    @property
    def rss_ok(self) -> bool:
        return self.peak_mib(SNAP) < MAX_RSS_MIB

    def verdict(self) -> str:
        bar = self.bar
        if bar is None:
            return "no bar"
        return "PASS" if self.ratio <= bar else f"MISS by {self.ratio / bar - 1:.1%}"

    def as_json(self) -> dict[str, object]:
        spans = {
            tool.name: {
                "median_s": statistics.median(r.seconds for r in tool.runs),
                "min_s": min(r.seconds for r in tool.runs),
                "max_s": max(r.seconds for r in tool.runs),
                "peak_rss_mib": max(r.maxrss_kib for r in tool.runs) / 1024,
                "runs_s": [round(r.seconds, 6) for r in tool.runs],
            }
            for tool in self.tools
        }
        return {
            "tree": self.name,
            "path": str(self.path),
            "content_bytes": self.stats.content_bytes,
            "files": self.stats.files,
            "digest": self.digest,
            "digest_as_pinned": None
            if not self.expected_digest
            else self.digest == self.expected_digest,
            "snapproxy_median_s": spans[SNAP]["median_s"],
            "nix_hash_median_s": spans[NIX]["median_s"],
            "ratio": self.ratio,
            "bar": self.bar,
            "pass": self.time_ok,
            "snapproxy_peak_rss_mib": spans[SNAP]["peak_rss_mib"],
            "rss_bar_mib": MAX_RSS_MIB,
            "rss_pass": self.rss_ok,
            "tools": spans,
            "load_start": self.load_start,
            "load_end": self.load_end,
            "noisy_runs": self.noisy_runs,
            "mismatches": self.mismatches,
        }


SNAP, NIX, FLOOR = "snapproxy hash", "nix-hash", "python -c pass"


def script_interpreter(script: str) -> str | None:
    """The Python named on ``script``'s #! line (a console script's), if it is one."""
    try:
        with open(script, "rb") as handle:
            first = handle.readline().decode(errors="replace")
    except OSError:
        return None
    if not first.startswith("#!"):
        return None
    interpreter = first[2:].strip().split()[0] if first[2:].strip() else ""
    return interpreter if Path(interpreter).name.startswith("python") else None


def measure(args: argparse.Namespace, name: str, tree: Path, launcher: Launcher) -> TreeResult:
    started = time.perf_counter()
    stats = scan_and_warm(tree)
    print(
        f"# {name}: page cache warmed in {time.perf_counter() - started:.1f}s: {stats.describe()}",
        file=sys.stderr,
    )
    snap = Tool(SNAP, [args.snapproxy, "hash", str(tree), "--format", "base16"])
    nix = Tool(NIX, [args.nix_hash, "--type", "sha256", str(tree)])
    tools = [snap, nix]
    interpreter = script_interpreter(args.snapproxy)
    if interpreter:
        tools.append(Tool(FLOOR, [interpreter, "-c", "pass"]))

    # Untimed: one run of each (dentries, .pyc files, the digest), and the RSS floor: what
    # ru_maxrss reports for a child that does nothing (`true`), the launcher's pages that a
    # forked child starts with.
    warm = {tool.name: launcher.run(tool.argv, digest=tool.name != FLOOR) for tool in tools}
    floor = min(launcher.run(["true"], digest=False).maxrss_kib for _ in range(3))
    expected = warm[NIX].digest
    if warm[SNAP].digest != expected:
        raise BenchError(
            f"MISMATCH in the warm-up run on {tree}: snapproxy printed {warm[SNAP].digest}, "
            f"nix-hash {expected}"
        )

    wait_for_quiet(args.max_load, args.load_wait)
    load_start = bs.load_average()
    result = TreeResult(name, tree, stats, expected, tools, floor, load_start, "")
    for round_no in range(1, args.rounds + 1):
        # Alternate the order, so neither tool always follows the other.
        order = tools if round_no % 2 else tools[::-1]
        for tool in order:
            if not wait_for_idle_cpu(args.max_busy, args.busy_wait):
                result.noisy_runs += 1
            run = launcher.run(tool.argv, digest=tool.name != FLOOR)
            tool.runs.append(run)
            if tool.name != FLOOR and run.digest != expected:
                result.mismatches.append(f"round {round_no}: {tool.name} printed {run.digest}")
        print(
            f"# {name} round {round_no}: "
            + ", ".join(
                f"{t.name} {t.runs[-1].seconds:.4f}s {t.runs[-1].maxrss_kib / 1024:.1f} MiB"
                for t in tools
            ),
            file=sys.stderr,
        )
    result.load_end = bs.load_average()
    return result


def report_tree(result: TreeResult, rounds: int) -> None:
    stats = result.stats
    print(f"## {result.name}: {result.path}")
    print(f"# {stats.describe()}")
    agreed = "both tools, every round" if not result.mismatches else "nix-hash; see MISMATCH"
    pinned = ""
    if result.expected_digest:
        same = result.digest == result.expected_digest
        pinned = " (as pinned)" if same else f" (NOT the pinned {result.expected_digest})"
    print(f"# sha256 ({agreed}): {result.digest}{pinned}")
    print(
        f"# load average at start: {result.load_start}, at end: {result.load_end}; "
        f"{result.noisy_runs} of {sum(len(t.runs) for t in result.tools)} runs started while "
        "other processes were busy"
    )
    for tool in result.tools:
        print(f"# {tool.name} per round: {[round(r.seconds, 4) for r in tool.runs]}")
    nix_median = result.median(NIX)
    rows = []
    for tool in result.tools:
        seconds = [r.seconds for r in tool.runs]
        median = statistics.median(seconds)
        rows.append(
            [
                tool.name,
                f"{median * 1000:.1f}",
                f"{min(seconds) * 1000:.1f}",
                f"{max(seconds) * 1000:.1f}",
                f"{stats.content_bytes / MIB / median:.0f}",
                f"{max(r.maxrss_kib for r in tool.runs) / 1024:.1f}",
                f"{median / nix_median:.3f}x",
            ]
        )
    print(f"{rounds} rounds, wall-clock milliseconds per run")
    print(
        bs.table(
            ["tool", "median ms", "min ms", "max ms", "MiB/s", "peak RSS MiB", "/ nix-hash"],
            rows,
        )
    )
    floor = result.floor_rss_kib / 1024
    print(f"(peak RSS floor: `true` spawned the same way reports {floor:.1f} MiB)")
    bar = result.bar
    bar_text = f"bar <= {bar}x" if bar is not None else "no bar for a tree of this size"
    ratio = result.ratio
    print(f"time:   snapproxy/nix-hash median ratio {ratio:.3f} ({bar_text}) {result.verdict()}")
    print(
        f"memory: snapproxy peak RSS {result.peak_mib(SNAP):.1f} MiB (bar < {MAX_RSS_MIB:.0f} MiB) "
        f"{'PASS' if result.rss_ok else 'MISS'}"
    )
    if result.mismatches:
        print(
            "MISMATCH (nix-hash printed "
            + result.digest
            + "):\n  "
            + "\n  ".join(result.mismatches)
        )
    print()


def report_summary(results: list[TreeResult]) -> None:
    rows = []
    for r in results:
        snap = [run.seconds for run in r.tool(SNAP).runs]
        nix = [run.seconds for run in r.tool(NIX).runs]
        rows.append(
            [
                r.name,
                f"{r.stats.content_bytes / 1e6:.2f}",
                f"{r.median(SNAP) * 1000:.1f} ({min(snap) * 1000:.1f}-{max(snap) * 1000:.1f})",
                f"{r.median(NIX) * 1000:.1f} ({min(nix) * 1000:.1f}-{max(nix) * 1000:.1f})",
                f"{r.ratio:.3f}x",
                "-" if r.bar is None else f"<= {r.bar}x",
                r.verdict(),
                f"{r.peak_mib(SNAP):.1f}",
                "PASS" if r.rss_ok else "MISS",
            ]
        )
    print("summary: median (min-max) ms per run")
    print(
        bs.table(
            ["tree", "MB", "snapproxy hash", "nix-hash", "ratio", "bar", "time",
             "peak RSS MiB", "< 64 MiB"],
            rows,
        )
    )  # fmt: skip


# -- main --------------------------------------------------------------------------------


# What `snapproxy hash` runs; an uncommitted change there is named next to the commit.
HASH_PATH_FILES = [
    "pyproject.toml",
    "snapproxy/launcher.py",
    "fetcher/hash_path.py",
    "fetcher/nar.py",
    "fetcher/hash_formats.py",
    "fetcher/commands.py",
    "fetcher/nix_commands.py",
    "snapproxy/cli.py",
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


def default_snapproxy() -> str:
    beside = Path(sys.executable).parent / "snapproxy"
    if beside.exists():
        return str(beside)
    return str(bs.REPO / ".venv" / "bin" / "snapproxy")


def non_editable_snapproxy(workdir: Path) -> str:
    """The work tree installed as a wheel (as nix/package.nix installs it) in a new venv.

    The project venv is an editable install, whose finder (imported by a .pth file at
    every interpreter start-up) costs more than 10 ms: that is the developer's set-up, not
    what users run. Only snapproxy itself is installed, without its dependencies: the
    hash fast path needs none, and a run that fell back to click would fail loudly.
    """
    source, venv = workdir / "source", workdir / "venv"
    for part in ("pyproject.toml", "README.md", "snapproxy", "fetcher"):
        origin = bs.REPO / part
        if origin.is_dir():
            shutil.copytree(origin, source / part, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            source.mkdir(parents=True, exist_ok=True)
            shutil.copy2(origin, source / part)
    bs.run_checked([bs.base_python(), "-m", "venv", str(venv)])
    pip = [str(venv / "bin" / "python"), "-m", "pip", "--isolated", "--no-cache-dir"]
    bs.run_checked([*pip, "install", "--quiet", "--no-deps", str(source)])
    print(f"# installed the work tree (non-editable) in {venv}", file=sys.stderr, flush=True)
    return str(venv / "bin" / "snapproxy")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--generated",
        action="store_true",
        help="time the generated tree (the default when no other is named)",
    )
    parser.add_argument(
        "--wheelhouse-large",
        action="store_true",
        help="time the pinned 504 MB wheelhouse (downloaded if missing)",
    )
    parser.add_argument(
        "--wheelhouse-small",
        action="store_true",
        help="time the pinned 0.59 MB wheelhouse (downloaded if missing)",
    )
    parser.add_argument("--all", action="store_true", help="all three of the above")
    parser.add_argument(
        "--tree",
        type=Path,
        action="append",
        default=[],
        help="time this existing tree (repeatable)",
    )
    parser.add_argument(
        "--wheelhouse-dir",
        type=Path,
        default=bs.bench_home(),
        help="where the wheelhouses are kept (default: %(default)s)",
    )
    parser.add_argument("--size-mb", type=int, default=600, help="MiB of generated contents")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workdir", type=Path, help="parent of the generated tree")
    parser.add_argument("--keep", action="store_true", help="keep the generated tree")
    parser.add_argument("--snapproxy", default=default_snapproxy())
    parser.add_argument(
        "--non-editable",
        action="store_true",
        help="time a wheel install of the work tree in a new venv instead of --snapproxy",
    )
    parser.add_argument("--nix-hash", default=shutil.which("nix-hash") or "nix-hash")
    parser.add_argument("--max-load", type=float, default=1.0)
    parser.add_argument("--load-wait", type=float, default=300.0, help="seconds, at most")
    parser.add_argument(
        "--max-busy",
        type=float,
        default=0.2,
        help="before every run, wait for other processes to use less than this many cores "
        "(over 0.3 s; 0: do not wait)",
    )
    parser.add_argument("--busy-wait", type=float, default=60.0, help="seconds, at most")
    parser.add_argument("--json", type=Path, help="write the figures per tree to this file")
    args = parser.parse_args(argv)  # fmt: skip
    if args.rounds < 1 or args.size_mb < 1:
        parser.error("--rounds and --size-mb must be positive")
    if args.all:
        args.generated = args.wheelhouse_large = args.wheelhouse_small = True
    if not (args.tree or args.wheelhouse_large or args.wheelhouse_small):
        args.generated = True
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="nar-bench-", dir=args.workdir))
    launcher: Launcher | None = None
    results: list[TreeResult] = []
    try:
        trees: list[tuple[str, Path, str]] = []
        if args.generated:
            tree = workdir / "tree"
            started = time.perf_counter()
            build_tree(tree, args.size_mb, args.seed)
            print(
                f"# built {tree} (seed {args.seed}) in {time.perf_counter() - started:.1f}s",
                file=sys.stderr,
            )
            trees.append((f"generated ({args.size_mb} MiB, seed {args.seed})", tree, ""))
        for flag, spec in [
            (args.wheelhouse_large, WHEELHOUSES["wheelhouse-large"]),
            (args.wheelhouse_small, WHEELHOUSES["wheelhouse-small"]),
        ]:
            if flag:
                trees.append((spec.name, wheelhouse(spec, args.wheelhouse_dir), spec.digest))
        trees += [(f"tree {path.name}", path.resolve(), "") for path in args.tree]

        if args.non_editable:
            args.snapproxy = non_editable_snapproxy(workdir)
        launcher = Launcher(workdir)
        for name, path, pinned in trees:
            result = measure(args, name, path, launcher)
            result.expected_digest = pinned
            results.append(result)
    except BenchError as exc:
        print(exc)
        return 2
    finally:
        if launcher is not None:
            launcher.close()
        if args.keep and args.generated:
            (workdir / "stdout").unlink(missing_ok=True)
            (workdir / "stderr").unlink(missing_ok=True)
            print(f"# kept {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)

    print(
        f"# machine: nproc={os.cpu_count()}, {cpu_model()}, {platform.machine()}, "
        f"Linux {platform.release()}; python {platform.python_version()}; "
        f"{version([args.nix_hash, '--version'])}; snapproxy {args.snapproxy} at git "
        f"{git_head()}"
    )
    print(f"# date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print()
    for result in results:
        report_tree(result, args.rounds)
    report_summary(results)
    self_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"# this script's own peak RSS: {self_peak:.1f} MiB", file=sys.stderr)
    if args.json:
        bs.dump_json(
            args.json,
            {
                "benchmark": "nar_hash",
                "date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "machine": f"nproc={os.cpu_count()}, {cpu_model()}, Linux {platform.release()}",
                "nix_hash": version([args.nix_hash, "--version"]),
                "snapproxy": f"{args.snapproxy} at git {git_head()}",
                "rounds": args.rounds,
                "trees": [result.as_json() for result in results],
                "pass": all(r.time_ok is not False and r.rss_ok for r in results),
            },
        )
    if any(result.mismatches for result in results):
        return 2
    return 0 if all(r.time_ok is not False and r.rss_ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
