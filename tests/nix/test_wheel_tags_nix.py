"""nix/wheel-tags.nix against packaging.tags: the tags a target supports, best first, and
the best file of a package for them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from packaging import _manylinux, tags
from packaging.utils import parse_wheel_filename

from tests.support.clients import require_nix
from tests.support.nixbuild import REPO, nix_error, nix_eval, nix_string

WHEEL_TAGS = REPO / "nix" / "wheel-tags.nix"


@pytest.fixture(autouse=True)
def _needs_nix() -> None:
    require_nix("the tags are computed by nix-instantiate")




def linux_platforms(arch: str, glibc: tuple[int, int]) -> list[str]:
    """packaging's Linux platforms for an interpreter on `glibc` (not this machine's)."""
    with (
        mock.patch.object(_manylinux, "_get_glibc_version", return_value=glibc),
        mock.patch.object(_manylinux, "_have_compatible_abi", return_value=True),
        mock.patch.object(_manylinux, "_get_manylinux_module", return_value=None),
    ):
        # The order of packaging.tags._linux_platforms: linux_ARCH first (packaging 26.3).
        return [f"linux_{arch}", *_manylinux.platform_tags([arch])]


def expected_tags(minor: int, platforms: list[str]) -> list[str]:
    """sys_tags' order for CPython 3.minor with the default ABI on `platforms`."""
    cp = f"cp3{minor}"
    return [
        str(tag)
        for tag in [
            *tags.cpython_tags((3, minor), [cp], platforms),
            *tags.compatible_tags((3, minor), cp, platforms),
        ]
    ]


def supported(system: str, python: str, glibc: str = "2.40", macos: str = "11.0") -> list[str]:
    result = nix_eval(
        f"(import {WHEEL_TAGS}).supportedTags {{ system = {nix_string(system)}; "
        f"pythonVersion = {nix_string(python)}; glibcVersion = {nix_string(glibc)}; "
        f"macosVersion = {nix_string(macos)}; }}"
    )
    assert isinstance(result, list)
    return result


TARGETS = [
    # system, python, glibc, macOS, packaging's platforms
    ("x86_64-linux", "3.11", "2.36", "11.0", lambda: linux_platforms("x86_64", (2, 36))),
    ("x86_64-linux", "3.13.1", "2.40-66", "11.0", lambda: linux_platforms("x86_64", (2, 40))),
    ("aarch64-linux", "3.12.1", "2.40", "11.0", lambda: linux_platforms("aarch64", (2, 40))),
    ("aarch64-linux", "3.8", "2.17", "11.0", lambda: linux_platforms("aarch64", (2, 17))),
    ("aarch64-darwin", "3.11", "2.40", "14.2", lambda: list(tags.mac_platforms((14, 2), "arm64"))),
    ("aarch64-darwin", "3.12", "2.40", "11.0", lambda: list(tags.mac_platforms((11, 0), "arm64"))),
    ("x86_64-darwin", "3.9", "2.40", "10.12",
     lambda: list(tags.mac_platforms((10, 12), "x86_64"))),
    ("x86_64-darwin", "3.13", "2.40", "11.0", lambda: list(tags.mac_platforms((11, 0), "x86_64"))),
]


@pytest.mark.parametrize(("system", "python", "glibc", "macos", "platforms"), TARGETS)
def test_supported_tags_are_packaging_s_in_its_order(
    system: str, python: str, glibc: str, macos: str, platforms: Any
) -> None:
    minor = int(python.split(".")[1])
    assert supported(system, python, glibc, macos) == expected_tags(minor, platforms())


def test_defaults_are_glibc_2_40_and_macos_11() -> None:
    linux = nix_eval(f'(import {WHEEL_TAGS}).platformTags {{ system = "x86_64-linux"; }}')
    assert linux[:3] == ["linux_x86_64", "manylinux_2_40_x86_64", "manylinux_2_39_x86_64"]
    assert linux[-2:] == ["manylinux_2_5_x86_64", "manylinux1_x86_64"]
    mac = nix_eval(f'(import {WHEEL_TAGS}).platformTags {{ system = "aarch64-darwin"; }}')
    assert mac[:3] == ["macosx_11_0_arm64", "macosx_11_0_universal2", "macosx_10_16_universal2"]


def test_an_unknown_system_is_refused() -> None:
    error = nix_error(f'(import {WHEEL_TAGS}).platformTags {{ system = "riscv64-linux"; }}')
    assert 'the system "riscv64-linux" is not supported' in error


WHEELS = [
    "numpy-1.25.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
    "numpy-1.25.0-cp311-cp311-manylinux_2_17_aarch64.manylinux2014_aarch64.whl",
    "numpy-1.25.0-cp311-cp311-musllinux_1_1_x86_64.whl",
    "numpy-1.25.0-cp311-cp311-macosx_10_9_x86_64.whl",
    "numpy-1.25.0-cp311-cp311-macosx_11_0_arm64.whl",
    "numpy-1.25.0-cp311-cp311-win_amd64.whl",
    "numpy-1.25.0-cp310-cp310-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
    "numpy-1.25.0-cp39-abi3-manylinux_2_28_x86_64.whl",
    "numpy-1.25.0-cp39-abi3-macosx_10_9_universal2.whl",
    "numpy-1.25.0-py3-none-any.whl",
    "numpy-1.25.0-py2.py3-none-any.whl",
    "numpy-1.25.0-1-py3-none-any.whl",
    "numpy-1.25.0-2b-py3-none-any.whl",
    "numpy-1.25.0-cp311-none-manylinux_2_39_x86_64.whl",
    "numpy-1.25.0-py311-none-macosx_12_0_x86_64.whl",
]


