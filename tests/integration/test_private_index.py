"""Private indexes (issue 13): a real pypiserver behind basic auth, routed by project.

The default upstream is a local FakeIndex holding `requests` 2.25.1 (uploaded before the
cutoff) and 2.26.0 (after); the private index `corp` is a real pypiserver from PyPI holding
`corp-util` 1.0 (which needs `requests<2.26`) and a decoy `requests` 99.0, the
dependency-confusion bait. Through `snapproxy serve --index corp=URL --route corp-util=corp
--undated-index corp`, corp-util comes from corp alone and requests from the snapshot alone,
so the decoy is never offered; pypiserver publishes no upload times, so without
`--undated-index` its files stay hidden; a wrong password is a 502 naming the index; and the
password shows up nowhere: not in a log line, a page, the cache, a lock or a wheelhouse.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest
from packaging.utils import canonicalize_name

from tests.conftest import StartSnapproxy
from tests.integration.harness import Client, PipClient, http_get, make_client, sha256_of
from tests.support.distributions import Dist
from tests.support.fakeindex import FakeFile, FakeIndex
from tests.support.fetching import fetch_upstream, lock_pins, run_snapproxy, tree_digest
from tests.support.proxyproc import SnapproxyServer, start_snapproxy
from tests.support.pypiserver import (
    CORP_UTIL,
    CUTOFF,
    DECOY,
    INDEX_NAME,
    PUBLIC_UPLOADS,
    REQUESTS_NEW,
    REQUESTS_OLD,
    PrivateIndex,
    find_secrets,
    imported_versions,
    new_password,
    poetry_install,
    proxy_args,
    running_pypiserver,
    secret_forms,
)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

SIMPLE_JSON = "application/vnd.pypi.simple.v1+json"
MODES = ("url", "netrc")  # where serve finds corp's credentials
# The index's name as a word: not the `corp` of `corp-util`.
NAMES_THE_INDEX = re.compile(rf"(?<![\w-]){INDEX_NAME}(?![\w-])")


def _hermetic_env(home: Path, **extra: str) -> dict[str, str]:
    """os.environ without a netrc setting and with an empty HOME (no ~/.netrc), plus `extra`."""
    env = {k: v for k, v in os.environ.items() if k not in ("NETRC", "SNAPPROXY_NETRC")}
    home.mkdir(parents=True, exist_ok=True)
    env.update(HOME=str(home), XDG_CACHE_HOME=str(home / ".cache"), **extra)
    return env


# ---- fixtures ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def default_upstream(pip_wheel: Dist) -> Iterator[FakeIndex]:
    """The public index: the real pip wheel (for fetch) and the two fake requests."""
    index = fetch_upstream(pip_wheel, *(FakeFile(d, t) for d, t in PUBLIC_UPLOADS.items()))
    with index.running():
        yield index


@pytest.fixture(scope="module")
def corp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateIndex]:
    with running_pypiserver(tmp_path_factory.mktemp("corp")) as index:
        yield index


@dataclass
class Proxy:
    """A module's `snapproxy serve` with corp routed, and every body the tests read of it."""

    server: SnapproxyServer
    cache: Path
    home: Path
    bodies: dict[str, bytes] = field(default_factory=dict)

    def trees(self) -> list[Path]:
        """Everything serve may have written (its netrc, beside them, is the test's)."""
        return [self.cache, self.home]

    def log(self) -> str:
        return "\n--- serve's stderr ---\n" + self.server.stderr()[-6000:]

    def get(self, path: str, **headers: str) -> tuple[int, bytes]:
        status, _, body = http_get(self.server.base + path, **headers)
        self.bodies[f"{path} {headers} (#{len(self.bodies)})"] = body
        return status, body

    def output(self) -> dict[str, str]:
        return {
            "serve's stdout": "".join(self.server.stdout_lines),
            "serve's stderr": self.server.stderr(),
        }


