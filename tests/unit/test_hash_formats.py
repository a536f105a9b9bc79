"""Hash spellings: nix32 (Nix's base32, printHash32 in libutil), SRI and base16.

The expected nix32 and SRI strings were printed by Nix itself
(`nix-hash --type sha256 --to-base32 HEX`, `nix hash to-sri --type sha256 HEX`), so they do
not depend on the code under test.
"""

from __future__ import annotations

import base64
import hashlib

import pytest

from fetcher.hash_formats import (
    FAKE_SRI,
    InvalidHash,
    format_hash,
    from_nix32,
    is_fake,
    nix32,
    parse_hash,
    sri,
)

NIX32_ALPHABET = "0123456789abcdfghijklmnpqrsvwxyz"

# (base16, nix32, SRI), all three from Nix 2.8.
KNOWN = [
    (  # sha256 of b""
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "0mdqa9w1p6cmli6976v4wi0sw9r4p5prkj7lzfd1877wk11c9c73",
        "sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
    ),
    (  # sha256 of b"abc"
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
        "1b8m03r63zqhnjf7l5wnldhh7c134ap5vpj0850ymkq1iyzicy5s",
        "sha256-ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=",
    ),
    (
        "0000000000000000000000000000000000000000000000000000000000000000",
        "0000000000000000000000000000000000000000000000000000",
        "sha256-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
    ),
    (
        "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
        "1zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz",
        "sha256-//////////////////////////////////////////8=",
    ),
    (
        "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
        "07qy3lf1n6hr30bic58l2c91240g1q6hq2qa1440f1h50h1h4080",
        "sha256-AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
    ),
    (  # first and last bit: printHash32 reads the digest from its last bit backwards
        "8000000000000000000000000000000000000000000000000000000000000001",
        "0080000000000000000000000000000000000000000000000040",
        "sha256-gAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAE=",
    ),
]
IDS = ["empty", "abc", "zeros", "ones", "range", "edge-bits"]


def test_known_empty_digest_is_what_hashlib_says() -> None:
    assert hashlib.sha256(b"").hexdigest() == KNOWN[0][0]
    assert hashlib.sha256(b"abc").hexdigest() == KNOWN[1][0]


@pytest.mark.parametrize(("base16", "n32", "sri_text"), KNOWN, ids=IDS)
def test_format_known_digests(base16: str, n32: str, sri_text: str) -> None:
    digest = bytes.fromhex(base16)
    assert nix32(digest) == n32
    assert sri(digest) == sri_text
    assert format_hash(digest, "nix32") == n32
    assert format_hash(digest, "sri") == sri_text
    assert format_hash(digest, "base16") == base16


@pytest.mark.parametrize(("base16", "n32", "sri_text"), KNOWN, ids=IDS)
def test_parse_known_digests_in_every_spelling(base16: str, n32: str, sri_text: str) -> None:
    digest = bytes.fromhex(base16)
    assert from_nix32(n32) == digest
    for text in [
        n32,
        sri_text,
        base16,
        base16.upper(),
        "sha256:" + base16,
        "sha256:" + n32,
        f"  {sri_text}\n",  # surrounding whitespace, as read from a file
    ]:
        assert parse_hash(text) == digest, text


@pytest.mark.parametrize(
    "digest",
    [
        bytes(32),
        bytes([0xFF]) * 32,
        bytes(range(32)),
        bytes(range(255, 223, -1)),
        *(bytes(31 - i) + b"\x01" + bytes(i) for i in range(32)),  # one bit set per byte
        *(bytes(i) + bytes([1 << (i % 8)]) + bytes(31 - i) for i in range(32)),
        hashlib.sha256(b"snapproxy").digest(),
    ],
)
def test_nix32_round_trip(digest: bytes) -> None:
    text = nix32(digest)
    assert len(text) == 52
    assert set(text) <= set(NIX32_ALPHABET)
    # 52 * 5 = 260 bits for 256: the first character carries only the top bit.
    assert text[0] in "01"
    assert from_nix32(text) == digest
    assert parse_hash(text) == digest
    assert parse_hash(sri(digest)) == digest
    assert parse_hash(digest.hex()) == digest


