"""Files fetched through the proxy are the bytes the index vouches for, and only those."""

from __future__ import annotations

import hashlib
from urllib.parse import urljoin

import pytest

from tests.live.truth import JSON, SIMPLE_JSON, before, fetch
from tests.support.proxyproc import SnapproxyServer

IDNA_FILES = ["idna-2.10-py2.py3-none-any.whl", "idna-2.10.tar.gz"]


def _files(page_url: str) -> dict[str, JSON]:
    reply = fetch(page_url, SIMPLE_JSON)
    assert reply.status == 200, reply.body[:500]
    return {f["filename"]: f for f in reply.json()["files"]}


@pytest.fixture(scope="module")
def upstream_idna() -> dict[str, JSON]:
    return _files("https://pypi.org/simple/idna/")


@pytest.fixture(scope="module")
def proxy_idna(live_proxy: SnapproxyServer) -> dict[str, JSON]:
    return _files(f"{live_proxy.base}/simple/idna/")


@pytest.mark.parametrize("filename", IDNA_FILES)
def test_downloaded_file_has_the_advertised_sha256(
    filename: str,
    upstream_idna: dict[str, JSON],
    proxy_idna: dict[str, JSON],
    live_proxy: SnapproxyServer,
) -> None:
    entry = proxy_idna[filename]
    published = upstream_idna[filename]["hashes"]["sha256"]
    assert entry["hashes"]["sha256"] == published
    # Relative to the page (PEP 691), inside the proxy's file route.
    url = urljoin(f"{live_proxy.base}/simple/idna/", entry["url"])
    assert url.startswith(f"{live_proxy.base}/files/")
    # First download streams from upstream while hashing; the second comes from the disk
    # cache. Both must be exactly the published bytes.
    for _ in ("upstream", "cache"):
        reply = fetch(url)
        assert reply.status == 200, reply.body[:500]
        assert len(reply.body) == upstream_idna[filename]["size"]
        assert hashlib.sha256(reply.body).hexdigest() == published


def test_file_uploaded_after_the_cutoff_is_not_served(live_proxy: SnapproxyServer) -> None:
    filename = "requests-2.26.0-py2.py3-none-any.whl"
    upstream = _files("https://pypi.org/simple/requests/")
    assert filename in upstream and not before(upstream[filename]["upload-time"])
    reply = fetch(f"{live_proxy.base}/files/requests/{filename}")
    assert reply.status == 404, reply.body[:500]
