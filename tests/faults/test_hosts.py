"""Guarantee 4: `serve` contacts only the configured index and files host.

The third host answers anything with a body a client would take; the fixture fails any
test (these and every other one of the tier) in which it saw a single request.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.faults.conftest import Serve
from tests.faults.hostile_upstream import (
    THIRD_BODY,
    HostileUpstream,
    blob_entry,
    redirect,
    status,
)
from tests.faults.probes import BEFORE, get

ALPHA = blob_entry("alpha", "1.0", b"alpha's bytes\n", BEFORE)
ALPHA_20 = blob_entry("alpha", "2.0", b"alpha 2.0's bytes\n", BEFORE)


def _not_served(status_code: int, body: bytes) -> None:
    assert status_code != 200, body[:300]
    assert THIRD_BODY.strip() not in body
    assert status_code != 500


@pytest.mark.parametrize("suffix", ["", ".metadata"], ids=["file", "metadata"])
def test_index_urls_on_a_third_host_are_never_fetched(
    upstream: HostileUpstream, serve: Serve, suffix: str
) -> None:
    foreign = replace(ALPHA, url=f"{upstream.third}/packages/{ALPHA.filename}")
    upstream.add(foreign)
    proxy = serve()
    answer = get(proxy.port, f"/files/alpha/{ALPHA.filename}{suffix}")
    _not_served(answer.status, answer.body)


@pytest.mark.parametrize("code", [301, 302, 303, 307, 308])
def test_files_host_redirects_to_a_third_host_are_not_followed(
    upstream: HostileUpstream, serve: Serve, code: int
) -> None:
    upstream.add(ALPHA)
    upstream.fault(
        ALPHA.files_path, redirect(f"{upstream.third}{ALPHA.files_path}", code), origin="files"
    )
    proxy = serve()
    answer = get(proxy.port, f"/files/alpha/{ALPHA.filename}")
    _not_served(answer.status, answer.body)


def test_a_redirect_chain_through_the_index_to_a_third_host_is_not_followed(
    upstream: HostileUpstream, serve: Serve
) -> None:
    upstream.add(ALPHA)
    hop = "/hop/alpha.whl"
    upstream.fault(ALPHA.files_path, redirect(f"{upstream.index}{hop}"), origin="files")
    upstream.fault(hop, redirect(f"{upstream.third}/final/alpha.whl"))
    proxy = serve()
    answer = get(proxy.port, f"/files/alpha/{ALPHA.filename}")
    _not_served(answer.status, answer.body)


@pytest.mark.parametrize("path", ["/simple/", "/simple/alpha/", "/pypi/alpha/json"])
def test_index_redirects_to_a_third_host_are_not_followed(
    upstream: HostileUpstream, serve: Serve, path: str
) -> None:
    upstream.add(ALPHA)
    upstream.fault(path, redirect(f"{upstream.third}{path}"))
    proxy = serve()
    answer = get(proxy.port, path)
    _not_served(answer.status, answer.body)


def test_version_info_from_metadata_on_a_third_host_is_not_fetched(
    upstream: HostileUpstream, serve: Serve
) -> None:
    """A version without its own legacy document takes `info` from its metadata file; that
    file's URL comes from the index, which here points at the third host."""
    upstream.add(replace(ALPHA, url=f"{upstream.third}/packages/{ALPHA.filename}"), ALPHA_20)
    upstream.fault("/pypi/alpha/1.0/json", status(404, b"no per-version documents here\n"))
    proxy = serve()
    answer = get(proxy.port, "/pypi/alpha/1.0/json")
    assert answer.status != 500 and THIRD_BODY.strip() not in answer.body
