"""Selecting a target's files from a PEP 751 lock, over hand-written lock documents.

Each lock here is plain data, as ``tomllib`` gives it; uv-shaped ones (no file ``name``,
inline tables, TOML datetimes) are parsed from TOML text.  Where packaging.pylock (26.1+)
is importable, its ``Pylock.select`` judges the same selections independently.
"""

from __future__ import annotations

import copy
import hashlib
import importlib.util
import sys
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from typing import Any, cast

import pytest
from packaging.markers import default_environment
from packaging.tags import Tag

from fetcher.lock_target import parse_target
from fetcher.pylock_selection import (
    SelectionError,
    SelectionTarget,
    select,
    wheelhouse_files,
    wheelhouse_lock_text,
)
from fetcher.pylock_writer import LockedFile, Pylock

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

FILES = "https://files.example/packages"


def target(text: str) -> SelectionTarget:
    return SelectionTarget.of(parse_target(text))


LINUX = target("3.11:manylinux_2_17_x86_64")
LINUX_228 = target("3.11:manylinux_2_28_x86_64")
WINDOWS = target("3.11:win_amd64")
MAC = target("3.11:macosx_11_0_arm64")
LINUX_38 = target("3.8:manylinux_2_17_x86_64")


def sha(filename: str) -> str:
    return hashlib.sha256(filename.encode()).hexdigest()


def archive(filename: str, *, named: bool = True) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "url": f"{FILES}/{filename}",
        "size": len(filename),
        "upload-time": datetime(2023, 3, 6, 9, 48, tzinfo=timezone.utc),
        "hashes": {"sha256": sha(filename)},
    }
    if named:
        entry["name"] = filename
    return entry


