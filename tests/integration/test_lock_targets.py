"""`snapproxy lock --target ...`: the real CLI and the real pinned pip against a fake upstream.

Each target must resolve in its own PEP 508 environment: a dependency behind
``sys_platform == "win32"`` is in the Windows target's resolution and in no other, which
pip's ``--platform`` alone does not give (the control below).  Refusals come before any
request to the upstream.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from fetcher.lock_target import parse_target
from tests.support.distributions import Dist, make_wheel
from tests.support.fakeindex import FakeIndex
from tests.support.fetching import fetch_upstream, run_snapproxy
from tests.support.pylock_judge import judge

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

LINUX = parse_target("3.11:manylinux_2_17_x86_64")
MAC = parse_target("3.11:macosx_11_0_arm64")
WINDOWS = parse_target("3.11:win_amd64")
TARGETS = [arg for t in (LINUX, MAC, WINDOWS) for arg in ("--target", t.text)]
DATE = "2021-05-01"


@pytest.fixture(scope="module")
def upstream(pip_wheel: Dist) -> Iterator[FakeIndex]:
    index = fetch_upstream(
        pip_wheel,
        make_wheel(
            "app",
            "1.0",
            requires=[
                'winonly; sys_platform == "win32"',
                "plat",
                # Evaluated for 3.11.0 on every 3.11 target, whatever runs pip (3.11.7 here).
                'oldpatch; python_full_version < "3.11.1"',
            ],
        ),
        make_wheel("winonly", "1.0"),
        make_wheel("oldpatch", "1.0"),
        make_wheel("plat", "1.0", tag="cp311-cp311-win_amd64"),
        make_wheel("plat", "1.0", tag="cp311-cp311-manylinux_2_17_x86_64"),
        make_wheel("plat", "1.0", tag="cp311-cp311-macosx_11_0_arm64"),
        # The newer release has a Linux wheel only: Linux takes it, the others stay at 1.0.
        make_wheel("plat", "2.0", tag="cp311-cp311-manylinux_2_17_x86_64"),
    )
    with index.running():
        yield index


def lock(index: FakeIndex, out: Path, cache: Path, *args: str) -> tuple[int, str]:
    assert index.index_origin and index.files_origin
    result = run_snapproxy(
        "lock", "--quiet", "-o", out, "--date", DATE, "--upstream", index.index_origin,
        "--files-host", index.files_origin, "--cache-dir", cache, *args,
    )
    return result.returncode, result.stderr


@pytest.fixture(scope="module")
def locked(upstream: FakeIndex, tmp_path_factory: pytest.TempPathFactory) -> str:
    root = tmp_path_factory.mktemp("lock-targets")
    code, stderr = lock(upstream, root / "pylock.toml", root / "cache", *TARGETS, "app")
    assert code == 0, stderr
    return (root / "pylock.toml").read_text()


def test_each_target_resolves_in_its_own_marker_environment(locked: str) -> None:
    linux, mac, windows = judge(locked, [LINUX, MAC, WINDOWS])
    common = {"app": "1.0", "oldpatch": "1.0"}
    assert linux.versions == {**common, "plat": "2.0"}
    assert mac.versions == {**common, "plat": "1.0"}
    assert windows.versions == {**common, "plat": "1.0", "winonly": "1.0"}
    assert windows.files["plat"] == "plat-1.0-cp311-cp311-win_amd64.whl"
    assert mac.files["plat"] == "plat-1.0-cp311-cp311-macosx_11_0_arm64.whl"


def test_markers_say_which_targets_use_a_package(locked: str) -> None:
    document = tomllib.loads(locked)
    assert document["environments"] == [MAC.marker(), LINUX.marker(), WINDOWS.marker()]
    markers = {(p["name"], p["version"]): p.get("marker") for p in document["packages"]}
    assert markers == {
        ("app", "1.0"): None,
        ("oldpatch", "1.0"): None,
        ("plat", "1.0"): f"({MAC.marker()}) or ({WINDOWS.marker()})",
        ("plat", "2.0"): LINUX.marker(),
        ("winonly", "1.0"): WINDOWS.marker(),
    }
    assert document["tool"]["snapproxy"]["targets"] == [MAC.text, LINUX.text, WINDOWS.text]


def test_pip_target_options_alone_take_markers_from_this_machine(
    upstream: FakeIndex, tmp_path: Path
) -> None:
    """The control: what the launcher is for.  pip resolving with --platform win_amd64 on
    Linux leaves out the Windows-only dependency."""
    out = tmp_path / "pylock.toml"
    code, stderr = lock(
        upstream, out, tmp_path / "cache", "--only-binary", "--platform", "win_amd64",
        "--python-version", "3.11", "--implementation", "cp", "--abi", "cp311", "app",
    )
    assert code == 0, stderr
    names = {p["name"] for p in tomllib.loads(out.read_text())["packages"]}
    assert "plat" in names and "winonly" not in names


def test_same_bytes_in_any_target_order_with_or_without_a_memo(
    upstream: FakeIndex, locked: str, tmp_path: Path
) -> None:
    reversed_targets = [a for t in (WINDOWS, MAC, LINUX) for a in ("--target", t.text)]
    for cache in (tmp_path / "cache", tmp_path / "cache"):  # the second run recalls memos
        out = tmp_path / "pylock.toml"
        code, stderr = lock(upstream, out, cache, *reversed_targets, "app")
        assert code == 0, stderr
        assert out.read_text() == locked


@pytest.mark.parametrize(
    ("args", "status", "says"),
    [
        ([*TARGETS, "--platform", "win_amd64"], 2,
         "--target cannot be combined with --platform"),
        ([*TARGETS, "--python", sys.executable], 2, "--target cannot be combined with --python"),
        ([*TARGETS, "--only-binary"], 2, "--target cannot be combined with --only-binary"),
        (["--target", "3.11:windows"], 2, "'windows' is not a platform tag"),
        (["--target", "3.11"], 2, "target '3.11' is not PYVER:PLATFORM[:IMPL[:ABI]]"),
        (["--target", LINUX.text, "--target", "3.11:musllinux_1_1_x86_64"], 2,
         "overlap"),
        ([*TARGETS, "--pip-version", "23.2"], 1, "--target needs pip 23.3 or newer"),
    ],
)
def test_refused_in_one_line_before_any_request(
    upstream: FakeIndex, tmp_path: Path, args: list[str], status: int, says: str
) -> None:
    before = upstream.total_hits()
    out = tmp_path / "pylock.toml"
    code, stderr = lock(upstream, out, tmp_path / "cache", *args, "app")
    assert code == status
    assert says in stderr
    assert len(stderr.strip().splitlines()) == 1 and "Traceback" not in stderr
    assert not out.exists()
    assert upstream.total_hits() == before