def _serve(
    start: Callable[..., SnapproxyServer], root: Path, upstream: FakeIndex,
    corp: PrivateIndex, mode: str, *, password: str | None = None, undated: bool = True,
    route: str | None = None,
) -> Proxy:  # fmt: skip
    """`snapproxy serve -v` with corp's credentials in the URL or in a netrc (NETRC)."""
    assert upstream.index_origin and upstream.files_origin
    if mode == "url":
        index_url, env = corp.url_with(password), _hermetic_env(root / "home")
    else:
        netrc = corp.netrc(root / "netrc", password)
        index_url, env = corp.simple_url, _hermetic_env(root / "home", NETRC=str(netrc))
    routing = {} if route is None else {"route": route}
    cache = root / "cache"
    server = start(
        CUTOFF, upstream=upstream.index_origin, files_host=upstream.files_origin,
        cache_dir=cache, env=env, args=["-v", *proxy_args(index_url, undated=undated, **routing)],
    )  # fmt: skip
    return Proxy(server, cache, root / "home")


@pytest.fixture(scope="module")
def proxies(
    tmp_path_factory: pytest.TempPathFactory, default_upstream: FakeIndex, corp: PrivateIndex
) -> Iterator[dict[str, Proxy]]:
    """One proxy per way of giving the credentials, shared by the module's tests."""
    started: dict[str, Proxy] = {}
    try:
        for mode in MODES:
            root = tmp_path_factory.mktemp(f"proxy-{mode}")
            started[mode] = _serve(start_snapproxy, root, default_upstream, corp, mode)
        yield started
    finally:
        for proxy in started.values():
            proxy.server.stop()


def _listing(body: bytes) -> str:
    return body.decode(errors="replace")


# ---- pypiserver itself, and the confusion the routes prevent ----------------------------


@pytest.fixture
def own_corp(tmp_path: Path) -> Iterator[PrivateIndex]:
    """A pypiserver of the test's own, for tests that ask it about `requests` themselves
    (the module's one must never be asked about it: only the proxy talks to that one)."""
    with running_pypiserver(tmp_path / "corp") as index:
        yield index


def test_pypiserver_needs_credentials_and_serves_undated_html(own_corp: PrivateIndex) -> None:
    """What the proxy meets: HTML only, `#sha256=` fragments, no upload times, auth."""
    corp = own_corp
    assert corp.get("/simple/corp-util/")[0] == 401
    assert corp.get("/simple/corp-util/", auth=(corp.user, new_password("wrong")))[0] == 403
    status, headers, body = corp.get(
        "/simple/corp-util/", auth=(corp.user, corp.password), Accept=SIMPLE_JSON
    )
    assert status == 200
    assert headers["Content-Type"].startswith("text/html")  # JSON asked, HTML given
    page = body.decode()
    assert f'href="/packages/{CORP_UTIL.filename}#sha256={CORP_UTIL.sha256}"' in page
    assert "upload" not in page.lower()  # no upload time in any form: every file undated
    file = corp.get(f"/packages/{CORP_UTIL.filename}")
    assert file[0] == 401
    status, _, content = corp.get(f"/packages/{CORP_UTIL.filename}",
                                  auth=(corp.user, corp.password))  # fmt: skip
    assert (status, content) == (200, CORP_UTIL.content)
    decoy = corp.get("/simple/requests/", auth=(corp.user, corp.password))[2].decode()
    assert DECOY.filename in decoy


def test_without_routes_an_extra_index_lets_the_decoy_win(
    default_upstream: FakeIndex, own_corp: PrivateIndex, tmp_path: Path
) -> None:
    """The dependency confusion the routes prevent: pip mixing both indexes takes 99.0."""
    pip = make_client("pip-26.3")
    assert isinstance(pip, PipClient)
    got = pip.pip(
        "install", "--dry-run", "--ignore-installed", "--report", str(tmp_path / "r.json"),
        "--index-url", default_upstream.simple_url, "--extra-index-url", own_corp.url_with(),
        "requests",
    )  # fmt: skip
    assert got.returncode == 0, got.stderr
    report = json.loads((tmp_path / "r.json").read_text())
    assert [i["metadata"]["version"] for i in report["install"]] == ["99.0"]


