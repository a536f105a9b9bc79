"""A local fake of PyPI: simple JSON API, legacy JSON API and file host, with fault injection.

Responses are shaped like real PyPI's so that the proxy is tested against what it will really
meet; every field snapproxy reads or rewrites is present, plus the usual noise around them.
All pages are rendered at request time, so projects may be added while the servers run.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import threading
from collections import Counter
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping
from contextlib import AsyncExitStack, ExitStack, asynccontextmanager, contextmanager
from dataclasses import dataclass
from typing import Any, Literal

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from tests.support.distributions import Dist
from tests.support.servers import serve, serve_in_thread

SIMPLE_JSON = "application/vnd.pypi.simple.v1+json"
API_VERSION = "1.4"
# What a truncated upstream answer looks like: valid start, broken JSON.
MALFORMED_BODY = b'{"meta": {"api-version": "1.'

JSON = dict[str, Any]


@dataclass
class FakeFile:
    """One file of a project, with everything the index says about it."""

    dist: Dist
    # ISO 8601 as PyPI writes it ("2021-03-01T10:00:00.123456Z"); None = the index gives none.
    upload_time: str | None
    yanked: bool | str = False
    # What the index advertises; None falls back to the distribution's own Requires-Python.
    requires_python: str | None = None
    serve_metadata: bool = True
    # False: served from the index origin under /ext-files/, so both origins get exercised.
    on_files_host: bool = True
    # Serve bytes that do not match the advertised sha256 (same size, one byte flipped).
    corrupt: bool = False

    @property
    def advertised_requires_python(self) -> str | None:
        return (
            self.requires_python
            if self.requires_python is not None
            else (self.dist.requires_python)
        )

    @property
    def serves_metadata(self) -> bool:
        return self.serve_metadata and self.dist.metadata is not None

    @property
    def path(self) -> str:
        """Where the file lives under /packages/ or /ext-files/."""
        digest = self.dist.sha256
        return f"{digest[:2]}/{digest[2:4]}/{self.dist.filename}"

    def served_bytes(self) -> bytes:
        content = self.dist.content
        if not self.corrupt:
            return content
        return content[:-1] + bytes([content[-1] ^ 0xFF])


@dataclass(frozen=True)
class SeenRequest:
    method: str
    path: str
    query_string: str
    headers: Mapping[str, str]


@dataclass
class _Fault:
    kind: Literal["fail", "malformed", "delay"]
    remaining: int | None  # None = forever
    status: int = 503
    seconds: float = 0.0


@dataclass(frozen=True)
class _Project:
    name: str
    serial: int
    files: tuple[FakeFile, ...] = ()
    extra_versions: tuple[str, ...] = ()


def _version_key(version: str) -> tuple[int, Version | str]:
    # Unparseable versions sort first rather than breaking the page.
    try:
        return (1, Version(version))
    except InvalidVersion:
        return (0, version)


def _is_prerelease(version: str) -> bool:
    try:
        return Version(version).is_prerelease
    except InvalidVersion:
        return False


class FakeIndex:
    """PyPI in miniature: an INDEX app (/simple/, /pypi/, /ext-files/) and a FILES app."""

    def __init__(self) -> None:
        self.hits: Counter[str] = Counter()
        self.requests: list[SeenRequest] = []
        self.index_origin: str | None = None
        self.files_origin: str | None = None
        self._projects: dict[str, _Project] = {}
        self._faults: dict[str, list[_Fault]] = {}
        self._serial = 1000
        # The servers run in other threads than the test that adds projects and reads counters.
        self._lock = threading.Lock()

    # ---- content --------------------------------------------------------------------------

    def add(self, project_name: str, *files: FakeFile, versions: Iterable[str] = ()) -> None:
        """Add files to a project (created if needed); `versions` adds releases without files."""
        key = canonicalize_name(project_name)
        with self._lock:
            self._serial += 1
            old = self._projects.get(key, _Project(project_name, self._serial))
            # A new tuple replaces the old one, so a handler never sees a half-updated project.
            self._projects[key] = _Project(
                old.name, self._serial, old.files + files, old.extra_versions + tuple(versions)
            )

    @property
    def simple_url(self) -> str:
        return f"{self._index_origin()}/simple/"

    def file_url(self, file: FakeFile) -> str:
        if file.on_files_host:
            return f"{self._files_origin()}/packages/{file.path}"
        return f"{self._index_origin()}/ext-files/{file.path}"

    def _index_origin(self) -> str:
        if self.index_origin is None:
            raise RuntimeError("FakeIndex is not running: use running() or running_async()")
        return self.index_origin

    def _files_origin(self) -> str:
        if self.files_origin is None:
            raise RuntimeError("FakeIndex is not running: use running() or running_async()")
        return self.files_origin

    # ---- accounting and faults ------------------------------------------------------------

    def total_hits(self) -> int:
        with self._lock:
            return sum(self.hits.values())

    def fail(self, path: str, status: int = 503, times: int | None = 1) -> None:
        """Answer `path` with `status` for the next `times` requests (None: forever)."""
        self._add_fault(path, _Fault("fail", times, status=status))

    def malformed(self, path: str, times: int | None = None) -> None:
        """Answer `path` with 200 and a truncated JSON body (None: forever)."""
        self._add_fault(path, _Fault("malformed", times))

    def delay(self, path: str, seconds: float, times: int | None = None) -> None:
        """Hold each request to `path` for `seconds` before answering (None: forever)."""
        self._add_fault(path, _Fault("delay", times, seconds=seconds))

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def _add_fault(self, path: str, fault: _Fault) -> None:
        with self._lock:
            self._faults.setdefault(path, []).append(fault)

    def _take_faults(self, path: str) -> tuple[float, _Fault | None]:
        """Consume what applies to one request: the total delay and at most one answer."""
        seconds, answer = 0.0, None
        for fault in self._faults.get(path, []):
            if fault.remaining == 0:
                continue
            if fault.kind == "delay":
                seconds += fault.seconds
            elif answer is None:
                answer = fault
            else:
                continue
            if fault.remaining is not None:
                fault.remaining -= 1
        return seconds, answer

    def _middleware(self) -> Middleware:
        @web.middleware
        async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
            with self._lock:
                self.hits[request.path] += 1
                self.requests.append(
                    SeenRequest(
                        request.method, request.path, request.query_string, dict(request.headers)
                    )
                )
                seconds, fault = self._take_faults(request.path)
            if seconds:
                await asyncio.sleep(seconds)
            if fault is None:
                return await handler(request)
            if fault.kind == "fail":
                return web.Response(status=fault.status, text=f"injected {fault.status}\n")
            content_type = (
                SIMPLE_JSON if request.path.startswith("/simple/") else ("application/json")
            )
            return web.Response(body=MALFORMED_BODY, content_type=content_type)

        return middleware

    # ---- applications and servers ---------------------------------------------------------

    def index_app(self) -> web.Application:
        app = web.Application(middlewares=[self._middleware()])
        app.router.add_get("/simple/", self._project_list)
        app.router.add_get("/simple/{project}/", self._project_page)
        app.router.add_get("/simple/{project}", self._add_slash)
        app.router.add_get("/pypi/{project}/json", self._legacy_project)
        app.router.add_get("/pypi/{project}/{version}/json", self._legacy_version)
        app.router.add_get("/ext-files/{a}/{b}/{filename}", self._ext_file)
        return app

    def files_app(self) -> web.Application:
        app = web.Application(middlewares=[self._middleware()])
        app.router.add_get("/packages/{a}/{b}/{filename}", self._hosted_file)
        return app

    @contextmanager
    def running(self) -> Iterator[tuple[str, str]]:
        """Both apps in background threads; yield (index origin, files origin)."""
        with ExitStack() as stack:
            files = stack.enter_context(serve_in_thread(self.files_app()))
            index = stack.enter_context(serve_in_thread(self.index_app()))
            self.index_origin, self.files_origin = index, files
            try:
                yield index, files
            finally:
                self.index_origin = self.files_origin = None

    @asynccontextmanager
    async def running_async(self) -> AsyncIterator[tuple[str, str]]:
        """Both apps on the current event loop (for in-process tests of the proxy)."""
        async with AsyncExitStack() as stack:
            files = await stack.enter_async_context(serve(self.files_app()))
            index = await stack.enter_async_context(serve(self.index_app()))
            self.index_origin, self.files_origin = index, files
            try:
                yield index, files
            finally:
                self.index_origin = self.files_origin = None

    # ---- simple API (PEP 503/691/700), JSON only ------------------------------------------

    def _lookup(self, request: web.Request) -> _Project:
        project = self._projects.get(canonicalize_name(request.match_info["project"]))
        if project is None:
            raise web.HTTPNotFound(text="404 Not Found\n")
        return project

    async def _project_list(self, request: web.Request) -> web.Response:
        projects = sorted(self._projects.values(), key=lambda p: canonicalize_name(p.name))
        body = {
            "meta": {"api-version": API_VERSION, "_last-serial": self._serial},
            "projects": [{"name": p.name, "_last-serial": p.serial} for p in projects],
        }
        return _json_response(request, body, SIMPLE_JSON, self._serial)

    async def _add_slash(self, request: web.Request) -> web.Response:
        raise web.HTTPMovedPermanently(f"{request.path}/")

    async def _project_page(self, request: web.Request) -> web.Response:
        project = self._lookup(request)
        normalized = canonicalize_name(project.name)
        if request.match_info["project"] != normalized:
            raise web.HTTPMovedPermanently(f"/simple/{normalized}/")
        body = {
            "meta": {"api-version": API_VERSION, "_last-serial": project.serial},
            "name": normalized,
            "files": [self._simple_file(f) for f in project.files],
            "versions": list(_releases(project)),
            "project-status": {"status": "active"},
        }
        return _json_response(request, body, SIMPLE_JSON, project.serial)

    def _simple_file(self, file: FakeFile) -> JSON:
        metadata: JSON | bool = (
            {"sha256": file.dist.metadata_sha256} if file.serves_metadata else False
        )
        entry: JSON = {
            "filename": file.dist.filename,
            "url": self.file_url(file),
            "hashes": {"sha256": file.dist.sha256},
            "requires-python": file.advertised_requires_python,
            "yanked": file.yanked,
            "size": len(file.dist.content),
            "core-metadata": metadata,
            "data-dist-info-metadata": metadata,
            "provenance": None,
        }
        if file.upload_time is not None:
            entry["upload-time"] = file.upload_time
        return entry

    # ---- legacy JSON API ------------------------------------------------------------------

    async def _legacy_project(self, request: web.Request) -> web.Response:
        project = self._lookup(request)
        releases = _releases(project)
        latest = _latest_version(releases)
        if latest is None:
            raise web.HTTPNotFound(text="404 Not Found\n")
        body = {
            "info": _info(project, latest, releases[latest]),
            "last_serial": project.serial,
            "releases": {v: [self._legacy_file(f) for f in fs] for v, fs in releases.items()},
            "urls": [self._legacy_file(f) for f in releases[latest]],
            "vulnerabilities": [],
        }
        return _json_response(request, body, "application/json", project.serial)

    async def _legacy_version(self, request: web.Request) -> web.Response:
        project = self._lookup(request)
        releases = _releases(project)
        version = _match_version(request.match_info["version"], releases)
        if version is None:
            raise web.HTTPNotFound(text="404 Not Found\n")
        body = {
            "info": _info(project, version, releases[version]),
            "last_serial": project.serial,
            "urls": [self._legacy_file(f) for f in releases[version]],
            "vulnerabilities": [],
        }
        return _json_response(request, body, "application/json", project.serial)

    def _legacy_file(self, file: FakeFile) -> JSON:
        content = file.dist.content
        md5 = hashlib.md5(content, usedforsecurity=False).hexdigest()
        when = file.upload_time
        return {
            "comment_text": "",
            "digests": {
                "blake2b_256": hashlib.blake2b(content, digest_size=32).hexdigest(),
                "md5": md5,
                "sha256": file.dist.sha256,
            },
            "downloads": -1,
            "filename": file.dist.filename,
            "has_sig": False,
            "md5_digest": md5,
            "packagetype": file.dist.packagetype,
            "python_version": file.dist.python_version,
            "requires_python": file.advertised_requires_python,
            "size": len(content),
            # PyPI's older field: seconds precision, no zone. Undated files get null in both.
            "upload_time": when[:19] if when is not None else None,
            "upload_time_iso_8601": when,
            "url": self.file_url(file),
            "yanked": bool(file.yanked),
            "yanked_reason": file.yanked if isinstance(file.yanked, str) else None,
        }

    # ---- files ----------------------------------------------------------------------------

    async def _hosted_file(self, request: web.Request) -> web.Response:
        return self._serve_file(request, on_files_host=True)

    async def _ext_file(self, request: web.Request) -> web.Response:
        return self._serve_file(request, on_files_host=False)

    def _serve_file(self, request: web.Request, *, on_files_host: bool) -> web.Response:
        info = request.match_info
        filename = info["filename"]
        wants_metadata = filename.endswith(".metadata")
        filename = filename.removesuffix(".metadata")
        found = next(
            (
                f
                for p in list(self._projects.values())
                for f in p.files
                if f.dist.filename == filename
                and f.on_files_host == on_files_host
                and f.path == f"{info['a']}/{info['b']}/{filename}"
            ),
            None,
        )
        if found is None or (wants_metadata and not found.serves_metadata):
            raise web.HTTPNotFound(text="404 Not Found\n")
        if wants_metadata:
            assert found.dist.metadata is not None
            body = found.dist.metadata
        else:
            body = found.served_bytes()
        return web.Response(body=body, content_type="application/octet-stream")


def _json_response(
    request: web.Request, data: JSON, content_type: str, serial: int
) -> web.Response:
    body = json.dumps(data, sort_keys=True).encode()
    etag = f'"{hashlib.sha256(body).hexdigest()[:32]}"'
    headers = {"ETag": etag, "X-PyPI-Last-Serial": str(serial)}
    if etag in request.headers.get("If-None-Match", ""):
        return web.Response(status=304, headers=headers)
    return web.Response(body=body, content_type=content_type, headers=headers)


def _releases(project: _Project) -> dict[str, list[FakeFile]]:
    """Every release (with or without files), oldest first, as the legacy API lists them."""
    releases: dict[str, list[FakeFile]] = {v: [] for v in project.extra_versions}
    for file in project.files:
        releases.setdefault(file.dist.version, []).append(file)
    return {v: releases[v] for v in sorted(releases, key=_version_key)}


def _release_yanked(files: list[FakeFile]) -> bool:
    return bool(files) and all(f.yanked for f in files)


def _latest_version(releases: Mapping[str, list[FakeFile]]) -> str | None:
    """PyPI's `info.version`: the highest non-yanked final release, else relax step by step."""
    candidates = [
        [v for v, fs in releases.items() if not _release_yanked(fs) and not _is_prerelease(v)],
        [v for v, fs in releases.items() if not _release_yanked(fs)],
        list(releases),
    ]
    return next((c[-1] for c in candidates if c), None)


