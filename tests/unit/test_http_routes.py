"""Routes and addressing: redirects, /snapshot/<cutoff>/ trees, caching headers, health, list."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from yarl import URL

from snapproxy import __version__
from tests.support.distributions import make_sdist, make_wheel
from tests.support.fakeindex import FakeFile, FakeIndex
from tests.unit.http_fixtures import (
    AS_HTML,
    AS_JSON,
    CUTOFF,
    CUTOFF_TEXT,
    EARLY,
    EARLY_TEXT,
    FOO_BAR,
    IMMUTABLE,
    NAME,
    PROJECTS,
    SIMPLE_JSON,
    Client,
    StartProxy,
    filenames,
    parse_html,
    visible,
)

SNAP = f"/snapshot/{CUTOFF_TEXT}"


async def listed(client: Client, path: str) -> set[str]:
    response = await client.get(path, headers=AS_JSON)
    assert response.status == 200, await response.text()
    page: dict[str, Any] = await response.json(content_type=None)
    return {f["filename"] for f in page["files"]}


# ---- redirects -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "location"),
    [
        ("/simple/Foo_Bar/", f"/simple/{NAME}/"),
        ("/simple/FOO.bar/", f"/simple/{NAME}/"),
        (f"/simple/{NAME}", f"/simple/{NAME}/"),
        ("/simple", "/simple/"),
        (f"{SNAP}/simple/Foo_Bar/", f"{SNAP}/simple/{NAME}/"),
        (f"{SNAP}/simple/{NAME}", f"{SNAP}/simple/{NAME}/"),
        ("/pypi/Foo_Bar/json", f"/pypi/{NAME}/json"),
        ("/pypi/Foo/json", "/pypi/foo/json"),
        ("/pypi/Foo_Bar/1.0/json", f"/pypi/{NAME}/1.0/json"),
        (f"{SNAP}/pypi/Foo_Bar/json", f"{SNAP}/pypi/{NAME}/json"),
        ("/files/Foo_Bar/foo_bar-1.0.tar.gz", f"/files/{NAME}/foo_bar-1.0.tar.gz"),
    ],
)
async def test_unnormalised_urls_redirect(proxy: Client, path: str, location: str) -> None:
    response = await proxy.get(path, allow_redirects=False)
    assert response.status == 301
    assert response.headers["Location"] == location


async def test_redirect_target_is_served(proxy: Client) -> None:
    response = await proxy.get("/simple/Foo_Bar", headers=AS_JSON)  # two hops
    assert response.status == 200
    assert str(response.url).endswith(f"/simple/{NAME}/")


@pytest.mark.parametrize("path", ["/simple/Foo_Bar/", f"/simple/{NAME}"])
async def test_redirect_keeps_the_format_query(proxy: Client, path: str) -> None:
    # PEP 691's ?format= must survive the hop to the normalised URL.
    response = await proxy.get(path, params={"format": SIMPLE_JSON}, allow_redirects=False)
    assert response.status == 301
    location = URL(response.headers["Location"])
    assert location.path == f"/simple/{NAME}/"
    assert location.query["format"] == SIMPLE_JSON


async def test_unencoded_plus_in_format_query_still_means_plus(proxy: Client) -> None:
    # PEP 691 writes the parameter unencoded; a query string reads "+" as a space.
    response = await proxy.get(URL(f"/simple/{NAME}/?format={SIMPLE_JSON}", encoded=True))
    assert response.status == 200
    assert response.headers["Content-Type"] == SIMPLE_JSON


# ---- snapshot trees and Cache-Control ------------------------------------------------------


async def test_past_snapshot_is_immutable(proxy: Client) -> None:
    for path, headers in [
        (f"{SNAP}/simple/{NAME}/", AS_JSON),
        (f"{SNAP}/simple/{NAME}/", AS_HTML),
        (f"{SNAP}/pypi/{NAME}/json", {}),
    ]:
        response = await proxy.get(path, headers=headers)
        assert response.status == 200
        assert response.headers["Cache-Control"] == IMMUTABLE, path


async def test_default_tree_is_no_cache(proxy: Client) -> None:
    for path, headers in [
        (f"/simple/{NAME}/", AS_JSON),
        (f"/simple/{NAME}/", AS_HTML),
        (f"/pypi/{NAME}/json", {}),
    ]:
        response = await proxy.get(path, headers=headers)
        assert response.status == 200
        assert response.headers["Cache-Control"] == "no-cache", path


async def test_future_snapshot_is_not_immutable(start_proxy: StartProxy) -> None:
    # "now" is before the cutoff in the URL: uploads may still land before it.
    before = await start_proxy(now=lambda: datetime(2021, 3, 1, tzinfo=timezone.utc))
    response = await before.get(f"{SNAP}/simple/{NAME}/", headers=AS_JSON)
    assert response.status == 200
    assert "immutable" not in response.headers["Cache-Control"]
    assert response.headers["Cache-Control"] == "no-cache"

    after = await start_proxy(now=lambda: datetime(2021, 6, 1, tzinfo=timezone.utc))
    response = await after.get(f"{SNAP}/simple/{NAME}/", headers=AS_JSON)
    assert response.headers["Cache-Control"] == IMMUTABLE


async def test_project_list_is_never_immutable(proxy: Client) -> None:
    response = await proxy.get(f"{SNAP}/simple/", headers=AS_JSON)
    assert response.status == 200
    assert "immutable" not in response.headers.get("Cache-Control", "")


async def test_one_server_many_cutoffs(proxy: Client) -> None:
    early = await listed(proxy, f"/snapshot/{EARLY_TEXT}/simple/{NAME}/")
    default = await listed(proxy, f"/simple/{NAME}/")
    assert early == filenames(visible(FOO_BAR, EARLY))
    assert default == filenames(visible(FOO_BAR, CUTOFF))
    assert early != default
    # A datetime with an offset names its instant.
    late = await listed(proxy, f"/snapshot/2023-01-01T02:00:00+02:00/simple/{NAME}/")
    assert late == filenames(visible(FOO_BAR, datetime(2023, 1, 1, tzinfo=timezone.utc)))


async def test_snapshot_exactly_at_an_upload_hides_it(proxy: Client) -> None:
    at = "2021-04-30T23:59:59.999999Z"  # foo_bar-1.1.tar.gz's upload time
    shown = await listed(proxy, f"/snapshot/{at}/simple/{NAME}/")
    assert "foo_bar-1.1.tar.gz" not in shown
    assert "foo_bar-1.1-py3-none-any.whl" in shown


async def test_snapshot_files_route_uses_its_cutoff(proxy: Client) -> None:
    later = next(f for f in visible(FOO_BAR, CUTOFF) if f not in visible(FOO_BAR, EARLY))
    assert (await proxy.get(f"/files/{NAME}/{later.dist.filename}")).status == 200
    response = await proxy.get(f"/snapshot/{EARLY_TEXT}/files/{NAME}/{later.dist.filename}")
    assert response.status == 404


# ---- health --------------------------------------------------------------------------------


async def test_health(proxy: Client, fake: FakeIndex) -> None:
    response = await proxy.get("/-/health")
    assert response.status == 200
    doc = await response.json()
    assert doc["cutoff"] == "2021-05-01T00:00:00Z"
    assert doc["upstream"] == fake.index_origin

    response = await proxy.get(f"/snapshot/{EARLY_TEXT}/-/health")
    assert (await response.json())["cutoff"] == "2020-01-01T00:00:00Z"


# ---- project list --------------------------------------------------------------------------


async def test_project_list_json(proxy: Client) -> None:
    response = await proxy.get("/simple/", headers=AS_JSON)
    assert response.status == 200
    assert response.headers["Content-Type"] == SIMPLE_JSON
    doc = await response.json(content_type=None)
    assert {p["name"] for p in doc["projects"]} == set(PROJECTS)
    assert doc["meta"] == {"api-version": "1.1"}


@pytest.mark.parametrize("prefix", ["", SNAP])
async def test_project_list_html_has_relative_normalised_links(proxy: Client, prefix: str) -> None:
    response = await proxy.get(f"{prefix}/simple/", headers=AS_HTML)
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/html")
    html = parse_html(await response.text())
    assert html.texts == set(PROJECTS)
    hrefs = {text: attrs["href"] for attrs, text in html.anchors}
    assert hrefs["Foo_Bar"] == f"{NAME}/"
    for href in hrefs.values():
        assert href is not None
        assert not href.startswith(("/", "http:", "https:"))
        assert href.endswith("/")


async def test_a_cutoff_less_than_an_hour_ago_is_not_immutable(start_proxy: StartProxy) -> None:
    # Uploads may still land before such a cutoff (cutoff.is_recent): not final yet.
    path = f"/snapshot/{CUTOFF_TEXT}/simple/{NAME}/"
    soon = await start_proxy(now=lambda: CUTOFF + timedelta(minutes=30))
    response = await soon.get(path, headers=AS_JSON)
    assert response.status == 200
    assert response.headers["Cache-Control"] == "no-cache"
    later = await start_proxy(now=lambda: CUTOFF + timedelta(hours=2))
    response = await later.get(path, headers=AS_JSON)
    assert response.headers["Cache-Control"] == IMMUTABLE


# ---- the home page -------------------------------------------------------------------------


async def test_home_is_a_page_naming_the_index_url(proxy: Client, fake: FakeIndex) -> None:
    response = await proxy.get("/")
    assert response.status == 200
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert response.headers["Vary"] == "Accept, Accept-Encoding, Host"
    text = await response.text()
    index = f"http://{proxy.host}:{proxy.port}/simple/"  # the Host the client used
    assert f"pip install --index-url {index} " in text
    assert f"{fake.index_origin} as of 2021-05-01T00:00:00Z" in text
    hrefs = {attrs["href"] for attrs, _ in parse_html(text).anchors}
    assert hrefs == {index, f"http://{proxy.host}:{proxy.port}/-/health"}


async def test_home_as_json(proxy: Client, fake: FakeIndex) -> None:
    response = await proxy.get("/", headers={"Accept": "application/json"})
    assert response.status == 200
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["Vary"] == "Accept, Accept-Encoding, Host"
    doc = await response.json()
    assert doc == {
        "cutoff": "2021-05-01T00:00:00Z",
        "date": "2021-05-01T00:00:00Z",
        "package_dates": {},
        "upstream": fake.index_origin,
        "index_url": f"http://{proxy.host}:{proxy.port}/simple/",
        "version": __version__,
    }
    # The URL is the one the client used, whichever name it reached the server by.
    named = await proxy.get("/", headers={"Accept": "application/json", "Host": "ex.test:81"})
    assert (await named.json())["index_url"] == "http://ex.test:81/simple/"


async def test_home_of_a_tree_names_its_own_index(proxy: Client) -> None:
    response = await proxy.get(f"{SNAP}/", headers={"Accept": "application/json"})
    assert response.status == 200
    doc = await response.json()
    assert doc["cutoff"] == "2021-05-01T00:00:00Z"
    assert doc["index_url"] == f"http://{proxy.host}:{proxy.port}{SNAP}/simple/"
    early = await proxy.get(f"/snapshot/{EARLY_TEXT}", headers={"Accept": "application/json"})
    assert early.status == 200  # after the redirect that adds the slash
    assert (await early.json())["cutoff"] == "2020-01-01T00:00:00Z"


async def test_home_answers_head(proxy: Client) -> None:
    response = await proxy.head("/")
    assert response.status == 200
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert await response.read() == b""


async def test_home_with_a_hostile_host_uses_the_bound_address(proxy: Client) -> None:
    hostile = 'evil.test"><script>alert(1)</script>'
    response = await proxy.get("/", headers={"Host": hostile})
    assert response.status == 200
    text = await response.text()
    assert "<script>" not in text
    assert "evil.test" not in text  # not an authority: never put in a URL
    assert f"http://{proxy.host}:{proxy.port}/simple/" in text


async def test_home_is_revalidated_with_its_etag(proxy: Client) -> None:
    first = await proxy.get("/")
    again = await proxy.get("/", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status == 304


# ---- versions: a listed version stays iff a visible file's version equals it (PEP 440) -----


async def test_versions_and_legacy_releases_follow_one_rule(
    proxy: Client, fake: FakeIndex
) -> None:
    # As requests on PyPI: 0.12.01 listed with no file of its own, equal to 0.12.1 under
    # PEP 440; 0.0.1 listed with no file at all; 2.0 equal to a file after the cutoff.
    fake.add(
        "requests",
        FakeFile(make_sdist("requests", "0.12.0"), "2012-04-01T00:00:00Z"),
        FakeFile(make_sdist("requests", "0.12.1"), "2012-05-01T00:00:00Z"),
        FakeFile(make_wheel("requests", "2.0.0"), "2022-01-01T00:00:00Z"),
        versions=["0.12.01", "0.0.1", "2.0"],
    )
    response = await proxy.get("/simple/requests/", headers=AS_JSON)
    page = await response.json(content_type=None)
    assert sorted(page["versions"]) == ["0.12.0", "0.12.01", "0.12.1"]
    assert {f["filename"] for f in page["files"]} == {
        "requests-0.12.0.tar.gz",
        "requests-0.12.1.tar.gz",
    }

    legacy = await (await proxy.get("/pypi/requests/json")).json()
    assert set(legacy["releases"]) == set(page["versions"])
    assert legacy["releases"]["0.12.01"] == []  # kept as upstream lists it, with no file
    assert legacy["info"]["version"] == "0.12.1"  # a release without files is never latest
    # The version with no file of its own has no per-version document in the snapshot.
    assert (await proxy.get("/pypi/requests/0.12.01/json")).status == 404
    assert (await proxy.get("/pypi/requests/0.12.1/json")).status == 200
