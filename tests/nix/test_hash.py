"""`snapproxy hash` against Nix itself: `nix-hash --type sha256` and `nix hash path`.

Every tree is made by hand on disk and hashed by the real CLI (`.venv/bin/snapproxy hash`,
whose console script runs a plain hash without click) in all three formats, and by the
click command itself (`python -m snapproxy hash`); the expected values come only from Nix's
tools. Nix 2.8 (Debian) has no `nix-hash --sri`, so SRI is checked against `nix hash path`
(whose default is SRI) and against the base64 of `nix-hash`'s base16 digest. Neither tool
builds anything, so no `NIX_CONFIG` is needed.
"""

from __future__ import annotations

import base64
import os
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fetcher.hash_formats import format_hash
from fetcher.nar import nar_sha256
from tests.support.clients import require_nix

REPO = Path(__file__).resolve().parents[2]
SNAPPROXY = REPO / ".venv" / "bin" / "snapproxy"
# The click path (snapproxy/__main__.py calls snapproxy.cli.main), not the launcher's.
CLICK = [str(REPO / ".venv" / "bin" / "python"), "-m", "snapproxy"]
NIX = ["nix", "--extra-experimental-features", "nix-command"]
FORMATS = ("sri", "nix32", "base16")


@pytest.fixture(scope="module", autouse=True)
def _nix_gate() -> None:
    """Skip the module without Nix (fail instead under SNAPPROXY_REQUIRE_NIX=1)."""
    require_nix("the nix tier compares with nix-hash and nix hash path")


