"""`snapproxy refresh` against real nix-build and nix-instantiate (no nixpkgs)."""

from __future__ import annotations

import difflib
import hashlib
import os
import re
import stat
import subprocess
import uuid
from pathlib import Path

import pytest

from tests.support.clients import base_python, require_network, require_nix
from tests.support.fetching import run_snapproxy
from tests.support.nixbuild import REPO, nix_build, nix_env, nix_string
from tests.support.proxyproc import snapproxy_executable

WRONG = "sha256-" + "B" * 43 + "="
SRI = re.compile(r"sha256-[A-Za-z0-9+/]{43}=")


@pytest.fixture(autouse=True)
def _needs_nix_and_network() -> None:
    require_nix("refresh evaluates and builds with Nix")
    require_network("the calls fetch from PyPI")


def two_calls(tmp: Path, web_hash: str = WRONG, cli_hash: str = WRONG,
              cli_attr: str = "hash", cli_requirements: str = "click\\n") -> Path:
    """A file with two calls (different requirements and dates), the second nested."""
    tag = uuid.uuid4().hex[:8]  # store paths no earlier run has left behind
    file = tmp / "deps.nix"
    file.write_text(f"""let
  fetchPythonRequirements = import {REPO}/nix/fetch-python-requirements.nix {{
    snapproxy = {nix_string(snapproxy_executable())};
    python = {nix_string(base_python("3.11"))};
  }};
in
{{
  web = fetchPythonRequirements {{
    name = "web-{tag}";
    requirements = "requests\\n";
    snapshotDate = "2021-05-01";
    hash = "{web_hash}";
  }};

  tools.cli = fetchPythonRequirements {{
    name = "cli-{tag}";
    requirements = "{cli_requirements}";
    snapshotDate = "2020-06-01";
    {cli_attr} = "{cli_hash}";
  }};
}}
""")
    return file


