"""flake.nix and templates/default, evaluated by Nix's own flake commands.

nixpkgs cannot be fetched here, so `--override-input nixpkgs` puts a stub flake in its
place: a package set with just the attributes the flake and nix/default.nix use, whose
packages are trivial derivations. `nix flake show` and `nix flake check` then evaluate
the real flake.nix, nix/default.nix and the template against it; what nixpkgs' own
functions do (callPackage, mkShell) is not exercised.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.clients import base_python, require_network, require_nix
from tests.support.nixbuild import REPO, nix_build, nix_string, require_tool, run_nix
from tests.support.proxyproc import snapproxy_executable

FLAKES = ["--extra-experimental-features", "nix-command flakes"]
SYSTEMS = ["aarch64-darwin", "aarch64-linux", "x86_64-darwin", "x86_64-linux"]

STUB_NIXPKGS = """
{
  outputs = { self }:
    let
      genAttrs = names: f:
        builtins.listToAttrs (map (name: { inherit name; value = f name; }) names);
      stub = system: name: extra: derivation ({
        inherit name system;
        builder = "/bin/sh";
        args = [ "-c" "echo stub > $out" ];
      } // extra);
      pkgsFor = system: let pkgs = {
        lib = { inherit genAttrs; optionals = cond: list: if cond then list else [ ]; };
        stdenv = {
          hostPlatform = { inherit system; isLinux = builtins.match ".*-linux" system != null; };
          buildPlatform = { inherit system; };
          cc.cc.lib = stub system "gcc-lib" { };
        };
        buildPackages = pkgs;
        callPackage = fn: args: stub system "stub-${baseNameOf fn}" { };
        mkShell = attrs: stub system "stub-shell" {
          inputsFrom = attrs.inputsFrom or [ ];
          packages = attrs.packages or [ ];
        };
        writeShellScript = name: text: stub system name { inherit text; };
        patchelf = stub system "patchelf" { };
        zlib = stub system "zlib" { };
        expat = stub system "expat" { };
        cacert = stub system "cacert" { };
        python3 = stub system "python3" { };
      }; in pkgs;
    in {
      lib = { inherit genAttrs; };
      legacyPackages = genAttrs [ "x86_64-linux" "aarch64-linux" "x86_64-darwin" "aarch64-darwin" ]
        pkgsFor;
    };
}
"""


@pytest.fixture(autouse=True)
def _needs_nix() -> None:
    require_nix("the flake is evaluated by nix")


@pytest.mark.parametrize(
    "file", ["flake.nix", "templates/default/flake.nix", "templates/default/python.nix"]
)
def test_parses(file: str) -> None:
    parsed = run_nix("nix-instantiate", "--parse", REPO / file)
    assert parsed.returncode == 0, parsed.stderr


@pytest.fixture(scope="module")
def flakes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    """(snapproxy's flake, the stub nixpkgs), as plain directories."""
    base = tmp_path_factory.mktemp("flakes")
    source, stub = base / "snapproxy", base / "nixpkgs"
    source.mkdir()
    # What the flake is made of; a path: flake copies its whole directory into the store.
    shutil.copy(REPO / "flake.nix", source)
    ignore = shutil.ignore_patterns("__pycache__")
    for directory in ("nix", "templates"):
        shutil.copytree(REPO / directory, source / directory, ignore=ignore)
    stub.mkdir()
    (stub / "flake.nix").write_text(STUB_NIXPKGS)
    yield source, stub


def nix_flake(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return run_nix("nix", *FLAKES, *args)


def override(stub: Path) -> list[str]:
    return ["--override-input", "nixpkgs", f"path:{stub}"]


def leaves(tree: dict[str, Any], prefix: str = "") -> dict[str, dict[str, Any]]:
    """`nix flake show --json`'s tree as {output path: what it is}."""
    found = {}
    for name, value in tree.items():
        path = f"{prefix}.{name}" if prefix else name
        if "type" in value:
            found[path] = value
        else:
            found.update(leaves(value, path))
    return found


def readme_outputs() -> set[str]:
    """The outputs the README's "Flake" section lists, one per bullet."""
    text = (REPO / "README.md").read_text()
    section = text.split("\n### Flake\n", 1)[1].split("\n#", 1)[0]
    return set(re.findall(r"^- `([\w.<>]+)`", section, re.MULTILINE))


def test_outputs_are_those_the_readme_lists(flakes: tuple[Path, Path]) -> None:
    source, stub = flakes
    shown = nix_flake("flake", "show", "--json", f"path:{source}", *override(stub))
    assert shown.returncode == 0, shown.stderr
    outputs = leaves(json.loads(shown.stdout))
    generic = {re.sub("|".join(SYSTEMS), "<system>", path) for path in outputs}
    assert generic == readme_outputs()
    assert {path.split(".")[1] for path in outputs if path.startswith("packages.")} == set(SYSTEMS)
    assert outputs["packages.x86_64-linux.default"] == {
        "type": "derivation", "name": "stub-package.nix",  # nix/package.nix, via callPackage
    }
    assert outputs["apps.x86_64-linux.default"]["type"] == "app"
    assert outputs["overlays.default"]["type"] == "nixpkgs-overlay"
    assert outputs["templates.default"]["type"] == "template"


def test_nix_flake_check_passes(flakes: tuple[Path, Path]) -> None:
    source, stub = flakes
    checked = nix_flake("flake", "check", f"path:{source}", *override(stub))
    assert checked.returncode == 0, checked.stderr


def flake_eval(flakes: tuple[Path, Path], attr: str, *args: str) -> Any:
    source, stub = flakes
    done = nix_flake("eval", "--json", f"path:{source}#{attr}", *override(stub), *args)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


FUNCTIONS = ["fetchPythonRequirements", "pythonEnvFromWheelhouse", "snapproxy",
             "wheelhouseFromPylock"]


def test_lib_and_overlay_give_the_functions(flakes: tuple[Path, Path]) -> None:
    names = "builtins.attrNames"
    assert flake_eval(flakes, "lib", "--apply", f"lib: {names} (lib {{ }})") == sorted(
        [*FUNCTIONS, "defaultLibraries"]
    )
    overlay = flake_eval(flakes, "overlays.default", "--apply", f"o: {names} (o {{ }} {{ }})")
    assert overlay == FUNCTIONS


def test_the_app_runs_the_package_s_snapproxy(flakes: tuple[Path, Path]) -> None:
    package = flake_eval(flakes, "packages.x86_64-linux.default.outPath")
    assert flake_eval(flakes, "apps.x86_64-linux.default.program") == f"{package}/bin/snapproxy"


def test_the_template_evaluates_against_this_flake(
    flakes: tuple[Path, Path], tmp_path: Path
) -> None:
    source, stub = flakes
    project = tmp_path / "project"
    shutil.copytree(REPO / "templates" / "default", project)
    inputs = [*override(stub), "--override-input", "snapproxy", f"path:{source}"]
    checked = nix_flake("flake", "check", f"path:{project}", *inputs)
    assert checked.returncode == 0, checked.stderr
    outputs = leaves(json.loads(
        nix_flake("flake", "show", "--json", f"path:{project}", *inputs).stdout
    ))
    assert set(outputs) == {
        "packages.x86_64-linux.default", "packages.x86_64-linux.wheelhouse",
        "apps.x86_64-linux.refresh",
    }


def test_the_template_s_refresh_writes_a_hash_nix_accepts(tmp_path: Path) -> None:
    # The template's `nix run .#refresh` is `snapproxy refresh python.nix --arg snap ...`
    # with the flake's functions; here the same with the Nix-only ones.
    require_network("the template's requirements come from PyPI")
    patchelf = require_tool("patchelf", "pythonEnvFromWheelhouse patches ELF files")
    project = tmp_path / "project"
    shutil.copytree(REPO / "templates" / "default", project)
    python = nix_string(base_python("3.11"))
    snap = f"""{{
      fetchPythonRequirements = args: import {REPO}/nix/fetch-python-requirements.nix {{
        snapproxy = {nix_string(snapproxy_executable())};
        python = {python};
      }} (args // {{ name = "template-{uuid.uuid4().hex[:8]}"; }});
      pythonEnvFromWheelhouse = args: import {REPO}/nix/python-env-from-wheelhouse.nix ({{
        python = {python};
        patchelf = {nix_string(patchelf)};
      }} // args);
    }}"""
    refreshed = run_nix(snapproxy_executable(), "refresh", project / "python.nix",
                        "--arg", "snap", snap)
    assert refreshed.returncode == 0, refreshed.stderr
    assert re.search(r'hash = "sha256-[A-Za-z0-9+/]{43}="', (project / "python.nix").read_text())

    env = nix_build(project / "python.nix", "-A", "env", "--arg", "snap", snap)
    assert env.returncode == 0, env.stderr
    probe = subprocess.run([f"{env.stdout.strip()}/bin/python", "-I", "-c", "import requests"],
                           capture_output=True, text=True, check=False)
    assert probe.returncode == 0, probe.stderr
