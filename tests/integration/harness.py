"""What the integration tests share: the fake catalogue, real clients, proxy logs, a tap.

Every client is driven the way a user would drive it, against a real `snapproxy serve`
subprocess in front of the local fake upstream; nothing here talks to another host.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol

import aiohttp
from aiohttp import web
from multidict import CIMultiDict
from packaging.utils import canonicalize_name, parse_sdist_filename, parse_wheel_filename
from packaging.version import Version
from yarl import URL

from tests.support.clients import (
    base_python,
    clean_client_env,
    pip_venv,
    run_pip,
    run_uv,
    uv_binary,
)
from tests.support.distributions import make_wheel
from tests.support.fakeindex import FakeFile, FakeIndex
from tests.support.proxyproc import SnapproxyServer
from tests.support.servers import serve_in_thread

# ---- the catalogue: what upstream holds, and when each file was uploaded ------------------

CUTOFF = "2023-06-01"  # the server's --date
EARLY = "2023-02-15"  # after alpha 1.0 and beta 1.0, before alpha 1.1
LATE = "2023-09-01"  # after everything: alpha 2.0 and newproj exist

ALPHA_10 = make_wheel("alpha", "1.0")
ALPHA_11 = make_wheel("alpha", "1.1")
ALPHA_20 = make_wheel("alpha", "2.0")
BETA_10 = make_wheel("beta", "1.0", requires=["alpha<3"])
NEWPROJ_10 = make_wheel("newproj", "1.0")

UPLOADED = {
    ALPHA_10: "2023-01-10T10:00:00.000000Z",
    BETA_10: "2023-02-01T09:30:00.000000Z",
    ALPHA_11: "2023-03-10T10:00:00.000000Z",
    ALPHA_20: "2023-07-10T10:00:00.000000Z",
    NEWPROJ_10: "2023-08-01T00:00:00.000000Z",
}


def add_catalogue(fake: FakeIndex, *, alpha_11_yanked: bool | str = False) -> None:
    """alpha 1.0, 1.1 (before CUTOFF) and 2.0 (after); beta 1.0 needs alpha<3; newproj after."""
    fake.add(
        "alpha",
        FakeFile(ALPHA_10, UPLOADED[ALPHA_10]),
        FakeFile(ALPHA_11, UPLOADED[ALPHA_11], yanked=alpha_11_yanked),
        FakeFile(ALPHA_20, UPLOADED[ALPHA_20]),
    )
    fake.add("beta", FakeFile(BETA_10, UPLOADED[BETA_10]))
    fake.add("newproj", FakeFile(NEWPROJ_10, UPLOADED[NEWPROJ_10]))


def snapshot_index(server: SnapproxyServer, cutoff: str) -> str:
    return f"{server.base}/snapshot/{cutoff}/simple/"


# ---- clients --------------------------------------------------------------------------

PIP_VERSIONS = ("26.3", "24.0", "22.0.4", "20.3.4")
CLIENT_IDS = (*(f"pip-{v}" for v in PIP_VERSIONS), "uv")


@dataclass(frozen=True)
class Resolution:
    """What a client chose for some requirements (or why it could not)."""

    returncode: int
    output: str
    pins: dict[str, str]  # normalised name -> version
    # normalised name -> the URL the client got the file (or its metadata) from, when known
    urls: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.returncode == 0


@dataclass(frozen=True)
class Installation:
    proc: subprocess.CompletedProcess[str]
    versions: Callable[..., dict[str, str]]  # import modules, read their __version__

    @property
    def output(self) -> str:
        return self.proc.stdout + self.proc.stderr


def _versions_in(python: Path, path: Path | None, modules: Sequence[str]) -> dict[str, str]:
    """`module.__version__` of each module as `python` imports it (from `path` first)."""
    code = (
        "import importlib, json, sys\n"
        "if sys.argv[1]: sys.path.insert(0, sys.argv[1])\n"
        "out = {}\n"
        "for name in sys.argv[2:]:\n"
        "    m = importlib.import_module(name)\n"
        "    out[name] = [m.__version__, m.__file__]\n"
        "print(json.dumps(out))\n"
    )
    proc = subprocess.run(
        [str(python), "-I", "-c", code, str(path or ""), *modules],
        capture_output=True,
        text=True,
        env=clean_client_env(),
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    found: dict[str, list[str]] = json.loads(proc.stdout)
    if path is not None:  # the module must come from where it was just installed
        for name, (_, where) in found.items():
            assert Path(where).is_relative_to(path), (name, where, path)
    return {name: version for name, (version, _) in found.items()}


def _pins_from_files(directory: Path) -> dict[str, str]:
    pins = {}
    for item in directory.iterdir():
        if item.name.endswith(".whl"):
            name, version, _, _ = parse_wheel_filename(item.name)
        else:
            name, version = parse_sdist_filename(item.name)
        pins[str(name)] = str(version)
    return pins


@dataclass(frozen=True)
class PipClient:
    version: str
    venv: Path

    @property
    def id(self) -> str:
        return f"pip-{self.version}"

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"

    @property
    def has_report(self) -> bool:
        """`install --dry-run --report` exists from pip 22.2 on."""
        return Version(self.version) >= Version("22.2")

    @property
    def reads_json(self) -> bool:
        """pip asks for the PEP 691 JSON form from 22.2 on; before, it takes only text/html."""
        return Version(self.version) >= Version("22.2")

    @property
    def uses_metadata_files(self) -> bool:
        """PEP 658 metadata files, advertised as PEP 714 `core-metadata` (pip 23.2 on)."""
        return Version(self.version) >= Version("23.2")

    not_found = "No matching distribution found for {name}"
    yank_warning = "Reason for being yanked: {reason}"
    hash_mismatch = "THESE PACKAGES DO NOT MATCH THE HASHES"

    def pip(self, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        return run_pip(self.venv, *args, cwd=cwd)

    def resolve(self, index_url: str, requirements: Sequence[str], work: Path) -> Resolution:
        """`install --dry-run --report` where pip has it, else `download -d`."""
        work.mkdir(parents=True, exist_ok=True)
        if self.has_report:
            report = work / "report.json"
            proc = self.pip(
                "install", "--dry-run", "--ignore-installed", "--report", str(report),
                "--index-url", index_url, *requirements,
            )
            output = proc.stdout + proc.stderr
            if proc.returncode != 0:
                return Resolution(proc.returncode, output, {})
            chosen = json.loads(report.read_text())["install"]
            pins = {
                str(canonicalize_name(c["metadata"]["name"])): c["metadata"]["version"]
                for c in chosen
            }
            urls = {
                str(canonicalize_name(c["metadata"]["name"])): c["download_info"]["url"]
                for c in chosen
            }
            return Resolution(proc.returncode, output, pins, urls)
        dest = work / "downloads"
        proc = self.pip("download", "-d", str(dest), "--index-url", index_url, *requirements)
        output = proc.stdout + proc.stderr
        if proc.returncode != 0:
            return Resolution(proc.returncode, output, {})
        return Resolution(proc.returncode, output, _pins_from_files(dest))

    def install(
        self, index_url: str, requirements: Sequence[str], work: Path, *extra: str
    ) -> Installation:
        """`pip install --target` into a fresh directory."""
        target = work / "target"
        proc = self.pip(
            "install", "--target", str(target), "--index-url", index_url, *extra, *requirements
        )
        return Installation(proc, lambda *m: _versions_in(self.python, target, m))


@dataclass(frozen=True)
class UvClient:
    uv: Path
    env: tuple[tuple[str, str], ...] = ()  # extra variables for every uv run

    id = "uv"
    reads_json = True
    uses_metadata_files = True
    has_report = False
    not_found = "{name} was not found in the package registry"
    yank_warning = 'is yanked (reason: "{reason}")'
    hash_mismatch = "Hash mismatch"

    def with_env(self, **variables: str) -> UvClient:
        return replace(self, env=(*self.env, *variables.items()))

    def run(self, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        return run_uv(*args, env=clean_client_env(**dict(self.env)), cwd=cwd)

    def resolve(self, index_url: str, requirements: Sequence[str], work: Path) -> Resolution:
        """`uv pip compile --index-url ... --python-version 3.11`."""
        work.mkdir(parents=True, exist_ok=True)
        source = work / "requirements.in"
        source.write_text("".join(f"{r}\n" for r in requirements))
        proc = self.run(
            "pip", "compile", "--index-url", index_url, "--python-version", "3.11",
            "--no-header", "--no-annotate", str(source),
        )
        output = proc.stdout + proc.stderr
        if proc.returncode != 0:
            return Resolution(proc.returncode, output, {})
        pins = {}
        for line in proc.stdout.splitlines():
            if "==" in line and not line.lstrip().startswith("#"):
                name, version = line.strip().split("==", 1)
                pins[str(canonicalize_name(name))] = version
        return Resolution(proc.returncode, output, pins)

    def venv(self, work: Path) -> Path:
        """A fresh virtual environment made by `uv venv`; returns its python."""
        venv = work / "venv"
        proc = self.run("venv", "--python", base_python(), str(venv))
        assert proc.returncode == 0, proc.stderr
        return venv / "bin" / "python"

    def install(
        self, index_url: str, requirements: Sequence[str], work: Path, *extra: str
    ) -> Installation:
        """`uv venv` + `uv pip install --python VENV/bin/python` (a fresh environment)."""
        python = self.venv(work)
        proc = self.run(
            "pip", "install", "--python", str(python), "--index-url", index_url, *extra,
            *requirements,
        )
        return Installation(proc, lambda *m: _versions_in(python, python.parent.parent, m))


Client = PipClient | UvClient


def make_client(client_id: str) -> Client:
    """Build (or reuse from the cache) the client; skips when its venv cannot be made."""
    if client_id == "uv":
        return UvClient(uv_binary())
    version = client_id.removeprefix("pip-")
    return PipClient(version, pip_venv(version))


class StartProxy(Protocol):
    """The `module_proxy` fixture: start `snapproxy serve --date DATE` before `upstream`."""

    def __call__(
        self, date: str, *, upstream: FakeIndex, args: Sequence[str] = ()
    ) -> SnapproxyServer: ...


# ---- the proxy's own log -----------------------------------------------------------------

# `2026-01-01 10:00:00,000 INFO GET /simple/alpha/ 200 miss 1.2ms`
_ACCESS = re.compile(r" INFO (GET|HEAD) (\S+) (\d{3}) (\S+) [\d.]+ms$")


@dataclass(frozen=True)
class Access:
    method: str
    path: str
    status: int
    cache: str

    def __str__(self) -> str:
        return f"{self.method} {self.path} {self.status} {self.cache}"


class ProxyLog:
    """The access lines a server logged since a mark (servers are shared by tests)."""

    def __init__(self, server: SnapproxyServer):
        self.server = server
        self.start = len(server.stderr())

    def text(self) -> str:
        return self.server.stderr()[self.start :]

    def accesses(self) -> list[Access]:
        found = []
        for line in self.text().splitlines():
            if match := _ACCESS.search(line):
                method, path, status, cache = match.groups()
                found.append(Access(method, path, int(status), cache))
        return found

    def wait_for_path(self, path: str, status: int = 200) -> Access:
        return self.wait_for(lambda a: a.path == path and a.status == status)

    def aborted(self) -> list[Access]:
        """Responses the proxy cut because the bytes did not match the index's digest."""
        return [a for a in self.accesses() if a.cache == "aborted"]

    def wait_for(self, predicate: Callable[[Access], bool], timeout: float = 10.0) -> Access:
        """The first access matching; file responses are logged after their last byte."""
        deadline = time.monotonic() + timeout
        while True:
            for access in self.accesses():
                if predicate(access):
                    return access
            if time.monotonic() > deadline:
                raise AssertionError(
                    "no matching access line; logged since the mark:\n" + self.text()
                )
            time.sleep(0.05)