def _run(command: list[str]) -> str:
    proc = subprocess.run(
        command,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, f"{command} failed ({proc.returncode}):\n{proc.stderr}"
    return proc.stdout.strip()


def nix_hashes(path: Path | str) -> dict[str, str]:
    """The path's NAR sha256 in every format, from Nix alone (and the tools must agree)."""
    base16 = _run(["nix-hash", "--type", "sha256", str(path)])
    nix32 = _run(["nix-hash", "--type", "sha256", "--base32", str(path)])
    sri = _run([*NIX, "hash", "path", str(path)])
    assert _run([*NIX, "hash", "path", "--base16", str(path)]) == base16
    assert _run([*NIX, "hash", "path", "--base32", str(path)]) == nix32
    assert sri == "sha256-" + base64.b64encode(bytes.fromhex(base16)).decode()
    return {"sri": sri, "nix32": nix32, "base16": base16}


def snapproxy_hash(path: Path | str, fmt: str) -> str:
    return _run([str(SNAPPROXY), "hash", str(path), "--format", fmt])


# --- hand-made trees: each builder fills `root` (an empty directory) and returns what to hash


def _file(path: Path, data: bytes = b"", mode: int = 0o644) -> None:
    path.write_bytes(data)
    path.chmod(mode)


def single_empty_file(root: Path) -> Path:
    _file(root / "f")
    return root / "f"


def single_executable_file(root: Path) -> Path:
    _file(root / "run.sh", b"#!/bin/sh\necho hi\n", 0o755)
    return root / "run.sh"


def single_file_of_17_bytes(root: Path) -> Path:
    _file(root / "f", bytes(range(17)))
    return root / "f"


def single_symlink(root: Path) -> Path:
    (root / "target").mkdir()
    (root / "link").symlink_to("target")
    return root / "link"  # the link itself, not the directory: Nix does not follow it


def single_absolute_symlink(root: Path) -> Path:
    (root / "link").symlink_to("/")  # exists: a dangling root is its own case
    return root / "link"


def single_dangling_symlink(root: Path) -> Path:
    (root / "link").symlink_to("does/not/exist")
    return root / "link"


def symlink_to_directory_with_trailing_slash(root: Path) -> str:
    # `nix-build` leaves `result -> /nix/store/...`; `nix-hash result/` hashes the output
    # (a trailing slash resolves the link), `nix-hash result` the link itself.
    (root / "out").mkdir()
    _file(root / "out" / "file", b"payload\n")
    (root / "result").symlink_to("out")
    return str(root / "result") + "/"  # a str: Path() would drop the slash


def empty_directory(root: Path) -> Path:
    return root


def nested_empty_directories(root: Path) -> Path:
    (root / "a" / "b" / "c").mkdir(parents=True)
    (root / "d").mkdir()
    (root / "a" / "e").mkdir()
    return root


def sizes_0_to_17(root: Path) -> Path:
    for size in range(18):
        _file(root / f"size-{size:02d}", bytes((i * 7 + size) % 256 for i in range(size)))
    return root


def empty_files(root: Path) -> Path:
    _file(root / "empty")
    _file(root / "empty-exec", mode=0o755)
    (root / "sub").mkdir()
    _file(root / "sub" / "empty")
    return root


def executables(root: Path) -> Path:
    _file(root / "u+x", b"a", 0o755)
    _file(root / "only-owner-x", b"b", 0o700)
    _file(root / "owner-rx-only", b"c", 0o500)
    _file(root / "group-other-x", b"d", 0o655)  # not executable for Nix (S_IXUSR only)
    _file(root / "other-x", b"e", 0o601)
    _file(root / "plain", b"f", 0o644)
    _file(root / "read-only", b"g", 0o444)
    return root


def symlinks(root: Path) -> Path:
    (root / "dir").mkdir()
    _file(root / "dir" / "file", b"x")
    (root / "relative").symlink_to("dir/file")
    (root / "up").symlink_to("../outside")
    (root / "absolute").symlink_to("/etc/passwd")
    (root / "dangling").symlink_to("no-such-thing")
    (root / "to-dir").symlink_to("dir")
    (root / "to-dir-slash").symlink_to("dir/")
    (root / "self").symlink_to("self")
    (root / "chain").symlink_to("relative")
    (root / "dir" / "back").symlink_to("..")
    (root / "long").symlink_to("x" * 200)
    (root / "odd target").symlink_to("a b\nc é")
    return root


def odd_names(root: Path) -> Path:
    names = [
        "with space",
        " leading-space",
        "trailing-space ",
        "new\nline",
        "tab\there",
        "é",
        "e\u0301",  # the same letter, decomposed: a different name
        "日本語",
        "emoji-\U0001f600",
        "B",
        "a",
        "Z",
        "_",
        "-dash",
        "#hash",
        "'quote\"",
        "back\\slash",
        "...",
        ".hidden",
        "x" * 255,
    ]
    for index, name in enumerate(names):
        _file(root / name, str(index).encode())
    (root / "dir é").mkdir()
    _file(root / "dir é" / "B", b"1")
    _file(root / "dir é" / "a", b"2")
    return root


def sort_order_bytes_vs_str(root: Path) -> Path:
    # bytes order: "B" < "a" < "é" (c3 a9) < U+10000 (f0..) < b"\xff";
    # fsdecode(b"\xff") is U+DCFF, which a str sort would put before U+10000.
    for name in [b"a", b"B", "é".encode(), "\U00010000".encode(), b"\xff", b"\xfe\x01"]:
        _file(root / os.fsdecode(name), name)
    return root


def deep_tree(root: Path) -> Path:
    path = root
    for depth in range(30):
        path = path / f"level{depth}"
        path.mkdir()
        _file(path / "f", str(depth).encode(), 0o755 if depth % 3 == 0 else 0o644)
    return root


def large_file(root: Path) -> Path:
    # Larger than the read chunk (fetcher.nar.CHUNK), with an odd size so the padding is not
    # zero.
    block = bytes(range(256)) * 4096
    _file(root / "big", block * 3 + b"tail", 0o755)
    return root


def kitchen_sink(root: Path) -> Path:
    for build in (symlinks, executables, sizes_0_to_17, nested_empty_directories):
        sub = root / build.__name__
        sub.mkdir()
        build(sub)
    return root


TREES: dict[str, Callable[[Path], Path | str]] = {
    builder.__name__: builder
    for builder in [
        single_empty_file,
        single_executable_file,
        single_file_of_17_bytes,
        single_symlink,
        single_absolute_symlink,
        single_dangling_symlink,
        symlink_to_directory_with_trailing_slash,
        empty_directory,
        nested_empty_directories,
        sizes_0_to_17,
        empty_files,
        executables,
        symlinks,
        odd_names,
        sort_order_bytes_vs_str,
        deep_tree,
        large_file,
        kitchen_sink,
    ]
}


@pytest.fixture(scope="module")
def trees(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path | str]:
    """Every hand-made tree, built once per module."""
    base = tmp_path_factory.mktemp("nar-trees")
    built = {}
    for name, build in TREES.items():
        root = base / name
        root.mkdir()
        built[name] = build(root)
    return built


@pytest.fixture(scope="module")
def expected(trees: dict[str, Path | str]) -> dict[str, dict[str, str]]:
    return {name: nix_hashes(path) for name, path in trees.items()}


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("tree", list(TREES))
def test_snapproxy_hash_equals_nix(
    tree: str, fmt: str, trees: dict[str, Path | str], expected: dict[str, dict[str, str]]
) -> None:
    assert snapproxy_hash(trees[tree], fmt) == expected[tree][fmt]


@pytest.mark.parametrize("tree", list(TREES))
def test_click_command_equals_nix(
    tree: str, trees: dict[str, Path | str], expected: dict[str, dict[str, str]]
) -> None:
    # The same trees through click: the launcher and click share fetcher.hash_path.
    digest = _run([*CLICK, "hash", str(trees[tree]), "--format", "base16"])
    assert digest == expected[tree]["base16"]


def test_default_format_is_sri(
    trees: dict[str, Path | str], expected: dict[str, dict[str, str]]
) -> None:
    path = trees["symlinks"]
    assert _run([str(SNAPPROXY), "hash", str(path)]) == expected["symlinks"]["sri"]


def test_a_change_anywhere_changes_the_hash(tmp_path: Path) -> None:
    # Guards against a comparison that passes because both sides ignore something.
    variants: list[Callable[[Path], None]] = [
        lambda r: None,
        lambda r: (r / "f").chmod(0o755),
        lambda r: (r / "f").write_bytes(b"y"),
        lambda r: (r / "l").unlink() or (r / "l").symlink_to("g"),
        lambda r: (r / "new").mkdir(),
        lambda r: (r / "f").rename(r / "F"),
    ]
    seen = set()
    for index, change in enumerate(variants):
        root = tmp_path / str(index)
        root.mkdir()
        _file(root / "f", b"x")
        (root / "l").symlink_to("f")
        change(root)
        digest = snapproxy_hash(root, "base16")
        assert digest == nix_hashes(root)["base16"]
        seen.add(digest)
    assert len(seen) == len(variants)


# --- property: random trees ---------------------------------------------------------------


class FileSpec:
    def __init__(self, data: bytes, mode: int) -> None:
        self.data, self.mode = data, mode

    def __repr__(self) -> str:
        return f"File({self.data!r}, {oct(self.mode)})"


class LinkSpec:
    def __init__(self, target: bytes) -> None:
        self.target = target

    def __repr__(self) -> str:
        return f"Link({self.target!r})"


class DirSpec:
    def __init__(self, entries: dict[bytes, Tree]) -> None:
        self.entries = entries

    def __repr__(self) -> str:
        return f"Dir({self.entries!r})"


Tree = FileSpec | LinkSpec | DirSpec


_text_names = st.text(
    alphabet=st.characters(blacklist_characters="/\x00", blacklist_categories=("Cs",)),
    min_size=1,
    max_size=10,
).map(str.encode)
_byte_names = st.binary(min_size=1, max_size=8).filter(lambda b: b"/" not in b and b"\0" not in b)
names = st.one_of(_text_names, _byte_names, st.sampled_from([b"a", b"B", b"\xc3\xa9", b"a b"]))
names = names.filter(lambda b: b not in (b".", b"..") and len(b) <= 255)

files = st.builds(
    FileSpec,
    st.binary(max_size=40),
    st.sampled_from([0o644, 0o755, 0o700, 0o655, 0o600, 0o444]),
)
links = st.builds(
    LinkSpec,
    st.one_of(
        st.binary(min_size=1, max_size=30).filter(lambda b: b"\0" not in b),
        st.sampled_from([b"/", b".", b"..", b"../x", b"/etc/hosts"]),
    ),
)
random_trees = st.recursive(
    st.one_of(files, links),
    lambda children: st.dictionaries(names, children, max_size=5).map(DirSpec),
    max_leaves=20,
)


def write(spec: Tree, path: Path) -> None:
    if isinstance(spec, FileSpec):
        _file(path, spec.data, spec.mode)
    elif isinstance(spec, LinkSpec):
        os.symlink(spec.target, path)
    else:
        path.mkdir()
        for name, child in spec.entries.items():
            write(child, path / os.fsdecode(name))


@settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(random_trees)
def test_random_trees_match_nix_hash(spec: Tree) -> None:
    # In-process (the CLI's own code path, minus its start-up time) against nix-hash.
    with tempfile.TemporaryDirectory(prefix="snapproxy-nar-") as tmp:
        root = Path(tmp) / "root"
        write(spec, root)
        digest = nar_sha256(root)
        base16 = _run(["nix-hash", "--type", "sha256", str(root)])
        nix32 = _run(["nix-hash", "--type", "sha256", "--base32", str(root)])
        assert format_hash(digest, "base16") == base16
        assert format_hash(digest, "nix32") == nix32
