"""Snapshot.shows: the cutoff rule applied to an index's raw upload-time values."""

from __future__ import annotations

from typing import Any

import pytest

from snapproxy.cutoff import parse_cutoff
from snapproxy.snapshot import Snapshot

CUTOFF = parse_cutoff("2021-05-01T12:00:00Z")


@pytest.mark.parametrize(
    ("raw", "allow_undated", "shown"),
    [
        ("2021-05-01T11:59:59.999999Z", False, True),
        ("2021-05-01T12:00:00Z", False, False),  # at the cutoff: hidden
        ("2021-05-01T12:00:00.000001Z", False, False),
        ("2021-05-01T13:59:59+02:00", False, True),
        ("2021-05-01T14:00:00+02:00", False, False),
        (None, False, False),
        (None, True, True),
        ("", False, False),
        ("", True, True),
        (1620000000, False, False),  # not a string: undated
        ("2021-05-01T11:00:00", False, False),  # no zone: undated
        ("2021-05-01T11:00:00", True, True),
        ("2021-05-01T13:00:00Z", True, False),  # allow_undated never shows later files
    ],
)
def test_shows(raw: Any, allow_undated: bool, shown: bool) -> None:
    assert Snapshot(CUTOFF, allow_undated=allow_undated).shows(raw) is shown


def test_defaults() -> None:
    snapshot = Snapshot(CUTOFF)
    assert snapshot.yanked == "keep"
    assert snapshot.allow_undated is False
    assert snapshot.shows(None) is False