# ---- plain HTTP ------------------------------------------------------------------------

_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def http_get(url: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    """A GET to the local proxy (never through a configured HTTP proxy)."""
    try:
        with _OPENER.open(urllib.request.Request(url, headers=headers), timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def stored_files(cache_dir: Path) -> list[Path]:
    """Every regular file in the proxy's file store (`<cache>/files/`), lock files aside."""
    root = cache_dir / "files"
    if not root.exists():
        return []
    return sorted(p for p in root.rglob("*") if p.is_file() and "locks" not in p.parts)


# ---- a recording tap between a client and the proxy ------------------------------------

_HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding",
     "upgrade", "content-length"}
)
_SESSION = web.AppKey("session", aiohttp.ClientSession)


@dataclass(frozen=True)
class Exchange:
    path: str
    accept: str | None
    status: int
    content_type: str | None


class Tap:
    """A transparent HTTP relay that records what a client asked for and what it got.

    The proxy never sees which `Accept` header a client sent, nor does its log say which
    representation it answered with; the tap sees both on the wire. The `Host` header is
    passed through, so the proxy's absolute file URLs point back at the tap as well.
    """

    def __init__(self, target: str):
        self.target = target.rstrip("/")
        self._exchanges: list[Exchange] = []
        self._lock = threading.Lock()

    def exchanges(self) -> list[Exchange]:
        with self._lock:
            return list(self._exchanges)

    def app(self) -> web.Application:
        app = web.Application()

        async def session_ctx(app: web.Application) -> AsyncIterator[None]:
            async with aiohttp.ClientSession(auto_decompress=False) as session:
                app[_SESSION] = session
                yield

        app.cleanup_ctx.append(session_ctx)
        app.router.add_get("/{tail:.*}", self._relay)
        return app

    async def _relay(self, request: web.Request) -> web.Response:
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP}
        url = URL(self.target + request.raw_path, encoded=True)
        async with request.app[_SESSION].get(
            url, headers=headers, allow_redirects=False
        ) as answer:
            body = await answer.read()
            out = [(k, v) for k, v in answer.headers.items() if k.lower() not in _HOP_BY_HOP]
            status, content_type = answer.status, answer.headers.get("Content-Type")
        with self._lock:
            self._exchanges.append(
                Exchange(request.raw_path, request.headers.get("Accept"), status, content_type)
            )
        return web.Response(status=status, body=body, headers=CIMultiDict(out))

    @contextmanager
    def running(self) -> Iterator[str]:
        """Serve from a background thread; yield the tap's origin."""
        with serve_in_thread(self.app()) as origin:
            yield origin
