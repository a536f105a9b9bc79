"""Private indexes (issue 13) in front of the real PyPI: a real pypiserver behind basic auth
holds `corp-util` 1.0 (needing `requests<2.26`) and a decoy `requests` 99.0.

Through `snapproxy serve --date 2021-05-01 --index corp=URL --route corp-util=corp
--undated-index corp` (PyPI as the default upstream), pip, uv and poetry install corp-util
from corp and requests 2.25.1 with the rest of its closure from PyPI as of the cutoff; the
decoy is never offered, and the password (in the URL, or in a netrc) appears in no log
line, page or cache file.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urljoin

import pytest

from tests.integration.harness import http_get, make_client
from tests.live.truth import CUTOFF_TEXT, PYPI, SIMPLE_JSON
from tests.support.proxyproc import SnapproxyServer, start_snapproxy
from tests.support.pypiserver import (
    CORP_UTIL,
    DECOY,
    PrivateIndex,
    find_secrets,
    imported_versions,
    poetry_install,
    proxy_args,
    running_pypiserver,
)

CLOSURE = {
    "corp-util": "1.0",
    "requests": "2.25.1",
    "urllib3": "1.26.4",
    "idna": "2.10",
    "chardet": "4.0.0",
    "certifi": "2020.12.5",
}
MODES = ("url", "netrc")  # where serve finds corp's credentials
CLIENTS = ("pip-26.3", "pip-20.3.4", "uv")  # the newest pip, one that reads HTML only, uv


@dataclass
class LiveProxy:
    server: SnapproxyServer
    cache: Path
    home: Path
    bodies: dict[str, bytes] = field(default_factory=dict)

    def get(self, path: str, **headers: str) -> tuple[int, str]:
        status, _, body = http_get(self.server.base + path, **headers)
        self.bodies[f"{path} {headers} (#{len(self.bodies)})"] = body
        return status, body.decode(errors="replace")

    def texts(self) -> dict[str, str | bytes]:
        out: dict[str, str | bytes] = dict(self.bodies)
        out["serve's stdout"] = "".join(self.server.stdout_lines)
        out["serve's stderr"] = self.server.stderr()
        return out


@pytest.fixture(scope="module")
def corp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateIndex]:
    with running_pypiserver(tmp_path_factory.mktemp("corp")) as index:
        yield index


@pytest.fixture(scope="module")
def proxies(
    tmp_path_factory: pytest.TempPathFactory, corp: PrivateIndex
) -> Iterator[dict[str, LiveProxy]]:
    """`snapproxy serve -v` before PyPI with corp routed, one per way of giving credentials."""
    started: dict[str, LiveProxy] = {}
    try:
        for mode in MODES:
            root = tmp_path_factory.mktemp(f"live-{mode}")
            home = root / "home"
            home.mkdir()
            env = {k: v for k, v in os.environ.items() if k not in ("NETRC", "SNAPPROXY_NETRC")}
            env.update(HOME=str(home), XDG_CACHE_HOME=str(home / ".cache"))
            if mode == "url":
                index_url = corp.url_with()
            else:
                index_url, env["NETRC"] = corp.simple_url, str(corp.netrc(root / "netrc"))
            cache = root / "cache"
            server = start_snapproxy(CUTOFF_TEXT, upstream=PYPI, cache_dir=cache, env=env,
                                     args=["-v", *proxy_args(index_url)])  # fmt: skip
            started[mode] = LiveProxy(server, cache, home)
        yield started
    finally:
        for proxy in started.values():
            proxy.server.stop()


def _logs(proxy: LiveProxy) -> str:
    return "\n--- serve's stderr ---\n" + proxy.server.stderr()[-6000:]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("client_id", CLIENTS)
def test_client_installs_corp_util_with_the_snapshot_of_pypi(
    client_id: str, mode: str, proxies: dict[str, LiveProxy], tmp_path: Path
) -> None:
    proxy = proxies[mode]
    client = make_client(client_id)
    installed = client.install(proxy.server.index_url, ["corp-util"], tmp_path / "install")
    assert installed.proc.returncode == 0, installed.output + _logs(proxy)
    assert installed.versions("corp_util", "requests", "urllib3") == {
        "corp_util": "1.0",
        "requests": "2.25.1",
        "urllib3": "1.26.4",
    }
    resolved = client.resolve(proxy.server.index_url, ["corp-util"], tmp_path / "resolve")
    assert resolved.ok, resolved.output + _logs(proxy)
    assert resolved.pins == CLOSURE
    # A bare `requests` would take the decoy if the proxy offered it.
    bare = client.resolve(proxy.server.index_url, ["requests"], tmp_path / "bare")
    assert bare.ok, bare.output + _logs(proxy)
    assert bare.pins["requests"] == "2.25.1"


@pytest.mark.parametrize("mode", MODES)
def test_poetry_installs_corp_util_with_the_snapshot_of_pypi(
    mode: str, proxies: dict[str, LiveProxy], tmp_path: Path
) -> None:
    proxy = proxies[mode]
    done = poetry_install(proxy.server.index_url, ["corp-util"], tmp_path)
    assert done.lock.returncode == 0, done.output + _logs(proxy)
    assert done.locked == CLOSURE
    assert done.install is not None and done.install.returncode == 0, done.output + _logs(proxy)
    assert imported_versions(done.python, "corp_util", "requests", "urllib3") == {
        "corp_util": "1.0",
        "requests": "2.25.1",
        "urllib3": "1.26.4",
    }


@pytest.mark.parametrize("mode", MODES)
def test_pages_never_offer_the_decoy_and_leak_no_password(
    mode: str, proxies: dict[str, LiveProxy], corp: PrivateIndex
) -> None:
    proxy = proxies[mode]
    for accept in ("text/html", SIMPLE_JSON):
        status, page = proxy.get("/simple/requests/", Accept=accept)
        assert status == 200, page
        assert "requests-2.25.1-py2.py3-none-any.whl" in page
        assert "2.26.0" not in page  # uploaded after the cutoff
        assert "99.0" not in page and DECOY.sha256 not in page
        status, page = proxy.get("/simple/corp-util/", Accept=accept)
        assert status == 200, page
        assert CORP_UTIL.filename in page and CORP_UTIL.sha256 in page
    _, page = proxy.get("/simple/corp-util/", Accept=SIMPLE_JSON)
    (listed,) = json.loads(page)["files"]
    status, _, content = http_get(urljoin(proxy.server.index_url + "corp-util/", listed["url"]))
    assert (status, content) == (200, CORP_UTIL.content)
    # corp is never asked about a public project.
    assert not [p for p in corp.requested_paths() if "requests" in p]
    found = find_secrets(corp.secrets(), texts=proxy.texts(), trees=[proxy.cache, proxy.home])
    assert found == []
