"""The file route, ``/files/<project>/<filename>``: a distribution or its metadata file,
checked against the index's hashes, from the store or as it downloads."""

from __future__ import annotations

import asyncio

from aiohttp import web

from snapproxy.cache_status import CACHE_STATUS
from snapproxy.cutoff import format_cutoff, parse_upload_time
from snapproxy.downloads import StoredFile, send
from snapproxy.file_store import Verifier
from snapproxy.proxy_core import ProxyCore
from snapproxy.representation import IMMUTABLE, REVALIDATE
from snapproxy.route_errors import NotInSnapshot
from snapproxy.simple_page import absolutize_urls, normalise_core_metadata
from snapproxy.snapshot import JSON, Snapshot, describe_cutoff
from snapproxy.upstream import UpstreamError

__all__ = ["FileRoutes"]

# A file index entry (a dict of a few strings) costs about this much.
_INDEX_ENTRY_COST = 600


class FileRoutes(ProxyCore):
    """The file route of :class:`~snapproxy.proxy.Proxy`."""

    async def file(self, request: web.Request) -> web.StreamResponse:
        tree = self.tree(request)
        project = self.project(request)
        filename = request.match_info["filename"]
        metadata = filename.endswith(".metadata")
        dist = filename.removesuffix(".metadata")
        entry = await self.index_entry(project, dist, tree.snapshot(project))
        if metadata:
            advertised = entry.get("core-metadata")
            if not advertised:
                raise NotInSnapshot(f"the index publishes no metadata file for {dist}")
            url = entry["url"] + ".metadata"
            verifier = Verifier.for_hashes(advertised if isinstance(advertised, dict) else {})
            size = None  # the index gives no metadata size
        else:
            url = entry["url"]
            verifier = Verifier.for_hashes(entry.get("hashes") or {})
            if verifier is None:
                raise UpstreamError(f"the index publishes no hash for {dist}; refusing to serve it")
            size = entry.get("size") if isinstance(entry.get("size"), int) else None
            if self.file_served is not None:
                self.file_served(dist, url, verifier, size)
        headers = {
            "Cache-Control": IMMUTABLE if tree.immutable(project) else REVALIDATE,
            "Content-Type": "application/octet-stream",
        }
        return await self.serve_file(request, url, verifier, size, headers)

    async def index_entry(self, project: str, filename: str, snapshot: Snapshot) -> JSON:
        """The index's entry for one file of the snapshot (upstream URL, hashes, size...).

        ``snapshot`` is the project's own (:meth:`Tree.snapshot`, ``Snapshots.of``).
        """
        fetched = await self.page(project)
        page = fetched.parsed

        def by_filename() -> dict[str, JSON]:
            return {f["filename"]: f for f in page["files"]}

        entries = await self.derived(
            ("files", fetched.document.serial),
            fetched.document.size,
            by_filename,
            lambda index: _INDEX_ENTRY_COST * len(index),
        )
        entry = entries.get(filename)
        if entry is None:
            raise NotInSnapshot(
                f"{project} has no file named {filename!r} on {self.index_url(project)}"
            )
        if not snapshot.shows(entry.get("upload-time")):
            uploaded = parse_upload_time(entry.get("upload-time"))
            if uploaded is None:
                raise NotInSnapshot(
                    f"{filename} of {project} has no upload time; "
                    f"{self.undated_option(project)} serves it"
                )
            raise NotInSnapshot(
                f"{filename} of {project} was uploaded at {format_cutoff(uploaded)}, not "
                f"{describe_cutoff(snapshot.cutoff)}"
            )
        one = {**page, "files": [entry]}
        found: JSON = normalise_core_metadata(absolutize_urls(one, self.page_url(project)))
        entry = found["files"][0]
        self.check_file_origin(project, entry["url"])
        return entry  # type: ignore[no-any-return]

    async def serve_file(
        self,
        request: web.Request,
        url: str,
        verifier: Verifier | None,
        size: int | None,
        headers: dict[str, str],
    ) -> web.StreamResponse:
        """A file from the store when it holds it (checked), else as it downloads.

        HEAD and Range requests for a file not stored yet wait for it to be stored and are
        then answered from disk like every later request (aiohttp's FileResponse handles
        both).  Without a store (``--no-cache``) HEAD answers from the index's size and
        Range is answered with the whole file.
        """
        if verifier is not None and self.files.keep:
            stored = self.files.known(verifier) or await asyncio.to_thread(
                self.files.lookup, verifier, size
            )
            if stored is not None:
                CACHE_STATUS.set("hit")
                return StoredFile(stored, headers=headers)
        if request.method == "HEAD" and not self.files.keep:
            if size is not None:
                headers["Content-Length"] = str(size)
            return web.Response(headers=headers)
        CACHE_STATUS.set("miss")
        download = self.downloads.get(url, verifier, size)
        if request.method == "HEAD" or "Range" in request.headers:
            await download.settled()
            if download.stored is not None:
                return StoredFile(download.stored, headers=headers)
            if download.state == "failed":
                CACHE_STATUS.set("aborted")
                raise download.failure()
        if "Range" not in request.headers:
            headers["Accept-Ranges"] = "bytes"
        return await send(request, download, headers)
