"""Content-addressed file store: digest and size checks, pending files, re-verified lookups."""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from snapproxy import file_store
from snapproxy.file_store import (
    DigestMismatch,
    FileStore,
    SizeMismatch,
    Verifier,
    check_size,
    verified,
)

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
        ({"sha256": "../" + SHA256[3:], "md5": MD5}, "md5"),  # nor a path
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


@pytest.mark.parametrize(
    ("algorithm", "digest"),
    [
        ("sha256", SHA256[:-1]),
        ("sha256", "../" + SHA256[3:]),
        ("sha256", "/etc/passwd"),
        ("sha256", MD5),  # another algorithm's size
        ("blake2b", SHA256),
    ],
)
def test_verifier_refuses_what_is_not_a_hex_digest(algorithm: str, digest: str) -> None:
    with pytest.raises(file_store.InvalidDigest):
        Verifier(algorithm, digest)


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


# --- verified ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "hashes", "accepted"),
    [
        (DATA, {"sha256": SHA256}, True),
        (DATA, {"md5": MD5}, True),
        (DATA, {"sha256": SHA256, "md5": "0" * 32}, True),  # only the strongest counts
        (DATA, {}, True),  # nothing published: nothing to check
        (DATA, {"blake2b": "00"}, True),
        (DATA + b"!", {"sha256": SHA256}, False),
        (DATA, {"sha256": "0" * 64, "md5": MD5}, False),
    ],
)
def test_verified(body: bytes, hashes: dict[str, str], accepted: bool) -> None:
    if accepted:
        assert verified(body, hashes) is body
    else:
        with pytest.raises(DigestMismatch):
            verified(body, hashes)


# --- check_size -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expected", "got", "ok"),
    [
        (None, 5, True),  # the index did not say
        (5, 5, True),
        (0, 0, True),
        (5, 4, False),
        (5, 6, False),
        (0, 1, False),
    ],
)
def test_check_size(expected: int | None, got: int, ok: bool) -> None:
    if ok:
        check_size(expected, got)
    else:
        with pytest.raises(SizeMismatch, match=f"index says {expected} bytes, received {got}"):
            check_size(expected, got)


def test_a_size_mismatch_is_a_digest_mismatch() -> None:
    # Callers that abort a transfer on DigestMismatch abort it on a wrong size too.
    assert issubclass(SizeMismatch, DigestMismatch)


# --- FileStore: paths and pending files -------------------------------------------------


def test_path_layout(tmp_path: Path) -> None:
    store = FileStore(tmp_path)
    assert store.path(Verifier("sha256", SHA256)) == tmp_path / "sha256" / SHA256[:2] / SHA256
    # Any letter case names one file.
    assert store.path(Verifier("sha256", SHA256.upper())) == store.path(Verifier("sha256", SHA256))


def test_pending_commit(tmp_path: Path) -> None:
    store = FileStore(tmp_path)
    verifier = Verifier("sha256", SHA256)
    pending = store.pending(verifier)
    final = store.path(verifier)
    assert pending.final == final
    for i in range(0, len(DATA), 1000):
        pending.write(DATA[i : i + 1000])
    assert not final.exists()  # nothing visible before commit
    pending.commit()
    assert final.read_bytes() == DATA
    assert stat.S_IMODE(final.stat().st_mode) == 0o444  # stored files are read-only
    assert files_under(tmp_path) == [final]  # no temporary file left


def test_pending_discard(tmp_path: Path) -> None:
    store = FileStore(tmp_path)
    pending = store.pending(Verifier("sha256", SHA256))
    pending.write(b"partial")
    pending.discard()
    assert files_under(tmp_path) == []


def test_pending_without_a_verifier_has_no_digest_name(tmp_path: Path) -> None:
    # A file the index gave no usable hash for passes through, never under a digest name.
    store = FileStore(tmp_path)
    pending = store.pending(None)
    try:
        assert pending.final == tmp_path / "unverified"
        assert pending.temp.parent == tmp_path
    finally:
        pending.discard()


# --- FileStore: lookup ------------------------------------------------------------------


def store_verified(store: FileStore, data: bytes, hashes: dict[str, str]) -> Path:
    verifier = Verifier.for_hashes(hashes)
    assert verifier is not None
    pending = store.pending(verifier)
    verifier.update(data)
    pending.write(data)
    verifier.check()
    pending.commit()
    found = store.lookup(verifier, len(data))
    assert found is not None
    return found


