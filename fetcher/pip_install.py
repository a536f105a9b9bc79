"""The pinned pip unpacked once into the cache, with bytecode, and checked on every use.

Run from its wheel file, pip is imported through zipimport, which can neither keep
bytecode nor skip decompression: every run compiles pip again, about 0.6 s of each pip
run.  Unpacked and compiled once, the same pip starts in a third of that time.

The unpacked copy is trusted no more than the wheel it came from:

* its directory is named after the wheel's sha256 (the bytes the snapshot checked against
  the index), the interpreter that compiled it, and is made under a temporary name and
  renamed into place whole, so a half-written copy is never used;
* before each use every file is hashed: each file the wheel has must match the wheel's
  own ``RECORD`` (read from the checked wheel, not from the copy), each bytecode file must
  match the manifest written when it was compiled, and nothing else may be there.  A copy
  that fails is replaced.

Bytecode cannot be checked against the wheel (the wheel has none); the manifest catches a
corrupted or changed ``.pyc``, but whoever can rewrite both a ``.pyc`` and the manifest in
the user's cache could also rewrite that user's own tools.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import shutil
import tempfile
import zipfile
from collections.abc import Mapping
from pathlib import Path

from fetcher.pip_runner import PipFailed, run_pip

__all__ = ["MANIFEST", "installed_pip", "intact_copy", "record_digests", "tree_problems"]

MANIFEST = ".snapproxy-bytecode.json"
_CHUNK = 1024 * 1024
# compileall at the lowest priority: the copy is for later runs, and the pip of this run
# (and the proxy it talks to) must not wait for a core while it is being made.
_NICE_COMPILEALL = (
    "import os, runpy, sys; os.nice(19); sys.argv[0] = 'compileall'; "
    "runpy.run_module('compileall', run_name='__main__', alter_sys=True)"
)


def record_digests(wheel: zipfile.ZipFile) -> dict[str, str]:
    """``path -> sha256 hex`` of every file of a wheel, from its ``RECORD``.

    ``RECORD`` lists itself without a hash; its digest is taken from its own bytes.
    """
    record_name = next(
        (n for n in wheel.namelist() if n.count("/") == 1 and n.endswith(".dist-info/RECORD")),
        None,
    )
    if record_name is None:
        raise ValueError("the wheel has no RECORD")
    record = wheel.read(record_name)
    digests = {record_name: hashlib.sha256(record).hexdigest()}
    for line in record.decode("utf-8").splitlines():
        path, _, rest = line.partition(",")
        digest = rest.partition(",")[0]
        if path == record_name or not path:
            continue
        algorithm, _, value = digest.partition("=")
        if algorithm != "sha256":
            raise ValueError(f"RECORD has no sha256 for {path}")
        digests[path] = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).hex()
    return digests


def tree_problems(
    found: Mapping[str, str], wheel_files: Mapping[str, str], bytecode: Mapping[str, str]
) -> list[str]:
    """Why a tree of ``found`` files (``path -> sha256``) is not the wheel plus its
    compiled ``bytecode``; empty when it is exactly that.  The wheel's digest wins over the
    manifest's: the manifest (in the copy) can vouch for no file the wheel has."""
    problems = []
    for path, digest in found.items():
        want = wheel_files.get(path, bytecode.get(path))
        if want is None:
            problems.append(f"unexpected {path}")
        elif want != digest:
            problems.append(f"changed {path}")
    problems += [f"missing {p}" for p in [*wheel_files, *bytecode] if p not in found]
    return problems


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _tree_digests(root: Path) -> dict[str, str] | None:
    """``relative path -> sha256`` of every file under ``root`` but the manifest; None
    when anything there is not a regular file or directory (a link could point anywhere)."""
    found = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in [*dirnames, *filenames]:
            path = Path(dirpath) / name
            if path.is_symlink():
                return None
        for name in filenames:
            path = Path(dirpath) / name
            if not path.is_file():
                return None
            found[path.relative_to(root).as_posix()] = _sha256(path)
    found.pop(MANIFEST, None)
    return found


def _verified(root: Path, wheel_files: Mapping[str, str]) -> bool:
    try:
        bytecode = json.loads((root / MANIFEST).read_text(encoding="utf-8"))
        found = _tree_digests(root)
    except (OSError, ValueError):
        return False
    if not isinstance(bytecode, dict) or found is None:
        return False
    return not tree_problems(found, wheel_files, bytecode)


