"""The proxy's view of real projects equals PyPI's data filtered here by the cutoff.

For each project the test fetches PyPI's PEP 691 JSON page and legacy JSON document itself,
computes what must survive 2021-05-01 (`tests.live.truth`, no snapproxy code), and compares
that with the proxy's JSON page, HTML page and legacy document. The projects cover huge
pages (botocore, numpy), names that need normalising (Pillow, zope.interface,
typing_extensions, ruamel.yaml, backports.zoneinfo), releases with files yanked before the
cutoff, versions whose only files are Windows installers, and projects born after the cutoff.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass
from urllib.parse import urljoin

import pytest
from packaging.utils import canonicalize_name

from tests.live.truth import (
    CUTOFF,
    JSON,
    SIMPLE_JSON,
    Reply,
    before,
    client_session,
    expected_latest,
    expected_versions,
    files_by_version,
    get,
    html_anchors,
    surviving_files,
    surviving_releases,
    upstream_legacy,
    upstream_page,
)
from tests.support.proxyproc import SnapproxyServer

PROJECTS = [
    "requests", "urllib3", "idna", "chardet", "certifi", "botocore", "Pillow",
    "zope.interface", "typing_extensions", "ruamel.yaml", "backports.zoneinfo", "setuptools",
    "pip", "six", "attrs", "click", "Flask", "Jinja2", "MarkupSafe", "Django", "numpy",
    "cryptography", "packaging", "PyYAML", "python-dateutil",
]
# Each has files uploaded before the cutoff and yanked since (PyPI data, checked below).
WITH_YANKED_FILES = ["urllib3", "setuptools", "pip", "ruamel.yaml"]
# First upload after the cutoff: ruff in 2022, uv in 2024 (checked below).
BORN_AFTER_CUTOFF = ["ruff", "uv"]
CONCURRENCY = 12


@dataclass(frozen=True)
class Observed:
    upstream_page: JSON
    upstream_legacy: JSON
    proxy_json: Reply
    proxy_html: Reply
    proxy_legacy: Reply


async def _observe_all(base: str) -> dict[str, Observed]:
    limit = asyncio.Semaphore(CONCURRENCY)
    async with client_session() as session:

        async def upstream_both(project: str) -> tuple[JSON, JSON]:
            async with limit:
                page = await upstream_page(session, project)
            async with limit:
                legacy = await upstream_legacy(session, project)
            return page, legacy

        async def observe(project: str) -> Observed:
            (page, legacy), as_json, as_html, as_legacy = await asyncio.gather(
                upstream_both(project),
                get(session, f"{base}/simple/{project}/", SIMPLE_JSON, limit),
                get(session, f"{base}/simple/{project}/", "text/html", limit),
                get(session, f"{base}/pypi/{project}/json", None, limit),
            )
            return Observed(page, legacy, as_json, as_html, as_legacy)

        results = await asyncio.gather(*(observe(p) for p in PROJECTS + BORN_AFTER_CUTOFF))
    return dict(zip(PROJECTS + BORN_AFTER_CUTOFF, results, strict=True))


@pytest.fixture(scope="module")
def observed(live_proxy: SnapproxyServer) -> dict[str, Observed]:
    """Every project's upstream documents and proxy answers, fetched once, concurrently."""
    return asyncio.run(_observe_all(live_proxy.base))


def _files_url(base: str) -> str:
    return f"{base}/files/"


def _yanked_names(files: dict[str, JSON]) -> set[str]:
    return {name for name, f in files.items() if f.get("yanked")}


@pytest.mark.parametrize("project", PROJECTS)
def test_json_page_lists_exactly_the_files_uploaded_before_the_cutoff(
    project: str, observed: dict[str, Observed], live_proxy: SnapproxyServer
) -> None:
    seen = observed[project]
    expected = surviving_files(seen.upstream_page)
    assert expected, f"{project} should have files before {CUTOFF} (test data)"
    reply = seen.proxy_json
    assert reply.status == 200, reply.body[:500]
    assert reply.url == f"{live_proxy.base}/simple/{canonicalize_name(project)}/"
    assert reply.headers["Content-Type"].startswith(SIMPLE_JSON)
    page = reply.json()
    names = Counter(f["filename"] for f in page["files"])
    assert [n for n, count in names.items() if count > 1] == []
    assert set(names) == set(expected), (
        f"missing: {sorted(set(expected) - set(names))[:10]}, "
        f"extra: {sorted(set(names) - set(expected))[:10]}"
    )
    for f in page["files"]:
        want = expected[f["filename"]]
        assert f["hashes"]["sha256"] == want["hashes"]["sha256"], f["filename"]
        assert f["upload-time"] == want["upload-time"], f["filename"]
        assert f.get("requires-python") == want.get("requires-python"), f["filename"]
        assert f.get("yanked", False) == want.get("yanked", False), f["filename"]
        # Relative to the page (PEP 691), inside the proxy's file route.
        assert urljoin(reply.url, f["url"]).startswith(_files_url(live_proxy.base)), f["url"]
    assert "_last-serial" not in page["meta"]