def refresh(
    file: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return run_snapproxy("refresh", file, *args, env=env or nix_env())


def hashes(file: Path) -> list[str]:
    return re.findall(r'(?:hash|sha256) = "([^"]*)"', file.read_text())


def digest(file: Path) -> str:
    return hashlib.sha256(file.read_bytes()).hexdigest()


def test_refresh_fixes_both_calls_and_changes_only_their_hashes(tmp_path: Path) -> None:
    file = two_calls(tmp_path)
    before = file.read_text()
    result = refresh(file)
    assert result.returncode == 0, result.stderr
    after = file.read_text()

    # Exactly the two hash strings changed, each now an SRI hash.
    changed = [
        (a, b) for a, b in zip(before.splitlines(), after.splitlines(), strict=True) if a != b
    ]
    assert len(changed) == 2
    for old_line, new_line in changed:
        assert old_line.replace(WRONG, "X") == SRI.sub("X", new_line)
    assert [line.split(":")[0] for line in result.stdout.splitlines()] == ["tools.cli", "web"]
    assert all(line.endswith("(changed)") for line in result.stdout.splitlines())

    # Nix itself accepts both.
    for attr in ("web", "tools.cli"):
        built = nix_build(file, "-A", attr)
        assert built.returncode == 0, built.stderr


def test_attr_refreshes_only_the_named_call(tmp_path: Path) -> None:
    file = two_calls(tmp_path)
    result = refresh(file, "-A", "tools.cli")
    assert result.returncode == 0, result.stderr
    web, cli = hashes(file)
    assert web == WRONG
    assert SRI.fullmatch(cli)
    assert result.stdout.startswith("tools.cli: ")
    assert "web" not in result.stdout


def test_local_and_nix_agree_and_local_never_runs_nix_build(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    via_nix = two_calls(tmp_path / "a")
    assert refresh(via_nix, "--via", "nix").returncode == 0

    # A nix-build that records being called: --via local must never call it.
    trap = tmp_path / "trap"
    trap.mkdir()
    marker = tmp_path / "nix-build-was-run"
    fake = trap / "nix-build"
    fake.write_text(f"#!/bin/sh\ntouch {marker}\nexit 1\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    env = nix_env()
    env["PATH"] = f"{trap}:{env['PATH']}"

    (tmp_path / "b").mkdir()
    via_local = two_calls(tmp_path / "b")
    result = refresh(via_local, "--via", "local", env=env)
    assert result.returncode == 0, result.stderr
    assert not marker.exists()
    assert hashes(via_local) == hashes(via_nix)
    assert all(SRI.fullmatch(h) for h in hashes(via_local))


def test_check_reports_staleness_and_never_writes(tmp_path: Path) -> None:
    file = two_calls(tmp_path)
    assert refresh(file).returncode == 0
    fresh = digest(file)
    ok = refresh(file, "--check", "--via", "local")
    assert ok.returncode == 0, ok.stderr
    assert digest(file) == fresh

    file.write_text(file.read_text().replace('"requests\\n"', '"requests\\nidna<2.10\\n"'))
    edited = digest(file)
    stale = refresh(file, "--check", "--via", "local")
    assert stale.returncode == 1, stale.stderr
    assert "web: " in stale.stdout and "(changed)" in stale.stdout
    assert digest(file) == edited


def test_unresolvable_requirement_fails_and_leaves_the_file(tmp_path: Path) -> None:
    file = two_calls(tmp_path, cli_requirements="no-such-project-snapproxy-test\\n")
    before = file.read_bytes()
    for via in ("nix", "local"):
        result = refresh(file, "--via", via)
        assert result.returncode != 0
        assert "No matching distribution found for no-such-project-snapproxy-test" in (
            result.stderr
        ), result.stderr
        assert "Traceback" not in result.stderr
        assert file.read_bytes() == before


@pytest.mark.parametrize("spelling", ["nix32", "base16"])
def test_old_spellings_under_sha256_become_sri(tmp_path: Path, spelling: str) -> None:
    wrong = {"nix32": "0" * 52, "base16": "0" * 64}[spelling]
    file = two_calls(tmp_path, cli_attr="sha256", cli_hash=wrong)
    result = refresh(file, "-A", "tools.cli")
    assert result.returncode == 0, result.stderr
    (cli,) = [h for h in hashes(file) if h != WRONG]
    assert SRI.fullmatch(cli)
    assert f'sha256 = "{cli}";' in file.read_text()
    assert nix_build(file, "-A", "tools.cli").returncode == 0


def test_right_hash_in_nix32_is_respelled_but_not_stale(tmp_path: Path) -> None:
    file = two_calls(tmp_path)
    assert refresh(file, "-A", "tools.cli").returncode == 0
    (_, right) = hashes(file)
    as_nix32 = run_snapproxy("hash", "--format", "nix32", nix_build(
        file, "-A", "tools.cli").stdout.strip()).stdout.strip()
    file.write_text(file.read_text().replace(f'hash = "{right}"', f'sha256 = "{as_nix32}"'))
    check = refresh(file, "-A", "tools.cli", "--check", "--via", "local")
    assert check.returncode == 0, check.stdout + check.stderr
    result = refresh(file, "-A", "tools.cli", "--via", "local")
    assert "respelled as SRI" in result.stdout
    assert f'sha256 = "{right}";' in file.read_text()


def test_a_computed_hash_is_refused_without_writing(tmp_path: Path) -> None:
    file = two_calls(tmp_path)
    text = file.read_text().replace(f'hash = "{WRONG}";\n  }};\n\n  tools',
                                    f'hash = "sha256-" + "{WRONG[7:]}";\n  }};\n\n  tools')
    file.write_text(text)
    result = refresh(file, "-A", "web", "--via", "local")
    assert result.returncode != 0
    assert "plain string literal" in result.stderr
    assert file.read_text() == text


def test_unified_diff_is_only_the_hash_lines(tmp_path: Path) -> None:
    file = two_calls(tmp_path)
    before = file.read_text().splitlines()
    assert refresh(file, "--via", "local").returncode == 0
    diff = [line for line in difflib.unified_diff(before, file.read_text().splitlines(),
                                                   lineterm="", n=0)
            if line.startswith(("+", "-")) and not line.startswith(("+++", "---"))]
    assert len(diff) == 4
    assert all(re.search(r'(hash|sha256) = "', line) for line in diff)
    assert os.access(file, os.R_OK)


@pytest.mark.parametrize("example", ["requests", "jupyterlab"])
def test_the_examples_hashes_are_current(example: str) -> None:
    # A directory, as nix-build takes it, with the examples' path-string arguments.
    result = refresh(
        REPO / "examples" / example, "--check",
        "--argstr", "snapproxy", snapproxy_executable(),
        "--argstr", "python", base_python("3.11"),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("wheelhouse: ")
    assert result.stdout.rstrip().endswith("(unchanged)")


def test_one_hash_shared_by_calls_with_different_hashes_is_refused(tmp_path: Path) -> None:
    tag = uuid.uuid4().hex[:8]
    file = tmp_path / "shared.nix"
    file.write_text(f"""let
  fetch = import {REPO}/nix/fetch-python-requirements.nix {{
    snapproxy = {nix_string(snapproxy_executable())};
    python = {nix_string(base_python("3.11"))};
  }};
  common = {{ snapshotDate = "2021-05-01"; hash = "{WRONG}"; }};
in {{
  a = fetch (common // {{ name = "a-{tag}"; requirements = "idna\\n"; }});
  b = fetch (common // {{ name = "b-{tag}"; requirements = "six\\n"; }});
}}
""")
    before = file.read_bytes()
    result = refresh(file, "--via", "local")
    assert result.returncode != 0
    assert "give each call its own hash" in result.stderr
    assert file.read_bytes() == before


def test_line_endings_survive_a_rewrite(tmp_path: Path) -> None:
    file = two_calls(tmp_path)
    file.write_bytes(file.read_bytes().replace(b"\n", b"\r\n"))
    result = refresh(file, "-A", "tools.cli", "--via", "local")
    assert result.returncode == 0, result.stderr
    data = file.read_bytes()
    assert data.count(b"\r\n") == data.count(b"\n")
    assert SRI.fullmatch(hashes(file)[1])
