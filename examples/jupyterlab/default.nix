# JupyterLab as PyPI served it on 2023-06-01 (85 wheels), for CPython 3.11 on x86_64 Linux.
#
# The target is fixed by pythonVersion/platforms/onlyBinary, not by the machine that
# builds, so the hash is the same wherever this is built.
#
# With nixpkgs:     nix-build examples/jupyterlab -A env
# With only Nix:    nix-build examples/jupyterlab -A wheelhouse \
#                     --argstr snapproxy "$(command -v snapproxy)" --argstr python /usr/bin/python3.11
{ pkgs ? null, snapproxy ? null, python ? null }:

let
  tools = import ../tools.nix {
    inherit pkgs snapproxy python;
    defaultPython = (p: p.python311);
  };
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
  };
}
