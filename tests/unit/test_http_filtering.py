"""Filtering end to end: what the simple API pages list at the cutoff (JSON and HTML)."""

from __future__ import annotations

from typing import Any

import pytest
import yarl

from tests.support.fakeindex import FakeIndex
from tests.unit.http_fixtures import (
    AS_HTML,
    AS_JSON,
    CUTOFF,
    CUTOFF_TEXT,
    FOO_BAR,
    FOO_BAR_EMPTY_VERSION,
    NAME,
    NOMETA,
    UNDATED,
    YANK_REASON,
    YANKY,
    Client,
    StartProxy,
    by_filename,
    filenames,
    parse_html,
    visible,
)


async def get_page(client: Client, path: str) -> dict[str, Any]:
    response = await client.get(path, headers=AS_JSON)
    assert response.status == 200, await response.text()
    page: dict[str, Any] = await response.json(content_type=None)
    return page


async def get_html(client: Client, path: str) -> str:
    response = await client.get(path, headers=AS_HTML)
    assert response.status == 200, await response.text()
    return await response.text()


def test_the_data_straddles_the_cutoff() -> None:
    # The fixture itself: some files before, one exactly at, some after the cutoff.
    shown = visible(FOO_BAR, CUTOFF)
    assert 0 < len(shown) < len(FOO_BAR)
    assert "foo_bar-1.2-py3-none-any.whl" not in filenames(shown)


async def test_json_page_lists_exactly_the_files_before_the_cutoff(proxy: Client) -> None:
    page = await get_page(proxy, f"/simple/{NAME}/")
    listed = [f["filename"] for f in page["files"]]
    assert sorted(listed) == sorted(filenames(visible(FOO_BAR, CUTOFF)))
    assert len(listed) == len(set(listed))
    # Exactly at the cutoff is hidden; after it too.
    assert "foo_bar-1.2-py3-none-any.whl" not in listed
    assert not any("2.0" in name for name in listed)
    for f in page["files"]:
        expected = by_filename(f["filename"])
        assert f["hashes"] == {"sha256": expected.dist.sha256}
        assert f["upload-time"] == expected.upload_time
        assert f["size"] == len(expected.dist.content)


async def test_html_page_lists_exactly_the_files_before_the_cutoff(proxy: Client) -> None:
    html = parse_html(await get_html(proxy, f"/simple/{NAME}/"))
    assert html.texts == filenames(visible(FOO_BAR, CUTOFF))
    assert len(html.anchors) == len(visible(FOO_BAR, CUTOFF))
    for attrs, text in html.anchors:
        href = attrs["href"] or ""
        assert href.endswith(f"#sha256={by_filename(text).dist.sha256}")


async def test_html_carries_requires_python(proxy: Client) -> None:
    html = parse_html(await get_html(proxy, f"/simple/{NAME}/"))
    assert html.anchor("foo_bar-1.1-py3-none-any.whl")["data-requires-python"] == ">=3.8"
    assert "data-requires-python" not in html.anchor("foo_bar-1.0-py3-none-any.whl")


async def test_versions_are_those_with_a_visible_file(proxy: Client) -> None:
    page = await get_page(proxy, f"/simple/{NAME}/")
    alive = {f.dist.version for f in visible(FOO_BAR, CUTOFF)}
    assert page["versions"] == sorted(alive)
    assert FOO_BAR_EMPTY_VERSION not in page["versions"]  # upstream lists it, with no file


@pytest.mark.parametrize("headers", [AS_JSON, AS_HTML])
async def test_project_without_visible_file_is_404(proxy: Client, headers: dict[str, str]) -> None:
    response = await proxy.get("/simple/future/", headers=headers)
    assert response.status == 404


@pytest.mark.parametrize("headers", [AS_JSON, AS_HTML])
async def test_unknown_project_is_404(proxy: Client, headers: dict[str, str]) -> None:
    response = await proxy.get("/simple/no-such-project/", headers=headers)
    assert response.status == 404


