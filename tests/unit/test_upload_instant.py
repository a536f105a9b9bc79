"""Upload times compared as text (cutoff.upload_instant) against the datetime reading.

PyPI's two spellings (``...:SS.ffffffZ`` and ``...:SSZ``) are compared as fixed-width UTC
text; everything else goes through :func:`parse_upload_time`.  Whichever way a value
goes, the rule must see the same instant: these tests hold the text path to the
datetime path on the forms where a shortcut would go wrong.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from snapproxy.cutoff import (
    instant_text,
    is_visible,
    parse_cutoff,
    parse_upload_time,
    upload_instant,
)

UTC = timezone.utc

# The awkward spellings of upload times, each against cutoffs on and around its instant.
TRICKY = [
    # PyPI's own forms: taken as text.
    "2021-05-01T12:00:00.000000Z",
    "2021-05-01T12:00:00.250000Z",
    "2021-05-01T12:00:00Z",  # no fraction: "Z" sorts after "." as raw text
    "2021-05-01T11:59:59.999999Z",
    "2021-05-01T12:00:00.500000Z",
    "2021-02-28T23:59:59Z",
    "2021-04-30T00:00:00Z",
    "2021-01-31T00:00:00.000001Z",
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59.999999Z",
    # Other fraction lengths.
    "2021-05-01T12:00:00.5Z",
    "2021-05-01T12:00:00.25Z",
    "2021-05-01T12:00:00.123Z",
    "2021-05-01T12:00:00.0000005Z",  # beyond microseconds: truncated
    "2021-05-01T12:00:00.2500009Z",
    "2021-05-01T12:00:00.999999999Z",
    "2021-05-01T12:00:00.Z",
    # Zones other than "Z".
    "2021-05-01T12:00:00z",
    "2021-05-01T12:00:00.250000z",
    "2021-05-01T12:00:00+00:00",
    "2021-05-01T12:00:00.250000+00:00",
    "2021-05-01T14:00:00+02:00",
    "2021-05-01T07:00:00-05:00",
    "2021-05-01T12:00:00-00:00",
    "2021-05-01T12:00:00+0000",
    # No zone, or no time: undated.
    "2021-05-01T12:00:00",
    "2021-05-01T12:00:00.250000",
    "2021-05-01",
    # Blanks, separators, case.
    " 2021-05-01T12:00:00Z",
    "2021-05-01T12:00:00Z ",
    "2021-05-01T12:00:00Z\n",
    "2021-05-01 12:00:00Z",
    "2021-05-01t12:00:00Z",
    "2021-05-01T12:00Z",
    # Impossible fields: undated, never a text that merely sorts well.
    "2021-02-29T00:00:00Z",
    "2020-02-29T00:00:00Z",  # a leap day is real
    "2000-02-29T00:00:00Z",
    "1900-02-29T00:00:00Z",
    "2021-02-30T00:00:00Z",
    "2021-04-31T00:00:00Z",
    "2021-13-01T00:00:00Z",
    "2021-00-01T00:00:00Z",
    "2021-05-00T00:00:00Z",
    "2021-05-01T24:00:00Z",
    "2021-05-01T23:60:00Z",
    "2021-05-01T23:59:60Z",  # a leap second
    "0000-01-01T00:00:00Z",
    "2021-5-01T12:00:00Z",
    "\uff12\uff10\uff12\uff11-05-01T12:00:00Z",  # full-width digits
    "2021-05-01T12:00:00.\uff12Z",
    # Instants a UTC datetime cannot hold.
    "0001-01-01T00:30:00+01:00",
    "9999-12-31T23:30:00-01:00",
    # Not strings at all.
    None,
    "",
    "   ",
    0,
    1619870400,
    [],
    {},
    True,
]

CUTOFFS = [
    "2021-05-01T12:00:00Z",
    "2021-05-01T12:00:00.25Z",
    "2021-05-01T12:00:00.5Z",
    "2021-05-01T11:59:59.999999Z",
    "2021-05-01T12:00:00.000001Z",
    "2021-05-01",
    "2021-03-01",
    "2020-02-29T00:00:00.000001Z",
    "0001-01-01",
    "0001-01-01T00:00:00.000001Z",
    "9999-12-31T23:59:59.999999Z",
]


def by_datetime(value: object, cutoff: datetime, allow_undated: bool) -> bool:
    return is_visible(parse_upload_time(value), cutoff, allow_undated=allow_undated)


def by_text(value: object, cutoff: datetime, allow_undated: bool) -> bool:
    return is_visible(upload_instant(value), instant_text(cutoff), allow_undated=allow_undated)


@pytest.mark.parametrize("value", TRICKY)
def test_text_and_datetime_paths_agree(value: Any) -> None:
    for cutoff in CUTOFFS:
        moment = parse_cutoff(cutoff)
        for allow_undated in (False, True):
            want = by_datetime(value, moment, allow_undated)
            assert by_text(value, moment, allow_undated) == want, (cutoff, allow_undated)


@pytest.mark.parametrize("value", TRICKY)
def test_undated_on_one_path_is_undated_on_the_other(value: Any) -> None:
    assert (upload_instant(value) is None) == (parse_upload_time(value) is None)


@pytest.mark.parametrize(
    ("value", "instant"),
    [
        # PyPI's six-digit form is its own instant text (the page's string, no copy).
        ("2021-05-01T12:00:00.250000Z", "2021-05-01T12:00:00.250000Z"),
        ("2021-05-01T12:00:00Z", "2021-05-01T12:00:00.000000Z"),
        ("2021-05-01T12:00:00.5Z", "2021-05-01T12:00:00.500000Z"),
        ("2021-05-01T12:00:00z", "2021-05-01T12:00:00.000000Z"),
        ("2021-05-01T14:00:00+02:00", "2021-05-01T12:00:00.000000Z"),
        ("2021-05-01T07:00:00.1-05:00", "2021-05-01T12:00:00.100000Z"),
        ("2020-02-29T00:00:00Z", "2020-02-29T00:00:00.000000Z"),
        ("0001-01-01T00:00:00Z", "0001-01-01T00:00:00.000000Z"),
        ("0001-01-01T00:30:00+01:00", "0000-00-00T00:00:00.000000Z"),
        ("9999-12-31T23:30:00-01:00", "9999-12-31T24:00:00.000000Z"),
        ("2021-02-29T00:00:00Z", None),
        ("2021-05-01T12:00:00", None),
    ],
)
def test_upload_instant(value: str, instant: str | None) -> None:
    assert upload_instant(value) == instant


def test_pypi_form_is_not_copied() -> None:
    value = "2021-05-01T12:00:00.250000Z"
    assert upload_instant(value) is value


def test_fraction_less_time_is_not_compared_as_raw_text() -> None:
    # As raw text "...:00Z" > "...:00.25Z" ("Z" sorts after "."), yet 12:00:00 is before
    # 12:00:00.25: the text path must see it before the cutoff.
    cutoff = parse_cutoff("2021-05-01T12:00:00.25Z")
    assert by_text("2021-05-01T12:00:00Z", cutoff, allow_undated=False)
    assert not by_text("2021-05-01T12:00:00.5Z", cutoff, allow_undated=False)


@pytest.mark.parametrize(
    ("moment", "text"),
    [
        (datetime(2021, 5, 1, tzinfo=UTC), "2021-05-01T00:00:00.000000Z"),
        (datetime(5, 1, 1, 0, 0, 0, 7, tzinfo=UTC), "0005-01-01T00:00:00.000007Z"),
        (
            datetime(2021, 5, 1, 2, tzinfo=timezone(timedelta(hours=2))),
            "2021-05-01T00:00:00.000000Z",
        ),
        (datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=1))), "0000-00-00T00:00:00.000000Z"),
        (
            datetime(9999, 12, 31, 23, tzinfo=timezone(timedelta(hours=-2))),
            "9999-12-31T24:00:00.000000Z",
        ),
    ],
)
def test_instant_text(moment: datetime, text: str) -> None:
    assert instant_text(moment) == text


def test_instant_text_refuses_a_naive_datetime() -> None:
    # Compared with an aware upload time, a naive cutoff raised; it must not turn local.
    with pytest.raises(TypeError):
        instant_text(datetime(2021, 5, 1))


# --- properties -------------------------------------------------------------------------

moments = st.datetimes(
    min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(UTC)
)
offsets = st.integers(-23 * 60 - 59, 23 * 60 + 59).map(lambda m: timezone(timedelta(minutes=m)))


@st.composite
def spelled_times(draw: st.DrawFn) -> str:
    """An instant in one of the many ways an index may write it, often PyPI's."""
    moment = draw(moments)
    zone = draw(st.sampled_from(["Z", "Z", "Z", "z", "+00:00", "offset", "+0000", ""]))
    if zone == "offset":
        offset = draw(offsets)
        moment = moment.astimezone(offset)
        zone = moment.strftime("%z")
        zone = f"{zone[:3]}:{zone[3:]}"
    digits = draw(st.sampled_from([6, 6, 6, 0, 0, 1, 2, 3, 7, 9, -1]))
    fraction = f"{moment.microsecond:06d}{draw(st.integers(0, 999)):03d}"
    if digits == -1:
        fraction_text = "."  # a dot and no digits
    elif digits == 0:
        fraction_text = ""
    else:
        fraction_text = "." + fraction[:digits]
    separator = draw(st.sampled_from(["T", "T", "t", " "]))
    day = f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}"  # %Y may not pad
    text = f"{day}{separator}{moment:%H:%M:%S}{fraction_text}{zone}"
    pad = draw(st.sampled_from(["", "", "", " ", "\t", "\n"]))
    return draw(st.sampled_from([text, text, pad + text, text + pad]))


