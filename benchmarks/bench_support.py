"""Shared plumbing for the benchmarks: isolated client venvs, servers, machine facts.

Standard library only. Every client runs in a scrubbed environment: this machine (and a
developer's) may carry pip configuration (/etc/xdg/pip/pip.conf with constraints and extra
indexes, PIP_FIND_LINKS, a user pip.conf, uv.toml). A benchmark that saw any of it would
measure the machine, not the index.

Only 127.0.0.1 and PyPI (https://pypi.org, https://files.pythonhosted.org) are contacted.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

PYPI_SIMPLE = "https://pypi.org/simple/"
REPO = Path(__file__).resolve().parent.parent
INDEX_URL_LINE = re.compile(r"--index-url (\S+)")
_SCRUBBED = {"VIRTUAL_ENV", "CONDA_PREFIX", "PYTHONPATH", "PYTHONHOME", "PYTHONUSERBASE"}


# -- environment ------------------------------------------------------------------------


def clean_env(**extra: str) -> dict[str, str]:
    """os.environ without any PIP_*/UV_* variable or venv pointer, and with no config files.

    PIP_CONFIG_FILE=/dev/null makes pip skip every config file, the global one included;
    UV_NO_CONFIG=1 does the same for uv. Proxy variables stay; loopback is always exempt.
    """
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PIP_", "UV_")) and k not in _SCRUBBED
    }
    no_proxy = ",".join(
        filter(None, [env.get("NO_PROXY") or env.get("no_proxy"), "127.0.0.1,localhost"])
    )
    env.update(
        PIP_CONFIG_FILE=os.devnull,
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        PIP_NO_INPUT="1",
        UV_NO_CONFIG="1",
        UV_PYTHON_DOWNLOADS="never",
        NO_PROXY=no_proxy,
        no_proxy=no_proxy,
    )
    env.update(extra)
    return env


def base_python() -> str:
    """The real interpreter behind the running one (not a venv's python)."""
    return str(getattr(sys, "_base_executable", None) or sys.executable)


def bench_home() -> Path:
    """Where client venvs are kept between runs ($SNAPPROXY_BENCH_HOME overrides)."""
    if override := os.environ.get("SNAPPROXY_BENCH_HOME"):
        return Path(override)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "snapproxy-bench"


def run_checked(cmd: Sequence[str], env: dict[str, str] | None = None) -> str:
    proc = subprocess.run(
        list(cmd), capture_output=True, text=True, env=env or clean_env(), check=False
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc.stdout


def tool_venv(name: str, requirement: str, python: str | None = None) -> Path:
    """A venv under bench_home() holding `requirement`, installed from PyPI by isolated pip."""
    venv = bench_home() / "venvs" / name
    done = venv / ".bench-complete"
    if done.exists() and done.read_text().strip() == requirement:
        return venv
    shutil.rmtree(venv, ignore_errors=True)
    venv.parent.mkdir(parents=True, exist_ok=True)
    print(f"# building {venv} ({requirement})", file=sys.stderr, flush=True)
    run_checked([python or base_python(), "-m", "venv", str(venv)])
    run_checked(
        [
            str(venv / "bin" / "python"), "-m", "pip", "--isolated", "--no-cache-dir",
            "install", "--quiet", "--index-url", PYPI_SIMPLE, requirement,
        ]
    )
    done.write_text(requirement + "\n")
    return venv


def pip_venv(version: str) -> Path:
    venv = tool_venv(f"pip-{version}", f"pip=={version}")
    got = run_checked([str(venv / "bin" / "python"), "-m", "pip", "--version"])
    if not got.startswith(f"pip {version} "):
        raise RuntimeError(f"{venv} should hold pip {version}, has {got!r}")
    return venv


def uv_binary(version: str | None) -> Path:
    spec = f"uv=={version}" if version else "uv"
    return tool_venv(f"uv-{version or 'latest'}", spec) / "bin" / "uv"


def timemachine_venv(version: str | None) -> Path:
    spec = f"pypi-timemachine=={version}" if version else "pypi-timemachine"
    return tool_venv(f"pypi-timemachine-{version or 'latest'}", spec)


_OUR_PIP_VARS = (":env:.config-file=", ":env:.disable-pip-version-check=", ":env:.no-input=")


def pip_sees_no_config(pip_python: Path) -> str:
    """What `pip config list` shows in the clean env beyond clean_env()'s own variables."""
    out = run_checked([str(pip_python), "-m", "pip", "config", "list"])
    return "\n".join(line for line in out.splitlines() if not line.startswith(_OUR_PIP_VARS))


def distribution_version(python: Path, name: str) -> str:
    code = f"import importlib.metadata as m; print(m.version({name!r}))"
    return run_checked([str(python), "-c", code]).strip()


def snapproxy_executable() -> str:
    found = shutil.which("snapproxy", path=str(Path(sys.executable).parent)) or shutil.which(
        "snapproxy"
    )
    if found is None:
        raise SystemExit("no `snapproxy` executable: run ./dev setup (or pip install -e .) first")
    return found


# -- cutoff -----------------------------------------------------------------------------


def cutoff_utc(text: str) -> datetime:
    """`YYYY-MM-DD` is midnight UTC; otherwise an ISO 8601 datetime that names its zone."""
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise SystemExit(f"--date {text!r} has no zone: add Z, e.g. {text}Z")
    return value.astimezone(timezone.utc)


def zulu(value: datetime) -> str:
    """`2021-05-01T00:00:00Z`: what pip, uv and pypi-timemachine all accept."""
    if value.microsecond:
        raise SystemExit("sub-second cutoffs are not supported by every competitor")
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


# -- servers ----------------------------------------------------------------------------


@dataclass
class Server:
    name: str
    proc: subprocess.Popen[bytes]
    index_url: str
    log_path: Path

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def log_tail(self, lines: int = 20) -> str:
        text = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])


