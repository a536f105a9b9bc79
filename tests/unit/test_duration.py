"""Durations for a rolling cutoff: ISO 8601-1 5.5.2 and the short forms (snapproxy.duration)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from snapproxy.cutoff import CutoffError
from snapproxy.duration import (
    CalendarDuration,
    InvalidDuration,
    format_duration,
    looks_like_duration,
    parse_duration,
)

D = timedelta


@pytest.mark.parametrize(
    ("text", "age"),
    [
        # ISO 8601: P, the date part, T, the time part.
        ("P7D", D(days=7)),
        ("PT12H", D(hours=12)),
        ("P1W", D(weeks=1)),
        ("P1DT12H", D(days=1, hours=12)),
        ("PT30M", D(minutes=30)),
        ("PT90S", D(seconds=90)),
        ("P2W3D", D(days=17)),  # weeks beside days (ISO 8601-1:2019 allows it)
        ("P1DT2H3M4S", D(days=1, hours=2, minutes=3, seconds=4)),
        ("P0DT1H", D(hours=1)),  # a zero part may be written
        ("p7d", D(days=7)),  # designators in either case
        ("pt12h", D(hours=12)),
        # A decimal fraction on the last part, with "." or "," (ISO 8601-1 5.5.2.4).
        ("P1.5D", D(days=1, hours=12)),
        ("PT0,5H", D(minutes=30)),
        ("P1DT0.5S", D(days=1, microseconds=500_000)),
        # Short forms: whole numbers and a unit, largest first; m is minutes.
        ("7d", D(days=7)),
        ("12h", D(hours=12)),
        ("1w", D(weeks=1)),
        ("30m", D(minutes=30)),
        ("45s", D(seconds=45)),
        ("1d12h", D(days=1, hours=12)),
        ("2w1d", D(days=15)),
        ("7D", D(days=7)),
        ("  7d ", D(days=7)),  # blanks around, from a shell or a file
    ],
)
def test_accepted(text: str, age: timedelta) -> None:
    assert parse_duration(text) == age
    assert looks_like_duration(text)


@pytest.mark.parametrize(
    "text",
    ["P1Y", "P1M", "P1Y2D", "P1MT2H", "p2m", "1y", "1mo", "2 months", "3 years", "1yr"],
)
def test_years_and_months_are_refused_with_the_reason(text: str) -> None:
    with pytest.raises(CalendarDuration) as info:
        parse_duration(text)
    message = str(info.value)
    assert repr(text) in message
    assert "length varies" in message
    assert "P30D" in message  # a form that is accepted, to copy


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("P", "P7D"),
        ("PT", "P7D"),
        ("P7", "P7D"),
        ("P1DT", "P7D"),  # a T with no time part after it
        ("PT7D", "P7D"),  # days after the T
        ("P1H", "after a T"),  # hours before the T
        ("P1D2W", "P7D"),  # out of order
        ("P-7D", "P7D"),  # no sign in ISO 8601 durations
        ("7x", "7d"),
        ("7 d", "7d"),
        ("d7", "7d"),
        ("1h1d", "7d"),  # short form, smallest first
        ("1.5d", "7d"),  # short forms are whole numbers
        ("P1.5DT2H", "only its last part"),  # a fraction that is not on the last part
    ],
)
def test_malformed_durations_name_the_value_and_the_forms(text: str, hint: str) -> None:
    with pytest.raises(InvalidDuration) as info:
        parse_duration(text)
    message = str(info.value)
    assert repr(text) in message
    assert hint in message


@pytest.mark.parametrize("text", ["P0D", "PT0S", "0d", "0h0m"])
def test_a_zero_duration_is_refused(text: str) -> None:
    with pytest.raises(InvalidDuration, match="zero"):
        parse_duration(text)


def test_a_duration_longer_than_a_timedelta_is_refused() -> None:
    with pytest.raises(InvalidDuration, match="too long"):
        parse_duration("P9999999999D")


def test_duration_errors_are_cutoff_errors() -> None:
    # So every place that reports a bad cutoff reports a bad duration the same way.
    assert issubclass(CalendarDuration, InvalidDuration)
    assert issubclass(InvalidDuration, CutoffError)


@pytest.mark.parametrize(
    "text",
    [
        "2021-05-01",
        "2021-05-01T12:00:00Z",
        "20210501",
        "20210501T120000Z",
        "yesterday",
        "",
        "1620000000",
    ],
)
def test_dates_and_other_words_do_not_look_like_durations(text: str) -> None:
    assert not looks_like_duration(text)


@pytest.mark.parametrize(
    ("age", "text"),
    [
        (D(days=7), "P7D"),
        (D(weeks=1), "P7D"),  # weeks are written as days
        (D(hours=12), "PT12H"),
        (D(days=1, hours=12), "P1DT12H"),
        (D(minutes=30), "PT30M"),
        (D(days=1, seconds=5), "P1DT5S"),
        (D(seconds=1, microseconds=500_000), "PT1.5S"),
        (D(days=400), "P400D"),
    ],
)
def test_format_duration(age: timedelta, text: str) -> None:
    assert format_duration(age) == text
    assert parse_duration(text) == age  # and it reads back