def package(
    name: str,
    version: str,
    wheels: Sequence[str] = (),
    sdist: str | None = None,
    marker: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": name, "version": version}
    if marker is not None:
        entry["marker"] = marker
    if sdist is not None:
        entry["sdist"] = archive(sdist)
    if wheels:
        entry["wheels"] = [archive(w) for w in wheels]
    entry.update(extra)
    return entry


def lock(*packages: dict[str, Any], **top: Any) -> dict[str, Any]:
    # Copies: a test may change its lock without changing the packages other tests share.
    document = {
        "lock-version": "1.0",
        "created-by": "hand",
        "packages": copy.deepcopy(list(packages)),
    }
    document.update(top)
    Pylock.from_dict(document)  # every document here is a valid lock
    return document


NUMPY_WHEELS = [
    "numpy-1.25.0-cp311-cp311-macosx_10_9_x86_64.whl",
    "numpy-1.25.0-cp311-cp311-macosx_11_0_arm64.whl",
    "numpy-1.25.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
    "numpy-1.25.0-cp311-cp311-manylinux_2_28_x86_64.whl",
    "numpy-1.25.0-cp311-cp311-musllinux_1_1_x86_64.whl",
    "numpy-1.25.0-cp311-cp311-win_amd64.whl",
    "numpy-1.25.0-cp39-abi3-manylinux_2_17_x86_64.whl",
]
NUMPY = package("numpy", "1.25.0", NUMPY_WHEELS)
COLORAMA = package(
    "colorama",
    "0.4.6",
    ["colorama-0.4.6-py2.py3-none-any.whl"],
    "colorama-0.4.6.tar.gz",
    marker="sys_platform == 'win32'",
)
CLICK = package("click", "8.1.3", ["click-8.1.3-py3-none-any.whl"], "click-8.1.3.tar.gz")


def names(files: Sequence[LockedFile]) -> list[str]:
    return [f.filename for f in files]


# --- the best wheel per target ------------------------------------------------------------


@pytest.mark.parametrize(
    ("chosen_for", "expected"),
    [
        (LINUX, "numpy-1.25.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"),
        # Both manylinux wheels fit glibc 2.28; the newer tag ranks first (pip's order).
        (LINUX_228, "numpy-1.25.0-cp311-cp311-manylinux_2_28_x86_64.whl"),
        (WINDOWS, "numpy-1.25.0-cp311-cp311-win_amd64.whl"),
        (MAC, "numpy-1.25.0-cp311-cp311-macosx_11_0_arm64.whl"),
        (target("3.11:musllinux_1_1_x86_64"), "numpy-1.25.0-cp311-cp311-musllinux_1_1_x86_64.whl"),
        # No cp312 wheel: the abi3 wheel of cp39 fits a 3.12 on manylinux.
        (target("3.12:manylinux_2_17_x86_64"), "numpy-1.25.0-cp39-abi3-manylinux_2_17_x86_64.whl"),
    ],
    ids=lambda value: value.name if isinstance(value, SelectionTarget) else "",
)
def test_each_target_gets_its_best_wheel_of_a_multi_platform_package(
    chosen_for: SelectionTarget, expected: str
) -> None:
    assert names(select(lock(NUMPY), chosen_for)) == [expected]


def test_a_higher_build_number_breaks_a_tie_between_equal_tags() -> None:
    wheels = ["tool-1.0-1-py3-none-any.whl", "tool-1.0-2-py3-none-any.whl"]
    assert names(select(lock(package("tool", "1.0", wheels)), LINUX)) == [wheels[1]]


def test_platform_specific_dependencies_follow_their_markers() -> None:
    document = lock(CLICK, COLORAMA)
    assert names(select(document, LINUX)) == ["click-8.1.3-py3-none-any.whl"]
    assert names(select(document, WINDOWS)) == [
        "click-8.1.3-py3-none-any.whl",
        "colorama-0.4.6-py2.py3-none-any.whl",
    ]


def test_two_versions_with_exclusive_markers_give_one_per_target() -> None:
    document = lock(
        package(
            "numpy",
            "1.24.4",
            ["numpy-1.24.4-cp38-cp38-manylinux_2_17_x86_64.whl"],
            marker="python_version < '3.9'",
        ),
        package(
            "numpy",
            "1.25.0",
            ["numpy-1.25.0-cp311-cp311-manylinux_2_17_x86_64.whl"],
            marker="python_version >= '3.9'",
        ),
    )
    assert names(select(document, LINUX_38)) == ["numpy-1.24.4-cp38-cp38-manylinux_2_17_x86_64.whl"]
    assert names(select(document, LINUX)) == ["numpy-1.25.0-cp311-cp311-manylinux_2_17_x86_64.whl"]


def test_two_versions_selected_at_once_are_an_error_naming_both() -> None:
    document = lock(
        package("six", "1.15.0", ["six-1.15.0-py2.py3-none-any.whl"]),
        package("six", "1.16.0", ["six-1.16.0-py2.py3-none-any.whl"], marker="os_name == 'posix'"),
    )
    with pytest.raises(SelectionError) as error:
        select(document, LINUX)
    assert str(error.value) == (
        "six is selected twice for 3.11:manylinux_2_17_x86_64 (six 1.15.0 and six 1.16.0): "
        "their markers overlap"
    )
    assert names(select(document, WINDOWS)) == ["six-1.15.0-py2.py3-none-any.whl"]


def test_an_sdist_only_when_no_wheel_fits() -> None:
    document = lock(
        package("cffi", "1.15.1", ["cffi-1.15.1-cp311-cp311-win_amd64.whl"], "cffi-1.15.1.tar.gz"),
        package("docopt", "0.6.2", sdist="docopt-0.6.2.tar.gz"),
    )
    assert names(select(document, WINDOWS)) == [
        "cffi-1.15.1-cp311-cp311-win_amd64.whl",
        "docopt-0.6.2.tar.gz",
    ]
    assert names(select(document, LINUX)) == ["cffi-1.15.1.tar.gz", "docopt-0.6.2.tar.gz"]


def test_no_file_for_the_target_names_the_package_the_target_and_the_wheels() -> None:
    document = lock(
        package(
            "numpy",
            "1.25.0",
            [
                "numpy-1.25.0-cp311-cp311-win_amd64.whl",
                "numpy-1.25.0-cp311-cp311-macosx_11_0_arm64.whl",
            ],
        )
    )
    with pytest.raises(SelectionError) as error:
        select(document, LINUX)
    assert str(error.value) == (
        "numpy 1.25.0 has no file for 3.11:manylinux_2_17_x86_64 (wheels: "
        "cp311-cp311-win_amd64, cp311-cp311-macosx_11_0_arm64; no sdist)"
    )


# --- markers the target cannot decide ------------------------------------------------------


@pytest.mark.parametrize(
    ("marker", "selected"),
    [
        # Every 3.11.x is below 3.12 and at or above 3.9: decided without a guess.
        ("python_full_version < '3.12'", True),
        ("python_full_version < '3.9'", False),
        ("python_full_version >= '3.11' and sys_platform == 'linux'", True),
        # Whatever the patch version, the other clause decides.
        ("python_full_version >= '3.11.2' and sys_platform == 'win32'", False),
        ("python_full_version >= '3.11.2' or sys_platform == 'linux'", True),
    ],
)
def test_a_marker_on_the_full_version_is_decided_when_every_patch_agrees(
    marker: str, selected: bool
) -> None:
    document = lock(package("click", "8.1.3", ["click-8.1.3-py3-none-any.whl"], marker=marker))
    assert bool(select(document, LINUX)) is selected


@pytest.mark.parametrize(
    ("marker", "variable"),
    [
        ("python_full_version >= '3.11.2'", "python_full_version"),
        ("python_full_version == '3.11.4'", "python_full_version"),
        ("platform_release >= '5.10'", "platform_release"),
        ("'Ubuntu' in platform_version", "platform_version"),
        ("implementation_version < '3.11.5'", "implementation_version"),
    ],
)
def test_a_marker_the_target_cannot_decide_names_the_marker_and_the_target(
    marker: str, variable: str
) -> None:
    document = lock(package("click", "8.1.3", ["click-8.1.3-py3-none-any.whl"], marker=marker))
    with pytest.raises(SelectionError) as error:
        select(document, LINUX)
    message = str(error.value)
    assert message.startswith(f"click 8.1.3: marker {marker!r} depends on {variable}, ")
    assert "which 3.11:manylinux_2_17_x86_64 does not say" in message


def test_the_running_interpreter_never_fills_in_what_a_target_leaves_out() -> None:
    # packaging.markers evaluates with default_environment() underneath what it is given:
    # this marker holds for the interpreter running the test, and must still be an error
    # for a --target of the same Python version.
    running = cast("dict[str, str]", dict(default_environment()))
    same_version = target(f"{running['python_version']}:manylinux_2_17_x86_64")
    marker = f"python_full_version == '{running['python_full_version']}'"
    document = lock(package("click", "8.1.3", ["click-8.1.3-py3-none-any.whl"], marker=marker))
    with pytest.raises(SelectionError, match="depends on python_full_version"):
        select(document, same_version)
    with_full_version = SelectionTarget(
        "full", {**same_version.environment, **running}, same_version.tags
    )
    assert names(select(document, with_full_version)) == ["click-8.1.3-py3-none-any.whl"]


# --- the lock's own conditions -----------------------------------------------------------------


def test_environments_none_of_which_holds_are_named_with_the_target() -> None:
    environments = [
        "sys_platform == 'linux' and platform_machine == 'x86_64'",
        "sys_platform == 'darwin'",
    ]
    document = lock(CLICK, environments=environments)
    assert names(select(document, MAC)) == ["click-8.1.3-py3-none-any.whl"]
    with pytest.raises(SelectionError) as error:
        select(document, WINDOWS)
    assert str(error.value) == (
        "the lock is for \"sys_platform == 'linux' and platform_machine == 'x86_64'\" or "
        "\"sys_platform == 'darwin'\"; none of these environments holds for 3.11:win_amd64"
    )


def test_the_lock_requires_python_must_hold() -> None:
    document = lock(CLICK, **{"requires-python": ">=3.9"})
    assert select(document, LINUX)
    with pytest.raises(SelectionError, match=r"requires Python >=3.9, which 3.8:manylinux"):
        select(document, LINUX_38)
    undecided = lock(CLICK, **{"requires-python": ">=3.11.2"})
    with pytest.raises(SelectionError, match="depends on python_full_version"):
        select(undecided, LINUX)


def test_a_package_from_no_index_is_refused_only_when_selected() -> None:
    vcs = package(
        "tool",
        "1.0",
        vcs={"type": "git", "url": "https://example.org/tool.git", "commit-id": "a" * 40},
        marker="sys_platform == 'win32'",
    )
    document = lock(CLICK, vcs)
    assert names(select(document, LINUX)) == ["click-8.1.3-py3-none-any.whl"]
    with pytest.raises(SelectionError, match=r"^tool 1.0 is a vcs source, not files of an index"):
        select(document, WINDOWS)


# --- PEP 751 groups: snapproxy's build requirements --------------------------------------------

SNAPPROXY_LOCK = lock(
    package("docopt", "0.6.2", sdist="docopt-0.6.2.tar.gz"),
    package("six", "1.16.0", ["six-1.16.0-py2.py3-none-any.whl"]),
    package(
        "setuptools",
        "67.0.0",
        ["setuptools-67.0.0-py3-none-any.whl"],
        marker="'snapproxy-build' in dependency_groups",
        tool={"snapproxy": {"build": True}},
    ),
    # Each sdist's build requirements are resolved on their own: two versions may be there.
    package(
        "setuptools",
        "68.0.0",
        ["setuptools-68.0.0-py3-none-any.whl"],
        marker="'snapproxy-build' in dependency_groups",
        tool={"snapproxy": {"build": True}},
    ),
    **{
        "environments": ["sys_platform == 'linux'"],
        "dependency-groups": ["snapproxy-build"],
        "default-groups": [],
        "created-by": "snapproxy",
        "tool": {"snapproxy": {"requirements-lock": "docopt==0.6.2 (as fetch wrote it)\n"}},
    },
)


def test_build_only_packages_are_not_selected_by_default() -> None:
    assert names(select(SNAPPROXY_LOCK, LINUX)) == [
        "docopt-0.6.2.tar.gz",
        "six-1.16.0-py2.py3-none-any.whl",
    ]


def test_the_build_group_is_selected_when_asked_for() -> None:
    # Asked for as an installer would: both setuptools are then one project twice.
    with pytest.raises(SelectionError, match="setuptools is selected twice"):
        select(SNAPPROXY_LOCK, LINUX, dependency_groups=["snapproxy-build"])
    with pytest.raises(SelectionError, match="declares no dependency groups dev"):
        select(SNAPPROXY_LOCK, LINUX, dependency_groups=["dev"])


def test_a_wheelhouse_with_an_sdist_holds_its_build_requirements_as_build_only() -> None:
    files = wheelhouse_files(SNAPPROXY_LOCK, [LINUX])
    assert [(f.filename, f.build_only) for f in files] == [
        ("docopt-0.6.2.tar.gz", False),
        ("setuptools-67.0.0-py3-none-any.whl", True),
        ("setuptools-68.0.0-py3-none-any.whl", True),
        ("six-1.16.0-py2.py3-none-any.whl", False),
    ]
    # snapproxy's own lock for one environment: the text fetch wrote, as it is.
    assert wheelhouse_lock_text(SNAPPROXY_LOCK, files) == "docopt==0.6.2 (as fetch wrote it)\n"


def test_a_wheelhouse_of_wheels_alone_needs_no_build_requirements() -> None:
    document = copy.deepcopy(SNAPPROXY_LOCK)
    del document["packages"][0]  # docopt, the one sdist
    assert names(wheelhouse_files(document, [LINUX])) == ["six-1.16.0-py2.py3-none-any.whl"]


# --- several targets: one wheelhouse -----------------------------------------------------------


def test_several_targets_get_the_union_of_their_selections() -> None:
    document = lock(CLICK, COLORAMA, NUMPY)
    files = wheelhouse_files(document, [LINUX, WINDOWS])
    assert names(files) == [
        "click-8.1.3-py3-none-any.whl",
        "colorama-0.4.6-py2.py3-none-any.whl",
        "numpy-1.25.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
        "numpy-1.25.0-cp311-cp311-win_amd64.whl",
    ]
    assert wheelhouse_lock_text(document, files) == (
        f"click==8.1.3 \\\n    --hash=sha256:{sha('click-8.1.3-py3-none-any.whl')}\n"
        f"colorama==0.4.6 \\\n    --hash=sha256:{sha('colorama-0.4.6-py2.py3-none-any.whl')}\n"
        "numpy==1.25.0 \\\n"
        + " \\\n".join(
            f"    --hash=sha256:{h}"
            for h in sorted(sha(n) for n in names(files) if n.startswith("numpy"))
        )
        + "\n"
    )


def test_one_project_at_two_versions_across_targets_is_an_error_naming_both() -> None:
    document = lock(
        package(
            "numpy", "1.24.4", ["numpy-1.24.4-py3-none-any.whl"], marker="python_version < '3.9'"
        ),
        package(
            "numpy", "1.25.0", ["numpy-1.25.0-py3-none-any.whl"], marker="python_version >= '3.9'"
        ),
    )
    with pytest.raises(SelectionError) as error:
        wheelhouse_files(document, [LINUX_38, LINUX])
    assert str(error.value).startswith(
        "numpy is 1.24.4 for 3.8:manylinux_2_17_x86_64 but 1.25.0 for 3.11:manylinux_2_17_x86_64"
    )


def test_the_lock_text_is_derived_unless_snapproxy_wrote_it_for_one_environment() -> None:
    two = copy.deepcopy(SNAPPROXY_LOCK)
    two["environments"].append("sys_platform == 'darwin'")
    files = wheelhouse_files(two, [LINUX])
    assert wheelhouse_lock_text(two, files) == (
        f"docopt==0.6.2 \\\n    --hash=sha256:{sha('docopt-0.6.2.tar.gz')}\n"
        f"six==1.16.0 \\\n    --hash=sha256:{sha('six-1.16.0-py2.py3-none-any.whl')}\n"
    )


# --- locks as uv and pip write them ------------------------------------------------------------

UV_LOCK = """\
# This file was autogenerated by uv via the following command:
#    uv pip compile --universal --format pylock.toml requirements.in
lock-version = "1.0"
created-by = "uv"
requires-python = ">=3.8"

[[packages]]
name = "charset-normalizer"
version = "3.1.0"
sdist = { url = "https://files.pythonhosted.org/packages/ff/d7/charset-normalizer-3.1.0.tar.gz", upload-time = 2023-03-06T09:49:37Z, size = 95987, hashes = { sha256 = "34e0a2f9c370eb95597aae63bf85eb5e96826d81e3dcf88b8886012906f509b5" } }
wheels = [
    { url = "https://files.pythonhosted.org/packages/18/36/charset_normalizer-3.1.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl", upload-time = 2023-03-06T09:48:30Z, size = 197270, hashes = { sha256 = "0ca564606d2caafb0abe6d1b5311c2649e8071eb241b2d64e75a0d0065107e62" } },
    { url = "https://files.pythonhosted.org/packages/ad/83/charset_normalizer-3.1.0-cp311-cp311-win_amd64.whl", upload-time = 2023-03-06T09:48:40+01:00, size = 96688, hashes = { sha256 = "CCA4DEF576F47A09A943666B8F829606BCB17E2BC2D5911A46C8F8DA45F56755" } },
    { url = "https://files.pythonhosted.org/packages/ef/81/charset_normalizer-3.1.0-py3-none-any.whl", upload-time = 2023-03-06 09:49:36, hashes = { sha256 = "3d9098b479e78c85080c98e1e35ff40b4a31d8953102bb0fd7d1b6f8a2111a3d", md5 = "00" } },
]

[[packages]]
name = "colorama"
version = "0.4.6"
marker = "sys_platform == 'win32'"
wheels = [{ url = "https://files.pythonhosted.org/packages/d1/d6/colorama-0.4.6-py2.py3-none-any.whl", hashes = { sha256 = "4f1d9991f5acc0ca119f9d443620b77f9d6b33703e51011c16baf57afb285fc6" } }]

[[packages]]
name = "torch"
version = "2.0.0+cpu"
marker = "python_full_version < '3.12' and sys_platform == 'linux'"
wheels = [{ url = "https://download.example/whl/cpu/torch-2.0.0%2Bcpu-cp311-cp311-linux_x86_64.whl", hashes = { sha256 = "1111111111111111111111111111111111111111111111111111111111111111" } }]

[[packages]]
name = "zope-interface"
version = "3.8.0"
marker = "sys_platform == 'win32'"
sdist = { url = "https://files.pythonhosted.org/packages/zope.interface-3.8.0.tar.bz2", hashes = { sha256 = "2222222222222222222222222222222222222222222222222222222222222222" } }
"""  # noqa: E501


def test_a_uv_lock_is_read_as_uv_writes_it() -> None:
    document = tomllib.loads(UV_LOCK)
    files = wheelhouse_files(document, [target("3.11:linux_x86_64")])
    assert names(files) == [
        "charset_normalizer-3.1.0-py3-none-any.whl",
        # The name of a file without one is its URL's last segment, percent-decoded.
        "torch-2.0.0+cpu-cp311-cp311-linux_x86_64.whl",
    ]
    charset = files[0]
    # A local TOML datetime is still an upload time; an md5 beside the sha256 is ignored.
    assert charset.upload_time == datetime(2023, 3, 6, 9, 49, 36)
    assert charset.sha256 == "3d9098b479e78c85080c98e1e35ff40b4a31d8953102bb0fd7d1b6f8a2111a3d"

    windows = {f.filename: f for f in wheelhouse_files(document, [WINDOWS])}
    assert sorted(windows) == [
        "charset_normalizer-3.1.0-cp311-cp311-win_amd64.whl",
        "colorama-0.4.6-py2.py3-none-any.whl",
        # An older sdist format than PEP 625's .tar.gz, as pip and uv take it.
        "zope.interface-3.8.0.tar.bz2",
    ]
    wheel = windows["charset_normalizer-3.1.0-cp311-cp311-win_amd64.whl"]
    assert wheel.upload_time == datetime(2023, 3, 6, 9, 48, 40, tzinfo=timezone(timedelta(hours=1)))
    assert wheel.sha256 == "cca4def576f47a09a943666b8f829606bcb17e2bc2d5911a46c8f8da45f56755"


def test_a_pip_lock_for_one_machine_fails_elsewhere_naming_package_and_target() -> None:
    document = tomllib.loads(
        'lock-version = "1.0"\ncreated-by = "pip"\n\n'
        '[[packages]]\nname = "charset-normalizer"\nversion = "3.1.0"\n\n'
        "[[packages.wheels]]\n"
        'name = "charset_normalizer-3.1.0-cp311-cp311-'
        'manylinux_2_17_x86_64.manylinux2014_x86_64.whl"\n'
        'url = "https://files.pythonhosted.org/packages/18/36/'
        'charset_normalizer-3.1.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"\n\n'
        "[packages.wheels.hashes]\n"
        'sha256 = "0ca564606d2caafb0abe6d1b5311c2649e8071eb241b2d64e75a0d0065107e62"\n'
    )
    assert len(wheelhouse_files(document, [LINUX])) == 1
    with pytest.raises(SelectionError) as error:
        wheelhouse_files(document, [MAC])
    assert str(error.value) == (
        "charset-normalizer 3.1.0 has no file for 3.11:macosx_11_0_arm64 (wheels: "
        "cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64; no sdist)"
    )


def test_only_the_selected_file_needs_a_sha256() -> None:
    document = lock(NUMPY)
    windows_wheel = document["packages"][0]["wheels"][5]
    assert windows_wheel["name"].endswith("win_amd64.whl")
    windows_wheel["hashes"] = {"sha512": "ab" * 64}
    assert select(document, LINUX)  # another platform's wheel is never fetched
    with pytest.raises(SelectionError) as error:
        select(document, WINDOWS)
    assert str(error.value) == (
        "numpy 1.25.0: numpy-1.25.0-cp311-cp311-win_amd64.whl has no sha256 (only sha512); "
        "every file fetched is checked against its sha256 (for 3.11:win_amd64)"
    )


@pytest.mark.parametrize(
    "url",
    [
        f"{FILES}/%2e%2e",
        f"{FILES}/a%2Fclick-8.1.3.tar.gz",
        f"{FILES}/click-8.1.3.tar.gz%00",
        f"{FILES}/",
    ],
)
def test_a_file_name_from_a_url_must_be_a_plain_file_name(url: str) -> None:
    document = lock(package("click", "8.1.3", sdist="click-8.1.3.tar.gz"))
    sdist = document["packages"][0]["sdist"]
    del sdist["name"]
    sdist["url"] = url
    with pytest.raises(SelectionError):
        select(document, LINUX)


# --- packaging.pylock as the judge -----------------------------------------------------------

needs_packaging_select = pytest.mark.skipif(
    importlib.util.find_spec("packaging.pylock") is None
    or not hasattr(importlib.import_module("packaging.pylock").Pylock, "select"),
    reason="packaging.pylock with Pylock.select (packaging 26.1+) is not installed",
)


@needs_packaging_select
@pytest.mark.parametrize(
    "text",
    [
        "3.11:manylinux_2_28_x86_64",
        "3.11:win_amd64",
        "3.11:macosx_11_0_arm64",
        "3.12:manylinux_2_17_x86_64",
        "3.8:manylinux_2_17_x86_64",
    ],
)
def test_packaging_selects_the_same_files(text: str) -> None:
    from packaging.pylock import Pylock as PackagingPylock

    packages = [
        CLICK,
        COLORAMA,
        package("cffi", "1.15.1", ["cffi-1.15.1-cp311-cp311-win_amd64.whl"], "cffi-1.15.1.tar.gz"),
        package("old", "1.0", ["old-1.0-py3-none-any.whl"], marker="python_version < '3.9'"),
        package("new", "2.0", ["new-2.0-py3-none-any.whl"], marker="python_version >= '3.9'"),
    ]
    if not text.startswith("3.8"):
        packages.append(NUMPY)  # no numpy 1.25 wheel fits a 3.8
    document = lock(*packages)
    chosen = target(text)
    # packaging needs the full version; every x.y.z of the target gives the same here.
    environment = {**chosen.environment, "python_full_version": f"{text.split(':')[0]}.4"}
    theirs = PackagingPylock.from_dict(document).select(
        environment=environment,  # type: ignore[arg-type]
        tags=list(chosen.tags),
    )
    expected = sorted(file.filename for _, file in theirs)  # type: ignore[union-attr]
    assert names(select(document, chosen)) == expected
    assert len(expected) >= 3


def test_tags_are_plain_packaging_tags() -> None:
    assert isinstance(LINUX.tags[0], Tag)
    assert LINUX.tags[0] == Tag("cp311", "cp311", "manylinux_2_17_x86_64")
