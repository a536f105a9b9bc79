"""Route handlers: what each URL of the snapshot answers, around the pure core.

Every route exists twice: at ``/`` for the server's own cutoff, and under
``/snapshot/<cutoff>/`` for a cutoff named in the URL (one server, many cutoffs).

Simple pages link files by relative URL (PEP 503 and PEP 691 allow it), so no page body
depends on the Host a client used: one rendered body serves every client, and a shared
cache in front cannot hand one client's links to another.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections import deque
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any, TypeVar
from urllib.parse import quote

import yarl
from aiohttp import web

from snapproxy import __version__, json_pieces
from snapproxy.cache_status import CACHE_STATUS
from snapproxy.cutoff import format_cutoff, parse_upload_time
from snapproxy.cutoff_policy import CutoffPolicy, describe, is_final, parse_date
from snapproxy.documents import (
    ProjectList,
    parse_legacy_project,
    parse_project_list,
    parse_project_page,
)
from snapproxy.downloads import Downloads, StoredFile, send
from snapproxy.file_store import FileStore, Verifier, verified
from snapproxy.home_page import Home, home_json, render_home, wants_json
from snapproxy.legacy_json import (
    info_from_metadata,
    latest_version,
    snapshot_project,
    snapshot_version,
    upload_instants,
    visible_releases,
)
from snapproxy.memory_budget import ByteBudget
from snapproxy.names import normalize
from snapproxy.negotiation import Format, accepts_gzip, choose_format
from snapproxy.offload import Offload
from snapproxy.page_cache import cache_key
from snapproxy.page_log import PageLog
from snapproxy.representation import (
    IMMUTABLE,
    REVALIDATE,
    VARY,
    Representation,
    etag_matches,
    make_representation,
)
from snapproxy.server_config import ServerConfig
from snapproxy.simple_html import render_index, render_project
from snapproxy.simple_page import (
    ProjectNotAtCutoff,
    absolutize_urls,
    capped_meta,
    normalise_core_metadata,
    page_facts,
    snapshot_stream,
    visible_key,
)
from snapproxy.single_flight import SingleFlight
from snapproxy.snapshot import JSON, Snapshot, Snapshots, describe_cutoff
from snapproxy.upstream import Fetched, Upstream, UpstreamError, UpstreamNotFound

__all__ = ["InvalidVersionText", "NoSuchProject", "NotInSnapshot", "Proxy"]

JSON_ACCEPT = Format.JSON.value
LEGACY_ACCEPT = "application/json"
T = TypeVar("T")
# A Host header fit to be put in a URL: a name or address and an optional port.
_HOST = re.compile(r"[A-Za-z0-9.\-]+(:\d{1,5})?|\[[0-9A-Fa-f:.]+\](:\d{1,5})?")
# A file index entry (a dict of a few strings) costs about this much.
_INDEX_ENTRY_COST = 600


class NotInSnapshot(LookupError):
    """A version or file that exists upstream but not at the requested cutoff."""


class NoSuchProject(UpstreamNotFound):
    """Upstream has no project of that name (its page is a 404): often a misspelling.

    The other 404 of a project, one that exists but had no file yet at the cutoff, is
    :class:`~snapproxy.simple_page.ProjectNotAtCutoff`.
    """

    def __init__(self, project: str, upstream: str):
        self.project = project
        super().__init__(f"no project named {project!r} on {upstream}; check the spelling")


class InvalidVersionText(ValueError):
    """A version in a URL that could name another document (``.``, ``..``, a slash)."""


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


class Proxy:
    """Route handlers; holds the upstream client, the memory budget and the downloads."""

    def __init__(
        self,
        config: ServerConfig,
        upstream: Upstream,
        files: FileStore,
        budget: ByteBudget,
        offload: Offload,
    ):
        self.config = config
        self.upstream = upstream
        self.files = files
        self.budget = budget
        self.offload = offload
        self.downloads = Downloads(upstream, files)
        self.index = config.upstream.rstrip("/")
        self._building: SingleFlight[Any] = SingleFlight()
        # Set by a client that needs to know which upstream copies its answers came from.
        self.page_log: PageLog | None = None
        # Called with (filename, upstream URL, verifier, size) of each distribution file
        # requested, by a client that acts on what is fetched (the fetcher's prefetch).
        self.file_served: Callable[[str, str, Verifier, int | None], None] | None = None
        # (project, why) of the last projects answered 404 (NoSuchProject,
        # ProjectNotAtCutoff), for an in-process client (the fetcher) to explain what pip
        # only calls "no matching distribution"; bounded, as a server runs for long.
        self.missing: deque[tuple[str, str]] = deque(maxlen=16)

    @property
    def mismatched(self) -> deque[str]:
        """The last files refused for not matching the index (for the fetcher's errors)."""
        return self.downloads.mismatched

    # -- addressing ---------------------------------------------------------------------

    def tree(self, request: web.Request) -> Tree:
        """The request's snapshots, read now: a rolling cutoff moves with every request."""
        config = self.config
        policy = config.policy
        text = request.match_info.get("cutoff")
        if text is not None:
            policy = policy.with_default(parse_date(text))
        now = config.now()
        snapshots = policy.at(now, config.yanked, config.allow_undated)
        return Tree(policy, snapshots, now, pinned=text is not None)

    def project(self, request: web.Request) -> str:
        """The normalised project name, or a 301 to the URL that uses it."""
        given = request.match_info["project"]
        name = normalize(given)
        if name != given:
            path = request.path.replace(f"/{given}/", f"/{name}/", 1)
            raise web.HTTPMovedPermanently(_same_query(request, path))
        return name

    def origin(self, request: web.Request) -> str:
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

    # -- upstream documents -------------------------------------------------------------

    def page_url(self, project: str) -> str:
        return f"{self.index}/simple/{project}/"

    async def fetch(self, url: str, accept: str, parse: Callable[[bytes], Any]) -> Fetched:
        fetched = await self.upstream.document(url, accept=accept, parse=parse)
        CACHE_STATUS.set(fetched.cache)
        return fetched

    async def page(self, project: str) -> Fetched:
        try:
            return await self.fetch(self.page_url(project), JSON_ACCEPT, parse_project_page)
        except UpstreamNotFound:
            raise NoSuchProject(project, self.index) from None

    async def legacy(self, project: str, version: str | None = None) -> Fetched:
        """``/pypi/<project>/json``, or ``/pypi/<project>/<version>/json`` (whose 404 may
        be a mirror that serves none: it stays an UpstreamNotFound)."""
        if version is None:
            url = f"{self.index}/pypi/{project}/json"
            try:
                return await self.fetch(url, LEGACY_ACCEPT, parse_legacy_project)
            except UpstreamNotFound:
                raise NoSuchProject(project, self.index) from None
        url = f"{self.index}/pypi/{project}/{quote(version, safe='')}/json"
        return await self.fetch(url, LEGACY_ACCEPT, parse_legacy_project)

    # -- derived values -----------------------------------------------------------------

    async def derived(
        self, key: Hashable, size: int, build: Callable[[], T], cost: Callable[[T], int]
    ) -> T:
        """``build()``'s value, kept in the memory budget; one build for concurrent asks.

        ``size`` is the input's size, which decides whether the build leaves the loop.
        """
        found = self.budget.get(key)
        if found is not None:
            value: T = found
            return value

        async def run() -> Any:
            result = await self.offload.run(size, build)
            self.budget.put(key, result, cost(result))
            return result

        built: T = await self._building.run(key, run)
        return built

    async def representation(
        self,
        request: web.Request,
        key: Hashable,
        size: int,
        body: Callable[[], bytes],
        content_type: str,
    ) -> Representation:
        """The (kept) body in the coding the client accepts."""
        gzip_ok = accepts_gzip(request.headers.get("Accept-Encoding"))
        plain = await self.derived(key, size, body, len)
        return await self.derived(
            (key, gzip_ok),
            len(plain),
            lambda: make_representation(plain, content_type, gzip_ok=gzip_ok),
            lambda rep: len(rep.body),
        )

    # -- responses ----------------------------------------------------------------------

    def respond(
        self, request: web.Request, rep: Representation, immutable: bool, vary: str = VARY
    ) -> web.Response:
        headers = {
            "Content-Type": rep.content_type,
            "ETag": rep.etag,
            "Vary": vary,
            "Cache-Control": IMMUTABLE if immutable else REVALIDATE,
        }
        if etag_matches(request.headers.get("If-None-Match"), rep.etag):
            return web.Response(status=304, headers=headers)
        if rep.content_encoding:
            headers["Content-Encoding"] = rep.content_encoding
        return web.Response(body=rep.body, headers=headers)

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

    # -- routes -------------------------------------------------------------------------

    async def project_list(self, request: web.Request) -> web.Response:
        self.tree(request)  # validates a cutoff in the URL
        fmt = choose_format(request.headers.get("Accept"), request.query.get("format"))
        fetched = await self.fetch(f"{self.index}/simple/", JSON_ACCEPT, parse_project_list)
        doc: ProjectList = fetched.parsed

        def build() -> bytes:
            meta = capped_meta(doc.meta)
            if fmt.is_json:
                return _project_list_json(meta, doc.names).encode()
            return render_index(meta["api-version"], doc.names).encode()

        # Hundreds of thousands of names: rendered once per upstream copy, not per request.
        key = ("index", fetched.document.serial, fmt)
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
            raise ProjectNotAtCutoff(project, snapshot.cutoff, facts.uploaded)

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
                cache_key(self.page_url(project), JSON_ACCEPT), fetched.document.digest
            )
        return self.respond(request, rep, tree.immutable(project))

    def legacy_url_for(self, request: web.Request, project: str) -> Any:
        if self.config.direct_files:
            return None
        base = f"{self.origin(request)}{_tree_prefix(request)}/files/{project}/"
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
            raise NotInSnapshot(f"{project} has no file named {filename!r} on {self.index}")
        if not snapshot.shows(entry.get("upload-time")):
            uploaded = parse_upload_time(entry.get("upload-time"))
            if uploaded is None:
                raise NotInSnapshot(
                    f"{filename} of {project} has no upload time; --allow-undated serves it"
                )
            raise NotInSnapshot(
                f"{filename} of {project} was uploaded at {format_cutoff(uploaded)}, not "
                f"{describe_cutoff(snapshot.cutoff)}"
            )
        one = {**page, "files": [entry]}
        found: JSON = normalise_core_metadata(absolutize_urls(one, self.page_url(project)))
        return found["files"][0]  # type: ignore[no-any-return]

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
            tree=_tree_prefix(request),
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

    async def add_slash(self, request: web.Request) -> web.Response:
        raise web.HTTPMovedPermanently(_same_query(request, request.path + "/"))


