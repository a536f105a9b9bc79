"""NAR, the Nix ARchive: the serialisation whose sha256 is a recursive output hash.

:func:`write_nar` is pure: it turns a tree of plain nodes into the NAR byte stream, as
``nix-store --dump`` does (Eelco Dolstra's thesis, figure 5.2; libutil ``archive.cc``),
handing it to a sink in large batches.  :func:`read_tree` is the edge that describes a
directory on disk as such nodes, lazily, so a tree of any size streams through in
bounded memory.
"""

from __future__ import annotations

import hashlib
import os
import queue
import stat
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "Directory",
    "Node",
    "Regular",
    "Symlink",
    "UnsupportedFileType",
    "nar_sha256",
    "read_tree",
    "serialise",
    "write_nar",
]

# Files up to this size are read in one call; larger ones stream in chunks of it.
CHUNK = 4 * 1024 * 1024
# Small tokens and files are gathered and handed to the sink once this much is pending:
# one sha256 update per token would cost more than the hashing itself.
BATCH = 256 * 1024


class UnsupportedFileType(ValueError):
    """A path that is neither a regular file, a directory nor a symlink (NAR has no other)."""


@dataclass(frozen=True)
class Regular:
    executable: bool
    size: int
    # Called once, when the contents are serialised; yields ``size`` bytes in all.  A
    # chunk may be a reused buffer: it is consumed before the next is asked for.
    contents: Callable[[], Iterable[bytes | memoryview]]


@dataclass(frozen=True)
class Symlink:
    target: bytes


@dataclass(frozen=True)
class Directory:
    # Called once; entries in any order (serialised sorted by name bytes, as Nix does).
    entries: Callable[[], Iterable[tuple[bytes, Node]]]


Node = Regular | Symlink | Directory


def _str(data: bytes) -> bytes:
    """A NAR string: little-endian u64 length, the bytes, zero padding to 8."""
    return len(data).to_bytes(8, "little") + data + bytes(-len(data) % 8)


_HEADER = _str(b"nix-archive-1")
_OPEN, _CLOSE = _str(b"("), _str(b")")
_REGULAR = _OPEN + _str(b"type") + _str(b"regular")
_EXECUTABLE = _str(b"executable") + _str(b"")
_CONTENTS = _str(b"contents")
_SYMLINK = _OPEN + _str(b"type") + _str(b"symlink") + _str(b"target")
_DIRECTORY = _OPEN + _str(b"type") + _str(b"directory")
_ENTRY = _str(b"entry") + _OPEN + _str(b"name")
_NODE = _str(b"node")
_PADDING = [bytes(n) for n in range(8)]


def write_nar(root: Node, sink: Callable[[bytes | bytearray | memoryview], object]) -> None:
    """Hand the NAR of ``root`` to ``sink``, in order, in batches of about ``BATCH`` bytes.

    ``sink`` must consume each chunk before it returns (the batch buffer is reused).
    """
    pending = bytearray(_HEADER)

    def flush() -> None:
        if pending:
            sink(pending)
            pending.clear()

    def write(node: Node) -> None:
        if isinstance(node, Regular):
            pending.extend(_REGULAR)
            if node.executable:
                pending.extend(_EXECUTABLE)
            pending.extend(_CONTENTS)
            pending.extend(node.size.to_bytes(8, "little"))
            large = node.size > BATCH
            if large:
                flush()
            written = 0
            for chunk in node.contents():
                written += len(chunk)
                if large:
                    sink(chunk)
                else:
                    pending.extend(chunk)
            if written != node.size:
                raise ValueError(f"file changed while it was read ({written} != {node.size} bytes)")
            pending.extend(_PADDING[-node.size % 8])
            pending.extend(_CLOSE)
        elif isinstance(node, Symlink):
            pending.extend(_SYMLINK)
            pending.extend(_str(node.target))
            pending.extend(_CLOSE)
        else:
            pending.extend(_DIRECTORY)
            for name, child in sorted(node.entries(), key=lambda entry: entry[0]):
                pending.extend(_ENTRY)
                pending.extend(_str(name))
                pending.extend(_NODE)
                write(child)
                pending.extend(_CLOSE)
            pending.extend(_CLOSE)
        if len(pending) >= BATCH:
            flush()

    write(root)
    flush()


def serialise(root: Node) -> Iterator[bytes]:
    """The NAR of ``root`` as a list of chunks (for tests and small trees)."""
    chunks: list[bytes] = []
    write_nar(root, lambda chunk: chunks.append(bytes(chunk)))
    return iter(chunks)


def _file_chunks(path: bytes, size: int) -> Iterator[bytes | memoryview]:
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    try:
        if size <= CHUNK:
            # One read, one byte more than expected: a file that grew shows itself.
            yield os.read(fd, size + 1)
        else:
            yield from _read_ahead(fd)
    finally:
        os.close(fd)


def _read_ahead(fd: int, buffers: int = 3) -> Iterator[memoryview]:
    """A large file's chunks, read by a second thread while the caller hashes the last.

    Reading and sha256 both release the GIL, so the two overlap on two cores; the
    rotating buffers bound memory at ``buffers * CHUNK``.
    """
    free: queue.Queue[bytearray | None] = queue.Queue()
    filled: queue.Queue[tuple[bytearray, int] | BaseException] = queue.Queue()
    for _ in range(buffers):
        free.put(bytearray(CHUNK))

    def reader() -> None:
        try:
            while (buffer := free.get()) is not None:
                count = os.readv(fd, [buffer])
                filled.put((buffer, count))
                if count == 0:
                    return
        except BaseException as exc:  # handed to the consumer, which raises it
            filled.put(exc)

    thread = threading.Thread(target=reader, name="nar-read-ahead", daemon=True)
    thread.start()
    try:
        while True:
            item = filled.get()
            if isinstance(item, BaseException):
                raise item
            buffer, count = item
            if count == 0:
                return
            yield memoryview(buffer)[:count]
            free.put(buffer)
    finally:
        free.put(None)  # stops the reader if the caller gave up early
        thread.join()


def _node(path: bytes, info: os.stat_result) -> Node:
    mode = info.st_mode
    if stat.S_ISLNK(mode):
        return Symlink(os.readlink(path))
    if stat.S_ISREG(mode):
        size = info.st_size
        return Regular(
            executable=bool(mode & stat.S_IXUSR),
            size=size,
            contents=lambda: _file_chunks(path, size),
        )
    if stat.S_ISDIR(mode):

        def entries() -> Iterator[tuple[bytes, Node]]:
            with os.scandir(path) as found:
                listed = [(e.name, e.path, e.stat(follow_symlinks=False)) for e in found]
            for name, child, child_info in listed:
                yield name, _node(child, child_info)

        return Directory(entries)
    raise UnsupportedFileType(f"{os.fsdecode(path)} is neither a file, a directory nor a symlink")


def read_tree(path: Path) -> Node:
    """Describe the file system object at ``path`` (not following a symlink there)."""
    raw = os.fsencode(path)
    return _node(raw, os.lstat(raw))


def nar_sha256(path: Path) -> bytes:
    """sha256 of the NAR of ``path``: ``nix-hash --type sha256`` as raw bytes."""
    digest = hashlib.sha256()
    write_nar(read_tree(path), digest.update)
    return digest.digest()
