"""Cache of upstream documents (index pages, legacy JSON, metadata files).

Two layers: a byte-bounded in-memory LRU in front of an optional disk directory.  Disk
entries are written atomically (temporary file, then rename), so a crash or a concurrent
reader never sees half an entry.  Only documents that passed validation are stored.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import OrderedDict
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from snapproxy.atomic_file import write_atomically

__all__ = ["CachedDocument", "PageCache", "cache_key"]

log = logging.getLogger("snapproxy.cache")


@dataclass(frozen=True)
class CachedDocument:
    url: str
    body: bytes
    etag: str | None
    fetched_at: float
    # The parsed form, kept in memory only so a hit does not parse again.
    parsed: Any = None

    def refreshed(self, now: float) -> CachedDocument:
        return replace(self, fetched_at=now)


def cache_key(url: str, accept: str) -> str:
    return hashlib.sha256(f"{accept}\n{url}".encode()).hexdigest()


class PageCache:
    """Memory LRU bounded by body bytes, backed by ``directory`` when given."""

    def __init__(self, directory: Path | None, *, memory_bytes: int = 256 * 1024 * 1024):
        self.directory = directory
        self.memory_bytes = memory_bytes
        self._memory: OrderedDict[str, CachedDocument] = OrderedDict()
        self._used = 0

    def _path(self, key: str) -> Path:
        assert self.directory is not None
        return self.directory / "pages" / key[:2] / key

    def get(self, key: str) -> tuple[CachedDocument | None, str]:
        """The entry and where it came from: ``memory``, ``disk`` or ``none``."""
        entry = self._memory.get(key)
        if entry is not None:
            self._memory.move_to_end(key)
            return entry, "memory"
        if self.directory is None:
            return None, "none"
        entry = self._read_disk(key)
        if entry is None:
            return None, "none"
        self.remember(key, entry)
        return entry, "disk"

    def put(self, key: str, entry: CachedDocument) -> None:
        self.remember(key, entry)
        if self.directory is not None:
            try:
                self._write_disk(key, entry)
            except OSError as exc:
                # A full or read-only disk costs the disk copy, not the answer.
                log.warning(
                    "cannot write the disk cache (%s); keeping %s in memory", exc, entry.url
                )

    def remember(self, key: str, entry: CachedDocument) -> None:
        """Keep ``entry`` in memory only (the disk copy is already the same document)."""
        old = self._memory.pop(key, None)
        if old is not None:
            self._used -= len(old.body)
        if len(entry.body) > self.memory_bytes:
            return
        self._memory[key] = entry
        self._used += len(entry.body)
        while self._used > self.memory_bytes:
            _, evicted = self._memory.popitem(last=False)
            self._used -= len(evicted.body)

    def _read_disk(self, key: str) -> CachedDocument | None:
        try:
            raw = self._path(key).read_bytes()
        except OSError:
            return None
        header, sep, body = raw.partition(b"\n")
        if not sep:
            return None
        try:
            meta = json.loads(header)
            url, etag, fetched_at = meta["url"], meta["etag"], meta["fetched_at"]
        except (ValueError, KeyError, TypeError):
            return None
        if (
            not isinstance(url, str)
            or not isinstance(etag, (str, type(None)))
            or not isinstance(fetched_at, (int, float))
            or isinstance(fetched_at, bool)
        ):
            return None
        return CachedDocument(url=url, body=body, etag=etag, fetched_at=float(fetched_at))

    def _write_disk(self, key: str, entry: CachedDocument) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        header = json.dumps(
            {"url": entry.url, "etag": entry.etag, "fetched_at": entry.fetched_at}
        ).encode()
        write_atomically(path, header + b"\n" + entry.body)
