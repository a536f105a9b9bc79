"""Validation of what upstream sends, before anything is filtered or cached.

Each parser turns a body into plain data or raises ``ValueError`` naming what is wrong;
the upstream client reports that as a bad gateway and caches nothing.
"""

from __future__ import annotations

import html
import json
import re
from typing import Any

from snapproxy.hashes import DIGEST_SIZES, is_hex_digest
from snapproxy.snapshot import JSON

__all__ = ["parse_legacy_project", "parse_project_list", "parse_project_page"]


def _object(body: bytes) -> JSON:
    try:
        value = json.loads(body)
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


def parse_project_page(body: bytes) -> JSON:
    """A PEP 691 project page: ``files`` entries need ``filename``, ``url``, ``hashes``."""
    doc = _object(body)
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


def parse_project_list(body: bytes) -> JSON:
    """The root page: PEP 691 JSON (``projects`` entries need a ``name``) or PEP 503 HTML.

    Some indexes answer the root page in HTML whatever is asked (it is tens of MB), so
    HTML is read too, as a PEP 691 document of API version 1.0.
    """
    if body.lstrip()[:1] == b"<":
        names = [html.unescape(m.decode("utf-8", "replace")) for m in _ANCHOR.findall(body)]
        if not names and b"<html" not in body[:1024].lower():
            raise ValueError("neither JSON nor an HTML project list")
        return {"meta": {"api-version": "1.0"}, "projects": [{"name": n} for n in names]}
    doc = _object(body)
    _list_of_objects(doc, "projects", ("name",))
    return doc


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
