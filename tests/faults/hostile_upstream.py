"""A hostile upstream on loopback: an index, a files host and a third host that must stay unasked.

The three origins are raw asyncio HTTP/1.1 servers, not aiohttp applications, because the
faults have to break HTTP itself: a Content-Length that lies in either direction, a gzip
coding nobody asked for, a chunked body without its last chunk, a reset half-way, a page
that never ends. Every answer is first built as the well-behaved `Answer` for the path,
then each fault registered for that path transforms it, so any fault applies to any
endpoint (pages, legacy JSON, files, metadata files).

The servers run on their own event loop in a background thread: a test blocks on
subprocesses (curl, pip, the snapproxy CLI) while they keep answering. Counters and the
request log are read from the test thread under a lock.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gzip
import hashlib
import json
import re
import socket
import struct
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from typing import Any, Literal
from urllib.parse import unquote, urlsplit

from tests.support.distributions import Dist

SIMPLE_JSON = "application/vnd.pypi.simple.v1+json"
Origin = Literal["index", "files", "third"]
ORIGINS: tuple[Origin, ...] = ("index", "files", "third")
PIECE = 64 * 1024
# What the third host answers: anything that reaches a client would be a foreign byte.
THIRD_BODY = b"third host: the proxy must never have asked for this\n"
MAINTENANCE_PAGE = (
    b"<!DOCTYPE html>\n<html><head><title>Down for maintenance</title></head>\n"
    b"<body><h1>We'll be back soon</h1><p>PyPI is under maintenance.</p></body></html>\n"
)
BodyFactory = Callable[[], AsyncIterator[bytes]]
Body = bytes | BodyFactory


# ---- the catalogue ----------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """One file as the index lists it; `content` None for entries that are never downloaded."""

    project: str
    version: str
    filename: str
    sha256: str
    upload_time: str | None
    content: bytes | None = None
    size: int | None = None
    metadata: bytes | None = None
    # Where the index says the file lives; None: the files host, /packages/<sha>/<filename>.
    url: str | None = None
    requires_python: str | None = None

    @property
    def metadata_sha256(self) -> str | None:
        return None if self.metadata is None else hashlib.sha256(self.metadata).hexdigest()

    @property
    def files_path(self) -> str:
        return f"/packages/{self.sha256[:2]}/{self.sha256[2:4]}/{self.filename}"


def entry_for(dist: Dist, upload_time: str, **changes: Any) -> Entry:
    """The index entry of a real distribution built by tests.support.distributions."""
    entry = Entry(
        project=dist.name,
        version=dist.version,
        filename=dist.filename,
        sha256=dist.sha256,
        upload_time=upload_time,
        content=dist.content,
        size=len(dist.content),
        metadata=dist.metadata,
        requires_python=dist.requires_python,
    )
    return replace(entry, **changes)


def blob_entry(project: str, version: str, content: bytes, upload_time: str) -> Entry:
    """A file whose bytes are arbitrary (the proxy never opens a wheel, it only hashes it)."""
    return Entry(
        project=project,
        version=version,
        filename=f"{project.replace('-', '_')}-{version}-py3-none-any.whl",
        sha256=hashlib.sha256(content).hexdigest(),
        upload_time=upload_time,
        content=content,
        size=len(content),
        metadata=f"Metadata-Version: 2.1\nName: {project}\nVersion: {version}\n\n".encode(),
    )


def synthetic_entries(
    project: str, count: int, upload_time: str = "2020-01-01T00:00:00.000000Z", start: int = 0
) -> list[Entry]:
    """`count` entries with valid, distinct digests and no bytes behind them (big pages)."""
    out = []
    for n in range(start, start + count):
        filename = f"{project}-1.0.{n}-py3-none-any.whl"
        out.append(
            Entry(
                project=project,
                version=f"1.0.{n}",
                filename=filename,
                sha256=hashlib.sha256(filename.encode()).hexdigest(),
                upload_time=upload_time,
                size=1000 + n,
            )
        )
    return out


# ---- answers and faults -------------------------------------------------------------------


class Gate:
    """A barrier the test opens from its own thread; answers waiting on it then proceed."""

    def __init__(self, loop: asyncio.AbstractEventLoop):
        self._loop = loop
        self._event = asyncio.Event()
        self.waiting = 0  # answers currently held (read from the test thread; an int is atomic)

    def open(self) -> None:
        self._loop.call_soon_threadsafe(self._event.set)

    async def wait(self) -> None:
        self.waiting += 1
        try:
            await self._event.wait()
        finally:
            self.waiting -= 1


@dataclass(frozen=True)
class Answer:
    """What one request gets, down to the framing on the wire."""

    status: int = 200
    reason: str = "OK"
    headers: tuple[tuple[str, str], ...] = ()
    body: Body = b""
    # "length": Content-Length; "chunked"; "close": neither, the end of the body is EOF.
    framing: Literal["length", "chunked", "close"] = "length"
    # The Content-Length announced; None: the true length (bytes bodies only).
    declared_length: int | None = None
    last_chunk: bool = True  # chunked: send the terminating zero-size chunk
    close: bool = False  # Connection: close after this answer
    wait_for: Gate | None = None  # hold before the status line
    delay: float = 0.0  # seconds before the status line
    reset: bool = False  # reset the connection instead of answering
    cut_after: int | None = None  # reset after this many body bytes
    hold_after: tuple[int, Gate] | None = None  # stall after this many body bytes
    pace: float = 0.0  # seconds between pieces of the body
    piece: int = PIECE

    def with_headers(self, **headers: str) -> Answer:
        names = {k.replace("_", "-").lower() for k in headers}
        kept = tuple((k, v) for k, v in self.headers if k.lower() not in names)
        added = tuple((k.replace("_", "-"), v) for k, v in headers.items())
        return replace(self, headers=kept + added)

    def body_bytes(self) -> bytes:
        if not isinstance(self.body, bytes):
            raise TypeError("this fault needs a body held in memory, not a streamed one")
        return self.body


Fault = Callable[[Answer], Answer]


def status(code: int, body: bytes = b"injected failure\n") -> Fault:
    return lambda a: Answer(status=code, reason="Injected", body=body)


def reset() -> Fault:
    """Reset the connection once the request is read: no status line at all."""
    return lambda a: replace(a, reset=True)


def hang(gate: Gate) -> Fault:
    """Send nothing until the test opens `gate` (or the server stops)."""
    return lambda a: replace(a, wait_for=gate)


def delay(seconds: float) -> Fault:
    return lambda a: replace(a, delay=seconds)


def gzip_coded() -> Fault:
    """Content-Encoding: gzip whatever the client asked for, as some CDNs and mirrors do."""

    def apply(a: Answer) -> Answer:
        coded = gzip.compress(a.body_bytes(), mtime=0)
        return replace(a, body=coded).with_headers(Content_Encoding="gzip")

    return apply


def lying_length(delta: int) -> Fault:
    """Announce len(body) + delta bytes: short (extra bytes follow) or long (EOF comes first)."""

    def apply(a: Answer) -> Answer:
        body = a.body_bytes()
        return replace(a, declared_length=len(body) + delta, close=delta > 0)

    return apply


def truncated(keep: int) -> Fault:
    """The true Content-Length, but only `keep` bytes of the body, then the connection closes."""

    def apply(a: Answer) -> Answer:
        body = a.body_bytes()
        return replace(a, body=body[:keep], declared_length=len(body), close=True)

    return apply


def cut_after(sent: int) -> Fault:
    """Reset the connection after `sent` bytes of the body."""
    return lambda a: replace(a, cut_after=sent)


def hold_after(sent: int, gate: Gate) -> Fault:
    """Send `sent` bytes of the body, then stall until `gate` opens."""
    return lambda a: replace(a, hold_after=(sent, gate))


def chunked(last_chunk: bool = True) -> Fault:
    """Chunked framing; without the last chunk the body ends with the connection."""
    return lambda a: replace(a, framing="chunked", last_chunk=last_chunk, close=not last_chunk)


def unframed() -> Fault:
    """No Content-Length and no chunking: the body ends when the connection closes."""
    return lambda a: replace(a, framing="close", close=True)


def appended(extra: bytes) -> Fault:
    """More bytes than the index published (with a Content-Length that counts them)."""
    return lambda a: replace(a, body=a.body_bytes() + extra)


def flipped(at: int = -1) -> Fault:
    """One byte flipped: the same length, the wrong digest."""

    def apply(a: Answer) -> Answer:
        body = bytearray(a.body_bytes())
        body[at] ^= 0xFF
        return replace(a, body=bytes(body))

    return apply


def replaced(body: Body, content_type: str, code: int = 200) -> Fault:
    """Another body altogether (a maintenance page, a non-index JSON, a huge stream)."""

    def apply(a: Answer) -> Answer:
        framing: Literal["length", "close"] = "length" if isinstance(body, bytes) else "close"
        return Answer(
            status=code, body=body, framing=framing, close=framing == "close"
        ).with_headers(Content_Type=content_type)

    return apply


def redirect(location: str, code: int = 302) -> Fault:
    return lambda a: Answer(status=code, reason="Found", body=b"").with_headers(Location=location)


def trickle(pace: float, piece: int = PIECE) -> Fault:
    return lambda a: replace(a, pace=pace, piece=piece)


def compose(*faults: Fault) -> Fault:
    def apply(a: Answer) -> Answer:
        for fault in faults:
            a = fault(a)
        return a

    return apply


@dataclass
class _Registered:
    fault: Fault
    remaining: int | None  # None: for ever


@dataclass(frozen=True)
class Seen:
    origin: Origin
    method: str
    target: str  # the request target exactly as sent
    path: str  # its path, still percent-encoded
    headers: dict[str, str]  # lower-cased names
    at: float  # time.monotonic()


@dataclass
class _OriginState:
    server: asyncio.base_events.Server | None = None
    port: int = 0
    open_connections: int = 0


# ---- the servers --------------------------------------------------------------------------


class HostileUpstream:
    """Index (/simple/, /pypi/), files host (/packages/) and a third host, all faultable."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[str, list[Entry]] = {}
        self._bodies: dict[tuple[Origin, str], tuple[Body, str]] = {}
        self._faults: dict[tuple[Origin, str], list[_Registered]] = {}
        self.log: list[Seen] = []
        self.sent: Counter[tuple[Origin, str]] = Counter()  # body bytes written per path
        self.completed: Counter[tuple[Origin, str]] = Counter()  # answers sent in full
        self.serial = 1000
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._origins: dict[Origin, _OriginState] = {o: _OriginState() for o in ORIGINS}
        self._tasks: set[asyncio.Task[None]] = set()

    # ---- addresses --------------------------------------------------------------------

    def origin(self, which: Origin) -> str:
        port = self._origins[which].port
        if not port:
            raise RuntimeError("HostileUpstream is not running")
        return f"http://127.0.0.1:{port}"

    @property
    def index(self) -> str:
        return self.origin("index")

    @property
    def files(self) -> str:
        return self.origin("files")

    @property
    def third(self) -> str:
        return self.origin("third")

    def file_url(self, entry: Entry) -> str:
        return entry.url if entry.url is not None else self.files + entry.files_path

    # ---- content ----------------------------------------------------------------------

    def add(self, *entries: Entry) -> None:
        with self._lock:
            for entry in entries:
                self._entries.setdefault(_normalise(entry.project), []).append(entry)
            self.serial += 1

    def set_body(self, path: str, body: Body, content_type: str, origin: Origin = "index") -> None:
        """Serve `body` at `path` instead of what the catalogue would give."""
        with self._lock:
            self._bodies[(origin, path)] = (body, content_type)

    def project_page(self, project: str) -> bytes:
        """The PEP 691 JSON page of `project`, as served (for tests that serve it by hand)."""
        with self._lock:
            entries = list(self._entries.get(_normalise(project), []))
        return self._render_page(project, entries)

    # ---- faults -----------------------------------------------------------------------

    def fault(
        self, path: str, *faults: Fault, times: int | None = None, origin: Origin = "index"
    ) -> None:
        """Apply `faults` (in order) to the next `times` requests for `path` (None: all)."""
        with self._lock:
            self._faults.setdefault((origin, path), []).append(
                _Registered(compose(*faults), times)
            )

    def clear_faults(self, path: str | None = None, origin: Origin = "index") -> None:
        with self._lock:
            if path is None:
                self._faults.clear()
            else:
                self._faults.pop((origin, path), None)

    def gate(self) -> Gate:
        assert self._loop is not None, "start the upstream first"
        return Gate(self._loop)

    # ---- accounting -------------------------------------------------------------------

    def requests(self, origin: Origin | None = None) -> list[Seen]:
        with self._lock:
            return [s for s in self.log if origin is None or s.origin == origin]

    def count(self, path: str | None = None, origin: Origin = "index") -> int:
        with self._lock:
            return sum(
                1 for s in self.log if s.origin == origin and (path is None or s.path == path)
            )

    def bytes_sent(self, path: str, origin: Origin = "files") -> int:
        with self._lock:
            return self.sent[(origin, path)]

    def open_connections(self, origin: Origin) -> int:
        return self._origins[origin].open_connections

    # ---- running ----------------------------------------------------------------------

    @contextlib.contextmanager
    def running(self) -> Iterator[HostileUpstream]:
        ready = threading.Event()
        failure: list[BaseException] = []
        stop: list[asyncio.Event] = []

        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            stop.append(asyncio.Event())
            try:
                for which in ORIGINS:
                    state = self._origins[which]
                    state.server = await asyncio.start_server(
                        lambda r, w, o=which: self._connection(o, r, w),  # type: ignore[misc]
                        "127.0.0.1",
                        0,
                        limit=256 * 1024,
                    )
                    state.port = state.server.sockets[0].getsockname()[1]
            finally:
                ready.set()
            await stop[0].wait()
            for state in self._origins.values():
                if state.server is not None:
                    state.server.close()
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)

        def run() -> None:
            try:
                asyncio.run(main())
            except BaseException as exc:  # handed to the test thread
                failure.append(exc)
                ready.set()

        self._thread = threading.Thread(target=run, name="hostile-upstream", daemon=True)
        self._thread.start()
        ready.wait(10)
        if failure or not all(s.port for s in self._origins.values()):
            raise RuntimeError("the hostile upstream did not start") from (
                failure[0] if failure else None
            )
        try:
            yield self
        finally:
            assert self._loop is not None
            self._loop.call_soon_threadsafe(stop[0].set)
            self._thread.join(15)
            for state in self._origins.values():
                state.port = 0

    # ---- HTTP/1.1 by hand -------------------------------------------------------------

    async def _connection(
        self, origin: Origin, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        state = self._origins[origin]
        state.open_connections += 1
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
                    return
                lines = head.decode("latin-1").split("\r\n")
                try:
                    method, target, _version = lines[0].split(" ", 2)
                except ValueError:
                    return
                headers = {}
                for line in lines[1:]:
                    name, sep, value = line.partition(":")
                    if sep:
                        headers[name.strip().lower()] = value.strip()
                if headers.get("content-length"):
                    await reader.readexactly(int(headers["content-length"]))
                path = urlsplit(target).path if "://" in target else target.split("?", 1)[0]
                seen = Seen(origin, method, target, path, headers, time.monotonic())
                with self._lock:
                    self.log.append(seen)
                    answer = self._answer(seen)
                keep = await self._send(writer, origin, path, answer, method == "HEAD")
                if not keep or headers.get("connection", "").lower() == "close":
                    return
        except (ConnectionError, asyncio.CancelledError):
            return
        finally:
            state.open_connections -= 1
            self._tasks.discard(task)
            with contextlib.suppress(Exception):
                writer.close()

    def _answer(self, seen: Seen) -> Answer:
        """The well-behaved answer, then every applicable fault (called under the lock)."""
        answer = self._normal(seen)
        for registered in self._faults.get((seen.origin, seen.path), []):
            if registered.remaining == 0:
                continue
            if registered.remaining is not None:
                registered.remaining -= 1
            answer = registered.fault(answer)
            break
        return answer

    async def _send(
        self, writer: asyncio.StreamWriter, origin: Origin, path: str, a: Answer, head_only: bool
    ) -> bool:
        """Write `a`; False when the connection must not be reused."""
        if a.wait_for is not None:
            await a.wait_for.wait()
        if a.delay:
            await asyncio.sleep(a.delay)
        if a.reset:
            _reset(writer)
            return False
        lines = [f"HTTP/1.1 {a.status} {a.reason}"]
        lines += [f"{k}: {v}" for k, v in a.headers]
        if a.framing == "length":
            length = a.declared_length
            if length is None:
                length = len(a.body_bytes())
            lines.append(f"Content-Length: {length}")
        elif a.framing == "chunked":
            lines.append("Transfer-Encoding: chunked")
        if a.close:
            lines.append("Connection: close")
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        await writer.drain()
        if head_only:
            return not a.close
        sent = 0
        async for piece in _pieces(a.body, a.piece):
            if a.cut_after is not None and sent + len(piece) >= a.cut_after:
                piece = piece[: a.cut_after - sent]
                await self._write(writer, origin, path, piece, a.framing == "chunked")
                _reset(writer)
                return False
            if a.hold_after is not None and sent + len(piece) >= a.hold_after[0]:
                first = piece[: a.hold_after[0] - sent]
                await self._write(writer, origin, path, first, a.framing == "chunked")
                sent += len(first)
                piece = piece[len(first) :]
                gate = a.hold_after[1]
                a = replace(a, hold_after=None)
                await gate.wait()
            await self._write(writer, origin, path, piece, a.framing == "chunked")
            sent += len(piece)
            if a.pace:
                await asyncio.sleep(a.pace)
        if a.framing == "chunked" and a.last_chunk:
            writer.write(b"0\r\n\r\n")
            await writer.drain()
        with self._lock:
            self.completed[(origin, path)] += 1
        return not a.close

    async def _write(
        self, writer: asyncio.StreamWriter, origin: Origin, path: str, data: bytes, chunk: bool
    ) -> None:
        if not data:
            return
        writer.write(b"%x\r\n%s\r\n" % (len(data), data) if chunk else data)
        await writer.drain()
        with self._lock:
            self.sent[(origin, path)] += len(data)

    # ---- well-behaved answers ---------------------------------------------------------

    def _normal(self, seen: Seen) -> Answer:
        custom = self._bodies.get((seen.origin, seen.path))
        if custom is not None:
            body, content_type = custom
            framing: Literal["length", "close"] = "length" if isinstance(body, bytes) else "close"
            return Answer(body=body, framing=framing, close=framing == "close").with_headers(
                Content_Type=content_type
            )
        if seen.origin == "third":
            return Answer(body=THIRD_BODY).with_headers(Content_Type="application/octet-stream")
        if seen.origin == "files":
            return self._file(seen.path)
        return self._index(seen)

    def _index(self, seen: Seen) -> Answer:
        segments = seen.path.split("/")
        # /simple/ and /simple/<p>/
        if seen.path == "/simple/":
            projects = [{"name": n, "_last-serial": self.serial} for n in sorted(self._entries)]
            meta = {"api-version": "1.1", "_last-serial": self.serial}
            body = {"meta": meta, "projects": projects}
            return _json(body, SIMPLE_JSON)
        if len(segments) == 4 and segments[1] == "simple" and segments[3] == "":
            entries = self._entries.get(segments[2])
            if entries is None or segments[2] != _normalise(segments[2]):
                return _not_found()
            return Answer(body=self._render_page(segments[2], entries)).with_headers(
                Content_Type=SIMPLE_JSON
            )
        # /pypi/<p>/json and /pypi/<p>/<v>/json
        if segments[1:2] == ["pypi"] and segments[-1] == "json" and len(segments) in (4, 5):
            entries = self._entries.get(segments[2])
            if entries is None:
                return _not_found()
            if len(segments) == 4:
                return _json(self._legacy(segments[2], entries, None), "application/json")
            version = unquote(segments[3])
            chosen = [e for e in entries if e.version == version]
            if not chosen:
                return _not_found()
            return _json(self._legacy(segments[2], entries, version), "application/json")
        return _not_found()

    def _file(self, path: str) -> Answer:
        wants_metadata = path.endswith(".metadata")
        base = path.removesuffix(".metadata")
        for entries in self._entries.values():
            for e in entries:
                if e.files_path == base and e.content is not None:
                    body = e.metadata if wants_metadata else e.content
                    if body is None:
                        return _not_found()
                    return Answer(body=body).with_headers(
                        Content_Type="application/octet-stream", ETag=f'"{e.sha256[:16]}"'
                    )
        return _not_found()

    def _page_file(self, e: Entry) -> dict[str, Any]:
        metadata: Any = {"sha256": e.metadata_sha256} if e.metadata is not None else False
        out: dict[str, Any] = {
            "filename": e.filename,
            "url": self.file_url(e),
            "hashes": {"sha256": e.sha256},
            "requires-python": e.requires_python,
            "yanked": False,
            "core-metadata": metadata,
            "data-dist-info-metadata": metadata,
        }
        if e.size is not None:
            out["size"] = e.size
        if e.upload_time is not None:
            out["upload-time"] = e.upload_time
        return out

    def _render_page(self, project: str, entries: Iterable[Entry]) -> bytes:
        entries = list(entries)
        body = {
            "meta": {"api-version": "1.1", "_last-serial": self.serial},
            "name": _normalise(project),
            "files": [self._page_file(e) for e in entries],
            "versions": sorted({e.version for e in entries}),
        }
        return json.dumps(body, separators=(",", ":")).encode()

    def _legacy(self, project: str, entries: list[Entry], version: str | None) -> dict[str, Any]:
        def legacy_file(e: Entry) -> dict[str, Any]:
            return {
                "filename": e.filename,
                "url": self.file_url(e),
                "digests": {"sha256": e.sha256},
                "size": e.size,
                "upload_time_iso_8601": e.upload_time,
                "upload_time": e.upload_time[:19] if e.upload_time else None,
                "packagetype": "bdist_wheel",
                "python_version": "py3",
                "requires_python": e.requires_python,
                "yanked": False,
                "yanked_reason": None,
            }

        releases: dict[str, list[dict[str, Any]]] = {}
        for e in entries:
            releases.setdefault(e.version, []).append(legacy_file(e))
        latest = version or max(releases, key=_version_key)
        info = {
            "name": project,
            "version": latest,
            "summary": "",
            "requires_dist": None,
            "requires_python": None,
            "yanked": False,
            "yanked_reason": None,
        }
        if version is not None:
            return {"info": info, "urls": releases[version], "last_serial": self.serial}
        return {
            "info": info,
            "releases": releases,
            "urls": releases[latest],
            "last_serial": self.serial,
        }


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(p) if p.isdigit() else 0 for p in version.split("."))


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _json(doc: Any, content_type: str) -> Answer:
    body = json.dumps(doc, separators=(",", ":")).encode()
    etag = f'"{hashlib.sha256(body).hexdigest()[:24]}"'
    return Answer(body=body).with_headers(Content_Type=content_type, ETag=etag)