def _project_list_json(meta: JSON, names: list[str]) -> str:
    encode = json.JSONEncoder(ensure_ascii=False).encode
    projects = ",".join('{"name":' + encode(name) + "}" for name in names)
    return '{"meta":' + json_pieces.dumps(meta) + ',"projects":[' + projects + "]}"


def _tree_prefix(request: web.Request) -> str:
    text = request.match_info.get("cutoff")
    return "" if text is None else "/snapshot/" + quote(text, safe=":+-.")


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


def _same_query(request: web.Request, path: str) -> str:
    """``path`` with the request's query string as sent (``?format=`` must survive)."""
    raw = request.rel_url.raw_query_string
    return str(yarl.URL.build(path=path)) + (f"?{raw}" if raw else "")


def _version_not_in_snapshot(project: str, version: str, snapshot: Snapshot) -> NotInSnapshot:
    if snapshot.cutoff is None:
        return NotInSnapshot(f"{project} {version} has no file")
    cutoff = format_cutoff(snapshot.cutoff)
    return NotInSnapshot(f"{project} {version} has no file uploaded before {cutoff}")


def _instant(cutoff: datetime | None) -> str | None:
    return None if cutoff is None else format_cutoff(cutoff)


def _content_type(fmt: Format) -> str:
    return fmt.value + ("; charset=utf-8" if fmt is Format.TEXT_HTML else "")

