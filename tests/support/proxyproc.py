"""Run the real `snapproxy serve` CLI as a subprocess and find where it listens."""

from __future__ import annotations

import contextlib
import os
import queue
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

# The CLI's contract: one stdout line carries the pip flag to use it.
INDEX_URL_LINE = re.compile(r"--index-url (\S+)")


def snapproxy_executable() -> str:
    """The console script of the environment running the tests, else the one on PATH."""
    found = shutil.which("snapproxy", path=str(Path(sys.executable).parent)) or shutil.which(
        "snapproxy"
    )
    if found is None:
        raise FileNotFoundError("no `snapproxy` executable: run `pip install -e .` first")
    return found


def stop_process(proc: subprocess.Popen[Any], timeout: float = 10.0) -> int:
    """SIGTERM, then SIGKILL if it lingers; return the exit code."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


@dataclass
class SnapproxyServer:
    proc: subprocess.Popen[str]
    index_url: str  # http://127.0.0.1:PORT/simple/
    base: str  # http://127.0.0.1:PORT
    stderr_path: Path
    # Everything printed on stdout so far; a thread keeps draining it so the server never
    # blocks on a full pipe.
    stdout_lines: list[str] = field(default_factory=list)

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def stop(self, timeout: float = 10.0) -> int:
        """SIGTERM, then SIGKILL if it lingers; return the exit code."""
        return stop_process(self.proc, timeout)


def start_snapproxy(
    date: str,
    *,
    upstream: str,
    cache_dir: Path,
    files_host: str | None = None,
    args: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    startup_timeout: float = 30.0,
) -> SnapproxyServer:
    """`snapproxy serve --date DATE --port 0 --upstream URL [--files-host URL] --cache-dir DIR`."""
    cmd = [snapproxy_executable(), "serve", "--date", date, "--port", "0", "--upstream", upstream]
    if files_host is not None:
        cmd += ["--files-host", files_host]
    cmd += ["--cache-dir", str(cache_dir), *args]
    cache_dir.parent.mkdir(parents=True, exist_ok=True)
    return launch_serve(cmd, cache_dir.parent, env, startup_timeout)


def launch_serve(
    cmd: Sequence[str],
    workdir: Path,
    env: Mapping[str, str] | None = None,
    startup_timeout: float = 30.0,
) -> SnapproxyServer:
    """Run a `snapproxy serve` command line and wait for its `--index-url` announcement.

    Its stderr goes to a file in ``workdir``.
    """
    run_env = dict(os.environ if env is None else env)
    run_env["PYTHONUNBUFFERED"] = "1"  # else the announcement sits in a pipe buffer
    # A file, not a pipe: nobody reads stderr until a test fails, and a full pipe would block.
    with tempfile.NamedTemporaryFile(
        "w", prefix="snapproxy-", suffix=".stderr", dir=workdir, delete=False
    ) as stderr:
        stderr_path = Path(stderr.name)
        proc = subprocess.Popen(
            list(cmd),
            stdout=subprocess.PIPE,
            stderr=stderr,
            stdin=subprocess.DEVNULL,
            text=True,
            env=run_env,
        )
    lines: list[str] = []
    announced: queue.Queue[str | None] = queue.Queue()

    def drain() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if match := INDEX_URL_LINE.search(line):
                announced.put(match.group(1))
        announced.put(None)  # stdout closed: the process is gone

    threading.Thread(target=drain, name=f"snapproxy-{proc.pid}-stdout", daemon=True).start()
    index_url = None
    with contextlib.suppress(queue.Empty):
        index_url = announced.get(timeout=startup_timeout)
    if index_url is None:
        proc.kill()
        proc.wait()
        raise RuntimeError(
            f"snapproxy did not announce --index-url within {startup_timeout}s "
            f"(exit {proc.returncode})\ncommand: {cmd}\nstdout:\n{''.join(lines)}\n"
            f"stderr:\n{stderr_path.read_text(errors='replace')}"
        )
    url = urlsplit(index_url)
    return SnapproxyServer(proc, index_url, f"{url.scheme}://{url.netloc}", stderr_path, lines)
