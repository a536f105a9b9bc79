"""Guarantee 1: no client gets a complete-looking response whose bytes differ from the index's.

A response "looks complete" when its framing says it ended (Content-Length reached, last
chunk seen) or, for curl, when curl exits 0. Whatever upstream or the disk does, such a
response carries exactly the bytes whose sha256 the index published, and nothing wrong is
ever kept in the cache.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import random
from pathlib import Path

import pytest

from tests.faults.conftest import Serve
from tests.faults.hostile_upstream import (
    SIMPLE_JSON,
    Entry,
    Fault,
    HostileUpstream,
    appended,
    blob_entry,
    chunked,
    cut_after,
    entry_for,
    flipped,
    gzip_coded,
    lying_length,
    truncated,
    unframed,
)
from tests.faults.probes import (
    BEFORE,
    MiB,
    Proxy,
    cache_files,
    curl,
    files_containing,
    files_holding,
    get,
    wait_for,
)
from tests.support.clients import pip_venv, run_pip
from tests.support.distributions import make_wheel

ALPHA = make_wheel("alpha", "1.0")  # a real wheel, for pip
COMPRESSIBLE = b"snapproxy keeps the same bytes, years later.\n" * 40_000  # gzip: ~1% of it
NOISE = random.Random(8).randbytes(3 * MiB)  # several upstream chunks, incompressible
DENSE = random.Random(7).randbytes(200_000)  # gzip makes it larger: a client would hang


def _file_path(proxy_tree: str, entry: Entry) -> str:
    return f"{proxy_tree}/files/{entry.project}/{entry.filename}"


def _assert_right_or_incomplete(
    label: str, complete: bool, status: int, body: bytes, entry: Entry
) -> None:
    assert entry.content is not None
    if status == 200 and complete:
        got = hashlib.sha256(body).hexdigest()
        assert got == entry.sha256, (
            f"{label}: a complete-looking 200 of {len(body)} bytes with sha256 {got}; "
            f"the index says {entry.size} bytes, {entry.sha256}"
        )


def _nothing_wrong_stored(proxy: Proxy, entry: Entry, wrong: list[bytes]) -> None:
    if proxy.cache_dir is None:
        return
    for bad in wrong:
        if bad != entry.content and bad:
            assert not files_holding(proxy.cache_dir, bad), "the cache kept bytes that do not match"


# ---- gzip from the files host ----------------------------------------------------------


@pytest.mark.parametrize("no_cache", [False, True], ids=["cache", "no-cache"])
@pytest.mark.parametrize(
    "content", [COMPRESSIBLE, DENSE], ids=["gzip-smaller", "gzip-larger"]
)
def test_gzip_coded_file_reaches_every_client_as_the_indexed_bytes(
    upstream: HostileUpstream, serve: Serve, tmp_path: Path, content: bytes, no_cache: bool
) -> None:
    """Issue 8.1: upstream's gzip Content-Length must not frame the decoded bytes."""
    entry = blob_entry("squeezy", "1.0", content, BEFORE)
    upstream.add(entry)
    upstream.fault(entry.files_path, gzip_coded(), origin="files")
    proxy = serve(no_cache=no_cache)

    # The first client of the file: the one that streams while it is being downloaded.
    first = get(proxy.port, _file_path("", entry))
    assert first.status == 200, first.body[:200]
    assert first.complete, "the proxy cut a response whose upstream bytes were right"
    assert first.header("Content-Encoding") in (None, "identity"), first.raw_head
    if first.header("Content-Length") is not None:
        assert int(first.header("Content-Length") or "") == entry.size, first.raw_head
    assert first.sha256 == entry.sha256, f"{len(first.body)} bytes, index says {entry.size}"

    # curl, which believes the framing: exit 0 must mean the indexed bytes.
    fetched = curl(proxy.url(_file_path("", entry)), tmp_path / "curl.out")
    assert fetched.exit_code == 0, fetched.stderr
    assert fetched.sha256 == entry.sha256, f"{len(fetched.body)} bytes through curl"
    _nothing_wrong_stored(proxy, entry, [gzip.compress(entry.content or b"", mtime=0)])