def count_hashing(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record each re-verification lookup starts (it makes a new Verifier to hash with)."""
    made: list[str] = []

    class Counting(Verifier):
        def __init__(self, algorithm: str, digest: str):
            made.append(digest)
            super().__init__(algorithm, digest)

    monkeypatch.setattr(file_store, "Verifier", Counting)
    return made


def test_store_round_trip(tmp_path: Path) -> None:
    store = FileStore(tmp_path / "files")
    verifier = Verifier("sha256", SHA256)
    assert store.lookup(verifier, len(DATA)) is None
    found = store_verified(store, DATA, {"sha256": SHA256})
    assert found.read_bytes() == DATA
    assert found.is_relative_to(tmp_path / "files")
    assert stat.S_IMODE(found.stat().st_mode) == 0o444
    # Any verifier for the same digest finds it, in any letter case, with or without size.
    assert store.lookup(Verifier("sha256", SHA256.upper()), len(DATA)) == found
    assert store.lookup(verifier, None) == found


def test_store_keys_by_algorithm_and_digest(tmp_path: Path) -> None:
    store = FileStore(tmp_path)
    a = store_verified(store, b"a", {"sha256": hashlib.sha256(b"a").hexdigest()})
    b = store_verified(store, b"b", {"sha256": hashlib.sha256(b"b").hexdigest()})
    m = store_verified(store, b"a", {"md5": hashlib.md5(b"a").hexdigest()})
    assert len({a, b, m}) == 3
    assert store.lookup(Verifier("sha256", hashlib.sha256(b"c").hexdigest()), None) is None


def test_mismatch_keeps_nothing(tmp_path: Path) -> None:
    store = FileStore(tmp_path)
    verifier = Verifier("sha256", SHA256)
    pending = store.pending(verifier)
    bad = DATA + b"tampered"
    verifier.update(bad)
    pending.write(bad)
    with pytest.raises(DigestMismatch):
        verifier.check()
    pending.discard()
    assert store.lookup(Verifier("sha256", SHA256), None) is None
    assert files_under(tmp_path) == []


def flip_first_byte(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(bytes([data[0] ^ 1]) + data[1:])


def truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:-1])


def extend(path: Path) -> None:
    path.write_bytes(path.read_bytes() + b"\0")


def empty(path: Path) -> None:
    path.write_bytes(b"")


def replace_by_other_bytes(path: Path) -> None:
    other = path.with_name("other")
    other.write_bytes(b"y" * len(DATA))
    os.replace(other, path)


DAMAGE: list[Callable[[Path], object]] = [
    flip_first_byte,
    truncate,
    extend,
    empty,
    replace_by_other_bytes,
]


def damage(path: Path, how: Callable[[Path], object]) -> None:
    """Damage a stored (read-only) file, as a disk error or a stray process would."""
    os.chmod(path, 0o644)
    how(path)
    os.chmod(path, 0o444)
    # The kernel's file times are coarse: a change within one tick of the last check could
    # leave mtime as it was.  Damage takes longer than that in practice; here it is made
    # explicit, so the test does not depend on the clock.
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))


@pytest.mark.parametrize("how", DAMAGE)
def test_a_damaged_file_is_not_found_and_removed_on_first_lookup(
    tmp_path: Path, how: Callable[[Path], object]
) -> None:
    # Stored by an earlier process (a new FileStore has verified nothing yet).
    path = store_verified(FileStore(tmp_path), DATA, {"sha256": SHA256})
    damage(path, how)
    store = FileStore(tmp_path)
    assert store.lookup(Verifier("sha256", SHA256), len(DATA)) is None
    assert not path.exists()  # so the next request fetches it again
    assert store.lookup(Verifier("sha256", SHA256), len(DATA)) is None


@pytest.mark.parametrize("how", DAMAGE)
def test_a_file_damaged_after_it_was_verified_is_hashed_again(
    tmp_path: Path, how: Callable[[Path], object]
) -> None:
    store = FileStore(tmp_path)
    path = store_verified(store, DATA, {"sha256": SHA256})
    damage(path, how)
    assert store.lookup(Verifier("sha256", SHA256), len(DATA)) is None
    assert not path.exists()


@pytest.mark.parametrize("size", [len(DATA) - 1, len(DATA) + 1, 0])
def test_a_file_of_another_size_than_the_index_says_is_not_found(tmp_path: Path, size: int) -> None:
    path = store_verified(FileStore(tmp_path), DATA, {"sha256": SHA256})
    store = FileStore(tmp_path)
    assert store.lookup(Verifier("sha256", SHA256), size) is None
    assert not path.exists()


def test_a_verified_file_is_not_hashed_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = store_verified(FileStore(tmp_path), DATA, {"sha256": SHA256})
    store = FileStore(tmp_path)
    hashing = count_hashing(monkeypatch)
    verifier = Verifier("sha256", SHA256)
    for _ in range(3):
        assert store.lookup(verifier, len(DATA)) == path
    assert hashing == [SHA256]  # the first lookup only


def test_a_file_marked_verified_is_not_hashed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The download that stored it hashed it as it streamed in: no need to read it again.
    store = FileStore(tmp_path)
    verifier = Verifier("sha256", SHA256)
    pending = store.pending(verifier)
    pending.write(DATA)
    pending.commit()
    store.mark_verified(pending.final)
    hashing = count_hashing(monkeypatch)
    assert store.lookup(verifier, len(DATA)) == pending.final
    assert hashing == []


def test_a_modified_file_is_hashed_again_even_when_it_still_matches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = FileStore(tmp_path)
    path = store_verified(store, DATA, {"sha256": SHA256})
    hashing = count_hashing(monkeypatch)
    damage(path, lambda p: p.write_bytes(DATA))  # rewritten with the same bytes
    assert store.lookup(Verifier("sha256", SHA256), len(DATA)) == path
    assert store.lookup(Verifier("sha256", SHA256), len(DATA)) == path
    assert hashing == [SHA256]  # once after the change, then trusted again


def test_marking_a_missing_file_is_harmless(tmp_path: Path) -> None:
    store = FileStore(tmp_path)
    store.mark_verified(tmp_path / "absent")
    assert store.lookup(Verifier("sha256", SHA256), None) is None


def test_the_verified_set_is_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(FileStore, "_VERIFIED_LIMIT", 2)
    store = FileStore(tmp_path)
    bodies = [b"one", b"two", b"three"]
    verifiers = [Verifier("sha256", hashlib.sha256(b).hexdigest()) for b in bodies]
    for body in bodies:
        store_verified(store, body, {"sha256": hashlib.sha256(body).hexdigest()})
    hashing = count_hashing(monkeypatch)
    # The two most recent are remembered; the oldest was forgotten, so it is hashed again.
    for verifier in reversed(verifiers):
        assert store.lookup(verifier, None) is not None
    assert hashing == [verifiers[0].digest]


def test_a_store_that_keeps_nothing_finds_nothing(tmp_path: Path) -> None:
    # --no-cache: downloads still pass through root, but nothing is ever served from it.
    store = FileStore(tmp_path, keep=False)
    verifier = Verifier("sha256", SHA256)
    pending = store.pending(verifier)
    pending.write(DATA)
    pending.commit()
    store.mark_verified(pending.final)
    assert pending.final.read_bytes() == DATA
    assert store.lookup(verifier, len(DATA)) is None


@pytest.mark.parametrize(
    "digest",
    [
        "../outside/secret",  # <root>/sha256/../../outside/secret
        "{secret}",  # an absolute path replaces the whole joined path
        "../../" + "0" * 58,  # the size of a sha256 digest, but not hex
    ],
)
def test_a_digest_from_upstream_cannot_reach_outside_the_store(tmp_path: Path, digest: str) -> None:
    # The digest comes from the index's page; a hostile or broken index must not make the
    # proxy serve, create or (now that lookup removes bad files) delete a file outside it.
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
        verifier = None  # refused outright: fine
    if verifier is not None:
        found = store.lookup(verifier, None)
        assert found is None or found.resolve().is_relative_to(root.resolve()), found
        pending = store.pending(verifier)
        assert pending.temp.resolve().is_relative_to(root.resolve())
        pending.discard()
    assert secret.read_bytes() == b"private"
    # And the direct constructor refuses it.
    with pytest.raises(file_store.InvalidDigest):
        Verifier("sha256", digest)