# ---- clients through the proxy ----------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_client_installs_corp_util_and_the_snapshot_requests(
    client: Client, mode: str, proxies: dict[str, Proxy], tmp_path: Path
) -> None:
    index_url = proxies[mode].server.index_url
    installed = client.install(index_url, ["corp-util"], tmp_path / "install")
    assert installed.proc.returncode == 0, installed.output + proxies[mode].log()
    assert installed.versions("corp_util", "requests") == {
        "corp_util": "1.0",
        "requests": "2.25.1",
    }
    # A bare `requests` would take the decoy if the proxy offered it.
    resolved = client.resolve(index_url, ["requests"], tmp_path / "resolve")
    assert resolved.ok, resolved.output + proxies[mode].log()
    assert resolved.pins == {"requests": "2.25.1"}


@pytest.mark.parametrize("mode", MODES)
def test_poetry_installs_corp_util_and_the_snapshot_requests(
    mode: str, proxies: dict[str, Proxy], tmp_path: Path
) -> None:
    done = poetry_install(proxies[mode].server.index_url, ["corp-util"], tmp_path)
    assert done.lock.returncode == 0, done.output + proxies[mode].log()
    assert done.locked == {"corp-util": "1.0", "requests": "2.25.1"}
    assert done.install is not None and done.install.returncode == 0, (
        done.output + proxies[mode].log()
    )
    assert imported_versions(done.python, "corp_util", "requests") == {
        "corp_util": "1.0",
        "requests": "2.25.1",
    }


@pytest.mark.parametrize("mode", MODES)
def test_each_project_comes_from_its_own_index_only(
    mode: str, proxies: dict[str, Proxy], default_upstream: FakeIndex, corp: PrivateIndex
) -> None:
    proxy = proxies[mode]
    for accept in ("text/html", SIMPLE_JSON):
        status, body = proxy.get("/simple/requests/", Accept=accept)
        assert status == 200, body
        assert REQUESTS_OLD.filename in _listing(body)
        assert REQUESTS_NEW.filename not in _listing(body)  # after the cutoff
        assert "99.0" not in _listing(body) and DECOY.sha256 not in _listing(body)

        status, body = proxy.get("/simple/corp-util/", Accept=accept)
        assert status == 200, body
        assert CORP_UTIL.filename in _listing(body) and CORP_UTIL.sha256 in _listing(body)

    # The file, through the proxy, is corp's.
    status, body = proxy.get("/simple/corp-util/", Accept=SIMPLE_JSON)
    (listed,) = json.loads(body)["files"]
    assert listed["hashes"] == {"sha256": CORP_UTIL.sha256}
    url = urljoin(proxy.server.index_url + "corp-util/", listed["url"])
    assert urlsplit(url).netloc == urlsplit(proxy.server.base).netloc, url
    status, _, content = http_get(url)
    assert (status, content) == (200, CORP_UTIL.content)

    # Neither index is asked about the other's project: corp-util's name never reaches
    # the public index, nor `requests` the private one.
    assert not [p for p in default_upstream.hits if "corp" in p]
    assert not [p for p in corp.requested_paths() if "requests" in p]


def test_a_glob_route_sends_matching_projects_to_the_index(
    tmp_path: Path, default_upstream: FakeIndex, corp: PrivateIndex,
    snapproxy_server: StartSnapproxy,
) -> None:  # fmt: skip
    route = f"corp-*={INDEX_NAME}"
    proxy = _serve(snapproxy_server, tmp_path, default_upstream, corp, "url", route=route)
    status, body = proxy.get("/simple/corp-util/")
    assert status == 200, body
    assert CORP_UTIL.filename in _listing(body)
    status, body = proxy.get("/simple/requests/")
    assert status == 200 and "99.0" not in _listing(body), body


