"""Shared set-up for the in-process HTTP tests (tests/unit/test_http_*.py).

A FakeIndex served on the test's own event loop, populated with real wheels and sdists
uploaded on both sides of the cutoff, and a factory that starts the proxy app in front of
it under ``aiohttp_client``.  Expectations are computed here from the design's rules
(a file is visible iff uploaded strictly before the cutoff) without the product's code.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, Protocol

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from snapproxy.app import AccessLogger, ServerConfig, create_app
from snapproxy.app import log as ACCESS_LOG
from tests.support.distributions import make_sdist, make_wheel
from tests.support.fakeindex import FakeFile, FakeIndex

# ---- media types and headers ---------------------------------------------------------------

SIMPLE_JSON = "application/vnd.pypi.simple.v1+json"
SIMPLE_LATEST_JSON = "application/vnd.pypi.simple.latest+json"
# What pip 26 sends for a project page.
PIP_ACCEPT = (
    "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, "
    "text/html; q=0.01"
)
AS_JSON = {"Accept": SIMPLE_JSON}
AS_HTML = {"Accept": "text/html"}
IMMUTABLE = "public, max-age=31536000, immutable"

# ---- the snapshot instants -----------------------------------------------------------------

CUTOFF_TEXT = "2021-05-01"
CUTOFF = datetime(2021, 5, 1, tzinfo=timezone.utc)
EARLY_TEXT = "2020-01-01"
EARLY = datetime(2020, 1, 1, tzinfo=timezone.utc)

# ---- the upstream content ------------------------------------------------------------------

PROJECT = "Foo_Bar"  # as registered; its normal form is "foo-bar"
NAME = "foo-bar"

FOO_BAR = (
    FakeFile(make_wheel(PROJECT, "1.0"), "2019-06-01T12:00:00.000000Z"),
    # Served from the index origin (/ext-files/), so both upstream origins are exercised.
    FakeFile(make_sdist(PROJECT, "1.0"), "2019-06-01T12:05:00Z", on_files_host=False),
    FakeFile(
        make_wheel(PROJECT, "1.1", requires=["dep>=1.1"], requires_python=">=3.8"),
        "2020-06-01T08:00:00.123456Z",
    ),
    # One microsecond before the cutoff: visible.
    FakeFile(make_sdist(PROJECT, "1.1", requires=["dep>=1.1"]), "2021-04-30T23:59:59.999999Z"),
    # Exactly at the cutoff: hidden (the rule is strict).
    FakeFile(make_wheel(PROJECT, "1.2", requires=["dep>=1.2"]), "2021-05-01T00:00:00Z"),
    FakeFile(make_wheel(PROJECT, "2.0", requires=["dep>=2"]), "2022-01-01T00:00:00Z"),
    FakeFile(make_sdist(PROJECT, "2.0", requires=["dep>=2"]), "2022-01-01T00:00:01Z"),
)
# A release upstream lists without any file.
FOO_BAR_EMPTY_VERSION = "0.9"

# Characters HTML must escape in an attribute value.
YANK_REASON = 'broken <build> & "metadata"'
YANKY = (
    FakeFile(make_wheel("yanky", "1.0"), "2019-01-01T00:00:00Z"),
    FakeFile(make_wheel("yanky", "1.1"), "2020-01-01T00:00:00Z", yanked=YANK_REASON),
)
UNDATED = (FakeFile(make_wheel("undated", "1.0"), None),)
FUTURE = (FakeFile(make_wheel("future", "1.0"), "2022-02-02T00:00:00Z"),)
NOMETA = (FakeFile(make_wheel("nometa", "1.0"), "2019-01-01T00:00:00Z", serve_metadata=False),)
CORRUPT = (FakeFile(make_wheel("corrupt", "1.0"), "2019-01-01T00:00:00Z", corrupt=True),)

PROJECTS: dict[str, tuple[FakeFile, ...]] = {
    PROJECT: FOO_BAR,
    "yanky": YANKY,
    "undated": UNDATED,
    "future": FUTURE,
    "nometa": NOMETA,
    "corrupt": CORRUPT,
}


def populate(index: FakeIndex) -> None:
    for name, files in PROJECTS.items():
        versions = [FOO_BAR_EMPTY_VERSION] if name == PROJECT else []
        index.add(name, *files, versions=versions)


# ---- expectations, from the design's rule --------------------------------------------------


def upload_time(f: FakeFile) -> datetime | None:
    if f.upload_time is None:
        return None
    return datetime.fromisoformat(f.upload_time.replace("Z", "+00:00"))


def visible(
    files: Iterable[FakeFile], cutoff: datetime, *, allow_undated: bool = False
) -> list[FakeFile]:
    """The files a snapshot at ``cutoff`` shows: uploaded strictly before it."""
    out = []
    for f in files:
        when = upload_time(f)
        if (when is None and allow_undated) or (when is not None and when < cutoff):
            out.append(f)
    return out


def filenames(files: Iterable[FakeFile]) -> set[str]:
    return {f.dist.filename for f in files}


def by_filename(name: str) -> FakeFile:
    return next(f for files in PROJECTS.values() for f in files if f.dist.filename == name)


def upstream_path(index: FakeIndex, f: FakeFile) -> str:
    """The path the fake serves ``f`` at (the key of ``index.hits``)."""
    url = index.file_url(f)
    origin = index.files_origin if f.on_files_host else index.index_origin
    assert origin is not None
    return url.removeprefix(origin)


# ---- HTML ----------------------------------------------------------------------------------


@dataclass
class HtmlPage:
    anchors: list[tuple[dict[str, str | None], str]] = field(default_factory=list)
    metas: dict[str, str | None] = field(default_factory=dict)
    comments: list[str] = field(default_factory=list)

    def anchor(self, text: str) -> dict[str, str | None]:
        return next(attrs for attrs, t in self.anchors if t == text)

    @property
    def texts(self) -> set[str]:
        return {t for _, t in self.anchors}


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.page = HtmlPage()
        self._open: dict[str, str | None] | None = None
        self._text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self._open, self._text = dict(attrs), ""
        elif tag == "meta":
            d = dict(attrs)
            if d.get("name"):
                self.page.metas[str(d["name"])] = d.get("content")

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self._text += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._open is not None:
            self.page.anchors.append((self._open, self._text))
            self._open = None

    def handle_comment(self, data: str) -> None:
        self.page.comments.append(data)


def parse_html(text: str) -> HtmlPage:
    parser = _Parser()
    parser.feed(text)
    parser.close()
    return parser.page


# ---- odds and ends -------------------------------------------------------------------------


def files_under(directory: Path) -> list[Path]:
    """Cached files below ``directory``; lock files (cache_lock) are coordination, not data."""
    """Every regular file below ``directory`` (none when it does not exist)."""
    if not directory.exists():
        return []
    return sorted(p for p in directory.rglob("*") if p.is_file() and "locks" not in p.parts)


@contextmanager
def closed_port() -> Iterator[int]:
    """A loopback port nothing listens on: bound but not listening while the block runs,
    so connections are refused and no other server can take it meanwhile."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        yield port