async def test_undated_file_is_hidden(proxy: Client) -> None:
    response = await proxy.get("/simple/undated/", headers=AS_JSON)
    assert response.status == 404


async def test_undated_file_is_shown_when_allowed(start_proxy: StartProxy) -> None:
    client = await start_proxy(allow_undated=True)
    page = await get_page(client, "/simple/undated/")
    assert {f["filename"] for f in page["files"]} == filenames(UNDATED)
    assert page["versions"] == ["1.0"]
    # Allowing undated files does not let later files in.
    foo = await get_page(client, f"/simple/{NAME}/")
    assert {f["filename"] for f in foo["files"]} == filenames(visible(FOO_BAR, CUTOFF))


async def test_yanked_keep_passes_the_reason_through(proxy: Client) -> None:
    page = await get_page(proxy, "/simple/yanky/")
    yanked = {f["filename"]: f["yanked"] for f in page["files"]}
    assert yanked == {
        f.dist.filename: (f.yanked if f.yanked else False) for f in visible(YANKY, CUTOFF)
    }
    assert YANK_REASON in yanked.values()

    html = parse_html(await get_html(proxy, "/simple/yanky/"))
    assert html.anchor("yanky-1.1-py3-none-any.whl")["data-yanked"] == YANK_REASON
    assert "data-yanked" not in html.anchor("yanky-1.0-py3-none-any.whl")


async def test_yanked_ignore_clears_the_marks(start_proxy: StartProxy) -> None:
    client = await start_proxy(yanked="ignore")
    page = await get_page(client, "/simple/yanky/")
    assert {f["filename"] for f in page["files"]} == filenames(visible(YANKY, CUTOFF))
    assert all(f["yanked"] is False for f in page["files"])

    html = parse_html(await get_html(client, "/simple/yanky/"))
    assert all("data-yanked" not in attrs for attrs, _ in html.anchors)


async def test_meta_is_capped_and_has_no_serial(proxy: Client, fake: FakeIndex) -> None:
    response = await proxy.get(f"/simple/{NAME}/", headers=AS_JSON)
    page = await response.json(content_type=None)
    assert page["meta"] == {"api-version": "1.1"}  # upstream says 1.4 and a serial
    assert "X-PyPI-Last-Serial" not in response.headers

    html = parse_html(await get_html(proxy, f"/simple/{NAME}/"))
    assert html.metas["pypi:repository-version"] == "1.1"
    assert not any("serial" in c.lower() for c in html.comments)


async def test_project_status_passes_through(proxy: Client) -> None:
    page = await get_page(proxy, f"/simple/{NAME}/")
    assert page["project-status"] == {"status": "active"}  # what the fake says today
    html = parse_html(await get_html(proxy, f"/simple/{NAME}/"))
    assert html.metas["pypi:project-status"] == "active"


async def test_file_urls_point_at_the_proxy(proxy: Client) -> None:
    # Relative (PEP 503/691 allow it): no body depends on the Host the client used.
    page = await get_page(proxy, f"/simple/{NAME}/")
    for f in page["files"]:
        assert f["url"] == f"../../files/{NAME}/{f['filename']}"

    html = parse_html(await get_html(proxy, f"/simple/{NAME}/"))
    for attrs, text in html.anchors:
        expected = f"../../files/{NAME}/{text}"
        assert attrs["href"] == f"{expected}#sha256={by_filename(text).dist.sha256}"


@pytest.mark.parametrize("prefix", ["", f"/snapshot/{CUTOFF_TEXT}"])
async def test_file_urls_resolve_inside_the_tree(proxy: Client, prefix: str) -> None:
    page_url = proxy.make_url(f"{prefix}/simple/{NAME}/")
    page = await get_page(proxy, f"{prefix}/simple/{NAME}/")
    assert page["files"]
    for f in page["files"]:
        absolute = page_url.join(yarl.URL(f["url"]))
        assert absolute == proxy.make_url(f"{prefix}/files/{NAME}/{f['filename']}")
        response = await proxy.get(absolute.path)
        assert response.status == 200
        assert await response.read() == by_filename(f["filename"]).dist.content


