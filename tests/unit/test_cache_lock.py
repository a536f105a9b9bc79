"""Cross-process coordination in a shared cache directory: key locks and the temp-file sweep.

The other process is a real one (a Python subprocess), since flock(2) semantics between
processes, and the kernel dropping a dead holder's lock, are the point.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from snapproxy import cache_lock
from snapproxy.atomic_file import AtomicFile
from snapproxy.cache_lock import held, is_temp_name, lock_fd, sweep_temp_files

REPO = Path(__file__).resolve().parents[2]
# Generous: only reached when something hangs, never a performance limit.
HANG = 60.0

# Holds the lock of (directory, kind, key) until its stdin says "release" or closes.
HOLD_KEY = """
import asyncio, sys
from pathlib import Path
from snapproxy.cache_lock import held

async def main():
    async with held(Path(sys.argv[1]), sys.argv[2], sys.argv[3]) as waited:
        print("held", waited, flush=True)
        await asyncio.to_thread(sys.stdin.readline)

asyncio.run(main())
"""

# Writes an AtomicFile next to argv[1], prints its temporary name, and waits to be killed.
WRITE_TEMP = """
import sys
from pathlib import Path
from snapproxy.atomic_file import AtomicFile

pending = AtomicFile(Path(sys.argv[1]))
pending.write(b"partial download")
print(pending.temp, flush=True)
sys.stdin.readline()
"""

# Takes an exclusive flock on an existing file, as any live writer would.
FLOCK_FILE = """
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
fcntl.flock(fd, fcntl.LOCK_EX)
print("locked", flush=True)
sys.stdin.readline()
"""


class Helper:
    """A Python subprocess running one of the scripts above, on this checkout's sources."""

    def __init__(self, script: str, *args: str):
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        self.proc = subprocess.Popen(
            [sys.executable, "-c", script, *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        assert self.proc.stdout is not None
        self.first_line = self.proc.stdout.readline().strip()
        assert self.first_line, "the helper process died before it was ready"

    def release(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write("release\n")
        self.proc.stdin.flush()
        assert self.proc.wait(HANG) == 0

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(HANG)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.kill()
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                stream.close()


@pytest.fixture
def helpers() -> Iterator[list[Helper]]:
    started: list[Helper] = []
    yield started
    for helper in started:
        helper.stop()


def count_lock_attempts(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Record every try of ``held``'s poll loop, so a test can wait for a refused one."""
    results: list[bool] = []
    real = cache_lock.lock_fd

    def counting(fd: int) -> bool:
        results.append(real(fd))
        return results[-1]

    monkeypatch.setattr(cache_lock, "lock_fd", counting)
    return results


async def wait_until_refused(attempts: list[bool], times: int, task: asyncio.Future[Any]) -> None:
    """Until ``held`` was refused ``times`` times, or ``task`` got through (a failure)."""

    async def poll() -> None:
        while attempts.count(False) < times and not task.done():
            await asyncio.sleep(0.001)

    await asyncio.wait_for(poll(), HANG)


async def take(directory: Path | None, kind: str, key: str) -> bool:
    """Take the lock and release it; whether it waited.

    Bounded, so a lock that is never released fails the test instead of hanging it.
    """

    async def once() -> bool:
        async with held(directory, kind, key) as waited:
            return waited

    return await asyncio.wait_for(once(), HANG)


# --- held -------------------------------------------------------------------------------


async def test_a_key_held_by_another_process_is_waited_for(
    tmp_path: Path, helpers: list[Helper], monkeypatch: pytest.MonkeyPatch
) -> None:
    holder = Helper(HOLD_KEY, str(tmp_path), "pages", "k")
    helpers.append(holder)
    assert holder.first_line == "held False"  # the first comer did not wait
    attempts = count_lock_attempts(monkeypatch)
    entered: list[bool] = []

    async def second() -> None:
        async with held(tmp_path, "pages", "k") as waited:
            entered.append(waited)

    task = asyncio.ensure_future(second())
    # Refused several times while the other process holds it, and not entered meanwhile.
    await wait_until_refused(attempts, 3, task)
    assert entered == []
    await asyncio.to_thread(holder.release)
    await asyncio.wait_for(task, HANG)
    assert entered == [True]  # it reports that another process had the key first


async def test_a_killed_holder_leaves_the_key_free(
    tmp_path: Path, helpers: list[Helper], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The kernel drops the lock of a process that dies, even by SIGKILL.
    holder = Helper(HOLD_KEY, str(tmp_path), "files", "k")
    helpers.append(holder)
    attempts = count_lock_attempts(monkeypatch)

    async def second() -> bool:
        async with held(tmp_path, "files", "k") as waited:
            return waited

    task = asyncio.ensure_future(second())
    await wait_until_refused(attempts, 1, task)
    assert not task.done()
    await asyncio.to_thread(holder.kill)
    assert await asyncio.wait_for(task, HANG) is True


async def test_a_free_key_is_taken_without_waiting(tmp_path: Path) -> None:
    assert await take(tmp_path, "pages", "k") is False
    # Released on exit: taking it again does not wait either.
    assert await take(tmp_path, "pages", "k") is False


async def test_the_lock_is_exclusive_within_one_process_too(tmp_path: Path) -> None:
    # flock belongs to the open file, so two tasks of one server exclude each other as well.
    async with held(tmp_path, "pages", "k"):
        (lock_file,) = (tmp_path / "locks").iterdir()
        fd = os.open(lock_file, os.O_RDONLY)
        try:
            assert lock_fd(fd) is False
        finally:
            os.close(fd)


async def test_kinds_do_not_share_locks(tmp_path: Path, helpers: list[Helper]) -> None:
    # A page and a file of the same key name never wait for each other.
    helpers.append(Helper(HOLD_KEY, str(tmp_path), "pages", "k"))
    assert await take(tmp_path, "files", "k") is False


async def test_the_lock_is_released_when_the_body_raises(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError):
        async with held(tmp_path, "pages", "k"):
            raise RuntimeError("fetch failed")
    (lock_file,) = (tmp_path / "locks").iterdir()
    fd = os.open(lock_file, os.O_RDONLY)
    try:
        assert lock_fd(fd) is True
    finally:
        os.close(fd)


async def test_many_keys_share_a_bounded_number_of_lock_files(tmp_path: Path) -> None:
    for n in range(5000):
        await take(tmp_path, "pages", f"key {n}")
    names = [p.name for p in (tmp_path / "locks").iterdir()]
    assert 1 < len(names) <= 4096
    assert all(name.startswith("pages-") for name in names)


async def test_no_directory_no_lock(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Without a disk cache there is nothing to share: the same key is "held" twice at once
    # (a lock would make the inner one wait for ever), and no lock file appears anywhere.
    monkeypatch.chdir(tmp_path)

    async def twice() -> tuple[bool, bool]:
        async with held(None, "pages", "k") as first, held(None, "pages", "k") as second:
            return first, second

    assert await asyncio.wait_for(twice(), HANG) == (False, False)
    assert list(tmp_path.iterdir()) == []


async def test_a_directory_that_cannot_hold_locks_still_serves(tmp_path: Path) -> None:
    # A cache "directory" that is a file: no lock can be made; the fetch goes on without.
    not_a_directory = tmp_path / "file"
    not_a_directory.write_bytes(b"")
    assert await take(not_a_directory, "pages", "k") is False


# --- lock_fd ----------------------------------------------------------------------------


def test_lock_fd(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"")
    first = os.open(path, os.O_RDONLY)
    second = os.open(path, os.O_RDONLY)
    try:
        assert lock_fd(first) is True
        assert lock_fd(first) is True  # its own lock again: still held, by it
        assert lock_fd(second) is False  # another open file: refused at once
        fcntl.flock(first, fcntl.LOCK_UN)
        assert lock_fd(second) is True
    finally:
        os.close(first)
        os.close(second)


@pytest.mark.parametrize(
    ("name", "temporary"),
    [(".tmp-abc", True), (".tmp-", True), ("tmp-abc", False), ("x.tmp-abc", False), ("ab", False)],
)
def test_is_temp_name(name: str, temporary: bool) -> None:
    assert is_temp_name(name) is temporary


# --- sweep_temp_files -------------------------------------------------------------------


def test_sweep_removes_leftovers_and_counts_them(tmp_path: Path) -> None:
    leftovers = {
        tmp_path / ".tmp-a": b"12345",
        tmp_path / "files" / "sha256" / "ab" / ".tmp-b": b"x" * 1000,
        tmp_path / "pages" / "cd" / ".tmp-c": b"",
    }
    kept = {
        tmp_path / "files" / "sha256" / "ab" / ("ab" + "0" * 62): b"stored",
        tmp_path / "pages" / "cd" / "cd0123": b"page",
        tmp_path / "tmp-not-ours": b"?",
        tmp_path / "x.tmp-y": b"?",
    }
    for path, data in {**leftovers, **kept}.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    assert sweep_temp_files(tmp_path) == (3, 1005)
    assert not any(path.exists() for path in leftovers)
    assert all(path.read_bytes() == data for path, data in kept.items())
    assert sweep_temp_files(tmp_path) == (0, 0)


def test_sweep_keeps_a_file_an_atomic_file_is_writing(tmp_path: Path) -> None:
    pending = AtomicFile(tmp_path / "final")
    pending.write(b"half")
    try:
        assert sweep_temp_files(tmp_path) == (0, 0)
        assert pending.temp.exists()
        pending.commit()  # the writer is unharmed by the sweep
    finally:
        pending.discard()
    assert (tmp_path / "final").read_bytes() == b"half"


def test_sweep_keeps_a_file_another_process_holds(tmp_path: Path, helpers: list[Helper]) -> None:
    temp = tmp_path / "pages" / ".tmp-live"
    temp.parent.mkdir()
    temp.write_bytes(b"being written")
    holder = Helper(FLOCK_FILE, str(temp))
    helpers.append(holder)
    assert sweep_temp_files(tmp_path) == (0, 0)
    assert temp.exists()
    holder.release()
    assert sweep_temp_files(tmp_path) == (1, len(b"being written"))


def test_sweep_removes_what_a_killed_writer_left(tmp_path: Path, helpers: list[Helper]) -> None:
    writer = Helper(WRITE_TEMP, str(tmp_path / "final"))
    helpers.append(writer)
    temp = Path(writer.first_line)
    assert temp.parent == tmp_path and temp.name.startswith(".tmp-")
    assert sweep_temp_files(tmp_path) == (0, 0)  # alive: kept
    writer.kill()
    assert temp.exists()
    assert sweep_temp_files(tmp_path) == (1, len(b"partial download"))
    assert not temp.exists()
    assert not (tmp_path / "final").exists()


def test_sweep_of_a_missing_root_removes_nothing(tmp_path: Path) -> None:
    assert sweep_temp_files(tmp_path / "absent") == (0, 0)
