"""DESIGN.md "Filtering rules", simple project page (PEP 503/592/658/691/700/714)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from snapproxy.cutoff import parse_cutoff
from snapproxy.simple_page import (
    HONOURED_API_VERSION,
    ProjectNotAtCutoff,
    absolutize_urls,
    apply_yanked_policy,
    cap_meta,
    drop_invisible_files,
    find_file,
    keep_live_versions,
    normalise_core_metadata,
    page_facts,
    rewrite_file_urls,
    snapshot_page,
    snapshot_stream,
)
from snapproxy.snapshot import Snapshot

PAGE_URL = "https://pypi.org/simple/foo/"
CUTOFF = parse_cutoff("2021-05-01")
BEFORE = "2021-04-30T23:59:59.999999Z"
AT = "2021-05-01T00:00:00Z"
AFTER = "2021-05-01T00:00:00.000001Z"


def entry(filename: str, upload_time: Any = BEFORE, **extra: Any) -> dict[str, Any]:
    f: dict[str, Any] = {
        "filename": filename,
        "url": f"https://files.pythonhosted.org/packages/ab/cd/{filename}",
        "hashes": {"sha256": "0" * 64},
    }
    if upload_time is not None:
        f["upload-time"] = upload_time
    f.update(extra)
    return f


def page(files: list[dict[str, Any]] | None, **extra: Any) -> dict[str, Any]:
    p: dict[str, Any] = {
        "meta": {"api-version": "1.1", "_last-serial": 123},
        "name": "foo",
        "files": files,
    }
    p.update(extra)
    return p


def names(p: dict[str, Any]) -> list[str]:
    return [f["filename"] for f in p["files"]]


def snap(**kwargs: Any) -> Snapshot:
    return Snapshot(CUTOFF, **kwargs)


# --- absolutize_urls --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "absolute"),
    [
        (
            "https://files.pythonhosted.org/packages/foo-1.0.tar.gz",
            "https://files.pythonhosted.org/packages/foo-1.0.tar.gz",
        ),
        ("../../packages/ab/foo-1.0.tar.gz", "https://pypi.org/packages/ab/foo-1.0.tar.gz"),
        ("/packages/foo-1.0.tar.gz", "https://pypi.org/packages/foo-1.0.tar.gz"),
        ("foo-1.0.tar.gz", "https://pypi.org/simple/foo/foo-1.0.tar.gz"),
        ("./foo-1.0.tar.gz", "https://pypi.org/simple/foo/foo-1.0.tar.gz"),
        ("//mirror.example/foo-1.0.tar.gz", "https://mirror.example/foo-1.0.tar.gz"),
    ],
)
def test_relative_urls_are_resolved_against_the_page(url: str, absolute: str) -> None:
    p = page([{**entry("foo-1.0.tar.gz"), "url": url}])
    assert absolutize_urls(p, PAGE_URL)["files"][0]["url"] == absolute


# --- drop_invisible_files ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("upload_time", "allow_undated", "kept"),
    [
        (BEFORE, False, True),
        (AT, False, False),  # strict <
        (AFTER, False, False),
        ("2021-05-01T01:59:59+02:00", False, True),
        ("2021-05-01T02:00:00+02:00", False, False),
        (None, False, False),  # no key at all: undated, hidden
        ("", False, False),
        ("2021-04-01T00:00:00", False, False),  # no zone: undated
        (None, True, True),  # --allow-undated
        ("", True, True),
        (AFTER, True, False),  # allow_undated does not show dated later files
    ],
)
def test_drop_invisible_files(upload_time: Any, allow_undated: bool, kept: bool) -> None:
    p = page([entry("foo-1.0.tar.gz", upload_time)])
    out = drop_invisible_files(p, snap(allow_undated=allow_undated))
    assert names(out) == (["foo-1.0.tar.gz"] if kept else [])


def test_null_upload_time_is_undated() -> None:
    p = page([{**entry("foo-1.0.tar.gz"), "upload-time": None}])
    assert drop_invisible_files(p, snap())["files"] == []
    assert names(drop_invisible_files(p, snap(allow_undated=True))) == ["foo-1.0.tar.gz"]


@pytest.mark.parametrize("files", [None, []])
def test_files_is_always_a_list_never_null(files: Any) -> None:
    out = drop_invisible_files(page(files), snap())
    assert out["files"] == []
    assert isinstance(out["files"], list)


def test_drop_keeps_order_and_other_keys() -> None:
    p = page(
        [
            entry("foo-1.0.tar.gz", BEFORE),
            entry("foo-2.0.tar.gz", AFTER),
            entry("foo-1.1.tar.gz", "2020-01-01T00:00:00Z"),
        ],
        versions=["1.0", "1.1", "2.0"],
    )
    out = drop_invisible_files(p, snap())
    assert names(out) == ["foo-1.0.tar.gz", "foo-1.1.tar.gz"]
    assert out["name"] == "foo"
    assert out["versions"] == ["1.0", "1.1", "2.0"]  # versions are another step's job


# --- apply_yanked_policy ----------------------------------------------------------------

YANKS = [False, True, "broken build", None]


@pytest.mark.parametrize("yanked", YANKS)
def test_yanked_keep_passes_marks_through(yanked: Any) -> None:
    f = entry("foo-1.0.tar.gz", yanked=yanked)
    out = apply_yanked_policy(page([f]), "keep")
    assert out["files"][0]["yanked"] == yanked


@pytest.mark.parametrize("yanked", YANKS)
def test_yanked_ignore_shows_every_file_unyanked(yanked: Any) -> None:
    f = entry("foo-1.0.tar.gz", yanked=yanked)
    out = apply_yanked_policy(page([f]), "ignore")
    assert out["files"][0]["yanked"] is False


def test_yanked_ignore_applies_to_files_without_the_key() -> None:
    out = apply_yanked_policy(page([entry("foo-1.0.tar.gz")]), "ignore")
    assert not out["files"][0].get("yanked")


# --- keep_live_versions -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("listed", "filenames", "expected"),
    [
        (["1.0", "1.1", "2.0"], ["foo-1.0-py3-none-any.whl"], ["1.0"]),
        (["1.0", "1.1"], ["foo-1.1.tar.gz"], ["1.1"]),
        (["1.0"], ["foo-1.0.zip"], ["1.0"]),
        (["1.0"], ["foo-1.0.tar.bz2"], ["1.0"]),
        (["1.0"], ["foo-1.0-py2.7.egg"], ["1.0"]),
        # An installer's version cannot be read: it keeps nothing alive.
        (["1.0"], ["foo-1.0.win32.exe"], []),
        (["1.0", "2.0"], ["foo-1.0.win32.exe", "foo-2.0.tar.gz"], ["2.0"]),
        # Upstream order is kept, only dead versions go.
        (["2.0", "1.0", "1.5"], ["foo-1.0.tar.gz", "foo-2.0.tar.gz"], ["2.0", "1.0"]),
        # PEP 440 equality between the listed spelling and the filename's.
        (["1.0"], ["foo-1.0.0.tar.gz"], ["1.0"]),
        (["1.0rc1"], ["foo-1.0rc1-py3-none-any.whl"], ["1.0rc1"]),
        (["1.0-rc.1"], ["foo-1.0rc1.tar.gz"], ["1.0-rc.1"]),
        # A version only listed, with no file at all.
        (["1.0", "3.0"], ["foo-1.0.tar.gz"], ["1.0"]),
        # A listed legacy version no filename can read as.
        (["2004d", "1.0"], ["foo-1.0.tar.gz", "pytz-2004d.tar.gz"], ["1.0"]),
        ([], ["foo-1.0.tar.gz"], []),
    ],
)
def test_keep_live_versions(listed: list[str], filenames: list[str], expected: list[str]) -> None:
    p = page([entry(n) for n in filenames], versions=listed)
    assert keep_live_versions(p)["versions"] == expected


def test_pages_without_versions_stay_without() -> None:
    p = page([entry("foo-1.0.tar.gz")])
    p["meta"]["api-version"] = "1.0"
    assert "versions" not in keep_live_versions(p)


# --- normalise_core_metadata ------------------------------------------------------------

DIGEST = {"sha256": "a" * 64}


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ({"core-metadata": DIGEST}, DIGEST),
        ({"core-metadata": True}, True),
        # PyPI's misnamed JSON key (warehouse#13705): its value moves to core-metadata.
        ({"data-dist-info-metadata": DIGEST}, DIGEST),
        ({"data-dist-info-metadata": True}, True),
        ({"core-metadata": DIGEST, "data-dist-info-metadata": DIGEST}, DIGEST),
        # PEP 691's own old name; PEP 714 renamed it because pip 22.3-23.1 crash on it.
        ({"dist-info-metadata": DIGEST}, DIGEST),
        ({"dist-info-metadata": True}, True),
        # Nothing advertised.
        ({}, None),
        ({"core-metadata": False}, None),
        ({"data-dist-info-metadata": False}, None),
        ({"core-metadata": False, "data-dist-info-metadata": False}, None),
    ],
)
def test_normalise_core_metadata(given: dict[str, Any], expected: Any) -> None:
    out = normalise_core_metadata(page([entry("foo-1.0-py3-none-any.whl", **given)]))
    f = out["files"][0]
    # JSON uses the PEP 714 key only.
    assert "data-dist-info-metadata" not in f
    assert "dist-info-metadata" not in f
    if expected is None:
        assert not f.get("core-metadata")
    else:
        assert f["core-metadata"] == expected


# --- rewrite_file_urls ------------------------------------------------------------------


def test_rewrite_file_urls() -> None:
    p = page([entry("foo-1.0.tar.gz"), entry("foo-1.0-py3-none-any.whl")])
    out = rewrite_file_urls(p, lambda f: f"http://127.0.0.1:9/files/foo/{f['filename']}")
    assert [f["url"] for f in out["files"]] == [
        "http://127.0.0.1:9/files/foo/foo-1.0.tar.gz",
        "http://127.0.0.1:9/files/foo/foo-1.0-py3-none-any.whl",
    ]


# --- cap_meta ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("upstream", "served"),
    [
        ("1.0", "1.0"),
        ("1.1", "1.1"),
        ("1.2", "1.1"),  # PEP 708 data is not served
        ("1.3", "1.1"),  # PEP 740 data is not served
        ("1.4", "1.1"),
        ("1.10", "1.1"),  # numeric, not string, comparison
        (None, "1.0"),  # PEP 691: no api-version means 1.0
    ],
)
def test_api_version_never_claims_more_than_honoured(upstream: Any, served: str) -> None:
    p = page([entry("foo-1.0.tar.gz")])
    p["meta"] = {"_last-serial": 42} if upstream is None else {"api-version": upstream}
    assert cap_meta(p)["meta"]["api-version"] == served


def test_honoured_api_version_is_pep_700() -> None:
    assert HONOURED_API_VERSION == "1.1"


def test_cap_meta_drops_serial_and_unserved_data() -> None:
    f = entry(
        "foo-1.0-py3-none-any.whl",
        provenance="https://pypi.org/integrity/foo/1.0/foo-1.0-py3-none-any.whl/provenance",
        size=123,
    )
    p = page([f], versions=["1.0"])
    p["meta"] = {"api-version": "1.3", "_last-serial": 27182818}
    p["alternate-locations"] = ["https://other.example/simple/foo/"]
    p["tracks"] = ["https://other.example/simple/foo/"]
    p["project-status"] = {"status": "active"}
    out = cap_meta(p)
    assert out["meta"] == {"api-version": "1.1"}
    assert "provenance" not in out["files"][0]
    assert "alternate-locations" not in out
    assert "tracks" not in out
    # PEP 700 data is honoured and kept; project-status is passed through.
    assert out["files"][0]["size"] == 123
    assert out["files"][0]["upload-time"] == BEFORE
    assert out["versions"] == ["1.0"]
    assert out["project-status"] == {"status": "active"}


# --- snapshot_page: the composition -----------------------------------------------------


def upstream_page() -> dict[str, Any]:
    return {
        "meta": {"api-version": "1.3", "_last-serial": 99},
        "name": "foo",
        "versions": ["0.9", "1.0", "2.0"],
        "files": [
            entry(
                "foo-0.9.win32.exe",
                url="../../packages/foo-0.9.win32.exe",
            ),
            entry(
                "foo-1.0-py3-none-any.whl",
                "2021-04-01T00:00:00.123456Z",
                **{
                    "data-dist-info-metadata": DIGEST,
                    "core-metadata": DIGEST,
                    "requires-python": ">=3.6",
                    "yanked": "bad wheel",
                    "provenance": None,
                    "size": 10,
                },
            ),
            entry("foo-1.0.tar.gz", "2021-04-01T00:00:00Z", yanked=False),
            entry("foo-2.0.tar.gz", AT),
            entry("foo-2.0-py3-none-any.whl", AFTER),
        ],
    }


def test_snapshot_page_with_proxy_urls() -> None:
    raw = upstream_page()
    before = copy.deepcopy(raw)
    out = snapshot_page(
        raw, snap(), page_url=PAGE_URL, url_for=lambda f: f"/files/foo/{f['filename']}"
    )
    assert raw == before, "the input page must not be mutated"
    assert names(out) == ["foo-0.9.win32.exe", "foo-1.0-py3-none-any.whl", "foo-1.0.tar.gz"]
    # 0.9 only has an unreadable installer; 2.0 only has files at/after the cutoff.
    assert out["versions"] == ["1.0"]
    assert out["meta"] == {"api-version": "1.1"}
    assert [f["url"] for f in out["files"]] == [f"/files/foo/{n}" for n in names(out)]
    wheel = out["files"][1]
    assert wheel["core-metadata"] == DIGEST
    assert "data-dist-info-metadata" not in wheel
    assert "provenance" not in wheel
    assert wheel["yanked"] == "bad wheel"  # default policy: keep
    assert wheel["requires-python"] == ">=3.6"
    assert wheel["size"] == 10
    assert out["name"] == "foo"


def test_snapshot_page_direct_files_keeps_upstream_urls_resolved() -> None:
    out = snapshot_page(upstream_page(), snap(), page_url=PAGE_URL, url_for=None)
    assert [f["url"] for f in out["files"]] == [
        "https://pypi.org/packages/foo-0.9.win32.exe",
        "https://files.pythonhosted.org/packages/ab/cd/foo-1.0-py3-none-any.whl",
        "https://files.pythonhosted.org/packages/ab/cd/foo-1.0.tar.gz",
    ]


def test_snapshot_page_url_for_sees_absolute_upstream_url() -> None:
    seen: list[str] = []

    def url_for(f: dict[str, Any]) -> str:
        seen.append(f["url"])
        return "x"

    snapshot_page(upstream_page(), snap(), page_url=PAGE_URL, url_for=url_for)
    assert seen[0] == "https://pypi.org/packages/foo-0.9.win32.exe"


def test_snapshot_page_yanked_ignore() -> None:
    out = snapshot_page(upstream_page(), snap(yanked="ignore"), page_url=PAGE_URL, url_for=None)
    assert [f["yanked"] for f in out["files"]] == [False, False, False]


@pytest.mark.parametrize(
    "files",
    [
        [],
        None,
        [entry("foo-1.0.tar.gz", AT)],
        [entry("foo-1.0.tar.gz", AFTER), entry("foo-1.0-py3-none-any.whl", AFTER)],
        [entry("foo-1.0.tar.gz", None)],  # undated, not allowed
    ],
)
def test_no_surviving_file_means_the_project_did_not_exist(files: Any) -> None:
    with pytest.raises(ProjectNotAtCutoff):
        snapshot_page(page(files), snap(), page_url=PAGE_URL, url_for=None)


def test_undated_files_survive_with_allow_undated() -> None:
    out = snapshot_page(
        page([entry("foo-1.0.tar.gz", None)], versions=["1.0"]),
        snap(allow_undated=True),
        page_url=PAGE_URL,
        url_for=None,
    )
    assert names(out) == ["foo-1.0.tar.gz"]
    assert out["versions"] == ["1.0"]


def test_project_not_at_cutoff_is_a_lookup_error() -> None:
    assert issubclass(ProjectNotAtCutoff, LookupError)


# --- find_file --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filename", "found"),
    [
        ("foo-1.0.tar.gz", True),
        ("foo-1.0-py3-none-any.whl", True),
        ("foo-1.0.TAR.GZ", False),
        ("foo-2.0.tar.gz", False),
        ("", False),
    ],
)
def test_find_file(filename: str, found: bool) -> None:
    p = page([entry("foo-1.0.tar.gz"), entry("foo-1.0-py3-none-any.whl")])
    result = find_file(p, filename)
    if found:
        assert result is not None and result["filename"] == filename
    else:
        assert result is None


def test_find_file_on_a_page_without_files() -> None:
    assert find_file(page(None), "foo-1.0.tar.gz") is None


@pytest.mark.parametrize(
    "cutoff", ["2021-04-01", "2021-04-01T00:00:00.5Z", "2021-05-01", "2030-01-01"]
)
@pytest.mark.parametrize("yanked", ["keep", "ignore"])
def test_facts_kept_between_snapshots_give_the_same_page(cutoff: str, yanked: Any) -> None:
    # The proxy works out page_facts once per upstream copy and filters with them under
    # every cutoff; that must be exactly the page worked out from scratch.
    raw = upstream_page()
    facts = page_facts(raw)
    snapshot = Snapshot(parse_cutoff(cutoff), yanked)
    kwargs: dict[str, Any] = {"page_url": "https://pypi.org/simple/foo/", "url_for": None}
    try:
        fresh = snapshot_page(raw, snapshot, **kwargs)
    except ProjectNotAtCutoff:
        with pytest.raises(ProjectNotAtCutoff):
            snapshot_stream(raw, snapshot, facts=facts, **kwargs)
        return
    kept = snapshot_stream(raw, snapshot, facts=facts, **kwargs)
    kept["files"] = list(kept["files"])
    assert kept == fresh
    assert list(kept) == list(fresh)  # key order too: it is the bytes clients hash
