"""The pinned pip unpacked into the cache: made whole or not at all, checked on every use."""

from __future__ import annotations

import base64
import hashlib
import io
import os
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from fetcher.pip_install import (
    MANIFEST,
    installed_pip,
    intact_copy,
    record_digests,
    tree_problems,
)

DIST_INFO = "pip-26.3.dist-info"
SOURCES = {
    "pip/__init__.py": b"",
    # As pip's own: run as `python DIR/pip`, it puts DIR on the path to import itself.
    "pip/__main__.py": b"import os, sys\nsys.path.insert(0, os.path.dirname(os.path.dirname("
    b"__file__)))\nfrom pip._internal import say\nsys.exit(say())\n",
    "pip/_internal/__init__.py": b"def say():\n    print('fake pip')\n    return 0\n",
    f"{DIST_INFO}/METADATA": b"Metadata-Version: 2.1\nName: pip\nVersion: 26.3\n",
}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def make_pip_wheel(sources: dict[str, bytes] = SOURCES, *, record_lies: bool = False) -> bytes:
    """A pip-shaped wheel whose RECORD lists every file (or, with ``record_lies``, a wrong
    hash for one)."""
    lines = [f"{p},sha256={_b64(d + (b'x' if record_lies else b''))},{len(d)}"
             for p, d in sources.items()]
    record = ("\n".join([*lines, f"{DIST_INFO}/RECORD,,"]) + "\n").encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, data in [*sources.items(), (f"{DIST_INFO}/RECORD", record)]:
            archive.writestr(path, data)
    return buffer.getvalue()


@pytest.fixture
def wheel(tmp_path: Path) -> Path:
    path = tmp_path / "pip-26.3-py3-none-any.whl"
    path.write_bytes(make_pip_wheel())
    return path


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


async def _install(wheel: Path, cache: Path, python: str = sys.executable) -> Path | None:
    return await installed_pip(wheel, _sha256(wheel), python, cache, dict(os.environ))


def _tree(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): _sha256(p)
            for p in sorted(root.rglob("*")) if p.is_file() and not p.is_symlink()}


def _sources(root: Path) -> dict[str, str]:
    """The tree but its bytecode, which may differ from one compilation to the next."""
    return {p: d for p, d in _tree(root).items() if p != MANIFEST and not p.endswith(".pyc")}


def _run(copy: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(copy / "pip")], capture_output=True, text=True,
                          check=False)


async def test_the_copy_runs_as_pip_from_its_own_bytecode(wheel: Path, tmp_path: Path) -> None:
    copy = await _install(wheel, tmp_path / "cache")
    assert copy is not None
    assert copy.name == wheel.name  # `python COPY/pip` as `python WHEEL/pip` before
    assert copy.parent.parent == tmp_path / "cache" / "pip"
    assert _sha256(wheel) in copy.parent.name  # another wheel's bytes never get this copy
    result = _run(copy)
    tag = sys.implementation.cache_tag
    pyc = copy / "pip" / "_internal" / "__pycache__" / f"__init__.{tag}.pyc"
    assert str(copy).encode() in pyc.read_bytes()  # tracebacks name the copy's own files
    assert (result.returncode, result.stdout) == (0, "fake pip\n"), result.stderr
    assert [p.name for p in copy.parent.parent.iterdir()] == [copy.parent.name]  # no scratch


async def test_an_intact_copy_is_used_again_as_it_is(wheel: Path, tmp_path: Path) -> None:
    first = await _install(wheel, tmp_path / "cache")
    assert first is not None
    inode, tree = first.stat().st_ino, _tree(first)
    again = await _install(wheel, tmp_path / "cache")
    assert again == first
    assert (again.stat().st_ino, _tree(again)) == (inode, tree)


def _pyc(copy: Path) -> Path:
    return next((copy / "pip" / "_internal" / "__pycache__").glob("*.pyc"))


def _change_source(copy: Path) -> None:
    (copy / "pip" / "_internal" / "__init__.py").write_text(
        "def say():\n    print('tampered')\n    return 3\n")


def _change_bytecode(copy: Path) -> None:
    # Bytecode of other code under the same name: unchecked-hash bytecode is run as it is.
    source = copy / "elsewhere.py"
    source.write_text("def say():\n    print('tampered')\n    return 3\n")
    compiled = subprocess.run(
        [sys.executable, "-c", "import py_compile, sys; print(py_compile.compile(sys.argv[1],"
         " invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH))", str(source)],
        capture_output=True, text=True, check=True).stdout.strip()
    _pyc(copy).write_bytes(Path(compiled).read_bytes())
    source.unlink()
    Path(compiled).unlink()


def _add_module(copy: Path) -> None:
    (copy / "pip" / "_internal" / "extra.py").write_text("print('tampered')\n")


