"""A real pypiserver (from PyPI) as a private index behind basic auth, and what the
private-index tests (issue 13) share: the corp packages, secret scanning, poetry.

pypiserver 2.4.2, as run here (`pypi-server run -P HTPASSWD -a download,list,update
--disable-fallback`), answers every request without credentials with 401 (`WWW-Authenticate:
Basic realm="pypi"`) and wrong ones with 403; its /health endpoint alone is open. With them
it serves PEP 503 HTML only, whatever the `Accept` header asks for (no JSON form), with
links relative to the host (`href="/packages/corp_util-1.0-py3-none-any.whl#sha256=..."`),
no `data-requires-python`, no upload times (so every file is undated), a 301 from a
non-normalised project name to the normalised one, and files under /packages/. It runs on
the stdlib's single-threaded wsgiref server speaking HTTP/1.0.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from tests.support.clients import _tool_venv, clean_client_env, poetry_binary
from tests.support.distributions import Dist, make_wheel
from tests.support.proxyproc import stop_process

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

PYPISERVER = "2.4.2"
PASSLIB = "1.7.4"  # pypiserver reads htpasswd files with it; the fixture writes them with it
HOST = "127.0.0.1"
INDEX_NAME = "corp"
ROUTE = f"corp-util={INDEX_NAME}"
HANG_GUARD = 900.0  # only against a hang

# The private project, and the dependency-confusion decoy: a private `requests` far above
# any public one, which a mixed resolution would take.
CORP_UTIL = make_wheel("corp-util", "1.0", requires=["requests<2.26"])
DECOY = make_wheel("requests", "99.0")
# The public `requests` of the offline tiers' default upstream (a FakeIndex): one release
# uploaded before the tests' cutoff of 2021-05-01, one after.
CUTOFF = "2021-05-01"
REQUESTS_OLD = make_wheel("requests", "2.25.1")
REQUESTS_NEW = make_wheel("requests", "2.26.0")
PUBLIC_UPLOADS = {
    REQUESTS_OLD: "2020-12-16T20:41:43.000000Z",
    REQUESTS_NEW: "2021-07-13T14:55:04.000000Z",
}

# One access line of wsgiref, as pypiserver -v logs it:
# 127.0.0.1 - - [02/Dec/2026 17:39:47] "GET /simple/corp-util/ HTTP/1.1" 200 453
_ACCESS = re.compile(r'"(?:GET|HEAD) (\S+) HTTP/[\d.]+" (\d{3}) ')
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@functools.cache
def pypiserver_venv() -> Path:
    """A cached venv with pypiserver and passlib (skips when it is not cached and PyPI is
    unreachable, as the client venvs do)."""
    return _tool_venv(f"pypiserver-{PYPISERVER}", f"pypiserver=={PYPISERVER}",
                      f"passlib=={PASSLIB}")  # fmt: skip


def new_password(prefix: str = "pw") -> str:
    """A password no other text can contain by chance."""
    return f"{prefix}-{uuid.uuid4().hex}"


def write_htpasswd(path: Path, user: str, password: str) -> None:
    """An apache htpasswd file (apr1-md5) written by passlib, the password given on stdin."""
    code = (
        "import sys\n"
        "from passlib.apache import HtpasswdFile\n"
        "h = HtpasswdFile(sys.argv[1], new=True)\n"
        "h.set_password(sys.argv[2], sys.stdin.read())\n"
        "h.save()\n"
    )
    subprocess.run(
        [str(pypiserver_venv() / "bin" / "python"), "-c", code, str(path), user],
        input=password, text=True, capture_output=True, check=True, env=clean_client_env(),
        timeout=HANG_GUARD,
    )  # fmt: skip


def write_netrc(path: Path, host: str, user: str, password: str) -> Path:
    path.write_text(f"machine {host}\nlogin {user}\npassword {password}\n")
    path.chmod(0o600)
    return path


def secret_forms(user: str, password: str) -> list[bytes]:
    """The password, and the basic-auth header value that carries it."""
    return [password.encode(), base64.b64encode(f"{user}:{password}".encode())]


def find_secrets(
    secrets: Iterable[bytes],
    *,
    texts: Mapping[str, str | bytes] | None = None,
    trees: Iterable[Path] = (),
) -> list[str]:
    """Where any of `secrets` occurs: in a named text, or in a file (name or bytes) under
    one of `trees`. An empty list means nowhere."""
    secrets = [s for s in secrets if s]
    found: list[str] = []

    def check(where: str, data: bytes) -> None:
        found.extend(f"{where} holds {secret!r}" for secret in secrets if secret in data)

    for name, text in (texts or {}).items():
        check(name, text.encode() if isinstance(text, str) else text)
    for tree in trees:
        if not tree.exists():
            continue
        for path in sorted(tree.rglob("*")):
            check(f"the name {path}", str(path).encode())
            if path.is_symlink():
                check(f"the link {path}", os.readlink(path).encode())
            elif path.is_file():
                check(str(path), path.read_bytes())
    return found


@dataclass
class PrivateIndex:
    """A running `pypi-server run` that requires credentials for everything."""

    proc: subprocess.Popen[bytes]
    origin: str  # http://127.0.0.1:PORT
    user: str
    password: str
    packages: Path
    log_path: Path

    @property
    def simple_url(self) -> str:
        """The simple root as the index names it, without credentials."""
        return f"{self.origin}/simple/"

    def url_with(self, password: str | None = None) -> str:
        """The simple root with `user:password@` (the right password unless given)."""
        secret = self.password if password is None else password
        return f"http://{self.user}:{secret}@{self.origin.removeprefix('http://')}/simple/"

    def netrc(self, path: Path, password: str | None = None) -> Path:
        return write_netrc(path, HOST, self.user, self.password if password is None else password)

    def secrets(self) -> list[bytes]:
        return secret_forms(self.user, self.password)

    def add(self, *dists: Dist) -> None:
        for dist in dists:
            (self.packages / dist.filename).write_bytes(dist.content)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def requested_paths(self) -> list[str]:
        """The path of every request the server answered (it logs them with -v)."""
        return [m.group(1) for m in _ACCESS.finditer(self.log())]

    def downloads(self, filename: str) -> int:
        """How many times the server sent the file `filename` (200 answers)."""
        wanted = f"/packages/{filename}"
        return sum(1 for m in _ACCESS.finditer(self.log()) if m.groups() == (wanted, "200"))

    def get(self, path: str, *, auth: tuple[str, str] | None = None,
            **headers: str) -> tuple[int, dict[str, str], bytes]:  # fmt: skip
        """GET `path` straight from the server, with basic auth when given."""
        if auth is not None:
            token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
            headers["Authorization"] = f"Basic {token}"
        request = urllib.request.Request(self.origin + path, headers=headers)
        try:
            with _NO_PROXY.open(request, timeout=30) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read()

    def stop(self) -> None:
        stop_process(self.proc)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def _answers(origin: str) -> bool:
    """Whether the server is up: any HTTP answer counts (401 without credentials)."""
    try:
        with _NO_PROXY.open(f"{origin}/simple/", timeout=5):
            return True
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False


def _launch(root: Path, packages: Path, htpasswd: Path, log_path: Path) -> tuple[
    subprocess.Popen[bytes], str
]:
    """Start pypi-server on a free port; retry when another process took the port first."""
    for _ in range(5):
        port = _free_port()
        origin = f"http://{HOST}:{port}"
        with open(log_path, "ab") as log:
            proc = subprocess.Popen(
                [str(pypiserver_venv() / "bin" / "pypi-server"), "run", "-v",
                 "--host", HOST, "--port", str(port),
                 "--passwords", str(htpasswd), "--authenticate", "download,list,update",
                 "--disable-fallback", str(packages)],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, cwd=root,
                env=clean_client_env(PYTHONUNBUFFERED="1"),
            )  # fmt: skip
        deadline = time.monotonic() + 60  # a hang guard: it starts in about a second
        while proc.poll() is None and time.monotonic() < deadline:
            if _answers(origin):
                return proc, origin
            time.sleep(0.1)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
            break
        if "Address already in use" not in log_path.read_text(errors="replace"):
            break
    raise RuntimeError(f"pypi-server did not start; its log:\n{log_path.read_text()}")


@contextlib.contextmanager
def running_pypiserver(
    root: Path, dists: Sequence[Dist] = (CORP_UTIL, DECOY), user: str = "corp-reader"
) -> Iterator[PrivateIndex]:
    """pypiserver on a free loopback port over `root/packages` holding `dists`; every action
    (download, list, update) needs `user` and a fresh random password."""
    root.mkdir(parents=True, exist_ok=True)
    packages = root / "packages"
    packages.mkdir()
    password = new_password()
    htpasswd = root / "htpasswd"
    write_htpasswd(htpasswd, user, password)
    log_path = root / "pypiserver.log"
    proc, origin = _launch(root, packages, htpasswd, log_path)
    index = PrivateIndex(proc, origin, user, password, packages, log_path)
    index.add(*dists)
    try:
        yield index
    finally:
        index.stop()


def proxy_args(index_url: str, *, undated: bool = True, route: str = ROUTE) -> list[str]:
    """The private-index options of serve, fetch and lock, with `corp` at `index_url`."""
    args = ["--index", f"{INDEX_NAME}={index_url}", "--route", route]
    return args + (["--undated-index", INDEX_NAME] if undated else [])


# ---- poetry ------------------------------------------------------------------------------


@dataclass(frozen=True)
class PoetryInstall:
    lock: subprocess.CompletedProcess[str]
    install: subprocess.CompletedProcess[str] | None
    locked: dict[str, str]  # name -> version in poetry.lock
    python: Path  # the project's venv

    @property
    def output(self) -> str:
        procs = [p for p in (self.lock, self.install) if p is not None]
        return "".join(p.stdout + p.stderr for p in procs)


def poetry_install(index_url: str, requirements: Sequence[str], work: Path) -> PoetryInstall:
    """`poetry lock` and `poetry install` of a project depending on `requirements`, with
    `index_url` as its only (primary) source, into the project's own venv."""
    work.mkdir(parents=True, exist_ok=True)
    dependencies = ", ".join(f'"{r}"' for r in requirements)
    (work / "pyproject.toml").write_text(
        '[project]\nname = "private-index-check"\nversion = "0"\n'
        f'requires-python = ">=3.11,<4"\ndependencies = [{dependencies}]\n\n'
        "[tool.poetry]\npackage-mode = false\n\n"
        f'[[tool.poetry.source]]\nname = "snapshot"\nurl = "{index_url}"\n'
        'priority = "primary"\n'
    )
    env = clean_client_env(
        HOME=str(work / "home"),
        POETRY_CACHE_DIR=str(work / "poetry-cache"),
        POETRY_CONFIG_DIR=str(work / "poetry-config"),
        POETRY_DATA_DIR=str(work / "poetry-data"),
        POETRY_NO_INTERACTION="1",
        POETRY_KEYRING_ENABLED="false",
        POETRY_VIRTUALENVS_IN_PROJECT="true",
        POETRY_VIRTUALENVS_USE_POETRY_PYTHON="true",
        POETRY_VIRTUALENVS_OPTIONS_NO_PIP="true",
    )

    def poetry(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(poetry_binary()), *args], cwd=work, env=env, stdin=subprocess.DEVNULL,
            capture_output=True, text=True, timeout=HANG_GUARD, check=False,
        )  # fmt: skip

    lock = poetry("lock")
    python = work / ".venv" / "bin" / "python"
    if lock.returncode != 0:
        return PoetryInstall(lock, None, {}, python)
    packages = tomllib.loads((work / "poetry.lock").read_text()).get("package", [])
    locked = {p["name"]: p["version"] for p in packages}
    return PoetryInstall(lock, poetry("install"), locked, python)


def imported_versions(python: Path, *modules: str) -> dict[str, str]:
    """`module.__version__` of each module as `python` imports it (isolated mode)."""
    code = (
        "import importlib, json, sys\n"
        "print(json.dumps({m: importlib.import_module(m).__version__ for m in sys.argv[1:]}))\n"
    )
    proc = subprocess.run(
        [str(python), "-I", "-c", code, *modules], capture_output=True, text=True,
        env=clean_client_env(), timeout=HANG_GUARD, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    found: dict[str, str] = json.loads(proc.stdout)
    return found
