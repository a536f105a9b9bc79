"""The snapshot instant: parsing it, and the one rule that decides what it hides.

A cutoff is an aware UTC :class:`~datetime.datetime`.  ``2021-05-01`` means
``2021-05-01T00:00:00Z``; RFC 3339 datetimes with ``Z`` or an offset are accepted.  A
datetime without a zone is refused: pip and uv read such a value in local time, which
would make a resolution depend on ``TZ``.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone

__all__ = [
    "CutoffError",
    "InvalidCutoff",
    "NaiveCutoff",
    "format_cutoff",
    "is_recent",
    "is_visible",
    "parse_cutoff",
    "parse_upload_time",
]

RECENT = timedelta(hours=1)

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# RFC 3339 section 5.6 date-time, with the separator and zone letters in either case.
_DATETIME = re.compile(
    r"^(?P<date>\d{4}-\d{2}-\d{2})[Tt ](?P<time>\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)"
    r"(?P<zone>[Zz]|[+-]\d{2}:?\d{2})?$"
)


class CutoffError(ValueError):
    """A cutoff the user wrote cannot be used."""


class InvalidCutoff(CutoffError):
    """The text is neither an ISO date nor an RFC 3339 datetime."""


class NaiveCutoff(CutoffError):
    """An RFC 3339 datetime without ``Z`` or an offset: its instant depends on ``TZ``."""


def parse_cutoff(text: str) -> datetime:
    """Parse ``YYYY-MM-DD`` (midnight UTC) or an RFC 3339 datetime with a zone."""
    value = text.strip()
    if _DATE.match(value):
        try:
            day = date.fromisoformat(value)
        except ValueError:
            raise InvalidCutoff(
                f"invalid date {text!r}: no such day; write YYYY-MM-DD, e.g. 2021-05-01"
            ) from None
        return datetime(day.year, day.month, day.day, tzinfo=timezone.utc)
    match = _DATETIME.match(value)
    if not match:
        raise InvalidCutoff(
            f"invalid date {text!r}: write YYYY-MM-DD (midnight UTC) or an RFC 3339 "
            "datetime such as 2021-05-01T12:00:00Z"
        )
    if match["zone"] is None:
        raise NaiveCutoff(
            f"datetime {text!r} has no time zone; write {value}Z for UTC or add an "
            "offset such as +02:00"
        )
    zone = match["zone"].upper()
    if zone != "Z" and ":" not in zone:
        zone = f"{zone[:3]}:{zone[3:]}"
    time = match["time"]
    if len(time) == 5:
        time += ":00"
    if "." in time:
        whole, fraction = time.split(".")
        time = f"{whole}.{fraction[:6].ljust(6, '0')}"
    try:
        parsed = datetime.fromisoformat(
            f"{match['date']}T{time}{'+00:00' if zone == 'Z' else zone}"
        )
    except ValueError:
        raise InvalidCutoff(
            f"invalid date {text!r}: a field is out of range; e.g. 2021-05-01T12:00:00Z"
        ) from None
    return parsed.astimezone(timezone.utc)


def format_cutoff(cutoff: datetime) -> str:
    """The canonical spelling: UTC, ``Z``, microseconds only when present."""
    utc = cutoff.astimezone(timezone.utc)
    spec = "seconds" if utc.microsecond == 0 else "microseconds"
    return utc.replace(tzinfo=None).isoformat(timespec=spec) + "Z"


def parse_upload_time(value: object) -> datetime | None:
    """Read an index's upload time (PEP 700 ``upload-time``, legacy ``upload_time_iso_8601``).

    Anything that is not a string with a zone counts as undated, so it is hidden unless the
    user allows undated files: a snapshot fails closed.
    """
    if not isinstance(value, str) or not value:
        return None
    text = value.strip()
    if text[-1:] in ("Z", "z"):
        text = text[:-1] + "+00:00"
    if "." in text:
        # Python 3.10's fromisoformat takes exactly 3 or 6 fraction digits.
        head, _, rest = text.partition(".")
        digits = re.match(r"\d*", rest)
        assert digits is not None
        fraction = digits.group(0)
        text = f"{head}.{fraction[:6].ljust(6, '0')}{rest[len(fraction) :]}"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return None
    return parsed


def is_visible(upload_time: datetime | None, cutoff: datetime, *, allow_undated: bool) -> bool:
    """The snapshot rule: a file exists at the cutoff iff it was uploaded strictly before it.

    Strict, as pip's ``--uploaded-prior-to`` and uv's ``--exclude-newer``.
    """
    if upload_time is None:
        return allow_undated
    return upload_time < cutoff


def is_recent(cutoff: datetime, now: datetime) -> bool:
    """Whether uploads may still land before the cutoff, so a resolution is not final yet."""
    return cutoff > now - RECENT