def start_snapproxy(
    date: str, workdir: Path, cache_dir: Path | None, extra: Sequence[str] = (),
    command: Sequence[str] | None = None, name: str = "snapproxy",
) -> Server:
    """`snapproxy serve --date DATE --port 0 (--cache-dir DIR | --no-cache)`, ready to use.

    ``command`` runs another snapproxy (such as an earlier commit's) instead of the venv's.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    out = Path(tempfile.mkstemp(prefix="snapproxy-", suffix=".out", dir=workdir)[1])
    log = out.with_suffix(".log")
    cache = ["--cache-dir", str(cache_dir)] if cache_dir is not None else ["--no-cache"]
    cmd = [*(command or [snapproxy_executable()]), "serve", "--date", date, "--port", "0",
           *cache, *extra]
    with out.open("wb") as stdout, log.open("wb") as stderr:
        proc = subprocess.Popen(
            cmd, stdout=stdout, stderr=stderr, stdin=subprocess.DEVNULL,
            env=clean_env(PYTHONUNBUFFERED="1"),
        )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if match := INDEX_URL_LINE.search(out.read_text(errors="replace")):
            return Server(name, proc, match.group(1), log)
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    proc.kill()
    proc.wait()
    raise RuntimeError(f"snapproxy did not start: {cmd}\n{log.read_text(errors='replace')}")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def start_timemachine(venv: Path, cutoff: str, workdir: Path) -> Server:
    """`pypi-timemachine CUTOFF --port P` (uvicorn on 127.0.0.1), ready to use.

    Its index URL is `/snapshot/<cutoff>/`: the root answers every project with a 302
    there, which would cost each competitor one extra round trip per project.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    log = Path(tempfile.mkstemp(prefix="timemachine-", suffix=".log", dir=workdir)[1])
    port = free_port()
    cmd = [str(venv / "bin" / "pypi-timemachine"), cutoff, "--port", str(port)]
    with log.open("wb") as out:
        proc = subprocess.Popen(
            cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=clean_env()
        )
    opener = urllib.request.build_opener(_NoRedirect)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            # `/` is a local redirect: it proves the server is up without asking PyPI.
            opener.open(f"http://127.0.0.1:{port}/", timeout=2).close()
        except urllib.error.HTTPError as exc:
            if exc.code == 302:
                return Server("pypi-timemachine", proc, _tm_url(port, cutoff), log)
        except OSError:
            pass
        time.sleep(0.1)
    if proc.poll() is None:
        proc.kill()
    proc.wait()
    raise RuntimeError(f"pypi-timemachine did not start: {cmd}\n{log.read_text(errors='replace')}")


