"""Running a program as on NixOS: the host's libstdc++ and libgcc_s do not exist.

A private mount namespace (``unshare --mount``, so nothing outside sees it) lays a
read-only overlay over the host's library directory whose top layer holds a whiteout for
each hidden file, so for the process they are simply absent: the loader's search, its
cache and any RUNPATH naming that directory find nothing, and the error is NixOS's own
``libstdc++.so.6: cannot open shared object file: No such file or directory``.
"""

from __future__ import annotations

import os
import stat
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

import pytest

from tests.support.nixbuild import require_tool

HIDDEN = ("libstdc++.so", "libgcc_s.so")


def host_library(soname: str) -> Path:
    """Where the host's loader finds ``soname`` (its cache, as ``ldconfig -p`` prints it)."""
    listing = subprocess.run(
        ["ldconfig", "-p"], capture_output=True, text=True, check=True
    ).stdout
    for line in listing.splitlines():
        name, _, target = line.strip().partition(" => ")
        if name.split(" ")[0] == soname:
            return Path(target)
    raise LookupError(f"{soname} is not in the host's loader cache")


def require_namespaces() -> None:
    require_tool("unshare", "hiding the host's libraries takes a mount namespace")
    if os.geteuid() != 0:
        if os.environ.get("SNAPPROXY_REQUIRE_NIX") == "1":
            pytest.fail("hiding the host's libraries takes root (SNAPPROXY_REQUIRE_NIX=1)")
        pytest.skip("hiding the host's libraries takes root")


def run_without_host_libraries(argv: Sequence[str]) -> subprocess.CompletedProcess[str]:
    """``argv`` (from /, so no working directory shadows a module) with HIDDEN absent."""
    directory = host_library("libstdc++.so.6").resolve().parent
    with tempfile.TemporaryDirectory(prefix="whiteouts-") as whiteouts:
        for entry in os.listdir(directory):
            if entry.startswith(HIDDEN):
                os.mknod(Path(whiteouts, entry), stat.S_IFCHR | 0o600, os.makedev(0, 0))
        script = 'mount -t overlay overlay -o "lowerdir=$1:$2" "$2" && shift 2 && exec "$@"'
        return subprocess.run(
            ["unshare", "--mount", "--propagation", "private",
             "sh", "-c", script, "sh", whiteouts, str(directory), *argv],
            capture_output=True, text=True, cwd="/", check=False,
        )
