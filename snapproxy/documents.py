"""Validation of what upstream sends, before anything is filtered or cached.

Each parser turns a body into plain data or raises ``ValueError`` naming what is wrong;
the upstream client reports that as a bad gateway and caches nothing.
"""

from __future__ import annotations

import json
from typing import Any

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
        if not isinstance(f.get("hashes"), dict):
            raise ValueError(f"file {f['filename']!r} has no 'hashes' object")
    return doc


def parse_project_list(body: bytes) -> JSON:
    """The PEP 691 root page: ``projects`` entries need a ``name``."""
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