def _add_bytecode(copy: Path) -> None:
    (_pyc(copy).parent / "extra.cpython-99.pyc").write_bytes(_pyc(copy).read_bytes())


def _remove_file(copy: Path) -> None:
    (copy / "pip" / "__init__.py").unlink()


def _symlink(copy: Path) -> None:
    # The same bytes for now, but outside the copy: whoever can write there changes pip.
    target = copy / "pip" / "_internal" / "__init__.py"
    outside = copy.parent.parent.parent / "outside.py"
    os.replace(target, outside)
    target.symlink_to(outside)


def _no_manifest(copy: Path) -> None:
    # What a copy written in place and cut short would look like.
    (copy.parent / MANIFEST).unlink()


def _manifest_vouches_for_source(copy: Path) -> None:
    _change_source(copy)
    path = "pip/_internal/__init__.py"
    digest = _sha256(copy / path)
    (copy.parent / MANIFEST).write_text(f'{{"{copy.name}/{path}": "{digest}"}}')


@pytest.mark.parametrize(
    "tamper",
    [_change_source, _change_bytecode, _add_module, _add_bytecode, _remove_file, _symlink,
     _no_manifest, _manifest_vouches_for_source],
)
async def test_a_changed_copy_is_made_again(
    wheel: Path, tmp_path: Path, tamper: Callable[[Path], None]
) -> None:
    first = await _install(wheel, tmp_path / "cache")
    assert first is not None
    pristine, names = _sources(first), set(_tree(first))
    tamper(first)
    again = await _install(wheel, tmp_path / "cache")
    assert again == first
    assert _sources(again) == pristine
    assert set(_tree(again)) == names  # nothing added, nothing replaced by a link
    assert not [p for p in again.rglob("*") if p.is_symlink()]
    # the bytecode too is pip's again (a tampered one would print "tampered" and exit 3)
    result = _run(again)
    assert (result.returncode, result.stdout) == (0, "fake pip\n"), result.stderr
    # nothing set aside is left
    assert [p.name for p in again.parent.parent.iterdir()] == [again.parent.name]


async def test_intact_copy_finds_only_an_intact_copy(wheel: Path, tmp_path: Path) -> None:
    # What fetch asks first: an intact copy is run, otherwise the wheel (while one is made).
    cache = tmp_path / "cache"
    assert intact_copy(wheel, _sha256(wheel), sys.executable, cache) is None
    copy = await _install(wheel, cache)
    assert intact_copy(wheel, _sha256(wheel), sys.executable, cache) == copy
    assert intact_copy(wheel, _sha256(wheel), "/other/python", cache) is None
    _change_source(copy)
    assert intact_copy(wheel, _sha256(wheel), sys.executable, cache) is None


async def test_a_half_built_copy_is_never_used(wheel: Path, tmp_path: Path) -> None:
    # A fetch killed while building leaves its scratch directory; it is not the copy.
    half = tmp_path / "cache" / "pip" / ".building-x"
    (half / wheel.name / "pip").mkdir(parents=True)
    copy = await _install(wheel, tmp_path / "cache")
    assert copy is not None and half not in copy.parents
    assert _run(copy).stdout == "fake pip\n"


async def test_a_wheel_unlike_its_record_gives_no_copy(tmp_path: Path) -> None:
    wheel = tmp_path / "pip-26.3-py3-none-any.whl"
    wheel.write_bytes(make_pip_wheel(record_lies=True))
    assert await _install(wheel, tmp_path / "cache") is None
    assert not [p for p in (tmp_path / "cache" / "pip").iterdir()]


async def test_without_the_interpreter_there_is_no_copy(wheel: Path, tmp_path: Path) -> None:
    # The caller then runs the wheel file, which fails as it always did.
    assert await _install(wheel, tmp_path / "cache", str(tmp_path / "no-python")) is None
    assert not [p for p in (tmp_path / "cache" / "pip").iterdir()]


def test_record_digests_reads_the_wheels_own_record(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        digests = record_digests(archive)
        record = archive.read(f"{DIST_INFO}/RECORD")
    assert digests == {
        **{p: hashlib.sha256(d).hexdigest() for p, d in SOURCES.items()},
        f"{DIST_INFO}/RECORD": hashlib.sha256(record).hexdigest(),
    }


def test_tree_problems() -> None:
    wheel_files = {"pip/a.py": "1", "pip/b.py": "2"}
    bytecode = {"pip/__pycache__/a.pyc": "3"}
    assert tree_problems({**wheel_files, **bytecode}, wheel_files, bytecode) == []
    found = {"pip/a.py": "9", "pip/__pycache__/a.pyc": "3", "pip/c.py": "4"}
    assert tree_problems(found, wheel_files, bytecode) == [
        "changed pip/a.py", "unexpected pip/c.py", "missing pip/b.py"]
