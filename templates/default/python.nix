# The project's Python dependencies, as PyPI had them on snapshotDate.
#
# After changing requirements.txt or snapshotDate, make the hash true again:
#   nix run .#refresh
# `snap` is the snapproxy flake's `lib pkgs`.
{ snap }:

rec {
  wheelhouse = snap.fetchPythonRequirements {
    requirements = ./requirements.txt;
    snapshotDate = "2025-06-01";
    hash = ""; # "" until the first `nix run .#refresh`
  };

  # Native libraries of the wheels resolve from snap.defaultLibraries; add more with
  # `libraries = snap.defaultLibraries ++ [ pkgs.libGL ];`.
  env = snap.pythonEnvFromWheelhouse { inherit wheelhouse; };
}
