"""What every route handler shares: the proxy's state, addressing, upstream pages, the
memory budget's derived values and the cacheable response."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from aiohttp import web

from snapproxy.addressing import Tree, request_origin, request_project, request_tree
from snapproxy.cache_status import CACHE_STATUS
from snapproxy.credentials import redact_url
from snapproxy.documents import parse_project_page
from snapproxy.downloads import Downloads
from snapproxy.file_store import FileStore, Verifier
from snapproxy.index_routing import origin_of
from snapproxy.memory_budget import ByteBudget
from snapproxy.negotiation import Format, accepts_gzip
from snapproxy.offload import Offload
from snapproxy.page_log import PageLog
from snapproxy.representation import (
    IMMUTABLE,
    REVALIDATE,
    VARY,
    Representation,
    etag_matches,
    make_representation,
)
from snapproxy.route_errors import NoSuchProject
from snapproxy.server_config import ServerConfig
from snapproxy.single_flight import SingleFlight
from snapproxy.upstream import Fetched, ForeignHost, Upstream, UpstreamNotFound

__all__ = ["JSON_ACCEPT", "PAGE_ACCEPT", "ProxyCore"]

JSON_ACCEPT = Format.JSON.value
# Project pages: JSON preferred, PEP 503 HTML taken from an index that serves only that.
PAGE_ACCEPT = f"{JSON_ACCEPT}, {Format.HTML.value};q=0.1, text/html;q=0.01"
T = TypeVar("T")


class ProxyCore:
    """What every route shares; holds the upstream client, the memory budget and the downloads."""

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
        # Where the files of projects of the default index may be (check_file_origin).
        self._default_file_origins = {origin_of(self.index), origin_of(config.files_host)}
        self._building: SingleFlight[Any] = SingleFlight()
        # Set by a client that needs to know which upstream copies its answers came from.
        self.page_log: PageLog | None = None
        # Called with (filename, upstream URL, verifier, size) of each distribution file
        # requested, by a client that acts on what is fetched (the fetcher's prefetch).
        self.file_served: Callable[[str, str, Verifier, int | None], None] | None = None
        # (project, why) of the last projects answered 404 (NoSuchProject,
        # ProjectNotAtCutoff) or an upstream error (UpstreamRefused...), for an in-process
        # client (the fetcher) to explain what pip only calls "no matching distribution";
        # bounded, as a server runs for long.
        self.missing: deque[tuple[str, str]] = deque(maxlen=16)

    @property
    def mismatched(self) -> deque[str]:
        """The last files refused for not matching the index (for the fetcher's errors)."""
        return self.downloads.mismatched

    # -- addressing ---------------------------------------------------------------------

    def tree(self, request: web.Request) -> Tree:
        """The request's snapshots, read now: a rolling cutoff moves with every request."""
        return request_tree(self.config, request)

    def project(self, request: web.Request) -> str:
        """The normalised project name, or a 301 to the URL that uses it."""
        return request_project(request)

    def origin(self, request: web.Request) -> str:
        """``scheme://host:port`` the client reached, for the absolute URLs of legacy JSON."""
        return request_origin(request)

    # -- upstream documents -------------------------------------------------------------

    def page_url(self, project: str) -> str:
        index = self.config.routing.index_for(project)
        return f"{self.index}/simple/{project}/" if index is None else index.page_url(project)

    def index_url(self, project: str) -> str:
        """The simple root of the index ``project`` comes from, for messages."""
        index = self.config.routing.index_for(project)
        return self.index if index is None else f"{index.url} (index {index.name})"

    def undated_option(self, project: str) -> str:
        """The option that shows ``project``'s undated files, for messages."""
        index = self.config.routing.index_for(project)
        return "--allow-undated" if index is None else f"--undated-index {index.name}"

    def check_file_origin(self, project: str, url: str) -> None:
        """Refuse a file URL off the hosts of the index ``project`` comes from: a routed
        project's files come from its index's host only (where its credentials go), every
        other project's from the default index and files host only."""
        index = self.config.routing.index_for(project)
        allowed = self._default_file_origins if index is None else {index.origin}
        if origin_of(url) not in allowed:
            source = f"{self.index}/simple/" if index is None else f"index {index.name}"
            raise ForeignHost(
                f"refusing to fetch {redact_url(url)}: {source} links {project}'s file to "
                f"{origin_of(redact_url(url))}, not to "
                f"{'its own host' if index else 'the index or --files-host'}"
            )

    async def fetch(self, url: str, accept: str, parse: Callable[[bytes], Any]) -> Fetched:
        fetched = await self.upstream.document(url, accept=accept, parse=parse)
        CACHE_STATUS.set(fetched.cache)
        return fetched

    async def page(self, project: str) -> Fetched:
        try:
            fetched = await self.fetch(self.page_url(project), PAGE_ACCEPT, parse_project_page)
        except UpstreamNotFound:
            raise NoSuchProject(project, self.index_url(project)) from None
        # An HTML page names no project (PEP 691 JSON needs ``name``); this is its page.
        fetched.parsed.setdefault("name", project)
        return fetched

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
