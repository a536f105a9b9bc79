"""Response bodies as sent: strong ETags (RFC 9110 8.8.3), gzip coding, If-None-Match."""

from __future__ import annotations

import gzip
import re

import pytest

from snapproxy.representation import (
    IMMUTABLE,
    REVALIDATE,
    etag_matches,
    make_representation,
)

CT = "application/vnd.pypi.simple.v1+json"
BODY = b'{"meta":{"api-version":"1.1"},"name":"foo","files":[]}' * 20
# RFC 9110 8.8.3: entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE, etagc = %x21 / %x23-7E / obs-text
STRONG_ETAG = re.compile(r'^"[\x21\x23-\x7e]*"$')


@pytest.mark.parametrize("gzip_ok", [False, True])
def test_etag_is_strong_and_well_formed(gzip_ok: bool) -> None:
    rep = make_representation(BODY, CT, gzip_ok=gzip_ok)
    assert STRONG_ETAG.match(rep.etag), rep.etag
    assert not rep.etag.startswith("W/")
    assert rep.content_type == CT


def test_identity_representation() -> None:
    rep = make_representation(BODY, CT, gzip_ok=False)
    assert rep.body == BODY
    assert rep.content_encoding is None


def test_gzip_representation() -> None:
    rep = make_representation(BODY, CT, gzip_ok=True)
    assert rep.content_encoding == "gzip"
    assert rep.body != BODY
    assert gzip.decompress(rep.body) == BODY


def test_gzip_bytes_are_deterministic() -> None:
    first = make_representation(BODY, CT, gzip_ok=True)
    second = make_representation(bytes(BODY), CT, gzip_ok=True)
    assert first.body == second.body
    assert first.etag == second.etag
    # RFC 1952: no file name (FLG.FNAME), and MTIME zero, so nothing depends on the clock.
    header = first.body[:10]
    assert header[:2] == b"\x1f\x8b"
    assert header[3] & 0x08 == 0
    assert header[4:8] == b"\x00\x00\x00\x00"


def test_each_coding_has_its_own_strong_tag() -> None:
    plain = make_representation(BODY, CT, gzip_ok=False)
    packed = make_representation(BODY, CT, gzip_ok=True)
    # A strong tag names one byte sequence; the two codings are different bytes.
    assert plain.etag != packed.etag


@pytest.mark.parametrize("gzip_ok", [False, True])
def test_tag_follows_the_body(gzip_ok: bool) -> None:
    a = make_representation(BODY, CT, gzip_ok=gzip_ok)
    b = make_representation(BODY + b" ", CT, gzip_ok=gzip_ok)
    assert a.etag != b.etag
    assert a.etag == make_representation(BODY, CT, gzip_ok=gzip_ok).etag


def test_empty_body() -> None:
    rep = make_representation(b"", CT, gzip_ok=True)
    assert gzip.decompress(rep.body) == b""
    assert STRONG_ETAG.match(rep.etag)


# --- If-None-Match ----------------------------------------------------------------------

PLAIN = make_representation(BODY, CT, gzip_ok=False).etag
PACKED = make_representation(BODY, CT, gzip_ok=True).etag
OTHER_PLAIN = make_representation(b"other", CT, gzip_ok=False).etag
OTHER_PACKED = make_representation(b"other", CT, gzip_ok=True).etag


@pytest.mark.parametrize(
    ("if_none_match", "etag", "matches"),
    [
        (None, PLAIN, False),
        ("", PLAIN, False),
        (PLAIN, PLAIN, True),
        (PACKED, PACKED, True),
        # Either coding of an unchanged body matches (the client may have switched).
        (PLAIN, PACKED, True),
        (PACKED, PLAIN, True),
        # RFC 9110 13.1.2: If-None-Match uses the weak comparison.
        (f"W/{PLAIN}", PLAIN, True),
        (f"W/{PACKED}", PLAIN, True),
        ("*", PLAIN, True),
        (" * ", PACKED, True),
        # Lists.
        (f"{OTHER_PLAIN}, {PLAIN}", PLAIN, True),
        (f'"x", "y",{PACKED}', PLAIN, True),
        (f"{OTHER_PLAIN}, {OTHER_PACKED}", PLAIN, False),
        ('"x", W/"y"', PACKED, False),
        # Different bodies never match.
        (OTHER_PLAIN, PLAIN, False),
        (OTHER_PACKED, PACKED, False),
        (f"W/{OTHER_PLAIN}", PLAIN, False),
        # A tag that merely contains ours, or that ours contains.
        (PLAIN[:-2] + '"', PLAIN, False),
        (PLAIN[:-1] + 'x"', PLAIN, False),
        ('"gzip"', PLAIN, False),
    ],
)
def test_etag_matches(if_none_match: str | None, etag: str, matches: bool) -> None:
    assert etag_matches(if_none_match, etag) is matches


def test_cache_control_values() -> None:
    assert REVALIDATE == "no-cache"
    directives = {d.strip() for d in IMMUTABLE.split(",")}
    assert "immutable" in directives
    assert any(d.startswith("max-age=") and int(d.split("=")[1]) > 0 for d in directives)
