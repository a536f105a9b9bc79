"""Which published digest is valid, and which of several is used."""

from __future__ import annotations

import hashlib

import pytest

from snapproxy.hashes import DIGEST_SIZES, is_hex_digest, strongest

SHA256 = hashlib.sha256(b"x").hexdigest()
MD5 = hashlib.md5(b"x").hexdigest()


def test_sizes_are_hashlibs() -> None:
    for algorithm, size in DIGEST_SIZES.items():
        assert hashlib.new(algorithm).digest_size * 2 == size


@pytest.mark.parametrize(
    ("algorithm", "digest", "valid"),
    [
        ("sha256", SHA256, True),
        ("sha256", SHA256.upper(), True),
        ("sha256", SHA256[:-1], False),
        ("sha256", SHA256 + "0", False),
        ("sha256", "../" + SHA256[3:], False),
        ("sha256", "/etc/passwd", False),
        ("sha256", SHA256[:-1] + "\n", False),
        ("sha256", 12345, False),
        ("md5", MD5, True),
        ("blake2b", SHA256, False),  # not one the store knows
    ],
)
def test_is_hex_digest(algorithm: str, digest: object, valid: bool) -> None:
    assert is_hex_digest(algorithm, digest) is valid


@pytest.mark.parametrize(
    ("hashes", "expected"),
    [
        ({"md5": MD5, "sha256": SHA256}, ("sha256", SHA256)),
        ({"md5": MD5}, ("md5", MD5)),
        ({"sha256": SHA256.upper()}, ("sha256", SHA256)),
        ({"sha256": "nothex", "md5": MD5}, ("md5", MD5)),
        ({"blake2b": "ab" * 32}, None),
        ({}, None),
    ],
)
def test_strongest(hashes: dict[str, object], expected: tuple[str, str] | None) -> None:
    assert strongest(hashes) == expected
