"""DESIGN.md "Filtering rules", legacy JSON (`/pypi/<p>/json`, `/pypi/<p>/<v>/json`)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from snapproxy.cutoff import parse_cutoff
from snapproxy.legacy_json import (
    info_from_metadata,
    latest_version,
    snapshot_project,
    snapshot_version,
    visible_releases,
)
from snapproxy.snapshot import Snapshot

CUTOFF = parse_cutoff("2021-05-01")
BEFORE = "2021-04-30T23:59:59.999999Z"
AT = "2021-05-01T00:00:00Z"
AFTER = "2021-05-01T00:00:00.000001Z"


def f(filename: str, upload: Any = BEFORE, **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "filename": filename,
        "url": f"https://files.pythonhosted.org/packages/ab/{filename}",
        "digests": {"sha256": "0" * 64},
        "yanked": False,
        "yanked_reason": None,
        # The zone-less legacy field must not be what decides.
        "upload_time": "2000-01-01T00:00:00",
    }
    if upload is not None:
        out["upload_time_iso_8601"] = upload
    out.update(extra)
    return out


def snap(**kwargs: Any) -> Snapshot:
    return Snapshot(CUTOFF, **kwargs)


# --- visible_releases -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("upload", "allow_undated", "kept"),
    [
        (BEFORE, False, True),
        (AT, False, False),  # strict <
        (AFTER, False, False),
        ("2021-05-01T01:00:00+02:00", False, True),
        ("2021-05-01T02:00:00+02:00", False, False),
        (None, False, False),
        (None, True, True),
        ("2021-04-01T00:00:00", False, False),  # no zone: undated
        ("2021-04-01T00:00:00", True, True),
    ],
)
def test_files_filtered_by_upload_time_iso_8601(
    upload: Any, allow_undated: bool, kept: bool
) -> None:
    doc = {"releases": {"1.0": [f("foo-1.0.tar.gz", upload)]}}
    out = visible_releases(doc, snap(allow_undated=allow_undated))
    assert out == ({"1.0": [f("foo-1.0.tar.gz", upload)]} if kept else {})


def test_emptied_versions_are_removed_and_others_keep_their_surviving_files() -> None:
    doc = {
        "releases": {
            "0.1": [],  # no files even upstream
            "1.0": [f("foo-1.0.tar.gz"), f("foo-1.0-py3-none-any.whl", AFTER)],
            "2.0": [f("foo-2.0.tar.gz", AT), f("foo-2.0-py3-none-any.whl", AFTER)],
            "3.0": None,
        }
    }
    before = copy.deepcopy(doc)
    out = visible_releases(doc, snap())
    assert out == {"1.0": [f("foo-1.0.tar.gz")]}
    assert doc == before


@pytest.mark.parametrize("doc", [{}, {"releases": {}}, {"releases": None}])
def test_no_releases(doc: dict[str, Any]) -> None:
    assert visible_releases(doc, snap()) == {}


@pytest.mark.parametrize(
    ("policy", "yanked", "reason"),
    [
        ("keep", True, "broken"),
        ("ignore", False, None),
    ],
)
def test_yanked_policy_on_files(policy: Any, yanked: bool, reason: str | None) -> None:
    doc = {"releases": {"1.0": [f("foo-1.0.tar.gz", yanked=True, yanked_reason="broken")]}}
    (kept,) = visible_releases(doc, snap(yanked=policy))["1.0"]
    assert kept["yanked"] is yanked
    assert kept["yanked_reason"] == reason


# --- latest_version ---------------------------------------------------------------------


def rel(*versions: str, yanked: tuple[str, ...] = ()) -> dict[str, list[dict[str, Any]]]:
    return {v: [f(f"foo-{v}.tar.gz", yanked=v in yanked)] for v in versions}


@pytest.mark.parametrize(
    ("releases", "latest"),
    [
        (rel("1.0"), "1.0"),
        (rel("1.0", "2.0"), "2.0"),
        (rel("2.0", "1.0"), "2.0"),  # order in the document does not matter
        (rel("1.9", "1.10"), "1.10"),  # PEP 440 order, not string order
        (rel("1.0", "1.0.post1"), "1.0.post1"),  # a post release is final
        # Non-prerelease first.
        (rel("1.0", "2.0a1"), "1.0"),
        (rel("1.0", "2.0rc1"), "1.0"),
        (rel("1.0", "2.0.dev1"), "1.0"),
        (rel("1.0", "2.0b1", "1.5"), "1.5"),
        # Only prereleases: the highest.
        (rel("2.0a1", "2.0b1", "1.0rc1"), "2.0b1"),
        # Non-yanked first.
        (rel("1.0", "2.0", yanked=("2.0",)), "1.0"),
        (rel("1.0", "2.0a1", yanked=("1.0",)), "2.0a1"),
        (rel("1.0", "1.1", "2.0", yanked=("2.0", "1.1")), "1.0"),
        # Every version yanked: the highest final one.
        (rel("1.0", "2.0", yanked=("1.0", "2.0")), "2.0"),
        (rel("1.0", "2.0b1", yanked=("1.0", "2.0b1")), "1.0"),
        # A version PEP 440 cannot read never beats a real final release.
        (rel("1.0", "foo"), "1.0"),
        ({}, None),
    ],
)
def test_latest_version(releases: dict[str, list[dict[str, Any]]], latest: str | None) -> None:
    assert latest_version(releases) == latest


def test_a_release_with_some_files_yanked_is_not_yanked() -> None:
    releases = {
        "1.0": [f("foo-1.0.tar.gz")],
        "2.0": [f("foo-2.0.tar.gz", yanked=True), f("foo-2.0-py3-none-any.whl")],
    }
    assert latest_version(releases) == "2.0"


def test_latest_is_computed_on_the_snapshot_not_today() -> None:
    doc = {
        "releases": {
            "1.0": [f("foo-1.0.tar.gz")],
            "2.0": [f("foo-2.0.tar.gz", AFTER)],
        }
    }
    assert latest_version(visible_releases(doc, snap())) == "1.0"


def test_yanked_ignore_makes_a_yanked_release_latest_again() -> None:
    doc = {"releases": rel("1.0", "2.0", yanked=("2.0",))}
    assert latest_version(visible_releases(doc, snap(yanked="keep"))) == "1.0"
    assert latest_version(visible_releases(doc, snap(yanked="ignore"))) == "2.0"


# --- snapshot_project -------------------------------------------------------------------


def legacy_doc() -> dict[str, Any]:
    return {
        "info": {"name": "foo", "version": "2.0", "summary": "today", "yanked": False},
        "last_serial": 123456,
        "releases": {
            "1.0": [f("foo-1.0.tar.gz"), f("foo-1.0-py3-none-any.whl")],
            "1.1": [f("foo-1.1.tar.gz", AFTER)],
            "2.0": [f("foo-2.0.tar.gz", AFTER)],
        },
        "urls": [f("foo-2.0.tar.gz", AFTER)],
        "vulnerabilities": [],
    }


def test_snapshot_project() -> None:
    doc = legacy_doc()
    before = copy.deepcopy(doc)
    releases = visible_releases(doc, snap())
    info_1_0 = {"name": "foo", "version": "1.0", "summary": "then", "yanked": False}
    out = snapshot_project(doc, releases, info_1_0, snap(), lambda x: f"/files/{x['filename']}")
    assert doc == before
    assert "last_serial" not in out
    assert out["info"] == info_1_0
    assert list(out["releases"]) == ["1.0"]
    assert [x["url"] for x in out["releases"]["1.0"]] == [
        "/files/foo-1.0.tar.gz",
        "/files/foo-1.0-py3-none-any.whl",
    ]
    # urls: the latest version's surviving files, never today's.
    assert [x["filename"] for x in out["urls"]] == ["foo-1.0.tar.gz", "foo-1.0-py3-none-any.whl"]
    assert [x["url"] for x in out["urls"]] == [
        "/files/foo-1.0.tar.gz",
        "/files/foo-1.0-py3-none-any.whl",
    ]
    assert out["vulnerabilities"] == []


def test_snapshot_project_direct_files() -> None:
    doc = legacy_doc()
    releases = visible_releases(doc, snap())
    out = snapshot_project(doc, releases, {"version": "1.0"}, snap(), None)
    assert [x["url"] for x in out["urls"]] == [
        "https://files.pythonhosted.org/packages/ab/foo-1.0.tar.gz",
        "https://files.pythonhosted.org/packages/ab/foo-1.0-py3-none-any.whl",
    ]


@pytest.mark.parametrize(("policy", "yanked"), [("keep", True), ("ignore", False)])
def test_snapshot_project_info_yanked(policy: Any, yanked: bool) -> None:
    doc = legacy_doc()
    releases = visible_releases(doc, snap(yanked=policy))
    info = {"version": "1.0", "yanked": True, "yanked_reason": "oops"}
    out = snapshot_project(doc, releases, info, snap(yanked=policy), None)
    assert out["info"]["yanked"] is yanked
    assert out["info"]["yanked_reason"] == ("oops" if yanked else None)


# --- snapshot_version -------------------------------------------------------------------


def test_snapshot_version() -> None:
    doc = {
        "info": {"name": "foo", "version": "1.0", "yanked": False},
        "last_serial": 1,
        "releases": {"2.0": []},
        "urls": [f("foo-1.0.tar.gz"), f("foo-1.0-py3-none-any.whl", AFTER)],
    }
    files = visible_releases({"releases": {"1.0": doc["urls"]}}, snap())["1.0"]
    out = snapshot_version(doc, files, snap(), lambda x: "/files/" + x["filename"])
    assert "last_serial" not in out
    assert "releases" not in out
    assert out["info"] == doc["info"]
    assert [x["url"] for x in out["urls"]] == ["/files/foo-1.0.tar.gz"]


def test_version_without_surviving_files_has_no_release() -> None:
    # The proxy answers 404 for it: nothing survives the filter.
    urls = [f("foo-2.0.tar.gz", AT), f("foo-2.0-py3-none-any.whl", AFTER)]
    assert visible_releases({"releases": {"2.0": urls}}, snap()) == {}


@pytest.mark.parametrize(("policy", "yanked"), [("keep", True), ("ignore", False)])
def test_snapshot_version_yanked(policy: Any, yanked: bool) -> None:
    doc = {"info": {"version": "1.0", "yanked": True, "yanked_reason": "r"}, "urls": []}
    files = visible_releases(
        {"releases": {"1.0": [f("foo-1.0.tar.gz", yanked=True, yanked_reason="r")]}},
        snap(yanked=policy),
    )["1.0"]
    out = snapshot_version(doc, files, snap(yanked=policy), None)
    assert out["info"]["yanked"] is yanked
    assert out["urls"][0]["yanked"] is yanked


# --- info_from_metadata -----------------------------------------------------------------

METADATA = b"""\
Metadata-Version: 2.1
Name: foo
Version: 1.0
Summary: Foo, as it was
Home-page: https://example.org/foo
Author: Jane Doe
Author-email: jane@example.org
License: MIT
Keywords: alpha,beta
Classifier: Programming Language :: Python :: 3
Classifier: License :: OSI Approved :: MIT License
Requires-Python: >=3.8
Requires-Dist: requests>=2
Requires-Dist: attrs; extra == "x"
Provides-Extra: x
Project-URL: Source, https://example.org/foo/src
Description-Content-Type: text/markdown