@st.composite
def pypi_times(draw: st.DrawFn) -> str:
    """An instant as PyPI writes it: the text path's own form."""
    moment = draw(moments)
    day = f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}"
    fraction = draw(st.sampled_from(["", f".{moment.microsecond:06d}"]))
    return f"{day}T{moment:%H:%M:%S}{fraction}Z"


@st.composite
def damaged_times(draw: st.DrawFn) -> str:
    """A time with one character replaced: impossible fields and the like."""
    text = draw(st.one_of(pypi_times(), spelled_times()))
    at = draw(st.integers(0, max(len(text) - 1, 0)))
    char = draw(st.sampled_from("0123456789:-.TZz+ 9"))
    return text[:at] + char + text[at + 1 :]


cutoffs = st.one_of(
    moments,
    moments.map(lambda m: m.replace(microsecond=0)),
    moments.map(lambda m: m.replace(hour=0, minute=0, second=0, microsecond=0)),
)


@settings(max_examples=1500)
@given(
    st.one_of(pypi_times(), spelled_times(), damaged_times(), st.text(max_size=30)),
    cutoffs,
    st.booleans(),
)
@example("2021-05-01T12:00:00Z", datetime(2021, 5, 1, 12, 0, 0, 250000, tzinfo=UTC), False)
@example("2021-02-29T00:00:00Z", datetime(2022, 1, 1, tzinfo=UTC), False)
def test_text_path_agrees_with_datetime_path(
    value: str, cutoff: datetime, allow_undated: bool
) -> None:
    assert by_text(value, cutoff, allow_undated) == by_datetime(value, cutoff, allow_undated)


@settings(max_examples=500)
@given(st.one_of(pypi_times(), spelled_times(), damaged_times()))
def test_a_cutoff_at_the_upload_hides_it_and_one_after_shows_it(value: str) -> None:
    parsed = parse_upload_time(value)
    assume(parsed is not None)
    assert parsed is not None
    assume(datetime(1, 1, 2, tzinfo=UTC) < parsed < datetime(9999, 12, 30, tzinfo=UTC))
    for at, visible in ((parsed, False), (parsed + timedelta(microseconds=1), True)):
        assert by_text(value, at, allow_undated=False) is visible
        assert by_datetime(value, at, allow_undated=False) is visible


@settings(max_examples=500)
@given(
    st.one_of(pypi_times(), spelled_times(), damaged_times()),
    st.one_of(pypi_times(), spelled_times(), damaged_times()),
)
def test_instant_texts_order_as_their_instants(a: str, b: str) -> None:
    ta, tb = upload_instant(a), upload_instant(b)
    da, db = parse_upload_time(a), parse_upload_time(b)
    assume(ta is not None and tb is not None)
    assert da is not None and db is not None
    assert (ta < tb) == (da < db)
    assert (ta == tb) == (da == db)
