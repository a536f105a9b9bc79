"""The aiohttp shell: routes, responses and errors around the pure snapshot core.

Every route exists twice: at ``/`` for the server's own cutoff, and under
``/snapshot/<cutoff>/`` for a cutoff named in the URL (one server, many cutoffs).
"""

from __future__ import annotations

import asyncio
import json
import logging
import ssl
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable, Hashable
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import partial
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

import aiohttp
import yarl
from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from snapproxy import __version__
from snapproxy.cutoff import CutoffError, format_cutoff, is_recent, parse_cutoff
from snapproxy.defaults import DEFAULT_FILES_HOST, DEFAULT_UPSTREAM
from snapproxy.documents import parse_legacy_project, parse_project_list, parse_project_page
from snapproxy.file_store import DigestMismatch, FileStore, Verifier, verified
from snapproxy.legacy_json import (
    info_from_metadata,
    latest_version,
    snapshot_project,
    snapshot_version,
    visible_releases,
)
from snapproxy.names import InvalidProjectName, normalize
from snapproxy.negotiation import Format, FormatNotAcceptable, accepts_gzip, choose_format
from snapproxy.page_cache import PageCache
from snapproxy.representation import (
    IMMUTABLE,
    REVALIDATE,
    VARY,
    Representation,
    etag_matches,
    make_representation,
)
from snapproxy.simple_html import render_index, render_project
from snapproxy.simple_page import (
    ProjectNotAtCutoff,
    absolutize_urls,
    capped_meta,
    normalise_core_metadata,
    snapshot_page,
)
from snapproxy.snapshot import JSON, Snapshot, YankedPolicy
from snapproxy.upstream import Upstream, UpstreamBadResponse, UpstreamError, UpstreamNotFound

__all__ = ["DEFAULT_FILES_HOST", "DEFAULT_UPSTREAM", "ServerConfig", "create_app"]

log = logging.getLogger("snapproxy.access")

JSON_ACCEPT = Format.JSON.value
LEGACY_ACCEPT = "application/json"
CHUNK = 256 * 1024
T = TypeVar("T")
# How the current request's upstream document or file was obtained, for its log line.
# A context variable, not request storage: each request runs in its own task.
CACHE_STATUS: ContextVar[str] = ContextVar("snapproxy_cache_status", default="-")


@dataclass(frozen=True)
class ServerConfig:
    cutoff: datetime
    upstream: str = DEFAULT_UPSTREAM
    files_host: str = DEFAULT_FILES_HOST
    cache_dir: Path | None = None
    yanked: YankedPolicy = "keep"
    allow_undated: bool = False
    direct_files: bool = False
    timeout: float = 30.0
    retries: int = 3
    backoff: float = 0.25
    max_age: float = 600.0
    # CA bundle for upstream TLS; None: the system's (a Nix build names cacert's).
    ca_file: Path | None = None
    now: Callable[[], datetime] = field(default=lambda: datetime.now(timezone.utc))


class NotInSnapshot(LookupError):
    """A version or file that exists upstream but not at the requested cutoff."""


@dataclass(frozen=True)
class Tree:
    """The snapshot a request addresses and where that tree is mounted."""

    snapshot: Snapshot
    prefix: str
    immutable: bool


class Memo:
    """Values derived from an upstream document, valid while upstream's copy is the same.

    A hot page (pip asks for each project of a resolution; uv asks again for each file)
    is then served without filtering thousands of files or compressing again.  An entry
    is stale once the document it was made from has been replaced (compared by
    identity); the oldest entries go first.
    """

    def __init__(self, size: int = 512):
        self.size = size
        self._entries: OrderedDict[Hashable, tuple[object, Any]] = OrderedDict()

    def get(self, key: Hashable, source: object, build: Callable[[], T]) -> T:
        entry = self._entries.get(key)
        if entry is not None and entry[0] is source:
            self._entries.move_to_end(key)
            value: T = entry[1]
            return value
        value = build()
        self._entries[key] = (source, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)
        return value


