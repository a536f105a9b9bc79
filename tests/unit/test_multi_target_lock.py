"""Several targets' resolutions merged into one PEP 751 lock: plain data in, a validated,
deterministic pylock.toml out, judged by packaging.pylock as an installer would read it."""

from __future__ import annotations

import hashlib
import itertools
import sys
from dataclasses import replace
from datetime import datetime, timezone

import pytest
from packaging.markers import Marker
from packaging.specifiers import SpecifierSet

from fetcher.lock_target import InvalidTarget, LockTarget, parse_target
from fetcher.multi_target_lock import TargetResolution, merged_pylock, requires_python_of
from fetcher.pylock_writer import LockedFile, render_pylock
from tests.support.pylock_judge import judge

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

CUTOFF = datetime(2023, 6, 1, tzinfo=timezone.utc)
INDEX = "https://pypi.org/simple/"
UPLOADED = datetime(2023, 4, 22, 18, 0, tzinfo=timezone.utc)
LINUX = parse_target("3.11:manylinux_2_17_x86_64")
MAC = parse_target("3.11:macosx_11_0_arm64")
WINDOWS = parse_target("3.11:win_amd64")


def locked(filename: str) -> LockedFile:
    name, version = filename.split("-")[:2]
    return LockedFile(
        name=name.replace("_", "-"),
        version=version,
        filename=filename,
        url=f"https://files.example/{filename}",
        sha256=hashlib.sha256(filename.encode()).hexdigest(),
        size=len(filename),
        upload_time=UPLOADED,
    )


CLICK = locked("click-8.1.3-py3-none-any.whl")
COLORAMA = locked("colorama-0.4.6-py2.py3-none-any.whl")
NUMPY = {
    LINUX: locked("numpy-1.24.3-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"),
    MAC: locked("numpy-1.24.3-cp311-cp311-macosx_11_0_arm64.whl"),
    WINDOWS: locked("numpy-1.24.3-cp311-cp311-win_amd64.whl"),
}
# A project the targets resolve differently: 2.0 has no Windows wheel.
SPLIT = {
    LINUX: locked("split-2.0-cp311-cp311-manylinux_2_17_x86_64.whl"),
    MAC: locked("split-2.0-cp311-cp311-macosx_11_0_arm64.whl"),
    WINDOWS: locked("split-1.0-cp311-cp311-win_amd64.whl"),
}
# Needed on the Unix targets only.
UNIXONLY = locked("unixonly-1.0-py3-none-any.whl")


def resolution(target: LockTarget) -> TargetResolution:
    files = [CLICK, NUMPY[target], SPLIT[target]]
    files += [COLORAMA] if target is WINDOWS else [UNIXONLY]
    return TargetResolution(target, sorted(files), f"# {target.text}\n")


def write(resolutions: list[TargetResolution]) -> str:
    return render_pylock(
        merged_pylock(resolutions, cutoff=CUTOFF, index=INDEX, pip_version="26.3")
    )


THREE = [resolution(t) for t in (LINUX, MAC, WINDOWS)]


def packages(text: str) -> dict[tuple[str, str], dict[str, object]]:
    return {(p["name"], p["version"]): p for p in tomllib.loads(text)["packages"]}


def test_environments_are_the_targets_markers_in_their_own_order() -> None:
    document = tomllib.loads(write(THREE))
    assert document["environments"] == [MAC.marker(), LINUX.marker(), WINDOWS.marker()]
    assert document["requires-python"] == "==3.11.*"
    assert document["created-by"] == "snapproxy" and document["lock-version"] == "1.0"


def test_a_package_every_target_chose_has_no_marker_and_every_targets_files() -> None:
    found = packages(write(THREE))
    assert "marker" not in found[("click", "8.1.3")]
    numpy = found[("numpy", "1.24.3")]
    assert "marker" not in numpy
    wheels = [w["name"] for w in numpy["wheels"]]  # type: ignore[union-attr]
    assert wheels == sorted(f.filename for f in NUMPY.values())
    assert numpy["index"] == INDEX


def test_a_package_some_targets_chose_is_marked_for_those_only() -> None:
    found = packages(write(THREE))
    assert found[("colorama", "0.4.6")]["marker"] == WINDOWS.marker()
    unixonly = Marker(str(found[("unixonly", "1.0")]["marker"]))
    assert str(unixonly) == f"({MAC.marker()}) or ({LINUX.marker()})"
    for target in (LINUX, MAC, WINDOWS):
        assert unixonly.evaluate(target.marker_environment()) is (target is not WINDOWS)


