"""Each client gets the simple API form it reads, and PEP 658 metadata where it uses it.

pip 22.2+ and uv ask for PEP 691 JSON; older pip asks for `text/html` and rejects any other
answer; pip 23.2+ and uv fetch `<file>.metadata` (PEP 658/714) instead of whole wheels.
A recording tap between client and proxy sees the `Accept` each client sent and the
`Content-Type` it got back; the proxy's own log shows which routes served them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urljoin

import pytest

from tests.integration.harness import (
    ALPHA_11,
    ALPHA_20,
    BETA_10,
    CUTOFF,
    Client,
    ProxyLog,
    StartProxy,
    Tap,
    add_catalogue,
    http_get,
    make_client,
)
from tests.support.fakeindex import FakeIndex
from tests.support.proxyproc import SnapproxyServer

SIMPLE_JSON = "application/vnd.pypi.simple.v1+json"
# Exactly what pip 22.0.4 sends for a project page (pip/_internal/index/collector.py).
PIP_22_HEADERS = {"Accept": "text/html", "Cache-Control": "max-age=0"}


@pytest.fixture(scope="module")
def proxy(upstream: FakeIndex, module_proxy: StartProxy) -> SnapproxyServer:
    add_catalogue(upstream)
    return module_proxy(CUTOFF, upstream=upstream)


@pytest.fixture(scope="module")
def tap(proxy: SnapproxyServer) -> Iterator[tuple[Tap, str]]:
    """A tap in front of the proxy, and the index URL to give clients."""
    tap = Tap(proxy.base)
    with tap.running() as origin:
        yield tap, f"{origin}/simple/"


def test_each_client_gets_the_form_it_reads(
    client: Client, tap: tuple[Tap, str], proxy: SnapproxyServer, tmp_path: Path
) -> None:
    recorder, index_url = tap
    seen = len(recorder.exchanges())
    log = ProxyLog(proxy)
    got = client.resolve(index_url, ["beta"], tmp_path)
    assert got.ok, got.output
    assert got.pins == {"alpha": "1.1", "beta": "1.0"}

    exchanges = recorder.exchanges()[seen:]
    pages = [e for e in exchanges if e.path.startswith("/simple/")]
    assert {e.path for e in pages} == {"/simple/alpha/", "/simple/beta/"}, exchanges
    for page in pages:
        assert page.status == 200, page
        assert page.accept is not None
        if client.reads_json:
            assert SIMPLE_JSON in page.accept, page
            assert page.content_type == SIMPLE_JSON, page
        else:
            assert page.accept == "text/html", page
            assert page.content_type == "text/html; charset=utf-8", page

    metadata = {e.path for e in exchanges if e.path.endswith(".metadata")}
    wanted = {f"/files/{d.name}/{d.filename}.metadata" for d in (ALPHA_11, BETA_10)}
    if client.uses_metadata_files:
        assert metadata == wanted, exchanges
        for path in wanted:  # served by the proxy's metadata route, not passed through
            log.wait_for_path(path)
    else:
        assert metadata == set(), exchanges
        wheels = {e.path for e in exchanges if e.path.endswith(".whl")}
        assert wheels == {f"/files/{d.name}/{d.filename}" for d in (ALPHA_11, BETA_10)}


def test_pip_26_resolves_from_metadata_files_alone(
    proxy: SnapproxyServer, tmp_path: Path
) -> None:
    """`--dry-run` with PEP 658: pip 26.3 reads METADATA from the proxy, no wheel at all."""
    pip = make_client("pip-26.3")
    log = ProxyLog(proxy)
    got = pip.resolve(proxy.index_url, ["beta"], tmp_path)
    assert got.ok, got.output
    assert got.pins == {"alpha": "1.1", "beta": "1.0"}
    for dist in (ALPHA_11, BETA_10):
        log.wait_for_path(f"/files/{dist.name}/{dist.filename}.metadata")
    assert not [a for a in log.accesses() if a.path.endswith(".whl")], log.text()


def test_pip_22_headers_get_html_with_everything_it_needs(proxy: SnapproxyServer) -> None:
    status, headers, body = http_get(f"{proxy.base}/simple/alpha/", **PIP_22_HEADERS)
    assert status == 200
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    html = body.decode()
    anchors = re.findall(r"<a ([^>]*)>([^<]*)</a>", html)
    assert [name for _, name in anchors] == [
        "alpha-1.0-py3-none-any.whl",
        "alpha-1.1-py3-none-any.whl",
    ]
    assert ALPHA_20.filename not in html
    attrs = dict(re.findall(r'([\w-]+)="([^"]*)"', anchors[1][0]))
    # Relative, resolved by pip against the page's URL.
    assert attrs["href"] == f"../../files/alpha/{ALPHA_11.filename}#sha256={ALPHA_11.sha256}"
    assert attrs["data-core-metadata"] == f"sha256={ALPHA_11.metadata_sha256}"
    assert attrs["data-dist-info-metadata"] == f"sha256={ALPHA_11.metadata_sha256}"


def test_json_for_pip_26_advertises_metadata_under_the_pep_714_name(
    proxy: SnapproxyServer,
) -> None:
    accept = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1"
    status, headers, body = http_get(f"{proxy.base}/simple/alpha/", Accept=accept)
    assert status == 200
    assert headers["Content-Type"] == SIMPLE_JSON
    files = {f["filename"]: f for f in json.loads(body)["files"]}
    assert sorted(files) == ["alpha-1.0-py3-none-any.whl", "alpha-1.1-py3-none-any.whl"]
    entry = files[ALPHA_11.filename]
    assert entry["core-metadata"] == {"sha256": ALPHA_11.metadata_sha256}
    assert "data-dist-info-metadata" not in entry
    metadata_url = urljoin(f"{proxy.base}/simple/alpha/", entry["url"]) + ".metadata"
    status, _, served = http_get(metadata_url)
    assert status == 200 and served == ALPHA_11.metadata
