# requests as PyPI served it on 2021-05-01: a wheelhouse (fixed-output) and an environment.
#
# With nixpkgs:     nix-build examples/requests -A env
# With only Nix:    nix-build examples/requests -A env \
#                     --argstr snapproxy "$(command -v snapproxy)" --argstr python /usr/bin/python3
{ pkgs ? null, snapproxy ? null, python ? null }:

let
  nixpkgs = if pkgs != null then pkgs else import <nixpkgs> { };
  onlyNix = pkgs == null && snapproxy != null && python != null;
  tools = if onlyNix then null else import ../../nix { pkgs = nixpkgs; };
  pythonInUse = if python != null then python else nixpkgs.python3;

  fetchPythonRequirements = import ../../nix/fetch-python-requirements.nix {
    snapproxy = if snapproxy != null then snapproxy else tools.snapproxy;
    python = pythonInUse;
    cacert = if onlyNix then null else nixpkgs.cacert;
  };
in
rec {
  wheelhouse = fetchPythonRequirements {
    name = "requests-wheelhouse";
    requirements = ./requirements.txt;
    snapshotDate = "2021-05-01";
    # requests 2.25.1, urllib3 1.26.4, idna 2.10, chardet 4.0.0, certifi 2020.12.5
    hash = "sha256-KItMUFnghISXp/8tPdFy8elIgwVLa+uwH9Zl5pA0zfs=";
  };

  env = import ../../nix/python-env-from-wheelhouse.nix {
    name = "requests-env";
    python = pythonInUse;
    inherit wheelhouse;
  };
}