def test_wheel_names_parse_as_packaging_parses_them(tmp_path: Path) -> None:
    data = tmp_path / "names.json"
    data.write_text(json.dumps(WHEELS))
    got = nix_eval(
        f"map (import {WHEEL_TAGS}).parseWheelName "
        f"(builtins.fromJSON (builtins.readFile {nix_string(str(data))}))"
    )
    for filename, parsed in zip(WHEELS, got, strict=True):
        name, version, build, tagset = parse_wheel_filename(filename)
        assert parsed["name"] == name and parsed["version"] == str(version), filename
        assert sorted(parsed["tags"]) == sorted(str(t) for t in tagset), filename
        assert (parsed["build"] and tuple(parsed["build"])) == (build or None), filename
    assert nix_eval(f'(import {WHEEL_TAGS}).parseWheelName "numpy-1.25.0.tar.gz"') is None


def subsets() -> Iterator[list[str]]:
    yield WHEELS
    yield WHEELS[1:]
    yield [w for w in WHEELS if "py3-none-any" not in w and "manylinux_2_17_x86_64" not in w]
    yield ["numpy-1.25.0-1-py3-none-any.whl", "numpy-1.25.0-2b-py3-none-any.whl",
           "numpy-1.25.0-py3-none-any.whl"]
    yield ["numpy-1.25.0-cp311-cp311-win_amd64.whl", "numpy-1.25.0.tar.gz"]
    yield ["numpy-1.25.0-cp311-cp311-win_amd64.whl"]


def python_best(candidates: list[str], supported_tags: list[str]) -> str | None:
    """What pip takes: the earliest-ranked tag, then the highest build tag; else an sdist."""
    rank = {tag: index for index, tag in enumerate(supported_tags)}
    wheels: list[tuple[int, tuple[int, str], str]] = []
    for filename in candidates:
        if filename.endswith(".whl"):
            _, _, build, tagset = parse_wheel_filename(filename)
            ranks = [rank[str(t)] for t in tagset if str(t) in rank]
            if ranks:
                wheels.append((min(ranks), build or (-1, ""), filename))
    if wheels:
        best_rank = min(w[0] for w in wheels)
        best_build = max(w[1] for w in wheels if w[0] == best_rank)
        return min(w[2] for w in wheels if w[:2] == (best_rank, best_build))
    sdists = [f for f in candidates if not f.endswith(".whl")]
    return sdists[0] if sdists else None


@pytest.mark.parametrize(("system", "python", "glibc", "macos", "platforms"), TARGETS)
def test_the_best_file_is_the_best_ranked_wheel(
    tmp_path: Path, system: str, python: str, glibc: str, macos: str, platforms: Any
) -> None:
    minor = int(python.split(".")[1])
    supported_tags = expected_tags(minor, platforms())
    cases = list(subsets())
    data = tmp_path / "cases.json"
    data.write_text(json.dumps([[{"name": f} for f in case] for case in cases]))
    got = nix_eval(
        f"let t = import {WHEEL_TAGS}; tags = t.supportedTags {{ system = {nix_string(system)}; "
        f"pythonVersion = {nix_string(python)}; glibcVersion = {nix_string(glibc)}; "
        f"macosVersion = {nix_string(macos)}; }}; in map (files: let b = t.bestFile tags files; "
        f"in if b == null then null else b.name) "
        f"(builtins.fromJSON (builtins.readFile {nix_string(str(data))}))"
    )
    assert got == [python_best(case, supported_tags) for case in cases]


def test_the_best_file_on_each_target() -> None:
    def best(system: str, python: str = "3.11", glibc: str = "2.40") -> str:
        files = " ".join(f"{{ name = {nix_string(w)}; }}" for w in WHEELS[:6])
        return str(nix_eval(
            f"let t = import {WHEEL_TAGS}; in (t.bestFile (t.supportedTags {{ system = "
            f"{nix_string(system)}; pythonVersion = {nix_string(python)}; glibcVersion = "
            f"{nix_string(glibc)}; }}) [ {files} ]).name"
        ))

    assert best("x86_64-linux") == WHEELS[0]
    assert best("aarch64-linux") == WHEELS[1]
    assert best("aarch64-darwin") == WHEELS[4]
    assert best("x86_64-darwin") == WHEELS[3]
    # Too old a glibc for manylinux2014: nothing fits.
    assert nix_eval(
        f"let t = import {WHEEL_TAGS}; in t.bestFile (t.supportedTags {{ system = "
        f'"x86_64-linux"; pythonVersion = "3.11"; glibcVersion = "2.12"; }}) '
        f"[ {{ name = {nix_string(WHEELS[0])}; }} ]"
    ) is None