def test_without_undated_index_corp_files_stay_hidden(
    tmp_path: Path, default_upstream: FakeIndex, corp: PrivateIndex,
    snapproxy_server: StartSnapproxy,
) -> None:  # fmt: skip
    proxy = _serve(snapproxy_server, tmp_path, default_upstream, corp, "url", undated=False)
    for accept in ("text/html", SIMPLE_JSON):
        status, body = proxy.get("/simple/corp-util/", Accept=accept)
        assert status == 404, body
        text = _listing(body)
        assert re.search(r"undated|upload time", text, re.IGNORECASE), text
        assert CORP_UTIL.filename not in text
    pip = make_client("pip-26.3")
    installed = pip.install(proxy.server.index_url, ["corp-util"], tmp_path / "install")
    assert installed.proc.returncode != 0
    assert "No matching distribution found for corp-util" in installed.output


def test_a_wrong_password_is_a_502_naming_the_index_and_leaks_nothing(
    tmp_path: Path, default_upstream: FakeIndex, corp: PrivateIndex,
    snapproxy_server: StartSnapproxy,
) -> None:  # fmt: skip
    wrong = new_password("wrong")
    proxy = _serve(snapproxy_server, tmp_path, default_upstream, corp, "url", password=wrong)
    for accept in ("text/html", SIMPLE_JSON):
        status, body = proxy.get("/simple/corp-util/", Accept=accept)
        assert status == 502, body
        text = _listing(body).strip()
        assert len(text.splitlines()) == 1, text
        assert NAMES_THE_INDEX.search(text), text
    # Other projects are unaffected.
    status, body = proxy.get("/simple/requests/")
    assert status == 200 and REQUESTS_OLD.filename in _listing(body), body
    pip = make_client("pip-26.3")
    installed = pip.install(proxy.server.index_url, ["corp-util"], tmp_path / "install")
    assert installed.proc.returncode != 0
    assert corp.get("/simple/corp-util/", auth=(corp.user, wrong))[0] == 403  # really wrong

    secrets = [*corp.secrets(), *secret_forms(corp.user, wrong)]
    texts: dict[str, str | bytes] = {**proxy.output(), **proxy.bodies}
    texts["pip's output"] = installed.output
    assert find_secrets(secrets, texts=texts, trees=proxy.trees()) == []


@pytest.mark.parametrize("mode", MODES)
def test_no_password_in_logs_pages_or_cache(
    mode: str, proxies: dict[str, Proxy], corp: PrivateIndex
) -> None:
    proxy = proxies[mode]
    for path in ("/simple/corp-util/", "/simple/requests/", "/simple/", "/"):
        for accept in ("text/html", SIMPLE_JSON):
            proxy.get(path, Accept=accept)
    _, body = proxy.get("/simple/corp-util/", Accept=SIMPLE_JSON)
    (listed,) = json.loads(body)["files"]
    url = urljoin(proxy.server.index_url + "corp-util/", listed["url"])
    assert http_get(url)[0] == 200
    assert any(CORP_UTIL.filename in p for p in corp.requested_paths())
    assert find_secrets(corp.secrets(), texts={**proxy.output(), **proxy.bodies},
                        trees=proxy.trees()) == []  # fmt: skip


def test_the_secret_scan_finds_a_planted_password(tmp_path: Path) -> None:
    """The scan the tests above rely on does see a password in a file, a name or a text."""
    password = new_password()
    (tmp_path / "deep" / "er").mkdir(parents=True)
    (tmp_path / "deep" / "er" / "blob").write_bytes(b"\x00x" + password.encode() + b"\xff")
    (tmp_path / f"named-{password}").touch()
    found = find_secrets([password.encode()], texts={"log": f"GET {password}"},
                         trees=[tmp_path])  # fmt: skip
    assert len(found) == 3, found  # the text, the blob's bytes, the other file's name
    assert any(f.startswith(f"{tmp_path / 'deep' / 'er' / 'blob'} holds") for f in found)
    basic = secret_forms("corp-reader", password)[1]
    assert find_secrets([basic], texts={"log": "Authorization: Basic " + basic.decode()})


