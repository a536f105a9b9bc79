"""Real `nix-build` on a host with Debian's nix-bin and no nixpkgs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from tests.support.clients import base_python
from tests.support.proxyproc import snapproxy_executable

REPO = Path(__file__).resolve().parents[2]

# Builds run as root (the nixbld users cannot read the project's venv), without a sandbox
# (Debian's default) and without binary caches (none is reachable from here).
NIX_CONFIG = "\n".join(
    [
        "build-users-group =",
        "substituters =",
        "sandbox = false",
        "experimental-features = nix-command",
    ]
)


def nix_env() -> dict[str, str]:
    env = dict(os.environ)
    env["NIX_CONFIG"] = NIX_CONFIG
    return env


def tool_args() -> list[str]:
    """``--argstr`` for the path-string forms of snapproxy and python."""
    return [
        "--argstr", "snapproxy", snapproxy_executable(),
        "--argstr", "python", base_python("3.11"),
    ]


def nix_string(value: str) -> str:
    return json.dumps(value)  # a JSON string is a valid Nix string literal for these values


def run_nix(*args: str | Path, timeout: float = 1800) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in args], env=nix_env(), capture_output=True, text=True,
        timeout=timeout, check=False,
    )


def forget_outputs(file: Path, attrs: Sequence[str] = (), extra: Sequence[str] = ()) -> None:
    """Delete the outputs an expression would build, so the next build really builds.

    The store outlives test runs on one machine; a fixed-output path left there would
    make a later nix-build succeed without fetching anything.
    """
    attr_args = [a for attr in attrs for a in ("-A", attr)]
    drvs = run_nix("nix-instantiate", file, *attr_args, *extra).stdout.split()
    for drv in drvs:
        for out in run_nix("nix-store", "-q", "--outputs", drv).stdout.split():
            run_nix("nix-store", "--delete", out)


def nix_build(file: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_nix("nix-build", file, "--no-out-link", *args)


def require_tool(name: str, reason: str) -> str:
    """The tool's path; skip without it, fail instead under SNAPPROXY_REQUIRE_NIX=1."""
    found = shutil.which(name)
    if found:
        return found
    if os.environ.get("SNAPPROXY_REQUIRE_NIX") == "1":
        pytest.fail(f"{reason} ({name} not found and SNAPPROXY_REQUIRE_NIX=1)")
    pytest.skip(f"{reason} ({name} not found)")


def nix_eval(expr: str) -> Any:
    """The value of a Nix expression, evaluated strictly with Nix alone, as JSON."""
    done = run_nix("nix-instantiate", "--eval", "--strict", "--json", "-E", expr, timeout=600)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def nix_error(expr: str) -> str:
    """The error message of an expression that must fail to evaluate."""
    done = run_nix("nix-instantiate", "--eval", "--strict", "--json", "-E", expr, timeout=600)
    assert done.returncode != 0, done.stdout
    return done.stderr
