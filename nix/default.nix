# snapproxy's Nix entry point.
#   nix-build nix -A snapproxy
#   (import ./nix { }).fetchPythonRequirements { requirements = ./requirements.txt; ... }
{ pkgs ? import <nixpkgs> { } }:

let
  snapproxy = pkgs.callPackage ./package.nix { };
in
{
  inherit snapproxy;

  # fetchPythonRequirements { requirements, snapshotDate, hash, python ? pkgs.python3, ... }
  fetchPythonRequirements = { python ? pkgs.python3, ... }@args:
    import ./fetch-python-requirements.nix
      {
        inherit snapproxy python;
        cacert = pkgs.cacert;
        system = pkgs.stdenv.hostPlatform.system;
      }
      (builtins.removeAttrs args [ "python" ]);

  # wheelhouseFromPylock { pylock, python ? pkgs.python3, name ? "python-wheelhouse" }:
  # one fixed-output derivation per locked file, fetched with pkgs.fetchurl.
  wheelhouseFromPylock = { python ? pkgs.python3, ... }@args:
    import ./wheelhouse-from-pylock.nix (args // {
      inherit python;
      fetchurl = pkgs.fetchurl;
      system = pkgs.stdenv.hostPlatform.system;
    });

  # pythonEnvFromWheelhouse { python ? pkgs.python3, wheelhouse, name ? "python-env" }
  pythonEnvFromWheelhouse = { python ? pkgs.python3, ... }@args:
    import ./python-env-from-wheelhouse.nix (args // {
      inherit python;
      system = pkgs.stdenv.hostPlatform.system;
    });
}
