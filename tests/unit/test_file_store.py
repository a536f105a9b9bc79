"""Content-addressed file store: digest verification, pending files, read-only results."""

from __future__ import annotations

import hashlib
import stat
from pathlib import Path

import pytest

from snapproxy.file_store import DigestMismatch, FileStore, PendingFile, Verifier

DATA = b"wheel bytes " * 1000
SHA256 = hashlib.sha256(DATA).hexdigest()
SHA512 = hashlib.sha512(DATA).hexdigest()
MD5 = hashlib.md5(DATA).hexdigest()


def files_under(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


# --- Verifier.for_hashes ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("hashes", "algorithm"),
    [
        ({"sha256": SHA256}, "sha256"),
        ({"md5": MD5, "sha256": SHA256}, "sha256"),  # sha256 preferred
        ({"sha512": SHA512, "sha256": SHA256, "md5": MD5}, "sha256"),
        ({"sha256": "", "md5": MD5}, "md5"),  # an empty digest is no digest
        ({"sha512": SHA512}, "sha512"),
        ({"md5": MD5}, "md5"),
        ({}, None),
        ({"blake2b": "00"}, None),  # not one of hashlib's guaranteed algorithms
        ({"sha256": None}, None),
    ],
)
def test_for_hashes(hashes: dict[str, str], algorithm: str | None) -> None:
    verifier = Verifier.for_hashes(hashes)
    if algorithm is None:
        assert verifier is None
    else:
        assert verifier is not None
        assert verifier.algorithm == algorithm
        assert verifier.digest == hashes[algorithm]


# --- Verifier.check ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("algorithm", "digest"),
    [("sha256", SHA256), ("sha256", SHA256.upper()), ("sha512", SHA512), ("md5", MD5)],
)
@pytest.mark.parametrize("chunk", [1, 7, 4096, len(DATA)])
def test_matching_digest_passes(algorithm: str, digest: str, chunk: int) -> None:
    verifier = Verifier(algorithm, digest)
    for i in range(0, len(DATA), chunk):
        verifier.update(DATA[i : i + chunk])
    verifier.check()


@pytest.mark.parametrize(
    "received",
    [
        DATA[:-1],  # truncated
        DATA + b"!",  # extended
        b"X" + DATA[1:],  # altered
        b"",
    ],
)
def test_mismatch_raises(received: bytes) -> None:
    verifier = Verifier("sha256", SHA256)
    verifier.update(received)
    with pytest.raises(DigestMismatch) as info:
        verifier.check()
    assert SHA256 in str(info.value)
    assert hashlib.sha256(received).hexdigest() in str(info.value)


def test_digest_mismatch_is_a_value_error() -> None:
    assert issubclass(DigestMismatch, ValueError)


# --- PendingFile ------------------------------------------------------------------------


def test_pending_commit(tmp_path: Path) -> None:
    final = tmp_path / "sha256" / SHA256[:2] / SHA256
    pending = PendingFile(final)
    assert not final.exists()  # nothing visible before commit
    for i in range(0, len(DATA), 1000):
        pending.write(DATA[i : i + 1000])
    assert not final.exists()
    pending.commit()
    assert final.read_bytes() == DATA
    assert stat.S_IMODE(final.stat().st_mode) == 0o444
    assert files_under(tmp_path) == [final]  # no temporary file left


def test_pending_discard(tmp_path: Path) -> None:
    final = tmp_path / "sha256" / "ab" / ("ab" + "0" * 62)
    pending = PendingFile(final)
    pending.write(b"partial")
    pending.discard()
    assert not final.exists()
    assert files_under(tmp_path) == []


def test_two_pending_files_for_one_target(tmp_path: Path) -> None:
    final = tmp_path / "f"
    first, second = PendingFile(final), PendingFile(final)
    first.write(b"one")
    second.write(b"one")
    first.commit()
    second.discard()
    assert final.read_bytes() == b"one"
    assert files_under(tmp_path) == [final]


# --- FileStore --------------------------------------------------------------------------


def store_verified(store: FileStore, data: bytes, hashes: dict[str, str]) -> Path:
    verifier = Verifier.for_hashes(hashes)
    assert verifier is not None
    pending = store.pending(verifier)
    assert pending is not None
    verifier.update(data)
    pending.write(data)
    verifier.check()
    pending.commit()
    found = store.lookup(verifier)
    assert found is not None
    return found


def test_store_round_trip(tmp_path: Path) -> None:
    store = FileStore(tmp_path / "files")
    verifier = Verifier("sha256", SHA256)
    assert store.lookup(verifier) is None
    found = store_verified(store, DATA, {"sha256": SHA256})
    assert found.read_bytes() == DATA
    assert found.is_relative_to(tmp_path / "files")
    assert stat.S_IMODE(found.stat().st_mode) == 0o444
    # Any verifier for the same digest finds it, in any letter case.
    assert store.lookup(Verifier("sha256", SHA256.upper())) == found


def test_store_keys_by_algorithm_and_digest(tmp_path: Path) -> None:
    store = FileStore(tmp_path)
    a = store_verified(store, b"a", {"sha256": hashlib.sha256(b"a").hexdigest()})
    b = store_verified(store, b"b", {"sha256": hashlib.sha256(b"b").hexdigest()})
    m = store_verified(store, b"a", {"md5": hashlib.md5(b"a").hexdigest()})
    assert len({a, b, m}) == 3
    assert store.lookup(Verifier("sha256", hashlib.sha256(b"c").hexdigest())) is None


def test_mismatch_keeps_nothing(tmp_path: Path) -> None:
    store = FileStore(tmp_path)
    verifier = Verifier("sha256", SHA256)
    pending = store.pending(verifier)
    assert pending is not None
    bad = DATA + b"tampered"
    verifier.update(bad)
    pending.write(bad)
    with pytest.raises(DigestMismatch):
        verifier.check()
    pending.discard()
    assert store.lookup(Verifier("sha256", SHA256)) is None
    assert files_under(tmp_path) == []


def test_store_without_root_stores_nothing() -> None:
    store = FileStore(None)
    verifier = Verifier("sha256", SHA256)
    assert store.path(verifier) is None
    assert store.lookup(verifier) is None
    assert store.pending(verifier) is None


@pytest.mark.parametrize(
    "digest",
    [
        "../outside/secret",  # <root>/sha256/../../outside/secret
        "{secret}",  # an absolute path replaces the whole joined path
    ],
)
def test_a_digest_from_upstream_cannot_reach_outside_the_store(tmp_path: Path, digest: str) -> None:
    # The digest comes from the index's page; a hostile or broken index must not make the
    # proxy serve (or create) a file outside its store ("paths are validated").
    root = tmp_path / "store"
    root.mkdir()
    secret = tmp_path / "outside" / "secret"
    secret.parent.mkdir()
    secret.write_bytes(b"private")
    store = FileStore(root)
    # A store in use already holds files, so <root>/sha256/ exists.
    store_verified(store, b"a", {"sha256": hashlib.sha256(b"a").hexdigest()})
    digest = digest.format(secret=secret)
    try:
        verifier = Verifier.for_hashes({"sha256": digest})
    except ValueError:
        return  # refused outright: fine
    if verifier is None:
        return  # treated as "no usable hash": fine
    try:
        found = store.lookup(verifier)
    except ValueError:
        return
    assert found is None or found.resolve().is_relative_to(root.resolve()), found
