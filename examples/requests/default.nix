# requests as PyPI served it on 2021-05-01: a wheelhouse (fixed-output) and an environment.
#
# With nixpkgs:     nix-build examples/requests -A env
# With only Nix:    nix-build examples/requests -A env \
#                     --argstr snapproxy "$(command -v snapproxy)" --argstr python /usr/bin/python3
{ pkgs ? null, snapproxy ? null, python ? null }:

let
  tools = import ../tools.nix {
    inherit pkgs snapproxy python;
    defaultPython = (p: p.python3);
  };
in
rec {
  wheelhouse = tools.fetchPythonRequirements {
    name = "requests-wheelhouse";
    requirements = ./requirements.txt;
    snapshotDate = "2021-05-01";
    # requests 2.25.1, urllib3 1.26.4, idna 2.10, chardet 4.0.0, certifi 2020.12.5
    hash = "sha256-KItMUFnghISXp/8tPdFy8elIgwVLa+uwH9Zl5pA0zfs=";
  };

  env = tools.pythonEnvFromWheelhouse {
    name = "requests-env";
    inherit wheelhouse;
  };
}
