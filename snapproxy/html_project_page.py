"""A PEP 503 HTML project page read into the PEP 691 JSON form the proxy works on.

Private indexes (pypiserver, devpi, Artifactory, Nexus...) often speak only HTML. Each
anchor is one file (PEP 503): its text the file name, its ``href`` the URL (relative links
allowed, resolved later against the page's URL), a ``#<hashname>=<hex>`` fragment its
hash, ``data-requires-python`` (PEP 503), ``data-yanked`` (PEP 592),
``data-core-metadata`` / ``data-dist-info-metadata`` (PEP 714 / PEP 658) and
``data-gpg-sig``.  HTML pages carry no upload times (PEP 700 is JSON only), so such files
are undated: hidden unless their index is trusted with them (``--undated-index``).
"""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

from snapproxy.snapshot import JSON

__all__ = ["NotAProjectPage", "parse_html_project_page"]

# What a file name ends in when it is a distribution (PEP 427, PEP 625, legacy sdists).
_DISTRIBUTIONS = (".whl", ".tar.gz", ".zip", ".tar.bz2", ".tgz", ".tar.xz", ".egg")


class NotAProjectPage(ValueError):
    """HTML that is no PEP 503 project page (a login or error page answered with 200)."""


class _Anchors(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.anchors: list[tuple[dict[str, str | None], str]] = []
        self.meta: dict[str, str] = {}
        self.base: str | None = None
        self.headings: list[str] = []  # <title> and <h1> texts
        self._open: dict[str, str | None] | None = None
        self._text: list[str] = []
        self._heading: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self._open, self._text = dict(attrs), []
        elif tag == "meta":
            found = dict(attrs)
            if found.get("name") and found.get("content") is not None:
                self.meta[str(found["name"])] = str(found["content"])
        elif tag == "base" and self.base is None:
            self.base = dict(attrs).get("href")
        elif tag in ("title", "h1"):
            self._heading = []

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self._text.append(data)
        if self._heading is not None:
            self._heading.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("title", "h1") and self._heading is not None:
            self.headings.append("".join(self._heading).strip())
            self._heading = None
        if tag == "a" and self._open is not None:
            self.anchors.append((self._open, "".join(self._text).strip()))
            self._open = None


def _digest(fragment: str) -> dict[str, str]:
    """``sha256=<hex>`` (the URL fragment PEP 503 puts the hash in) as a hashes object."""
    name, sep, value = fragment.partition("=")
    return {name.lower(): value.lower()} if sep and name and value else {}


def _metadata(value: str | None) -> bool | dict[str, str] | None:
    """PEP 714 ``data-core-metadata``: ``true`` or ``<hashname>=<hex>``; absent: None."""
    if value is None:
        return None
    if value.strip().lower() == "true":
        return True
    return _digest(value.strip()) or None


def _file(attrs: dict[str, str | None], text: str, base: str | None) -> JSON | None:
    href = attrs.get("href")
    if not href:
        return None
    url, _, fragment = href.partition("#")
    if base:
        url = urljoin(base, url)
    filename = text or unquote(urlsplit(url).path.rpartition("/")[2])
    if not filename.lower().endswith(_DISTRIBUTIONS):
        return None
    entry: dict[str, Any] = {"filename": filename, "url": url, "hashes": _digest(fragment)}
    requires_python = attrs.get("data-requires-python")
    if requires_python:
        entry["requires-python"] = requires_python
    if "data-yanked" in attrs:
        entry["yanked"] = attrs["data-yanked"] or True
    metadata = _metadata(attrs.get("data-core-metadata", attrs.get("data-dist-info-metadata")))
    if metadata is not None:
        entry["core-metadata"] = metadata
    if attrs.get("data-gpg-sig") in ("true", "false"):
        entry["gpg-sig"] = attrs["data-gpg-sig"] == "true"
    return entry


def parse_html_project_page(body: bytes) -> JSON:
    """The files of a PEP 503 project page, as a PEP 691 page (api-version 1.0 unless the
    page's ``pypi:repository-version`` meta says otherwise)."""
    parser = _Anchors()
    parser.feed(body.decode("utf-8", "replace"))
    parser.close()
    files = [f for attrs, text in parser.anchors if (f := _file(attrs, text, parser.base))]
    if parser.anchors and not files:
        raise NotAProjectPage(
            "an HTML page whose links are no distribution files (not a PEP 503 project page)"
        )
    # A project without files is a page of no links; a login or maintenance page answered
    # with 200 is one too, and must not be taken (and cached) for an empty project.
    says_so = "pypi:repository-version" in parser.meta or any(
        h.startswith("Links for") for h in parser.headings
    )
    if not files and not says_so:
        raise NotAProjectPage("an HTML page with no file links that is no PEP 503 project page")
    version = parser.meta.get("pypi:repository-version", "1.0")
    return {"meta": {"api-version": version}, "files": files}
