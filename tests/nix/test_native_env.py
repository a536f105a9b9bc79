"""pythonEnvFromWheelhouse on a host without /usr/lib's C++ runtime, as NixOS is.

A C++ extension wheel is built here with g++, the way manylinux wheels are: it needs
libstdc++.so.6 and libgcc_s.so.1 from the system, bundles one library of its own in
``cxxmod.libs/`` (RUNPATH ``$ORIGIN/cxxmod.libs``, as auditwheel writes it), carries a
RUNPATH into the host's library directory, and ships an executable whose interpreter does
not exist. The environments run in a mount namespace where the host's libstdc++ and
libgcc_s are absent (``nixos_like``).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import stat
import subprocess
import zipfile
from pathlib import Path

import pytest

from tests.nix.nixos_like import host_library, require_namespaces, run_without_host_libraries
from tests.support.clients import base_python, clean_client_env, require_network, require_nix
from tests.support.nixbuild import (
    REPO,
    nix_build,
    nix_string,
    require_tool,
    run_nix,
    tool_args,
)

PYTHON = base_python("3.11")
SITE = "lib/python3.11/site-packages"
HELPER = "libcxxhelper-5f3a9c.so"
GREETING = "hello from c++"

HELPER_CPP = """
#include <string>
std::string cxxhelper_greeting() { return std::string("hello from ") + "c++"; }
"""
MODULE_CPP = """
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdexcept>
#include <string>
std::string cxxhelper_greeting();
static PyObject* greet(PyObject*, PyObject*) {
    try { throw std::runtime_error(cxxhelper_greeting()); }
    catch (const std::exception& e) { return PyUnicode_FromString(e.what()); }
}
static PyMethodDef methods[] = {{"greet", greet, METH_NOARGS, nullptr}, {}};
static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "cxxmod", nullptr, -1, methods};
PyMODINIT_FUNC PyInit_cxxmod(void) { return PyModule_Create(&module); }
"""
HELLO_CPP = """
#include <iostream>
int main() { std::cout << "hello from an executable" << std::endl; }
"""


@pytest.fixture(autouse=True)
def _needs_nix() -> None:
    require_nix("pythonEnvFromWheelhouse is built with nix-build")


def _python_facts() -> dict[str, str]:
    code = (
        "import json, sysconfig; print(json.dumps({'include': sysconfig.get_paths()['include'],"
        " 'suffix': sysconfig.get_config_var('EXT_SUFFIX')}))"
    )
    out = subprocess.run([PYTHON, "-I", "-c", code], capture_output=True, text=True, check=True)
    facts: dict[str, str] = json.loads(out.stdout)
    return facts


def _record_hash(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


@pytest.fixture(scope="module")
def cxx_wheelhouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A wheelhouse (wheel + requirements.lock.txt) of the C++ extension module `cxxmod`."""
    gxx = require_tool("g++", "the C++ extension wheel is compiled here")
    facts = _python_facts()
    build = tmp_path_factory.mktemp("cxxmod-build")
    host_dir = host_library("libstdc++.so.6").resolve().parent
    for name, text in [("helper.cpp", HELPER_CPP), ("module.cpp", MODULE_CPP),
                       ("hello.cpp", HELLO_CPP)]:
        (build / name).write_text(text)

    def compile_(*args: str | Path) -> None:
        done = subprocess.run([gxx, *map(str, args)], cwd=build, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr

    compile_("-shared", "-fPIC", f"-Wl,-soname,{HELPER}", "-o", HELPER, "helper.cpp")
    module = "cxxmod" + facts["suffix"]
    compile_("-shared", "-fPIC", "-I", facts["include"], "-o", module, "module.cpp", HELPER,
             f"-Wl,-rpath,$ORIGIN/cxxmod.libs:{host_dir}")
    compile_("-o", "cxxhello", "hello.cpp", "-Wl,--dynamic-linker=/nonexistent/ld.so")

    tag = "cp311-cp311-linux_x86_64"
    members = {
        module: (build / module).read_bytes(),
        f"cxxmod.libs/{HELPER}": (build / HELPER).read_bytes(),
        "cxxmod-1.0.data/scripts/cxxhello": (build / "cxxhello").read_bytes(),
        "cxxmod-1.0.dist-info/METADATA": b"Metadata-Version: 2.1\nName: cxxmod\nVersion: 1.0\n\n",
        "cxxmod-1.0.dist-info/WHEEL": (
            f"Wheel-Version: 1.0\nGenerator: snapproxy-tests\nRoot-Is-Purelib: false\n"
            f"Tag: {tag}\n"
        ).encode(),
    }
    record = "".join(f"{path},{_record_hash(data)},{len(data)}\n" for path, data in members.items())
    members["cxxmod-1.0.dist-info/RECORD"] = (record + "cxxmod-1.0.dist-info/RECORD,,\n").encode()

    wheelhouse = tmp_path_factory.mktemp("cxxmod-wheelhouse")
    wheel = wheelhouse / f"cxxmod-1.0-{tag}.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, data in members.items():
            info = zipfile.ZipInfo(path, date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = (stat.S_IFREG | 0o755) << 16
            archive.writestr(info, data)
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    (wheelhouse / "requirements.lock.txt").write_text(f"cxxmod==1.0 --hash=sha256:{digest}\n")
    return wheelhouse


@pytest.fixture(scope="module")
def native_nix(tmp_path_factory: pytest.TempPathFactory, cxx_wheelhouse: Path) -> Path:
    """{ env, hostLibs }: the environment of cxx_wheelhouse, built with Nix alone.

    hostLibs copies the host's libstdc++ and libgcc_s into the store, the stand-in for
    nixpkgs' stdenv.cc.cc.lib: the patched RUNPATH points there, never at the host's
    directory, so hiding that directory shows what NixOS would do.
    """
    patchelf = require_tool("patchelf", "pythonEnvFromWheelhouse patches ELF files")
    sources = [str(host_library(name)) for name in ("libstdc++.so.6", "libgcc_s.so.1")]
    # Each copy gets a RUNPATH naming its own directory, as a library built by Nix has:
    # libstdc++ finds libgcc_s there, as it does in stdenv.cc.cc.lib.
    copy = (
        "import os, shutil, subprocess, sys; lib = os.path.join(os.environ['out'], 'lib'); "
        "os.makedirs(lib); copies = [shutil.copy(path, lib) for path in sys.argv[2:]]; "
        "[subprocess.run([sys.argv[1], '--set-rpath', lib, c], check=True) for c in copies]"
    )
    file = tmp_path_factory.mktemp("native") / "native.nix"
    file.write_text(f"""
{{ libraries ? null, ignoreMissingLibraries ? [ ], patchelf ? {nix_string(patchelf)} }}:
rec {{
  hostLibs = derivation {{
    name = "host-cxx-libraries";
    system = builtins.currentSystem;
    builder = {nix_string(PYTHON)};
    args = [ "-I" "-c" {nix_string(copy)} {nix_string(patchelf)} ]
      ++ builtins.fromJSON {nix_string(json.dumps(sources))};
  }};
  env = import {REPO}/nix/python-env-from-wheelhouse.nix {{
    name = "cxxmod-env";
    python = {nix_string(PYTHON)};
    wheelhouse = {cxx_wheelhouse};
    libraries = if libraries == null then [ hostLibs ] else libraries;
    inherit patchelf ignoreMissingLibraries;
  }};
}}
""")
    return file


def build(file: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return nix_build(file, "-A", "env", *args)


def built(file: Path, *args: str) -> Path:
    done = build(file, *args)
    assert done.returncode == 0, done.stderr
    return Path(done.stdout.strip())


def runpath(file: Path) -> str:
    done = subprocess.run(["patchelf", "--print-rpath", str(file)], capture_output=True,
                          text=True, check=True)
    return done.stdout.strip()


def interpreter(file: Path) -> str:
    done = subprocess.run(["patchelf", "--print-interpreter", str(file)], capture_output=True,
                          text=True, check=True)
    return done.stdout.strip()


def module_path(env: Path) -> Path:
    return env / SITE / ("cxxmod" + _python_facts()["suffix"])


IMPORT = ["-I", "-c", "import cxxmod; print(cxxmod.greet())"]


def test_patched_environment_loads_with_the_host_libstdcxx_hidden(native_nix: Path) -> None:
    require_namespaces()
    env = built(native_nix)
    libs = run_nix("nix-build", native_nix, "-A", "hostLibs", "--no-out-link").stdout.strip()

    # Each file names the directories it takes libraries from: its wheel's own, the
    # declared one; the host's directory the extension was linked with is gone.
    assert runpath(module_path(env)) == f"$ORIGIN/cxxmod.libs:{libs}/lib"
    assert runpath(env / SITE / "cxxmod.libs" / HELPER) == f"{libs}/lib"
    assert runpath(env / "bin" / "cxxhello") == f"{libs}/lib"
    # An executable is started by the loader that starts the interpreter.
    assert interpreter(env / "bin" / "cxxhello") == interpreter(Path(os.path.realpath(PYTHON)))

    imported = run_without_host_libraries([str(env / "bin" / "python"), *IMPORT])
    assert imported.returncode == 0, imported.stderr
    assert imported.stdout.strip() == GREETING
    ran = run_without_host_libraries([str(env / "bin" / "cxxhello")])
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip() == "hello from an executable"


def test_the_same_wheel_unpatched_fails_where_the_patched_one_loads(
    tmp_path: Path, cxx_wheelhouse: Path
) -> None:
    # The proof that the namespace behaves as NixOS does: the same wheel, installed by pip
    # without patching, loads on this host and not with its libstdc++ hidden.
    require_namespaces()
    venv = tmp_path / "venv"
    env = clean_client_env()
    subprocess.run([PYTHON, "-I", "-m", "venv", str(venv)], check=True, env=env)
    installed = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "--isolated", "--no-index",
         "--find-links", str(cxx_wheelhouse), "--require-hashes",
         "-r", str(cxx_wheelhouse / "requirements.lock.txt")],
        capture_output=True, text=True, env=env, check=False,
    )
    assert installed.returncode == 0, installed.stderr
    python = str(venv / "bin" / "python")

    here = subprocess.run([python, *IMPORT], capture_output=True, text=True, cwd="/", check=False)
    assert here.returncode == 0, here.stderr
    assert here.stdout.strip() == GREETING

    hidden = run_without_host_libraries([python, *IMPORT])
    assert hidden.returncode != 0
    assert "libstdc++.so.6: cannot open shared object file" in hidden.stderr, hidden.stderr


def test_a_library_found_nowhere_fails_the_build_naming_file_library_and_argument(
    native_nix: Path,
) -> None:
    failed = build(native_nix, "--arg", "libraries", "[ ]")
    assert failed.returncode != 0
    module = f"{SITE}/cxxmod{_python_facts()['suffix']}"
    # The executable, the extension and its bundled helper need libstdc++; the extension
    # and the helper need libgcc_s (the executable throws nothing). Each line names the
    # first file in the environment's order.
    for needer, soname in [(f"{module} (and 1 more file)", "libgcc_s.so.1"),
                           ("bin/cxxhello (and 2 more files)", "libstdc++.so.6")]:
        assert (
            f"pythonEnvFromWheelhouse: {needer} needs {soname}, found "
            f"neither in the environment nor in `libraries`: add a derivation or directory "
            f"that has it to `libraries`, or name it in `ignoreMissingLibraries`"
        ) in failed.stderr, failed.stderr


def test_libraries_named_as_missing_are_left_unresolved(native_nix: Path) -> None:
    env = built(
        native_nix, "--arg", "libraries", "[ ]",
        "--arg", "ignoreMissingLibraries", '[ "libstdc++.so.6" "libgcc_s.so.1" ]',
    )
    assert runpath(module_path(env)) == "$ORIGIN/cxxmod.libs"
    assert runpath(env / SITE / "cxxmod.libs" / HELPER) == ""


def test_native_files_without_patchelf_fail_the_build(native_nix: Path) -> None:
    failed = build(native_nix, "--arg", "patchelf", "null")
    assert failed.returncode != 0
    assert (
        "pythonEnvFromWheelhouse: bin/cxxhello is native code and no `patchelf` is given: "
        "pass `patchelf` (pkgs.patchelf, or the path of a patchelf executable)"
    ) in failed.stderr, failed.stderr


@pytest.mark.parametrize(
    ("libraries", "message"),
    [
        ('[ "lib" ]', 'the `libraries` entry "lib" is neither a derivation nor an absolute'),
        ('[ "/nonexistent/lib" ]', "the `libraries` entry /nonexistent/lib is not a directory"),
    ],
)
def test_a_bad_libraries_entry_is_named(native_nix: Path, libraries: str, message: str) -> None:
    failed = build(native_nix, "--arg", "libraries", libraries)
    assert failed.returncode != 0
    assert f"pythonEnvFromWheelhouse: {message}" in failed.stderr, failed.stderr


def test_jupyterlab_example_runs_with_the_host_libstdcxx_hidden(native_nix: Path) -> None:
    require_network("the example's wheels come from PyPI")
    require_namespaces()
    patchelf = require_tool("patchelf", "pythonEnvFromWheelhouse patches ELF files")
    libs = run_nix("nix-build", native_nix, "-A", "hostLibs", "--no-out-link")
    assert libs.returncode == 0, libs.stderr
    done = nix_build(
        REPO / "examples" / "jupyterlab", "-A", "env", *tool_args(),
        "--argstr", "patchelf", patchelf, "--argstr", "libraries", f"{libs.stdout.strip()}/lib",
    )
    assert done.returncode == 0, done.stderr
    env = Path(done.stdout.strip())
    probe = "import zmq, jupyterlab; print(zmq.zmq_version(), jupyterlab.__version__)"
    ran = run_without_host_libraries([str(env / "bin" / "python"), "-I", "-c", probe])
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.split() == ["4.3.4", "4.0.1"]

