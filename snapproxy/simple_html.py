"""The HTML form of the simple API (PEP 503, with PEP 592, 629, 658, 691, 714 attributes).

Rendered from the JSON form, so HTML and JSON clients see the same filtered data.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from urllib.parse import quote

from snapproxy.hashes import strongest
from snapproxy.names import canonical
from snapproxy.snapshot import JSON

__all__ = ["render_index", "render_project"]

# What html.escape (quote=True) replaces; most names and URLs hold none of it.
_SPECIAL = re.compile("[&<>\"']")


def escape(text: str) -> str:
    """``html.escape(text)``, without its five passes over text that needs none."""
    return html.escape(text) if _SPECIAL.search(text) else text


def _attr(name: str, value: str) -> str:
    return f' {name}="{escape(value)}"'


def _hash_value(hashes: object) -> str | None:
    """``<hashname>=<hashvalue>`` for the strongest hash given (PEP 503 and 658)."""
    found = strongest(hashes) if isinstance(hashes, dict) else None
    return None if found is None else f"{found[0]}={found[1]}"


def _anchor(f: JSON) -> str:
    url = f["url"]
    fragment = _hash_value(f.get("hashes"))
    if fragment is not None:
        url += f"#{fragment}"
    attrs = _attr("href", url)
    if f.get("requires-python"):
        attrs += _attr("data-requires-python", f["requires-python"])
    yanked = f.get("yanked")
    if yanked:
        # PEP 592: the attribute's presence marks the yank; its value is the reason.
        attrs += _attr("data-yanked", yanked if isinstance(yanked, str) else "")
    if f.get("core-metadata"):
        value = _hash_value(f["core-metadata"]) or "true"
        # PEP 714: the new name for new clients, the old one for pip 22.x-23.x.
        attrs += _attr("data-core-metadata", value) + _attr("data-dist-info-metadata", value)
    return f"    <a{attrs}>{escape(f['filename'])}</a><br />"


def _head(api_version: str, title: str, extra: str = "") -> list[str]:
    return [
        "<!DOCTYPE html>",
        "<html>",
        "  <head>",
        f'    <meta name="pypi:repository-version" content="{escape(api_version)}">',
        *([extra] if extra else []),
        f"    <title>{escape(title)}</title>",
        "  </head>",
        "  <body>",
    ]


def render_project(page: JSON) -> str:
    """PEP 503 project page from a (filtered) PEP 691 JSON page."""
    name = page.get("name", "")
    status = (page.get("project-status") or {}).get("status")
    extra = f'    <meta name="pypi:project-status" content="{escape(status)}">' if status else ""
    lines = _head(page["meta"]["api-version"], f"Links for {name}", extra)
    lines.append(f"    <h1>Links for {escape(name)}</h1>")
    lines.extend(_anchor(f) for f in page["files"])
    lines += ["  </body>", "</html>", ""]
    return "\n".join(lines)


def render_index(api_version: str, names: Iterable[str]) -> str:
    """PEP 503 root page.  Links are relative so they stay inside a ``/snapshot/`` tree."""
    lines = _head(api_version, "Simple index")
    for name in names:
        href = quote(f"{canonical(name)}/")
        lines.append(f'    <a href="{escape(href)}">{escape(name)}</a><br />')
    lines += ["  </body>", "</html>", ""]
    return "\n".join(lines)
