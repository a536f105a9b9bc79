"""The legacy JSON routes, ``/pypi/<project>/json`` and ``/pypi/<project>/<version>/json``.

Their URLs are absolute (the format has no relative links), so each is built per request
from the Host a client used.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any
from urllib.parse import quote

from aiohttp import web

from snapproxy import json_pieces
from snapproxy.addressing import Tree, tree_prefix
from snapproxy.cache_status import CACHE_STATUS
from snapproxy.cutoff import format_cutoff
from snapproxy.documents import parse_legacy_project
from snapproxy.file_store import verified
from snapproxy.legacy_json import (
    info_from_metadata,
    latest_version,
    snapshot_project,
    snapshot_version,
    upload_instants,
    visible_releases,
)
from snapproxy.negotiation import accepts_gzip
from snapproxy.proxy_core import ProxyCore
from snapproxy.representation import VARY, Representation, make_representation
from snapproxy.route_errors import InvalidVersionText, NoSuchProject, NotInSnapshot
from snapproxy.simple_page import (
    ProjectNotAtCutoff,
    absolutize_urls,
    normalise_core_metadata,
)
from snapproxy.snapshot import JSON, Snapshot
from snapproxy.upstream import Fetched, UpstreamError, UpstreamNotFound

__all__ = ["LegacyRoutes"]

LEGACY_ACCEPT = "application/json"


class LegacyRoutes(ProxyCore):
    """The legacy JSON routes of :class:`~snapproxy.proxy.Proxy`."""

    async def legacy(self, project: str, version: str | None = None) -> Fetched:
        """``/pypi/<project>/json``, or ``/pypi/<project>/<version>/json`` (whose 404 may
        be a mirror that serves none: it stays an UpstreamNotFound)."""
        base = self.legacy_base(project)
        if version is None:
            try:
                return await self.fetch(f"{base}/json", LEGACY_ACCEPT, parse_legacy_project)
            except UpstreamNotFound:
                index = self.config.routing.index_for(project)
                if index is not None:
                    raise NotInSnapshot(
                        f"index {index.name} answers no legacy JSON for {project} at "
                        f"{base}/json; use the simple API"
                    ) from None
                raise NoSuchProject(project, self.index_url(project)) from None
        url = f"{base}/{quote(version, safe='')}/json"
        return await self.fetch(url, LEGACY_ACCEPT, parse_legacy_project)

    def legacy_base(self, project: str) -> str:
        """``<origin>/pypi/<project>`` of the index ``project`` comes from."""
        index = self.config.routing.index_for(project)
        if index is None:
            return f"{self.index}/pypi/{project}"
        url = index.legacy_url(project)
        if url is None:
            raise NotInSnapshot(
                f"{project} comes from index {index.name}, whose root {index.url} is not a "
                ".../simple/ one, so no legacy JSON API is known for it; use the simple API"
            )
        return url.removesuffix("/json")

    async def respond_legacy(
        self, request: web.Request, size: int, build: Callable[[], JSON], immutable: bool
    ) -> web.Response:
        """Legacy JSON: built per request (its URLs name the Host), so it varies by Host."""
        gzip_ok = accepts_gzip(request.headers.get("Accept-Encoding"))

        def render() -> Representation:
            body = json_pieces.dumps(build()).encode()
            return make_representation(body, "application/json", gzip_ok=gzip_ok)

        rep = await self.offload.run(size, render)
        return self.respond(request, rep, immutable, vary=f"{VARY}, Host")

    def legacy_url_for(self, request: web.Request, project: str) -> Any:
        if self.config.direct_files:
            return None
        base = f"{self.origin(request)}{tree_prefix(request)}/files/{project}/"
        return lambda f: base + quote(f["filename"])

    async def legacy_project(self, request: web.Request) -> web.Response:
        tree = self.tree(request)
        project = self.project(request)
        snapshot = tree.snapshot(project)
        fetched = await self.legacy(project)
        doc = fetched.parsed
        size = fetched.document.size
        releases = await self.offload.run(size, lambda: visible_releases(doc, snapshot))
        latest = latest_version(releases)
        if latest is None:
            raise ProjectNotAtCutoff(project, snapshot.cutoff, upload_instants(doc))
        info = await self.version_info(project, doc, latest, releases[latest])
        url_for = self.legacy_url_for(request, project)
        return await self.respond_legacy(
            request,
            size,
            lambda: snapshot_project(doc, releases, info, snapshot, url_for),
            tree.immutable(project),
        )

    async def legacy_version(self, request: web.Request) -> web.Response:
        tree = self.tree(request)
        project = self.project(request)
        snapshot = tree.snapshot(project)
        version = _version_text(request.match_info["version"])
        url_for = self.legacy_url_for(request, project)
        try:
            fetched = await self.legacy(project, version)
        except UpstreamNotFound:
            # Some mirrors serve no per-version documents: build one from the project's.
            return await self.legacy_version_from_project(request, tree, project, version)
        doc = fetched.parsed
        files = visible_releases({"releases": {version: doc.get("urls")}}, snapshot)
        if not files:
            raise _version_not_in_snapshot(project, version, snapshot)
        return await self.respond_legacy(
            request,
            fetched.document.size,
            lambda: snapshot_version(doc, files[version], snapshot, url_for),
            tree.immutable(project),
        )

    async def legacy_version_from_project(
        self, request: web.Request, tree: Tree, project: str, version: str
    ) -> web.Response:
        snapshot = tree.snapshot(project)
        fetched = await self.legacy(project)
        doc = fetched.parsed
        size = fetched.document.size
        releases = await self.offload.run(size, lambda: visible_releases(doc, snapshot))
        if not releases.get(version):  # absent, or kept without files of its own
            raise _version_not_in_snapshot(project, version, snapshot)
        info = await self.version_info(project, doc, version, releases[version])
        url_for = self.legacy_url_for(request, project)
        return await self.respond_legacy(
            request,
            size,
            lambda: snapshot_version({"info": info}, releases[version], snapshot, url_for),
            tree.immutable(project),
        )

    async def version_info(self, project: str, doc: JSON, version: str, files: list[JSON]) -> JSON:
        """``info`` of ``version``: today's if it is today's latest, else the per-version one."""
        info: JSON = doc["info"]
        if info.get("version") == version:
            return info
        cache = CACHE_STATUS.get()
        try:
            vdoc = await self.legacy(project, version)
            result: JSON = vdoc.parsed["info"]
            return result
        except UpstreamNotFound:
            metadata = await self.core_metadata(project, files)
            return info_from_metadata(info, version, metadata)
        finally:
            CACHE_STATUS.set(cache)

    async def core_metadata(self, project: str, files: list[JSON]) -> bytes | None:
        """The PEP 658 metadata of one of ``files`` (a wheel's, by preference), verified.

        PyPI's legacy entries advertise it under ``core-metadata``; where they do not, the
        simple page's entries for the same files are asked.
        """
        sources = [(f["url"], f["core-metadata"]) for f in files if f.get("core-metadata")]
        if not sources:
            wanted = {f["filename"] for f in files}
            try:
                page = (await self.page(project)).parsed
            except (UpstreamError, UpstreamNotFound):
                return None
            page = normalise_core_metadata(absolutize_urls(page, self.page_url(project)))
            sources = [
                (f["url"], f["core-metadata"])
                for f in page["files"]
                if f["filename"] in wanted and f.get("core-metadata")
            ]
        sources.sort(key=lambda source: not str(source[0]).endswith(".whl"))
        for url, advertised in sources:
            hashes = advertised if isinstance(advertised, dict) else {}
            try:
                fetched = await self.upstream.document(
                    url + ".metadata", accept="*/*", parse=partial(verified, hashes=hashes)
                )
            except (UpstreamError, UpstreamNotFound):
                continue
            result: bytes = fetched.parsed
            return result
        return None


def _version_text(text: str) -> str:
    """The version of a ``/pypi/<project>/<version>/json`` URL, if it names nothing else.

    ``.`` and ``..`` are dot segments: the upstream URL built from them would name
    another document (``/pypi/<project>/json`` or ``/pypi/json``).
    """
    if text in (".", "..") or any(c in text for c in "/\\?#%") or not text.isprintable():
        raise InvalidVersionText(
            f"{text!r} is not a version; a version has no '/', '\\', '?', '#' or '%' and is "
            "not '.' or '..'"
        )
    return text


def _version_not_in_snapshot(project: str, version: str, snapshot: Snapshot) -> NotInSnapshot:
    if snapshot.cutoff is None:
        return NotInSnapshot(f"{project} {version} has no file")
    cutoff = format_cutoff(snapshot.cutoff)
    return NotInSnapshot(f"{project} {version} has no file uploaded before {cutoff}")