@pytest.mark.parametrize("host", ["evil.example", "127.0.0.1:1", "a b"])
async def test_page_bodies_do_not_depend_on_host(proxy: Client, host: str) -> None:
    plain = await (await proxy.get(f"/simple/{NAME}/", headers=AS_JSON)).read()
    forged = await proxy.get(f"/simple/{NAME}/", headers={**AS_JSON, "Host": host})
    assert await forged.read() == plain


async def test_direct_files_leave_upstream_urls(start_proxy: StartProxy, fake: FakeIndex) -> None:
    client = await start_proxy(direct_files=True)
    page = await get_page(client, f"/simple/{NAME}/")
    assert page["files"]
    for f in page["files"]:
        assert f["url"] == fake.file_url(by_filename(f["filename"]))

    html = parse_html(await get_html(client, f"/simple/{NAME}/"))
    for attrs, text in html.anchors:
        assert (attrs["href"] or "").split("#")[0] == fake.file_url(by_filename(text))


async def test_core_metadata_only_where_upstream_has_it(proxy: Client) -> None:
    page = await get_page(proxy, f"/simple/{NAME}/")
    for f in page["files"]:
        expected = by_filename(f["filename"])
        assert "data-dist-info-metadata" not in f
        if expected.serves_metadata:
            assert f["core-metadata"] == {"sha256": expected.dist.metadata_sha256}
        else:
            assert not f.get("core-metadata")
    assert any(f.get("core-metadata") for f in page["files"])
    assert not all(f.get("core-metadata") for f in page["files"])  # sdists have none

    nometa = await get_page(proxy, "/simple/nometa/")
    assert [f.get("core-metadata") for f in nometa["files"]] == [None]


async def test_html_has_both_metadata_attributes(proxy: Client) -> None:
    html = parse_html(await get_html(proxy, f"/simple/{NAME}/"))
    for attrs, text in html.anchors:
        expected = by_filename(text)
        if expected.serves_metadata:
            value = f"sha256={expected.dist.metadata_sha256}"
            assert attrs["data-core-metadata"] == value
            assert attrs["data-dist-info-metadata"] == value
        else:
            assert "data-core-metadata" not in attrs
            assert "data-dist-info-metadata" not in attrs

    nometa = parse_html(await get_html(proxy, "/simple/nometa/"))
    ((attrs, _),) = nometa.anchors
    assert "data-core-metadata" not in attrs and "data-dist-info-metadata" not in attrs


async def test_metadata_route_serves_the_metadata_file(proxy: Client) -> None:
    wheel = next(f for f in visible(FOO_BAR, CUTOFF) if f.serves_metadata)
    response = await proxy.get(f"/files/{NAME}/{wheel.dist.filename}.metadata")
    assert response.status == 200
    assert await response.read() == wheel.dist.metadata


async def test_metadata_route_404_when_upstream_has_none(proxy: Client) -> None:
    (f,) = NOMETA
    response = await proxy.get(f"/files/nometa/{f.dist.filename}.metadata")
    assert response.status == 404
    sdist = next(f for f in visible(FOO_BAR, CUTOFF) if not f.dist.is_wheel)
    response = await proxy.get(f"/files/{NAME}/{sdist.dist.filename}.metadata")
    assert response.status == 404
    later = next(f for f in FOO_BAR if f.serves_metadata and f not in visible(FOO_BAR, CUTOFF))
    response = await proxy.get(f"/files/{NAME}/{later.dist.filename}.metadata")
    assert response.status == 404


async def test_file_route_serves_visible_files_only(proxy: Client) -> None:
    for f in FOO_BAR:
        response = await proxy.get(f"/files/{NAME}/{f.dist.filename}")
        if f in visible(FOO_BAR, CUTOFF):
            assert response.status == 200, f.dist.filename
            assert await response.read() == f.dist.content
        else:
            assert response.status == 404, f.dist.filename