def test_nix32_single_bits_move_one_character() -> None:
    # Bit k of the digest (little-endian across bytes) is bit k % 5 of character 51 - k // 5.
    for k in range(256):
        digest = bytearray(32)
        digest[k // 8] = 1 << (k % 8)
        expected = ["0"] * 52
        expected[51 - k // 5] = NIX32_ALPHABET[1 << (k % 5)]
        assert nix32(bytes(digest)) == "".join(expected), k


def test_sri_is_base64_of_the_digest() -> None:
    digest = hashlib.sha256(b"x").digest()
    assert sri(digest) == "sha256-" + base64.b64encode(digest).decode()


@pytest.mark.parametrize(
    "text",
    [
        "",
        "sha256",
        "sha256-",
        "sha256-AAAA",  # too short
        "sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU",  # missing padding
        "sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFUAAAA=",  # too long
        "sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSu!U=",  # not base64
        "sha512-z4PhNX7vuL3xVChQ1m2AB9Yg5AULVxXcg/SpIdNs6c5H0NE8XYXysP+DGNKHfuwvY7kxvUdBeoGlODJ6+SfaPg==",
        "md5-1B2M2Y8AsgTpgAmY7PhCfg==",
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85",  # 63 hex digits
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b8555",  # 65
        "g3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",  # not hex
        "0mdqa9w1p6cmli6976v4wi0sw9r4p5prkj7lzfd1877wk11c9c7",  # 51 characters
        "0mdqa9w1p6cmli6976v4wi0sw9r4p5prkj7lzfd1877wk11c9c73a",  # 53 characters
        "0mdqa9w1p6cmli6976v4wi0sw9r4p5prkj7lzfd1877wk11c9c7e",  # 'e' is not in the alphabet
        "0mdqa9w1p6cmli6976v4wi0sw9r4p5prkj7lzfd1877wk11c9c7o",  # nor 'o'
        "0mdqa9w1p6cmli6976v4wi0sw9r4p5prkj7lzfd1877wk11c9c7u",  # nor 'u'
        "0mdqa9w1p6cmli6976v4wi0sw9r4p5prkj7lzfd1877wk11c9c7t",  # nor 't'
        "0MDQA9W1P6CMLI6976V4WI0SW9R4P5PRKJ7LZFD1877WK11C9C73",  # nix32 is lower case
        "2000000000000000000000000000000000000000000000000000",  # 257 bits: Nix refuses
        "z000000000000000000000000000000000000000000000000000",
        "sha1:da39a3ee5e6b4b0d3255bfef95601890afd80709",
        "sha256:",
        "not a hash",
    ],
)
def test_parse_invalid(text: str) -> None:
    with pytest.raises(InvalidHash):
        parse_hash(text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "0mdqa9w1p6cmli6976v4wi0sw9r4p5prkj7lzfd1877wk11c9c7",
        "0mdqa9w1p6cmli6976v4wi0sw9r4p5prkj7lzfd1877wk11c9c7e",
        "2000000000000000000000000000000000000000000000000000",
        "z000000000000000000000000000000000000000000000000000",
        "1zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz",
    ],
)
def test_from_nix32_invalid(text: str) -> None:
    with pytest.raises(InvalidHash):
        from_nix32(text)


def test_invalid_hash_is_a_value_error_that_names_the_text() -> None:
    with pytest.raises(ValueError, match="not a hash"):
        parse_hash("not a hash")


@pytest.mark.parametrize(
    ("text", "fake"),
    [
        ("", True),
        ("   ", True),
        (FAKE_SRI, True),
        ("sha256-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", True),  # lib.fakeHash
        ("0000000000000000000000000000000000000000000000000000", True),  # lib.fakeSha256
        ("0" * 64, True),
        ("sha256:" + "0" * 64, True),
        (" sha256-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= ", True),
        ("sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=", False),
        ("0mdqa9w1p6cmli6976v4wi0sw9r4p5prkj7lzfd1877wk11c9c73", False),
        ("0" * 63 + "1", False),
        ("sha256-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAE=", False),
        ("garbage", False),
        ("sha256-", False),
        ("sha512-" + "A" * 86 + "==", False),
    ],
)
def test_is_fake(text: str, fake: bool) -> None:
    assert is_fake(text) is fake


def test_fake_sri_is_nixpkgs_lib_fake_hash() -> None:
    assert FAKE_SRI == "sha256-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
    assert parse_hash(FAKE_SRI) == bytes(32)
