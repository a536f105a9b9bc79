"""`snapproxy fetch` with a cache runs pip from a checked unpacked copy in that cache."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.distributions import Dist, make_wheel
from tests.support.fakeindex import FakeIndex
from tests.support.fetching import PIP, fetch, fetch_upstream, lock_pins


@pytest.fixture
def upstream(pip_wheel: Dist) -> Iterator[FakeIndex]:
    index = fetch_upstream(pip_wheel, make_wheel("alpha", "1.0"))
    with index.running():
        yield index


def _fetch(index: FakeIndex, out: Path, cache: Path) -> None:
    assert index.index_origin and index.files_origin
    result = fetch(out, "alpha", "--date", "2021-05-01", "--upstream", index.index_origin,
                   "--files-host", index.files_origin, "--cache-dir", cache)
    assert result.returncode == 0, result.stderr
    assert lock_pins(out) == {"alpha": "1.0"}


def test_a_changed_copy_of_pip_is_not_run(
    upstream: FakeIndex, pip_wheel: Dist, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    _fetch(upstream, tmp_path / "first", cache)
    [container] = (cache / "pip").iterdir()
    assert container.name.startswith(f"pip-{PIP}-py3-none-any-{pip_wheel.sha256}-")
    copy = container / f"pip-{PIP}-py3-none-any.whl"
    # Whatever changed pip's code in the cache would run with the user's rights: here it
    # would make pip fail, so a fetch that succeeds ran pip's own code.
    main = copy / "pip" / "__main__.py"
    main.write_text("raise SystemExit('tampered pip ran')\n" + main.read_text())
    # Without the first run's remembered resolution, so that pip runs again.
    shutil.rmtree(cache / "resolutions")
    _fetch(upstream, tmp_path / "second", cache)
    assert "tampered" not in main.read_text()
