"""Cache of upstream documents (index pages, legacy JSON, metadata files).

Two layers: parsed documents in the server's memory budget, in front of an optional disk
directory.  A disk entry is a JSON header line (URL, ETag, fetch time, size and sha256 of
the body) followed by the body as upstream sent it; an entry whose body does not match
its header (edited, truncated, torn by a crash) is ignored and removed.  Entries are
written atomically, and only documents that passed validation are stored.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from snapproxy.atomic_file import write_atomically
from snapproxy.memory_budget import PARSED_JSON_FACTOR, ByteBudget

__all__ = ["CachedDocument", "PageCache", "StoredCopy", "body_digest", "cache_key", "is_fresh"]

log = logging.getLogger("snapproxy.cache")

_serials = itertools.count(1)
# A header is a URL, an ETag and a few numbers; a longer first line is not one.
_MAX_HEADER = 64 * 1024


@dataclass(frozen=True)
class CachedDocument:
    url: str
    body: bytes
    etag: str | None
    fetched_at: float
    # The parsed form, kept in memory only so a hit does not parse again.
    parsed: Any = None
    # Names this copy of upstream's document: values derived from it stay valid while
    # the serial is the same (a revalidation keeps it; a new body gets a new one).
    serial: int = field(default_factory=lambda: next(_serials))
    size: int = -1
    # sha256 of the body: names the upstream copy across processes (the fetcher checks
    # a remembered resolution against it).  Given by whoever already hashed the body.
    digest: str = ""

    def __post_init__(self) -> None:
        if self.size < 0:
            object.__setattr__(self, "size", len(self.body))
        if not self.digest:
            object.__setattr__(self, "digest", body_digest(self.body))

    def is_fresh(self, now: float, max_age: float) -> bool:
        return is_fresh(self.fetched_at, now, max_age)

    def refreshed(self, now: float) -> CachedDocument:
        return replace(self, fetched_at=now)


def cache_key(url: str, accept: str) -> str:
    return hashlib.sha256(f"{accept}\n{url}".encode()).hexdigest()


def body_digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def is_fresh(fetched_at: float, now: float, max_age: float) -> bool:
    """Whether a copy fetched at ``fetched_at`` may still be used without asking upstream."""
    return now - fetched_at < max_age


@dataclass(frozen=True)
class StoredCopy:
    """What a disk entry's header says of the copy it holds (its body left unread)."""

    digest: str
    fetched_at: float


class PageCache:
    """Parsed documents in ``budget``, their bodies in ``directory`` when given.

    Memory is touched only from the event loop; the disk methods block and run in a
    worker thread.
    """

    def __init__(self, directory: Path | None, budget: ByteBudget):
        self.directory = directory
        self.budget = budget

    def _path(self, key: str) -> Path:
        assert self.directory is not None
        return self.directory / "pages" / key[:2] / key

    def get(self, key: str) -> CachedDocument | None:
        """The parsed document in memory, if any."""
        entry: CachedDocument | None = self.budget.get(("document", key))
        return entry

    def load(self, key: str) -> CachedDocument | None:
        """The disk entry, unparsed (``parsed is None``); :meth:`remember` it once parsed.

        Blocking file I/O and a digest over the body: call it off the event loop.
        """
        return None if self.directory is None else self._read_disk(key)

    def stored_copy(self, key: str) -> StoredCopy | None:
        """The digest and fetch time of the disk entry for ``key``, from its header alone.

        Cheap (one short read), for callers that only compare copies; the body is checked
        when it is loaded.  Blocking: call it off the event loop.
        """
        if self.directory is None:
            return None
        try:
            with self._path(key).open("rb") as f:
                header = f.readline(_MAX_HEADER)
            meta = json.loads(header)
            digest, fetched_at = meta["sha256"], meta["fetched_at"]
        except (OSError, ValueError, KeyError, TypeError):
            return None
        if not isinstance(digest, str) or not isinstance(fetched_at, (int, float)):
            return None
        return StoredCopy(digest, float(fetched_at))

    def save(self, key: str, entry: CachedDocument) -> None:
        """Write ``entry``'s body to disk, if there is a disk directory.

        Blocking: call it off the event loop (and :meth:`remember` on it).
        """
        if self.directory is None:
            return
        try:
            self._write_disk(key, entry)
        except OSError as exc:
            # A full or read-only disk costs the disk copy, not the answer.
            log.warning("cannot write the disk cache (%s); keeping %s in memory", exc, entry.url)

    def save_fetch_time(self, key: str, entry: CachedDocument) -> None:
        """Record that upstream confirmed ``entry`` (a 304): new fetch time, same body.

        Blocking: call it off the event loop.
        """
        on_disk = self.load(key)
        if on_disk is not None and on_disk.etag == entry.etag:
            self.save(key, replace(on_disk, fetched_at=entry.fetched_at))

    def remember(self, key: str, entry: CachedDocument) -> None:
        """Keep ``entry`` in memory only (the disk copy is already the same document).

        The body is dropped: the parsed form is what requests use, and the disk has the
        bytes.  Parsed JSON is charged at its measured size, bytes at their length.
        """
        parsed = entry.parsed
        factor = 1 if isinstance(parsed, (bytes, bytearray)) else PARSED_JSON_FACTOR
        self.budget.put(("document", key), replace(entry, body=b""), entry.size * factor)

    def _read_disk(self, key: str) -> CachedDocument | None:
        path = self._path(key)
        try:
            raw = path.read_bytes()
        except OSError:
            return None
        entry = _decode_entry(raw)
        if entry is None:
            log.warning("ignoring damaged cache entry %s", path)
            path.unlink(missing_ok=True)
        return entry

    def _write_disk(self, key: str, entry: CachedDocument) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        header = json.dumps(
            {
                "url": entry.url,
                "etag": entry.etag,
                "fetched_at": entry.fetched_at,
                "size": len(entry.body),
                "sha256": entry.digest,
            }
        ).encode()
        # The digest detects a torn write, so no fsync is needed for pages.
        write_atomically(path, header + b"\n" + entry.body, durable=False)


def _decode_entry(raw: bytes) -> CachedDocument | None:
    """A disk entry, or None when it is not exactly what was written."""
    header, sep, body = raw.partition(b"\n")
    if not sep:
        return None
    try:
        meta = json.loads(header)
        url, etag, fetched_at = meta["url"], meta["etag"], meta["fetched_at"]
        size, digest = meta["size"], meta["sha256"]
    except (ValueError, KeyError, TypeError):
        return None
    if (
        not isinstance(url, str)
        or not isinstance(etag, (str, type(None)))
        or not isinstance(fetched_at, (int, float))
        or isinstance(fetched_at, bool)
        or size != len(body)
        or digest != body_digest(body)
    ):
        return None
    return CachedDocument(
        url=url, body=body, etag=etag, fetched_at=float(fetched_at), digest=digest
    )
