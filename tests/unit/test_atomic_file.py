"""Write aside, then rename: no reader sees half a file, and a crash leaves a sweepable temp."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from snapproxy.atomic_file import AtomicFile, write_atomically
from snapproxy.cache_lock import lock_fd, sweep_temp_files

DATA = b"wheel bytes " * 1000


def files_under(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def record_fsyncs(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """What each fsync was called on: "file" or "directory"."""
    synced: list[str] = []
    real = os.fsync

    def fsync(fd: int) -> None:
        synced.append("directory" if stat.S_ISDIR(os.fstat(fd).st_mode) else "file")
        real(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    return synced


# --- AtomicFile -------------------------------------------------------------------------


def test_nothing_is_visible_before_commit(tmp_path: Path) -> None:
    final = tmp_path / "f"
    pending = AtomicFile(final)
    try:
        # The temporary name marks it for the sweep, and sits beside the final name (so the
        # rename stays within one file system).
        assert pending.temp.parent == tmp_path
        assert pending.temp.name.startswith(".tmp-")
        for i in range(0, len(DATA), 1000):
            pending.write(DATA[i : i + 1000])
        assert not final.exists()
        assert pending.size == len(DATA)
    finally:
        pending.discard()


def test_the_temporary_file_is_locked_while_open(tmp_path: Path) -> None:
    pending = AtomicFile(tmp_path / "f")
    try:
        fd = os.open(pending.temp, os.O_RDONLY)
        try:
            assert lock_fd(fd) is False
        finally:
            os.close(fd)
        # So a sweep started meanwhile (another process starting up) leaves it alone.
        assert sweep_temp_files(tmp_path) == (0, 0)
        assert pending.temp.exists()
    finally:
        pending.discard()


@pytest.mark.parametrize("mode", [0o644, 0o444, 0o600, 0o640])
def test_commit_puts_the_bytes_at_the_final_name_with_the_mode(tmp_path: Path, mode: int) -> None:
    final = tmp_path / "f"
    pending = AtomicFile(final, mode)
    pending.write(DATA)
    pending.commit()
    assert final.read_bytes() == DATA
    assert mode_of(final) == mode
    assert files_under(tmp_path) == [final]  # no temporary file left
    assert pending.fd == -1  # closed


def test_the_mode_does_not_depend_on_the_umask(tmp_path: Path) -> None:
    # mkstemp creates 0600; a restrictive umask must not leave a shared cache unreadable.
    old = os.umask(0o077)
    try:
        final = tmp_path / "f"
        pending = AtomicFile(final, 0o644)
        pending.commit()
    finally:
        os.umask(old)
    assert mode_of(final) == 0o644


def test_commit_replaces_an_existing_file(tmp_path: Path) -> None:
    final = tmp_path / "f"
    final.write_bytes(b"old")
    pending = AtomicFile(final)
    pending.write(b"new")
    assert final.read_bytes() == b"old"
    pending.commit()
    assert final.read_bytes() == b"new"
    assert files_under(tmp_path) == [final]


def test_discard_removes_the_temporary_file_and_keeps_the_old_one(tmp_path: Path) -> None:
    final = tmp_path / "f"
    final.write_bytes(b"old")
    pending = AtomicFile(final)
    pending.write(b"partial")
    pending.discard()
    assert final.read_bytes() == b"old"
    assert files_under(tmp_path) == [final]
    assert pending.fd == -1
    pending.discard()  # twice is harmless (error paths may call it again)


def test_discard_after_commit_keeps_the_committed_file(tmp_path: Path) -> None:
    # Callers discard in `finally`/error paths that may run after a commit.
    final = tmp_path / "f"
    pending = AtomicFile(final)
    pending.write(b"done")
    pending.commit()
    pending.discard()
    assert final.read_bytes() == b"done"


def test_a_failed_commit_leaves_the_old_file_and_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    final = tmp_path / "f"
    final.write_bytes(b"old")
    pending = AtomicFile(final)
    pending.write(b"new")

    def fail(src: object, dst: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError, match="disk full"):
        pending.commit()
    assert final.read_bytes() == b"old"
    assert files_under(tmp_path) == [final]
    assert pending.fd == -1


def test_two_writers_of_one_target(tmp_path: Path) -> None:
    final = tmp_path / "f"
    first, second = AtomicFile(final), AtomicFile(final)
    assert first.temp != second.temp
    first.write(b"one")
    second.write(b"one")
    first.commit()
    second.discard()
    assert final.read_bytes() == b"one"
    assert files_under(tmp_path) == [final]


def test_short_writes_are_continued(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # os.write may write less than asked (signals, pipes, quotas); nothing may be lost.
    real = os.write
    monkeypatch.setattr(os, "write", lambda fd, data: real(fd, bytes(data)[:7]))
    final = tmp_path / "f"
    pending = AtomicFile(final)
    pending.write(DATA[:100])
    pending.write(DATA[100:])
    monkeypatch.undo()
    pending.commit()
    assert final.read_bytes() == DATA


@pytest.mark.parametrize(
    ("durable", "synced"),
    [
        # The data before the rename, then the directory so the rename itself survives.
        (True, ["file", "directory"]),
        (False, []),
    ],
)
def test_durable_commit_syncs_data_then_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, durable: bool, synced: list[str]
) -> None:
    calls = record_fsyncs(monkeypatch)
    renamed: list[str] = []
    real_replace = os.replace

    def replace(src: str | Path, dst: str | Path) -> None:
        renamed.append(f"after {len(calls)} fsyncs")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    pending = AtomicFile(tmp_path / "f", durable=durable)
    pending.write(b"data")
    pending.commit()
    assert calls == synced
    # The data is on disk before its name points at it.
    assert renamed == [f"after {1 if durable else 0} fsyncs"]


# --- write_atomically -------------------------------------------------------------------


@pytest.mark.parametrize("existing", [None, b"old contents, longer than the new"])
@pytest.mark.parametrize("mode", [0o644, 0o600])
def test_write_atomically(tmp_path: Path, existing: bytes | None, mode: int) -> None:
    path = tmp_path / "f"
    if existing is not None:
        path.write_bytes(existing)
    write_atomically(path, b"new", mode)
    assert path.read_bytes() == b"new"
    assert mode_of(path) == mode
    assert files_under(tmp_path) == [path]


@pytest.mark.parametrize(("durable", "synced"), [(True, ["file", "directory"]), (False, [])])
def test_write_atomically_durable_flag(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, durable: bool, synced: list[str]
) -> None:
    calls = record_fsyncs(monkeypatch)
    write_atomically(tmp_path / "f", b"data", durable=durable)
    assert calls == synced


def test_write_atomically_failure_keeps_the_old_contents(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"old")

    def fail(fd: int, data: object) -> int:
        raise OSError("no space left on device")

    monkeypatch.setattr(os, "write", fail)
    with pytest.raises(OSError, match="no space"):
        write_atomically(path, b"new")
    assert path.read_bytes() == b"old"
    assert files_under(tmp_path) == [path]
