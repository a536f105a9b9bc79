"""Reading the true hash out of Nix's fixed-output hash-mismatch error.

Nix 2.4 and later print ``specified: <hash>`` and ``got: <hash>``; Nix 2.3 printed
``wanted: sha256:<nix32>`` and ``got: sha256:<nix32>``.  Only that error counts: any
other failure (a build error, a network error) yields no hash at all.
"""

from __future__ import annotations

import re

from fetcher.hash_formats import InvalidHash, parse_hash, sri

__all__ = ["true_hash_from_mismatch"]

_MISMATCH = re.compile(r"hash mismatch in fixed-output derivation")
_GOT = re.compile(r"^\s*got:\s+(\S+)\s*$", re.MULTILINE)
_SPECIFIED = re.compile(r"^\s*(?:specified|wanted):\s+(\S+)\s*$", re.MULTILINE)


def true_hash_from_mismatch(stderr: str) -> str | None:
    """The SRI hash Nix says it got, or None unless this is a hash-mismatch error."""
    if not _MISMATCH.search(stderr):
        return None
    got = _GOT.findall(stderr)
    if len(got) != 1 or not _SPECIFIED.search(stderr):
        return None
    try:
        return sri(parse_hash(got[0]))
    except InvalidHash:
        return None