def _tm_url(port: int, cutoff: str) -> str:
    return f"http://127.0.0.1:{port}/snapshot/{cutoff}/"


@contextmanager
def stopping(servers: list[Server]) -> Iterator[list[Server]]:
    try:
        yield servers
    finally:
        for server in servers:
            server.stop()


# -- reporting --------------------------------------------------------------------------


def machine_facts() -> dict[str, str]:
    def git(*args: str) -> str:
        proc = subprocess.run(
            ["git", "-C", str(REPO), *args], capture_output=True, text=True, check=False
        )
        return proc.stdout.strip()

    dirty = git("status", "--porcelain", "--", "snapproxy")
    return {
        "date (UTC)": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M"),
        "machine": f"{platform.machine()}, nproc={os.cpu_count()}, {platform.platform()}",
        "python": platform.python_version() + f" ({base_python()})",
        "load average at start": load_average(),
        "snapproxy": f"git {git('rev-parse', '--short', 'HEAD')}"
        + (" + uncommitted changes under snapproxy/" if dirty else ""),
    }


def load_average() -> str:
    """1/5/15-minute load averages: the machine may be shared, so say how busy it was."""
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def add_load_options(parser: argparse.ArgumentParser) -> None:
    """--max-load and --load-wait, read by wait_for_quiet()."""
    parser.add_argument("--max-load", type=float, default=1.0,
                        help="wait for the 1-minute load average to drop below this "
                        "before timing (default: %(default)s)")
    parser.add_argument("--load-wait", type=float, default=180.0,
                        help="seconds to wait for it at most, then measure anyway "
                        "(default: %(default)s)")


def wait_for_quiet(max_load: float = 1.0, patience: float = 180.0) -> str:
    """Wait (at most ``patience`` s) for the 1-minute load average to drop below
    ``max_load``; the load averages when timing starts.

    The machine is shared and has two cores: another session's build would show up as a
    slower competitor, and whichever ran during it would lose. A benchmark that ran just
    before leaves the 1-minute average high too; it decays by half in about 40 s.
    """
    deadline = time.monotonic() + patience
    waited = False
    while os.getloadavg()[0] >= max_load and time.monotonic() < deadline:
        if not waited:
            print(f"# load {load_average()}: waiting for the 1-minute average to drop "
                  f"below {max_load} (at most {patience:.0f}s)", file=sys.stderr, flush=True)
            waited = True
        time.sleep(5)
    now = load_average()
    if os.getloadavg()[0] >= max_load:
        print(f"# WARNING: load still {now} after {patience:.0f}s; measuring anyway",
              file=sys.stderr, flush=True)
    return now


def spread(values: Sequence[float]) -> dict[str, float] | None:
    """Median, min and max (and the count) of ``values``, for the JSON reports."""
    if not values:
        return None
    return {"median": statistics.median(values), "min": min(values), "max": max(values),
            "n": len(values)}


def process_memory(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak) of a running process, in bytes (Linux)."""
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(value.split()[0]) * 1024
    return out


def median(values: Sequence[float]) -> float | None:
    return statistics.median(values) if values else None


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of an already sorted, non-empty sequence."""
    rank = max(1, min(len(sorted_values), round(q / 100 * len(sorted_values) + 0.5)))
    return sorted_values[rank - 1]


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A plain-text table, right-aligned except for the first column."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        first, *rest = cells
        cells_out = [first.ljust(widths[0])]
        cells_out += [c.rjust(w) for c, w in zip(rest, widths[1:], strict=True)]
        return "  ".join(cells_out).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(headers), rule, *(line(r) for r in rows)])


def dump_json(path: Path, data: object) -> None:
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
