"""Validation of upstream bodies (PEP 691 pages, the project list, legacy JSON) before use."""

from __future__ import annotations

import json
from typing import Any

import pytest

from snapproxy.documents import (
    ProjectList,
    parse_legacy_project,
    parse_project_list,
    parse_project_page,
)

SHA = "a" * 64


def dumps(value: Any) -> bytes:
    return json.dumps(value).encode()


def good_file(**extra: Any) -> dict[str, Any]:
    f: dict[str, Any] = {
        "filename": "foo-1.0.tar.gz",
        "url": "https://files.pythonhosted.org/packages/foo-1.0.tar.gz",
        "hashes": {"sha256": SHA},
    }
    f.update(extra)
    return f


# --- parse_project_page -----------------------------------------------------------------


@pytest.mark.parametrize(
    "doc",
    [
        {"meta": {"api-version": "1.1"}, "name": "foo", "files": []},
        {"meta": {"api-version": "1.1"}, "name": "foo", "files": [good_file()]},
        {"files": [good_file(hashes={})]},  # PEP 691: hashes may be empty
        {"files": [good_file(url="../../packages/foo-1.0.tar.gz")]},  # relative
        {
            "meta": {"api-version": "1.1", "_last-serial": 1},
            "name": "foo",
            "versions": ["1.0"],
            "files": [
                good_file(
                    **{
                        "upload-time": "2021-01-01T00:00:00Z",
                        "size": 1,
                        "yanked": "reason",
                        "core-metadata": {"sha256": SHA},
                        "requires-python": ">=3.8",
                    }
                )
            ],
        },
    ],
)
def test_parse_project_page_accepts(doc: dict[str, Any]) -> None:
    assert parse_project_page(dumps(doc)) == doc


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (b"", "not JSON"),
        (b"<html></html>", "no PEP 503 project page"),
        (b'<html><a href="/login">Log in</a></html>', "not a PEP 503 project page"),
        (b'{"files": [', "not JSON"),
        (b"\xff\xfe\x00", "not JSON"),
        (b"[]", "not a JSON object"),
        (b'"files"', "not a JSON object"),
        (b"null", "not a JSON object"),
        (dumps({}), "files"),
        (dumps({"files": None}), "files"),
        (dumps({"files": {}}), "files"),
        (dumps({"files": ["foo-1.0.tar.gz"]}), "files"),
        (dumps({"files": [{"url": "https://x/foo.tar.gz", "hashes": {}}]}), "filename"),
        (dumps({"files": [{"filename": "foo-1.0.tar.gz", "hashes": {}}]}), "url"),
        (dumps({"files": [good_file(filename=1)]}), "filename"),
        (dumps({"files": [good_file(url=None)]}), "url"),
        (dumps({"files": [{"filename": "foo-1.0.tar.gz", "url": "u"}]}), "hashes"),
        (dumps({"files": [good_file(hashes=None)]}), "hashes"),
        (dumps({"files": [good_file(hashes=["sha256", SHA])]}), "hashes"),
    ],
)
def test_parse_project_page_refuses(body: bytes, why: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_project_page(body)
    assert why in str(info.value)


@pytest.mark.parametrize("value", [123, ["a"], {"x": 1}])
def test_hash_values_must_be_hex_strings(value: Any) -> None:
    # PEP 691: "hashes: A dictionary mapping a hash name to a hex encoded digest".
    with pytest.raises(ValueError):
        parse_project_page(dumps({"files": [good_file(hashes={"sha256": value})]}))


# --- parse_project_list -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("doc", "expected"),
    [
        ({"meta": {"api-version": "1.1"}, "projects": []}, ProjectList({"api-version": "1.1"}, [])),
        (
            {"meta": {"api-version": "1.1"}, "projects": [{"name": "foo"}, {"name": "Bar"}]},
            ProjectList({"api-version": "1.1"}, ["foo", "Bar"]),
        ),
        ({"projects": [{"name": "foo", "_last-serial": 3}]}, ProjectList({}, ["foo"])),
    ],
)
def test_parse_project_list_accepts(doc: dict[str, Any], expected: ProjectList) -> None:
    assert parse_project_list(dumps(doc)) == expected


