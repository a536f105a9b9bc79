"""A routed project comes from its private index only, with its credentials only.

The private index here is a small PEP 503 HTML server that needs basic auth (as
pypiserver, devpi or Artifactory do); the default upstream is the FakeIndex.  The real
pypiserver is in tests/integration/test_private_index.py.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from snapproxy.credentials import Credentials
from snapproxy.index_routing import parse_index, parse_route, routing_from
from tests.support.distributions import make_wheel
from tests.support.fakeindex import FakeFile, FakeIndex
from tests.support.servers import serve
from tests.unit.http_fixtures import AS_JSON, Client, StartProxy

USER, PASSWORD = "alice", "s3cret-9f1c2e"
WHEEL = make_wheel("corp-util", "1.0", requires=["requests<2.26"])
DECOY = make_wheel("corp-util", "99.0")  # a public upload under the private name


@dataclass
class PrivateIndex:
    """An HTML-only index needing basic auth; ``cdn``: where it redirects file downloads."""

    origin: str = ""
    cdn: str = ""
    seen: list[tuple[str, str | None]] = field(default_factory=list)  # (path, Authorization)
    cdn_seen: list[tuple[str, str | None]] = field(default_factory=list)
    redirect_files: bool = False
    foreign_link: str | None = None

    def app(self) -> web.Application:
        expected = Credentials(USER, PASSWORD).header()

        async def handle(request: web.Request) -> web.StreamResponse:
            self.seen.append((request.path, request.headers.get("Authorization")))
            if request.headers.get("Authorization") != expected:
                return web.Response(status=401, headers={"WWW-Authenticate": "Basic"})
            path = request.path
            if path == "/simple/":
                return web.Response(
                    text='<html><a href="corp-util/">corp-util</a><a href="requests/">requests'
                    "</a></html>",
                    content_type="text/html",
                )
            if path == "/simple/corp-util/":
                link = self.foreign_link or f"../../packages/{WHEEL.filename}"
                return web.Response(
                    text=f"<html><h1>Links for corp-util</h1><a href=\"{link}#sha256="
                    f'{WHEEL.sha256}">{WHEEL.filename}</a></html>',
                    content_type="text/html",
                )
            if path == f"/packages/{WHEEL.filename}":
                if self.redirect_files:
                    raise web.HTTPFound(f"{self.cdn}/{WHEEL.filename}")
                return web.Response(body=WHEEL.content)
            return web.Response(status=404)

        app = web.Application()
        app.router.add_route("GET", "/{tail:.*}", handle)
        return app

    def cdn_app(self) -> web.Application:
        async def handle(request: web.Request) -> web.Response:
            self.cdn_seen.append((request.path, request.headers.get("Authorization")))
            return web.Response(body=WHEEL.content)

        app = web.Application()
        app.router.add_route("GET", "/{tail:.*}", handle)
        return app


@pytest.fixture
async def private() -> AsyncIterator[PrivateIndex]:
    index = PrivateIndex()
    async with serve(index.app()) as origin, serve(index.cdn_app()) as cdn:
        index.origin, index.cdn = origin, cdn
        yield index


def routed(private: PrivateIndex, *, password: str = PASSWORD, undated: bool = True) -> Any:
    url = private.origin.replace("http://", f"http://{USER}:{password}@") + "/simple/"
    return routing_from(
        [parse_index(f"corp={url}")],
        [parse_route("corp-*=corp")],
        ["corp"] if undated else [],
    )


async def text_of(proxy: Client, path: str, **kwargs: Any) -> tuple[int, str]:
    response = await proxy.get(path, **kwargs)
    return response.status, await response.text()


async def test_routed_project_comes_from_its_index_only(
    start_proxy: StartProxy, fake: FakeIndex, private: PrivateIndex
) -> None:
    # The same name uploaded publicly (dependency confusion) is never asked for or shown.
    fake.add("corp-util", FakeFile(DECOY, "2020-01-01T00:00:00Z"))
    proxy = await start_proxy(routing=routed(private))
    status, body = await text_of(proxy, "/simple/corp-util/", headers=AS_JSON)
    assert status == 200, body
    assert WHEEL.filename in body
    assert DECOY.filename not in body
    assert not [r for r in fake.requests if "corp-util" in r.path]
    download = await proxy.get(f"/files/corp-util/{WHEEL.filename}")
    assert download.status == 200
    assert hashlib.sha256(await download.read()).hexdigest() == WHEEL.sha256
    # Credentials went with every request to the private index.
    assert all(auth == Credentials(USER, PASSWORD).header() for _, auth in private.seen)


async def test_other_projects_never_reach_the_private_index(
    start_proxy: StartProxy, fake: FakeIndex, private: PrivateIndex
) -> None:
    proxy = await start_proxy(routing=routed(private))
    status, _ = await text_of(proxy, "/simple/foo-bar/", headers=AS_JSON)
    assert status == 200
    assert private.seen == []


async def test_undated_files_stay_hidden_without_undated_index(
    start_proxy: StartProxy, private: PrivateIndex
) -> None:
    proxy = await start_proxy(routing=routed(private, undated=False))
    status, body = await text_of(proxy, "/simple/corp-util/")
    assert status == 404
    assert "--undated-index corp" in body
    status, body = await text_of(proxy, f"/files/corp-util/{WHEEL.filename}")
    assert status == 404
    assert "no upload time" in body


async def test_wrong_credentials_name_the_index_not_the_secret(
    start_proxy: StartProxy, private: PrivateIndex, caplog: pytest.LogCaptureFixture
) -> None:
    wrong = "wrong-4b7d1a"
    proxy = await start_proxy(routing=routed(private, password=wrong))
    status, body = await text_of(proxy, "/simple/corp-util/")
    assert status == 502
    assert "index corp answered 401" in body
    assert "credentials were refused" in body
    assert wrong not in body and wrong not in caplog.text


async def test_credentials_do_not_follow_a_redirect_to_another_host(
    start_proxy: StartProxy, private: PrivateIndex
) -> None:
    private.redirect_files = True
    # The CDN is a configured origin (as files host), so the redirect is followed...
    proxy = await start_proxy(routing=routed(private), files_host=private.cdn)
    response = await proxy.get(f"/files/corp-util/{WHEEL.filename}")
    assert response.status == 200
    assert hashlib.sha256(await response.read()).hexdigest() == WHEEL.sha256
    # ...without the private index's credentials.
    assert private.cdn_seen == [(f"/{WHEEL.filename}", None)]


async def test_a_redirect_off_the_configured_hosts_is_refused(
    start_proxy: StartProxy, private: PrivateIndex
) -> None:
    private.redirect_files = True
    proxy = await start_proxy(routing=routed(private))
    response = await proxy.get(f"/files/corp-util/{WHEEL.filename}")
    assert response.status == 502
    assert private.cdn_seen == []


async def test_a_page_linking_files_elsewhere_is_refused(
    start_proxy: StartProxy, fake: FakeIndex, private: PrivateIndex
) -> None:
    # A private page pointing at the public files host: the file would not come from corp.
    private.foreign_link = f"{fake.files_origin}/packages/{WHEEL.filename}"
    proxy = await start_proxy(routing=routed(private))
    status, body = await text_of(proxy, f"/files/corp-util/{WHEEL.filename}")
    assert status == 502
    assert "index corp links corp-util's file to" in body


async def test_the_project_list_is_merged(
    start_proxy: StartProxy, fake: FakeIndex, private: PrivateIndex
) -> None:
    fake.add("corp-util", FakeFile(DECOY, "2020-01-01T00:00:00Z"))
    proxy = await start_proxy(routing=routed(private))
    response = await proxy.get("/simple/", headers=AS_JSON)
    names = [p["name"] for p in (await response.json(content_type=None))["projects"]]
    # corp-util once (the private one); the private index's "requests" is not routed to it.
    assert names.count("corp-util") == 1
    assert "Foo_Bar" in names
    # The private index also lists "requests", which is not routed to it.
    assert "requests" not in names


async def test_nothing_on_disk_holds_the_password(
    start_proxy: StartProxy, private: PrivateIndex, cache_dir: Path
) -> None:
    proxy = await start_proxy(routing=routed(private))
    for path in ("/simple/corp-util/", f"/files/corp-util/{WHEEL.filename}", "/simple/"):
        response = await proxy.get(path)
        assert PASSWORD.encode() not in await response.read()
    stored = [p for p in cache_dir.rglob("*") if p.is_file()]
    assert stored
    for path in stored:
        assert PASSWORD.encode() not in path.read_bytes(), path
