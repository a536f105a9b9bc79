"""Bad `fetch` inputs get one line naming the value and the fix, before any work.

The real CLI against a fake upstream: ``--python`` and a future cutoff are refused
before the upstream sees a request; a ``--pip-version`` that does not exist is named with
the newest one that does.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.distributions import Dist, make_wheel
from tests.support.fakeindex import FakeIndex
from tests.support.fetching import PIP, fetch, fetch_upstream


@pytest.fixture
def upstream(pip_wheel: Dist) -> Iterator[FakeIndex]:
    index = fetch_upstream(pip_wheel, make_wheel("alpha", "1.0"))
    with index.running():
        yield index


def _fetch(index: FakeIndex, out: Path, *args: str) -> tuple[int, str]:
    assert index.index_origin and index.files_origin
    result = fetch(out, "alpha", "--upstream", index.index_origin, "--files-host",
                   index.files_origin, "--cache-dir", str(out.parent / "cache"), *args)
    return result.returncode, result.stderr


@pytest.mark.parametrize(
    ("args", "status", "says"),
    [
        (["--date", "2021-05-01", "--python", "python9"], 1,
         "--python python9: no such command on PATH; give the path of a Python 3 interpreter"),
        (["--date", "2021-05-01", "--pip-version", "latest"], 2,
         "'latest' is not a version; give one such as 26.3"),
        (["--date", "2099-01-01", "--allow-recent"], 1,
         "cutoff 2099-01-01T00:00:00Z is in the future"),
    ],
)
def test_refused_before_any_request(
    upstream: FakeIndex, tmp_path: Path, args: list[str], status: int, says: str
) -> None:
    out = tmp_path / "out"
    code, stderr = _fetch(upstream, out, *args)
    assert code == status
    assert says in stderr
    assert len(stderr.strip().splitlines()) == 1 and "Traceback" not in stderr
    assert not out.exists()
    assert upstream.total_hits() == 0


def test_a_pip_version_that_does_not_exist_names_the_newest(
    upstream: FakeIndex, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    code, stderr = _fetch(upstream, out, "--date", "2021-05-01", "--pip-version", "99.0")
    assert code == 1
    assert stderr.strip() == (
        f"snapproxy: error: pip 99.0 has no wheel on {upstream.index_origin} "
        f"(the newest is {PIP}); choose an existing --pip-version"
    )
    assert "9999" not in stderr
    assert not out.exists()
