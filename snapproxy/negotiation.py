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


# Media type a client may name -> representation served.  Ties in q-value go to the
# earlier entry: HTML first, as servers did before PEP 691.
_NAMES: dict[str, Format] = {
    "text/html": Format.TEXT_HTML,
    "application/vnd.pypi.simple.v1+html": Format.HTML,
    "application/vnd.pypi.simple.latest+html": Format.HTML,
    "application/vnd.pypi.simple.v1+json": Format.JSON,
    "application/vnd.pypi.simple.latest+json": Format.JSON,
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


def _quality(ranges: list[MediaRange], media_type: str) -> float:
    best: tuple[int, float] | None = None
    for r in ranges:
        spec = r.specificity(media_type)
        if spec is not None and (best is None or spec > best[0]):
            best = (spec, r.q)
    return 0.0 if best is None else best[1]


def choose_format(accept: str | None, format_param: str | None = None) -> Format:
    """The representation to serve for ``Accept`` (or PEP 691's ``?format=`` override)."""
    if format_param is not None:
        chosen = _NAMES.get(format_param.strip().lower())
        if chosen is None:
            raise FormatNotAcceptable(
                f"unsupported format {format_param!r}; use one of {', '.join(_NAMES)}"
            )
        return chosen
    if accept is None or not accept.strip():
        return Format.TEXT_HTML
    ranges = parse_accept(accept)
    best: tuple[float, Format] | None = None
    for name, fmt in _NAMES.items():
        q = _quality(ranges, name)
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