def _unpack(wheel: zipfile.ZipFile, wheel_files: Mapping[str, str], dest: Path) -> None:
    names = [n for n in wheel.namelist() if not n.endswith("/")]
    if sorted(names) != sorted(wheel_files):
        raise ValueError("the wheel's files are not those its RECORD lists")
    for name in names:
        target = dest / name
        # RECORD paths are relative and stay inside the tree; anything else is refused.
        if name.startswith("/") or ".." in name.split("/"):
            raise ValueError(f"unsafe path in the wheel: {name}")
        target.parent.mkdir(parents=True, exist_ok=True)
        data = wheel.read(name)
        if hashlib.sha256(data).hexdigest() != wheel_files[name]:
            raise ValueError(f"{name} does not match the wheel's RECORD")
        target.write_bytes(data)


def _remove(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


def _place(wheel: Path, sha256: str, python: str, cache_dir: Path) -> Path:
    # The interpreter is part of the name: its bytecode is what the manifest records.
    interpreter = hashlib.sha256(python.encode()).hexdigest()[:16]
    return cache_dir / "pip" / f"{wheel.name[: -len('.whl')]}-{sha256}-{interpreter}"


def intact_copy(wheel: Path, sha256: str, python: str, cache_dir: Path) -> Path | None:
    """The copy :func:`installed_pip` made, if it is there and intact; never makes one."""
    final = _place(wheel, sha256, python, cache_dir)
    try:
        with zipfile.ZipFile(wheel) as archive:
            expected = {f"{wheel.name}/{p}": d for p, d in record_digests(archive).items()}
    except (OSError, ValueError, zipfile.BadZipFile):
        return None
    return final / wheel.name if _verified(final, expected) else None


async def installed_pip(
    wheel: Path, sha256: str, python: str, cache_dir: Path, env: Mapping[str, str]
) -> Path | None:
    """A checked unpacked copy of ``wheel`` (whose sha256 the index vouched for) with
    bytecode for ``python``, made under ``cache_dir`` when missing or not intact; None when
    none can be made, and the caller runs the wheel file as before.

    The copy is a directory named as the wheel file (``python COPY/pip`` runs it as
    ``python WHEEL/pip`` runs the wheel), alone in a directory of its own with the
    manifest: that one is what is renamed into place and checked.
    """
    final = _place(wheel, sha256, python, cache_dir)
    root = final.parent
    try:
        with zipfile.ZipFile(wheel) as archive:
            wheel_files = record_digests(archive)
            expected = {f"{wheel.name}/{path}": d for path, d in wheel_files.items()}
            if _verified(final, expected):
                return final / wheel.name
            root.mkdir(parents=True, exist_ok=True)
            building = Path(tempfile.mkdtemp(dir=root, prefix=".building-"))
            try:
                _unpack(archive, wheel_files, building / wheel.name)
                await _compile(python, building, wheel.name, final, env)
                placed = _put_in_place(building, final, expected)
            finally:
                _remove(building)
    except (OSError, ValueError, zipfile.BadZipFile, PipFailed):
        return None
    return placed / wheel.name if placed else None


async def _compile(
    python: str, building: Path, name: str, final: Path, env: Mapping[str, str]
) -> None:
    # unchecked-hash: no check against the source's mtime at import (the copy is checked
    # as a whole before each use), and no dependence on the mtimes the unpacking left.
    # -d: tracebacks name the files where they will be, not the scratch directory.
    await run_pip(
        [python, "-I", "-c", _NICE_COMPILEALL, "-q", "--invalidation-mode", "unchecked-hash",
         "-d", str(final / name), str(building / name)],
        env,
        cwd=building,
    )
    found = _tree_digests(building)
    if found is None:
        raise ValueError("compiling left something that is not a file")
    bytecode = {p: d for p, d in found.items() if p.endswith(".pyc") and "/__pycache__/" in p}
    (building / MANIFEST).write_text(json.dumps(bytecode, sort_keys=True), encoding="utf-8")


def _put_in_place(building: Path, final: Path, wheel_files: Mapping[str, str]) -> Path | None:
    """Rename the finished copy to ``final``; a damaged copy there is moved aside first,
    and a sound one another fetch put there meanwhile is used instead of ours."""
    if final.exists():
        aside = Path(tempfile.mkdtemp(dir=final.parent, prefix=".damaged-"))
        with contextlib.suppress(OSError):
            final.rename(aside / "copy")
        _remove(aside)
    try:
        building.rename(final)
    except OSError:
        # Another fetch renamed its copy first.
        return final if _verified(final, wheel_files) else None
    return final
