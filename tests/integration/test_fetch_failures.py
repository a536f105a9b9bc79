"""`snapproxy fetch` failures that need a misbehaving upstream: clear, and no output left."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.distributions import Dist, make_wheel
from tests.support.fakeindex import FakeFile, FakeIndex
from tests.support.fetching import BEFORE_CUTOFFS, fetch, fetch_upstream, lock_pins


@pytest.fixture
def upstream(pip_wheel: Dist) -> Iterator[FakeIndex]:
    broken = FakeFile(make_wheel("broken", "1.0"), BEFORE_CUTOFFS, corrupt=True)
    index = fetch_upstream(pip_wheel, make_wheel("alpha", "1.0"), broken)
    with index.running():
        yield index


def origins(index: FakeIndex) -> list[str]:
    assert index.index_origin and index.files_origin
    return ["--upstream", index.index_origin, "--files-host", index.files_origin]


def test_fetch_from_the_fake_upstream_works(upstream: FakeIndex, tmp_path: Path) -> None:
    # The control for the failures below: the same set-up succeeds for a sound file.
    out = tmp_path / "out"
    result = fetch(out, "alpha", "--date", "2021-05-01", *origins(upstream))
    assert result.returncode == 0, result.stderr
    assert lock_pins(out) == {"alpha": "1.0"}


def test_without_a_cache_each_file_comes_from_upstream_once(
    upstream: FakeIndex, tmp_path: Path
) -> None:
    # As in a Nix build: no usable cache directory (NIX_BUILD_TOP set, HOME missing).
    env = dict(os.environ, NIX_BUILD_TOP=str(tmp_path), HOME=str(tmp_path / "no-home"))
    out = tmp_path / "out"
    result = fetch(out, "alpha", "--date", "2021-05-01", *origins(upstream), env=env)
    assert result.returncode == 0, result.stderr
    wheel = make_wheel("alpha", "1.0").filename
    assert sum(n for p, n in upstream.hits.items() if p.endswith("/" + wheel)) == 1
    assert not (tmp_path / "no-home").exists()


def test_corrupt_upstream_file(upstream: FakeIndex, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = fetch(out, "broken", "--date", "2021-05-01", *origins(upstream),
                   "--cache-dir", tmp_path / "cache")
    assert result.returncode != 0
    assert result.stderr.startswith("snapproxy: error: "), result.stderr
    assert "broken-1.0-py3-none-any.whl" in result.stderr
    assert "sha256 mismatch" in result.stderr
    assert "Traceback" not in result.stderr
    assert not out.exists()
    stored = [p.name for p in (tmp_path / "cache" / "files").rglob("*") if p.is_file()]
    assert make_wheel("broken", "1.0").sha256 not in stored


def test_dead_upstream(tmp_path: Path) -> None:
    # Bound but not listening for the whole fetch: connections are refused, and no other
    # test's server can take the port meanwhile (as it could once the socket was closed).
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        out = tmp_path / "out"
        dead = f"http://127.0.0.1:{port}"
        result = fetch(out, "alpha", "--date", "2021-05-01", "--upstream", dead,
                       "--files-host", dead)
    assert result.returncode != 0
    assert result.stderr.startswith("snapproxy: error: "), result.stderr
    assert "unreachable" in result.stderr
    assert dead in result.stderr
    assert "Traceback" not in result.stderr
    assert not out.exists()
