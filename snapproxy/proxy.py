"""Route handlers: what each URL of the snapshot answers, around the pure core.

Every route exists twice: at ``/`` for the server's own cutoff, and under
``/snapshot/<cutoff>/`` for a cutoff named in the URL (one server, many cutoffs).

Simple pages link files by relative URL (PEP 503 and PEP 691 allow it), so no page body
depends on the Host a client used: one rendered body serves every client, and a shared
cache in front cannot hand one client's links to another.

:class:`Proxy` answers the simple index here and takes its other routes from
:mod:`~snapproxy.legacy_routes`, :mod:`~snapproxy.file_routes` and
:mod:`~snapproxy.status_routes`, all built on :class:`~snapproxy.proxy_core.ProxyCore`
(state, addressing, upstream pages, derived values, responses).
"""

from __future__ import annotations

import json

from aiohttp import web

from snapproxy import json_pieces
from snapproxy.addressing import Tree, file_link, same_query
from snapproxy.documents import ProjectList, parse_project_list
from snapproxy.file_routes import FileRoutes
from snapproxy.legacy_routes import LegacyRoutes
from snapproxy.names import canonical
from snapproxy.negotiation import Format, choose_format
from snapproxy.page_cache import cache_key
from snapproxy.proxy_core import JSON_ACCEPT, PAGE_ACCEPT
from snapproxy.route_errors import InvalidVersionText, NoSuchProject, NotInSnapshot
from snapproxy.simple_html import render_index, render_project
from snapproxy.simple_page import (
    ProjectNotAtCutoff,
    capped_meta,
    page_facts,
    snapshot_stream,
    visible_key,
)
from snapproxy.snapshot import JSON
from snapproxy.status_routes import StatusRoutes

__all__ = ["InvalidVersionText", "NoSuchProject", "NotInSnapshot", "Proxy", "Tree"]


class Proxy(LegacyRoutes, FileRoutes, StatusRoutes):
    """Route handlers; holds the upstream client, the memory budget and the downloads."""

    # -- routes -------------------------------------------------------------------------

    async def project_list(self, request: web.Request) -> web.Response:
        self.tree(request)  # validates a cutoff in the URL
        fmt = choose_format(request.headers.get("Accept"), request.query.get("format"))
        fetched = await self.fetch(f"{self.index}/simple/", JSON_ACCEPT, parse_project_list)
        doc: ProjectList = fetched.parsed
        routing = self.config.routing
        # Each named index's own list, for the names routed to it (one merged index).
        private = [
            (index, await self.fetch(index.url, PAGE_ACCEPT, parse_project_list))
            for index in routing.indexes
        ]

        def names() -> list[str]:
            if not routing.routes:
                return doc.names
            merged = [n for n in doc.names if routing.index_for(canonical(n)) is None]
            for index, listed in private:
                theirs: ProjectList = listed.parsed
                merged += [n for n in theirs.names if routing.index_for(canonical(n)) == index]
            return merged

        def build() -> bytes:
            meta = capped_meta(doc.meta)
            if fmt.is_json:
                return _project_list_json(meta, names()).encode()
            return render_index(meta["api-version"], names()).encode()

        # Hundreds of thousands of names: rendered once per upstream copy, not per request.
        serials = (fetched.document.serial, *(listed.document.serial for _, listed in private))
        key = ("index", serials, fmt)
        rep = await self.representation(
            request, key, fetched.document.size, build, _content_type(fmt)
        )
        # Not date-filtered (a list of every name today), so never immutable.
        return self.respond(request, rep, False)

    async def project_page(self, request: web.Request) -> web.Response:
        if self.page_log is None:
            return await self._project_page(request)
        try:
            return await self._project_page(request)
        except web.HTTPRedirection:
            raise  # a name that is not normalised: the client asks again
        except BaseException:
            self.page_log.failed()
            raise

    async def _project_page(self, request: web.Request) -> web.Response:
        tree = self.tree(request)
        project = self.project(request)
        snapshot = tree.snapshot(project)
        fmt = choose_format(request.headers.get("Accept"), request.query.get("format"))
        fetched = await self.page(project)
        url_for = None if self.config.direct_files else file_link(project)
        facts = await self.derived(
            ("facts", fetched.document.serial),
            fetched.document.size,
            lambda: page_facts(fetched.parsed),
            lambda found: found.cost,
        )
        shown = visible_key(facts, snapshot)
        if not any(shown):
            raise ProjectNotAtCutoff(
                project, snapshot.cutoff, facts.uploaded, self.undated_option(project)
            )

        def build() -> bytes:
            filtered = snapshot_stream(
                fetched.parsed,
                snapshot,
                page_url=self.page_url(project),
                url_for=url_for,
                facts=facts,
            )
            if fmt.is_json:
                return json_pieces.dumps(filtered).encode()
            return render_project(filtered).encode()

        # Keyed by which files the snapshot shows, not by its instant: every cutoff between
        # the same two uploads shares one body, so a rolling cutoff, a new instant at each
        # request, is rendered again only once it has passed an upload.
        key = ("page", fetched.document.serial, shown, snapshot.yanked, fmt)
        rep = await self.representation(
            request, key, fetched.document.size, build, _content_type(fmt)
        )
        if self.page_log is not None:
            self.page_log.served(
                cache_key(self.page_url(project), PAGE_ACCEPT), fetched.document.digest
            )
        return self.respond(request, rep, tree.immutable(project))

    async def add_slash(self, request: web.Request) -> web.Response:
        raise web.HTTPMovedPermanently(same_query(request, request.path + "/"))


def _project_list_json(meta: JSON, names: list[str]) -> str:
    encode = json.JSONEncoder(ensure_ascii=False).encode
    projects = ",".join('{"name":' + encode(name) + "}" for name in names)
    return '{"meta":' + json_pieces.dumps(meta) + ',"projects":[' + projects + "]}"


def _content_type(fmt: Format) -> str:
    return fmt.value + ("; charset=utf-8" if fmt is Format.TEXT_HTML else "")
