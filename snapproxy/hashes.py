"""Index hashes (PEP 503 fragments, PEP 691 ``hashes``, PEP 658 metadata): which to trust.

The one place that says what a valid published digest is and which of several an index
gives is used: the HTML renderer, the validator of upstream pages and the file store
all ask here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

__all__ = ["DIGEST_SIZES", "PREFERRED_ALGORITHMS", "is_hex_digest", "strongest"]

# Hex digits of each of hashlib's guaranteed algorithms an index may publish.
DIGEST_SIZES = {"sha256": 64, "sha512": 128, "sha384": 96, "sha224": 56, "sha1": 40, "md5": 32}
# Strongest first; sha256 leads as PyPI publishes it and pip prefers it.
PREFERRED_ALGORITHMS = ("sha256", "sha512", "sha384", "sha224", "sha1", "md5")
_HEX = re.compile(r"[0-9a-fA-F]+")


def is_hex_digest(algorithm: str, digest: object) -> bool:
    """Whether ``digest`` is a hex digest of ``algorithm``'s size.

    Digests become file names in the store, so nothing else may pass (``../x`` or
    ``/etc/passwd`` from a hostile index would otherwise name a path outside it).
    """
    size = DIGEST_SIZES.get(algorithm)
    return (
        size is not None
        and isinstance(digest, str)
        and len(digest) == size
        and _HEX.fullmatch(digest) is not None
    )


def strongest(hashes: Mapping[str, object]) -> tuple[str, str] | None:
    """``(algorithm, lower-case digest)`` of the strongest valid hash given, if any."""
    for algorithm in PREFERRED_ALGORITHMS:
        digest = hashes.get(algorithm)
        if isinstance(digest, str) and is_hex_digest(algorithm, digest):
            return algorithm, digest.lower()
    return None
