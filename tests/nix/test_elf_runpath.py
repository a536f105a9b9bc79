"""nix/elf_runpath.py: the pure decisions behind pythonEnvFromWheelhouse's ELF patching.

The module ships in nix/ (it runs in the Nix builder with only the standard library), so
it is loaded from its file. No Nix is needed to run these tests.
"""

from __future__ import annotations

import importlib.util
import os
import struct
import sys
import sysconfig
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import given
from hypothesis import strategies as st

REPO = Path(__file__).resolve().parents[2]


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("elf_runpath", REPO / "nix" / "elf_runpath.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["elf_runpath"] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


er = _load()
ROOT = "/nix/store/abc-env"
SITE = f"{ROOT}/lib/python3.11/site-packages"
X86_64 = er.ElfHeader(bits=64, little_endian=True, machine=62, dynamic=True, interpreter=False)
I386 = er.ElfHeader(bits=32, little_endian=True, machine=3, dynamic=True, interpreter=False)


def read_header(path: str) -> object:
    with open(path, "rb") as file:
        start = file.read(64)
        file.seek(0)
        return er.parse_header(file.read(er.header_size(start)))


def test_the_interpreter_is_a_dynamic_executable_with_a_loader() -> None:
    header = read_header(os.path.realpath(sys.executable))
    assert header == er.ElfHeader(
        bits=64 if sys.maxsize > 2**32 else 32,
        little_endian=sys.byteorder == "little",
        machine=header.machine,  # type: ignore[attr-defined]
        dynamic=True,
        interpreter=True,
    )


def test_an_extension_module_is_dynamic_without_a_loader() -> None:
    import _ssl  # an extension module of the standard library, built as a shared object

    assert _ssl.__file__.endswith(sysconfig.get_config_var("EXT_SUFFIX"))
    header = read_header(_ssl.__file__)
    assert header.dynamic and not header.interpreter  # type: ignore[attr-defined]


def _elf32_big_endian(phdr_types: list[int]) -> bytes:
    """A 32-bit big-endian ELF header (PowerPC) with program headers of the given types."""
    ident = b"\x7fELF" + bytes([1, 2, 1]) + bytes(9)
    header = ident + struct.pack(">HHIIIIIHHHHHH", 3, 20, 1, 0, 52, 0, 0, 52, 32,
                                 len(phdr_types), 40, 0, 0)
    return header + b"".join(struct.pack(">I", t) + bytes(28) for t in phdr_types)


def test_a_32_bit_big_endian_header_is_read_field_by_field() -> None:
    data = _elf32_big_endian([1, 3, 2])
    assert er.header_size(data[:64]) == len(data)
    assert er.parse_header(data) == er.ElfHeader(
        bits=32, little_endian=False, machine=20, dynamic=True, interpreter=True
    )
    static = er.parse_header(_elf32_big_endian([1]))
    assert static is not None and not static.dynamic


@pytest.mark.parametrize(
    "data", [b"", b"#!/bin/sh\n" + bytes(60), b"\x7fELF" + bytes(60), _elf32_big_endian([2])[:70]]
)
def test_what_is_no_complete_elf_header_is_none(data: bytes) -> None:
    assert er.parse_header(data) is None


@pytest.mark.parametrize(
    ("soname", "glibc"),
    [
        ("libc.so.6", True),
        ("libm.so.6", True),
        ("libpthread.so.0", True),
        ("libdl.so.2", True),
        ("librt.so.1", True),
        ("libutil.so.1", True),
        ("ld-linux-x86-64.so.2", True),
        ("ld-linux-aarch64.so.1", True),
        ("ld64.so.2", True),
        ("libstdc++.so.6", False),
        ("libgcc_s.so.1", False),
        ("libz.so.1", False),
        ("libcrypt.so.1", False),  # libxcrypt, no longer glibc's
        ("libc.so.6.evil", False),
    ],
)
def test_glibc_libraries_are_known_by_name(soname: str, glibc: bool) -> None:
    assert er.is_glibc(soname) is glibc


def test_search_order_is_own_runpath_then_environment_then_declared_never_the_host() -> None:
    file = f"{SITE}/zmq/backend/cython/socket.so"
    dirs = er.search_dirs(
        file,
        ["$ORIGIN/../../../pyzmq.libs", "/usr/lib/x86_64-linux-gnu", "${ORIGIN}", "/opt/x"],
        [f"{SITE}/zmq", f"{SITE}/pyzmq.libs", f"{SITE}/aaa"],
        ["/nix/store/gcc-lib/lib"],
        ROOT,
    )
    assert dirs == [
        f"{SITE}/pyzmq.libs",
        f"{SITE}/zmq/backend/cython",
        f"{SITE}/aaa",
        f"{SITE}/zmq",
        "/nix/store/gcc-lib/lib",
    ]


def test_a_runpath_entry_that_climbs_out_of_the_environment_is_dropped() -> None:
    file = f"{ROOT}/lib/x.so"
    assert er.search_dirs(file, ["$ORIGIN/../../../../usr/lib"], [], [], ROOT) == [f"{ROOT}/lib"]
    # A sibling whose name starts like the root is not inside it.
    assert er.search_dirs(file, [f"{ROOT}-other/lib"], [], [], ROOT) == [f"{ROOT}/lib"]


def test_each_library_takes_the_first_directory_that_has_it_for_the_same_machine() -> None:
    file = f"{SITE}/zmq/backend/cython/socket.so"
    libs = {
        f"{SITE}/pyzmq.libs": {"libzmq-1a.so.5": X86_64, "libstdc++.so.6": I386},
        "/nix/store/gcc-lib/lib": {"libstdc++.so.6": X86_64, "libgcc_s.so.1": X86_64},
        "/nix/store/other/lib": {"libgcc_s.so.1": X86_64},
    }
    plan = er.plan_runpath(
        file,
        X86_64,
        ["libc.so.6", "libstdc++.so.6", "libzmq-1a.so.5", "libgcc_s.so.1", "ld-linux-x86-64.so.2",
         "/abs/libfoo.so", "libm.so.6"],
        [f"{SITE}/pyzmq.libs", "/nix/store/gcc-lib/lib", "/nix/store/other/lib"],
        libs,
        ROOT,
    )
    assert plan == er.Plan(("/nix/store/gcc-lib/lib", "$ORIGIN/../../../pyzmq.libs"), ())


def test_a_library_in_the_file_s_own_directory_is_origin() -> None:
    file = f"{SITE}/pkg/ext.so"
    plan = er.plan_runpath(file, X86_64, ["libhelper.so"], [f"{SITE}/pkg"],
                           {f"{SITE}/pkg": {"libhelper.so": X86_64}}, ROOT)
    assert plan.runpath == ("$ORIGIN",)


def test_libraries_found_nowhere_are_missing_in_needed_order() -> None:
    plan = er.plan_runpath(f"{SITE}/ext.so", X86_64, ["libz.so.1", "libc.so.6", "libGL.so.1"],
                           [], {}, ROOT)
    assert plan == er.Plan((), ("libz.so.1", "libGL.so.1"))


@pytest.mark.parametrize(
    ("files", "needer"),
    [
        (["lib/a.so"], "lib/a.so"),
        (["lib/a.so", "lib/b.so"], "lib/a.so (and 1 more file)"),
        (["lib/a.so", "lib/b.so", "bin/c"], "lib/a.so (and 2 more files)"),
    ],
)
def test_the_missing_message_names_file_library_and_argument(files: list[str], needer: str) -> None:
    assert er.missing_message("libstdc++.so.6", files) == (
        f"pythonEnvFromWheelhouse: {needer} needs libstdc++.so.6, found neither in the "
        f"environment nor in `libraries`: add a derivation or directory that has it to "
        f"`libraries`, or name it in `ignoreMissingLibraries`"
    )


_dirs = st.sampled_from(
    [f"{SITE}/a.libs", f"{SITE}/b", "/usr/lib/x86_64-linux-gnu", "/lib64", "/nix/store/z/lib"]
)
_names = st.sampled_from(["libc.so.6", "libstdc++.so.6", "libz.so.1", "liba-1.so", "libb.so.2"])


@given(
    old=st.lists(_dirs, max_size=4),
    env=st.lists(_dirs, max_size=4),
    declared=st.lists(st.sampled_from(["/nix/store/z/lib", "/nix/store/y/lib"]), max_size=2),
    needed=st.lists(_names, max_size=5),
    holdings=st.dictionaries(_dirs, st.lists(_names, max_size=5), max_size=5),
)
def test_a_runpath_names_only_the_environment_and_declared_directories(
    old: list[str], env: list[str], declared: list[str], needed: list[str],
    holdings: dict[str, list[str]],
) -> None:
    env_dirs = [d for d in env if d.startswith(ROOT)]
    file = f"{SITE}/b/ext.so"
    dirs = er.search_dirs(file, old, env_dirs, declared, ROOT)
    libs = {d: dict.fromkeys(names, X86_64) for d, names in holdings.items()}
    plan = er.plan_runpath(file, X86_64, needed, dirs, libs, ROOT)
    for entry in plan.runpath:
        assert entry.startswith("$ORIGIN") or entry in declared
    resolved = {n for n in needed if not er.is_glibc(n)} - set(plan.missing)
    assert all(any(n in libs.get(d, {}) for d in dirs) for n in resolved)
