"""`snapproxy fetch` of a project that is not in the snapshot says which of the two cases.

pip says "No matching distribution found" for a misspelt name and for a project whose
files all came after the cutoff alike; the fetcher's one-line error tells them apart.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.distributions import Dist, make_wheel
from tests.support.fakeindex import FakeFile, FakeIndex
from tests.support.fetching import fetch, fetch_upstream

CUTOFF = "2021-05-01"
LATER = "2022-02-02T10:30:00Z"


@pytest.fixture(scope="module")
def upstream(pip_wheel: Dist) -> Iterator[FakeIndex]:
    later = FakeFile(make_wheel("latecomer", "1.0"), LATER)
    index = fetch_upstream(pip_wheel, make_wheel("alpha", "1.0"), later)
    with index.running():
        yield index


def fetch_failure(index: FakeIndex, tmp_path: Path, *requirements: str) -> str:
    """The first line of a failed fetch's error, after checking that it failed cleanly."""
    assert index.index_origin and index.files_origin
    out = tmp_path / "out"
    result = fetch(out, *requirements, "--date", CUTOFF, "--upstream", index.index_origin,
                   "--files-host", index.files_origin)
    assert result.returncode != 0
    assert result.stderr.startswith("snapproxy: error: "), result.stderr
    assert "Traceback" not in result.stderr
    assert not out.exists()
    return result.stderr.splitlines()[0]


def test_a_misspelt_project_is_named_as_no_such_project(
    upstream: FakeIndex, tmp_path: Path
) -> None:
    line = fetch_failure(upstream, tmp_path, "alpah")
    assert line == (
        "snapproxy: error: cannot resolve the requirements as of 2021-05-01T00:00:00Z: "
        f"no project named 'alpah' on {upstream.index_origin}; check the spelling"
    )


def test_a_project_after_the_cutoff_is_named_with_its_first_upload(
    upstream: FakeIndex, tmp_path: Path
) -> None:
    line = fetch_failure(upstream, tmp_path, "Latecomer>=1")  # pip writes it as given
    assert line == (
        "snapproxy: error: cannot resolve the requirements as of 2021-05-01T00:00:00Z: "
        "project 'latecomer' exists but had no file before 2021-05-01T00:00:00Z "
        "(first file: 2022-02-02T10:30:00Z); a later cutoff shows it"
    )


def test_a_dependency_missing_from_the_snapshot_is_explained_too(
    pip_wheel: Dist, tmp_path: Path
) -> None:
    # Not a top-level requirement: pip finds the name in a wheel's metadata.
    needs = make_wheel("needs-later", "1.0", requires=["latecomer"])
    later = FakeFile(make_wheel("latecomer", "1.0"), LATER)
    index = fetch_upstream(pip_wheel, needs, later)
    with index.running():
        line = fetch_failure(index, tmp_path, "needs-later")
    assert "project 'latecomer' exists but had no file before" in line
    assert "(first file: 2022-02-02T10:30:00Z)" in line
