"""Content negotiation, coding and validators of the proxy's pages (PEP 691, RFC 9110)."""

from __future__ import annotations

import gzip
import json

import pytest

from tests.unit.http_fixtures import (
    AS_HTML,
    AS_JSON,
    NAME,
    PIP_ACCEPT,
    SIMPLE_JSON,
    SIMPLE_LATEST_JSON,
    Client,
    StartProxy,
)

PAGE = f"/simple/{NAME}/"
VARY = {"accept", "accept-encoding"}


def vary_of(header: str | None) -> set[str]:
    return {part.strip().lower() for part in (header or "").split(",") if part.strip()}


@pytest.mark.parametrize(
    ("accept", "content_type"),
    [
        (PIP_ACCEPT, SIMPLE_JSON),
        (SIMPLE_JSON, SIMPLE_JSON),
        # PEP 691: a latest alias is answered with the concrete type.
        (SIMPLE_LATEST_JSON, SIMPLE_JSON),
        ("text/html", "text/html"),
        ("application/vnd.pypi.simple.v1+html", "application/vnd.pypi.simple.v1+html"),
        ("text/html;q=0.5, application/vnd.pypi.simple.v1+json;q=0.9", SIMPLE_JSON),
        ("text/html;q=0.9, application/vnd.pypi.simple.v1+json;q=0.5", "text/html"),
        ("application/vnd.pypi.simple.v1+json;q=0, text/html;q=0.1", "text/html"),
        ("application/xml, text/html;q=0.2", "text/html"),
    ],
)
async def test_accept_chooses_the_representation(
    proxy: Client, accept: str, content_type: str
) -> None:
    response = await proxy.get(PAGE, headers={"Accept": accept})
    assert response.status == 200
    assert response.headers["Content-Type"].split(";")[0].strip() == content_type
    body = await response.read()
    if content_type == SIMPLE_JSON:
        assert json.loads(body)["name"] == NAME
    else:
        assert body.lstrip().lower().startswith(b"<!doctype html>")


async def test_no_accept_is_html(proxy: Client) -> None:
    response = await proxy.get(PAGE, skip_auto_headers=["Accept"])
    assert "Accept" not in response.request_info.headers
    assert response.status == 200
    assert response.headers["Content-Type"].split(";")[0] == "text/html"


async def test_nothing_acceptable_is_406(proxy: Client) -> None:
    response = await proxy.get(PAGE, headers={"Accept": "application/xml"})
    assert response.status == 406
    assert (await response.text()).strip()


async def test_format_query_overrides_accept(proxy: Client) -> None:
    response = await proxy.get(PAGE, params={"format": SIMPLE_JSON}, headers=AS_HTML)
    assert response.status == 200
    assert response.headers["Content-Type"] == SIMPLE_JSON
    assert (await response.json(content_type=None))["name"] == NAME

    response = await proxy.get(PAGE, params={"format": "text/html"}, headers=AS_JSON)
    assert response.headers["Content-Type"].split(";")[0] == "text/html"


@pytest.mark.parametrize(
    ("path", "headers", "vary"),
    [
        (PAGE, AS_JSON, VARY),
        (PAGE, AS_HTML, VARY),
        ("/simple/", AS_JSON, VARY),
        ("/simple/", AS_HTML, VARY),
        # Legacy JSON's file URLs are absolute, built from the Host header.
        (f"/pypi/{NAME}/json", {}, VARY | {"host"}),
        (f"/pypi/{NAME}/1.0/json", {}, VARY | {"host"}),
    ],
)
async def test_vary_and_content_type_on_every_page(
    proxy: Client, path: str, headers: dict[str, str], vary: set[str]
) -> None:
    response = await proxy.get(path, headers=headers)
    assert response.status == 200
    assert response.headers.get("Content-Type")
    assert vary_of(response.headers.get("Vary")) == vary


async def test_gzip_when_accepted(start_proxy: StartProxy) -> None:
    client = await start_proxy(client_kwargs={"auto_decompress": False})
    for headers in (AS_JSON, AS_HTML):
        plain = await client.get(PAGE, headers={**headers, "Accept-Encoding": "identity"})
        assert plain.status == 200
        assert "Content-Encoding" not in plain.headers
        identity = await plain.read()

        packed = await client.get(PAGE, headers={**headers, "Accept-Encoding": "gzip"})
        assert packed.status == 200
        assert packed.headers["Content-Encoding"] == "gzip"
        assert packed.headers["Content-Type"] == plain.headers["Content-Type"]
        assert vary_of(packed.headers.get("Vary")) == VARY
        assert gzip.decompress(await packed.read()) == identity


async def test_no_gzip_without_accept_encoding(start_proxy: StartProxy) -> None:
    client = await start_proxy(client_kwargs={"auto_decompress": False})
    response = await client.get(PAGE, headers=AS_JSON, skip_auto_headers=["Accept-Encoding"])
    assert "Accept-Encoding" not in response.request_info.headers
    assert response.status == 200
    assert "Content-Encoding" not in response.headers
    assert json.loads(await response.read())["name"] == NAME


async def test_strong_etag_and_304(proxy: Client) -> None:
    response = await proxy.get(PAGE, headers=AS_JSON)
    etag = response.headers["ETag"]
    assert etag.startswith('"') and etag.endswith('"')  # strong, not W/"..."
    body = await response.read()

    again = await proxy.get(PAGE, headers={**AS_JSON, "If-None-Match": etag})
    assert again.status == 304
    assert await again.read() == b""
    assert again.headers["ETag"] == etag

    # The same request without the validator gets the same body and tag.
    third = await proxy.get(PAGE, headers=AS_JSON)
    assert third.headers["ETag"] == etag
    assert await third.read() == body


async def test_other_etag_gets_the_body(proxy: Client) -> None:
    response = await proxy.get(PAGE, headers={**AS_JSON, "If-None-Match": '"not-this-one"'})
    assert response.status == 200
    assert (await response.json(content_type=None))["name"] == NAME


async def test_json_and_html_have_different_etags(proxy: Client) -> None:
    as_json = await proxy.get(PAGE, headers=AS_JSON)
    as_html = await proxy.get(PAGE, headers=AS_HTML)
    assert as_json.headers["ETag"] != as_html.headers["ETag"]
    # And the HTML tag does not validate the JSON representation.
    cross = await proxy.get(PAGE, headers={**AS_JSON, "If-None-Match": as_html.headers["ETag"]})
    assert cross.status == 200


async def test_legacy_json_etag_and_304(proxy: Client) -> None:
    response = await proxy.get(f"/pypi/{NAME}/json")
    etag = response.headers["ETag"]
    again = await proxy.get(f"/pypi/{NAME}/json", headers={"If-None-Match": etag})
    assert again.status == 304
    assert await again.read() == b""
