"""What the live tests expect, computed from PyPI's own answers without snapproxy's code.

Nothing here imports `snapproxy`: the cutoff rule, the latest-version rule and reading a
version from a filename are spelled out again, so a bug in the proxy's copy cannot hide
itself by also shaping the expectation.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from html.parser import HTMLParser
from typing import Any

import aiohttp
from multidict import CIMultiDict
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

PYPI = "https://pypi.org"
SIMPLE_JSON = "application/vnd.pypi.simple.v1+json"
CUTOFF_TEXT = "2021-05-01"
CUTOFF = datetime(2021, 5, 1, tzinfo=timezone.utc)
PIP_STYLE_CUTOFF = "2021-05-01T00:00:00Z"  # the same instant, spelled for pip and uv

JSON = dict[str, Any]

_FRACTION = re.compile(r"\.(\d+)")


def upload_time(value: object) -> datetime | None:
    """An index's upload time as an aware datetime; None when absent or without a zone."""
    if not isinstance(value, str) or not value:
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    # Python 3.10 reads exactly 3 or 6 fraction digits; PyPI writes 0 or 6, but be lenient.
    text = _FRACTION.sub(lambda m: "." + m.group(1)[:6].ljust(6, "0"), text, count=1)
    parsed = datetime.fromisoformat(text)
    return parsed if parsed.tzinfo is not None else None


def before(value: object, cutoff: datetime = CUTOFF) -> bool:
    """The snapshot rule: uploaded strictly before the cutoff; undated files do not count."""
    when = upload_time(value)
    return when is not None and when < cutoff


def filename_version(filename: str) -> Version | None:
    """The version a distribution filename names (wheel, sdist archive, egg), else None."""
    try:
        if filename.endswith(".whl"):
            return parse_wheel_filename(filename)[1]
        if filename.endswith((".tar.gz", ".zip")):
            return parse_sdist_filename(filename)[1]
        for suffix in (".tar.bz2", ".tar.xz", ".tgz", ".tar"):
            if filename.endswith(suffix):
                return parse_sdist_filename(filename.removesuffix(suffix) + ".tar.gz")[1]
        if filename.endswith(".egg"):
            parts = filename.removesuffix(".egg").split("-")
            return Version(parts[1]) if len(parts) > 1 else None
    except (InvalidWheelFilename, InvalidSdistFilename, InvalidVersion):
        return None
    return None  # .exe, .msi, .rpm, .dmg: no reliable version in the name


def surviving_files(page: JSON, cutoff: datetime = CUTOFF) -> dict[str, JSON]:
    """PEP 691 page: filename -> file entry, for files uploaded before the cutoff."""
    return {f["filename"]: f for f in page["files"] if before(f.get("upload-time"), cutoff)}


def expected_versions(page: JSON, cutoff: datetime = CUTOFF) -> list[str]:
    """Upstream `versions`, in upstream order, that a surviving file's name still reads as."""
    live = {v for v in map(filename_version, surviving_files(page, cutoff)) if v is not None}
    spelled = {str(v) for v in live}
    kept = []
    for listed in page.get("versions", []):
        try:
            alive = Version(listed) in live
        except InvalidVersion:
            alive = listed in spelled
        if alive:
            kept.append(listed)
    return kept


def surviving_releases(legacy: JSON, cutoff: datetime = CUTOFF) -> dict[str, list[JSON]]:
    """Legacy JSON `releases` with only files uploaded before the cutoff; a version stays
    while some release equal to it under PEP 440 keeps a file (requests' `0.12.01`, an
    empty release upstream, stays beside `0.12.1`)."""
    kept = {
        version: [f for f in files or [] if before(f.get("upload_time_iso_8601"), cutoff)]
        for version, files in legacy["releases"].items()
    }

    def parsed(version: str) -> Version | None:
        try:
            return Version(version)
        except InvalidVersion:
            return None

    live = {parsed(v) for v, files in kept.items() if files} - {None}
    return {v: files for v, files in kept.items() if files or parsed(v) in live}


def expected_latest(releases: Mapping[str, Sequence[JSON]]) -> str:
    """The version PyPI shows as latest: not wholly yanked, then not a pre-release, then highest."""

    def rank(version: str) -> tuple[bool, bool, Version]:
        try:
            parsed = Version(version)
        except InvalidVersion:
            parsed = Version("0.dev0")
        wholly_yanked = all(f.get("yanked") for f in releases[version])
        return (not wholly_yanked, not parsed.is_prerelease, parsed)

    return max(releases, key=rank)


def files_by_version(releases: Mapping[str, Iterable[JSON]]) -> dict[str, dict[str, str]]:
    """version -> {filename: sha256}, the part of `releases` two documents must agree on."""
    return {
        version: {f["filename"]: f["digests"]["sha256"] for f in files}
        for version, files in releases.items()
    }


# -- HTML (PEP 503) ---------------------------------------------------------------------


@dataclass(frozen=True)
class Anchor:
    text: str
    attrs: dict[str, str | None]

    @property
    def href(self) -> str:
        return self.attrs.get("href") or ""

    @property
    def sha256(self) -> str | None:
        _, _, fragment = self.href.partition("#")
        name, _, value = fragment.partition("=")
        return value if name == "sha256" else None


class _Anchors(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.anchors: list[Anchor] = []
        self._open: dict[str, str | None] | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self._open, self._text = dict(attrs), []

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._open is not None:
            self.anchors.append(Anchor("".join(self._text).strip(), self._open))
            self._open = None


def html_anchors(body: str) -> list[Anchor]:
    """Every `<a>` of a PEP 503 page, with its text and (unescaped) attributes."""
    parser = _Anchors()
    parser.feed(body)
    parser.close()
    return parser.anchors


# -- HTTP ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    status: int
    url: str  # after redirects
    headers: Mapping[str, str]  # case-insensitive
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def text(self) -> str:
        return self.body.decode("utf-8")


async def get(
    session: aiohttp.ClientSession,
    url: str,
    accept: str | None = None,
    limit: asyncio.Semaphore | None = None,
) -> Reply:
    """GET `url` (following redirects), optionally holding one slot of `limit` meanwhile."""
    headers = {"Accept": accept} if accept else {}
    slot = limit if limit is not None else contextlib.nullcontext()
    async with slot, session.get(url, headers=headers) as response:
        body = await response.read()
        return Reply(response.status, str(response.url), CIMultiDict(response.headers), body)


def client_session() -> aiohttp.ClientSession:
    """A session for the tests' own requests; generous timeouts, no wall-clock limit."""
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=60, sock_read=300)
    return aiohttp.ClientSession(timeout=timeout)


async def upstream_page(session: aiohttp.ClientSession, project: str) -> JSON:
    reply = await get(session, f"{PYPI}/simple/{canonicalize_name(project)}/", SIMPLE_JSON)
    assert reply.status == 200, f"PyPI simple page of {project}: HTTP {reply.status}"
    page: JSON = reply.json()
    return page


async def upstream_legacy(session: aiohttp.ClientSession, project: str) -> JSON:
    reply = await get(session, f"{PYPI}/pypi/{canonicalize_name(project)}/json")
    assert reply.status == 200, f"PyPI legacy JSON of {project}: HTTP {reply.status}"
    doc: JSON = reply.json()
    return doc


def fetch(url: str, accept: str | None = None) -> Reply:
    """One GET from synchronous test code."""

    async def one() -> Reply:
        async with client_session() as session:
            return await get(session, url, accept)

    return asyncio.run(one())
