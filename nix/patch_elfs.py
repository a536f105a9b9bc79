"""Patch the ELF files of a freshly installed environment so that they load on NixOS.

The shell around ``elf_runpath``: walks the environment, reads each ELF file's NEEDED list
and RUNPATH with ``patchelf``, and writes the RUNPATH (and an executable's interpreter)
that ``elf_runpath`` decides. Standard library only: it runs inside the Nix builder.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator, Sequence
from pathlib import Path

from elf_runpath import (
    ElfHeader,
    header_size,
    missing_message,
    parse_header,
    plan_runpath,
    search_dirs,
)

__all__ = ["patch_environment"]


def _fail(message: str) -> SystemExit:
    return SystemExit(f"pythonEnvFromWheelhouse: {message}")


def read_header(path: Path) -> ElfHeader | None:
    with open(path, "rb") as file:
        start = file.read(64)
        size = header_size(start)
        if size == 0:
            return None
        file.seek(0)
        return parse_header(file.read(size))


def _regular_files(root: Path) -> Iterator[Path]:
    # Symlinks are not followed: the venv's bin/python points at the interpreter itself.
    for directory, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            path = Path(directory, name)
            if not path.is_symlink() and path.is_file():
                yield path


def _declared_libraries(directory: str) -> dict[str, ElfHeader]:
    if not os.path.isdir(directory):
        raise _fail(
            f"the `libraries` entry {directory} is not a directory "
            f"(give derivations with a lib/ directory, or absolute directory paths)"
        )
    found = {}
    for name in sorted(os.listdir(directory)):
        path = Path(directory, name)
        if ".so" in name and path.is_file():  # is_file follows the usual version links
            header = read_header(path)
            if header is not None:
                found[name] = header
    return found


class _Patchelf:
    def __init__(self, executable: str, root: Path) -> None:
        self.executable, self.root = executable, root

    def __call__(self, *args: str | Path) -> str:
        command = [self.executable, *map(str, args)]
        try:
            done = subprocess.run(command, capture_output=True, text=True, check=False)
        except OSError as exc:
            raise _fail(f"cannot run `patchelf` {self.executable}: {exc.strerror}") from None
        if done.returncode != 0:
            shown = os.path.relpath(args[-1], self.root)
            raise _fail(f"patchelf {args[0]} failed on {shown}: {done.stderr.strip()}")
        return done.stdout


def patch_environment(
    root: Path,
    python: str,
    patchelf: str,
    libraries: Sequence[str],
    ignore_missing: Sequence[str],
) -> None:
    """Give every ELF file under ``root`` a RUNPATH that needs nothing from the host."""
    target = read_header(Path(os.path.realpath(python)))
    if target is None:
        raise _fail(f"the interpreter {python} is not an ELF executable")
    elfs: dict[Path, ElfHeader] = {}
    inside: dict[str, dict[str, ElfHeader]] = {}
    for path in _regular_files(root):
        header = read_header(path)
        if header is None:
            continue
        inside.setdefault(str(path.parent), {})[path.name] = header
        # Only what can run in the target's process needs loading; static files need none.
        if header.dynamic and header.abi == target.abi:
            elfs[path] = header
    if not elfs:
        return
    if not patchelf:
        first = next(iter(elfs)).relative_to(root)
        raise _fail(
            f"{first} is native code and no `patchelf` is given: pass `patchelf` "
            f"(pkgs.patchelf, or the path of a patchelf executable)"
        )
    run = _Patchelf(patchelf, root)
    found = dict(inside)
    for directory in libraries:
        found[directory] = _declared_libraries(directory)
    interpreter = ""  # the target's loader, read when an executable needs it

    missing: dict[str, list[str]] = {}
    for path, header in elfs.items():
        needed = run("--print-needed", path).split()
        old = run("--print-rpath", path).strip()
        dirs = search_dirs(str(path), old.split(":") if old else [], inside, libraries, str(root))
        plan = plan_runpath(str(path), header, needed, dirs, found, str(root))
        for soname in plan.missing:
            if soname not in ignore_missing:
                missing.setdefault(soname, []).append(str(path.relative_to(root)))
        new = ":".join(plan.runpath)
        if new != old:
            if new:
                run("--set-rpath", new, path)
            else:
                run("--remove-rpath", path)
        if header.interpreter:
            # An executable is started by the loader that runs the interpreter.
            interpreter = interpreter or run("--print-interpreter", os.path.realpath(python))
            if run("--print-interpreter", path) != interpreter:
                run("--set-interpreter", interpreter.strip(), path)
    if missing:
        lines = [missing_message(soname, files) for soname, files in sorted(missing.items())]
        raise SystemExit("\n".join(lines))
