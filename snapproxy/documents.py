"""Validation of what upstream sends, before anything is filtered or cached.

Each parser turns a body into plain data or raises ``ValueError`` naming what is wrong;
the upstream client reports that as a bad gateway and caches nothing.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from itertools import repeat
from operator import itemgetter
from typing import Any

from snapproxy import json_pieces
from snapproxy.hashes import DIGEST_SIZES, is_hex_digest
from snapproxy.html_project_page import parse_html_project_page
from snapproxy.snapshot import JSON

# Up to this size json.loads (one C call, twice as fast as piecewise) holds the GIL for
# about 40 ms at most; PyPI's largest project pages are about 5 MB.
PIECEWISE_BYTES = 4 * 1024 * 1024

__all__ = ["ProjectList", "parse_legacy_project", "parse_project_list", "parse_project_page"]


def _object(body: bytes, each: Callable[[str, Any], Any] | None = None) -> JSON:
    try:
        if each is None and len(body) <= PIECEWISE_BYTES:
            value = json.loads(body)
        else:
            # Huge documents are parsed piecewise (in the worker thread), so the GIL comes
            # back to the event loop between members.
            value = json_pieces.loads(body, each) if each else json_pieces.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"not JSON ({exc})") from None
    if not isinstance(value, dict):
        raise ValueError("not a JSON object")
    return value


def _list_of_objects(doc: JSON, key: str, required: tuple[str, ...]) -> None:
    items = doc.get(key)
    if not isinstance(items, list):
        raise ValueError(f"{key!r} is not a list")
    for item in items:
        if not isinstance(item, dict) or any(not isinstance(item.get(k), str) for k in required):
            raise ValueError(f"an entry of {key!r} lacks {' or '.join(required)}")


def _all_are(kind: type, values: Iterable[Any]) -> bool:
    return all(map(isinstance, values, repeat(kind)))


def _column(items: list[JSON], key: str) -> list[Any]:
    return list(map(dict.get, items, repeat(key)))


def _sha256_only(digests: list[JSON]) -> list[Any] | None:
    """Each object's digest when every one holds a sha256 digest and nothing else."""
    if set(map(len, digests)) - {1}:
        return None
    try:
        return list(map(itemgetter("sha256"), digests))
    except KeyError:
        return None


def _plainly_valid(files: object) -> bool:
    """Whether every file entry certainly passes :func:`parse_project_page`'s checks.

    The same rules over whole columns (a few C calls for thousands of files), for pages
    in PyPI's form, one sha256 digest per file and per PEP 658 metadata: ``False`` means
    only that the entries must be checked one by one.
    """
    if not isinstance(files, list) or not _all_are(dict, files):
        return False
    if not _all_are(str, _column(files, "filename")) or not _all_are(str, _column(files, "url")):
        return False
    hashes = _column(files, "hashes")
    if not _all_are(dict, hashes):
        return False
    metadata = [m for m in _column(files, "core-metadata") if isinstance(m, dict)]
    digests = _sha256_only(hashes + metadata)
    if digests is None or not _all_are(str, digests):
        return False
    if set(map(len, digests)) - {DIGEST_SIZES["sha256"]}:
        return False
    # Each digest has sha256's size, so all are hex iff their concatenation is.
    return _HEX.fullmatch("".join(digests)) is not None


def parse_project_page(body: bytes) -> JSON:
    """A PEP 691 project page: ``files`` entries need ``filename``, ``url``, ``hashes``.

    A PEP 503 HTML page (what many private indexes serve whatever is asked) is read into
    the same form (html_project_page).
    """
    html = body.lstrip()[:1] == b"<"
    doc = parse_html_project_page(body) if html else _object(body)
    if not html and _plainly_valid(doc.get("files")):
        return doc
    _list_of_objects(doc, "files", ("filename", "url"))
    for f in doc["files"]:
        hashes = f.get("hashes")
        if not isinstance(hashes, dict):
            raise ValueError(f"file {f['filename']!r} has no 'hashes' object")
        metadata = f.get("core-metadata")
        digests = [*hashes.items(), *(metadata.items() if isinstance(metadata, dict) else ())]
        for name, digest in digests:
            # PEP 691: hash values are hex digests; anything else is a broken page. A known
            # algorithm's digest must have its size too; an unknown one, be hex at least.
            if name in DIGEST_SIZES:
                valid = is_hex_digest(name, digest)
            else:
                valid = isinstance(digest, str) and _HEX.fullmatch(digest) is not None
            if not valid:
                raise ValueError(f"file {f['filename']!r} has a {name} hash that is not hex")
    return doc


_HEX = re.compile(r"[0-9a-fA-F]+")
# PEP 503 root page: one anchor per project, its text the name.
_ANCHOR = re.compile(rb"<a\b[^>]*>([^<]*)</a>", re.IGNORECASE)


@dataclass(frozen=True)
class ProjectList:
    """The root page (PEP 503/691): its API version and every project name.

    Names only: PyPI lists almost a million projects, and a dict per name would take a
    quarter of a gigabyte where the names alone take a quarter of that.
    """

    meta: JSON
    names: list[str]


def _project_name(key: str, item: Any) -> Any:
    if key != "projects":
        return item
    if not isinstance(item, dict) or not isinstance(item.get("name"), str):
        raise ValueError("an entry of 'projects' lacks name")
    return item["name"]


def parse_project_list(body: bytes) -> ProjectList:
    """The root page: PEP 691 JSON (``projects`` entries need a ``name``) or PEP 503 HTML.

    Some indexes answer the root page in HTML whatever is asked (it is tens of MB), so
    HTML is read too, as API version 1.0.  An HTML page without a single project link is
    not an index (a maintenance or login page answered with 200) and is refused, so it
    can never be cached as an empty index.
    """
    if body.lstrip()[:1] == b"<":
        # finditer, not findall: one short C call per link, so the GIL can move between.
        names = [html.unescape(m[1].decode("utf-8", "replace")) for m in _ANCHOR.finditer(body)]
        if not names:
            raise ValueError("an HTML page that lists no project (not a PEP 503 index)")
        return ProjectList({"api-version": "1.0"}, names)
    doc = _object(body, _project_name)
    projects = doc.get("projects")
    if not isinstance(projects, list):
        raise ValueError("'projects' is not a list")
    meta = doc.get("meta")
    return ProjectList(meta if isinstance(meta, dict) else {}, projects)


def parse_legacy_project(body: bytes) -> JSON:
    """A legacy JSON document: an ``info`` object, and ``releases``/``urls`` when present."""
    doc = _object(body)
    if not isinstance(doc.get("info"), dict):
        raise ValueError("no 'info' object")
    releases: Any = doc.get("releases", {})
    if not isinstance(releases, dict) or any(not isinstance(v, list) for v in releases.values()):
        raise ValueError("'releases' is not an object of lists")
    for files in [*releases.values(), doc.get("urls", [])]:
        if not isinstance(files, list):
            raise ValueError("'urls' is not a list")
        for f in files:
            if not isinstance(f, dict) or not isinstance(f.get("filename"), str):
                raise ValueError("a file entry lacks 'filename'")
    return doc