def test_gzip_coded_metadata_file_is_the_indexed_bytes(
    upstream: HostileUpstream, serve: Serve
) -> None:
    """Issue 8.1, `.metadata` files: the index publishes their digest, not their size."""
    entry = entry_for(ALPHA, BEFORE)
    upstream.add(entry)
    upstream.fault(entry.files_path + ".metadata", gzip_coded(), origin="files")
    proxy = serve()
    got = get(proxy.port, _file_path("", entry) + ".metadata")
    assert got.status == 200, got.body[:200]
    assert got.complete
    assert got.header("Content-Encoding") in (None, "identity"), got.raw_head
    assert got.body == ALPHA.metadata, got.body[:200]


def test_pip_with_require_hashes_gets_the_indexed_bytes_from_a_gzip_files_host(
    upstream: HostileUpstream, serve: Serve, tmp_path: Path
) -> None:
    """A real pip, `--require-hashes`: it sees exactly the published bytes (issue 8.1)."""
    venv = pip_venv("26.3")  # skips, with the reason, when it cannot be built offline
    entry = entry_for(ALPHA, BEFORE)
    upstream.add(entry)
    upstream.fault(entry.files_path, gzip_coded(), origin="files")
    upstream.fault(entry.files_path + ".metadata", gzip_coded(), origin="files")
    proxy = serve()
    requirements = tmp_path / "requirements.txt"
    requirements.write_text(f"alpha==1.0 --hash=sha256:{ALPHA.sha256}\n")
    out = tmp_path / "out"
    proc = run_pip(
        venv, "download", "--no-deps", "--require-hashes", "-r", str(requirements),
        "-d", str(out), "--index-url", proxy.url("/simple/"), timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    downloaded = out / ALPHA.filename
    assert hashlib.sha256(downloaded.read_bytes()).hexdigest() == ALPHA.sha256


# ---- short, long and broken upstream bodies --------------------------------------------

BROKEN: dict[str, Fault] = {
    "truncated-body": truncated(len(NOISE) // 2),
    "length-too-long": lying_length(+100),
    "length-too-short": lying_length(-100),
    "reset-mid-body": cut_after(len(NOISE) // 2),
    "longer-than-indexed": appended(b"trailing bytes the index never hashed"),
    "one-byte-flipped": flipped(len(NOISE) // 3),
}


@pytest.mark.parametrize("no_cache", [False, True], ids=["cache", "no-cache"])
@pytest.mark.parametrize("fault", list(BROKEN), ids=list(BROKEN))
def test_broken_upstream_body_never_reaches_a_client_as_complete(
    upstream: HostileUpstream, serve: Serve, tmp_path: Path, fault: str, no_cache: bool
) -> None:
    """Every answer upstream gives here is wrong, so no client may take one for whole."""
    entry = blob_entry("noisy", "1.0", NOISE, BEFORE)
    upstream.add(entry)
    upstream.fault(entry.files_path, BROKEN[fault], origin="files")
    proxy = serve(no_cache=no_cache)

    raw = get(proxy.port, _file_path("", entry))
    if raw.status == 200:
        assert not raw.complete, f"{len(raw.body)} bytes, framed as complete: {raw.raw_head!r}"
        # The framing a cut response may carry: the index's size, or chunks; never upstream's.
        length = raw.header("Content-Length")
        assert length is None or int(length) == entry.size, raw.raw_head
        if length is None:
            assert raw.header("Transfer-Encoding") == "chunked", raw.raw_head
    else:
        assert raw.status >= 500 and raw.status != 500, (raw.status, raw.body[:300])
        assert raw.body.count(b"\n") <= 1, raw.body

    # --fail: exit 0 would mean a 200 curl took for whole, and no right bytes exist here.
    fetched = curl(proxy.url(_file_path("", entry)), tmp_path / "curl.out", "--fail")
    assert fetched.exit_code != 0, f"curl took {len(fetched.body)} wrong bytes for a whole file"
    _nothing_wrong_stored(proxy, entry, [raw.body, fetched.body])
    if proxy.cache_dir is not None:
        assert not files_holding(proxy.cache_dir, NOISE), "stored although never received whole"


@pytest.mark.parametrize("no_cache", [False, True], ids=["cache", "no-cache"])
@pytest.mark.parametrize(
    "fault", [chunked(last_chunk=False), chunked(), unframed()],
    ids=["chunked-without-last-chunk", "chunked", "eof-delimited"],
)
def test_unusual_upstream_framing_of_the_right_bytes(
    upstream: HostileUpstream, serve: Serve, tmp_path: Path, fault: Fault, no_cache: bool
) -> None:
    """The right bytes in any framing: a complete answer is the indexed file, nothing else."""
    entry = blob_entry("framed", "1.0", NOISE, BEFORE)
    upstream.add(entry)
    upstream.fault(entry.files_path, fault, origin="files")
    proxy = serve(no_cache=no_cache)
    raw = get(proxy.port, _file_path("", entry))
    _assert_right_or_incomplete("raw client", raw.complete, raw.status, raw.body, entry)
    if raw.status == 200 and raw.header("Content-Length") is not None:
        assert int(raw.header("Content-Length") or "") == entry.size, raw.raw_head
    assert raw.status != 500
    fetched = curl(proxy.url(_file_path("", entry)), tmp_path / "curl.out")
    _assert_right_or_incomplete("curl", fetched.exit_code == 0, 200, fetched.body, entry)


# ---- damaged on disk ---------------------------------------------------------------------


def _damage(path: Path, how: str) -> bytes:
    os.chmod(path, 0o644)
    data = bytearray(path.read_bytes())
    if how == "flip":
        data[len(data) // 2] ^= 0x01
    elif how == "truncate":
        del data[len(data) - 4096 :]
    else:
        data += b"\0" * 10
    path.write_bytes(bytes(data))
    return bytes(data)


@pytest.mark.parametrize(
    ("how", "restart"),
    [("flip", False), ("truncate", False), ("extend", False), ("flip", True)],
    ids=["bit-flip", "truncated", "extended", "bit-flip-after-restart"],
)
def test_damaged_stored_file_is_refetched_not_served(
    upstream: HostileUpstream, serve: Serve, tmp_path: Path, how: str, restart: bool
) -> None:
    """Issue 8.2: a stored file is checked when served; a damaged one is fetched again."""
    entry = blob_entry("stored", "1.0", NOISE, BEFORE)
    upstream.add(entry)
    cache = tmp_path / "cache"
    proxy = serve(cache_dir=cache)
    path = _file_path("", entry)
    assert get(proxy.port, path).sha256 == entry.sha256
    wait_for(lambda: files_holding(cache, NOISE), "the file to be stored")
    [stored] = files_holding(cache, NOISE)
    damaged = _damage(stored, how)
    if restart:
        proxy.stop()
        proxy = serve(cache_dir=cache)
    fetches = upstream.count(entry.files_path, "files")

    again = get(proxy.port, path)
    assert again.status == 200, again.body[:300]
    assert again.complete and again.sha256 == entry.sha256, (
        f"served {len(again.body)} bytes ({'complete' if again.complete else 'cut'}) from a "
        f"damaged store entry"
    )
    assert upstream.count(entry.files_path, "files") == fetches + 1, "not fetched again"
    wait_for(lambda: files_holding(cache, NOISE), "the good copy to be stored again")
    assert not files_holding(cache, damaged), "the damaged copy is still in the store"
    third = curl(proxy.url(path), tmp_path / "curl.out")
    assert third.exit_code == 0 and third.sha256 == entry.sha256


def test_edited_page_entry_on_disk_is_not_served(
    upstream: HostileUpstream, serve: Serve, tmp_path: Path
) -> None:
    """Issue 8.2: a page cache entry edited on disk is refetched, not served as edited."""
    entry = blob_entry("paged", "1.0", b"paged file\n", BEFORE)
    upstream.add(entry)
    cache = tmp_path / "cache"
    proxy = serve(cache_dir=cache)
    accept = {"Accept": SIMPLE_JSON}
    first = get(proxy.port, "/simple/paged/", accept)
    assert first.status == 200 and entry.sha256.encode() in first.body
    holders = files_containing(cache, entry.sha256.encode())
    pages = [p for p in holders if p.read_bytes() != entry.content]
    assert pages, f"no page entry holding {entry.sha256} in {cache_files(cache)}"
    forged = hashlib.sha256(b"forged").hexdigest()
    for page in pages:
        os.chmod(page, 0o644)
        page.write_bytes(page.read_bytes().replace(entry.sha256.encode(), forged.encode()))
    proxy.stop()

    proxy = serve(cache_dir=cache)
    before = upstream.count("/simple/paged/")
    again = get(proxy.port, "/simple/paged/", accept)
    assert again.status == 200, again.body[:300]
    assert forged.encode() not in again.body, "the edited page entry was served"
    assert entry.sha256.encode() in again.body
    assert upstream.count("/simple/paged/") == before + 1, "the edited entry was not refetched"