# ---- fetch, lock and fetch --from-lock --------------------------------------------------


def _origins(upstream: FakeIndex) -> list[str]:
    assert upstream.index_origin and upstream.files_origin
    return ["--upstream", upstream.index_origin, "--files-host", upstream.files_origin]


@dataclass(frozen=True)
class Run:
    proc: subprocess.CompletedProcess[str]
    out: Path
    trees: tuple[Path, ...]  # everything it wrote: output, cache, home

    def texts(self, what: str) -> dict[str, str]:
        return {f"{what}'s stdout": self.proc.stdout, f"{what}'s stderr": self.proc.stderr}


def _resolve(
    command: str, root: Path, upstream: FakeIndex, corp: PrivateIndex, mode: str
) -> Run:
    """`snapproxy fetch` or `lock` of corp-util with corp routed, credentials per `mode`."""
    root.mkdir(parents=True, exist_ok=True)
    if mode == "url":
        index_url, env = corp.url_with(), _hermetic_env(root / "home")
    else:
        netrc = corp.netrc(root / "netrc")
        index_url, env = corp.simple_url, _hermetic_env(root / "home", NETRC=str(netrc))
    out = root / ("wheels" if command == "fetch" else "pylock.toml")
    proc = run_snapproxy(
        command, "--quiet", "-o", out, "corp-util", "--date", CUTOFF, *_origins(upstream),
        *proxy_args(index_url), "--cache-dir", root / "cache", env=env,
    )  # fmt: skip
    return Run(proc, out, (out, root / "cache", root / "home"))


@pytest.fixture(scope="module")
def fetched(
    tmp_path_factory: pytest.TempPathFactory, default_upstream: FakeIndex, corp: PrivateIndex
) -> dict[str, Run]:
    root = tmp_path_factory.mktemp("fetched")
    return {m: _resolve("fetch", root / m, default_upstream, corp, m) for m in MODES}


@pytest.fixture(scope="module")
def locked(
    tmp_path_factory: pytest.TempPathFactory, default_upstream: FakeIndex, corp: PrivateIndex
) -> Run:
    """The lock, made with the credentials in the index URL (the harder case to keep
    out of the lock)."""
    return _resolve("lock", tmp_path_factory.mktemp("locked"), default_upstream, corp, "url")


@pytest.mark.parametrize("mode", MODES)
def test_fetch_takes_corp_util_from_corp_and_requests_from_the_snapshot(
    mode: str, fetched: dict[str, Run], corp: PrivateIndex
) -> None:
    run = fetched[mode]
    assert run.proc.returncode == 0, run.proc.stderr
    names = sorted(p.name for p in run.out.iterdir())
    assert names == sorted([CORP_UTIL.filename, REQUESTS_OLD.filename, "requirements.lock.txt"])
    assert sha256_of(run.out / CORP_UTIL.filename) == CORP_UTIL.sha256
    assert sha256_of(run.out / REQUESTS_OLD.filename) == REQUESTS_OLD.sha256
    pins = {str(canonicalize_name(k)): v for k, v in lock_pins(run.out).items()}
    assert pins == {"corp-util": "1.0", "requests": "2.25.1"}
    assert find_secrets(corp.secrets(), texts=run.texts("fetch"), trees=run.trees) == []


def test_fetch_gives_the_same_wheelhouse_whichever_way_the_password_comes(
    fetched: dict[str, Run],
) -> None:
    assert all(run.proc.returncode == 0 for run in fetched.values())
    assert tree_digest(fetched["url"].out) == tree_digest(fetched["netrc"].out)


def _packages(lock: Path) -> dict[str, dict[str, Any]]:
    packages = tomllib.loads(lock.read_text())["packages"]
    return {str(canonicalize_name(p["name"])): p for p in packages}


