"""`snapproxy lock --target ...` against real PyPI (issue 14): one lock of numpy, click and
requests at 2023-06-01 for Linux, macOS and Windows that packaging.pylock accepts, that
gives each target what a lock for it alone gives, and that pip 26.3 installs here."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.utils import parse_wheel_filename

from fetcher.lock_target import parse_target
from tests.support.clients import (
    install_pylock,
    require_network,
)
from tests.support.fetching import nar_hash, run_snapproxy
from tests.support.pylock_judge import Selected, judge

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

DATE = "2023-06-01"
REQUIREMENTS = ("numpy", "click", "requests")
LINUX = parse_target("3.11:manylinux_2_17_x86_64")
MAC = parse_target("3.11:macosx_11_0_arm64")
WINDOWS = parse_target("3.11:win_amd64")
TARGETS = (LINUX, MAC, WINDOWS)
NUMPY_WHEELS = {
    LINUX: "numpy-1.24.3-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
    MAC: "numpy-1.24.3-cp311-cp311-macosx_11_0_arm64.whl",
    WINDOWS: "numpy-1.24.3-cp311-cp311-win_amd64.whl",
}


def lock(out: Path, *args: str) -> Path:
    result = run_snapproxy("lock", "--quiet", "-o", out, "--date", DATE, *args, *REQUIREMENTS)
    assert result.returncode == 0, result.stderr
    return out


@pytest.fixture(scope="module")
def multi(tmp_path_factory: pytest.TempPathFactory) -> str:
    require_network()
    # pip installs a lock only under the name pylock.toml (or pylock.NAME.toml).
    out = tmp_path_factory.mktemp("multi") / "pylock.toml"
    return lock(out, *(a for t in TARGETS for a in ("--target", t.text))).read_text()


@pytest.fixture(scope="module")
def selected(multi: str) -> dict[str, Selected]:
    """What packaging.pylock, validating the lock first, selects for each target."""
    return dict(zip((t.text for t in TARGETS), judge(multi, TARGETS), strict=True))


@pytest.fixture(scope="module")
def alone(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[str, Selected]]:
    """Each target's own lock (``lock --target T``) and what it selects."""
    require_network()
    root = tmp_path_factory.mktemp("alone")
    locks = {}
    for target in TARGETS:
        text = lock(root / f"{target.platform}.toml", "--target", target.text).read_text()
        (own,) = judge(text, [target])
        locks[target.text] = (text, own)
    return locks


def _packages(text: str) -> list[dict[str, object]]:
    return list(tomllib.loads(text)["packages"])


def test_numpy_has_one_wheel_per_target(multi: str, selected: dict[str, Selected]) -> None:
    (numpy,) = [p for p in _packages(multi) if p["name"] == "numpy"]
    assert "marker" not in numpy
    wheels = sorted(w["name"] for w in numpy["wheels"])  # type: ignore[attr-defined]
    assert wheels == sorted(NUMPY_WHEELS.values())
    for target in TARGETS:
        assert selected[target.text].files["numpy"] == NUMPY_WHEELS[target]
        # It is that target's wheel, and no other target's.
        for other in TARGETS:
            fits = set(parse_wheel_filename(NUMPY_WHEELS[target])[3]) & set(other.tags())
            assert bool(fits) is (other == target)


def test_colorama_is_marked_for_windows_only(multi: str, selected: dict[str, Selected]) -> None:
    (colorama,) = [p for p in _packages(multi) if p["name"] == "colorama"]
    marker = Marker(str(colorama["marker"]))
    assert [marker.evaluate(t.environment()) for t in TARGETS] == [False, False, True]
    assert [("colorama" in selected[t.text].versions) for t in TARGETS] == [False, False, True]
    # Everything else is used by every target: no other package carries a marker.
    assert [p["name"] for p in _packages(multi) if "marker" in p] == ["colorama"]


def test_each_target_gets_what_a_lock_for_it_alone_gives(
    selected: dict[str, Selected], alone: dict[str, tuple[str, Selected]]
) -> None:
    for target in TARGETS:
        text, own = alone[target.text]
        # The same versions and the same file of each.
        assert selected[target.text] == own, target.text
        assert tomllib.loads(text)["environments"] == [target.marker()]


def test_the_linux_target_gives_what_this_machines_own_lock_gives(
    selected: dict[str, Selected], tmp_path: Path
) -> None:
    if not Marker(LINUX.marker()).evaluate():
        pytest.skip(f"this machine is not {LINUX.text}")
    plain = lock(tmp_path / "pylock.toml").read_text()
    versions = {str(p["name"]): str(p["version"]) for p in _packages(plain)}
    assert versions == selected[LINUX.text].versions


def test_pip_installs_the_lock_here_as_a_single_target_lock_gives(
    multi: str, alone: dict[str, tuple[str, Selected]], tmp_path: Path
) -> None:
    """pip 26.3 installs from pylock.toml (`pip install -r pylock.toml`, PEP 751)."""
    here = next((t for t in TARGETS if Marker(t.marker()).evaluate()), None)
    if here is None:
        pytest.skip("this machine is none of the lock's targets")
    pylock = tmp_path / "pylock.toml"
    pylock.write_text(multi)
    installed = install_pylock(pylock, tmp_path / "venv")
    assert installed == alone[here.text][1].versions


def test_a_targets_wheelhouse_from_the_lock_is_its_own_locks(
    multi: str, alone: dict[str, tuple[str, Selected]], tmp_path: Path
) -> None:
    """`fetch --from-lock --target` gives the Windows target the same tree (NAR hash) from
    the three-target lock as from its own."""
    trees = []
    for name, text in (("multi", multi), ("alone", alone[WINDOWS.text][0])):
        pylock = tmp_path / f"{name}.toml"
        pylock.write_text(text)
        out = tmp_path / name
        result = run_snapproxy(
            "fetch", "--quiet", "--from-lock", pylock, "--target", WINDOWS.text, "-o", out
        )
        assert result.returncode == 0, result.stderr
        trees.append(nar_hash(out))
    assert trees[0] == trees[1]