@pytest.mark.parametrize("size", [10, 100_000])  # inline and piecewise parsing
def test_parse_project_list_keeps_only_names(size: int) -> None:
    names = [f"p{i}" for i in range(size)]
    doc = {"meta": {"api-version": "1.0"}, "projects": [{"name": n, "x": 1} for n in names]}
    assert parse_project_list(dumps(doc)) == ProjectList({"api-version": "1.0"}, names)


def test_parse_project_list_reads_html() -> None:
    body = b'<!DOCTYPE html><html><body>\n<a href="a/">A</a>\n<a href="b-c/">b&amp;c</a>\n'
    assert parse_project_list(body) == ProjectList({"api-version": "1.0"}, ["A", "b&c"])


@pytest.mark.parametrize(
    "body",
    [
        # A maintenance or login page answered with 200 is not an empty index.
        b"<!DOCTYPE html><html><body><h1>Down for maintenance</h1></body></html>",
        b"<html><head><title>Sign in</title></head><body><form></form></body></html>",
        b"<p>503</p>",
    ],
)
def test_parse_project_list_refuses_html_without_projects(body: bytes) -> None:
    with pytest.raises(ValueError, match="lists no project"):
        parse_project_list(body)


@pytest.mark.parametrize(
    "body",
    [
        b"nope",
        b"[]",
        dumps({}),
        dumps({"projects": None}),
        dumps({"projects": ["foo"]}),
        dumps({"projects": [{}]}),
        dumps({"projects": [{"name": 3}]}),
    ],
)
def test_parse_project_list_refuses(body: bytes) -> None:
    with pytest.raises(ValueError):
        parse_project_list(body)


# --- parse_legacy_project ---------------------------------------------------------------

LEGACY_FILE = {"filename": "foo-1.0.tar.gz", "upload_time_iso_8601": "2021-01-01T00:00:00Z"}


@pytest.mark.parametrize(
    "doc",
    [
        {"info": {"name": "foo"}},
        {"info": {"name": "foo"}, "releases": {}, "urls": []},
        {"info": {"name": "foo"}, "releases": {"1.0": [LEGACY_FILE], "0.1": []}},
        {"info": {"name": "foo", "version": "1.0"}, "urls": [LEGACY_FILE]},  # per-version
        {"info": {}, "last_serial": 1, "releases": {"1.0": [LEGACY_FILE]}, "urls": []},
    ],
)
def test_parse_legacy_project_accepts(doc: dict[str, Any]) -> None:
    assert parse_legacy_project(dumps(doc)) == doc


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (b"{", "not JSON"),
        (b"[]", "not a JSON object"),
        (dumps({}), "info"),
        (dumps({"info": None}), "info"),
        (dumps({"info": []}), "info"),
        (dumps({"info": {}, "releases": []}), "releases"),
        (dumps({"info": {}, "releases": None}), "releases"),
        (dumps({"info": {}, "releases": {"1.0": None}}), "releases"),
        (dumps({"info": {}, "releases": {"1.0": {}}}), "releases"),
        (dumps({"info": {}, "urls": None}), "urls"),
        (dumps({"info": {}, "urls": {}}), "urls"),
        (dumps({"info": {}, "urls": ["foo-1.0.tar.gz"]}), "filename"),
        (dumps({"info": {}, "urls": [{}]}), "filename"),
        (dumps({"info": {}, "releases": {"1.0": [{"filename": None}]}}), "filename"),
        (dumps({"info": {}, "releases": {"1.0": [{"url": "x"}]}}), "filename"),
    ],
)
def test_parse_legacy_project_refuses(body: bytes, why: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_legacy_project(body)
    assert why in str(info.value)
