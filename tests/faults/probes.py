"""What the fault tier measures with: the real CLI as a process, raw HTTP, curl, /proc.

Clients here do as little as possible on their own (no redirects, no decoding, no path
normalisation), so what a test sees is what the proxy put on the wire.
"""

from __future__ import annotations

import hashlib
import os
import re
import resource
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.faults.hostile_upstream import HostileUpstream
from tests.support.proxyproc import SnapproxyServer, launch_serve, snapproxy_executable

DATE = "2024-01-01"  # every server's --date
BEFORE = "2023-05-01T00:00:00.000000Z"  # an upload time the snapshot shows
# `... INFO GET /simple/alpha/ 200 miss 1.2ms`: method, path, status.
ACCESS = re.compile(r" (GET|HEAD|POST|PUT|DELETE|OPTIONS) (\S+) (\d{3}) ")
MiB = 1024 * 1024


@dataclass
class Proxy:
    """One `snapproxy serve` process."""

    server: SnapproxyServer
    cache_dir: Path | None

    @property
    def base(self) -> str:
        return self.server.base

    @property
    def port(self) -> int:
        port = urlsplit(self.base).port
        assert port is not None
        return port

    @property
    def pid(self) -> int:
        return self.server.proc.pid

    def url(self, path: str) -> str:
        return self.base + path

    def stderr(self) -> str:
        return self.server.stderr()

    def statuses(self) -> list[tuple[str, int]]:
        """(path, status) of every access line logged so far."""
        return [(m.group(2), int(m.group(3))) for m in ACCESS.finditer(self.stderr())]

    def status_of(self, key: str) -> int:
        """A /proc/<pid>/status value in bytes (VmRSS, VmHWM) or as a count."""
        text = Path(f"/proc/{self.pid}/status").read_text()
        match = re.search(rf"^{key}:\s+(\d+)( kB)?$", text, re.MULTILINE)
        assert match is not None, f"no {key} in /proc/{self.pid}/status"
        return int(match.group(1)) * (1024 if match.group(2) else 1)

    def rss(self) -> int:
        return self.status_of("VmRSS")

    def peak_rss(self) -> int:
        return self.status_of("VmHWM")

    def fds(self) -> int:
        return len(os.listdir(f"/proc/{self.pid}/fd"))

    def kill(self) -> None:
        """SIGKILL: no cleanup of any kind runs."""
        self.server.proc.send_signal(signal.SIGKILL)
        self.server.proc.wait(30)

    def stop(self) -> int:
        return self.server.stop()

    def alive(self) -> bool:
        return self.server.proc.poll() is None


def launch(
    upstream: HostileUpstream,
    *args: str,
    cache_dir: Path | None,
    workdir: Path,
    date: str = DATE,
    port_args: Sequence[str] = ("--port", "0"),
) -> Proxy:
    """`snapproxy serve` against `upstream`'s index and files host; no cache dir: --no-cache."""
    cmd = [
        snapproxy_executable(), "serve", "--date", date, *port_args,
        "--upstream", upstream.index, "--files-host", upstream.files,
    ]
    cmd += ["--cache-dir", str(cache_dir)] if cache_dir is not None else ["--no-cache"]
    cmd += list(args)
    workdir.mkdir(parents=True, exist_ok=True)
    server = launch_serve(cmd, workdir)
    return Proxy(server, cache_dir)


def limit_open_files(pid: int, soft: int) -> None:
    """Give a running process the common default descriptor limit (1024 on most systems)."""
    _, hard = resource.prlimit(pid, resource.RLIMIT_NOFILE)
    resource.prlimit(pid, resource.RLIMIT_NOFILE, (soft, hard))


