"""Snapshots made with a page's facts (instant texts, version keys, one copy per file)
against a straightforward reference: datetimes, ``packaging`` and the page functions
composed one after another, on generated pages (PEP 691/700 pages, PEP 440 versions).
"""

from __future__ import annotations

import gc
import json
import tracemalloc
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from snapproxy.cutoff import parse_cutoff, parse_upload_time
from snapproxy.simple_page import (
    ProjectNotAtCutoff,
    absolutize_urls,
    apply_yanked_policy,
    cap_meta,
    drop_invisible_files,
    keep_live_versions,
    normalise_core_metadata,
    page_facts,
    rewrite_file_urls,
    snapshot_page,
    snapshot_stream,
)
from snapproxy.snapshot import JSON, Snapshot
from tests.unit.test_upload_instant import damaged_times, pypi_times, spelled_times
from tests.unit.test_version_text import filenames, parsed, reference_version_of, version_texts

UTC = timezone.utc
PAGE_URL = "https://index.example/simple/foo/"


# --- the reference ----------------------------------------------------------------------


def reference_shows(value: object, snapshot: Snapshot) -> bool:
    uploaded = parse_upload_time(value)
    return snapshot.allow_undated if uploaded is None else uploaded < snapshot.cutoff


def reference_versions(page: JSON, kept: list[JSON]) -> Any:
    """PEP 700 ``versions`` kept by ``kept``'s files, every text read with packaging."""
    live = {reference_version_of(f["filename"]) for f in kept} - {None}
    return [v for v in page["versions"] if parsed(str(v)) in live]


def reference_snapshot(page: JSON, snapshot: Snapshot, url_for: Any) -> JSON:
    kept = [f for f in page.get("files") or [] if reference_shows(f.get("upload-time"), snapshot)]
    if not kept:
        raise ProjectNotAtCutoff(page.get("name", "?"))
    out = absolutize_urls({**page, "files": kept}, PAGE_URL)
    out = apply_yanked_policy(out, snapshot.yanked)
    out = normalise_core_metadata(out)
    if url_for is not None:
        out = rewrite_file_urls(out, url_for)
    out = cap_meta(out)
    if isinstance(page.get("versions"), list):
        out = {**out, "versions": reference_versions(page, kept)}
    return out


def served(page: JSON) -> str:
    """The page as it is served: key order included."""
    return json.dumps({**page, "files": list(page["files"])})


# --- generated pages --------------------------------------------------------------------

upload_times = st.one_of(
    pypi_times(),
    pypi_times(),
    spelled_times(),
    damaged_times(),
    st.sampled_from([None, "", "garbage", 0]),
)
DIGEST = {"sha256": "ab" * 32}
OPTIONAL: dict[str, Any] = {
    "yanked": st.sampled_from([False, True, "broken", None, ""]),
    "core-metadata": st.sampled_from([DIGEST, True, False, None, {}]),
    "dist-info-metadata": st.sampled_from([DIGEST, True, False, None]),
    "data-dist-info-metadata": st.sampled_from([DIGEST, True, False]),
    "provenance": st.sampled_from([None, "https://index.example/provenance"]),
    "alternate-locations": st.just(["https://mirror.example/"]),
    "requires-python": st.sampled_from([None, ">=3.8"]),
    "size": st.integers(0, 10**6),
}


# Few versions, in several spellings, so that files share them and listed entries match
# files by text, by PEP 440 only, or not at all.
FEW_VERSIONS = ["1.0", "1.0.0", "1.1", "1.10", "01.1", "2.0rc1", "2.0-rc.1", "2.0", "3!1.0"]


@st.composite
def usual_filenames(draw: st.DrawFn) -> str:
    version = draw(st.sampled_from(FEW_VERSIONS))
    return draw(
        st.sampled_from(
            [f"foo-{version}.tar.gz", f"foo-{version}-py3-none-any.whl", f"foo-{version}.zip"]
        )
    )


@st.composite
def file_entries(draw: st.DrawFn) -> JSON:
    filename = draw(st.one_of(usual_filenames(), usual_filenames(), filenames()))
    fields: JSON = {
        "filename": filename,
        "url": draw(
            st.sampled_from(
                [
                    f"https://files.example/{filename}",
                    f"http://files.example/{filename}",
                    f"../../packages/{filename}",
                    f"/packages/{filename}",
                ]
            )
        ),
        "hashes": DIGEST,
    }
    if draw(st.integers(0, 9)):
        fields["upload-time"] = draw(upload_times)
    for key, values in OPTIONAL.items():
        if draw(st.booleans()):
            fields[key] = draw(values)
    order = draw(st.permutations(list(fields)))
    return {key: fields[key] for key in order}


@st.composite
def pages(draw: st.DrawFn) -> JSON:
    files = draw(st.lists(file_entries(), max_size=25))
    page: JSON = {
        "meta": {"api-version": draw(st.sampled_from(["1.0", "1.1", "1.3"])), "_last-serial": 7},
        "name": "foo",
        "files": files,
    }
    if draw(st.integers(0, 4)):
        # What files are named as (any spelling), what they are not, and what is no text.
        from_files = [f["filename"].split("-")[1] for f in files if "-" in f["filename"]]
        pool = st.one_of(
            st.sampled_from(from_files or ["1.0"]),
            st.sampled_from(FEW_VERSIONS),
            version_texts,
            st.sampled_from([1, 1.5, None, True]),
        )
        page["versions"] = draw(st.lists(pool, max_size=15))
    if draw(st.booleans()):
        page["alternate-locations"] = []
    return page