class Proxy:
    """Route handlers; holds the upstream client and the file store."""

    def __init__(self, config: ServerConfig, upstream: Upstream, files: FileStore):
        self.config = config
        self.upstream = upstream
        self.files = files
        self.index = config.upstream.rstrip("/")
        self._file_locks: dict[str, asyncio.Lock] = {}
        self.memo = Memo()
        # The last files refused for not matching the index, for an in-process user (the
        # fetcher) to explain its failure; bounded, as a server runs for long.
        self.mismatched: deque[str] = deque(maxlen=16)

    # -- addressing ---------------------------------------------------------------------

    def tree(self, request: web.Request) -> Tree:
        config = self.config
        text = request.match_info.get("cutoff")
        if text is None:
            return Tree(Snapshot(config.cutoff, config.yanked, config.allow_undated), "", False)
        cutoff = parse_cutoff(text)
        prefix = "/snapshot/" + quote(text, safe=":+-.")
        # Immutable only once no upload can still land before the cutoff (cutoff.is_recent).
        final = not is_recent(cutoff, config.now())
        return Tree(Snapshot(cutoff, config.yanked, config.allow_undated), prefix, final)

    def project(self, request: web.Request) -> str:
        """The normalised project name, or a 301 to the URL that uses it."""
        given = request.match_info["project"]
        name = normalize(given)
        if name != given:
            path = request.path.replace(f"/{given}/", f"/{name}/", 1)
            raise web.HTTPMovedPermanently(_same_query(request, path))
        return name

    def file_url(self, request: web.Request, tree: Tree, project: str) -> Callable[[JSON], str]:
        origin = f"{request.scheme}://{request.host}"
        return lambda f: f"{origin}{tree.prefix}/files/{project}/{quote(f['filename'])}"

    def url_rewriter(
        self, request: web.Request, tree: Tree, project: str
    ) -> Callable[[JSON], str] | None:
        return None if self.config.direct_files else self.file_url(request, tree, project)

    # -- upstream documents -------------------------------------------------------------

    def page_url(self, project: str) -> str:
        return f"{self.index}/simple/{project}/"

    async def page(self, project: str) -> JSON:
        doc, cache = await self.upstream.document(
            self.page_url(project), accept=JSON_ACCEPT, parse=parse_project_page
        )
        CACHE_STATUS.set(cache)
        result: JSON = doc
        return result

    async def legacy(self, path: str) -> JSON:
        doc, cache = await self.upstream.document(
            f"{self.index}/pypi/{path}/json", accept=LEGACY_ACCEPT, parse=parse_legacy_project
        )
        CACHE_STATUS.set(cache)
        result: JSON = doc
        return result

    # -- responses ----------------------------------------------------------------------

    def representation(
        self,
        request: web.Request,
        key: Hashable,
        source: object,
        body: Callable[[], bytes],
        content_type: str,
    ) -> Representation:
        """The (memoised) body in the coding the client accepts."""
        gzip_ok = accepts_gzip(request.headers.get("Accept-Encoding"))
        return self.memo.get(
            (key, gzip_ok),
            source,
            lambda: make_representation(
                self.memo.get(key, source, body), content_type, gzip_ok=gzip_ok
            ),
        )

    def respond(self, request: web.Request, rep: Representation, tree: Tree | None) -> web.Response:
        headers = {
            "Content-Type": rep.content_type,
            "ETag": rep.etag,
            "Vary": VARY,
            "Cache-Control": IMMUTABLE if tree is not None and tree.immutable else REVALIDATE,
        }
        if etag_matches(request.headers.get("If-None-Match"), rep.etag):
            return web.Response(status=304, headers=headers)
        if rep.content_encoding:
            headers["Content-Encoding"] = rep.content_encoding
        return web.Response(body=rep.body, headers=headers)

    def respond_json(self, request: web.Request, doc: Any, tree: Tree | None) -> web.Response:
        body = json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode()
        gzip_ok = accepts_gzip(request.headers.get("Accept-Encoding"))
        return self.respond(
            request, make_representation(body, "application/json", gzip_ok=gzip_ok), tree
        )

    # -- routes -------------------------------------------------------------------------

    async def project_list(self, request: web.Request) -> web.Response:
        self.tree(request)  # validates a cutoff in the URL
        fmt = choose_format(request.headers.get("Accept"), request.query.get("format"))
        doc, cache = await self.upstream.document(
            f"{self.index}/simple/", accept=JSON_ACCEPT, parse=parse_project_list
        )
        CACHE_STATUS.set(cache)

        def build() -> bytes:
            out = {"meta": capped_meta(doc.get("meta")), "projects": doc["projects"]}
            if fmt.is_json:
                return json.dumps(out, separators=(",", ":"), ensure_ascii=False).encode()
            return render_index(out).encode()

        # Hundreds of thousands of names: rendered once per upstream copy, not per request.
        rep = self.representation(request, ("/simple/", fmt), doc, build, _content_type(fmt))
        # Not date-filtered (a list of every name today), so never immutable.
        return self.respond(request, rep, None)

    async def project_page(self, request: web.Request) -> web.Response:
        tree = self.tree(request)
        project = self.project(request)
        fmt = choose_format(request.headers.get("Accept"), request.query.get("format"))
        page = await self.page(project)
        rewrite = self.url_rewriter(request, tree, project)

        def build() -> bytes:
            filtered = snapshot_page(
                page, tree.snapshot, page_url=self.page_url(project), url_for=rewrite
            )
            if fmt.is_json:
                return json.dumps(filtered, separators=(",", ":"), ensure_ascii=False).encode()
            return render_project(filtered).encode()

        origin = None if rewrite is None else f"{request.scheme}://{request.host}{tree.prefix}"
        key = (project, tree.snapshot, fmt, origin)
        rep = self.representation(request, key, page, build, _content_type(fmt))
        return self.respond(request, rep, tree)

    async def legacy_project(self, request: web.Request) -> web.Response:
        tree = self.tree(request)
        project = self.project(request)
        doc = await self.legacy(project)
        releases = visible_releases(doc, tree.snapshot)
        latest = latest_version(releases)
        if latest is None:
            raise ProjectNotAtCutoff(project)
        info = await self.version_info(project, doc, latest, releases[latest])
        out = snapshot_project(
            doc, releases, info, tree.snapshot, self.url_rewriter(request, tree, project)
        )
        return self.respond_json(request, out, tree)

    async def legacy_version(self, request: web.Request) -> web.Response:
        tree = self.tree(request)
        project = self.project(request)
        version = request.match_info["version"]
        rewrite = self.url_rewriter(request, tree, project)
        try:
            doc = await self.legacy(f"{project}/{quote(version, safe='')}")
        except UpstreamNotFound:
            # Some mirrors serve no per-version documents: build one from the project's.
            return await self.legacy_version_from_project(request, tree, project, version)
        files = visible_releases({"releases": {version: doc.get("urls")}}, tree.snapshot)
        if not files:
            raise _version_not_in_snapshot(project, version, tree)
        out = snapshot_version(doc, files[version], tree.snapshot, rewrite)
        return self.respond_json(request, out, tree)

    async def legacy_version_from_project(
        self, request: web.Request, tree: Tree, project: str, version: str
    ) -> web.Response:
        doc = await self.legacy(project)
        releases = visible_releases(doc, tree.snapshot)
        if version not in releases:
            raise _version_not_in_snapshot(project, version, tree)
        info = await self.version_info(project, doc, version, releases[version])
        out = snapshot_version(
            {"info": info},
            releases[version],
            tree.snapshot,
            self.url_rewriter(request, tree, project),
        )
        return self.respond_json(request, out, tree)

    async def version_info(self, project: str, doc: JSON, version: str, files: list[JSON]) -> JSON:
        """``info`` of ``version``: today's if it is today's latest, else the per-version one."""
        info: JSON = doc["info"]
        if info.get("version") == version:
            return info
        cache = CACHE_STATUS.get()
        try:
            vdoc = await self.legacy(f"{project}/{quote(version, safe='')}")
            result: JSON = vdoc["info"]
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
                page = await self.page(project)
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
                data, _ = await self.upstream.document(
                    url + ".metadata", accept="*/*", parse=partial(verified, hashes=hashes)
                )
            except (UpstreamError, UpstreamNotFound):
                continue
            result: bytes = data
            return result
        return None

    async def file(self, request: web.Request) -> web.StreamResponse:
        tree = self.tree(request)
        project = self.project(request)
        filename = request.match_info["filename"]
        metadata = filename.endswith(".metadata")
        dist = filename.removesuffix(".metadata")
        entry = await self.index_entry(project, dist, tree.snapshot)
        if metadata:
            advertised = entry.get("core-metadata")
            if not advertised:
                raise NotInSnapshot(f"the index publishes no metadata file for {dist}")
            url = entry["url"] + ".metadata"
            verifier = Verifier.for_hashes(advertised if isinstance(advertised, dict) else {})
        else:
            url = entry["url"]
            verifier = Verifier.for_hashes(entry.get("hashes") or {})
            if verifier is None:
                raise UpstreamError(f"the index publishes no hash for {dist}; refusing to serve it")
        size = None if metadata else entry.get("size")  # the index gives no metadata size
        return await self.serve_file(request, url, verifier, tree, size)

    async def index_entry(self, project: str, filename: str, snapshot: Snapshot) -> JSON:
        """The index's entry for one file of the snapshot (upstream URL, hashes, size...)."""
        page = await self.page(project)

        def by_filename() -> dict[str, JSON]:
            filtered = snapshot_page(page, snapshot, page_url=self.page_url(project), url_for=None)
            return {f["filename"]: f for f in filtered["files"]}

        entry = self.memo.get(("files", project, snapshot), page, by_filename).get(filename)
        if entry is None:
            raise NotInSnapshot(
                f"{filename} is not a file of {project} uploaded before "
                f"{format_cutoff(snapshot.cutoff)}"
            )
        return entry

    async def serve_file(
        self,
        request: web.Request,
        url: str,
        verifier: Verifier | None,
        tree: Tree,
        size: object = None,
    ) -> web.StreamResponse:
        """A file, from the store when it holds it, else streamed from upstream.

        With a store, HEAD and Range requests for a file not stored yet store it first, so
        they are answered from disk like every later request (aiohttp's FileResponse
        handles both). Without one (``--no-cache``, or no hash to store it under) HEAD
        answers from the index's size and Range is answered with the whole file.
        """
        headers = {
            "Cache-Control": IMMUTABLE if tree.immutable else REVALIDATE,
            "Content-Type": "application/octet-stream",
        }
        if verifier is None or self.files.root is None:
            if request.method == "HEAD":
                if isinstance(size, int):
                    headers["Content-Length"] = str(size)
                return web.Response(headers=headers)
            return await self.stream_file(request, url, verifier, headers)
        stored = self.files.lookup(verifier)
        if stored is None:
            # One lock per file for the process's life: a few bytes per distinct file, and
            # no window in which a second download could start beside the first.
            lock = self._file_locks.setdefault(verifier.digest, asyncio.Lock())
            async with lock:
                stored = self.files.lookup(verifier)
                if stored is None:
                    if request.method == "GET" and "Range" not in request.headers:
                        headers["Accept-Ranges"] = "bytes"
                        return await self.stream_file(request, url, verifier, headers)
                    stored = await self.store_file(url, verifier)
        else:
            CACHE_STATUS.set("hit")
        return web.FileResponse(stored, headers=headers)

    async def _pump(
        self,
        url: str,
        verifier: Verifier | None,
        send: Callable[[bytes], Awaitable[None]] | None,
        response_for: Callable[[aiohttp.ClientResponse], Awaitable[None]] | None = None,
    ) -> None:
        """Move upstream's bytes to ``send`` and the store, verifying them as they pass.

        The last chunk is held back until the digest is known, so no receiver gets a
        whole file that differs from what the index published; nothing is stored then.
        Raises :class:`DigestMismatch` or the transfer's error after recording it.
        """
        async with self.upstream.stream(url) as upstream:
            if response_for is not None:
                await response_for(upstream)
            pending = None
            if verifier is not None:
                try:
                    pending = self.files.pending(verifier)
                except OSError as exc:
                    # A full or read-only disk costs the stored copy, not the answer.
                    log.warning("cannot store %s (%s); serving it unstored", url, exc)
            held: bytes | None = None
            try:
                async for chunk in upstream.content.iter_chunked(CHUNK):
                    if verifier is not None:
                        verifier.update(chunk)
                    if pending is not None:
                        pending.write(chunk)
                    if held is not None and send is not None:
                        await send(held)
                    held = chunk
                if verifier is not None:
                    verifier.check()
            except BaseException as exc:
                if pending is not None:
                    pending.discard()
                if isinstance(exc, (DigestMismatch, aiohttp.ClientError, asyncio.TimeoutError)):
                    log.error("aborting %s: %s", url, exc)
                    CACHE_STATUS.set("aborted")
                if isinstance(exc, DigestMismatch):
                    self.mismatched.append(f"{url}: {exc}")
                raise
            if held is not None and send is not None:
                await send(held)
            if pending is not None:
                pending.commit()

    async def store_file(self, url: str, verifier: Verifier) -> Path:
        """Download a file into the store (verified) without a client waiting on it."""
        CACHE_STATUS.set("miss")
        try:
            await self._pump(url, verifier, None)
        except DigestMismatch as exc:
            raise UpstreamBadResponse(f"{url} does not match the index: {exc}") from None
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            raise UpstreamBadResponse(f"transfer of {url} failed: {exc}") from None
        stored = self.files.lookup(verifier)
        if stored is None:
            raise UpstreamError(f"{url} could not be stored (see the log); try again")
        return stored

    async def stream_file(
        self,
        request: web.Request,
        url: str,
        verifier: Verifier | None,
        headers: dict[str, str],
    ) -> web.StreamResponse:
        """Stream upstream bytes to the client while hashing (and storing) them.

        On a mismatch or a broken transfer the connection is cut before the body
        completes, so the client cannot take the file for whole.
        """
        CACHE_STATUS.set("miss")
        response = web.StreamResponse(headers=headers)

        async def start(upstream: aiohttp.ClientResponse) -> None:
            if upstream.content_length is not None:
                response.content_length = upstream.content_length
            await response.prepare(request)

        try:
            await self._pump(url, verifier, response.write, start)
        except (DigestMismatch, aiohttp.ClientError, asyncio.TimeoutError):
            if request.transport is not None:
                request.transport.close()
            return response
        await response.write_eof()
        return response

    async def health(self, request: web.Request) -> web.Response:
        tree = self.tree(request)
        doc = {
            "status": "ok",
            "cutoff": format_cutoff(tree.snapshot.cutoff),
            "upstream": self.config.upstream,
            "files_host": self.config.files_host,
            "yanked": self.config.yanked,
            "version": __version__,
        }
        return web.json_response(doc, headers={"Cache-Control": "no-store"})

    async def add_slash(self, request: web.Request) -> web.Response:
        raise web.HTTPMovedPermanently(_same_query(request, request.path + "/"))