Long description of foo 1.0.
"""

PROJECT_INFO = {
    "name": "foo",
    "version": "2.0",
    "summary": "Foo, as it is today",
    "license": "Apache-2.0",
    "author": "Someone Else",
    "requires_dist": ["numpy"],
    "requires_python": ">=3.12",
    "project_urls": {"Home": "https://today.example"},
    "package_url": "https://pypi.org/project/foo/",
    "project_url": "https://pypi.org/project/foo/",
    "release_url": "https://pypi.org/project/foo/2.0/",
    "docs_url": None,
    "bugtrack_url": None,
    "downloads": {"last_day": -1, "last_week": -1, "last_month": -1},
    "yanked": True,
    "yanked_reason": "today's yank",
}


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("name", "foo"),
        ("version", "1.0"),
        ("summary", "Foo, as it was"),
        ("home_page", "https://example.org/foo"),
        ("author", "Jane Doe"),
        ("author_email", "jane@example.org"),
        ("license", "MIT"),
        ("keywords", "alpha,beta"),
        (
            "classifiers",
            ["Programming Language :: Python :: 3", "License :: OSI Approved :: MIT License"],
        ),
        ("requires_python", ">=3.8"),
        ("requires_dist", ["requests>=2", 'attrs; extra == "x"']),
        ("provides_extra", ["x"]),
        ("project_urls", {"Source": "https://example.org/foo/src"}),
        ("description_content_type", "text/markdown"),
        ("release_url", "https://pypi.org/project/foo/1.0/"),
        ("package_url", "https://pypi.org/project/foo/"),
        ("project_url", "https://pypi.org/project/foo/"),
        ("downloads", {"last_day": -1, "last_week": -1, "last_month": -1}),
        ("yanked", False),
        ("yanked_reason", None),
    ],
)
def test_info_from_metadata(key: str, value: Any) -> None:
    info = info_from_metadata(PROJECT_INFO, "1.0", METADATA)
    assert info[key] == value


def test_info_from_metadata_description() -> None:
    info = info_from_metadata(PROJECT_INFO, "1.0", METADATA)
    assert info["description"].strip() == "Long description of foo 1.0."


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("name", "foo"),
        ("version", "1.0"),
        ("release_url", "https://pypi.org/project/foo/1.0/"),
        ("package_url", "https://pypi.org/project/foo/"),
        ("downloads", {"last_day": -1, "last_week": -1, "last_month": -1}),
        # Another version's data is never shown as this version's.
        ("summary", None),
        ("license", None),
        ("author", None),
        ("requires_dist", None),
        ("requires_python", None),
        ("project_urls", None),
        ("yanked", False),
        ("yanked_reason", None),
    ],
)
def test_info_without_metadata(key: str, value: Any) -> None:
    info = info_from_metadata(PROJECT_INFO, "1.0", None)
    assert info[key] == value


def test_info_from_metadata_does_not_mutate_the_project_info() -> None:
    before = copy.deepcopy(PROJECT_INFO)
    info_from_metadata(PROJECT_INFO, "1.0", METADATA)
    assert before == PROJECT_INFO


def test_fields_missing_from_metadata_are_not_taken_from_today() -> None:
    minimal = b"Metadata-Version: 2.1\nName: foo\nVersion: 1.0\n"
    info = info_from_metadata(PROJECT_INFO, "1.0", minimal)
    assert info["summary"] is None
    assert info["license"] is None
    assert info["requires_dist"] is None
    assert info["requires_python"] is None
