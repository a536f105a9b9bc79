"""Durations, for a cutoff that is "now minus N": ISO 8601 and the short forms.

ISO 8601-1 section 5.5.2 writes a duration ``PnYnMnWnDTnHnMnS``: ``P``, then the date
part, ``T``, then the time part; any zero part may be left out, the last one written may
carry a decimal fraction (``.`` or ``,``).  Years and months are refused: their length
depends on which ones they are (28 to 31 days, 365 or 366), so "now minus one month" would
need a calendar and a time zone, and the same text would hide a different amount of time
in February than in March.  Weeks, days, hours, minutes and seconds have one length each
(a day is 24 hours; UTC has no daylight saving).  ``P1W2D`` (weeks beside other parts, which
the 2019 edition allows) is accepted.

The short forms are whole numbers with a unit letter, largest unit first: ``7d``, ``12h``,
``1w``, ``30m`` (minutes), ``45s``, or together, ``1d12h``.  ``m`` is minutes, as in most
tools' short forms; a month has no short form.
"""

from __future__ import annotations

import re
from datetime import timedelta

from snapproxy.cutoff import CutoffError

__all__ = [
    "DURATION_FORMS",
    "CalendarDuration",
    "InvalidDuration",
    "format_duration",
    "looks_like_duration",
    "parse_duration",
]

DURATION_FORMS = (
    "an ISO 8601 duration such as P7D, PT12H, P1W or P1DT12H, or a short form such as 7d, "
    "12h, 1w or 30m"
)

_NUMBER = r"\d+(?:[.,]\d+)?"
_ISO = re.compile(
    rf"P(?:(?P<years>{_NUMBER})Y)?(?:(?P<months>{_NUMBER})M)?(?:(?P<weeks>{_NUMBER})W)?"
    rf"(?:(?P<days>{_NUMBER})D)?"
    rf"(?:T(?:(?P<hours>{_NUMBER})H)?(?:(?P<minutes>{_NUMBER})M)?(?:(?P<seconds>{_NUMBER})S)?)?",
    re.IGNORECASE,
)
_SHORT = re.compile(
    r"(?:(?P<weeks>\d+)w)?(?:(?P<days>\d+)d)?(?:(?P<hours>\d+)h)?(?:(?P<minutes>\d+)m)?"
    r"(?:(?P<seconds>\d+)s)?",
    re.IGNORECASE,
)
# A short form with a calendar unit, to say why it is refused rather than only that it is.
_SHORT_CALENDAR = re.compile(r"\d+\s*(?:y|yr|yrs|years?|mo|mos|months?)", re.IGNORECASE)
# What a user meant as a duration: ISO's leading P, or a number with a unit after it (a date
# starts with four digits and a dash).
_DURATION_LIKE = re.compile(r"[Pp][0-9Tt].*|\d+\s*[A-SU-Za-su-z].*", re.DOTALL)

_UNITS = ("weeks", "days", "hours", "minutes", "seconds")


class InvalidDuration(CutoffError):
    """The text is neither an ISO 8601 duration nor one of the short forms."""


class CalendarDuration(InvalidDuration):
    """A duration in years or months: their length varies, so "now minus it" is not one age."""


def looks_like_duration(text: str) -> bool:
    """Whether ``text`` was meant as a duration (so a mistake in it is explained as one)."""
    return bool(_DURATION_LIKE.fullmatch(text.strip()))


def parse_duration(text: str) -> timedelta:
    """ISO 8601 ``P7D``, ``PT12H``, ``P1W``, ``P1DT12H`` or short ``7d``, ``12h``, ``1w``,
    ``30m`` as a positive :class:`~datetime.timedelta` (a day is 24 hours)."""
    value = text.strip()
    iso = value[:1] in ("P", "p")
    match = (_ISO if iso else _SHORT).fullmatch(value)
    parts = {} if match is None else match.groupdict()
    if parts.get("years") or parts.get("months") or _SHORT_CALENDAR.fullmatch(value):
        raise CalendarDuration(
            f"duration {text!r} counts years or months, whose length varies; write days or "
            "weeks instead, e.g. P30D or P52W (minutes are PT30M, or 30m)"
        )
    # ISO 8601 needs at least one part, and a "T" only before a time part.
    if not any(parts.values()) or value.upper().endswith("T"):
        if iso and "T" not in value.upper() and re.search(r"\d[HhSs]", value):
            raise InvalidDuration(
                f"invalid duration {text!r}: hours, minutes and seconds come after a T, "
                f"e.g. PT12H or P1DT12H"
            )
        raise InvalidDuration(f"invalid duration {text!r}: write {DURATION_FORMS}")
    written = [unit for unit in _UNITS if parts.get(unit)]
    # ISO 8601 lets only the last part written carry a fraction.
    if any(re.search("[.,]", parts[unit] or "") for unit in written[:-1]):
        raise InvalidDuration(
            f"invalid duration {text!r}: only its last part may have a fraction, e.g. P1DT12.5H"
        )
    try:
        age = timedelta(**{unit: float(parts[unit].replace(",", ".")) for unit in written})
    except OverflowError:
        raise InvalidDuration(
            f"duration {text!r} is too long; write at most 999999999 days"
        ) from None
    if age <= timedelta(0):
        raise InvalidDuration(
            f"duration {text!r} is zero, so it hides nothing; write a positive one, e.g. P7D"
        )
    return age


def format_duration(age: timedelta) -> str:
    """The canonical ISO 8601 spelling: days and a time part, no weeks (``P1W`` is ``P7D``),
    seconds with a fraction only when there is one."""
    days = age.days
    seconds = age.seconds
    hours, rest = divmod(seconds, 3600)
    minutes, whole = divmod(rest, 60)
    second = f"{whole}.{age.microseconds:06d}".rstrip("0") if age.microseconds else f"{whole}"
    date_part = f"{days}D" if days else ""
    time_part = "".join(
        f"{amount}{unit}"
        for amount, unit in ((hours, "H"), (minutes, "M"), (second, "S"))
        if amount not in (0, "0")
    )
    return "P" + date_part + (f"T{time_part}" if time_part else "")
