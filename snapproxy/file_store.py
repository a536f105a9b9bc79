"""Content-addressed store of distribution and metadata files, keyed by their index hash.

A file is written to a temporary name while it streams in and renamed into place only
after its digest matched the one the index published, so the store never holds a file
that was not verified; and a stored file is checked again before it is served, so one
damaged on disk afterwards is never served either.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path

from snapproxy.atomic_file import AtomicFile
from snapproxy.hashes import is_hex_digest, strongest

__all__ = [
    "DigestMismatch",
    "FileStore",
    "InvalidDigest",
    "SizeMismatch",
    "Verifier",
    "check_size",
    "verified",
]

log = logging.getLogger("snapproxy.cache")


class DigestMismatch(ValueError):
    """The bytes received do not hash to the digest the index published."""


class InvalidDigest(ValueError):
    """A published digest that is not the hex form of its algorithm's output."""


class Verifier:
    """Hash bytes as they pass and compare with the published ``algorithm=digest``."""

    def __init__(self, algorithm: str, digest: str):
        if not is_hex_digest(algorithm, digest):
            raise InvalidDigest(f"{algorithm} digest {digest!r} is not a hex digest")
        self.algorithm = algorithm
        self.digest = digest.lower()
        self._hash = hashlib.new(algorithm)

    @classmethod
    def for_hashes(cls, hashes: Mapping[str, object]) -> Verifier | None:
        """For the strongest valid hash an index gives (PEP 691); None when none is."""
        found = strongest(hashes)
        return None if found is None else cls(*found)

    def update(self, chunk: bytes) -> None:
        self._hash.update(chunk)

    def check(self) -> None:
        got = self._hash.hexdigest()
        if got != self.digest:
            raise DigestMismatch(
                f"{self.algorithm} mismatch: index says {self.digest}, received {got}"
            )


def verified(body: bytes, hashes: Mapping[str, object]) -> bytes:
    """``body`` if it matches the strongest of ``hashes`` (none given: unchecked)."""
    verifier = Verifier.for_hashes(hashes)
    if verifier is not None:
        verifier.update(body)
        verifier.check()
    return body


class SizeMismatch(DigestMismatch):
    """The bytes received are not as many as the index says the file has."""


def check_size(expected: int | None, got: int) -> None:
    if expected is not None and got != expected:
        raise SizeMismatch(f"size mismatch: index says {expected} bytes, received {got}")


def _stat_identity(st: os.stat_result) -> tuple[int, ...]:
    # Any write, truncation, chmod or replacement changes one of these.
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


class FileStore:
    """``<root>/<algorithm>/<digest[:2]>/<digest>``, each file checked before it is served.

    A stored file is hashed again the first time this process serves it; while its
    inode, size and times stay as they were then, it is not hashed again.  A file that
    no longer matches its digest (a flipped bit, a truncation) is removed, so the next
    request fetches it again.

    ``keep=False`` (``--no-cache``): files pass through ``root``, a private scratch
    directory, and nothing is kept or found.
    """

    _VERIFIED_LIMIT = 100_000

    def __init__(self, root: Path, *, keep: bool = True):
        self.root = root
        self.keep = keep
        self._verified: OrderedDict[Path, tuple[int, ...]] = OrderedDict()
        # lookup runs in worker threads, mark_verified on the event loop.
        self._lock = threading.Lock()

    def path(self, verifier: Verifier) -> Path:
        d = verifier.digest
        return self.root / verifier.algorithm / d[:2] / d

    def pending(self, verifier: Verifier | None) -> AtomicFile:
        """A temporary file for a download; its final name is the digest's."""
        final = self.path(verifier) if verifier is not None else self.root / "unverified"
        final.parent.mkdir(parents=True, exist_ok=True)
        return AtomicFile(final, 0o444)

    def mark_verified(self, path: Path) -> None:
        try:
            identity = _stat_identity(path.stat())
        except OSError:
            return
        with self._lock:
            self._verified[path] = identity
            self._verified.move_to_end(path)
            while len(self._verified) > self._VERIFIED_LIMIT:
                self._verified.popitem(last=False)

    def known(self, verifier: Verifier) -> Path | None:
        """The stored file if this process verified it and it is unchanged since: a stat,
        no hashing, so it can run on the event loop."""
        if not self.keep:
            return None
        path = self.path(verifier)
        try:
            identity = _stat_identity(path.stat())
        except OSError:
            return None
        with self._lock:
            known = self._verified.get(path)
        return path if known == identity else None

    def lookup(self, verifier: Verifier, size: int | None) -> Path | None:
        """The stored file, checked against its digest and size; None when absent or bad.

        Blocking (it may hash the whole file): call it off the event loop.
        """
        known = self.known(verifier)
        if known is not None or not self.keep:
            return known
        path = self.path(verifier)
        check = Verifier(verifier.algorithm, verifier.digest)
        try:
            with path.open("rb") as f:
                while chunk := f.read(1024 * 1024):
                    check.update(chunk)
                check_size(size, f.tell())
            check.check()
        except FileNotFoundError:
            return None
        except (OSError, DigestMismatch) as exc:
            log.warning("removing damaged stored file %s: %s", path, exc)
            path.unlink(missing_ok=True)
            return None
        self.mark_verified(path)
        return path
