"""What a request addresses: its snapshot tree, its project's normal name, its origin.

Every route exists twice: at ``/`` for the server's own cutoff, and under
``/snapshot/<cutoff>/`` for a cutoff named in the URL (one server, many cutoffs).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote

import yarl
from aiohttp import web

from snapproxy.cutoff_policy import CutoffPolicy, is_final, parse_date
from snapproxy.names import normalize
from snapproxy.server_config import ServerConfig
from snapproxy.snapshot import JSON, Snapshot, Snapshots

__all__ = [
    "Tree",
    "file_link",
    "request_origin",
    "request_project",
    "request_tree",
    "same_query",
    "tree_prefix",
]

# A Host header fit to be put in a URL: a name or address and an optional port.
_HOST = re.compile(r"[A-Za-z0-9.\-]+(:\d{1,5})?|\[[0-9A-Fa-f:.]+\](:\d{1,5})?")


@dataclass(frozen=True)
class Tree:
    """The snapshots a request addresses: its cutoffs as written, read at one instant.

    ``pinned``: the cutoff is named in the URL (``/snapshot/<cutoff>/``), so answers under
    it may be cached for ever once they cannot change; the server's own tree at ``/``
    changes with a restart under another ``--date``.
    """

    policy: CutoffPolicy
    snapshots: Snapshots
    now: datetime
    pinned: bool

    def snapshot(self, project: str) -> Snapshot:
        """The snapshot of ``project`` (a normal name): its own cutoff, or the tree's."""
        return self.snapshots.of(project)

    def immutable(self, project: str) -> bool:
        """Whether answers about ``project`` can be cached for ever (cutoff_policy.is_final)."""
        return self.pinned and is_final(self.policy.cutoff_for(project), self.now)


def file_link(project: str) -> Callable[[JSON], str]:
    """A file's URL relative to its project page, ``<tree>/simple/<project>/``."""
    return lambda f: f"../../files/{project}/{quote(f['filename'])}"


def request_tree(config: ServerConfig, request: web.Request) -> Tree:
    """The request's snapshots, read now: a rolling cutoff moves with every request."""
    policy = config.policy
    text = request.match_info.get("cutoff")
    if text is not None:
        policy = policy.with_default(parse_date(text))
    now = config.now()
    snapshots = policy.at(now, config.yanked, config.allow_undated, config.shows_undated)
    return Tree(policy, snapshots, now, pinned=text is not None)


def request_project(request: web.Request) -> str:
    """The normalised project name, or a 301 to the URL that uses it."""
    given = request.match_info["project"]
    name = normalize(given)
    if name != given:
        path = request.path.replace(f"/{given}/", f"/{name}/", 1)
        raise web.HTTPMovedPermanently(same_query(request, path))
    return name


def request_origin(request: web.Request) -> str:
    """``scheme://host:port`` the client reached, for the absolute URLs of legacy JSON.

    From the Host header when it is a plain authority; else (HTTP/1.0 without Host, a
    forged or malformed value) the address this server is bound to, port included.
    """
    host = request.headers.get("Host", "")
    if not _HOST.fullmatch(host):
        sockname = request.transport.get_extra_info("sockname") if request.transport else None
        address, port = (sockname or ("127.0.0.1", 0))[:2]
        host = f"[{address}]:{port}" if ":" in address else f"{address}:{port}"
    return f"{request.scheme}://{host}"


def tree_prefix(request: web.Request) -> str:
    text = request.match_info.get("cutoff")
    return "" if text is None else "/snapshot/" + quote(text, safe=":+-.")


def same_query(request: web.Request, path: str) -> str:
    """``path`` with the request's query string as sent (``?format=`` must survive)."""
    raw = request.rel_url.raw_query_string
    return str(yarl.URL.build(path=path)) + (f"?{raw}" if raw else "")
