"""The HTML form (PEP 503 + 592, 629, 658, 691, 714 attributes), rendered from filtered JSON."""

from __future__ import annotations

import html
from html.parser import HTMLParser
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from snapproxy.simple_html import escape, render_index, render_project

SHA = "b" * 64
URL = "https://files.pythonhosted.org/packages/ab/cd/foo-1.0-py3-none-any.whl"


class Parsed(HTMLParser):
    """Anchors (attributes as a browser or pip would decode them) and meta tags."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.anchors: list[tuple[dict[str, str | None], str]] = []
        self.metas: dict[str, str | None] = {}
        self.title = ""
        self.h1 = ""
        self._in: str | None = None
        self._attrs: dict[str, str | None] = {}
        self._text = ""
        self.comments: list[str] = []
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "meta":
            d = dict(attrs)
            self.metas[d.get("name") or ""] = d.get("content")
        elif tag in ("a", "title", "h1"):
            self._in, self._attrs, self._text = tag, dict(attrs), ""

    def handle_data(self, data: str) -> None:
        if self._in:
            self._text += data

    def handle_endtag(self, tag: str) -> None:
        if tag == self._in == "a":
            self.anchors.append((self._attrs, self._text))
        elif tag == self._in == "title":
            self.title = self._text
        elif tag == self._in == "h1":
            self.h1 = self._text
        if tag == self._in:
            self._in = None

    def handle_comment(self, data: str) -> None:
        self.comments.append(data)


def file(**extra: Any) -> dict[str, Any]:
    f: dict[str, Any] = {
        "filename": "foo-1.0-py3-none-any.whl",
        "url": URL,
        "hashes": {"sha256": SHA},
    }
    f.update(extra)
    return f


def project(files: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    p: dict[str, Any] = {"meta": {"api-version": "1.1"}, "name": "foo", "files": files}
    p.update(extra)
    return p


def one_anchor(f: dict[str, Any]) -> tuple[dict[str, str | None], str, str]:
    html = render_project(project([f]))
    parsed = Parsed(html)
    assert len(parsed.anchors) == 1
    attrs, text = parsed.anchors[0]
    return attrs, text, html


# --- head -------------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["1.0", "1.1"])
def test_repository_version_meta(version: str) -> None:
    html = render_project({"meta": {"api-version": version}, "name": "foo", "files": []})
    # PEP 629: <meta name="pypi:repository-version" content="X.Y">
    assert Parsed(html).metas["pypi:repository-version"] == version
    assert f'<meta name="pypi:repository-version" content="{version}">' in html


def test_document_shape() -> None:
    html = render_project(project([file()]))
    assert html.startswith("<!DOCTYPE html>")
    parsed = Parsed(html)
    assert parsed.title == "Links for foo"
    assert parsed.h1 == "Links for foo"
    # No upstream serial comment (PyPI's "<!--SERIAL n-->"): it would leak today's state.
    assert parsed.comments == []
    assert "SERIAL" not in html


@pytest.mark.parametrize(
    ("status", "shown"), [({"status": "archived"}, "archived"), (None, None), ({}, None)]
)
def test_project_status_meta(status: Any, shown: str | None) -> None:
    p = project([file()])
    if status is not None:
        p["project-status"] = status
    assert Parsed(render_project(p)).metas.get("pypi:project-status") == shown


def test_project_name_is_escaped() -> None:
    html = render_project(project([file()], name="<b>&"))
    assert "<b>&" not in html
    assert "&lt;b&gt;&amp;" in html
    assert Parsed(html).h1 == "Links for <b>&"


# --- anchors ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hashes", "href"),
    [
        ({"sha256": SHA}, f"{URL}#sha256={SHA}"),
        ({"sha256": SHA, "md5": "c" * 32}, f"{URL}#sha256={SHA}"),  # sha256 preferred
        ({"sha512": "d" * 128, "sha256": SHA}, f"{URL}#sha256={SHA}"),
        ({"md5": "c" * 32}, f"{URL}#md5={'c' * 32}"),
        ({}, URL),
    ],
)
def test_href_carries_the_hash_fragment(hashes: dict[str, str], href: str) -> None:
    attrs, text, _ = one_anchor(file(hashes=hashes))
    assert attrs["href"] == href
    assert text == "foo-1.0-py3-none-any.whl"


@pytest.mark.parametrize(
    ("requires_python", "raw"),
    [
        (">=3.6", "&gt;=3.6"),
        ("<4,>=3.8", "&lt;4,&gt;=3.8"),
        (">=2.7, !=3.0.*, !=3.1.*", "&gt;=2.7, !=3.0.*, !=3.1.*"),
    ],
)
def test_requires_python_is_escaped(requires_python: str, raw: str) -> None:
    attrs, _, html = one_anchor(file(**{"requires-python": requires_python}))
    assert f'data-requires-python="{raw}"' in html
    assert attrs["data-requires-python"] == requires_python


def test_quotes_cannot_end_an_attribute_early() -> None:
    attrs, _, _ = one_anchor(file(**{"requires-python": '>="3" onclick="x'}))
    assert attrs["data-requires-python"] == '>="3" onclick="x'
    assert "onclick" not in attrs


@pytest.mark.parametrize("requires_python", [None, ""])
def test_no_requires_python_attribute_without_a_value(requires_python: Any) -> None:
    attrs, _, _ = one_anchor(file(**{"requires-python": requires_python}))
    assert "data-requires-python" not in attrs


@pytest.mark.parametrize(
    ("yanked", "attribute"),
    [
        (True, ""),  # PEP 592: the attribute's presence marks the yank
        ("broken <build> & more", "broken <build> & more"),  # its value is the reason
        ("security issue", "security issue"),
        (False, None),
        (None, None),
    ],
)
def test_data_yanked(yanked: Any, attribute: str | None) -> None:
    attrs, _, html = one_anchor(file(yanked=yanked))
    if attribute is None:
        assert "data-yanked" not in attrs
    else:
        assert attrs["data-yanked"] == attribute
    assert "<build>" not in html


@pytest.mark.parametrize(
    ("core_metadata", "value"),
    [
        (True, "true"),
        ({"sha256": SHA}, f"sha256={SHA}"),
    ],
)
def test_core_metadata_gets_both_pep_714_attributes(core_metadata: Any, value: str) -> None:
    attrs, _, _ = one_anchor(file(**{"core-metadata": core_metadata}))
    # PEP 658 value syntax: "true" or "<hashname>=<hashvalue>".
    assert attrs["data-core-metadata"] == value
    assert attrs["data-dist-info-metadata"] == value


@pytest.mark.parametrize("core_metadata", [False, None])
def test_no_metadata_attributes_when_not_advertised(core_metadata: Any) -> None:
    attrs, _, _ = one_anchor(file(**{"core-metadata": core_metadata}))
    assert "data-core-metadata" not in attrs
    assert "data-dist-info-metadata" not in attrs


def test_filename_and_url_are_escaped() -> None:
    f = file(filename='foo-1.0&<x>".tar.gz', url="https://h.example/a?b=1&c=<2>")
    attrs, text, html = one_anchor(f)
    assert text == 'foo-1.0&<x>".tar.gz'
    assert attrs["href"] == f"https://h.example/a?b=1&c=<2>#sha256={SHA}"
    assert "<x>" not in html and "<2>" not in html
    assert "&amp;" in html


def test_every_file_gets_one_anchor_in_order() -> None:
    files = [
        file(filename="foo-1.0.tar.gz", url="https://h.example/foo-1.0.tar.gz"),
        file(filename="foo-1.0-py3-none-any.whl", url="https://h.example/w.whl"),
    ]
    parsed = Parsed(render_project(project(files)))
    assert [text for _, text in parsed.anchors] == ["foo-1.0.tar.gz", "foo-1.0-py3-none-any.whl"]


def test_page_without_files_has_no_anchor() -> None:
    assert Parsed(render_project(project([]))).anchors == []


# --- render_index -----------------------------------------------------------------------


def test_render_index() -> None:
    html = render_index("1.1", ["Foo.Bar_baz", "requests", "../evil"])
    parsed = Parsed(html)
    assert parsed.metas["pypi:repository-version"] == "1.1"
    # Relative links to the normalised name, so they stay inside a /snapshot/ tree.
    assert parsed.anchors[:2] == [
        ({"href": "foo-bar-baz/"}, "Foo.Bar_baz"),
        ({"href": "requests/"}, "requests"),
    ]
    for attrs, _ in parsed.anchors:
        href = attrs["href"] or ""
        assert ".." not in href and not href.startswith("/") and "://" not in href


def test_render_index_without_projects() -> None:
    parsed = Parsed(render_index("1.0", []))
    assert parsed.anchors == []
    assert parsed.metas["pypi:repository-version"] == "1.0"


def test_pypi_json_metadata_key_reaches_html_under_both_names() -> None:
    from snapproxy.cutoff import parse_cutoff
    from snapproxy.simple_page import snapshot_page
    from snapproxy.snapshot import Snapshot

    upstream = project(
        [
            file(
                **{
                    "upload-time": "2021-01-01T00:00:00Z",
                    "data-dist-info-metadata": {"sha256": SHA},
                    "requires-python": ">=3.6",
                }
            )
        ]
    )
    page = snapshot_page(
        upstream,
        Snapshot(parse_cutoff("2021-05-01")),
        page_url="https://pypi.org/simple/foo/",
        url_for=None,
    )
    html = render_project(page)
    ((attrs, _),) = Parsed(html).anchors
    assert attrs["data-core-metadata"] == f"sha256={SHA}"
    assert attrs["data-dist-info-metadata"] == f"sha256={SHA}"
    assert 'data-requires-python="&gt;=3.6"' in html


@given(st.text(alphabet=st.sampled_from("ab&<>\"'é;#x1 "), max_size=12) | st.text())
@example("")
@example("foo-1.0.tar.gz")
@example("&amp;")
def test_escape_is_html_escape(text: str) -> None:
    # The shortcut for text with nothing to escape must not change a single answer.
    assert escape(text) == html.escape(text, quote=True)
