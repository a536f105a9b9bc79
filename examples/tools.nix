# What the examples build with: nixpkgs' snapproxy and Python, or (on a host with Nix but
# no nixpkgs) the executables named by path strings, as `--argstr snapproxy ... --argstr
# python ...` pass them.
{ pkgs ? null, snapproxy ? null, python ? null, defaultPython ? (p: p.python3) }:

let
  onlyNix = pkgs == null && snapproxy != null && python != null;
  nixpkgs = if pkgs != null then pkgs else import <nixpkgs> { };
  fromNixpkgs = import ../nix { pkgs = nixpkgs; };
  pythonInUse = if python != null then python else defaultPython nixpkgs;
in
{
  python = pythonInUse;

  fetchPythonRequirements = import ../nix/fetch-python-requirements.nix {
    snapproxy = if snapproxy != null then snapproxy else fromNixpkgs.snapproxy;
    python = pythonInUse;
    cacert = if onlyNix then null else nixpkgs.cacert;
  };

  pythonEnvFromWheelhouse = args:
    import ../nix/python-env-from-wheelhouse.nix ({ python = pythonInUse; } // args);
}
