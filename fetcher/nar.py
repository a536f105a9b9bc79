"""NAR, the Nix ARchive: the serialisation whose sha256 is a recursive output hash.

:func:`serialise` is pure: it turns a tree of plain nodes into the NAR byte stream, as
``nix-store --dump`` does (Eelco Dolstra's thesis, figure 5.2; libutil ``archive.cc``).
:func:`read_tree` is the edge that describes a directory on disk as such nodes, lazily,
so a tree of any size streams through in bounded memory.
"""

from __future__ import annotations

import hashlib
import os
import stat
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
]

CHUNK = 1024 * 1024


class UnsupportedFileType(ValueError):
    """A path that is neither a regular file, a directory nor a symlink (NAR has no other)."""


@dataclass(frozen=True)
class Regular:
    executable: bool
    size: int
    # Called once, when the contents are serialised; yields ``size`` bytes in all.
    contents: Callable[[], Iterable[bytes]]


@dataclass(frozen=True)
class Symlink:
    target: bytes


@dataclass(frozen=True)
class Directory:
    # Called once; entries in any order (serialise sorts them by name bytes, as Nix).
    entries: Callable[[], Iterable[tuple[bytes, Node]]]


Node = Regular | Symlink | Directory


def _str(data: bytes) -> bytes:
    """A NAR string: little-endian u64 length, the bytes, zero padding to 8."""
    return len(data).to_bytes(8, "little") + data + bytes(-len(data) % 8)


_OPEN, _CLOSE = _str(b"("), _str(b")")


def serialise(root: Node) -> Iterator[bytes]:
    """The NAR of ``root``, in chunks."""
    yield _str(b"nix-archive-1")
    yield from _node(root)


def _node(node: Node) -> Iterator[bytes]:
    yield _OPEN
    if isinstance(node, Regular):
        yield _str(b"type") + _str(b"regular")
        if node.executable:
            yield _str(b"executable") + _str(b"")
        yield _str(b"contents") + node.size.to_bytes(8, "little")
        written = 0
        for chunk in node.contents():
            written += len(chunk)
            yield chunk
        if written != node.size:
            raise ValueError(f"file changed while it was read ({written} != {node.size} bytes)")
        yield bytes(-node.size % 8)
    elif isinstance(node, Symlink):
        yield _str(b"type") + _str(b"symlink") + _str(b"target") + _str(node.target)
    else:
        yield _str(b"type") + _str(b"directory")
        for name, child in sorted(node.entries(), key=lambda entry: entry[0]):
            yield _str(b"entry") + _OPEN + _str(b"name") + _str(name) + _str(b"node")
            yield from _node(child)
            yield _CLOSE
    yield _CLOSE


def _file_chunks(path: Path) -> Iterator[bytes]:
    with open(path, "rb", buffering=0) as handle:
        while chunk := handle.read(CHUNK):
            yield chunk


def read_tree(path: Path) -> Node:
    """Describe the file system object at ``path`` (not following a symlink there)."""
    info = os.lstat(path)
    if stat.S_ISLNK(info.st_mode):
        return Symlink(os.fsencode(os.readlink(path)))
    if stat.S_ISREG(info.st_mode):
        return Regular(
            executable=bool(info.st_mode & stat.S_IXUSR),
            size=info.st_size,
            contents=lambda: _file_chunks(path),
        )
    if stat.S_ISDIR(info.st_mode):
        return Directory(
            lambda: ((os.fsencode(name), read_tree(path / name)) for name in os.listdir(path))
        )
    raise UnsupportedFileType(f"{path} is neither a file, a directory nor a symlink")


def nar_sha256(path: Path) -> bytes:
    """sha256 of the NAR of ``path``: ``nix-hash --type sha256`` as raw bytes."""
    digest = hashlib.sha256()
    for chunk in serialise(read_tree(path)):
        digest.update(chunk)
    return digest.digest()
