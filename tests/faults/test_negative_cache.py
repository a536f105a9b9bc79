"""Guarantee 2: failures are remembered for `--negative-ttl` and no longer; nothing but a valid
index document is ever stored; once upstream recovers, the next request (after the TTL)
succeeds.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.faults.conftest import Serve
from tests.faults.hostile_upstream import (
    MAINTENANCE_PAGE,
    SIMPLE_JSON,
    Fault,
    HostileUpstream,
    blob_entry,
    hang,
    replaced,
    reset,
    status,
    truncated,
)
from tests.faults.probes import BEFORE, cache_files, files_containing, get

TTL = 2.0
ALPHA = blob_entry("alpha", "1.0", b"alpha's bytes\n", BEFORE)
NOT_AN_INDEX = b'{"message": "rate limited, slow down", "code": 429}'
JSON_ACCEPT = {"Accept": SIMPLE_JSON}


def _failures(upstream: HostileUpstream) -> dict[str, Fault]:
    return {
        "5xx": status(503),
        "reset": reset(),
        "malformed-json": truncated(40),
        "not-an-index": replaced(NOT_AN_INDEX, "application/json"),
        "maintenance-html": replaced(MAINTENANCE_PAGE, "text/html"),
        "timeout": hang(upstream.gate()),
    }


FAILURES = ["5xx", "reset", "malformed-json", "not-an-index", "maintenance-html", "timeout"]


def _wait_past(moment: float, seconds: float) -> None:
    remaining = moment + seconds - time.monotonic()
    if remaining > 0:
        time.sleep(remaining)


@pytest.mark.parametrize("failure", FAILURES)
def test_failed_page_is_remembered_for_the_ttl_then_asked_again(
    upstream: HostileUpstream, serve: Serve, tmp_path: Path, failure: str
) -> None:
    upstream.add(ALPHA)
    upstream.fault("/simple/alpha/", _failures(upstream)[failure])
    cache = tmp_path / "cache"
    proxy = serve("--negative-ttl", str(TTL), "--timeout", "0.5", cache_dir=cache)

    first = get(proxy.port, "/simple/alpha/", JSON_ACCEPT)
    failed_at = time.monotonic()
    assert first.status in (502, 504), (first.status, first.body[:300])
    assert first.body.count(b"\n") <= 1 and b"Traceback" not in first.body, first.body
    asked = upstream.count("/simple/alpha/")
    assert asked >= 1
    # Nothing of the bad answer is kept as a document.
    for marker in (b"rate limited", b"maintenance", upstream.project_page("alpha")[:40]):
        assert not files_containing(cache, marker), cache_files(cache)

    upstream.clear_faults()  # upstream has recovered
    remembered = get(proxy.port, "/simple/alpha/", JSON_ACCEPT)
    assert remembered.status == first.status, remembered.body[:300]
    assert upstream.count("/simple/alpha/") == asked, "the failure was not remembered"

    _wait_past(failed_at, TTL + 0.5)
    recovered = get(proxy.port, "/simple/alpha/", JSON_ACCEPT)
    assert recovered.status == 200, recovered.body[:300]
    assert ALPHA.sha256.encode() in recovered.body
    assert upstream.count("/simple/alpha/") == asked + 1


def test_negative_ttl_zero_asks_upstream_every_time(
    upstream: HostileUpstream, serve: Serve
) -> None:
    upstream.add(ALPHA)
    upstream.fault("/simple/alpha/", status(503))
    proxy = serve("--negative-ttl", "0")
    assert get(proxy.port, "/simple/alpha/").status == 502
    asked = upstream.count("/simple/alpha/")
    assert get(proxy.port, "/simple/alpha/").status == 502
    assert upstream.count("/simple/alpha/") > asked, "a failure was remembered with TTL 0"
    upstream.clear_faults()
    assert get(proxy.port, "/simple/alpha/").status == 200


def test_maintenance_page_for_the_project_list_is_a_502_never_an_empty_index(
    upstream: HostileUpstream, serve: Serve, tmp_path: Path
) -> None:
    """Issue 8.8: a 200 HTML page with no project anchor is not an (empty) project list."""
    upstream.add(ALPHA)
    upstream.fault("/simple/", replaced(MAINTENANCE_PAGE, "text/html"))
    cache = tmp_path / "cache"
    proxy = serve("--negative-ttl", str(TTL), cache_dir=cache)
    for accept in ({"Accept": "text/html"}, JSON_ACCEPT):
        answer = get(proxy.port, "/simple/", accept)
        assert answer.status == 502, (answer.status, answer.body[:300])
    failed_at = time.monotonic()
    assert not files_containing(cache, b"maintenance"), cache_files(cache)

    upstream.clear_faults()
    _wait_past(failed_at, TTL + 0.5)
    listing = get(proxy.port, "/simple/", JSON_ACCEPT)
    assert listing.status == 200 and b'"alpha"' in listing.body, listing.body[:300]
    html = get(proxy.port, "/simple/", {"Accept": "text/html"})
    assert html.status == 200 and b">alpha<" in html.body, html.body[:300]

    # A restart on the same cache lists the projects too: nothing empty was stored.
    proxy.stop()
    again = serve(cache_dir=cache)
    assert b'"alpha"' in get(again.port, "/simple/", JSON_ACCEPT).body


def test_failed_file_is_served_once_upstream_recovers_after_the_ttl(
    upstream: HostileUpstream, serve: Serve
) -> None:
    upstream.add(ALPHA)
    upstream.fault(ALPHA.files_path, status(503), origin="files")
    proxy = serve("--negative-ttl", str(TTL))
    path = f"/files/alpha/{ALPHA.filename}"
    first = get(proxy.port, path)
    failed_at = time.monotonic()
    assert first.status == 502, (first.status, first.body[:300])
    upstream.clear_faults(ALPHA.files_path, "files")
    _wait_past(failed_at, TTL + 0.5)
    recovered = get(proxy.port, path)
    assert recovered.status == 200 and recovered.body == ALPHA.content


def test_hanging_upstream_costs_one_timeout_not_one_per_request(
    upstream: HostileUpstream, serve: Serve
) -> None:
    """Issue 8.13: while upstream hangs, later requests are answered from the failure."""
    upstream.add(ALPHA)
    gate = upstream.gate()
    upstream.fault("/simple/alpha/", hang(gate))
    proxy = serve("--negative-ttl", "30", "--timeout", "0.5")
    assert get(proxy.port, "/simple/alpha/").status == 504
    asked = upstream.count("/simple/alpha/")
    for _ in range(5):
        assert get(proxy.port, "/simple/alpha/").status == 504
    assert upstream.count("/simple/alpha/") == asked, "each request waited on upstream again"
    gate.open()