def _not_found() -> Answer:
    return Answer(status=404, reason="Not Found", body=b"404 Not Found\n").with_headers(
        Content_Type="text/plain"
    )


async def _pieces(body: Body, size: int) -> AsyncIterator[bytes]:
    if isinstance(body, bytes):
        for start in range(0, len(body), size):
            yield body[start : start + size]
        return
    async for piece in body():
        yield piece


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with a TCP reset (SO_LINGER 0), as a crashed or hostile peer does."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


def huge_json_stream(total: int, legacy: bool = False, piece: int = 1024 * 1024) -> BodyFactory:
    """A plausible project page (or legacy JSON document) of `total` bytes, made as it is sent."""
    if legacy:
        head = b'{"info":{"name":"huge","version":"1.0"},"releases":{"1.0":['
        filler = b'{"filename":"x.whl","url":"y","digests":{},"upload_time_iso_8601":null},'
        tail = b'{"filename":"z.whl","url":"z","digests":{}}]},"urls":[]}'
    else:
        head = b'{"meta":{"api-version":"1.1"},"name":"huge","files":['
        filler = b'{"filename":"x.whl","url":"y","hashes":{}},'
        tail = b'{"filename":"z.whl","url":"z","hashes":{}}],"versions":[]}'

    async def body() -> AsyncIterator[bytes]:
        yield head
        sent = len(head)
        block = filler * max(1, piece // len(filler))
        while sent + len(block) < total:
            yield block
            sent += len(block)
            await asyncio.sleep(0)
        yield tail

    return body


@functools.cache
def big_page(
    project: str,
    count: int,
    upload_time: str = "2020-01-01T00:00:00.000000Z",
    late: tuple[str, ...] = (),
) -> bytes:
    """A PEP 691 page of `count` synthetic files, with relative URLs so that it does not
    depend on the port the files host got (and can be built once per session).

    The last `len(late)` files were uploaded at the times in `late`, the others at
    `upload_time`: cutoffs between two of those times show different pages.  (The proxy
    renders a page once per set of files shown, so only such cutoffs make it filter anew.)
    """
    files = []
    times = [upload_time] * (count - len(late)) + list(late)
    for n in range(count):
        filename = f"{project}-1.0.{n}-py3-none-any.whl"
        digest = hashlib.sha256(filename.encode()).hexdigest()
        files.append(
            {
                "filename": filename,
                "url": f"../../packages/{digest[:2]}/{digest[2:4]}/{filename}",
                "hashes": {"sha256": digest},
                "requires-python": ">=3.8",
                "yanked": False,
                "size": 1000 + n,
                "upload-time": times[n],
                "core-metadata": False,
                "data-dist-info-metadata": False,
            }
        )
    body = {
        "meta": {"api-version": "1.1", "_last-serial": 1},
        "name": project,
        "files": files,
        "versions": [f"1.0.{n}" for n in range(count)],
    }
    return json.dumps(body, separators=(",", ":")).encode()
