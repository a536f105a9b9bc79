"""Upstream traffic and the cache: files once, single flight, revalidation, stale-if-error,
verified file storage."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import pytest

from tests.support.distributions import make_wheel
from tests.support.fakeindex import SIMPLE_JSON as UPSTREAM_JSON
from tests.support.fakeindex import FakeFile, FakeIndex
from tests.unit.http_fixtures import (
    AS_JSON,
    CORRUPT,
    CUTOFF,
    FOO_BAR,
    NAME,
    Client,
    StartProxy,
    files_under,
    upstream_path,
    visible,
)

PAGE = f"/simple/{NAME}/"
UPSTREAM_PAGE = f"/simple/{NAME}/"
WHEEL = next(f for f in visible(FOO_BAR, CUTOFF) if f.dist.is_wheel)
# Served from the index origin's /ext-files/, not the files host.
EXT_SDIST = next(f for f in visible(FOO_BAR, CUTOFF) if not f.on_files_host)


async def download(client: Client, project: str, f: FakeFile) -> bytes:
    response = await client.get(f"/files/{project}/{f.dist.filename}")
    assert response.status == 200, await response.text()
    return await response.read()


@pytest.mark.parametrize("f", [WHEEL, EXT_SDIST], ids=["files-host", "index-host"])
async def test_file_fetched_upstream_once(
    start_proxy: StartProxy, fake: FakeIndex, cache_dir: Path, f: FakeFile
) -> None:
    path = upstream_path(fake, f)
    client = await start_proxy()
    assert await download(client, NAME, f) == f.dist.content
    assert await download(client, NAME, f) == f.dist.content
    assert fake.hits[path] == 1
    assert files_under(cache_dir / "files")  # stored on disk

    # A new server on the same cache directory serves it from disk.
    again = await start_proxy()
    assert await download(again, NAME, f) == f.dist.content
    assert fake.hits[path] == 1


async def test_file_without_cache_dir_still_verified_and_served(
    start_proxy: StartProxy, fake: FakeIndex, cache_dir: Path
) -> None:
    client = await start_proxy(cache_dir=None)
    assert await download(client, NAME, WHEEL) == WHEEL.dist.content
    assert not cache_dir.exists()


async def test_concurrent_requests_share_one_upstream_fetch(proxy: Client, fake: FakeIndex) -> None:
    fake.delay(UPSTREAM_PAGE, 0.05)  # keep the first fetch in flight while the rest arrive
    responses = await asyncio.gather(*(proxy.get(PAGE, headers=AS_JSON) for _ in range(50)))
    bodies = {await r.read() for r in responses}
    assert [r.status for r in responses] == [200] * 50
    assert len(bodies) == 1
    assert fake.hits[UPSTREAM_PAGE] == 1


async def test_concurrent_requests_without_disk_cache(
    start_proxy: StartProxy, fake: FakeIndex
) -> None:
    client = await start_proxy(cache_dir=None)
    responses = await asyncio.gather(*(client.get(PAGE, headers=AS_JSON) for _ in range(50)))
    assert [r.status for r in responses] == [200] * 50
    assert fake.hits[UPSTREAM_PAGE] == 1


async def test_fresh_page_is_not_refetched(proxy: Client, fake: FakeIndex) -> None:
    for _ in range(3):
        assert (await proxy.get(PAGE, headers=AS_JSON)).status == 200
    assert fake.hits[UPSTREAM_PAGE] == 1


async def test_fresh_page_served_from_disk_by_a_new_server(
    start_proxy: StartProxy, fake: FakeIndex
) -> None:
    # Direct file URLs: the body then does not name the proxy's own (changing) port.
    first = await start_proxy(direct_files=True)
    body = await (await first.get(PAGE, headers=AS_JSON)).read()
    second = await start_proxy(direct_files=True)
    assert await (await second.get(PAGE, headers=AS_JSON)).read() == body
    assert fake.hits[UPSTREAM_PAGE] == 1


async def upstream_etag(fake: FakeIndex) -> str:
    async with (
        aiohttp.ClientSession() as session,
        session.get(
            f"{fake.index_origin}{UPSTREAM_PAGE}", headers={"Accept": UPSTREAM_JSON}
        ) as response,
    ):
        return response.headers["ETag"]


async def test_stale_page_is_revalidated(start_proxy: StartProxy, fake: FakeIndex) -> None:
    client = await start_proxy(max_age=0)
    first = await (await client.get(PAGE, headers=AS_JSON)).read()
    assert fake.hits[UPSTREAM_PAGE] == 1
    seen = [r for r in fake.requests if r.path == UPSTREAM_PAGE]
    assert "If-None-Match" not in seen[0].headers

    response = await client.get(PAGE, headers=AS_JSON)
    assert response.status == 200
    assert await response.read() == first
    assert fake.hits[UPSTREAM_PAGE] == 2
    seen = [r for r in fake.requests if r.path == UPSTREAM_PAGE]
    # The fake answers 304 to its own ETag, so the cached copy was reused.
    assert seen[1].headers.get("If-None-Match") == await upstream_etag(fake)


async def test_revalidation_picks_up_a_change(start_proxy: StartProxy, fake: FakeIndex) -> None:
    client = await start_proxy(max_age=0)
    await client.get(PAGE, headers=AS_JSON)
    added = FakeFile(make_wheel("Foo_Bar", "1.0", tag="py2-none-any"), "2020-01-01T00:00:00Z")
    fake.add("Foo_Bar", added)
    page = await (await client.get(PAGE, headers=AS_JSON)).json(content_type=None)
    assert added.dist.filename in {f["filename"] for f in page["files"]}


async def test_stale_if_error(start_proxy: StartProxy, fake: FakeIndex) -> None:
    client = await start_proxy(max_age=0, retries=1)
    first = await (await client.get(PAGE, headers=AS_JSON)).read()
    fake.fail(UPSTREAM_PAGE, status=503, times=None)
    response = await client.get(PAGE, headers=AS_JSON)
    assert response.status == 200
    assert await response.read() == first
    assert fake.hits[UPSTREAM_PAGE] == 1 + 2  # first fetch, then two failing attempts


async def test_stale_if_error_from_disk(start_proxy: StartProxy, fake: FakeIndex) -> None:
    first = await start_proxy(max_age=0, direct_files=True)
    body = await (await first.get(PAGE, headers=AS_JSON)).read()
    fake.fail(UPSTREAM_PAGE, status=500, times=None)
    second = await start_proxy(max_age=0, retries=0, direct_files=True)
    response = await second.get(PAGE, headers=AS_JSON)
    assert response.status == 200
    assert await response.read() == body


async def test_stale_if_error_on_timeout(start_proxy: StartProxy, fake: FakeIndex) -> None:
    client = await start_proxy(max_age=0, retries=0, timeout=0.2)
    body = await (await client.get(PAGE, headers=AS_JSON)).read()
    fake.delay(UPSTREAM_PAGE, 0.6)
    response = await client.get(PAGE, headers=AS_JSON)
    assert response.status == 200
    assert await response.read() == body


async def test_corrupt_file_is_cut_and_not_stored(
    proxy: Client, fake: FakeIndex, cache_dir: Path
) -> None:
    (f,) = CORRUPT
    path = upstream_path(fake, f)
    size = len(f.dist.content)

    async def attempt() -> None:
        completed = False
        body = b""
        status = None
        try:
            response = await proxy.get(f"/files/corrupt/{f.dist.filename}")
            status = response.status
            body = await response.read()
            completed = True
        except (aiohttp.ClientPayloadError, aiohttp.ServerDisconnectedError, aiohttp.ClientOSError):
            pass
        # No client may receive the whole (wrong) file as a normally completed 200.
        assert not (completed and status == 200 and len(body) == size), (status, len(body))
        assert body != f.served_bytes()

    await attempt()
    assert fake.hits[path] == 1
    assert files_under(cache_dir / "files") == []

    await attempt()
    assert fake.hits[path] == 2  # nothing was kept: upstream again
    assert files_under(cache_dir / "files") == []

    # The server keeps serving good files.
    assert await download(proxy, NAME, WHEEL) == WHEEL.dist.content


async def test_head_of_an_uncached_file_sends_no_body_and_keeps_the_connection(
    start_proxy: StartProxy, fake: FakeIndex, cache_dir: Path
) -> None:
    client = await start_proxy()
    url = f"/files/{NAME}/{WHEEL.dist.filename}"
    head = await client.head(url)
    assert head.status == 200
    assert head.headers["Content-Length"] == str(len(WHEEL.dist.content))
    assert await head.read() == b""
    # The same keep-alive connection must still parse the next response.
    assert await download(client, NAME, WHEEL) == WHEEL.dist.content
    assert fake.hits[upstream_path(fake, WHEEL)] == 1


async def test_head_without_a_store_answers_from_the_index_size(
    start_proxy: StartProxy, fake: FakeIndex
) -> None:
    client = await start_proxy(cache_dir=None)
    head = await client.head(f"/files/{NAME}/{WHEEL.dist.filename}")
    assert head.status == 200
    assert head.headers["Content-Length"] == str(len(WHEEL.dist.content))
    assert fake.hits[upstream_path(fake, WHEEL)] == 0


async def test_range_request_on_an_uncached_file_is_answered_partially(
    start_proxy: StartProxy, fake: FakeIndex, cache_dir: Path
) -> None:
    # uv reads a wheel's METADATA with range requests when no PEP 658 file exists.
    client = await start_proxy()
    url = f"/files/{NAME}/{WHEEL.dist.filename}"
    response = await client.get(url, headers={"Range": "bytes=10-29"})
    assert response.status == 206
    assert await response.read() == WHEEL.dist.content[10:30]
    assert response.headers["Accept-Ranges"] == "bytes"
    assert fake.hits[upstream_path(fake, WHEEL)] == 1


async def test_first_streamed_download_advertises_ranges(
    start_proxy: StartProxy, fake: FakeIndex, cache_dir: Path
) -> None:
    client = await start_proxy()
    response = await client.get(f"/files/{NAME}/{WHEEL.dist.filename}")
    assert response.headers["Accept-Ranges"] == "bytes"
    assert await response.read() == WHEEL.dist.content


async def test_range_request_on_a_corrupt_uncached_file_is_a_bad_gateway(
    start_proxy: StartProxy, fake: FakeIndex, cache_dir: Path
) -> None:
    client = await start_proxy()
    (bad,) = CORRUPT
    response = await client.get(
        f"/files/corrupt/{bad.dist.filename}", headers={"Range": "bytes=0-9"}
    )
    assert response.status == 502
    assert "does not match" in await response.text()
    assert not [p for p in files_under(cache_dir / "files") if p.name == bad.dist.sha256]


async def test_log_line_has_the_status_a_stored_file_was_sent_with(
    start_proxy: StartProxy, fake: FakeIndex, cache_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    client = await start_proxy()
    url = f"/files/{NAME}/{WHEEL.dist.filename}"
    await download(client, NAME, WHEEL)  # stored now
    caplog.clear()
    with caplog.at_level("INFO", logger="snapproxy.access"):
        response = await client.get(url, headers={"Range": "bytes=0-3"})
        assert response.status == 206
        await response.read()
        # A request is logged once sent; the next one on the connection comes after it.
        assert (await client.get("/-/health")).status == 200
    lines = [r.getMessage() for r in caplog.records if r.name == "snapproxy.access"]
    assert any(line.startswith(f"GET {url} 206 hit ") for line in lines), lines


async def test_head_of_a_metadata_file_without_a_store_claims_no_wheel_size(
    start_proxy: StartProxy, fake: FakeIndex
) -> None:
    client = await start_proxy(cache_dir=None)
    head = await client.head(f"/files/{NAME}/{WHEEL.dist.filename}.metadata")
    assert head.status == 200
    # The index gives no size for metadata files; the wheel's would be a lie.
    assert head.headers.get("Content-Length") != str(len(WHEEL.dist.content))
    get = await client.get(f"/files/{NAME}/{WHEEL.dist.filename}.metadata")
    assert await get.read() == WHEEL.dist.metadata