@st.composite
def snapshots(draw: st.DrawFn, page: JSON) -> Snapshot:
    """A cutoff on, just after or just before a file's upload, or anywhere."""
    instants = [parse_upload_time(f.get("upload-time")) for f in page["files"]]
    near = [t for t in instants if t is not None and datetime(1, 1, 2, tzinfo=UTC) < t]
    moment = draw(
        st.one_of(
            st.datetimes(
                min_value=datetime(1, 1, 2),
                max_value=datetime(9999, 12, 30),
                timezones=st.just(UTC),
            ),
            *(
                [
                    st.sampled_from(near).flatmap(
                        lambda t: st.sampled_from(
                            [t, t - timedelta(microseconds=1), t + timedelta(microseconds=1)]
                        )
                    )
                ]
                if near
                else []
            ),
        )
    )
    return Snapshot(
        moment,
        yanked=draw(st.sampled_from(["keep", "ignore"])),
        allow_undated=draw(st.booleans()),
    )


def url_for(f: JSON) -> str:
    assert f["url"].startswith(("https://", "http://"))  # sees the resolved upstream URL
    return f"../../files/foo/{f['filename']}"


@settings(max_examples=300, deadline=None)
@given(pages(), st.data())
def test_snapshots_with_kept_facts_equal_the_reference(page: JSON, data: st.DataObject) -> None:
    before = json.dumps(page)
    facts = page_facts(page)
    for _ in range(3):  # one upstream copy, several cutoffs
        snapshot = data.draw(snapshots(page))
        link = data.draw(st.sampled_from([None, url_for]))
        try:
            want = served(reference_snapshot(page, snapshot, link))
        except ProjectNotAtCutoff:
            with pytest.raises(ProjectNotAtCutoff):
                snapshot_stream(page, snapshot, page_url=PAGE_URL, url_for=link, facts=facts)
            continue
        got = snapshot_stream(page, snapshot, page_url=PAGE_URL, url_for=link, facts=facts)
        assert served(got) == want
        assert served(snapshot_page(page, snapshot, page_url=PAGE_URL, url_for=link)) == want
    assert json.dumps(page) == before  # nothing was changed in place


@settings(max_examples=200, deadline=None)
@given(pages(), st.data())
def test_page_functions_equal_the_reference(page: JSON, data: st.DataObject) -> None:
    snapshot = data.draw(snapshots(page))
    kept = [f for f in page["files"] if reference_shows(f.get("upload-time"), snapshot)]
    assert drop_invisible_files(page, snapshot)["files"] == kept
    if isinstance(page.get("versions"), list):
        assert keep_live_versions(page)["versions"] == reference_versions(page, page["files"])


def test_a_fraction_less_upload_time_against_a_fractional_cutoff() -> None:
    # "...:00Z" > "...:00.25Z" as raw text, though 12:00:00 is before 12:00:00.25.
    page = {
        "meta": {"api-version": "1.1"},
        "name": "foo",
        "versions": ["1.0", "2.0"],
        "files": [
            {"filename": "foo-1.0.tar.gz", "url": "https://f/1", "hashes": {},
             "upload-time": "2021-05-01T12:00:00Z"},
            {"filename": "foo-2.0.tar.gz", "url": "https://f/2", "hashes": {},
             "upload-time": "2021-05-01T12:00:00.500000Z"},
        ],
    }  # fmt: skip
    snapshot = Snapshot(parse_cutoff("2021-05-01T12:00:00.25Z"))
    out = snapshot_page(page, snapshot, page_url=PAGE_URL, url_for=None)
    assert [f["filename"] for f in out["files"]] == ["foo-1.0.tar.gz"]
    assert out["versions"] == ["1.0"]


def test_facts_of_another_page_are_refused() -> None:
    page = {"files": [{"filename": "foo-1.0.tar.gz", "url": "https://f/1", "hashes": {}}]}
    other = page_facts({"files": []})
    with pytest.raises(ValueError, match="another page"):
        snapshot_stream(page, Snapshot(parse_cutoff("2021-05-01")), page_url=PAGE_URL,
                        url_for=None, facts=other)  # fmt: skip


# --- the facts' memory ------------------------------------------------------------------


def big_page(files: int) -> JSON:
    entries = []
    for i in range(files):
        version = f"1.{i // 2}.{i % 7}" if i % 5 else f"1.{i // 2}.0rc1"
        name = f"foo-{version}-py3-none-any.whl" if i % 2 else f"foo-{version}.tar.gz"
        seconds = i * 3600
        stamp = datetime(2015, 1, 1, tzinfo=UTC) + timedelta(seconds=seconds, microseconds=i)
        text = stamp.strftime("%Y-%m-%dT%H:%M:%S.%fZ" if i % 3 else "%Y-%m-%dT%H:%M:%SZ")
        entries.append({"filename": name, "url": f"https://f/{name}", "hashes": DIGEST,
                        "upload-time": text})  # fmt: skip
    listed = list(dict.fromkeys(e["filename"].split("-")[1].removesuffix(".tar.gz")
                                for e in entries))  # fmt: skip
    return {"meta": {"api-version": "1.1"}, "name": "foo", "versions": listed, "files": entries}


def test_the_facts_cost_what_they_hold() -> None:
    page = big_page(3000)
    page_facts(page)  # caches warm (the wheel frames of packaging's checks)
    gc.collect()
    tracemalloc.start()
    try:
        start = tracemalloc.get_traced_memory()[0]
        facts = page_facts(page)
        gc.collect()
        held = tracemalloc.get_traced_memory()[0] - start
    finally:
        tracemalloc.stop()
    assert held / 1.5 < facts.cost < held * 1.5
