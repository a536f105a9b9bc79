"""Replacing a file so that no reader ever sees half of it: write aside, then rename.

The temporary file is locked by its writer (see :mod:`snapproxy.cache_lock`), so a sweep
after a crash removes exactly the leftovers, and it is flushed to disk before the rename,
so a power cut cannot leave a complete-looking name holding missing blocks.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from snapproxy.cache_lock import TEMP_PREFIX, lock_fd

__all__ = ["AtomicFile", "write_atomically"]


class AtomicFile:
    """A file being written; :meth:`commit` puts it at ``final``, :meth:`discard` drops it."""

    def __init__(self, final: Path, mode: int = 0o644, *, durable: bool = True):
        self.final = final
        self.mode = mode
        self.durable = durable
        fd, name = tempfile.mkstemp(dir=final.parent, prefix=TEMP_PREFIX)
        lock_fd(fd)  # new and private: always free
        self.temp = Path(name)
        self.fd = fd
        self.size = 0

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            written = os.write(self.fd, view)
            view = view[written:]
        self.size += len(data)

    def commit(self) -> None:
        try:
            if self.durable:
                os.fsync(self.fd)
            os.fchmod(self.fd, self.mode)
            os.replace(self.temp, self.final)
        except BaseException:
            self.discard()
            raise
        os.close(self.fd)
        self.fd = -1
        if self.durable:
            _fsync_directory(self.final.parent)

    def discard(self) -> None:
        self.temp.unlink(missing_ok=True)
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def _fsync_directory(directory: Path) -> None:
    """Make a rename durable (POSIX leaves that to an fsync of the directory)."""
    try:
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems refuse fsync on directories; the data itself is synced
    finally:
        os.close(fd)


def write_atomically(path: Path, data: bytes, mode: int = 0o644, *, durable: bool = True) -> None:
    """``path`` holds ``data`` (with ``mode``) or, if anything fails, what it held before.

    ``durable=False`` skips the fsyncs, for data that carries its own digest (a torn
    write is then detected on read instead).
    """
    pending = AtomicFile(path, mode, durable=durable)
    try:
        pending.write(data)
    except BaseException:
        pending.discard()
        raise
    pending.commit()
