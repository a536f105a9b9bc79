"""DESIGN.md "HTTP behaviour": Accept (PEP 691, RFC 9110 12.5.1) and Accept-Encoding (12.5.3)."""

from __future__ import annotations

import pytest

from snapproxy.negotiation import (
    Format,
    FormatNotAcceptable,
    accepts_gzip,
    choose_format,
    parse_accept,
)

V1_JSON = "application/vnd.pypi.simple.v1+json"
V1_HTML = "application/vnd.pypi.simple.v1+html"
LATEST_JSON = "application/vnd.pypi.simple.latest+json"
LATEST_HTML = "application/vnd.pypi.simple.latest+html"

# Real clients' headers.
PIP_26 = f"{V1_JSON}, {V1_HTML}; q=0.1, text/html; q=0.01"
UV = f"{V1_JSON}, {V1_HTML};q=0.2, text/html;q=0.01"
PIP_22_0 = "text/html"


def test_format_values_are_the_content_types_sent() -> None:
    # PEP 691: `latest` is never sent back; the concrete v1 type is.
    assert Format.JSON.value == V1_JSON
    assert Format.HTML.value == V1_HTML
    assert Format.TEXT_HTML.value == "text/html"
    assert Format.JSON.is_json
    assert not Format.HTML.is_json
    assert not Format.TEXT_HTML.is_json


@pytest.mark.parametrize(
    ("accept", "chosen"),
    [
        # Real clients.
        (PIP_26, Format.JSON),
        (UV, Format.JSON),
        (PIP_22_0, Format.TEXT_HTML),
        # No Accept, or an empty one: HTML, which every pip reads.
        (None, Format.TEXT_HTML),
        ("", Format.TEXT_HTML),
        ("   ", Format.TEXT_HTML),
        # Wildcards.
        ("*/*", Format.TEXT_HTML),
        ("text/*", Format.TEXT_HTML),
        # Exact types; `latest` answered as v1.
        (V1_JSON, Format.JSON),
        (V1_HTML, Format.HTML),
        (LATEST_JSON, Format.JSON),
        (LATEST_HTML, Format.HTML),
        # q-values decide.
        (f"text/html;q=0.5, {V1_JSON};q=0.9", Format.JSON),
        (f"text/html;q=0.9, {V1_JSON};q=0.5", Format.TEXT_HTML),
        (f"{V1_HTML};q=0.3, {V1_JSON};q=0.2", Format.HTML),
        (f"{LATEST_JSON};q=0.8, text/html;q=0.7", Format.JSON),
        (f"{V1_JSON};q=0.001, text/html;q=0", Format.JSON),
        (f"*/*;q=0.1, {V1_JSON}", Format.JSON),
        ("text/html;q=0.5, */*;q=0.9", Format.HTML),  # v1+html only via */*, at 0.9
        # Specificity: the most specific range sets a type's q (RFC 9110 12.5.1).
        (f"{V1_JSON};q=0, */*", Format.TEXT_HTML),
        # A wildcard also matches the `latest` aliases, but they are never what is sent:
        # only the concrete type's own q counts. Here v1+html is 0.1 and v1+json 0.5.
        (f"text/html;q=0, {V1_HTML};q=0.1, */*;q=0.5", Format.JSON),
        (f"application/*;q=0.2, {V1_JSON};q=0.1, text/html;q=0.15", Format.HTML),
        (f"text/*;q=0.9, text/html;q=0.1, {V1_JSON};q=0.5", Format.JSON),
        # Case, blanks and other parameters.
        ("Application/Vnd.PyPI.Simple.V1+JSON", Format.JSON),
        ("TEXT/HTML", Format.TEXT_HTML),
        (f"  {V1_JSON}  ;  q=0.5  , text/html ; q=0.4", Format.JSON),
        (f"{V1_JSON};Q=0.5, text/html;q=0.4", Format.JSON),
        ("text/html; charset=utf-8", Format.TEXT_HTML),
        (f"text/html;level=1;q=0.2, {V1_JSON};q=0.3", Format.JSON),
        # Unknown types are ignored when something known is acceptable.
        (f"application/json, {V1_JSON};q=0.5", Format.JSON),
        ("image/png, text/html;q=0.1", Format.TEXT_HTML),
        # Malformed parts are skipped.
        (f"garbage, {V1_JSON}", Format.JSON),
    ],
)
def test_choose_format(accept: str | None, chosen: Format) -> None:
    assert choose_format(accept) is chosen


