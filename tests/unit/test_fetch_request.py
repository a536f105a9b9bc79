"""What fetch and lock make of --date and --package-date: instants once, checked, remembered.

A duration is turned into its instant when the request is made (under a frozen clock here),
and only instants reach the resolution memo's key; every project's own cutoff does.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from freezegun import freeze_time

from fetcher.commands import _fetch_request
from fetcher.fetch_request import FetchError, FetchRequest, durations_line
from fetcher.pip_runner import Target
from fetcher.resolution_memo import Interpreter
from fetcher.resolving import memo_key
from snapproxy.cutoff_policy import CutoffPolicy

UTC = timezone.utc
CUTOFF = datetime(2021, 5, 1, tzinfo=UTC)
CERTIFI = datetime(2024, 1, 1, tzinfo=UTC)
INTERPRETER = Interpreter(markers={"python_version": "3.11"}, identity={"python": "3.11.9"})


def request(**changes: Any) -> FetchRequest:
    base = FetchRequest(
        cutoff=CUTOFF,
        target=Target(sys.executable),
        requirements=("requests",),
        now=datetime(2026, 12, 2, tzinfo=UTC),
    )
    return replace(base, **changes)


def key(r: FetchRequest) -> str:
    return memo_key(r, INTERPRETER)


def options(**changes: Any) -> dict[str, Any]:
    """The values fetch's and lock's options give _fetch_request, as click passes them."""
    values: dict[str, Any] = {
        "cutoff": CUTOFF,
        "package_dates": {},
        "python": sys.executable,
        "only_binary": False,
        "platforms": (),
        "python_version": None,
        "implementation": None,
        "abis": (),
        "requirement_files": (),
        "requirements": ("requests",),
        "pip_version": "26.3",
        "upstream": "https://pypi.org",
        "files_host": "https://files.pythonhosted.org",
        "indexes": [],
        "routes": [],
        "undated_indexes": (),
        "netrc_file": None,
        "cache_dir": None,
        "allow_recent": False,
    }
    values.update(changes)
    return values


# ---- the memo's key --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "other",
    [
        {"certifi": CERTIFI},
        {"certifi": CERTIFI + timedelta(microseconds=1)},
        {"certifi": None},
        {"six": CERTIFI},
        {"certifi": CERTIFI, "six": None},
    ],
)
def test_every_project_cutoff_is_part_of_the_memo_key(other: dict[str, datetime | None]) -> None:
    plain = key(request())
    assert key(request(package_cutoffs=other)) != plain
    keys = {key(request(package_cutoffs=o)) for o in ({"certifi": CERTIFI}, {"certifi": None})}
    assert len(keys) == 2


def test_durations_never_reach_the_memo_key() -> None:
    # The same instants, written as durations or not, read at other moments: one key.
    instants = request(package_cutoffs={"certifi": CERTIFI})
    rolled = replace(
        instants,
        given=CutoffPolicy(timedelta(days=7), {"certifi": timedelta(days=30)}),
        now=datetime(2030, 1, 1, tzinfo=UTC),
    )
    assert key(rolled) == key(instants)


def test_a_duration_becomes_its_instant_once_when_the_request_is_made() -> None:
    given = {"certifi": CERTIFI, "six": timedelta(days=1), "pip": None}
    with freeze_time("2026-12-02T15:40:00.75Z") as clock:
        made = _fetch_request(options(cutoff=timedelta(days=7), package_dates=given))
        clock.tick(timedelta(hours=3))  # later reads of the request see the same instants
        assert made.cutoff == datetime(2026, 11, 25, 15, 40, tzinfo=UTC)
        assert made.package_cutoffs == {
            "certifi": CERTIFI,
            "six": datetime(2026, 12, 1, 15, 40, tzinfo=UTC),
            "pip": None,
        }
        assert made.given == CutoffPolicy(timedelta(days=7), given)
        # The memo sees the instants: as if they had been written so.
        written = replace(made, given=None)
        assert key(made) == key(written)
    assert durations_line(made) == (
        "--date P7D is 2026-11-25T15:40:00Z; --package-date six=P1D is 2026-12-01T15:40:00Z "
        "(now minus the duration, fixed for this run)"
    )


def test_instants_alone_are_not_announced() -> None:
    made = _fetch_request(options(package_dates={"certifi": CERTIFI}))
    assert durations_line(made) is None


# ---- checks before any work ------------------------------------------------------------------


def test_none_needs_allow_recent() -> None:
    with pytest.raises(FetchError) as info:
        request(package_cutoffs={"six": None}).check()
    assert "--package-date six=none" in str(info.value)
    assert "--allow-recent" in str(info.value)
    request(package_cutoffs={"six": None}, allow_recent=True).check()


def test_a_project_cutoff_in_the_future_is_refused() -> None:
    future = request(package_cutoffs={"six": datetime(2027, 1, 1, tzinfo=UTC)})
    with pytest.raises(FetchError, match=r"in the future.*--package-date six"):
        future.check()
    with pytest.raises(FetchError, match="in the future"):
        replace(future, allow_recent=True).check()


def test_a_recent_project_cutoff_needs_allow_recent() -> None:
    recent = request(package_cutoffs={"six": datetime(2026, 12, 1, 23, 30, tzinfo=UTC)})
    with pytest.raises(FetchError, match=r"less than an hour ago.*--package-date six"):
        recent.check()
    replace(recent, allow_recent=True).check()


def test_a_relative_cache_dir_is_made_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # pip runs in a work directory of its own: a relative path would name another place.
    monkeypatch.chdir(tmp_path)
    made = _fetch_request(options(cache_dir=Path("c")))
    assert made.cache_dir == tmp_path / "c"
