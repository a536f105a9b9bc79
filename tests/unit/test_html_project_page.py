"""PEP 503 HTML project pages read into the PEP 691 form (what HTML-only indexes serve)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from snapproxy.documents import parse_project_page
from snapproxy.html_project_page import NotAProjectPage, parse_html_project_page
from snapproxy.simple_html import render_project

SHA = "c" * 64

# What pypiserver 2.4 answers (relative link, hash fragment, no upload time).
_PYPISERVER_HASH = b"3734F29D07AF67B9C7B915D198BDA458B8732868D8C41B07EBE99882ACE42622"
PYPISERVER = (
    b"""<!DOCTYPE html>
<html lang="en">
    <head>
        <meta charset="utf-8">
        <title>Links for corp-util</title>
    </head>
    <body>
        <h1>Links for corp-util</h1>
            <a href="/packages/corp_util-1.0-py3-none-any.whl#sha256="""
    + _PYPISERVER_HASH
    + b"""">corp_util-1.0-py3-none-any.whl</a><br>
    </body>
</html>
"""
)


def test_pypiserver_page() -> None:
    page = parse_project_page(PYPISERVER)
    assert page["meta"] == {"api-version": "1.0"}
    assert page["files"] == [
        {
            "filename": "corp_util-1.0-py3-none-any.whl",
            "url": "/packages/corp_util-1.0-py3-none-any.whl",
            "hashes": {
                "sha256": "3734f29d07af67b9c7b915d198bda458b8732868d8c41b07ebe99882ace42622"
            },
        }
    ]


def test_attributes() -> None:
    body = (
        b'<html><head><meta name="pypi:repository-version" content="1.1"></head><body>'
        b'<a href="../../f/foo-1.0.tar.gz#sha256=' + SHA.encode() + b'" '
        b'data-requires-python="&gt;=3.8" data-yanked="broken build" '
        b'data-core-metadata="sha256=' + SHA.encode() + b'" data-gpg-sig="false">'
        b"foo-1.0.tar.gz</a>"
        b'<a href="https://x/foo-0.9-py3-none-any.whl" data-yanked '
        b'data-dist-info-metadata="true">foo-0.9-py3-none-any.whl</a>'
        b"</body></html>"
    )
    first, second = parse_project_page(body)["files"]
    assert first == {
        "filename": "foo-1.0.tar.gz",
        "url": "../../f/foo-1.0.tar.gz",
        "hashes": {"sha256": SHA},
        "requires-python": ">=3.8",
        "yanked": "broken build",
        "core-metadata": {"sha256": SHA},
        "gpg-sig": False,
    }
    # PEP 592: an empty data-yanked is a yank without a reason; PEP 714 falls back to 658.
    assert second["yanked"] is True
    assert second["core-metadata"] is True
    assert second["hashes"] == {}


def test_name_from_url_when_anchor_text_is_empty() -> None:
    link = b"/p/foo-1.0%2Bl-py3-none-any.whl#sha256=" + SHA.encode()
    body = b'<h1>Links for foo</h1><a href="' + link + b'"></a>'
    (f,) = parse_html_project_page(body)["files"]
    assert f["filename"] == "foo-1.0+l-py3-none-any.whl"


def test_base_href() -> None:
    body = b'<html><head><base href="https://files.example/root/"></head><h1>Links for foo</h1>' \
        b'<a href="foo-1.0.tar.gz">foo-1.0.tar.gz</a></html>'
    (f,) = parse_html_project_page(body)["files"]
    assert f["url"] == "https://files.example/root/foo-1.0.tar.gz"


def test_empty_project_page_is_a_page() -> None:
    assert parse_html_project_page(b"<html><title>Links for foo</title></html>")["files"] == []


@pytest.mark.parametrize(
    "body",
    [
        b"<html><body>Service down for maintenance</body></html>",
        b'<html><a href="/login">Log in</a><a href="/help">Help</a></html>',
    ],
)
def test_a_page_that_is_no_project_page_is_refused(body: bytes) -> None:
    # A login or maintenance page answered with 200 must never be cached as a project.
    with pytest.raises(NotAProjectPage):
        parse_project_page(body)


def test_bad_hash_in_fragment_is_refused() -> None:
    body = b'<h1>Links for foo</h1><a href="/foo-1.0.tar.gz#sha256=nothex">foo-1.0.tar.gz</a>'
    with pytest.raises(ValueError, match="not hex"):
        parse_project_page(body)


_names = st.sampled_from(["foo-1.0.tar.gz", "foo-1.0-py3-none-any.whl", "foo-2.0 b.zip"])
_files = st.builds(
    lambda name, url, rp, yanked, meta: {
        "filename": name,
        "url": url + name.replace(" ", "%20"),
        "hashes": {"sha256": SHA},
        **({"requires-python": rp} if rp else {}),
        **({"yanked": yanked} if yanked is not False else {}),
        **({"core-metadata": meta} if meta else {}),
    },
    _names,
    st.sampled_from(["https://f.example/p/", "../../files/foo/", "/packages/"]),
    st.sampled_from([None, ">=3.8", ">=3.7,<4 ; & \"q\""]),
    st.sampled_from([False, True, "reason <b>&</b>"]),
    st.sampled_from([None, {"sha256": SHA}]),
)


@given(st.lists(_files, max_size=4, unique_by=lambda f: f["filename"]))
def test_reads_back_what_the_proxy_renders(files: list[dict[str, Any]]) -> None:
    # The proxy's own PEP 503 renderer and this reader agree on every attribute.
    page = {"meta": {"api-version": "1.1"}, "name": "foo", "files": files}
    read = parse_html_project_page(render_project(page).encode())
    assert read["meta"] == {"api-version": "1.1"}
    assert [{k: v for k, v in f.items() if k != "gpg-sig"} for f in read["files"]] == files