def _same_query(request: web.Request, path: str) -> str:
    """``path`` with the request's query string as sent (``?format=`` must survive)."""
    raw = request.rel_url.raw_query_string
    return str(yarl.URL.build(path=path)) + (f"?{raw}" if raw else "")


def _version_not_in_snapshot(project: str, version: str, tree: Tree) -> NotInSnapshot:
    cutoff = format_cutoff(tree.snapshot.cutoff)
    return NotInSnapshot(f"{project} {version} has no file uploaded before {cutoff}")


def _content_type(fmt: Format) -> str:
    return fmt.value + ("; charset=utf-8" if fmt is Format.TEXT_HTML else "")


def _error(status: int, message: str) -> web.Response:
    return web.Response(
        status=status,
        text=f"{message}\n",
        headers={"Cache-Control": "no-store", "Vary": VARY},
    )


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class AccessLogger(AbstractAccessLogger):
    """One line per request, written once the response is sent: method, path, the status
    as sent (FileResponse picks 206 or 304 only while sending), cache status, time."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        self.logger.info(
            "%s %s %d %s %.1fms",
            request.method,
            request.path_qs,
            response.status,
            CACHE_STATUS.get(),
            time * 1000,
        )


def runner_for(app: web.Application) -> web.AppRunner:
    """The runner every entry point serves the app with (so each logs the same way)."""
    return web.AppRunner(app, access_log_class=AccessLogger, access_log=log, handle_signals=False)


@web.middleware
async def errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Map domain errors to HTTP statuses (the message names the value and the fix)."""
    CACHE_STATUS.set("-")
    try:
        return await handler(request)
    except (InvalidProjectName, CutoffError) as exc:
        return _error(400, str(exc))
    except FormatNotAcceptable as exc:
        return _error(406, str(exc))
    except ProjectNotAtCutoff as exc:
        return _error(404, f"project {exc} has no file uploaded before the cutoff")
    except UpstreamNotFound as exc:
        return _error(404, f"not found upstream: {exc}")
    except NotInSnapshot as exc:
        return _error(404, str(exc))
    except UpstreamError as exc:
        return _error(exc.status, str(exc))


