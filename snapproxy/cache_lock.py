"""Coordination between processes that share one cache directory.

Two ``snapproxy serve`` processes (or a server and ``snapproxy fetch``) may use the same
cache directory.  ``flock(2)`` locks make them fetch each key once: the first takes the
key's lock and fetches, the others wait for it and then read what it stored.  The kernel
drops a lock when its holder dies, so a SIGKILL never leaves a key locked.

Temporary files are locked by their writer for their whole life too, so a sweep can tell
a file being written (locked) from the leftover of a killed process (unlocked).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import logging
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

__all__ = ["TEMP_PREFIX", "held", "is_temp_name", "lock_fd", "sweep_temp_files"]

log = logging.getLogger("snapproxy.cache")

# Every temporary file in a cache directory starts with this; nothing else does.
TEMP_PREFIX = ".tmp-"
# Keys share lock files by a hash of the key: a bounded number of lock files, at the cost
# of two unrelated keys sometimes waiting for each other.
_STRIPES = 4096
_POLL = (0.005, 0.1)  # first and largest pause between tries


def is_temp_name(name: str) -> bool:
    return name.startswith(TEMP_PREFIX)


def lock_fd(fd: int) -> bool:
    """Take ``fd``'s exclusive lock without waiting; whether it was free."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _stripe(directory: Path, kind: str, key: str) -> Path:
    n = int(hashlib.sha256(key.encode()).hexdigest()[:8], 16) % _STRIPES
    return directory / "locks" / f"{kind}-{n:03x}"


@contextlib.asynccontextmanager
async def held(directory: Path | None, kind: str, key: str) -> AsyncIterator[bool]:
    """Hold the cross-process lock of ``key``; yields whether another process had it first.

    Waiting polls rather than blocking a thread, so a thousand waiters cost no threads.
    Without a directory (no disk cache) there is nothing to share and nothing to lock.
    """
    if directory is None:
        yield False
        return
    path = _stripe(directory, kind, key)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError as exc:
        # A cache directory we cannot lock in still serves; only the sharing is lost.
        log.warning("cannot lock %s (%s); fetching without coordination", path, exc)
        yield False
        return
    try:
        waited = False
        pause = _POLL[0]
        while not lock_fd(fd):
            waited = True
            await asyncio.sleep(pause)
            pause = min(pause * 2, _POLL[1])
        yield waited
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def _temp_files(root: Path) -> Iterator[Path]:
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d != "locks"]
        for name in filenames:
            if is_temp_name(name):
                yield Path(dirpath) / name


def sweep_temp_files(root: Path) -> tuple[int, int]:
    """Remove the temporary files under ``root`` that no live process holds.

    Returns how many files and bytes were removed.
    """
    removed = freed = 0
    for path in _temp_files(root):
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            continue  # gone already: its writer finished
        try:
            if not lock_fd(fd):
                continue  # a live writer holds it
            size = os.fstat(fd).st_size
            path.unlink(missing_ok=True)
            removed += 1
            freed += size
        except OSError as exc:
            log.warning("cannot remove leftover %s (%s)", path, exc)
        finally:
            os.close(fd)
    return removed, freed
