"""Fetching ahead of pip warms the proxy's cache only: pip's choice is the wheelhouse.

The real CLI and pip against a fake upstream.  The prefetch guesses each project's
newest file; here the guess for beta is wrong (gamma caps it), and a dependency under a
marker that does not hold must not even be looked up.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.distributions import Dist, make_wheel
from tests.support.fakeindex import FakeIndex
from tests.support.fetching import fetch, fetch_upstream, lock_pins


@pytest.fixture
def upstream(pip_wheel: Dist) -> Iterator[FakeIndex]:
    index = fetch_upstream(
        pip_wheel,
        make_wheel("alpha", "1.0", requires=["beta", "gamma", 'winonly; sys_platform == "win32"']),
        make_wheel("beta", "1.0"),
        make_wheel("beta", "2.0"),
        make_wheel("gamma", "1.0", requires=["beta<2"]),
        make_wheel("winonly", "1.0"),
    )
    with index.running():
        yield index


def test_a_wrong_guess_does_not_reach_the_wheelhouse(upstream: FakeIndex, tmp_path: Path) -> None:
    assert upstream.index_origin and upstream.files_origin
    out = tmp_path / "out"
    result = fetch(out, "alpha", "--date", "2021-05-01", "--upstream", upstream.index_origin,
                   "--files-host", upstream.files_origin, "--cache-dir", tmp_path / "cache",
                   "--platform", "manylinux2014_x86_64", "--python-version", "3.11",
                   "--only-binary")
    assert result.returncode == 0, result.stderr
    assert lock_pins(out) == {"alpha": "1.0", "beta": "1.0", "gamma": "1.0"}
    assert sorted(p.name for p in out.iterdir()) == [
        "alpha-1.0-py3-none-any.whl",
        "beta-1.0-py3-none-any.whl",
        "gamma-1.0-py3-none-any.whl",
        "requirements.lock.txt",
    ]
    # Only for win32: neither pip nor the prefetch asks for it on Linux.
    assert not [r for r in upstream.requests if "winonly" in r.path]
