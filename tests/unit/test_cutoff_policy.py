"""--date and --package-date: which cutoff applies to which project, and when (cutoff_policy).

The rolling cutoff is read under freezegun: the clock is set, then moved, and the instant a
duration names moves with it; a fixed instant does not.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from freezegun import freeze_time

from snapproxy.cutoff import CutoffError, NaiveCutoff, UnreadableCutoff, format_cutoff
from snapproxy.cutoff_policy import (
    CutoffPolicy,
    InvalidPackageDate,
    RepeatedPackageDate,
    cutoff_at,
    describe,
    is_final,
    package_dates,
    parse_date,
    parse_package_date,
    summary,
)
from snapproxy.duration import CalendarDuration, InvalidDuration
from snapproxy.snapshot import Snapshot

UTC = timezone.utc


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def now() -> datetime:
    return datetime.now(UTC)


# --- parse_date: an instant or a duration -------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("2021-05-01", utc(2021, 5, 1)),
        ("2021-05-01T12:00:00+02:00", utc(2021, 5, 1, 10)),
        ("P7D", timedelta(days=7)),
        ("7d", timedelta(days=7)),
        ("PT12H", timedelta(hours=12)),
        ("1w", timedelta(weeks=1)),
        ("30m", timedelta(minutes=30)),
    ],
)
def test_parse_date(text: str, value: datetime | timedelta) -> None:
    assert parse_date(text) == value


@pytest.mark.parametrize(
    ("text", "error", "named"),
    [
        ("yesterday", UnreadableCutoff, ["'yesterday'", "YYYY-MM-DD", "RFC 3339", "P7D", "7d"]),
        ("", UnreadableCutoff, ["''", "P7D"]),
        ("2021-02-30", CutoffError, ["'2021-02-30'", "no such day"]),
        ("2021-05-01T12:00:00", NaiveCutoff, ["2021-05-01T12:00:00Z"]),
        ("P1M", CalendarDuration, ["'P1M'", "length varies"]),
        ("7x", InvalidDuration, ["'7x'", "P7D", "7d"]),
    ],
)
def test_parse_date_refuses_naming_the_value_and_the_forms(
    text: str, error: type[Exception], named: list[str]
) -> None:
    with pytest.raises(error) as info:
        parse_date(text)
    for part in named:
        assert part in str(info.value)


# --- the rolling cutoff, under a frozen clock ----------------------------------------------


@pytest.mark.parametrize(
    ("clock", "written", "instant"),
    [
        ("2026-12-02T15:40:00Z", "P7D", utc(2026, 11, 25, 15, 40)),
        ("2026-12-02T15:40:00Z", "7d", utc(2026, 11, 25, 15, 40)),
        ("2026-12-02T15:40:00Z", "PT12H", utc(2026, 12, 2, 3, 40)),
        ("2026-12-02T15:40:00Z", "P1W", utc(2026, 11, 25, 15, 40)),
        ("2026-12-02T15:40:00Z", "P1DT12H", utc(2026, 12, 1, 3, 40)),
        ("2026-12-02T15:40:00Z", "30m", utc(2026, 12, 2, 15, 10)),
        ("2026-12-02T15:40:00Z", "P30D", utc(2026, 11, 2, 15, 40)),
        # To the whole second: a rolling cutoff is printed and recorded as one.
        ("2026-12-02T15:40:00.987654Z", "P7D", utc(2026, 11, 25, 15, 40)),
        # Over a leap day and a daylight-saving change: a day is 24 hours, in UTC.
        ("2024-03-01T00:00:00Z", "P1D", utc(2024, 2, 29)),
        ("2026-03-30T12:00:00Z", "P2D", utc(2026, 3, 28, 12)),
        # A fixed instant is itself, whenever it is read.
        ("2026-12-02T15:40:00Z", "2021-05-01", utc(2021, 5, 1)),
    ],
)
def test_a_cutoff_at_a_frozen_moment(clock: str, written: str, instant: datetime) -> None:
    with freeze_time(clock):
        assert cutoff_at(parse_date(written), now()) == instant


def test_the_rolling_window_moves_with_the_clock() -> None:
    rolling, fixed = parse_date("P7D"), parse_date("2021-05-01")
    with freeze_time("2026-12-02T15:40:00Z") as clock:
        first = cutoff_at(rolling, now())
        clock.tick(timedelta(hours=5))
        assert cutoff_at(rolling, now()) == first + timedelta(hours=5)
        clock.move_to("2027-01-01T00:00:00Z")
        assert cutoff_at(rolling, now()) == utc(2026, 12, 25)
        assert cutoff_at(fixed, now()) == utc(2021, 5, 1)


def test_a_duration_longer_than_history_names_the_earliest_instant() -> None:
    earliest = datetime.min.replace(tzinfo=UTC)
    assert cutoff_at(timedelta(days=999_999_999), utc(2026, 1, 1)) == earliest
    assert cutoff_at(utc(2026, 1, 1) - earliest, utc(2026, 1, 1)) == earliest


def test_none_is_no_cutoff() -> None:
    assert cutoff_at(None, utc(2026, 1, 1)) is None


# --- --package-date -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("item", "project", "cutoff"),
    [
        ("certifi=2024-01-01", "certifi", utc(2024, 1, 1)),
        # PEP 503: the name as the index's URLs spell it.
        ("Zope.Interface=2024-01-01", "zope-interface", utc(2024, 1, 1)),
        ("typing_extensions=P7D", "typing-extensions", timedelta(days=7)),
        ("six=none", "six", None),
        ("six=NONE", "six", None),
        ("six=7d", "six", timedelta(days=7)),
        ("six=2024-01-01T12:00:00+01:00", "six", utc(2024, 1, 1, 11)),
        (" six = 2024-01-01 ", "six", utc(2024, 1, 1)),
    ],
)
def test_parse_package_date(item: str, project: str, cutoff: object) -> None:
    assert parse_package_date(item) == (project, cutoff)


@pytest.mark.parametrize(
    ("item", "named"),
    [
        ("certifi", ["'certifi'", "no '='", "NAME=CUTOFF", "none"]),
        ("=2024-01-01", ["'=2024-01-01'", "invalid project name"]),
        ("cert/ifi=2024-01-01", ["'cert/ifi=2024-01-01'", "invalid project name", "PEP 508"]),
        ("-six=2024-01-01", ["invalid project name"]),
        ("six=", ["'six='", "YYYY-MM-DD", "none"]),
        ("six=soon", ["'six=soon'", "'soon'", "P7D", "none"]),
        ("six=P1M", ["'six=P1M'", "length varies"]),
        ("six=2024-01-01T00:00:00", ["'six=2024-01-01T00:00:00'", "time zone"]),
    ],
)
def test_invalid_package_dates_name_the_item_and_the_forms(item: str, named: list[str]) -> None:
    with pytest.raises(InvalidPackageDate) as info:
        parse_package_date(item)
    for part in named:
        assert part in str(info.value)


def test_package_dates_gathers_items_by_normal_name() -> None:
    assert package_dates(["certifi=2024-01-01", "Six=none", "six=none"]) == {
        "certifi": utc(2024, 1, 1),
        "six": None,
    }


def test_one_project_with_two_cutoffs_is_refused() -> None:
    with pytest.raises(RepeatedPackageDate) as info:
        package_dates(["Zope.Interface=2024-01-01", "zope_interface=2025-01-01"])
    message = str(info.value)
    assert "'Zope.Interface=2024-01-01'" in message
    assert "'zope_interface=2025-01-01'" in message
    assert "zope-interface" in message


# --- precedence, and the snapshots at one moment -------------------------------------------


def test_a_project_cutoff_wins_over_the_default_for_that_project_only() -> None:
    policy = CutoffPolicy(
        utc(2021, 5, 1), {"certifi": utc(2024, 1, 1), "six": None, "pip": timedelta(days=7)}
    )
    snapshots = policy.at(utc(2026, 12, 2), "ignore", allow_undated=False)
    assert snapshots.of("requests") == Snapshot(utc(2021, 5, 1), "ignore")
    assert snapshots.of("certifi") == Snapshot(utc(2024, 1, 1), "ignore")
    assert snapshots.of("six") == Snapshot(None, "ignore")
    assert snapshots.of("pip") == Snapshot(utc(2026, 11, 25), "ignore")
    # A cutoff named in a URL replaces the default; the projects' own stay.
    other = policy.with_default(timedelta(days=30)).at(utc(2026, 12, 2), "keep", False)
    assert other.of("requests").cutoff == utc(2026, 11, 2)
    assert other.of("certifi").cutoff == utc(2024, 1, 1)


@pytest.mark.parametrize(
    ("cutoff", "final"),
    [
        (utc(2021, 5, 1), True),
        (utc(2026, 12, 2) - timedelta(minutes=30), False),  # uploads may still land before it
        (utc(2027, 1, 1), False),
        (timedelta(days=7), False),  # rolling: moves with the clock
        (None, False),  # no cutoff: every new upload shows
    ],
)
def test_only_a_past_instant_is_final(cutoff: datetime | timedelta | None, final: bool) -> None:
    assert is_final(cutoff, utc(2026, 12, 2)) is final


@pytest.mark.parametrize(
    ("cutoff", "text"),
    [
        (utc(2021, 5, 1), "2021-05-01T00:00:00Z"),
        (timedelta(weeks=1), "P7D"),
        (None, "none"),
    ],
)
def test_describe(cutoff: datetime | timedelta | None, text: str) -> None:
    assert describe(cutoff) == text


def test_summary_names_the_duration_the_instant_and_the_projects_own() -> None:
    with freeze_time("2026-12-02T15:40:07.5Z"):
        assert summary(CutoffPolicy(utc(2021, 5, 1)), now()) == "2021-05-01T00:00:00Z"
        policy = CutoffPolicy(timedelta(days=30), {"six": None, "certifi": utc(2024, 1, 1)})
        text = summary(policy, now())
    assert text == (
        "P30D before now, rolling (2026-11-02T15:40:07Z at start) "
        "(own cutoffs: certifi: 2024-01-01T00:00:00Z; six: none)"
    )
    assert format_cutoff(utc(2026, 11, 2, 15, 40, 7)) in text
