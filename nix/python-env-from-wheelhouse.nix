# pythonEnvFromWheelhouse: a Python environment with a wheelhouse installed offline
# (`--no-index`, `--require-hashes` from its requirements.lock.txt).
#
# `python` is a derivation (nixpkgs) or an absolute path string to a Python executable.
{ python, wheelhouse, name ? "python-env", system ? builtins.currentSystem }:

let
  pythonExe = (import ./executables.nix).python python;
in
derivation {
  inherit name;
  inherit system;
  builder = pythonExe;
  # -I: the builder's own Python ignores PYTHON* variables and the user site.
  args = [ "-I" ./install-wheelhouse.py pythonExe "${wheelhouse}" ];
}