@pytest.mark.parametrize(
    "accept",
    [
        "application/json",
        "text/plain",
        "image/*",
        "application/vnd.pypi.simple.v2+json",
        "text/html;q=0",
        f"{V1_JSON};q=0, {V1_HTML};q=0, {LATEST_JSON};q=0, {LATEST_HTML};q=0, text/html;q=0",
        "*/*;q=0",
        # Every type that could be sent is refused; `*/*` only reaches the `latest` aliases,
        # which are answered with the refused v1 type.
        f"text/html;q=0, {V1_HTML};q=0, {V1_JSON};q=0, */*",
        f"text/html;q=0, {V1_HTML};q=0, {LATEST_HTML};q=0, {V1_JSON};q=0, */*",
    ],
)
def test_nothing_acceptable(accept: str) -> None:
    with pytest.raises(FormatNotAcceptable):
        choose_format(accept)


def test_application_wildcard_picks_an_application_type() -> None:
    assert choose_format("application/*") in (Format.JSON, Format.HTML)


@pytest.mark.parametrize(
    ("param", "accept", "chosen"),
    [
        # PEP 691 ?format= overrides Accept.
        (V1_JSON, "text/html", Format.JSON),
        (V1_JSON, None, Format.JSON),
        (V1_HTML, PIP_26, Format.HTML),
        (LATEST_JSON, "text/html", Format.JSON),
        (LATEST_HTML, PIP_26, Format.HTML),
        ("text/html", PIP_26, Format.TEXT_HTML),
        (f" {V1_JSON.upper()} ", None, Format.JSON),
        # Even a header that would be 406 on its own.
        (V1_JSON, "application/json", Format.JSON),
    ],
)
def test_format_parameter(param: str, accept: str | None, chosen: Format) -> None:
    assert choose_format(accept, param) is chosen


@pytest.mark.parametrize("param", ["json", "html", "application/json", "", "text/*", "*/*"])
def test_unsupported_format_parameter(param: str) -> None:
    with pytest.raises(FormatNotAcceptable) as info:
        choose_format("text/html", param)
    assert repr(param) in str(info.value)


def test_format_not_acceptable_is_a_value_error() -> None:
    assert issubclass(FormatNotAcceptable, ValueError)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("text/html", [("text", "html", 1.0)]),
        ("text/html;q=0.5", [("text", "html", 0.5)]),
        ("TEXT/Html ; Q=0.25", [("text", "html", 0.25)]),
        ("*/*;q=0", [("*", "*", 0.0)]),
        ("a/b;q=2", [("a", "b", 1.0)]),  # clamped to the RFC's 0..1
        ("a/b;q=-1", [("a", "b", 0.0)]),
        ("a/b, c/d;q=0.1", [("a", "b", 1.0), ("c", "d", 0.1)]),
        ("nonsense, a/b", [("a", "b", 1.0)]),
        ("", []),
    ],
)
def test_parse_accept(header: str, expected: list[tuple[str, str, float]]) -> None:
    assert [(r.type, r.subtype, r.q) for r in parse_accept(header)] == expected


@pytest.mark.parametrize(
    ("accept_encoding", "gzip"),
    [
        (None, False),
        ("", False),
        ("identity", False),
        ("br", False),
        ("deflate, br", False),
        ("gzip", True),
        ("GZIP", True),
        ("x-gzip", True),
        ("gzip, deflate", True),
        ("br;q=1.0, gzip;q=0.8, *;q=0.1", True),
        ("gzip;q=0.001", True),
        ("gzip;q=0", False),
        ("gzip; q=0.0", False),
        ("gzip;q=0.000", False),
        ("*", True),
        ("*;q=0", False),
        ("deflate, *;q=0.5", True),
        ("gzip;q=0, *", False),  # the specific coding wins over *
        ("*, gzip;q=0", False),
        ("*;q=0, gzip", True),
        ("identity;q=1, *;q=0", False),
    ],
)
def test_accepts_gzip(accept_encoding: str | None, gzip: bool) -> None:
    assert accepts_gzip(accept_encoding) is gzip