def create_app(config: ServerConfig) -> web.Application:
    app = web.Application(middlewares=[errors])
    cache_dir = config.cache_dir
    page_cache = PageCache(cache_dir)
    files = FileStore(cache_dir / "files" if cache_dir is not None else None)

    async def session_ctx(app: web.Application) -> Any:
        timeout = aiohttp.ClientTimeout(
            total=None,
            connect=config.timeout,
            sock_connect=config.timeout,
            sock_read=config.timeout,
        )
        tls = ssl.create_default_context(cafile=config.ca_file) if config.ca_file else True
        connector = aiohttp.TCPConnector(limit=64, limit_per_host=32, ssl=tls)
        headers = {"User-Agent": f"snapproxy/{__version__}"}
        async with aiohttp.ClientSession(
            timeout=timeout, connector=connector, headers=headers, auto_decompress=True
        ) as session:
            upstream = Upstream(
                session,
                page_cache,
                allowed_origins=(config.upstream, config.files_host),
                retries=config.retries,
                backoff=config.backoff,
                max_age=config.max_age,
            )
            proxy = Proxy(config, upstream, files)
            app[PROXY] = proxy
            yield

    app.cleanup_ctx.append(session_ctx)

    def route(name: str) -> Handler:
        async def handler(request: web.Request) -> web.StreamResponse:
            method: Handler = getattr(request.app[PROXY], name)
            return await method(request)

        return handler

    for prefix in ("", "/snapshot/{cutoff}"):
        app.router.add_get(prefix + "/simple/", route("project_list"))
        app.router.add_get(prefix + "/simple", route("add_slash"))
        app.router.add_get(prefix + "/simple/{project}/", route("project_page"))
        app.router.add_get(prefix + "/simple/{project}", route("add_slash"))
        app.router.add_get(prefix + "/pypi/{project}/json", route("legacy_project"))
        app.router.add_get(prefix + "/pypi/{project}/{version}/json", route("legacy_version"))
        app.router.add_get(prefix + "/files/{project}/{filename}", route("file"))
        app.router.add_get(prefix + "/-/health", route("health"))
    return app


PROXY: web.AppKey[Proxy] = web.AppKey("proxy", Proxy)
