{
  description = "snapproxy: PyPI as it was at one instant, and reproducible Python dependencies for Nix";

  # nixos-25.11 or newer (see the README, "On NixOS"); `nix flake lock` pins it.
  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-25.11";

  outputs = { self, nixpkgs }:
    let
      systems = [ "x86_64-linux" "aarch64-linux" "x86_64-darwin" "aarch64-darwin" ];
      forAllSystems = f: nixpkgs.lib.genAttrs systems
        (system: f system nixpkgs.legacyPackages.${system});
    in
    {
      # The Nix functions for a package set: snapproxy, defaultLibraries,
      # fetchPythonRequirements, wheelhouseFromPylock, pythonEnvFromWheelhouse.
      lib = pkgs: import ./nix { inherit pkgs; };

      # The same, as attributes of pkgs.
      overlays.default = final: prev: {
        inherit (self.lib final)
          snapproxy fetchPythonRequirements wheelhouseFromPylock pythonEnvFromWheelhouse;
      };

      packages = forAllSystems (system: pkgs: rec {
        snapproxy = (self.lib pkgs).snapproxy;
        default = snapproxy;
      });

      # nix run . -- serve --date 2021-05-01
      apps = forAllSystems (system: pkgs: {
        default = {
          type = "app";
          program = "${self.packages.${system}.default}/bin/snapproxy";
          meta.description = "Serve PyPI as it was at one instant; fetch, hash, refresh, lock";
        };
      });

      # Python with snapproxy's dependencies, and patchelf for the nix test tier.
      devShells = forAllSystems (system: pkgs: {
        default = pkgs.mkShell {
          inputsFrom = [ self.packages.${system}.default ];
          packages = [ pkgs.patchelf ];
        };
      });

      templates.default = {
        path = ./templates/default;
        description = "A Python environment from requirements.txt as PyPI had it on one date";
      };
    };
}
