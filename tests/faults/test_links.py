"""Issue 8.16: links. Simple pages carry relative file links and no Host value at all; legacy
JSON builds absolute links from the Host header (or the bound address, port included,
when there is none) and says so with `Vary: Host`.
"""

from __future__ import annotations

import json
from urllib.parse import urljoin

import pytest

from tests.faults.conftest import Serve
from tests.faults.hostile_upstream import SIMPLE_JSON, HostileUpstream, blob_entry
from tests.faults.probes import BEFORE, get, raw_request

ALPHA = blob_entry("alpha", "1.0", b"alpha's bytes\n", BEFORE)
FORGED = "forged.example:9999"
TREES = ["", "/snapshot/2023-12-01"]


def _vary(headers: dict[str, str]) -> set[str]:
    return {v.strip().lower() for v in headers.get("vary", "").split(",")}


@pytest.mark.parametrize("tree", TREES, ids=["root", "snapshot"])
@pytest.mark.parametrize("fmt", ["json", "html"])
def test_simple_pages_have_relative_links_and_no_host(
    upstream: HostileUpstream, serve: Serve, tree: str, fmt: str
) -> None:
    upstream.add(ALPHA)
    proxy = serve()
    accept = SIMPLE_JSON if fmt == "json" else "text/html"
    page = f"{tree}/simple/alpha/"
    answer = get(proxy.port, page, {"Host": FORGED, "Accept": accept})
    assert answer.status == 200, answer.body[:300]
    assert b"forged.example" not in answer.body and b"127.0.0.1" not in answer.body, answer.body
    link = f"../../files/alpha/{ALPHA.filename}"
    if fmt == "json":
        [entry] = json.loads(answer.body)["files"]
        assert entry["url"] == link
    else:
        assert f'href="{link}#sha256={ALPHA.sha256}"'.encode() in answer.body, answer.body
    # The link, resolved as a client does, is the file, with the indexed bytes.
    target = urljoin(f"http://{FORGED}{page}", link).removeprefix(f"http://{FORGED}")
    assert target == f"{tree}/files/alpha/{ALPHA.filename}"
    assert get(proxy.port, target).body == ALPHA.content


def test_absolute_form_request_gives_no_host_in_a_simple_page(
    upstream: HostileUpstream, serve: Serve
) -> None:
    upstream.add(ALPHA)
    proxy = serve()
    request = (
        f"GET http://127.0.0.1:{proxy.port}/snapshot/2023-12-01/simple/alpha/ HTTP/1.1\r\n"
        f"Host: {FORGED}\r\nAccept: text/html\r\nConnection: close\r\n\r\n"
    )
    answer = raw_request(proxy.port, request.encode())
    assert answer.status == 200, answer.body[:300]
    assert b"forged.example" not in answer.body and b"127.0.0.1" not in answer.body, answer.body


@pytest.mark.parametrize("tree", TREES, ids=["root", "snapshot"])
def test_legacy_json_links_follow_host_and_vary_on_it(
    upstream: HostileUpstream, serve: Serve, tree: str
) -> None:
    upstream.add(ALPHA)
    proxy = serve()
    answer = get(proxy.port, f"{tree}/pypi/alpha/json", {"Host": FORGED})
    assert answer.status == 200, answer.body[:300]
    urls = [f["url"] for f in json.loads(answer.body)["urls"]]
    assert urls == [f"http://{FORGED}{tree}/files/alpha/{ALPHA.filename}"]
    assert "host" in _vary(answer.headers), answer.raw_head


@pytest.mark.parametrize(
    "request_line",
    [
        "GET {tree}/pypi/alpha/json HTTP/1.0\r\n\r\n",
        "GET http://127.0.0.1:{port}{tree}/pypi/alpha/json HTTP/1.1\r\n"
        "Host: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n",
    ],
    ids=["http-1.0-without-host", "absolute-form"],
)
@pytest.mark.parametrize("tree", TREES, ids=["root", "snapshot"])
def test_legacy_links_without_a_host_header_carry_the_port(
    upstream: HostileUpstream, serve: Serve, request_line: str, tree: str
) -> None:
    upstream.add(ALPHA)
    proxy = serve()
    answer = raw_request(proxy.port, request_line.format(port=proxy.port, tree=tree).encode())
    assert answer.status == 200, answer.body[:300]
    urls = [f["url"] for f in json.loads(answer.body)["urls"]]
    assert urls == [f"http://127.0.0.1:{proxy.port}{tree}/files/alpha/{ALPHA.filename}"]