@pytest.mark.parametrize("project", PROJECTS)
def test_html_page_lists_exactly_the_files_uploaded_before_the_cutoff(
    project: str, observed: dict[str, Observed], live_proxy: SnapproxyServer
) -> None:
    seen = observed[project]
    expected = surviving_files(seen.upstream_page)
    reply = seen.proxy_html
    assert reply.status == 200, reply.body[:500]
    assert reply.headers["Content-Type"].startswith("text/html")
    anchors = html_anchors(reply.text())
    names = Counter(a.text for a in anchors)
    assert [n for n, count in names.items() if count > 1] == []
    assert set(names) == set(expected), (
        f"missing: {sorted(set(expected) - set(names))[:10]}, "
        f"extra: {sorted(set(names) - set(expected))[:10]}"
    )
    for a in anchors:
        want = expected[a.text]
        assert a.sha256 == want["hashes"]["sha256"], a.text
        assert urljoin(reply.url, a.href).startswith(_files_url(live_proxy.base)), a.href
        assert (a.attrs.get("data-requires-python") or None) == (
            want.get("requires-python") or None
        ), a.text
        yanked = want.get("yanked", False)
        assert ("data-yanked" in a.attrs) == bool(yanked), a.text
        if isinstance(yanked, str) and yanked:
            assert a.attrs["data-yanked"] == yanked, a.text


@pytest.mark.parametrize("project", PROJECTS)
def test_versions_are_those_with_a_surviving_file(
    project: str, observed: dict[str, Observed]
) -> None:
    seen = observed[project]
    expected = expected_versions(seen.upstream_page)
    assert expected, f"{project} should have versions before {CUTOFF} (test data)"
    assert seen.proxy_json.status == 200
    assert seen.proxy_json.json()["versions"] == expected


@pytest.mark.parametrize("project", PROJECTS)
def test_legacy_json_is_the_snapshot_of_upstream(
    project: str, observed: dict[str, Observed], live_proxy: SnapproxyServer
) -> None:
    seen = observed[project]
    releases = surviving_releases(seen.upstream_legacy)
    latest = expected_latest(releases)
    reply = seen.proxy_legacy
    assert reply.status == 200, reply.body[:500]
    assert reply.url == f"{live_proxy.base}/pypi/{canonicalize_name(project)}/json"
    doc = reply.json()
    assert files_by_version(doc["releases"]) == files_by_version(releases)
    assert doc["info"]["version"] == latest
    assert {f["filename"] for f in doc["urls"]} == {f["filename"] for f in releases[latest]}
    files = [f for fs in doc["releases"].values() for f in fs] + doc["urls"]
    for f in files:
        assert before(f["upload_time_iso_8601"]), f["filename"]
        assert f["url"].startswith(_files_url(live_proxy.base)), f["url"]
    assert "last_serial" not in doc


def test_the_project_sample_has_what_it_claims(observed: dict[str, Observed]) -> None:
    # The acceptance criteria ask for these kinds of project; make sure the data has them.
    assert len(PROJECTS) >= 20
    for project in ("Pillow", "zope.interface", "typing_extensions", "ruamel.yaml"):
        assert observed[project].upstream_page["name"] != project  # needs normalising
    for project in WITH_YANKED_FILES:
        assert _yanked_names(surviving_files(observed[project].upstream_page)), project


@pytest.mark.parametrize("project", WITH_YANKED_FILES)
def test_files_yanked_upstream_are_marked_yanked_in_every_format(
    project: str, observed: dict[str, Observed]
) -> None:
    seen = observed[project]
    expected = _yanked_names(surviving_files(seen.upstream_page))
    assert expected, f"{project} should have a yanked file before {CUTOFF} (test data)"
    as_json = {f["filename"] for f in seen.proxy_json.json()["files"] if f.get("yanked")}
    as_html = {a.text for a in html_anchors(seen.proxy_html.text()) if "data-yanked" in a.attrs}
    legacy = seen.proxy_legacy.json()["releases"]
    as_legacy = {f["filename"] for fs in legacy.values() for f in fs if f["yanked"]}
    assert as_json == expected
    assert as_html == expected
    assert as_legacy == expected


@pytest.mark.parametrize("project", BORN_AFTER_CUTOFF)
def test_project_born_after_the_cutoff_is_not_found(
    project: str, observed: dict[str, Observed]
) -> None:
    seen = observed[project]
    assert seen.upstream_page["files"], f"{project} exists on PyPI today (test data)"
    assert not surviving_files(seen.upstream_page), f"{project} predates the cutoff?"
    assert seen.proxy_json.status == 404, seen.proxy_json.body[:300]
    assert seen.proxy_html.status == 404, seen.proxy_html.body[:300]
    assert seen.proxy_legacy.status == 404, seen.proxy_legacy.body[:300]
