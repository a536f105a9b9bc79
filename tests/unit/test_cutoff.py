"""DESIGN.md "Time": parsing the cutoff, reading upload times, the strict `<` rule, recency."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from freezegun import freeze_time

from snapproxy.cutoff import (
    CutoffError,
    InvalidCutoff,
    NaiveCutoff,
    format_cutoff,
    is_recent,
    is_visible,
    parse_cutoff,
    parse_upload_time,
    visible_count,
)

UTC = timezone.utc


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# --- parse_cutoff: accepted spellings ---------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # A bare date is midnight UTC, never local time.
        ("2021-05-01", utc(2021, 5, 1)),
        ("2020-02-29", utc(2020, 2, 29)),  # leap day of a leap year
        ("  2021-05-01 ", utc(2021, 5, 1)),  # surrounding blanks from a shell or a file
        ("2021-05-01T12:00:00Z", utc(2021, 5, 1, 12)),
        # RFC 3339 5.6 NOTE: "T" and "Z" may be lower case.
        ("2021-05-01t12:00:00z", utc(2021, 5, 1, 12)),
        ("2021-05-01T12:00:00z", utc(2021, 5, 1, 12)),
        ("2021-05-01t12:00:00Z", utc(2021, 5, 1, 12)),
        # RFC 3339 5.6 NOTE: a space may separate date and time.
        ("2021-05-01 12:00:00Z", utc(2021, 5, 1, 12)),
        # Offsets are converted to the same instant in UTC.
        ("2021-05-01T12:00:00+02:00", utc(2021, 5, 1, 10)),
        ("2021-05-01T01:30:00+02:00", utc(2021, 4, 30, 23, 30)),
        ("2021-05-01T12:00:00-05:30", utc(2021, 5, 1, 17, 30)),
        ("2021-05-01T12:00:00+00:00", utc(2021, 5, 1, 12)),
        ("2021-05-01T12:00:00-00:00", utc(2021, 5, 1, 12)),  # RFC 3339 4.3: unknown offset
        # Fractional seconds.
        ("2021-05-01T12:00:00.5Z", utc(2021, 5, 1, 12, 0, 0, 500000)),
        ("2021-05-01T12:00:00.123Z", utc(2021, 5, 1, 12, 0, 0, 123000)),
        ("2021-05-01T12:00:00.123456Z", utc(2021, 5, 1, 12, 0, 0, 123456)),
        ("2021-05-01T12:00:00.000001+01:00", utc(2021, 5, 1, 11, 0, 0, 1)),
    ],
)
def test_parse_cutoff_accepts(text: str, expected: datetime) -> None:
    parsed = parse_cutoff(text)
    assert parsed == expected
    # Always an aware UTC datetime, whatever offset was written.
    assert parsed.utcoffset() == timedelta(0)
    assert parsed.tzinfo == UTC


def test_parse_cutoff_with_more_than_microsecond_digits_keeps_the_microsecond() -> None:
    parsed = parse_cutoff("2021-05-01T12:00:00.123456789Z")
    assert utc(2021, 5, 1, 12, 0, 0, 123456) <= parsed <= utc(2021, 5, 1, 12, 0, 0, 123457)


def test_offsets_name_the_same_instant() -> None:
    assert (
        parse_cutoff("2021-05-01T14:00:00+02:00")
        == parse_cutoff("2021-05-01T12:00:00Z")
        == parse_cutoff("2021-05-01T07:00:00-05:00")
    )


# --- parse_cutoff: refusals -------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "yesterday",
        "2021",
        "2021-05",
        "2021-5-1",
        "01/05/2021",
        "20210501",
        "2021-05-01T",
        "2021-05-01T12:00:00 Z",  # blank before the zone
        "2021-05-01T12:00:00+02",  # offset without minutes
        "2021-05-01T12:00:00ZZ",
        "2021-05-01Z",  # a date has no zone of its own
        "1620000000",  # epoch seconds
    ],
)
def test_parse_cutoff_refuses_malformed_text(text: str) -> None:
    with pytest.raises(InvalidCutoff) as info:
        parse_cutoff(text)
    assert repr(text) in str(info.value)  # the message names the bad value


@pytest.mark.parametrize(
    "text",
    [
        "2021-02-29",  # 2021 is not a leap year
        "2021-02-30",
        "2021-04-31",
        "2021-13-01",
        "2021-00-10",
        "2021-05-00",
        "2021-02-30T00:00:00Z",
        "2021-05-01T24:00:00Z",
        "2021-05-01T12:60:00Z",
        "2021-05-01T12:00:61Z",
        "2021-05-01T12:00:00+25:00",
    ],
)
def test_parse_cutoff_refuses_impossible_fields(text: str) -> None:
    with pytest.raises(InvalidCutoff) as info:
        parse_cutoff(text)
    assert repr(text) in str(info.value)


@pytest.mark.parametrize(
    ("text", "fix"),
    [
        ("2021-05-01T12:00:00", "2021-05-01T12:00:00Z"),
        ("2021-05-01T00:00:00.5", "2021-05-01T00:00:00.5Z"),
        ("2021-05-01 12:00:00", "2021-05-01 12:00:00Z"),
    ],
)
def test_parse_cutoff_refuses_a_naive_datetime_and_shows_the_fix(text: str, fix: str) -> None:
    with pytest.raises(NaiveCutoff) as info:
        parse_cutoff(text)
    message = str(info.value)
    assert repr(text) in message
    assert fix in message  # the corrected spelling, ready to copy
    assert "+02:00" in message or "offset" in message


def test_cutoff_errors_are_value_errors() -> None:
    assert issubclass(InvalidCutoff, CutoffError)
    assert issubclass(NaiveCutoff, CutoffError)
    assert issubclass(CutoffError, ValueError)


@pytest.mark.parametrize("tz", ["UTC", "Pacific/Kiritimati", "America/Adak", "Asia/Kolkata"])
def test_parse_cutoff_does_not_depend_on_tz(tz: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    monkeypatch.setenv("TZ", tz)
    time.tzset()
    try:
        assert parse_cutoff("2021-05-01") == utc(2021, 5, 1)
        assert parse_cutoff("2021-05-01T12:00:00+02:00") == utc(2021, 5, 1, 10)
    finally:
        monkeypatch.undo()
        time.tzset()


# --- format_cutoff ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (utc(2021, 5, 1), "2021-05-01T00:00:00Z"),
        (utc(2021, 5, 1, 12, 30, 5), "2021-05-01T12:30:05Z"),
        (utc(2021, 5, 1, 12, 0, 0, 500000), "2021-05-01T12:00:00.500000Z"),
        (
            datetime(2021, 5, 1, 12, tzinfo=timezone(timedelta(hours=2))),
            "2021-05-01T10:00:00Z",
        ),
    ],
)
def test_format_cutoff(value: datetime, text: str) -> None:
    assert format_cutoff(value) == text


@pytest.mark.parametrize(
    "text",
    [
        "2021-05-01",
        "2021-05-01T12:00:00+02:00",
        "2021-05-01T12:00:00.000001Z",
        "1999-12-31t23:59:59.999999z",
    ],
)
def test_format_cutoff_round_trips(text: str) -> None:
    cutoff = parse_cutoff(text)
    assert parse_cutoff(format_cutoff(cutoff)) == cutoff


# --- parse_upload_time ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        # PEP 700 upload-time / legacy upload_time_iso_8601, as PyPI writes them.
        ("2021-03-01T10:00:00.123456Z", utc(2021, 3, 1, 10, 0, 0, 123456)),
        ("2021-03-01T10:00:00Z", utc(2021, 3, 1, 10)),
        ("2021-03-01T10:00:00.5Z", utc(2021, 3, 1, 10, 0, 0, 500000)),
        ("2021-03-01T10:00:00.123z", utc(2021, 3, 1, 10, 0, 0, 123000)),
        ("2021-03-01T10:00:00+02:00", utc(2021, 3, 1, 8)),
        ("2021-03-01T10:00:00.250000+00:00", utc(2021, 3, 1, 10, 0, 0, 250000)),
    ],
)
def test_parse_upload_time_reads_dated_values(value: str, expected: datetime) -> None:
    assert parse_upload_time(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "   ",
        0,
        1614592800,
        1614592800.5,
        [],
        {},
        True,
        "garbage",
        "2021-03-01T10:00:00",  # no zone: its instant is unknown
        "2021-03-01T10:00:00.123456",
        "2021-03-01",  # no time of day
        "2021-02-30T10:00:00Z",
    ],
)
def test_parse_upload_time_treats_everything_else_as_undated(value: object) -> None:
    assert parse_upload_time(value) is None


# --- is_visible: the one rule -----------------------------------------------------------

CUTOFF = parse_cutoff("2021-05-01")


@pytest.mark.parametrize(
    ("upload", "visible"),
    [
        ("2021-04-30T23:59:59.999999Z", True),
        ("2021-04-30T23:59:59Z", True),
        ("2021-05-01T00:00:00Z", False),  # exactly at the cutoff: hidden (strict <)
        ("2021-05-01T00:00:00.000000Z", False),
        ("2021-05-01T00:00:00.000001Z", False),
        ("2021-05-01T00:00:01Z", False),
        # The same instants written with an offset.
        ("2021-05-01T01:59:59.999999+02:00", True),
        ("2021-05-01T02:00:00+02:00", False),
        ("2021-04-30T19:00:00-05:00", False),
        ("2021-04-30T18:59:59-05:00", True),
        # More digits than microseconds: 0.5 us after the cutoff is still after it,
        # 0.1 us before it is still before it.
        ("2021-05-01T00:00:00.0000005Z", False),
        ("2021-04-30T23:59:59.9999999Z", True),
        ("1970-01-01T00:00:00Z", True),
        ("2099-01-01T00:00:00Z", False),
    ],
)
def test_visible_iff_uploaded_strictly_before_cutoff(upload: str, visible: bool) -> None:
    parsed = parse_upload_time(upload)
    assert parsed is not None
    assert is_visible(parsed, CUTOFF, allow_undated=False) is visible
    # allow_undated only concerns undated files.
    assert is_visible(parsed, CUTOFF, allow_undated=True) is visible


@pytest.mark.parametrize(
    ("cutoff_text", "upload", "visible"),
    [
        ("2021-05-01T12:00:00.5Z", "2021-05-01T12:00:00.499999Z", True),
        ("2021-05-01T12:00:00.5Z", "2021-05-01T12:00:00.500000Z", False),
        ("2021-05-01T12:00:00+02:00", "2021-05-01T09:59:59.999999Z", True),
        ("2021-05-01T12:00:00+02:00", "2021-05-01T10:00:00Z", False),
        ("2021-05-01t12:00:00z", "2021-05-01T12:00:00Z", False),
    ],
)
def test_visibility_against_precise_cutoffs(cutoff_text: str, upload: str, visible: bool) -> None:
    assert (
        is_visible(parse_upload_time(upload), parse_cutoff(cutoff_text), allow_undated=False)
        is visible
    )


@pytest.mark.parametrize(("allow_undated", "visible"), [(False, False), (True, True)])
def test_undated_files_fail_closed(allow_undated: bool, visible: bool) -> None:
    assert is_visible(None, CUTOFF, allow_undated=allow_undated) is visible


@pytest.mark.parametrize("upload", [None, utc(2021, 5, 1), utc(9999, 12, 31, 23, 59, 59)])
@pytest.mark.parametrize("allow_undated", [False, True])
def test_no_cutoff_shows_every_file(upload: datetime | None, allow_undated: bool) -> None:
    # --package-date NAME=none: no instant a file would have to come before, undated or not.
    assert is_visible(upload, None, allow_undated=allow_undated)


SORTED_UPLOADS = [
    "2021-04-30T23:59:59.999999Z",
    "2021-05-01T00:00:00.000000Z",
    "2021-05-01T00:00:00.000000Z",
    "2021-05-01T00:00:00.000001Z",
    "2022-01-01T00:00:00.000000Z",
]


@pytest.mark.parametrize(
    "cutoff",
    [
        "2020-01-01T00:00:00.000000Z",
        "2021-04-30T23:59:59.999999Z",
        "2021-05-01T00:00:00.000000Z",
        "2021-05-01T00:00:00.000001Z",
        "2021-05-01T00:00:00.000002Z",
        "2023-01-01T00:00:00.000000Z",
        None,
    ],
)
def test_visible_count_counts_what_is_visible_keeps(cutoff: str | None) -> None:
    kept = [t for t in SORTED_UPLOADS if is_visible(t, cutoff, allow_undated=False)]
    assert visible_count(SORTED_UPLOADS, cutoff) == len(kept)
    assert SORTED_UPLOADS[: len(kept)] == kept  # a prefix: the count says which


# --- is_recent --------------------------------------------------------------------------

NOW = "2024-06-01T12:00:00Z"


@pytest.mark.parametrize(
    ("cutoff_text", "recent"),
    [
        ("2024-06-01T10:00:00Z", False),  # two hours ago
        ("2024-06-01T11:00:00Z", False),  # exactly one hour ago: not *later* than that
        ("2024-06-01T11:00:00.000001Z", True),
        ("2024-06-01T11:30:00Z", True),
        ("2024-06-01T12:00:00Z", True),  # now
        ("2024-06-02", True),  # the future
        ("2024-06-01", False),  # today's date, twelve hours ago
        ("2024-06-01T13:00:00+02:00", False),  # 11:00Z
        ("2024-06-01T13:30:00+02:00", True),  # 11:30Z
        ("2021-05-01", False),
    ],
)
def test_is_recent(cutoff_text: str, recent: bool) -> None:
    with freeze_time(NOW):
        assert is_recent(parse_cutoff(cutoff_text), datetime.now(UTC)) is recent


def test_a_recent_cutoff_stops_being_recent_as_time_passes() -> None:
    cutoff = parse_cutoff("2024-06-01T11:30:00Z")
    with freeze_time(NOW) as frozen:
        assert is_recent(cutoff, datetime.now(UTC))
        frozen.tick(timedelta(minutes=29, seconds=59))
        assert is_recent(cutoff, datetime.now(UTC))
        frozen.tick(timedelta(seconds=1))
        assert not is_recent(cutoff, datetime.now(UTC))
