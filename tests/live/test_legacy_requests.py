"""The legacy JSON API for `requests`, at the server's cutoff and at one named in the URL."""

from __future__ import annotations

import hashlib
import io
import zipfile
from datetime import datetime, timezone
from email.parser import BytesParser

import pytest

from tests.live.truth import (
    CUTOFF,
    JSON,
    SIMPLE_JSON,
    before,
    expected_latest,
    fetch,
    files_by_version,
    surviving_releases,
)
from tests.support.proxyproc import SnapproxyServer

WHEEL = "requests-2.25.1-py2.py3-none-any.whl"
SDIST = "requests-2.25.1.tar.gz"
OLD_CUTOFF = datetime(2020, 1, 1, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def upstream() -> JSON:
    """PyPI's own legacy document for requests (every release, today)."""
    reply = fetch("https://pypi.org/pypi/requests/json")
    assert reply.status == 200
    doc: JSON = reply.json()
    return doc


@pytest.fixture(scope="module")
def project_doc(live_proxy: SnapproxyServer) -> JSON:
    reply = fetch(f"{live_proxy.base}/pypi/requests/json")
    assert reply.status == 200, reply.body[:500]
    # The default tree follows the server's --date, which could be changed: revalidate.
    assert reply.headers["Cache-Control"] == "no-cache"
    doc: JSON = reply.json()
    return doc


def _all_files(doc: JSON) -> list[JSON]:
    files: list[JSON] = [f for fs in doc["releases"].values() for f in fs]
    return files + list(doc["urls"])


def test_latest_at_the_cutoff_is_2_25_1(project_doc: JSON, upstream: JSON) -> None:
    assert expected_latest(surviving_releases(upstream)) == "2.25.1"  # PyPI's data agrees
    assert project_doc["info"]["version"] == "2.25.1"
    assert {f["filename"] for f in project_doc["urls"]} == {WHEEL, SDIST}
    assert "2.26.0" not in project_doc["releases"]
    assert files_by_version(project_doc["releases"]) == files_by_version(
        surviving_releases(upstream)
    )


def test_no_file_at_or_after_the_cutoff(project_doc: JSON) -> None:
    files = _all_files(project_doc)
    assert len(files) > 100
    late = [f["filename"] for f in files if not before(f["upload_time_iso_8601"])]
    assert late == []


def test_file_urls_point_at_the_proxy(project_doc: JSON, live_proxy: SnapproxyServer) -> None:
    for f in _all_files(project_doc):
        assert f["url"] == f"{live_proxy.base}/files/requests/{f['filename']}"


def test_info_is_that_of_2_25_1(project_doc: JSON, upstream: JSON) -> None:
    # PyPI's `info` for 2.25.1 comes from that release's core metadata; read it from the
    # wheel itself (verified against the published digest) rather than trusting any index.
    wheel = next(f for f in upstream["releases"]["2.25.1"] if f["filename"] == WHEEL)
    reply = fetch(_upstream_file_url(WHEEL))
    assert reply.status == 200
    assert hashlib.sha256(reply.body).hexdigest() == wheel["digests"]["sha256"]
    with zipfile.ZipFile(io.BytesIO(reply.body)) as archive:
        metadata = BytesParser().parsebytes(
            archive.read("requests-2.25.1.dist-info/METADATA"), headersonly=True
        )
    info = project_doc["info"]
    assert info["name"] == "requests"
    assert info["version"] == "2.25.1"
    assert info["summary"] == metadata["Summary"]
    assert info["requires_python"] == metadata["Requires-Python"]
    assert info["requires_dist"] == metadata.get_all("Requires-Dist")


def _upstream_file_url(filename: str) -> str:
    """Where PyPI's simple page says the file is (legacy URLs may be relative on mirrors)."""
    page = fetch("https://pypi.org/simple/requests/", SIMPLE_JSON)
    assert page.status == 200
    url: str = next(f["url"] for f in page.json()["files"] if f["filename"] == filename)
    return url


def test_version_after_the_cutoff_is_not_found(
    live_proxy: SnapproxyServer, upstream: JSON
) -> None:
    assert upstream["releases"]["2.26.0"]  # exists upstream today, uploaded 2021-07
    assert not surviving_releases({"releases": {"2.26.0": upstream["releases"]["2.26.0"]}})
    reply = fetch(f"{live_proxy.base}/pypi/requests/2.26.0/json")
    assert reply.status == 404, reply.body[:500]


def test_version_before_the_cutoff_has_its_two_files(live_proxy: SnapproxyServer) -> None:
    reply = fetch(f"{live_proxy.base}/pypi/requests/2.25.1/json")
    assert reply.status == 200, reply.body[:500]
    doc = reply.json()
    assert doc["info"]["version"] == "2.25.1"
    assert sorted(f["filename"] for f in doc["urls"]) == sorted([SDIST, WHEEL])
    for f in doc["urls"]:
        assert before(f["upload_time_iso_8601"])
        assert f["url"] == f"{live_proxy.base}/files/requests/{f['filename']}"


def test_snapshot_route_serves_an_older_cutoff_immutably(
    live_proxy: SnapproxyServer, upstream: JSON
) -> None:
    releases = surviving_releases(upstream, OLD_CUTOFF)
    assert expected_latest(releases) == "2.22.0"  # PyPI's data: latest before 2020
    assert OLD_CUTOFF < CUTOFF
    reply = fetch(f"{live_proxy.base}/snapshot/2020-01-01/pypi/requests/json")
    assert reply.status == 200, reply.body[:500]
    assert "immutable" in reply.headers["Cache-Control"]
    doc = reply.json()
    assert doc["info"]["version"] == "2.22.0"
    assert files_by_version(doc["releases"]) == files_by_version(releases)
    assert {f["filename"] for f in doc["urls"]} == {f["filename"] for f in releases["2.22.0"]}
    for f in _all_files(doc):
        assert f["url"].startswith(f"{live_proxy.base}/snapshot/2020-01-01/files/"), f["url"]
