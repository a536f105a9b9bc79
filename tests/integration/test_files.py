"""Distribution files through the proxy: verified bytes, both upstream origins, hashes.

- `broken` 1.0's file is served corrupt by upstream (bytes that do not match the index's
  sha256): the client's install fails, the proxy goes on serving, and its store never
  holds the bad bytes.
- `gamma` 1.0 lives on the index origin (`/ext-files/`), its dependency `delta` 1.0 on
  the files host: both come through the proxy's `/files/` route.
- `--require-hashes` with the index's digests installs, so the bytes the proxy serves are
  the ones the index published; a wrong digest is refused.
"""

from __future__ import annotations

import hashlib
import time
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.integration.harness import (
    ALPHA_10,
    ALPHA_11,
    BETA_10,
    CUTOFF,
    Client,
    ProxyLog,
    StartProxy,
    UvClient,
    add_catalogue,
    http_get,
    sha256_of,
    stored_files,
)
from tests.support.distributions import make_wheel
from tests.support.fakeindex import FakeFile, FakeIndex
from tests.support.proxyproc import SnapproxyServer

if TYPE_CHECKING:
    from tests.conftest import StartSnapproxy

BROKEN = FakeFile(make_wheel("broken", "1.0"), "2023-02-01T00:00:00.000000Z", corrupt=True)
GAMMA = FakeFile(
    make_wheel("gamma", "1.0", requires=["delta"]),
    "2023-04-01T00:00:00.000000Z",
    on_files_host=False,
)
DELTA = FakeFile(make_wheel("delta", "1.0"), "2023-04-01T00:00:00.000000Z")


@pytest.fixture(scope="module")
def catalogue(upstream: FakeIndex) -> FakeIndex:
    add_catalogue(upstream)
    upstream.add("broken", BROKEN)
    upstream.add("gamma", GAMMA)
    upstream.add("delta", DELTA)
    return upstream


@pytest.fixture(scope="module")
def proxy(catalogue: FakeIndex, module_proxy: StartProxy) -> SnapproxyServer:
    return module_proxy(CUTOFF, upstream=catalogue)


# ---- a corrupt file upstream ------------------------------------------------------------


def test_corrupt_file_fails_the_install_and_is_never_stored(
    client: Client, catalogue: FakeIndex, snapproxy_server: StartSnapproxy, tmp_path: Path
) -> None:
    if isinstance(client, UvClient):  # uv backs off between retries of a cut download
        client = client.with_env(UV_HTTP_RETRIES="0")
    cache = tmp_path / "proxy-cache"
    proxy = snapproxy_server(CUTOFF, upstream=catalogue, cache_dir=cache)
    log = ProxyLog(proxy)
    bad_digest = hashlib.sha256(BROKEN.served_bytes()).hexdigest()
    assert bad_digest != BROKEN.dist.sha256

    failed = client.install(proxy.index_url, ["broken"], tmp_path / "first")
    assert failed.proc.returncode != 0, failed.output
    log.wait_for(
        lambda a: a.path == f"/files/broken/{BROKEN.dist.filename}" and a.cache == "aborted"
    )
    # Nothing of the wheel, not even a temporary file; at most its (correct) METADATA,
    # which clients that use PEP 658 fetched before the wheel.
    assert {p.name for p in stored_files(cache)} <= {BROKEN.dist.metadata_sha256}

    # The proxy goes on serving, and stores what it verified.
    status, _, _ = http_get(f"{proxy.base}/-/health")
    assert status == 200
    installed = client.install(proxy.index_url, ["beta"], tmp_path / "second")
    assert installed.proc.returncode == 0, installed.output
    assert installed.versions("alpha", "beta") == {"alpha": "1.1", "beta": "1.0"}
    for dist in (ALPHA_11, BETA_10):  # logged once the file is complete (and stored)
        log.wait_for_path(f"/files/{dist.name}/{dist.filename}")
    stored = {p.name: p for p in stored_files(cache)}
    assert {ALPHA_11.sha256, BETA_10.sha256} <= set(stored), sorted(stored)
    assert BROKEN.dist.sha256 not in stored and bad_digest not in stored
    for name, path in stored.items():  # the store is content-addressed: name == digest
        assert sha256_of(path) == name, path

    # The corrupt file is refused again: fetched and cut again, not served from a cache.
    aborted = len(log.aborted())
    again = client.install(proxy.index_url, ["broken"], tmp_path / "third")
    assert again.proc.returncode != 0, again.output
    deadline = time.monotonic() + 10
    while len(log.aborted()) <= aborted and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(log.aborted()) > aborted, log.text()


# ---- both upstream origins -------------------------------------------------------------


def test_files_from_both_origins_install(
    client: Client, catalogue: FakeIndex, snapproxy_server: StartSnapproxy, tmp_path: Path
) -> None:
    proxy = snapproxy_server(CUTOFF, upstream=catalogue)  # a cold cache: upstream is asked
    log = ProxyLog(proxy)
    before = Counter(catalogue.hits)
    installed = client.install(proxy.index_url, ["gamma"], tmp_path)
    assert installed.proc.returncode == 0, installed.output
    assert installed.versions("gamma", "delta") == {"gamma": "1.0", "delta": "1.0"}
    for file in (GAMMA, DELTA):
        log.wait_for_path(f"/files/{file.dist.name}/{file.dist.filename}")
    assert catalogue.hits[f"/ext-files/{GAMMA.path}"] > before[f"/ext-files/{GAMMA.path}"]
    assert catalogue.hits[f"/packages/{DELTA.path}"] > before[f"/packages/{DELTA.path}"]


# ---- --require-hashes ---------------------------------------------------------------------


def test_require_hashes_with_the_index_digests_installs(
    client: Client, proxy: SnapproxyServer, tmp_path: Path
) -> None:
    requirements = tmp_path / "requirements.txt"
    requirements.write_text(
        f"alpha==1.1 --hash=sha256:{ALPHA_11.sha256}\n"
        f"beta==1.0 --hash=sha256:{BETA_10.sha256}\n"
    )
    installed = client.install(
        proxy.index_url, [], tmp_path, "--require-hashes", "-r", str(requirements)
    )
    assert installed.proc.returncode == 0, installed.output
    assert installed.versions("alpha", "beta") == {"alpha": "1.1", "beta": "1.0"}


def test_require_hashes_refuses_another_digest(
    client: Client, proxy: SnapproxyServer, tmp_path: Path
) -> None:
    requirements = tmp_path / "requirements.txt"
    requirements.write_text(
        f"alpha==1.1 --hash=sha256:{ALPHA_10.sha256}\n"  # alpha 1.0's digest: wrong file
        f"beta==1.0 --hash=sha256:{BETA_10.sha256}\n"
    )
    installed = client.install(
        proxy.index_url, [], tmp_path, "--require-hashes", "-r", str(requirements)
    )
    assert installed.proc.returncode != 0, installed.output
    assert client.hash_mismatch in installed.output, installed.output
