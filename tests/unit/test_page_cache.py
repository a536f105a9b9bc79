"""Cache of upstream documents: byte-bounded memory LRU over an atomic disk directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from snapproxy.page_cache import CachedDocument, PageCache, cache_key

ACCEPT = "application/vnd.pypi.simple.v1+json"


def doc(
    url: str, size: int, etag: str | None = '"e"', fetched_at: float = 1000.0
) -> CachedDocument:
    return CachedDocument(url=url, body=b"x" * size, etag=etag, fetched_at=fetched_at)


def files_under(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


# --- cache_key --------------------------------------------------------------------------


def test_cache_key() -> None:
    a = cache_key("https://pypi.org/simple/foo/", ACCEPT)
    assert a == cache_key("https://pypi.org/simple/foo/", ACCEPT)
    assert a != cache_key("https://pypi.org/simple/bar/", ACCEPT)
    assert a != cache_key("https://pypi.org/simple/foo/", "application/json")
    # Safe as a file name.
    assert all(c in "0123456789abcdef" for c in a)


# --- memory LRU -------------------------------------------------------------------------


def test_miss_without_directory() -> None:
    assert PageCache(None).get("k") == (None, "none")


def test_memory_hit() -> None:
    cache = PageCache(None, memory_bytes=100)
    entry = doc("u", 10)
    cache.put("k", entry)
    assert cache.get("k") == (entry, "memory")


@pytest.mark.parametrize(
    ("memory_bytes", "steps", "present", "absent"),
    [
        # Fits exactly: nothing evicted.
        (12, [("put", "a", 4), ("put", "b", 4), ("put", "c", 4)], "abc", ""),
        # One byte over: the least recently used goes.
        (11, [("put", "a", 4), ("put", "b", 4), ("put", "c", 4)], "bc", "a"),
        # A get makes an entry recently used.
        (11, [("put", "a", 4), ("put", "b", 4), ("get", "a", 0), ("put", "c", 4)], "ac", "b"),
        # A re-put makes it recently used too, and counts its size once.
        (11, [("put", "a", 4), ("put", "b", 4), ("put", "a", 4), ("put", "c", 4)], "ac", "b"),
        # A big entry evicts as many as needed.
        (10, [("put", "a", 3), ("put", "b", 3), ("put", "c", 3), ("put", "d", 9)], "d", "abc"),
        # An entry bigger than the whole budget is not kept in memory, and evicts nothing.
        (10, [("put", "a", 4), ("put", "big", 11)], "a", ""),
        # Replacing an entry by a smaller one frees room.
        (10, [("put", "a", 8), ("put", "a", 2), ("put", "b", 8)], "ab", ""),
        # Eviction is by bytes, not by count.
        (100, [("put", k, 1) for k in "abcdefghij"], "abcdefghij", ""),
    ],
)
def test_lru_by_bytes(
    memory_bytes: int, steps: list[tuple[str, str, int]], present: str, absent: str
) -> None:
    cache = PageCache(None, memory_bytes=memory_bytes)
    for op, key, size in steps:
        if op == "put":
            cache.put(key, doc(key, size))
        else:
            cache.get(key)
    for key in present:
        assert cache.get(key)[1] == "memory", key
    for key in absent:
        assert cache.get(key) == (None, "none"), key
    if "big" in {k for _, k, _ in steps}:
        assert cache.get("big") == (None, "none")


def test_replacing_keeps_the_newest_entry() -> None:
    cache = PageCache(None, memory_bytes=100)
    cache.put("k", doc("u", 5, etag='"old"'))
    cache.put("k", doc("u", 6, etag='"new"'))
    entry, where = cache.get("k")
    assert where == "memory"
    assert entry is not None and entry.etag == '"new"' and len(entry.body) == 6


def test_many_replacements_do_not_leak_budget() -> None:
    cache = PageCache(None, memory_bytes=10)
    for _ in range(50):
        cache.put("a", doc("a", 5))
    cache.put("b", doc("b", 5))
    assert cache.get("a")[1] == "memory"
    assert cache.get("b")[1] == "memory"


def test_refreshed() -> None:
    entry = doc("u", 3, fetched_at=1.0)
    fresh = entry.refreshed(99.5)
    assert fresh.fetched_at == 99.5
    assert (fresh.url, fresh.body, fresh.etag) == (entry.url, entry.body, entry.etag)
    assert entry.fetched_at == 1.0


# --- disk -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "etag"),
    [
        (b'{"files": []}', '"abc"'),
        (b"", None),
        (b"line one\nline two\n\x00\xff binary", 'W/"x"'),
        (b"\n\n", '"e"'),
    ],
)
def test_disk_round_trip(tmp_path: Path, body: bytes, etag: str | None) -> None:
    key = cache_key("https://pypi.org/simple/foo/", ACCEPT)
    entry = CachedDocument(
        url="https://pypi.org/simple/foo/",
        body=body,
        etag=etag,
        fetched_at=1234.5,
        parsed={"in": "memory only"},
    )
    PageCache(tmp_path).put(key, entry)

    fresh = PageCache(tmp_path)  # a new process: empty memory
    got, where = fresh.get(key)
    assert where == "disk"
    assert got is not None
    assert (got.url, got.body, got.etag, got.fetched_at) == (
        entry.url,
        entry.body,
        entry.etag,
        entry.fetched_at,
    )
    assert got.parsed is None  # the parsed form is never written
    # Now it is in memory too.
    assert fresh.get(key)[1] == "memory"


def test_big_entries_still_go_to_disk(tmp_path: Path) -> None:
    cache = PageCache(tmp_path, memory_bytes=4)
    cache.put("k" * 64, doc("u", 100))
    got, where = cache.get("k" * 64)
    assert where == "disk"
    assert got is not None and len(got.body) == 100


def test_disk_entry_is_replaced(tmp_path: Path) -> None:
    key = cache_key("u", ACCEPT)
    PageCache(tmp_path).put(key, doc("u", 3, etag='"1"'))
    PageCache(tmp_path).put(key, doc("u", 4, etag='"2"'))
    got, _ = PageCache(tmp_path).get(key)
    assert got is not None and got.etag == '"2"' and len(got.body) == 4


def test_writes_are_atomic_and_leave_no_temp_files(tmp_path: Path) -> None:
    cache = PageCache(tmp_path)
    keys = [cache_key(f"https://pypi.org/simple/p{i}/", ACCEPT) for i in range(20)]
    for i, key in enumerate(keys):
        cache.put(key, doc(f"u{i}", i))
        cache.put(key, doc(f"u{i}", i + 1))  # overwrite too
    written = files_under(tmp_path)
    assert len(written) == len(keys)
    assert not [p for p in written if p.name.startswith(".") or "tmp" in p.name]


def test_write_failure_leaves_no_temp_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    def fail(src: object, dst: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", fail)
    cache = PageCache(tmp_path)
    key = cache_key("u", ACCEPT)
    # A full disk costs the disk copy, not the answer: kept in memory, no temp file left.
    cache.put(key, doc("u", 10))
    assert files_under(tmp_path) == []
    entry, where = cache.get(key)
    assert entry is not None and where == "memory"


def _corrupt(tmp_path: Path, key: str, raw: bytes) -> None:
    PageCache(tmp_path).put(key, doc("https://pypi.org/simple/foo/", 10))
    (path,) = files_under(tmp_path)
    path.write_bytes(raw)


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"no newline at all",
        b"not json\nbody",
        b"[]\nbody",
        b"null\nbody",
        b'"text"\nbody',
        b"42\nbody",
        b'{"url": "u", "etag": null}\nbody',  # a field missing
        b'{"etag": null, "fetched_at": 1}\nbody',
        b"\xff\xfe\nbody",
        b'{"url": "u", "etag": null, "fetched_at": "yesterday"}\nbody',  # wrong type
        b'{"url": "u", "etag": 5, "fetched_at": 1.0}\nbody',
    ],
)
def test_corrupt_disk_entry_is_ignored(tmp_path: Path, raw: bytes) -> None:
    key = cache_key("https://pypi.org/simple/foo/", ACCEPT)
    _corrupt(tmp_path, key, raw)
    assert PageCache(tmp_path).get(key) == (None, "none")


def test_unreadable_directory_is_a_miss(tmp_path: Path) -> None:
    assert PageCache(tmp_path / "does-not-exist").get(cache_key("u", ACCEPT)) == (None, "none")
