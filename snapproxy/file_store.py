"""Content-addressed store of distribution and metadata files, keyed by their index hash.

A file is written to a temporary name while it streams in and renamed into place only
after its digest matched the one the index published, so the store never holds a file
that was not verified.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import IO

from snapproxy.hashes import is_hex_digest, strongest

__all__ = ["DigestMismatch", "FileStore", "InvalidDigest", "PendingFile", "Verifier", "verified"]


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


class PendingFile:
    """A file being received; :meth:`commit` moves it into the store."""

    def __init__(self, final: Path):
        self.final = final
        final.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=final.parent, prefix=".tmp-")
        self.temp = Path(name)
        self.handle: IO[bytes] = os.fdopen(fd, "wb")

    def write(self, chunk: bytes) -> None:
        self.handle.write(chunk)

    def commit(self) -> None:
        self.handle.close()
        os.chmod(self.temp, 0o444)
        os.replace(self.temp, self.final)

    def discard(self) -> None:
        self.handle.close()
        self.temp.unlink(missing_ok=True)


class FileStore:
    """``<root>/<algorithm>/<digest[:2]>/<digest>``; ``root=None`` stores nothing."""

    def __init__(self, root: Path | None):
        self.root = root

    def path(self, verifier: Verifier) -> Path | None:
        if self.root is None:
            return None
        d = verifier.digest
        return self.root / verifier.algorithm / d[:2] / d

    def lookup(self, verifier: Verifier) -> Path | None:
        path = self.path(verifier)
        return path if path is not None and path.is_file() else None

    def pending(self, verifier: Verifier) -> PendingFile | None:
        path = self.path(verifier)
        return PendingFile(path) if path is not None else None
