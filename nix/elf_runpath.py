"""Where each ELF file of a Python environment finds its libraries: the RUNPATH to give it.

The pure half of pythonEnvFromWheelhouse's patching (the shell is ``patch_elfs.py``), in the
manner of nixpkgs' autoPatchelfHook. manylinux wheels may take libstdc++, libgcc_s, libz
and others from the host's /usr/lib, which NixOS has not; so every NEEDED library must
resolve from a directory inside the environment (libraries bundled in a wheel's
``<pkg>.libs/``) or from a declared library directory, and never from the host's default
directories. glibc's own libraries are left to the dynamic loader, which brings them with
the interpreter.

Standard library only: this runs inside the Nix builder with the target Python.
"""

from __future__ import annotations

import posixpath
import re
import struct
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

__all__ = [
    "ElfHeader",
    "Plan",
    "is_glibc",
    "missing_message",
    "parse_header",
    "plan_runpath",
    "search_dirs",
]

# The libraries of glibc itself: the loader that runs the interpreter finds them (on NixOS
# in glibc's store path, which is that loader's default directory), and an extension must
# take the same ones as the interpreter.
_GLIBC = frozenset(
    {
        "libc.so.6",
        "libm.so.6",
        "libmvec.so.1",
        "libpthread.so.0",
        "libdl.so.2",
        "librt.so.1",
        "libutil.so.1",
        "libresolv.so.2",
        "libanl.so.1",
    }
)
_LOADER = re.compile(r"ld-linux[-.\w]*\.so\.\d+|ld64\.so\.\d+|ld\.so\.\d+")

_PT_DYNAMIC = 2
_PT_INTERP = 3


def is_glibc(soname: str) -> bool:
    return soname in _GLIBC or _LOADER.fullmatch(soname) is not None


@dataclass(frozen=True)
class ElfHeader:
    """What decides whether an ELF file is patched and which libraries it can load."""

    bits: int  # 32 or 64
    little_endian: bool
    machine: int  # e_machine
    dynamic: bool  # has a dynamic segment: it loads libraries
    interpreter: bool  # has PT_INTERP: an executable started through a loader

    @property
    def abi(self) -> tuple[int, bool, int]:
        """A library can serve a file only when this matches."""
        return (self.bits, self.little_endian, self.machine)


def header_size(start: bytes) -> int:
    """How many leading bytes ``parse_header`` needs, from the file's first 64 bytes."""
    layout = _layout(start)
    if layout is None:
        return 0
    _, phoff, phentsize, phnum = layout
    return phoff + phentsize * phnum


def _layout(start: bytes) -> tuple[str, int, int, int] | None:
    """(struct byte order, e_phoff, e_phentsize, e_phnum), or None for a non-ELF file."""
    if len(start) < 52 or start[:4] != b"\x7fELF" or start[4] not in (1, 2):
        return None
    order = "<" if start[5] == 1 else ">"
    if start[4] == 2:
        if len(start) < 64:
            return None
        (phoff,) = struct.unpack_from(order + "Q", start, 0x20)
        phentsize, phnum = struct.unpack_from(order + "HH", start, 0x36)
    else:
        (phoff,) = struct.unpack_from(order + "I", start, 0x1C)
        phentsize, phnum = struct.unpack_from(order + "HH", start, 0x2A)
    return order, phoff, phentsize, phnum


def parse_header(data: bytes) -> ElfHeader | None:
    """The header of an ELF file from its first ``header_size`` bytes; None if not ELF."""
    layout = _layout(data)
    if layout is None:
        return None
    order, phoff, phentsize, phnum = layout
    (machine,) = struct.unpack_from(order + "H", data, 0x12)
    types = set()
    for index in range(phnum):
        offset = phoff + index * phentsize
        if offset + max(phentsize, 4) > len(data):
            return None  # truncated: not a file the loader could use either
        (p_type,) = struct.unpack_from(order + "I", data, offset)
        types.add(p_type)
    return ElfHeader(
        bits=64 if data[4] == 2 else 32,
        little_endian=order == "<",
        machine=machine,
        dynamic=_PT_DYNAMIC in types,
        interpreter=_PT_INTERP in types,
    )


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


def _entry(directory: str, origin: str, root: str) -> str:
    """A directory as RUNPATH writes it: relative to $ORIGIN inside the environment."""
    if not _inside(directory, root):
        return directory
    relative = posixpath.relpath(directory, origin)
    return "$ORIGIN" if relative == "." else f"$ORIGIN/{relative}"


def search_dirs(
    file: str,
    old_runpath: Sequence[str],
    env_dirs: Iterable[str],
    declared: Sequence[str],
    root: str,
) -> list[str]:
    """The directories ``file`` may take its libraries from, in the order they are tried.

    First the file's own RUNPATH entries that lie inside the environment (auditwheel's
    ``$ORIGIN/../<pkg>.libs``: the wheel's own choice), then every directory of the
    environment holding ELF files, then the declared ones. Entries outside the environment
    (a host's /usr/lib, a build machine's path) are dropped: that is what keeps the host
    out.
    """
    origin = posixpath.dirname(file)
    own = []
    for entry in old_runpath:
        expanded = posixpath.normpath(
            entry.replace("${ORIGIN}", origin).replace("$ORIGIN", origin)
        )
        if _inside(expanded, root):
            own.append(expanded)
    ordered = [*own, origin, *sorted(env_dirs), *declared]
    return list(dict.fromkeys(ordered))


@dataclass(frozen=True)
class Plan:
    runpath: tuple[str, ...]  # as written into the file ($ORIGIN-relative inside the env)
    missing: tuple[str, ...]  # NEEDED libraries found in no directory


def plan_runpath(
    file: str,
    header: ElfHeader,
    needed: Sequence[str],
    dirs: Sequence[str],
    libraries: Mapping[str, Mapping[str, ElfHeader]],
    root: str,
) -> Plan:
    """The RUNPATH that lets ``file`` load each of ``needed`` from ``dirs``.

    ``libraries`` maps a directory to the ELF files it holds (name -> header); a library
    serves the file only when its class, byte order and machine match. Each NEEDED name
    takes the first directory that has it; the RUNPATH lists the directories used, in the
    order first used, so it depends only on the inputs.
    """
    used: dict[str, None] = {}
    missing = []
    for soname in needed:
        if is_glibc(soname) or "/" in soname:
            continue  # glibc comes with the interpreter; a path is opened as it is
        for directory in dirs:
            found = libraries.get(directory, {}).get(soname)
            if found is not None and found.abi == header.abi:
                used.setdefault(_entry(directory, posixpath.dirname(file), root))
                break
        else:
            missing.append(soname)
    return Plan(tuple(used), tuple(missing))


def missing_message(soname: str, files: Sequence[str]) -> str:
    """One line: which library is missing, which file needs it, and where to add it."""
    others = len(files) - 1
    needer = files[0] + (f" (and {others} more file{'s' if others > 1 else ''})" if others else "")
    return (
        f"pythonEnvFromWheelhouse: {needer} needs {soname}, found neither in the environment "
        f"nor in `libraries`: add a derivation or directory that has it to `libraries`, "
        f"or name it in `ignoreMissingLibraries`"
    )
