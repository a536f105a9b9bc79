"""`fetchPythonRequirements` and `pythonEnvFromWheelhouse` under real nix-build."""

from __future__ import annotations

import re
import subprocess
import uuid
from pathlib import Path

import pytest

from tests.support.clients import base_python, clean_client_env, require_network, require_nix
from tests.support.fetching import fetch, nar_hash, tree_digest
from tests.support.nixbuild import (
    REPO,
    forget_outputs,
    nix_build,
    nix_string,
    run_nix,
    tool_args,
)
from tests.support.proxyproc import snapproxy_executable


@pytest.fixture(autouse=True)
def _needs_nix_and_network() -> None:
    require_nix("nix-build is needed to build fetchPythonRequirements")
    require_network("fetchPythonRequirements fetches from PyPI")


def call_file(tmp: Path, requirements: str, hash_: str, name: str) -> Path:
    """A .nix file calling fetchPythonRequirements with path-string tools."""
    file = tmp / f"{uuid.uuid4().hex}.nix"
    file.write_text(
        f"""
import {REPO}/nix/fetch-python-requirements.nix {{
  snapproxy = {nix_string(snapproxy_executable())};
  python = {nix_string(base_python("3.11"))};
}} {{
  name = {nix_string(name)};
  requirements = {nix_string(requirements)};
  snapshotDate = "2021-05-01";
  hash = {nix_string(hash_)};
}}
"""
    )
    return file


def test_nix_accepts_the_local_hash_and_rejects_what_does_not_match(tmp_path: Path) -> None:
    local = tmp_path / "local"
    assert fetch(local, "requests", "--date", "2021-05-01").returncode == 0
    expected = nar_hash(local)
    name = f"test-{uuid.uuid4().hex[:8]}"  # a store path no earlier run can have left

    # The hash snapproxy computed for a local fetch is the one Nix computes for the build.
    good = call_file(tmp_path, "requests\n", expected, name)
    built = nix_build(good)
    assert built.returncode == 0, built.stderr
    result = Path(built.stdout.strip())
    assert nar_hash(result) == expected
    assert tree_digest(result) == {k: (v[0], 0o444) for k, v in tree_digest(local).items()}

    # No hash yet: Nix fails and names that same hash.
    first = nix_build(call_file(tmp_path, "requests\n", "", name))
    assert first.returncode != 0
    assert "hash mismatch" in first.stderr
    assert re.search(rf"got:\s+{re.escape(expected)}", first.stderr), first.stderr

    # Changed requirements under the old hash and the same name: a new store path, so a
    # real build and a mismatch, never the old output reused.
    changed = nix_build(call_file(tmp_path, "requests\nidna<2.10\n", expected, name))
    assert changed.returncode != 0
    assert "hash mismatch" in changed.stderr
    assert str(result) not in changed.stdout


def build_example(example: str, attr: str) -> Path:
    file = REPO / "examples" / example
    forget_outputs(file, [attr], tool_args())
    built = nix_build(file, "-A", attr, *tool_args())
    assert built.returncode == 0, built.stderr
    return Path(built.stdout.strip().splitlines()[-1])


def declared_hash(example: str) -> str:
    text = (REPO / "examples" / example / "default.nix").read_text()
    match = re.search(r'hash = "(sha256-[^"]+)"', text)
    assert match is not None
    return match.group(1)


@pytest.mark.parametrize("example", ["requests", "jupyterlab"])
def test_example_wheelhouse_builds_with_its_declared_hash(example: str) -> None:
    out = build_example(example, "wheelhouse")
    declared = declared_hash(example)
    assert nar_hash(out) == declared
    # Debian's nix-hash (2.8) has no --sri; its base32 is compared with ours instead.
    nix_hash = run_nix("nix-hash", "--type", "sha256", "--base32", out)
    nix_hash_path = run_nix("nix", "hash", "path", out)
    assert nix_hash.stdout.strip() == nar_hash(out, "nix32"), nix_hash.stderr
    assert nix_hash_path.stdout.strip() == declared, nix_hash_path.stderr


def test_python_env_from_wheelhouse_imports_requests() -> None:
    env = build_example("requests", "env")
    probe = subprocess.run(
        [str(env / "bin" / "python"), "-c", "import requests; print(requests.__version__)"],
        capture_output=True,
        text=True,
        env=clean_client_env(),
        check=False,
    )
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.strip() == "2.25.1"
