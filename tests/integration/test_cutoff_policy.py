"""Per-project cutoffs and durations, through real clients and the real CLI.

One `snapproxy serve --date CUTOFF --package-date alpha=LATE --package-date NewProj=none`
in front of the fake catalogue: beta 1.0 needs alpha<3, and alpha 2.0 came after CUTOFF
but before LATE, so every client takes alpha 2.0 (not 1.1, as at CUTOFF); newproj, created
after CUTOFF, is there in full.  fetch and lock get the same options, and a duration.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest

from tests.integration.harness import (
    ALPHA_10,
    ALPHA_11,
    ALPHA_20,
    BETA_10,
    CUTOFF,
    LATE,
    NEWPROJ_10,
    UPLOADED,
    Client,
    StartProxy,
    add_catalogue,
    http_get,
)
from tests.support.distributions import Dist
from tests.support.fakeindex import FakeFile, FakeIndex
from tests.support.fetching import fetch, fetch_upstream, lock_pins, run_snapproxy
from tests.support.proxyproc import SnapproxyServer

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


@pytest.fixture(scope="module")
def proxy(upstream: FakeIndex, module_proxy: StartProxy) -> SnapproxyServer:
    add_catalogue(upstream)
    args = ["--package-date", f"alpha={LATE}", "--package-date", "NewProj=none"]
    return module_proxy(CUTOFF, upstream=upstream, args=args)


def test_a_project_cutoff_wins_for_that_project(
    client: Client, proxy: SnapproxyServer, tmp_path: Path
) -> None:
    got = client.resolve(proxy.index_url, ["beta"], tmp_path)
    assert got.ok, got.output
    assert got.pins == {"alpha": "2.0", "beta": "1.0"}


def test_none_shows_a_project_created_after_the_cutoff(
    client: Client, proxy: SnapproxyServer, tmp_path: Path
) -> None:
    got = client.resolve(proxy.index_url, ["newproj"], tmp_path)
    assert got.ok, got.output
    assert got.pins == {"newproj": "1.0"}


def test_other_projects_keep_the_servers_cutoff(proxy: SnapproxyServer) -> None:
    status, _, body = http_get(f"{proxy.base}/-/health")
    assert status == 200
    assert b'"alpha": {"date": "2023-09-01T00:00:00Z"' in body
    status, _, _ = http_get(f"{proxy.base}/files/beta/{BETA_10.filename}")
    assert status == 200
    # Under another cutoff in the URL, alpha still has its own.
    status, _, body = http_get(f"{proxy.base}/snapshot/2023-02-01/simple/alpha/")
    assert status == 200 and ALPHA_20.filename.encode() in body


# ---- fetch and lock ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fetch_index(pip_wheel: Dist) -> Iterator[FakeIndex]:
    files = [FakeFile(d, UPLOADED[d]) for d in (ALPHA_10, ALPHA_11, ALPHA_20, BETA_10)]
    index = fetch_upstream(pip_wheel, *files, FakeFile(NEWPROJ_10, UPLOADED[NEWPROJ_10]))
    with index.running():
        yield index


def _origins(index: FakeIndex, cache: Path) -> list[str]:
    assert index.index_origin and index.files_origin
    return ["--upstream", index.index_origin, "--files-host", index.files_origin,
            "--cache-dir", str(cache)]  # fmt: skip


def test_fetch_and_lock_honour_project_cutoffs(fetch_index: FakeIndex, tmp_path: Path) -> None:
    origins = _origins(fetch_index, tmp_path / "c")
    options = ["--date", CUTOFF, "--package-date", f"Alpha={LATE}", *origins]
    done = fetch(tmp_path / "out", "beta", *options)
    assert done.returncode == 0, done.stderr
    assert lock_pins(tmp_path / "out") == {"alpha": "2.0", "beta": "1.0"}

    locked = run_snapproxy("lock", "--quiet", "beta", "-o", tmp_path / "pylock.toml", *options)
    assert locked.returncode == 0, locked.stderr
    doc = tomllib.loads((tmp_path / "pylock.toml").read_text())
    assert {p["name"]: p["version"] for p in doc["packages"]} == {"alpha": "2.0", "beta": "1.0"}
    tool = doc["tool"]["snapproxy"]
    assert tool["cutoff"] == "2023-06-01T00:00:00Z"
    assert tool["package-cutoffs"] == {"alpha": "2023-09-01T00:00:00Z"}

    # The same inputs without the project's cutoff: another resolution (and memo key).
    done = fetch(tmp_path / "plain", "beta", "--date", CUTOFF, *origins)
    assert done.returncode == 0, done.stderr
    assert lock_pins(tmp_path / "plain") == {"alpha": "1.1", "beta": "1.0"}


def test_fetch_turns_a_duration_into_its_instant_once(
    fetch_index: FakeIndex, tmp_path: Path
) -> None:
    # A duration that reaches back to about CUTOFF (the clock is the machine's): alpha 1.1
    # (March 2023) shows and alpha 2.0 (July 2023) does not, within a day either way.
    days = (datetime.now(timezone.utc) - datetime(2023, 6, 1, tzinfo=timezone.utc)).days
    written = f"{days}d"
    out = tmp_path / "pylock.toml"
    done = run_snapproxy("lock", "beta", "-o", out, "--date", written,
                         *_origins(fetch_index, tmp_path / "c"))  # fmt: skip
    assert done.returncode == 0, done.stderr
    # One line says which instant the duration stood for; the lock records both.
    lines = [line for line in done.stderr.splitlines() if f"--date P{days}D is " in line]
    assert len(lines) == 1, done.stderr
    instant = lines[0].split(" is ")[1].split()[0]
    tool = tomllib.loads(out.read_text())["tool"]["snapproxy"]
    assert (tool["date"], tool["cutoff"]) == (f"P{days}D", instant)
    assert instant.startswith(("2023-05-31", "2023-06-01", "2023-06-02"))
    assert {p["name"]: p["version"] for p in tomllib.loads(out.read_text())["packages"]} == {
        "alpha": "1.1",
        "beta": "1.0",
    }
