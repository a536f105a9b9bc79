"""The snapshot instant: parsing it, and the one rule that decides what it hides.

A cutoff is an aware UTC :class:`~datetime.datetime`.  ``2021-05-01`` means
``2021-05-01T00:00:00Z``; RFC 3339 datetimes with ``Z`` or an offset are accepted.  A
datetime without a zone is refused: pip and uv read such a value in local time, which
would make a resolution depend on ``TZ``.

The rule compares datetimes, or the same instants as fixed-width UTC text
(:func:`instant_text`): a page's upload times are read once into that form, which for
PyPI's own spelling needs no datetime at all (:func:`upload_instant`).
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Sequence
from datetime import date, datetime, timedelta, timezone
from typing import TypeVar

__all__ = [
    "CutoffError",
    "InvalidCutoff",
    "NaiveCutoff",
    "UnreadableCutoff",
    "format_cutoff",
    "instant_text",
    "is_future",
    "is_recent",
    "is_visible",
    "parse_cutoff",
    "parse_upload_time",
    "upload_instant",
    "visible_count",
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


class UnreadableCutoff(InvalidCutoff):
    """The text has the shape of no date or datetime at all (not merely a field out of range)."""


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
        raise UnreadableCutoff(
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


# An instant as fixed-width UTC text, YYYY-MM-DDTHH:MM:SS.ffffffZ: such texts order as the
# instants they name, so comparing them needs no datetime.
_INSTANT_WIDTH = len("2021-05-01T00:00:00.000000Z")
# What datetime cannot hold in UTC (an offset pushing year 1 or 9999 over the edge): texts
# below and above every instant text a datetime can have.
_BEFORE_YEAR_1 = "0000-00-00T00:00:00.000000Z"
_AFTER_YEAR_9999 = "9999-12-31T24:00:00.000000Z"
# PyPI's spelling of an upload time (PEP 700 ``upload-time``, legacy
# ``upload_time_iso_8601``): UTC, "Z", seconds, and no fraction or exactly six digits.  The
# date part accepts only days that every year has (a 29th of February goes the long way),
# the time part only hours 00-23 and minutes and seconds 00-59, as datetime does.
_PYPI_UPLOAD_TIME = re.compile(
    r"(?!0000)[0-9]{4}-"
    r"(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])"
    r"|(?:0[13-9]|1[0-2])-(?:29|30)"
    r"|(?:0[13578]|1[02])-31)"
    r"T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]{6})?Z"
)


def instant_text(moment: datetime) -> str:
    """An aware datetime as ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` in UTC.

    Two such texts compare as the instants do, so :func:`is_visible` can take them in
    place of datetimes.  Instants a UTC datetime cannot hold (within a day of the ends of
    years 1 and 9999) read as texts below and above every other, which orders them right
    against any cutoff.
    """
    if moment.utcoffset() is None:
        raise TypeError(f"{moment!r} has no time zone: its instant is unknown")
    try:
        utc = moment.astimezone(timezone.utc)
    except OverflowError:
        return _BEFORE_YEAR_1 if moment.year == 1 else _AFTER_YEAR_9999
    return utc.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def upload_instant(value: object) -> str | None:
    """:func:`parse_upload_time` as :func:`instant_text`, without a datetime for PyPI's form.

    An upload time written as PyPI writes it (``2021-05-01T12:00:00.123456Z`` or
    ``2021-05-01T12:00:00Z``) already is, or is one step from, its instant text; anything
    else (offsets, other fraction lengths, lower-case ``z``, blanks, 29 February, no zone)
    is read by :func:`parse_upload_time`, so both ways give the same answer.
    """
    if isinstance(value, str) and _PYPI_UPLOAD_TIME.fullmatch(value):
        return value if len(value) == _INSTANT_WIDTH else value[:-1] + ".000000Z"
    parsed = parse_upload_time(value)
    return None if parsed is None else instant_text(parsed)


_Moment = TypeVar("_Moment", datetime, str)


def is_visible(upload_time: _Moment | None, cutoff: _Moment | None, *, allow_undated: bool) -> bool:
    """The snapshot rule: a file exists at the cutoff iff it was uploaded strictly before it.

    Strict, as pip's ``--uploaded-prior-to`` and uv's ``--exclude-newer``.  The upload time
    and the cutoff are both datetimes or both :func:`instant_text` (which order the same).
    A cutoff of ``None`` is no cutoff (``--package-date NAME=none``): every file exists,
    an undated one too, as there is no instant it would have to come before.
    """
    if cutoff is None:
        return True
    if upload_time is None:
        return allow_undated
    return upload_time < cutoff


def visible_count(uploaded: Sequence[_Moment], cutoff: _Moment | None) -> int:
    """How many of ``uploaded`` (dated upload instants, ascending) :func:`is_visible` keeps.

    Those it keeps are a prefix, as the rule is a comparison with one instant; so this count
    alone says which dated files a cutoff shows, whatever instant it is exactly.
    """
    return bisect_left(uploaded, True, key=lambda t: not is_visible(t, cutoff, allow_undated=False))


def is_recent(cutoff: datetime, now: datetime) -> bool:
    """Whether uploads may still land before the cutoff, so a resolution is not final yet."""
    return cutoff > now - RECENT


def is_future(cutoff: datetime, now: datetime) -> bool:
    """Whether the cutoff has not come yet: the snapshot then grows with every upload."""
    return cutoff > now
