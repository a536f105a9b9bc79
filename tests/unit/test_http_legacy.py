"""The legacy JSON API (/pypi/<p>/json, /pypi/<p>/<v>/json) at the cutoff, end to end."""

from __future__ import annotations

from typing import Any

from tests.support.fakeindex import FakeIndex
from tests.unit.http_fixtures import (
    CUTOFF,
    CUTOFF_TEXT,
    FOO_BAR,
    NAME,
    YANK_REASON,
    YANKY,
    Client,
    StartProxy,
    filenames,
    upstream_path,
    visible,
)

SHOWN = visible(FOO_BAR, CUTOFF)
# The release PyPI would have shown as latest at the cutoff (no yanks, no pre-releases here).
LATEST = "1.1"
LATEST_FILES = [f for f in SHOWN if f.dist.version == LATEST]


async def get_json(client: Client, path: str) -> dict[str, Any]:
    response = await client.get(path)
    assert response.status == 200, await response.text()
    assert response.headers["Content-Type"].startswith("application/json")
    doc: dict[str, Any] = await response.json()
    return doc


def test_today_latest_differs_from_latest_at_cutoff() -> None:
    assert max(f.dist.version for f in FOO_BAR) != LATEST
    assert max(f.dist.version for f in SHOWN) == LATEST


async def test_project_releases_are_filtered(proxy: Client) -> None:
    doc = await get_json(proxy, f"/pypi/{NAME}/json")
    expected: dict[str, set[str]] = {}
    for f in SHOWN:
        expected.setdefault(f.dist.version, set()).add(f.dist.filename)
    assert {v: {f["filename"] for f in fs} for v, fs in doc["releases"].items()} == expected


async def test_project_info_is_the_latest_at_the_cutoff(proxy: Client) -> None:
    doc = await get_json(proxy, f"/pypi/{NAME}/json")
    assert doc["info"]["version"] == LATEST
    # Today's latest (2.0) requires dep>=2; the info must be 1.1's own.
    assert doc["info"]["requires_dist"] == list(LATEST_FILES[0].dist.requires)
    assert {f["filename"] for f in doc["urls"]} == filenames(LATEST_FILES)
    assert "last_serial" not in doc


async def test_project_file_urls_point_at_the_proxy(proxy: Client) -> None:
    doc = await get_json(proxy, f"/pypi/{NAME}/json")
    for files in [*doc["releases"].values(), doc["urls"]]:
        for f in files:
            assert f["url"] == str(proxy.make_url(f"/files/{NAME}/{f['filename']}"))


async def test_project_under_snapshot_prefix(proxy: Client) -> None:
    prefix = f"/snapshot/{CUTOFF_TEXT}"
    doc = await get_json(proxy, f"{prefix}/pypi/{NAME}/json")
    assert doc["info"]["version"] == LATEST
    for f in doc["urls"]:
        assert f["url"] == str(proxy.make_url(f"{prefix}/files/{NAME}/{f['filename']}"))


async def test_project_without_visible_file_is_404(proxy: Client) -> None:
    assert (await proxy.get("/pypi/future/json")).status == 404
    assert (await proxy.get("/pypi/no-such-project/json")).status == 404
    assert (await proxy.get("/pypi/undated/json")).status == 404


async def test_version_document_is_filtered(proxy: Client) -> None:
    doc = await get_json(proxy, f"/pypi/{NAME}/1.0/json")
    assert doc["info"]["version"] == "1.0"
    assert {f["filename"] for f in doc["urls"]} == filenames(
        f for f in SHOWN if f.dist.version == "1.0"
    )
    assert "last_serial" not in doc


async def test_version_after_the_cutoff_is_404(proxy: Client) -> None:
    assert (await proxy.get(f"/pypi/{NAME}/2.0/json")).status == 404
    # 1.2's only file was uploaded exactly at the cutoff.
    assert (await proxy.get(f"/pypi/{NAME}/1.2/json")).status == 404


async def test_yanked_keep_in_legacy(proxy: Client) -> None:
    doc = await get_json(proxy, "/pypi/yanky/json")
    # The yanked 1.1 is not the latest while a non-yanked release exists.
    assert doc["info"]["version"] == "1.0"
    (f,) = doc["releases"]["1.1"]
    assert f["yanked"] is True
    assert f["yanked_reason"] == YANK_REASON


async def test_yanked_ignore_in_legacy(start_proxy: StartProxy) -> None:
    client = await start_proxy(yanked="ignore")
    doc = await get_json(client, "/pypi/yanky/json")
    assert set(doc["releases"]) == {f.dist.version for f in visible(YANKY, CUTOFF)}
    for files in doc["releases"].values():
        for f in files:
            assert f["yanked"] is False
            assert f["yanked_reason"] is None
    # With every file unyanked, the highest release is the latest.
    assert doc["info"]["version"] == "1.1"
    assert doc["info"]["yanked"] is False


async def test_info_from_metadata_when_version_document_is_missing(
    proxy: Client, fake: FakeIndex
) -> None:
    fake.fail(f"/pypi/{NAME}/{LATEST}/json", status=404, times=None)
    doc = await get_json(proxy, f"/pypi/{NAME}/json")
    info = doc["info"]
    assert info["version"] == LATEST
    assert info["requires_dist"] == list(LATEST_FILES[0].dist.requires)
    assert info["requires_python"] == LATEST_FILES[0].dist.requires_python
    assert info["name"] == LATEST_FILES[0].dist.name
    assert {f["filename"] for f in doc["urls"]} == filenames(LATEST_FILES)
    wheel = next(f for f in LATEST_FILES if f.serves_metadata)
    assert fake.hits[upstream_path(fake, wheel) + ".metadata"] >= 1


async def test_version_document_fallback_when_upstream_has_none(
    proxy: Client, fake: FakeIndex
) -> None:
    fake.fail(f"/pypi/{NAME}/{LATEST}/json", status=404, times=None)
    fake.fail(f"/pypi/{NAME}/2.0/json", status=404, times=None)
    doc = await get_json(proxy, f"/pypi/{NAME}/{LATEST}/json")
    assert doc["info"]["version"] == LATEST
    assert doc["info"]["requires_dist"] == list(LATEST_FILES[0].dist.requires)
    assert {f["filename"] for f in doc["urls"]} == filenames(LATEST_FILES)
    assert "releases" not in doc and "last_serial" not in doc
    # A version after the cutoff stays hidden on the fallback path too.
    assert (await proxy.get(f"/pypi/{NAME}/2.0/json")).status == 404
