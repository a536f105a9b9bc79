# JupyterLab as PyPI served it on 2023-06-01 (85 wheels), for CPython 3.11 on x86_64 Linux.
#
# The target is fixed by pythonVersion/platforms/onlyBinary, not by the machine that
# builds, so the hash is the same wherever this is built.
#
# With nixpkgs:     nix-build examples/jupyterlab -A env
# With only Nix:    nix-build examples/jupyterlab -A wheelhouse \
#                     --argstr snapproxy "$(command -v snapproxy)" --argstr python /usr/bin/python3.11
#   and for `env` also --argstr patchelf "$(command -v patchelf)" --argstr libraries DIR,
#   DIR holding libstdc++.so.6 and libgcc_s.so.1.
{ pkgs ? null, snapproxy ? null, python ? null, patchelf ? null, libraries ? null }:

let
  tools = import ../tools.nix {
    inherit pkgs snapproxy python;
    defaultPython = (p: p.python311);
  };
  nixpkgs = if pkgs != null then pkgs else import <nixpkgs> { };
in
rec {
  wheelhouse = tools.fetchPythonRequirements {
    name = "jupyterlab-wheelhouse";
    requirements = ./requirements.txt;
    snapshotDate = "2023-06-01";
    onlyBinary = true;
    platforms = [ "manylinux2014_x86_64" ];
    pythonVersion = "3.11";
    extraArgs = [ "--implementation" "cp" ];
    # jupyterlab 4.0.1 and its 84 dependencies
    hash = "sha256-UnBHQHlUlMWJ5tZoTS4SnAf67g6usqLOFK2/6rizVXA=";
  };

  # Needs a CPython 3.11 on x86_64 Linux, the target the wheelhouse was resolved for.
  env = tools.pythonEnvFromWheelhouse {
    name = "jupyterlab-env";
    inherit wheelhouse;
    patchelf = if patchelf != null then patchelf else nixpkgs.buildPackages.patchelf;
    # pyzmq's bundled libzmq and debugpy's attach helper take libstdc++.so.6 and
    # libgcc_s.so.1 from the system; nothing else of the 85 wheels needs a library.
    libraries = [ (if libraries != null then libraries else nixpkgs.stdenv.cc.cc.lib) ];
  };
}
