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
import stat

# `snapproxy hash` starts without click (snapproxy.launcher) and is timed against nix-hash,
# whose whole run on a small tree takes about 15 ms: typing, collections.abc and
# dataclasses (which brings inspect and ast) would add 10-20 ms to every run, so they are
# for type checkers only (mypy takes any constant named TYPE_CHECKING as true).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator

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

# Files are read into one reused buffer of this size, and large ones hashed from it in
# chunks of it: small enough to stay in the CPU's cache between the copy out of the page
# cache and sha256 (1-4 MiB reads were slower), large enough that per-read costs vanish.
CHUNK = 256 * 1024
# Small tokens and files are gathered and handed to the sink in batches of this size:
# one sha256 update per token would cost more than the hashing itself.
BATCH = 256 * 1024
# Contents of files up to this size join the batch; larger ones go to the sink directly
# (a copy then costs more than the extra call).
INLINE = 16 * 1024


class UnsupportedFileType(ValueError):
    """A path that is neither a regular file, a directory nor a symlink (NAR has no other)."""


class _Value:
    """Equality, hash and repr by the fields in ``__slots__``, and no assignment after
    ``__init__``: what ``@dataclass(frozen=True)`` gave, without importing dataclasses."""

    __slots__: tuple[str, ...] = ()

    def __init__(self, **fields: object) -> None:
        for name in self.__slots__:
            object.__setattr__(self, name, fields.pop(name))
        if fields:
            raise TypeError(f"{type(self).__name__} has no field {', '.join(fields)}")

    def _fields(self) -> tuple[object, ...]:
        return tuple(getattr(self, name) for name in self.__slots__)

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and self._fields() == other._fields()

    def __hash__(self) -> int:
        return hash((type(self), self._fields()))

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__)
        return f"{type(self).__name__}({fields})"

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")


class Regular(_Value):
    __slots__ = ("contents", "executable", "size")
    executable: bool
    size: int
    # Called once, when the contents are serialised; yields ``size`` bytes in all.  A
    # chunk may be a reused buffer: it is consumed before the next is asked for.
    contents: Callable[[], Iterable[bytes | memoryview]]

    def __init__(
        self, executable: bool, size: int, contents: Callable[[], Iterable[bytes | memoryview]]
    ) -> None:
        super().__init__(executable=executable, size=size, contents=contents)


class Symlink(_Value):
    __slots__ = ("target",)
    target: bytes

    def __init__(self, target: bytes) -> None:
        super().__init__(target=target)


class Directory(_Value):
    __slots__ = ("entries",)
    # Called once; entries in any order (serialised sorted by name bytes, as Nix does).
    entries: Callable[[], Iterable[tuple[bytes, Node]]]

    def __init__(self, entries: Callable[[], Iterable[tuple[bytes, Node]]]) -> None:
        super().__init__(entries=entries)


Node = Regular | Symlink | Directory


def _str(data: bytes) -> bytes:
    """A NAR string: little-endian u64 length, the bytes, zero padding to 8."""
    return len(data).to_bytes(8, "little") + data + bytes(-len(data) % 8)


_HEADER = _str(b"nix-archive-1")
_OPEN, _CLOSE = _str(b"("), _str(b")")
# Tokens that always come together are joined, so that a file takes a few put() calls.
_REGULAR = _OPEN + _str(b"type") + _str(b"regular") + _str(b"contents")
_REGULAR_EXECUTABLE = (
    _OPEN + _str(b"type") + _str(b"regular") + _str(b"executable") + _str(b"")
    + _str(b"contents")
)  # fmt: skip
_SYMLINK = _OPEN + _str(b"type") + _str(b"symlink") + _str(b"target")
_DIRECTORY = _OPEN + _str(b"type") + _str(b"directory")
_ENTRY = _str(b"entry") + _OPEN + _str(b"name")
_NODE = _str(b"node")
_PADDING_CLOSE = [bytes(n) + _CLOSE for n in range(8)]


