"""Upstream faults on index pages: bursts are absorbed, everything else is one clean 5xx line.

Issue 8.11: an upstream Content-Length shorter than its body gave a 500 with a traceback.
The teardown of every test also fails on any 500 or traceback a server logged.
"""

from __future__ import annotations

import pytest

from tests.faults.conftest import Serve
from tests.faults.hostile_upstream import (
    SIMPLE_JSON,
    Fault,
    HostileUpstream,
    blob_entry,
    chunked,
    cut_after,
    gzip_coded,
    lying_length,
    reset,
    status,
    truncated,
    unframed,
)
from tests.faults.probes import BEFORE, get

ALPHA = blob_entry("alpha", "1.0", b"alpha's bytes\n", BEFORE)
ROUTES = {
    "simple-json": ("/simple/alpha/", "/simple/alpha/", {"Accept": SIMPLE_JSON}),
    "simple-html": ("/simple/alpha/", "/simple/alpha/", {"Accept": "text/html"}),
    "legacy-json": ("/pypi/alpha/json", "/pypi/alpha/json", {}),
}


@pytest.mark.parametrize("route", list(ROUTES))
@pytest.mark.parametrize(
    "fault", [status(503), status(500), reset()], ids=["503", "500", "reset"]
)
def test_a_burst_shorter_than_the_retries_is_absorbed(
    upstream: HostileUpstream, serve: Serve, route: str, fault: Fault
) -> None:
    path, upstream_path, headers = ROUTES[route]
    upstream.add(ALPHA)
    upstream.fault(upstream_path, fault, times=2)
    proxy = serve()
    answer = get(proxy.port, path, headers)
    assert answer.status == 200, answer.body[:300]
    assert b"alpha" in answer.body


BROKEN_PAGES = {
    "length-too-short": lying_length(-30),
    "length-too-long": lying_length(+30),
    "truncated": truncated(50),
    "reset-mid-body": cut_after(50),
    "chunked-without-last-chunk": chunked(last_chunk=False),
}


@pytest.mark.parametrize("route", list(ROUTES))
@pytest.mark.parametrize("fault", list(BROKEN_PAGES))
def test_broken_page_framing_is_a_clean_bad_gateway(
    upstream: HostileUpstream, serve: Serve, route: str, fault: str
) -> None:
    path, upstream_path, headers = ROUTES[route]
    upstream.add(ALPHA)
    upstream.fault(upstream_path, BROKEN_PAGES[fault])
    proxy = serve()
    answer = get(proxy.port, path, headers)
    assert answer.status == 502, (answer.status, answer.body[:400])
    assert answer.complete and answer.body.count(b"\n") <= 1, answer.body
    assert b"Traceback" not in answer.body
    # The server is still healthy afterwards.
    assert get(proxy.port, "/-/health").status == 200


@pytest.mark.parametrize("route", list(ROUTES))
@pytest.mark.parametrize("fault", [gzip_coded(), unframed()], ids=["gzip", "eof-delimited"])
def test_well_formed_but_unusual_page_framing_is_served(
    upstream: HostileUpstream, serve: Serve, route: str, fault: Fault
) -> None:
    path, upstream_path, headers = ROUTES[route]
    upstream.add(ALPHA)
    upstream.fault(upstream_path, fault)
    proxy = serve()
    answer = get(proxy.port, path, headers)
    assert answer.status == 200, answer.body[:300]
    assert ALPHA.sha256.encode() in answer.body


def test_upstream_5xx_that_never_ends_is_a_502(upstream: HostileUpstream, serve: Serve) -> None:
    upstream.add(ALPHA)
    upstream.fault("/simple/alpha/", status(503))
    proxy = serve()
    answer = get(proxy.port, "/simple/alpha/")
    assert answer.status == 502 and answer.body.count(b"\n") == 1, answer.body
