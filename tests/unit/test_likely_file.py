"""The guess of pip's file (fetched ahead) and the dependencies read from a wheel."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from packaging.specifiers import SpecifierSet
from packaging.tags import Tag
from packaging.version import Version

from fetcher.likely_file import Preferences, likely_file, target_tags
from fetcher.pip_runner import Target
from fetcher.wheel_dependencies import applicable, dependencies, wheel_metadata

LINUX = Target(python="python3", only_binary=True, platforms=("manylinux2014_x86_64",),
               python_version="3.11", implementation="cp")
TAGS = target_tags(LINUX, running=[])
PREFS = Preferences(TAGS, Version("3.11"), only_binary=True)
ENV = {"python_version": "3.11", "python_full_version": "3.11.0", "sys_platform": "linux",
       "platform_system": "Linux", "os_name": "posix", "platform_machine": "x86_64",
       "implementation_name": "cpython", "platform_python_implementation": "CPython"}


def _files(*names: str, requires_python: str | None = None) -> list[dict[str, object]]:
    return [{"filename": n, "requires-python": requires_python} for n in names]


def _chosen(
    files: list[dict[str, object]], spec: str = "", prefs: Preferences = PREFS
) -> str | None:
    found = likely_file(files, SpecifierSet(spec), prefs)
    return None if found is None else str(found["filename"])


def test_pips_platform_widening_is_in_the_tags() -> None:
    # PEP 599: manylinux2014 runs manylinux2010 and manylinux1 wheels; pip widens so.
    assert Tag("cp311", "cp311", "manylinux1_x86_64") in TAGS
    assert Tag("py3", "none", "any") in TAGS
    assert Tag("cp311", "cp311", "win_amd64") not in TAGS
    assert TAGS[Tag("cp311", "cp311", "manylinux2014_x86_64")] < TAGS[Tag("py3", "none", "any")]


def test_the_highest_version_with_a_usable_wheel() -> None:
    files = _files("a-1.0-py3-none-any.whl", "a-2.0-cp311-cp311-win_amd64.whl",
                   "a-1.5-py3-none-any.whl", "a-2.0.tar.gz")
    assert _chosen(files) == "a-1.5-py3-none-any.whl"


def test_the_specifier_bounds_the_version() -> None:
    files = _files("a-1.0-py3-none-any.whl", "a-1.5-py3-none-any.whl", "a-2.0-py3-none-any.whl")
    assert _chosen(files, "<2") == "a-1.5-py3-none-any.whl"
    assert _chosen(files, ">=3") is None


def test_pre_releases_only_when_asked_or_alone() -> None:
    files = _files("a-1.0-py3-none-any.whl", "a-2.0b1-py3-none-any.whl")
    assert _chosen(files) == "a-1.0-py3-none-any.whl"
    assert _chosen(files, ">=2.0b1") == "a-2.0b1-py3-none-any.whl"
    assert _chosen(_files("a-2.0b1-py3-none-any.whl")) == "a-2.0b1-py3-none-any.whl"


def test_the_best_ranked_wheel_of_the_version() -> None:
    files = _files("a-1.0-py3-none-any.whl", "a-1.0-cp311-cp311-manylinux2014_x86_64.whl",
                   "a-1.0-cp311-cp311-manylinux1_x86_64.whl")
    assert _chosen(files) == "a-1.0-cp311-cp311-manylinux2014_x86_64.whl"


def test_requires_python_excludes_a_file() -> None:
    files = [*_files("a-2.0-py3-none-any.whl", requires_python=">=3.12"),
             *_files("a-1.0-py3-none-any.whl", requires_python=">=3.8")]
    assert _chosen(files) == "a-1.0-py3-none-any.whl"


def test_sdists_only_when_binaries_are_not_required() -> None:
    files = _files("a-1.0-py3-none-any.whl", "a-2.0.tar.gz")
    assert _chosen(files) == "a-1.0-py3-none-any.whl"
    mixed = Preferences(TAGS, Version("3.11"), only_binary=False)
    assert _chosen(files, prefs=mixed) == "a-2.0.tar.gz"
    # A wheel of the same version is preferred to its sdist.
    assert _chosen(_files("a-2.0.tar.gz", "a-2.0-py3-none-any.whl"), prefs=mixed) == (
        "a-2.0-py3-none-any.whl"
    )


def test_unreadable_names_are_skipped() -> None:
    assert _chosen(_files("a-1.0.exe", "not a wheel.whl", "a-1.0-py3-none-any.whl")) == (
        "a-1.0-py3-none-any.whl"
    )


def test_without_target_options_the_running_tags_are_used() -> None:
    running = [Tag("py3", "none", "any")]
    assert target_tags(Target(python="python3"), running) == {Tag("py3", "none", "any"): 0}


METADATA = b"""Metadata-Version: 2.1
Name: alpha
Version: 1.0
Requires-Dist: beta>=1
Requires-Dist: Gamma_Two (<3)
Requires-Dist: pywin32; sys_platform == "win32"
Requires-Dist: pytest; extra == "test"
Requires-Dist: beta<2
Requires-Dist: odd; os_name == "posix" and python_version >= "3.8"

A description with Requires-Dist: nothing
"""


def test_dependencies_hold_their_markers_and_combine_specifiers() -> None:
    found = dependencies(METADATA, ENV)
    assert list(found) == ["beta", "gamma-two", "odd"]
    assert found["beta"] == SpecifierSet(">=1,<2")
    assert found["gamma-two"] == SpecifierSet("<3")


def test_an_extra_applies_only_when_asked_for() -> None:
    assert "pytest" in applicable(["pytest; extra == 'test'"], ENV, extras=["test"])
    assert "pytest" not in applicable(["pytest; extra == 'test'"], ENV)


def test_invalid_requirements_are_skipped() -> None:
    assert applicable(["alpha", "not a requirement!!", "beta @ https://x/b.whl"], ENV) == {
        "alpha": SpecifierSet(), "beta": SpecifierSet()}


def _wheel(tmp_path: Path, files: dict[str, bytes]) -> Path:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        for name, data in files.items():
            z.writestr(name, data)
    path = tmp_path / "w.whl"
    path.write_bytes(buffer.getvalue())
    return path


def test_wheel_metadata_reads_the_dist_info_metadata(tmp_path: Path) -> None:
    path = _wheel(tmp_path, {"alpha/__init__.py": b"", "alpha/METADATA": b"no",
                             "alpha-1.0.dist-info/METADATA": METADATA})
    assert wheel_metadata(path) == METADATA


@pytest.mark.parametrize("files", [{"alpha/__init__.py": b""}, {"x/y.dist-info/METADATA": b"deep"}])
def test_wheel_metadata_of_a_wheel_without_one_is_none(
    tmp_path: Path, files: dict[str, bytes]
) -> None:
    assert wheel_metadata(_wheel(tmp_path, files)) is None


def test_wheel_metadata_of_a_broken_file_is_none(tmp_path: Path) -> None:
    (tmp_path / "bad.whl").write_bytes(b"not a zip")
    assert wheel_metadata(tmp_path / "bad.whl") is None
    assert wheel_metadata(tmp_path / "missing.whl") is None