def test_lock_records_each_package_index_without_credentials(
    locked: Run, default_upstream: FakeIndex, corp: PrivateIndex
) -> None:
    assert locked.proc.returncode == 0, locked.proc.stderr
    packages = _packages(locked.out)
    assert sorted(packages) == ["corp-util", "requests"]
    assert packages["corp-util"]["index"] == corp.simple_url
    assert packages["requests"]["index"] == default_upstream.simple_url
    for name, dist, origin in (
        ("corp-util", CORP_UTIL, corp.origin),
        ("requests", REQUESTS_OLD, default_upstream.files_origin),
    ):
        (wheel,) = packages[name]["wheels"]
        assert wheel["name"] == dist.filename
        assert wheel["hashes"] == {"sha256": dist.sha256}
        url = urlsplit(wheel["url"])
        assert url.username is None and url.password is None, wheel["url"]
        assert f"{url.scheme}://{url.netloc}" == origin, wheel["url"]
    texts = locked.texts("lock")
    assert find_secrets(corp.secrets(), texts=texts, trees=locked.trees) == []


def _from_lock(lock: Path, root: Path, env: dict[str, str]) -> Run:
    out = root / "from-lock"
    proc = run_snapproxy("fetch", "--quiet", "--from-lock", lock, "-o", out, env=env)
    return Run(proc, out, (out, root / "home"))


def test_fetch_from_lock_with_a_netrc_gives_the_fetch_wheelhouse(
    locked: Run, fetched: dict[str, Run], corp: PrivateIndex, tmp_path: Path
) -> None:
    assert locked.proc.returncode == 0, locked.proc.stderr
    netrc = corp.netrc(tmp_path / "netrc")
    run = _from_lock(locked.out, tmp_path, _hermetic_env(tmp_path / "home", NETRC=str(netrc)))
    assert run.proc.returncode == 0, run.proc.stderr
    assert fetched["url"].proc.returncode == 0, fetched["url"].proc.stderr
    assert tree_digest(run.out) == tree_digest(fetched["url"].out)
    assert find_secrets(corp.secrets(), texts=run.texts("fetch --from-lock"),
                        trees=run.trees) == []  # fmt: skip


def test_fetch_from_lock_without_credentials_cannot_download_corp_files(
    locked: Run, corp: PrivateIndex, tmp_path: Path
) -> None:
    """The lock carries no credentials: without a netrc, corp refuses the download."""
    assert locked.proc.returncode == 0, locked.proc.stderr
    run = _from_lock(locked.out, tmp_path, _hermetic_env(tmp_path / "home"))
    assert run.proc.returncode != 0
    assert CORP_UTIL.filename in run.proc.stderr or corp.origin in run.proc.stderr, (
        run.proc.stderr
    )
    assert not run.out.exists()


def test_fetch_with_a_wrong_password_names_the_index(
    tmp_path: Path, default_upstream: FakeIndex, corp: PrivateIndex
) -> None:
    """As `serve` says in its 502, fetch's error says which index refused the credentials
    (not only pip's `No matching distribution found for corp-util`)."""
    wrong = new_password("wrong")
    out = tmp_path / "wheels"
    proc = run_snapproxy(
        "fetch", "--quiet", "-o", out, "corp-util", "--date", CUTOFF, *_origins(default_upstream),
        *proxy_args(corp.url_with(wrong)), "--cache-dir", tmp_path / "cache",
        env=_hermetic_env(tmp_path / "home"),
    )  # fmt: skip
    assert proc.returncode != 0
    assert not out.exists()
    assert NAMES_THE_INDEX.search(proc.stderr), proc.stderr
    secrets = [*corp.secrets(), *secret_forms(corp.user, wrong)]
    texts = {"fetch's stdout": proc.stdout, "fetch's stderr": proc.stderr}
    assert find_secrets(secrets, texts=texts, trees=[tmp_path]) == []