def need_open_files(wanted: int) -> None:
    """Raise this process's descriptor limit to `wanted`, or skip the test saying why."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < wanted:
        if hard != resource.RLIM_INFINITY and hard < wanted:
            pytest.skip(f"needs {wanted} open files; the hard limit here is {hard}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


# ---- raw HTTP ----------------------------------------------------------------------------


@dataclass(frozen=True)
class RawResponse:
    status: int
    headers: dict[str, str]  # lower-cased names; the last value wins
    body: bytes  # as received, de-chunked
    complete: bool  # the framing said the body ended here (not EOF or a reset)
    raw_head: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.body).hexdigest()

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


def raw_request(
    port: int, request: bytes, timeout: float = 60.0, host: str = "127.0.0.1"
) -> RawResponse:
    """Send `request` as is and read one response to its end (or to EOF / a reset)."""
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(request)
        return read_response(sock, head_only=request.startswith(b"HEAD "))


def get(
    port: int, path: str, headers: dict[str, str] | None = None, timeout: float = 60.0
) -> RawResponse:
    """An HTTP/1.1 GET with `Connection: close`, path sent exactly as given."""
    fields = {"Host": f"127.0.0.1:{port}", "Connection": "close", **(headers or {})}
    head = f"GET {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in fields.items())
    return raw_request(port, (head + "\r\n").encode("latin-1"), timeout)


def read_response(sock: socket.socket, head_only: bool = False) -> RawResponse:
    buffer = b""
    while b"\r\n\r\n" not in buffer:
        data = _recv(sock)
        if not data:
            raise ConnectionError(f"connection closed before a complete head: {buffer!r}")
        buffer += data
    head, _, rest = buffer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if head_only or status in (204, 304) or 100 <= status < 200:
        return RawResponse(status, headers, b"", True, head)
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body, complete = _read_chunked(sock, rest)
        return RawResponse(status, headers, body, complete, head)
    if "content-length" in headers:
        length = int(headers["content-length"])
        body = rest
        while len(body) < length:
            data = _recv(sock)
            if not data:
                break
            body += data
        return RawResponse(status, headers, body[:length], len(body) >= length, head)
    body = rest
    while data := _recv(sock):
        body += data
    # Delimited by EOF only: a cut looks the same as the end, so it never counts as complete.
    return RawResponse(status, headers, body, False, head)


def _recv(sock: socket.socket) -> bytes:
    try:
        return sock.recv(1024 * 1024)
    except ConnectionResetError:
        return b""


def _read_chunked(sock: socket.socket, data: bytes) -> tuple[bytes, bool]:
    body = b""
    while True:
        while b"\r\n" not in data:
            more = _recv(sock)
            if not more:
                return body, False
            data += more
        size_line, _, data = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        while len(data) < size + 2:
            more = _recv(sock)
            if not more:
                return body + data[:size], False
            data += more
        if size == 0:
            return body, True
        body += data[:size]
        data = data[size + 2 :]


# ---- curl --------------------------------------------------------------------------------


@dataclass(frozen=True)
class CurlResult:
    exit_code: int
    body: bytes
    stderr: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.body).hexdigest()


def curl(url: str, dest: Path, *args: str, timeout: float = 60.0) -> CurlResult:
    """`curl -sS -o DEST URL`: its exit status says whether it took the body for whole."""
    proc = subprocess.run(
        ["curl", "-sS", "--noproxy", "*", "--max-time", str(timeout), "-o", str(dest), *args, url],
        capture_output=True,
        text=True,
        timeout=timeout + 30,
        check=False,
    )
    body = dest.read_bytes() if dest.exists() else b""
    return CurlResult(proc.returncode, body, proc.stderr)


# ---- the cache directory -------------------------------------------------------------------


def cache_files(cache_dir: Path) -> list[Path]:
    return sorted(p for p in cache_dir.rglob("*") if p.is_file()) if cache_dir.exists() else []


def files_holding(cache_dir: Path, content: bytes) -> list[Path]:
    """Cache files whose bytes are `content` (found by content: the layout is the server's)."""
    size = len(content)
    return [
        p for p in cache_files(cache_dir) if p.stat().st_size == size and p.read_bytes() == content
    ]


def files_containing(cache_dir: Path, needle: bytes) -> list[Path]:
    return [p for p in cache_files(cache_dir) if needle in p.read_bytes()]


def wait_for(predicate: Callable[[], object], what: str, timeout: float = 60.0) -> None:
    """Poll until `predicate()` holds; a hang guard (a deadlock fails), not a time limit."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up after {timeout:g}s waiting for {what}")
        time.sleep(0.02)