def write_nar(root: Node, sink: Callable[[bytes | bytearray | memoryview], object]) -> None:
    """Hand the NAR of ``root`` to ``sink``, in order, in batches of at most ``BATCH`` bytes.

    Small tokens and small files' contents are gathered into one batch buffer; a file's
    contents larger than ``INLINE`` go to ``sink`` as they come.  ``sink`` must consume
    each chunk before it returns (the batch buffer is reused).
    """
    # One buffer for the whole archive, filled by slice assignment: a bytearray that is
    # extended and cleared instead gave its memory back to the system at every batch and
    # grew again (thousands of mremap calls and page faults on a tree of small files).
    batch = memoryview(bytearray(BATCH))
    used = 0

    def flush() -> None:
        nonlocal used
        if used:
            sink(batch[:used])
            used = 0

    def put(data: bytes | memoryview) -> None:
        nonlocal used
        end = used + len(data)
        if end > BATCH:
            flush()
            if len(data) > BATCH:  # a long symlink target, say
                sink(data)
                return
            end = len(data)
        batch[used:end] = data
        used = end

    def write(node: Node) -> None:
        if isinstance(node, Regular):
            size = node.size
            put((_REGULAR_EXECUTABLE if node.executable else _REGULAR) + size.to_bytes(8, "little"))
            written = 0
            direct = size > INLINE
            if direct:
                flush()
            for chunk in node.contents():
                written += len(chunk)
                if direct:
                    sink(chunk)
                else:
                    put(chunk)
            if written != size:
                raise ValueError(f"file changed while it was read ({written} != {size} bytes)")
            put(_PADDING_CLOSE[-size % 8])
        elif isinstance(node, Symlink):
            put(_SYMLINK + _str(node.target) + _CLOSE)
        else:
            put(_DIRECTORY)
            for name, child in sorted(node.entries(), key=lambda entry: entry[0]):
                put(_ENTRY + _str(name) + _NODE)
                write(child)
                put(_CLOSE)
            put(_CLOSE)

    put(_HEADER)
    write(root)
    flush()


def serialise(root: Node) -> Iterator[bytes]:
    """The NAR of ``root`` as a list of chunks (for tests and small trees)."""
    chunks: list[bytes] = []
    write_nar(root, lambda chunk: chunks.append(bytes(chunk)))
    return iter(chunks)


def _file_chunks(path: bytes, size: int, buffer: bytearray) -> Iterator[memoryview]:
    """The file's bytes, read into ``buffer`` one chunk at a time (each valid until the
    next is asked for).

    One thread, in order, as nix-hash does: a second thread reading ahead into rotating
    buffers overlapped the copy with the hashing, but paid for it in hand-overs and cache
    misses and fell far behind when the other core was busy; the copy is a few per cent of
    the time sha256 takes.
    """
    view = memoryview(buffer)
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    try:
        # Up to one byte more than expected: a file that grew shows itself, and a read that
        # stops short of that byte has found the end (a small file takes one read).
        left = size + 1
        while left > 0:
            wanted = min(left, len(view))
            count = os.readv(fd, [view[:wanted]])
            if count == 0:
                return
            yield view[:count]
            left -= count
            if left == 1 and count < wanted:
                return
    finally:
        os.close(fd)


def _node(path: bytes, info: os.stat_result, buffer: bytearray) -> Node:
    mode = info.st_mode
    if stat.S_ISLNK(mode):
        return Symlink(os.readlink(path))
    if stat.S_ISREG(mode):
        size = info.st_size
        return Regular(
            executable=bool(mode & stat.S_IXUSR),
            size=size,
            contents=lambda: _file_chunks(path, size, buffer),
        )
    if stat.S_ISDIR(mode):

        def entries() -> Iterator[tuple[bytes, Node]]:
            with os.scandir(path) as found:
                listed = [(e.name, e.path, e.stat(follow_symlinks=False)) for e in found]
            for name, child, child_info in listed:
                yield name, _node(child, child_info, buffer)

        return Directory(entries)
    raise UnsupportedFileType(f"{os.fsdecode(path)} is neither a file, a directory nor a symlink")


def read_tree(path: str | os.PathLike[str]) -> Node:
    """Describe the file system object at ``path`` (not following a symlink there).

    Its files are read into one buffer, so their contents are serialised one at a time
    (as :func:`write_nar` does).
    """
    raw = os.fsencode(path)
    return _node(raw, os.lstat(raw), bytearray(CHUNK))


def nar_sha256(path: str | os.PathLike[str]) -> bytes:
    """sha256 of the NAR of ``path``: ``nix-hash --type sha256`` as raw bytes."""
    digest = hashlib.sha256()
    write_nar(read_tree(path), digest.update)
    return digest.digest()
