# The same wheelhouse as default.nix's, from pylock.toml: one small fixed-output derivation
# per file (each substitutable from a binary cache), assembled in the same layout.
# Same NAR hash as `wheelhouse` in default.nix.
#
# With nixpkgs:     nix-build examples/requests/lock.nix
# With only Nix:    nix-build examples/requests/lock.nix --argstr python /usr/bin/python3
#
# Re-lock:  snapproxy lock -r examples/requests/requirements.txt --date 2021-05-01 \
#             -o examples/requests/pylock.toml
{ pkgs ? null, python ? null }:

let
  nixpkgs = if pkgs != null then pkgs else import <nixpkgs> { };
in
import ../../nix/wheelhouse-from-pylock.nix {
  name = "requests-wheelhouse";
  pylock = ./pylock.toml;
  python = if python != null then python else nixpkgs.python3;
  fetchurl = if pkgs != null then pkgs.fetchurl else import <nix/fetchurl.nix>;
}
