"""Nix's spellings of a sha256 digest: SRI, nix32 (Nix's base32) and base16.

The one place where hashes are parsed and printed.  Nix's base32 is not RFC 4648: its
alphabet omits ``e o u t`` and it reads the digest from the last bit backwards
(``printHash32`` in libutil).
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Literal

__all__ = [
    "FAKE_SRI",
    "HashFormat",
    "InvalidHash",
    "format_hash",
    "from_nix32",
    "is_fake",
    "nix32",
    "parse_hash",
    "sri",
]

HashFormat = Literal["sri", "nix32", "base16"]
SHA256_SIZE = 32
_ALPHABET = "0123456789abcdfghijklmnpqrsvwxyz"
_NIX32_LENGTH = (SHA256_SIZE * 8 - 1) // 5 + 1  # 52
# lib.fakeHash / lib.fakeSha256: the all-zero digest, accepted as "no hash yet".
FAKE_SRI = "sha256-" + base64.b64encode(bytes(SHA256_SIZE)).decode()


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
    return "sha256-" + base64.b64encode(digest).decode()


def format_hash(digest: bytes, fmt: HashFormat) -> str:
    if fmt == "sri":
        return sri(digest)
    if fmt == "nix32":
        return nix32(digest)
    return digest.hex()


def parse_hash(text: str) -> bytes:
    """A sha256 digest from SRI, ``sha256:``-prefixed, nix32 or base16 text."""
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
    if re.fullmatch(r"[0-9a-fA-F]{64}", value):
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