# ---- fixtures (re-exported by tests/unit/conftest.py) --------------------------------------

Client = TestClient[web.Request, web.Application]


class StartProxy(Protocol):
    async def __call__(
        self, *, client_kwargs: dict[str, Any] | None = ..., **config: Any
    ) -> Client: ...


@pytest.fixture
async def fake() -> AsyncIterator[FakeIndex]:
    """A populated FakeIndex served on the test's event loop."""
    index = FakeIndex()
    populate(index)
    async with index.running_async():
        yield index


@pytest.fixture
def cache_dir(tmp_path: Path) -> Path:
    return tmp_path / "cache"


@pytest.fixture
def start_proxy(fake: FakeIndex, aiohttp_client: Any, cache_dir: Path) -> StartProxy:
    """Start a proxy app in front of ``fake``; keyword arguments override ServerConfig.

    Defaults: the cutoff above, a disk cache in ``cache_dir``, one quick retry.  Each call
    starts a new app (a new memory cache); the disk cache is shared unless overridden.
    """

    async def start(*, client_kwargs: dict[str, Any] | None = None, **config: Any) -> Client:
        settings: dict[str, Any] = {
            "cutoff": CUTOFF,
            "upstream": fake.index_origin,
            "files_host": fake.files_origin,
            "cache_dir": cache_dir,
            "retries": 1,
            "backoff": 0.01,
            "timeout": 5.0,
            # Most tests clear a fault and expect the next request to reach upstream; the
            # negative cache has tests of its own.
            "negative_ttl": 0,
        }
        settings.update(config)
        # Served as the CLI serves it: with its access logger (TestServer takes runner
        # arguments only through start_server).
        server = TestServer(create_app(ServerConfig(**settings)))
        await server.start_server(access_log_class=AccessLogger, access_log=ACCESS_LOG)
        client: Client = await aiohttp_client(server, **(client_kwargs or {}))
        return client

    return start


@pytest.fixture
async def proxy(start_proxy: StartProxy) -> Client:
    """A proxy with the default settings."""
    return await start_proxy()
