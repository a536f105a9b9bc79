"""Nix's spellings of a sha256 digest: SRI, nix32 (Nix's base32) and base16.

The one place where hashes are parsed and printed.  Nix's base32 is not RFC 4648: its
alphabet omits ``e o u t`` and it reads the digest from the last bit backwards
(``printHash32`` in libutil).
"""

from __future__ import annotations

import binascii

__all__ = [
    "DEFAULT_FORMAT",
    "FAKE_SRI",
    "FORMATS",
    "HashFormat",
    "InvalidHash",
    "format_hash",
    "from_nix32",
    "is_fake",
    "nix32",
    "parse_hash",
    "sri",
]

# This module is on `snapproxy hash`'s start-up path (snapproxy.launcher), which is timed
# against nix-hash: typing, re and base64 (which imports re) cost several ms to import, so
# printing uses binascii alone and parsing imports base64 when it is called.
TYPE_CHECKING = False  # mypy takes any constant of this name as true
if TYPE_CHECKING:
    from typing import Literal

    HashFormat = Literal["sri", "nix32", "base16"]
else:
    HashFormat = str
# `snapproxy hash --format`'s choices (the click command and the launcher's fast path).
FORMATS: tuple[HashFormat, ...] = ("sri", "nix32", "base16")
DEFAULT_FORMAT: HashFormat = "sri"
SHA256_SIZE = 32
_ALPHABET = "0123456789abcdfghijklmnpqrsvwxyz"
_NIX32_LENGTH = (SHA256_SIZE * 8 - 1) // 5 + 1  # 52
_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")


class InvalidHash(ValueError):
    """Text that is no sha256 digest in SRI, nix32 or base16 form."""


def nix32(digest: bytes) -> str:
    """Nix's base32 of ``digest`` (52 characters for sha256)."""
    length = (len(digest) * 8 - 1) // 5 + 1
    chars = []
    for n in range(length - 1, -1, -1):
        bit = n * 5
        i, j = divmod(bit, 8)
        value = digest[i] >> j
        if i + 1 < len(digest):
            value |= digest[i + 1] << (8 - j)
        chars.append(_ALPHABET[value & 0x1F])
    return "".join(chars)


def from_nix32(text: str) -> bytes:
    """The digest a nix32 string spells; the inverse of :func:`nix32`."""
    if len(text) != _NIX32_LENGTH or any(c not in _ALPHABET for c in text):
        raise InvalidHash(f"{text!r} is not a nix32 sha256 hash")
    out = bytearray(SHA256_SIZE)
    for n, char in enumerate(reversed(text)):
        digit = _ALPHABET.index(char)
        bit = n * 5
        i, j = divmod(bit, 8)
        out[i] |= (digit << j) & 0xFF
        carry = digit >> (8 - j)
        if i + 1 < SHA256_SIZE:
            out[i + 1] |= carry
        elif carry:
            raise InvalidHash(f"{text!r} is not a nix32 sha256 hash (too large)")
    return bytes(out)


def sri(digest: bytes) -> str:
    """``sha256-<base64>``, the Subresource Integrity form Nix writes."""
    return "sha256-" + binascii.b2a_base64(digest, newline=False).decode()


# lib.fakeHash / lib.fakeSha256: the all-zero digest, accepted as "no hash yet".
FAKE_SRI = sri(bytes(SHA256_SIZE))


def format_hash(digest: bytes, fmt: HashFormat) -> str:
    if fmt == "sri":
        return sri(digest)
    if fmt == "nix32":
        return nix32(digest)
    return digest.hex()


def parse_hash(text: str) -> bytes:
    """A sha256 digest from SRI, ``sha256:``-prefixed, nix32 or base16 text."""
    import base64  # not at the top: see the imports

    value = text.strip()
    if value.startswith("sha256-"):
        try:
            digest = base64.b64decode(value[len("sha256-") :], validate=True)
        except binascii.Error:
            digest = b""
        if len(digest) != SHA256_SIZE:
            raise InvalidHash(f"{text!r} is not a sha256 SRI hash")
        return digest
    value = value.removeprefix("sha256:")
    if len(value) == 2 * SHA256_SIZE and _HEX_DIGITS.issuperset(value):
        return bytes.fromhex(value)
    if len(value) == _NIX32_LENGTH:
        return from_nix32(value)
    raise InvalidHash(
        f"{text!r} is not a sha256 hash; write it as SRI (sha256-...), nix32 or base16"
    )


def is_fake(text: str) -> bool:
    """Whether ``text`` is the empty hash or Nix's fake hash (a first build)."""
    if not text.strip():
        return True
    try:
        return parse_hash(text) == bytes(SHA256_SIZE)
    except InvalidHash:
        return False
