"""NAR serialisation, checked byte for byte against the format as Nix writes it.

Every NAR string is a little-endian u64 length, the bytes, and zero padding to a multiple
of 8. The expected archives below are written out by hand from that rule (not produced by
the code under test); each one's sha256 is also checked against the digest Nix 2.8 printed
(`nix-hash --type sha256`) for the same tree on disk.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from pathlib import Path

import pytest

from fetcher.nar import (
    CHUNK,
    Directory,
    Node,
    Regular,
    Symlink,
    UnsupportedFileType,
    nar_sha256,
    read_tree,
    serialise,
)

# Spelled out once so the literals below stay readable: (u64 LE length) word.
MAGIC = b"\x0d\x00\x00\x00\x00\x00\x00\x00nix-archive-1\x00\x00\x00"
OPEN = b"\x01\x00\x00\x00\x00\x00\x00\x00(\x00\x00\x00\x00\x00\x00\x00"
CLOSE = b"\x01\x00\x00\x00\x00\x00\x00\x00)\x00\x00\x00\x00\x00\x00\x00"
TYPE = b"\x04\x00\x00\x00\x00\x00\x00\x00type\x00\x00\x00\x00"
REGULAR = b"\x07\x00\x00\x00\x00\x00\x00\x00regular\x00"
SYMLINK = b"\x07\x00\x00\x00\x00\x00\x00\x00symlink\x00"
DIRECTORY = b"\x09\x00\x00\x00\x00\x00\x00\x00directory\x00\x00\x00\x00\x00\x00\x00"
EXECUTABLE = b"\x0a\x00\x00\x00\x00\x00\x00\x00executable\x00\x00\x00\x00\x00\x00"
EMPTY = b"\x00\x00\x00\x00\x00\x00\x00\x00"
CONTENTS = b"\x08\x00\x00\x00\x00\x00\x00\x00contents"
TARGET = b"\x06\x00\x00\x00\x00\x00\x00\x00target\x00\x00"
ENTRY = b"\x05\x00\x00\x00\x00\x00\x00\x00entry\x00\x00\x00"
NAME = b"\x04\x00\x00\x00\x00\x00\x00\x00name\x00\x00\x00\x00"
NODE = b"\x04\x00\x00\x00\x00\x00\x00\x00node\x00\x00\x00\x00"

EMPTY_FILE_NAR = MAGIC + OPEN + TYPE + REGULAR + CONTENTS + EMPTY + CLOSE
EXECUTABLE_NAR = (
    MAGIC + OPEN + TYPE + REGULAR + EXECUTABLE + EMPTY + CONTENTS
    + b"\x03\x00\x00\x00\x00\x00\x00\x00hi\n\x00\x00\x00\x00\x00"
    + CLOSE
)  # fmt: skip
SYMLINK_NAR = (
    MAGIC + OPEN + TYPE + SYMLINK + TARGET
    + b"\x04\x00\x00\x00\x00\x00\x00\x00../a\x00\x00\x00\x00"
    + CLOSE
)  # fmt: skip
# dir/ with "b" (regular, "x") and "a" (symlink to "b"): entries in name order, a first.
DIRECTORY_NAR = (
    MAGIC + OPEN + TYPE + DIRECTORY
    + ENTRY + OPEN + NAME + b"\x01\x00\x00\x00\x00\x00\x00\x00a\x00\x00\x00\x00\x00\x00\x00"
    + NODE + OPEN + TYPE + SYMLINK + TARGET
    + b"\x01\x00\x00\x00\x00\x00\x00\x00b\x00\x00\x00\x00\x00\x00\x00" + CLOSE
    + CLOSE
    + ENTRY + OPEN + NAME + b"\x01\x00\x00\x00\x00\x00\x00\x00b\x00\x00\x00\x00\x00\x00\x00"
    + NODE + OPEN + TYPE + REGULAR + CONTENTS
    + b"\x01\x00\x00\x00\x00\x00\x00\x00x\x00\x00\x00\x00\x00\x00\x00" + CLOSE
    + CLOSE
    + CLOSE
)  # fmt: skip
EMPTY_DIRECTORY_NAR = MAGIC + OPEN + TYPE + DIRECTORY + CLOSE

# sha256 of each NAR as printed by `nix-hash --type sha256` for the same tree on disk.
NIX_DIGESTS = {
    "empty-file": "77ac62e2629d8e45f624589c0c8bf99e24b3a722349bf1e79bc186008534e246",
    "executable": "b55bce1ab38788765364491154df0c575a4959c247abcd0d2d24a6dba4b10da7",
    "symlink": "84f4d980c0d2735d26451729d2b7485629d85ebb4bf64e98da167889a511de9f",
    "directory": "11eacdc7cc59315983db0a446ebb62abb011765cca608223be0ce38191ce8ab3",
    "empty-directory": "a50a5ab6d992f5598edd92105059fae9acfc192981e08bd88534c2167e92526a",
}


def regular(data: bytes, executable: bool = False, pieces: int = 1) -> Regular:
    step = max(1, -(-len(data) // pieces))
    chunks = [data[i : i + step] for i in range(0, len(data), step)]
    return Regular(executable=executable, size=len(data), contents=lambda: iter(chunks))


def directory(entries: Iterable[tuple[bytes, Node]]) -> Directory:
    items = list(entries)
    return Directory(lambda: iter(items))


def nar(node: Node) -> bytes:
    return b"".join(serialise(node))


CASES = {
    "empty-file": (regular(b""), EMPTY_FILE_NAR),
    "executable": (regular(b"hi\n", executable=True), EXECUTABLE_NAR),
    "symlink": (Symlink(b"../a"), SYMLINK_NAR),
    "directory": (
        # given out of order: serialise sorts entries by name
        directory([(b"b", regular(b"x")), (b"a", Symlink(b"b"))]),
        DIRECTORY_NAR,
    ),
    "empty-directory": (directory([]), EMPTY_DIRECTORY_NAR),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_serialise_exact_bytes(case: str) -> None:
    node, expected = CASES[case]
    assert nar(node) == expected


@pytest.mark.parametrize("case", sorted(CASES))
def test_hand_written_nar_matches_nix_digest(case: str) -> None:
    # Guards the literals above: they hash to what Nix printed for the same trees.
    assert hashlib.sha256(CASES[case][1]).hexdigest() == NIX_DIGESTS[case]


@pytest.mark.parametrize("size", range(18))
def test_regular_file_padding(size: int) -> None:
    data = bytes(range(1, size + 1))
    padding = (8 - size % 8) % 8
    expected = (
        MAGIC + OPEN + TYPE + REGULAR + CONTENTS
        + size.to_bytes(8, "little") + data + b"\x00" * padding
        + CLOSE
    )  # fmt: skip
    assert nar(regular(data)) == expected
    assert len(expected) % 8 == 0
    # How the contents arrive in chunks does not matter.
    assert nar(regular(data, pieces=3)) == expected


@pytest.mark.parametrize("length", range(18))
def test_symlink_target_padding(length: int) -> None:
    target = b"t" * length
    padding = (8 - length % 8) % 8
    expected = (
        MAGIC + OPEN + TYPE + SYMLINK + TARGET
        + length.to_bytes(8, "little") + target + b"\x00" * padding
        + CLOSE
    )  # fmt: skip
    assert nar(Symlink(target)) == expected


def test_entries_sorted_by_name_bytes() -> None:
    # As bytes: "B" (0x42) < "a" (0x61) < "é" (0xc3 0xa9); str ordering agrees here but
    # a locale-aware or case-folding sort would not.
    names = ["é".encode(), b"a", b"B", b"a b", b"a\nb", b"\xff", b"0"]
    node = directory((name, regular(b"")) for name in names)
    out = nar(node)
    positions = [out.index(NAME + len(name).to_bytes(8, "little") + name) for name in names]
    order = [name for _, name in sorted(zip(positions, names, strict=True))]
    assert order == [b"0", b"B", b"a", b"a\nb", b"a b", "é".encode(), b"\xff"]


def test_sorting_is_by_bytes_not_by_decoded_names() -> None:
    # os.fsdecode(b"\xff") is U+DCFF (surrogateescape), which sorts *after* U+10000 as str;
    # as bytes 0xff sorts after 0xf0, the UTF-8 lead byte of U+10000. Upper case first too.
    high = "\U00010000".encode()
    names = [b"\xff", high, b"Z", b"z", b"\xc3\xa9"]
    out = nar(directory((name, Symlink(b"x")) for name in names))
    positions = {name: out.index(NAME + len(name).to_bytes(8, "little") + name) for name in names}
    assert sorted(names, key=positions.__getitem__) == [b"Z", b"z", b"\xc3\xa9", high, b"\xff"]
    assert sorted(names, key=os.fsdecode) != sorted(names)  # the two orders really differ


def test_nested_directories() -> None:
    inner = directory([(b"f", regular(b"", executable=True))])
    outer = directory([(b"d", inner), (b"e", directory([]))])
    expected = (
        MAGIC + OPEN + TYPE + DIRECTORY
        + ENTRY + OPEN + NAME + b"\x01" + bytes(7) + b"d" + bytes(7) + NODE
        + OPEN + TYPE + DIRECTORY
        + ENTRY + OPEN + NAME + b"\x01" + bytes(7) + b"f" + bytes(7) + NODE
        + OPEN + TYPE + REGULAR + EXECUTABLE + EMPTY + CONTENTS + EMPTY + CLOSE
        + CLOSE
        + CLOSE
        + CLOSE
        + ENTRY + OPEN + NAME + b"\x01" + bytes(7) + b"e" + bytes(7) + NODE
        + OPEN + TYPE + DIRECTORY + CLOSE
        + CLOSE
        + CLOSE
    )  # fmt: skip
    assert nar(outer) == expected


@pytest.mark.parametrize(("declared", "actual"), [(3, b"ab"), (1, b"ab"), (0, b"a")])
def test_contents_that_do_not_match_the_size_are_an_error(declared: int, actual: bytes) -> None:
    node = Regular(executable=False, size=declared, contents=lambda: iter([actual]))
    with pytest.raises(ValueError, match="changed"):
        nar(node)


# --- read_tree and nar_sha256: the file system edge -------------------------------------


def test_read_tree_regular_file(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"hi\n")
    path.chmod(0o644)
    node = read_tree(path)
    assert isinstance(node, Regular)
    assert node.size == 3
    assert not node.executable
    assert b"".join(node.contents()) == b"hi\n"


@pytest.mark.parametrize(
    ("mode", "executable"),
    [
        (0o755, True),
        (0o700, True),
        (0o744, True),
        (0o100, True),
        (0o644, False),
        (0o655, False),  # executable by group and others only: Nix looks at S_IXUSR
        (0o611, False),
        (0o600, False),
    ],
)
def test_read_tree_executable_bit(tmp_path: Path, mode: int, executable: bool) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"")
    path.chmod(mode)
    try:
        node = read_tree(path)
        assert isinstance(node, Regular)
        assert node.executable is executable
    finally:
        path.chmod(0o644)


def test_read_tree_does_not_follow_symlinks(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to("real")
    (tmp_path / "dangling").symlink_to("missing/../nowhere")
    assert read_tree(tmp_path / "link") == Symlink(b"real")
    assert read_tree(tmp_path / "dangling") == Symlink(b"missing/../nowhere")


def test_read_tree_directory_lists_every_entry(tmp_path: Path) -> None:
    (tmp_path / "b").write_bytes(b"x")
    (tmp_path / "a").symlink_to("b")
    node = read_tree(tmp_path)
    assert isinstance(node, Directory)
    names = sorted(name for name, _ in node.entries())
    assert names == [b"a", b"b"]


def test_read_tree_non_utf8_name(tmp_path: Path) -> None:
    name = os.fsdecode(b"\xff\xfe")
    (tmp_path / name).write_bytes(b"")
    node = read_tree(tmp_path)
    assert isinstance(node, Directory)
    assert [n for n, _ in node.entries()] == [b"\xff\xfe"]


def test_read_tree_refuses_a_fifo(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(UnsupportedFileType):
        read_tree(fifo)
    with pytest.raises(UnsupportedFileType):
        nar_sha256(tmp_path)


def test_nar_sha256_of_hand_made_trees(tmp_path: Path) -> None:
    (tmp_path / "empty").write_bytes(b"")
    (tmp_path / "exe").write_bytes(b"hi\n")
    (tmp_path / "exe").chmod(0o755)
    (tmp_path / "link").symlink_to("../a")
    (tmp_path / "dir").mkdir()
    (tmp_path / "dir" / "b").write_bytes(b"x")
    (tmp_path / "dir" / "a").symlink_to("b")
    (tmp_path / "emptydir").mkdir()
    for name, case in [
        ("empty", "empty-file"),
        ("exe", "executable"),
        ("link", "symlink"),
        ("dir", "directory"),
        ("emptydir", "empty-directory"),
    ]:
        assert nar_sha256(tmp_path / name).hex() == NIX_DIGESTS[case], name


def test_large_file_streams_in_bounded_chunks(tmp_path: Path) -> None:
    data = os.urandom(CHUNK * 2 + 12345)
    path = tmp_path / "big"
    path.write_bytes(data)
    node = read_tree(path)
    assert isinstance(node, Regular)
    # A chunk may be a reused buffer, valid until the next is asked for: copy each.
    chunks = [bytes(chunk) for chunk in node.contents()]
    assert len(chunks) >= 3
    assert all(len(chunk) <= CHUNK for chunk in chunks)
    assert b"".join(chunks) == data
    # And the NAR hash equals the hash of the NAR spelled out by the format.
    expected = (
        MAGIC + OPEN + TYPE + REGULAR + CONTENTS
        + len(data).to_bytes(8, "little") + data + b"\x00" * (-len(data) % 8)
        + CLOSE
    )  # fmt: skip
    assert nar_sha256(path) == hashlib.sha256(expected).digest()