def test_versions_that_differ_get_one_entry_each_with_exclusive_markers() -> None:
    found = packages(write(THREE))
    new, old = found[("split", "2.0")], found[("split", "1.0")]
    assert [w["name"] for w in new["wheels"]] == [  # type: ignore[union-attr]
        SPLIT[MAC].filename,
        SPLIT[LINUX].filename,
    ]
    for target in (LINUX, MAC, WINDOWS):
        env = target.marker_environment()
        holds = [Marker(str(p["marker"])).evaluate(env) for p in (new, old)]
        assert holds == [target is not WINDOWS, target is WINDOWS]


def test_packaging_pylock_selects_for_each_target_exactly_what_it_resolved() -> None:
    """The independent judge: valid PEP 751, and each target's installer takes its files."""
    selected = judge(write(THREE), [LINUX, MAC, WINDOWS])
    for target, chosen in zip((LINUX, MAC, WINDOWS), selected, strict=True):
        files = resolution(target).files
        assert sorted(chosen.files.values()) == sorted(f.filename for f in files)
        assert chosen.versions == {f.name: f.version for f in files}


def test_same_resolutions_in_any_order_give_the_same_bytes() -> None:
    first = write(THREE)
    for order in itertools.permutations(THREE):
        assert write(list(order)) == first


def test_the_tool_table_names_the_targets_and_no_one_requirements_lock() -> None:
    tool = tomllib.loads(write(THREE))["tool"]["snapproxy"]
    assert tool["targets"] == [MAC.text, LINUX.text, WINDOWS.text]
    assert tool["cutoff"] == "2023-06-01T00:00:00Z"
    assert tool["pip-version"] == "26.3" and tool["index"] == INDEX
    assert "requirements-lock" not in tool
    assert list(tool) == sorted(tool)


def test_one_target_is_a_single_environment_lock_with_its_requirements_lock() -> None:
    document = tomllib.loads(write([resolution(WINDOWS)]))
    assert document["environments"] == [WINDOWS.marker()]
    assert all("marker" not in p for p in document["packages"])
    tool = document["tool"]["snapproxy"]
    assert tool["targets"] == [WINDOWS.text]
    assert tool["requirements-lock"] == "# 3.11:win_amd64\n"
    judge(write([resolution(WINDOWS)]), [WINDOWS])


@pytest.mark.parametrize(
    ("versions", "expected", "admits", "refuses"),
    [
        (["3.11"], "==3.11.*", ["3.11.0", "3.11.9"], ["3.10.12", "3.12.0"]),
        (["3.12", "3.10", "3.11"], "<3.13,>=3.10", ["3.10.0", "3.12.7"], ["3.9.18", "3.13.0"]),
        (
            ["3.9", "3.12"],
            "!=3.10.*,!=3.11.*,<3.13,>=3.9",
            ["3.9.1", "3.12.0"],
            ["3.10.2", "3.11.0"],
        ),
    ],
)
def test_requires_python_admits_exactly_the_targets_versions(
    versions: list[str], expected: str, admits: list[str], refuses: list[str]
) -> None:
    specifier = requires_python_of([LockTarget(v, "win_amd64") for v in versions])
    assert str(specifier) == expected
    assert all(specifier.contains(v) for v in admits)
    assert not any(specifier.contains(v) for v in refuses)
    assert specifier == SpecifierSet(expected)


def test_several_python_versions_lock_together() -> None:
    old = parse_target("3.10:win_amd64")
    text = write([resolution(WINDOWS), TargetResolution(old, [CLICK, COLORAMA], "")])
    document = tomllib.loads(text)
    assert document["requires-python"] == "<3.12,>=3.10"
    assert document["environments"] == [old.marker(), WINDOWS.marker()]
    selected = judge(text, [old, WINDOWS])
    assert selected[0].versions == {"click": "8.1.3", "colorama": "0.4.6"}


def test_targets_whose_markers_overlap_are_refused() -> None:
    musl = parse_target("3.11:musllinux_1_1_x86_64")
    with pytest.raises(InvalidTarget, match="overlap"):
        write([resolution(LINUX), TargetResolution(musl, [CLICK], "")])


@pytest.mark.parametrize(
    ("resolutions", "says"),
    [
        ([resolution(LINUX), resolution(LINUX)], "a target is resolved twice"),
        (
            [resolution(LINUX), TargetResolution(WINDOWS, [replace(CLICK, sha256="0" * 64)], "")],
            "differs between targets",
        ),
        (
            [TargetResolution(LINUX, [replace(CLICK, build_only=True)], "")],
            "no build requirements",
        ),
    ],
)
def test_input_no_resolution_gives_is_refused(
    resolutions: list[TargetResolution], says: str
) -> None:
    with pytest.raises(ValueError, match=says):
        write(resolutions)