def _match_version(wanted: str, releases: Mapping[str, list[FakeFile]]) -> str | None:
    if wanted in releases:
        return wanted
    key = _version_key(wanted)
    return next((v for v in releases if _version_key(v) == key), None)


def _info(project: _Project, version: str, files: list[FakeFile]) -> JSON:
    dist = files[0].dist if files else None
    yanked = _release_yanked(files)
    reason = next((f.yanked for f in files if isinstance(f.yanked, str)), None) if yanked else None
    page = f"https://pypi.org/project/{project.name}/"
    return {
        "author": "",
        "author_email": "",
        "bugtrack_url": None,
        "classifiers": [],
        "description": "",
        "description_content_type": None,
        "docs_url": None,
        "download_url": "",
        "downloads": {"last_day": -1, "last_month": -1, "last_week": -1},
        "dynamic": None,
        "home_page": "",
        "keywords": "",
        "license": "",
        "license_expression": None,
        "license_files": None,
        "maintainer": "",
        "maintainer_email": "",
        "name": project.name,
        "package_url": page,
        "platform": None,
        "project_url": page,
        "project_urls": None,
        "provides_extra": None,
        "release_url": f"{page}{version}/",
        "requires_dist": list(dist.requires) if dist and dist.requires else None,
        "requires_python": files[0].advertised_requires_python if files else None,
        "summary": "",
        "version": version,
        "yanked": yanked,
        "yanked_reason": reason,
    }
