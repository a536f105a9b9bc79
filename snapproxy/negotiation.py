"""Content negotiation for the simple API (PEP 691) and content coding (RFC 9110).

PEP 691 names three representations of a simple page.  ``latest`` aliases are answered
with the concrete v1 type, as the PEP asks, so a client always learns which version it
got.  With no ``Accept`` header the answer is HTML, which every pip version reads.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = [
    "Format",
    "FormatNotAcceptable",
    "accepts_gzip",
    "choose_format",
    "parse_accept",
]


class Format(enum.Enum):
    """A simple API representation; the value is the ``Content-Type`` sent for it."""

    JSON = "application/vnd.pypi.simple.v1+json"
    HTML = "application/vnd.pypi.simple.v1+html"
    TEXT_HTML = "text/html"

    @property
    def is_json(self) -> bool:
        return self is Format.JSON


class FormatNotAcceptable(ValueError):
    """Nothing the client accepts (or asked for with ``?format=``) can be served (406)."""


# Each representation by its concrete v1 media type and its PEP 691 ``latest`` alias (text/html
# has none).  Ties in q-value go to the earlier entry: HTML first, as before PEP 691.
_REPRESENTATIONS: tuple[tuple[Format, str, str | None], ...] = (
    (Format.TEXT_HTML, "text/html", None),
    (Format.HTML, "application/vnd.pypi.simple.v1+html", "application/vnd.pypi.simple.latest+html"),
    (Format.JSON, "application/vnd.pypi.simple.v1+json", "application/vnd.pypi.simple.latest+json"),
)
# Every name ``?format=`` accepts.
_NAMES: dict[str, Format] = {
    name: fmt for fmt, *names in _REPRESENTATIONS for name in names if name is not None
}


@dataclass(frozen=True)
class MediaRange:
    type: str
    subtype: str
    q: float

    def specificity(self, media_type: str) -> int | None:
        """How specifically this range names ``media_type`` (None: not at all)."""
        main, sub = media_type.split("/", 1)
        if self.type == "*" and self.subtype == "*":
            return 0
        if self.type == main and self.subtype == "*":
            return 1
        if self.type == main and self.subtype == sub:
            return 2
        return None


def _q(params: list[str]) -> float:
    for param in params:
        key, _, value = param.partition("=")
        if key.strip().lower() == "q":
            try:
                return min(max(float(value.strip()), 0.0), 1.0)
            except ValueError:
                return 0.0
    return 1.0


def parse_accept(header: str) -> list[MediaRange]:
    """Parse an ``Accept`` header (RFC 9110 section 12.5.1); malformed parts are skipped."""
    ranges = []
    for part in header.split(","):
        media, *params = part.split(";")
        media = media.strip().lower()
        if "/" not in media:
            continue
        main, sub = media.split("/", 1)
        ranges.append(MediaRange(main.strip(), sub.strip(), _q(params)))
    return ranges


def _quality(
    ranges: list[MediaRange], media_type: str, *, exact_only: bool = False
) -> float | None:
    """The q of the most specific range naming ``media_type`` (None: no range names it)."""
    best: tuple[int, float] | None = None
    for r in ranges:
        spec = r.specificity(media_type)
        if spec is None or (exact_only and spec < 2):
            continue
        if best is None or spec > best[0]:
            best = (spec, r.q)
    return None if best is None else best[1]


def _representation_quality(ranges: list[MediaRange], v1: str, latest: str | None) -> float:
    """RFC 9110 quality of one representation.

    The concrete v1 type decides when the client names it; a ``latest`` alias counts only
    when named outright, so a wildcard cannot revive a type the client rated low.
    """
    exact = _quality(ranges, v1, exact_only=True)
    if exact is not None:
        return exact
    if latest is not None:
        alias = _quality(ranges, latest, exact_only=True)
        if alias is not None:
            return alias
    return _quality(ranges, v1) or 0.0


def choose_format(accept: str | None, format_param: str | None = None) -> Format:
    """The representation to serve for ``Accept`` (or PEP 691's ``?format=`` override)."""
    if format_param is not None:
        # An unencoded "+" in a query string reads as a space; media types have none.
        chosen = _NAMES.get(format_param.strip().lower().replace(" ", "+"))
        if chosen is None:
            raise FormatNotAcceptable(
                f"unsupported format {format_param!r}; use one of {', '.join(_NAMES)}"
            )
        return chosen
    if accept is None or not accept.strip():
        return Format.TEXT_HTML
    ranges = parse_accept(accept)
    best: tuple[float, Format] | None = None
    for fmt, v1, latest in _REPRESENTATIONS:
        q = _representation_quality(ranges, v1, latest)
        if q > 0 and (best is None or q > best[0]):
            best = (q, fmt)
    if best is None:
        raise FormatNotAcceptable(
            f"none of the accepted types ({accept}) is served here; accept "
            "application/vnd.pypi.simple.v1+json or text/html"
        )
    return best[1]


def accepts_gzip(accept_encoding: str | None) -> bool:
    """Whether ``Accept-Encoding`` allows gzip (RFC 9110 section 12.5.3)."""
    if not accept_encoding:
        return False
    best: tuple[int, float] | None = None
    for part in accept_encoding.split(","):
        coding, *params = part.split(";")
        coding = coding.strip().lower()
        spec = 2 if coding in ("gzip", "x-gzip") else 1 if coding == "*" else None
        if spec is not None and (best is None or spec > best[0]):
            best = (spec, _q(params))
    return best is not None and best[1] > 0
