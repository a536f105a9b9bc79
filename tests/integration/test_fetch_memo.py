"""A warm `snapproxy fetch` reuses the resolution of an earlier run, and only while it holds.

The real CLI and pip against a fake upstream.  The remembered resolution must be used
when nothing pip would read changed (no page fetched, no pip run), and must not be used
when a page pip read is now a different copy, when an included requirements file
changed, or when the memo itself is damaged.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.distributions import Dist, make_wheel
from tests.support.fakeindex import FakeFile, FakeIndex
from tests.support.fetching import (
    BEFORE_CUTOFFS,
    fetch,
    fetch_upstream,
    lock_pins,
    run_snapproxy,
    tree_digest,
)

REUSED = "using the resolution of an earlier run"


@pytest.fixture
def upstream(pip_wheel: Dist) -> Iterator[FakeIndex]:
    index = fetch_upstream(
        pip_wheel,
        make_wheel("alpha", "1.0", requires=["beta>=1"]),
        make_wheel("beta", "1.0"),
    )
    with index.running():
        yield index


def _fetch(index: FakeIndex, out: Path, cache: Path, *requirements: str | Path) -> str:
    assert index.index_origin and index.files_origin
    result = fetch(out, *requirements, "--date", "2021-05-01", "--upstream", index.index_origin,
                   "--files-host", index.files_origin, "--cache-dir", cache)
    assert result.returncode == 0, result.stderr
    return result.stderr


def _fetch_loud(index: FakeIndex, out: Path, cache: Path, *requirements: str | Path) -> str:
    """As _fetch, with the phase lines."""
    assert index.index_origin and index.files_origin
    result = run_snapproxy("fetch", "-o", out, *requirements, "--date", "2021-05-01",
                           "--upstream", index.index_origin, "--files-host",
                           index.files_origin, "--cache-dir", cache)
    assert result.returncode == 0, result.stderr
    return result.stderr


def _page_requests(index: FakeIndex) -> int:
    return sum(1 for r in index.requests if r.path.startswith("/simple/"))


def _age_pages(cache: Path) -> None:
    """Make every stored page older than the proxy's max-age (its header's fetch time)."""
    for entry in (cache / "pages").rglob("*"):
        if not entry.is_file() or entry.name.startswith(".tmp-"):
            continue
        header, _, body = entry.read_bytes().partition(b"\n")
        meta = json.loads(header)
        meta["fetched_at"] = 0.0
        entry.write_bytes(json.dumps(meta).encode() + b"\n" + body)


def test_a_second_fetch_reads_no_page_and_writes_the_same_tree(
    upstream: FakeIndex, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    first = _fetch_loud(upstream, tmp_path / "first", cache, "alpha")
    assert REUSED not in first
    pages_before = _page_requests(upstream)
    second = _fetch_loud(upstream, tmp_path / "second", cache, "alpha")
    assert REUSED in second
    assert "fetching pip" not in second  # pip did not run
    assert _page_requests(upstream) == pages_before
    assert tree_digest(tmp_path / "first") == tree_digest(tmp_path / "second")
    assert lock_pins(tmp_path / "second") == {"alpha": "1.0", "beta": "1.0"}


def test_a_page_that_changed_upstream_makes_pip_resolve_again(
    upstream: FakeIndex, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    _fetch(upstream, tmp_path / "first", cache, "alpha")
    # A file visible at the cutoff appears (as a mirror that caught up would show it), and
    # the stored pages are past their max-age: the proxy fetches them again.
    upstream.add("beta", FakeFile(make_wheel("beta", "1.5"), BEFORE_CUTOFFS))
    _age_pages(cache)
    second = _fetch_loud(upstream, tmp_path / "second", cache, "alpha")
    assert REUSED not in second
    assert lock_pins(tmp_path / "second") == {"alpha": "1.0", "beta": "1.5"}


def test_pages_past_their_max_age_but_unchanged_are_fetched_and_pip_runs(
    upstream: FakeIndex, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    _fetch(upstream, tmp_path / "first", cache, "alpha")
    _age_pages(cache)
    pages_before = _page_requests(upstream)
    second = _fetch_loud(upstream, tmp_path / "second", cache, "alpha")
    assert REUSED not in second
    assert _page_requests(upstream) > pages_before
    assert tree_digest(tmp_path / "first") == tree_digest(tmp_path / "second")
    # ...and the run after that, with fresh pages again, reuses.
    assert REUSED in _fetch_loud(upstream, tmp_path / "third", cache, "alpha")


def test_a_changed_included_requirements_file_is_a_new_resolution(
    upstream: FakeIndex, tmp_path: Path
) -> None:
    upstream.add("beta", FakeFile(make_wheel("beta", "2.0"), BEFORE_CUTOFFS))
    cache = tmp_path / "cache"
    top, pins = tmp_path / "requirements.txt", tmp_path / "pins.txt"
    top.write_text("-c pins.txt\nalpha\n")
    pins.write_text("beta==1.0\n")
    _fetch(upstream, tmp_path / "first", cache, "-r", top)
    assert lock_pins(tmp_path / "first")["beta"] == "1.0"
    pins.write_text("beta==2.0\n")
    second = _fetch_loud(upstream, tmp_path / "second", cache, "-r", top)
    assert REUSED not in second
    assert lock_pins(tmp_path / "second")["beta"] == "2.0"


def test_a_damaged_memo_is_ignored(upstream: FakeIndex, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    _fetch(upstream, tmp_path / "first", cache, "alpha")
    [memo] = [p for p in (cache / "resolutions").rglob("*") if p.is_file()]
    # The same length, one name changed: only the digest in the header can tell.
    memo.write_bytes(memo.read_bytes().replace(b'"beta"', b'"bezz"'))
    second = _fetch_loud(upstream, tmp_path / "second", cache, "alpha")
    assert REUSED not in second
    assert tree_digest(tmp_path / "first") == tree_digest(tmp_path / "second")


def test_a_damaged_stored_file_is_fetched_again_not_copied(
    upstream: FakeIndex, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    _fetch(upstream, tmp_path / "first", cache, "alpha")
    beta = make_wheel("beta", "1.0")
    stored = cache / "files" / "sha256" / beta.sha256[:2] / beta.sha256
    stored.chmod(0o644)
    data = bytearray(stored.read_bytes())
    data[-1] ^= 0xFF
    stored.write_bytes(bytes(data))
    _fetch(upstream, tmp_path / "second", cache, "alpha")
    assert tree_digest(tmp_path / "first") == tree_digest(tmp_path / "second")
