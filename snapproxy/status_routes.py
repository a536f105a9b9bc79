"""The pages about the server itself: ``/`` (home) and ``/-/health``."""

from __future__ import annotations

from datetime import datetime

from aiohttp import web

from snapproxy import __version__, json_pieces
from snapproxy.addressing import tree_prefix
from snapproxy.cutoff import format_cutoff
from snapproxy.cutoff_policy import describe
from snapproxy.home_page import Home, home_json, render_home, wants_json
from snapproxy.negotiation import accepts_gzip
from snapproxy.proxy_core import ProxyCore
from snapproxy.representation import VARY, make_representation

__all__ = ["StatusRoutes"]


class StatusRoutes(ProxyCore):
    """The home and health pages of :class:`~snapproxy.proxy.Proxy`."""

    async def health(self, request: web.Request) -> web.Response:
        tree = self.tree(request)
        doc = {
            "status": "ok",
            # The instant in force now, and the cutoff as written (a duration: rolling).
            "cutoff": _instant(tree.snapshots.default.cutoff),
            "date": describe(tree.policy.default),
            "package_dates": {
                project: {
                    "date": describe(cutoff),
                    "cutoff": _instant(tree.snapshot(project).cutoff),
                }
                for project, cutoff in sorted(tree.policy.packages.items())
            },
            "upstream": self.config.upstream,
            "files_host": self.config.files_host,
            "yanked": self.config.yanked,
            "version": __version__,
        }
        return web.json_response(doc, headers={"Cache-Control": "no-store"})

    async def home(self, request: web.Request) -> web.Response:
        """``/``: what this server is and the lines that use it (home_page), HTML or JSON."""
        tree = self.tree(request)
        home = Home(
            cutoff=_instant(tree.snapshots.default.cutoff),
            rolling=tree.policy.rolling_default,
            package_dates={
                project: describe(cutoff) for project, cutoff in tree.policy.packages.items()
            },
            upstream=self.config.upstream,
            origin=self.origin(request),
            tree=tree_prefix(request),
            version=__version__,
        )
        if wants_json(request.headers.get("Accept")):
            body, content_type = json_pieces.dumps(home_json(home)), "application/json"
        else:
            body, content_type = render_home(home), "text/html; charset=utf-8"
        gzip_ok = accepts_gzip(request.headers.get("Accept-Encoding"))
        rep = make_representation(body.encode(), content_type, gzip_ok=gzip_ok)
        # Built from the Host a client used, like legacy JSON; a newer snapproxy says
        # another version, so never immutable.
        return self.respond(request, rep, False, vary=f"{VARY}, Host")


def _instant(cutoff: datetime | None) -> str | None:
    return None if cutoff is None else format_cutoff(cutoff)
