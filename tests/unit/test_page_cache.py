"""Cache of upstream documents: parsed copies in the memory budget, checked bodies on disk."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from snapproxy.memory_budget import PARSED_JSON_FACTOR, ByteBudget
from snapproxy.page_cache import CachedDocument, PageCache, cache_key

ACCEPT = "application/vnd.pypi.simple.v1+json"
URL = "https://pypi.org/simple/foo/"
KEY = cache_key(URL, ACCEPT)


def doc(
    url: str = URL,
    size: int = 10,
    etag: str | None = '"e"',
    fetched_at: float = 1000.0,
    parsed: Any = None,
) -> CachedDocument:
    return CachedDocument(
        url=url, body=b"x" * size, etag=etag, fetched_at=fetched_at, parsed=parsed
    )


def files_under(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def disk_cache(directory: Path) -> PageCache:
    """A cache as a new process sees it: the directory, an empty memory."""
    return PageCache(directory, ByteBudget(1024 * 1024))


# --- cache_key --------------------------------------------------------------------------


def test_cache_key() -> None:
    a = cache_key("https://pypi.org/simple/foo/", ACCEPT)
    assert a == cache_key("https://pypi.org/simple/foo/", ACCEPT)
    assert a != cache_key("https://pypi.org/simple/bar/", ACCEPT)
    assert a != cache_key("https://pypi.org/simple/foo/", "application/json")
    # Safe as a file name.
    assert all(c in "0123456789abcdef" for c in a)


# --- CachedDocument ---------------------------------------------------------------------


def test_each_new_document_has_its_own_serial() -> None:
    # Values derived from a document (filtered pages) are keyed by its serial, so two
    # bodies must never share one, even with equal fields.
    serials = {doc().serial for _ in range(100)}
    assert len(serials) == 100


def test_refreshed_keeps_everything_but_the_fetch_time() -> None:
    entry = doc(size=3, fetched_at=1.0, parsed={"p": 1})
    fresh = entry.refreshed(99.5)
    assert fresh.fetched_at == 99.5
    # Same serial: upstream confirmed the same document, so derived values stay valid.
    assert (fresh.url, fresh.body, fresh.etag, fresh.parsed, fresh.serial, fresh.size) == (
        entry.url,
        entry.body,
        entry.etag,
        entry.parsed,
        entry.serial,
        entry.size,
    )
    assert entry.fetched_at == 1.0


@pytest.mark.parametrize(("body", "size", "expected"), [(b"abc", -1, 3), (b"", -1, 0), (b"", 7, 7)])
def test_size_defaults_to_the_body_length(body: bytes, size: int, expected: int) -> None:
    entry = CachedDocument(url=URL, body=body, etag=None, fetched_at=0.0, size=size)
    assert entry.size == expected


# --- memory -----------------------------------------------------------------------------


def test_miss_without_directory() -> None:
    cache = PageCache(None, ByteBudget(100))
    assert cache.get(KEY) is None
    assert cache.load(KEY) is None


def test_remember_keeps_the_parsed_form_and_drops_the_body() -> None:
    cache = PageCache(None, ByteBudget(1000))
    entry = doc(size=10, parsed={"files": []})
    cache.remember(KEY, entry)
    got = cache.get(KEY)
    assert got is not None
    assert got.body == b""  # the disk has the bytes; memory holds the parsed form
    assert (got.parsed, got.url, got.etag, got.fetched_at) == ({"files": []}, URL, '"e"', 1000.0)
    assert (got.serial, got.size) == (entry.serial, 10)


@pytest.mark.parametrize(
    ("parsed", "factor"),
    [
        ({"files": []}, PARSED_JSON_FACTOR),  # Python objects outweigh their JSON text
        (["a", "b"], PARSED_JSON_FACTOR),
        (b"<html>", 1),  # kept as bytes: charged their length
        (bytearray(b"<html>"), 1),
    ],
)
def test_memory_is_charged_by_document_size(parsed: Any, factor: int) -> None:
    budget = ByteBudget(10_000)
    cache = PageCache(None, budget)
    cache.remember(KEY, doc(size=100, parsed=parsed))
    assert budget.used == 100 * factor


def test_a_refreshed_entry_is_charged_as_much_as_the_original() -> None:
    # A revalidation re-remembers the in-memory copy, whose body is already dropped; it must
    # still cost its document size, or refreshed pages would escape the budget.
    budget = ByteBudget(10_000)
    cache = PageCache(None, budget)
    cache.remember(KEY, doc(size=100, parsed={"p": 1}))
    in_memory = cache.get(KEY)
    assert in_memory is not None
    cache.remember(KEY, in_memory.refreshed(2000.0))
    assert budget.used == 100 * PARSED_JSON_FACTOR
    got = cache.get(KEY)
    assert got is not None and got.fetched_at == 2000.0 and got.serial == in_memory.serial


def test_documents_share_the_budget_and_the_oldest_go_first() -> None:
    budget = ByteBudget(10 * PARSED_JSON_FACTOR)
    cache = PageCache(None, budget)
    keys = [cache_key(f"https://pypi.org/simple/p{i}/", ACCEPT) for i in range(3)]
    for key in keys:
        cache.remember(key, doc(size=4, parsed={}))
    assert [cache.get(k) is not None for k in keys] == [False, True, True]


def test_a_document_bigger_than_the_budget_is_not_kept_in_memory() -> None:
    cache = PageCache(None, ByteBudget(10))
    cache.remember("small", doc(size=1, parsed=b"x"))
    cache.remember(KEY, doc(size=11, parsed=b"x" * 11))
    assert cache.get(KEY) is None
    assert cache.get("small") is not None


def test_replacing_keeps_the_newest_entry() -> None:
    cache = PageCache(None, ByteBudget(100))
    cache.remember(KEY, doc(size=5, etag='"old"'))
    cache.remember(KEY, doc(size=6, etag='"new"'))
    entry = cache.get(KEY)
    assert entry is not None and entry.etag == '"new"' and entry.size == 6


def test_many_replacements_do_not_leak_budget() -> None:
    budget = ByteBudget(10 * PARSED_JSON_FACTOR)
    cache = PageCache(None, budget)
    for _ in range(50):
        cache.remember("a", doc(size=5))
    cache.remember("b", doc(size=5))
    assert cache.get("a") is not None and cache.get("b") is not None


def test_save_without_directory_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    PageCache(None, ByteBudget(100)).save(KEY, doc())
    assert files_under(tmp_path) == []


# --- disk -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "etag", "fetched_at"),
    [
        (b'{"files": []}', '"abc"', 1234.5),
        (b"", None, 0.0),
        (b"line one\nline two\n\x00\xff binary", 'W/"x"', 1_700_000_000.123456),
        (b"\n\n", '"e"', 1.0),
        (b'{"url": "forged"}\n', '"\\n"', 2.0),  # a body that looks like a header
    ],
)
def test_disk_round_trip(tmp_path: Path, body: bytes, etag: str | None, fetched_at: float) -> None:
    entry = CachedDocument(
        url=URL, body=body, etag=etag, fetched_at=fetched_at, parsed={"in": "memory only"}
    )
    disk_cache(tmp_path).save(KEY, entry)

    fresh = disk_cache(tmp_path)  # a new process: empty memory
    assert fresh.get(KEY) is None
    got = fresh.load(KEY)
    assert got is not None
    assert (got.url, got.body, got.etag, got.fetched_at, got.size) == (
        entry.url,
        entry.body,
        entry.etag,
        entry.fetched_at,
        len(body),
    )
    assert got.parsed is None  # the parsed form is never written
    assert got.serial != entry.serial  # read anew: derived values are computed again
    # load does not fill memory: the caller remembers the entry once it has parsed it.
    assert fresh.get(KEY) is None


def test_a_url_with_a_newline_cannot_break_the_header(tmp_path: Path) -> None:
    url = "https://pypi.org/simple/foo/\nhttps://evil/"
    disk_cache(tmp_path).save(KEY, doc(url=url, size=3))
    got = disk_cache(tmp_path).load(KEY)
    assert got is not None and (got.url, got.body) == (url, b"xxx")


def test_big_entries_still_go_to_disk(tmp_path: Path) -> None:
    cache = PageCache(tmp_path, ByteBudget(4))
    entry = doc(size=100, parsed={})
    cache.save(KEY, entry)
    cache.remember(KEY, entry)
    assert cache.get(KEY) is None
    got = cache.load(KEY)
    assert got is not None and len(got.body) == 100


def test_disk_entry_is_replaced(tmp_path: Path) -> None:
    disk_cache(tmp_path).save(KEY, doc(size=3, etag='"1"'))
    disk_cache(tmp_path).save(KEY, doc(size=4, etag='"2"'))
    got = disk_cache(tmp_path).load(KEY)
    assert got is not None and got.etag == '"2"' and len(got.body) == 4


def test_writes_are_atomic_and_leave_no_temp_files(tmp_path: Path) -> None:
    cache = disk_cache(tmp_path)
    keys = [cache_key(f"https://pypi.org/simple/p{i}/", ACCEPT) for i in range(20)]
    for i, key in enumerate(keys):
        cache.save(key, doc(f"u{i}", i))
        cache.save(key, doc(f"u{i}", i + 1))  # overwrite too
    written = files_under(tmp_path)
    assert len(written) == len(keys)
    assert not [p for p in written if p.name.startswith(".") or "tmp" in p.name]


def test_write_failure_leaves_no_temp_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(src: object, dst: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", fail)
    cache = disk_cache(tmp_path)
    # A full disk costs the disk copy, not the answer: no error, no temp file left.
    cache.save(KEY, doc())
    assert files_under(tmp_path) == []
    monkeypatch.undo()
    assert cache.load(KEY) is None


def test_unreadable_directory_is_a_miss(tmp_path: Path) -> None:
    assert disk_cache(tmp_path / "does-not-exist").load(KEY) is None


# --- save_fetch_time --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("on_disk_etag", "confirmed_etag", "updated"),
    [
        ('"e"', '"e"', True),
        (None, None, True),
        ('"e"', '"other"', False),  # another process stored a newer document meanwhile
    ],
)
def test_save_fetch_time(
    tmp_path: Path, on_disk_etag: str | None, confirmed_etag: str | None, updated: bool
) -> None:
    disk_cache(tmp_path).save(KEY, doc(size=5, etag=on_disk_etag, fetched_at=1.0))
    disk_cache(tmp_path).save_fetch_time(KEY, doc(size=0, etag=confirmed_etag, fetched_at=50.0))
    got = disk_cache(tmp_path).load(KEY)
    assert got is not None
    assert got.fetched_at == (50.0 if updated else 1.0)
    assert (got.body, got.etag) == (b"x" * 5, on_disk_etag)  # the body is the disk's own


def test_save_fetch_time_without_a_disk_entry_writes_nothing(tmp_path: Path) -> None:
    disk_cache(tmp_path).save_fetch_time(KEY, doc(fetched_at=50.0))
    assert files_under(tmp_path) == []


# --- damaged disk entries ---------------------------------------------------------------


def saved_entry(directory: Path, body: bytes = b'{"files": []}') -> Path:
    disk_cache(directory).save(KEY, CachedDocument(url=URL, body=body, etag='"e"', fetched_at=5.0))
    (path,) = files_under(directory)
    return path


DROP = object()


def edit_header(**changes: object) -> Callable[[bytes], bytes]:
    """Rewrite the header line with ``changes`` (DROP: remove the field); body unchanged."""

    def edit(raw: bytes) -> bytes:
        header, _, body = raw.partition(b"\n")
        meta = json.loads(header)
        for name, value in changes.items():
            if value is DROP:
                del meta[name]
            else:
                meta[name] = value
        return json.dumps(meta).encode() + b"\n" + body

    return edit


def respace_header(raw: bytes) -> bytes:
    header, _, body = raw.partition(b"\n")
    meta = dict(reversed(json.loads(header).items()))
    return json.dumps(meta, separators=(" , ", " : ")).encode() + b"\n" + body


def replace_all(raw: bytes) -> Callable[[bytes], bytes]:
    return lambda _: raw


BODY = b'{"files": []}'


@pytest.mark.parametrize(
    "corrupt",
    [
        # Garbled beyond a header.
        pytest.param(replace_all(b""), id="empty"),
        pytest.param(replace_all(b"no newline at all"), id="no-newline"),
        pytest.param(replace_all(b"not json\nbody"), id="header-not-json"),
        pytest.param(replace_all(b"[]\nbody"), id="header-array"),
        pytest.param(replace_all(b"null\nbody"), id="header-null"),
        pytest.param(replace_all(b'"text"\nbody'), id="header-string"),
        pytest.param(replace_all(b"42\nbody"), id="header-number"),
        pytest.param(replace_all(b"\xff\xfe\nbody"), id="header-not-utf8"),
        # The body no longer what the header describes: torn, truncated, edited, extended.
        pytest.param(lambda raw: raw[:-1], id="body-truncated"),
        pytest.param(lambda raw: raw + b" ", id="body-extended"),
        pytest.param(lambda raw: raw[:-2] + b"x}", id="body-edited-same-size"),
        pytest.param(lambda raw: raw.partition(b"\n")[0] + b"\n", id="body-lost"),
        pytest.param(lambda raw: raw[: len(raw) // 2], id="torn-half"),
        # One field missing or of the wrong type; everything else valid.
        pytest.param(edit_header(url=DROP), id="no-url"),
        pytest.param(edit_header(etag=DROP), id="no-etag"),
        pytest.param(edit_header(fetched_at=DROP), id="no-fetched_at"),
        pytest.param(edit_header(size=DROP), id="no-size"),
        pytest.param(edit_header(sha256=DROP), id="no-sha256"),
        pytest.param(edit_header(url=5), id="url-not-text"),
        pytest.param(edit_header(etag=5), id="etag-not-text"),
        pytest.param(edit_header(fetched_at="yesterday"), id="fetched_at-text"),
        pytest.param(edit_header(fetched_at=True), id="fetched_at-bool"),
        pytest.param(edit_header(size=len(BODY) + 1), id="size-wrong"),
        pytest.param(edit_header(size=str(len(BODY))), id="size-text"),
        pytest.param(edit_header(sha256=hashlib.sha256(b"other").hexdigest()), id="sha-wrong"),
        pytest.param(edit_header(sha256=hashlib.md5(BODY).hexdigest()), id="sha-other-algo"),
    ],
)
def test_a_damaged_disk_entry_is_ignored_and_removed(
    tmp_path: Path, corrupt: Callable[[bytes], bytes]
) -> None:
    path = saved_entry(tmp_path, BODY)
    path.write_bytes(corrupt(path.read_bytes()))
    assert disk_cache(tmp_path).load(KEY) is None
    assert not path.exists()  # the next fetch stores a good copy in its place


@pytest.mark.parametrize(
    "edit",
    [
        pytest.param(lambda raw: raw, id="untouched"),
        pytest.param(edit_header(etag=None), id="etag-null"),
        pytest.param(edit_header(fetched_at=5), id="fetched_at-int"),
        # Key order and spacing are not part of the format.
        pytest.param(respace_header, id="reordered-respaced-header"),
    ],
)
def test_an_intact_disk_entry_is_kept(tmp_path: Path, edit: Callable[[bytes], bytes]) -> None:
    # The other side of the cases above: the checks refuse damage, not valid entries.
    path = saved_entry(tmp_path, BODY)
    path.write_bytes(edit(path.read_bytes()))
    got = disk_cache(tmp_path).load(KEY)
    assert got is not None and got.body == BODY and got.fetched_at == 5.0
    assert path.exists()


# --- stored_copy: what the header alone says ---------------------------------------------


def test_stored_copy_names_the_body_digest_and_fetch_time(tmp_path: Path) -> None:
    entry = doc(size=40, fetched_at=1234.5)
    disk_cache(tmp_path).save(KEY, entry)
    found = disk_cache(tmp_path).stored_copy(KEY)
    assert found is not None
    assert found.digest == hashlib.sha256(entry.body).hexdigest() == entry.digest
    assert found.fetched_at == 1234.5


def test_stored_copy_of_a_revalidated_entry_has_the_new_time_and_the_same_digest(
    tmp_path: Path,
) -> None:
    entry = doc(fetched_at=1000.0)
    disk_cache(tmp_path).save(KEY, entry)
    disk_cache(tmp_path).save_fetch_time(KEY, entry.refreshed(2000.0))
    found = disk_cache(tmp_path).stored_copy(KEY)
    assert found is not None and found.fetched_at == 2000.0 and found.digest == entry.digest


@pytest.mark.parametrize(
    "raw", [b"", b"not json\nbody", b'{"sha256": 5, "fetched_at": 1}\n', b'{"fetched_at": 1}\n']
)
def test_stored_copy_of_a_damaged_header_is_none(tmp_path: Path, raw: bytes) -> None:
    cache = disk_cache(tmp_path)
    cache.save(KEY, doc())
    [path] = files_under(tmp_path)
    path.write_bytes(raw)
    assert cache.stored_copy(KEY) is None


def test_stored_copy_without_a_directory_or_entry_is_none(tmp_path: Path) -> None:
    assert PageCache(None, ByteBudget(1024)).stored_copy(KEY) is None
    assert disk_cache(tmp_path).stored_copy(KEY) is None
