{
  description = "A Python environment from requirements.txt as PyPI had it on one date";

  inputs = {
    nixpkgs.url = "github:NixOS/nixpkgs/nixos-25.11";
    # The snapproxy flake this template came from: what you gave `nix flake init -t`.
    snapproxy.url = "github:OWNER/snapproxy";
    snapproxy.inputs.nixpkgs.follows = "nixpkgs";
  };

  outputs = { self, nixpkgs, snapproxy }:
    let
      # The platform the wheelhouse is resolved on, and so the one its hash is for.
      system = "x86_64-linux";
      pkgs = nixpkgs.legacyPackages.${system};
      python = import ./python.nix { snap = snapproxy.lib pkgs; };
    in
    {
      # nix build: bin/python with requirements.txt installed; .#wheelhouse: the wheels.
      packages.${system} = {
        default = python.env;
        inherit (python) wheelhouse;
      };

      # nix run .#refresh: after a change to requirements.txt or snapshotDate, writes the
      # true hash into python.nix.
      apps.${system}.refresh = {
        type = "app";
        program = toString (pkgs.writeShellScript "refresh-python-hash" ''
          exec ${snapproxy.packages.${system}.default}/bin/snapproxy refresh python.nix \
            --arg snap '(import ${snapproxy}/nix { pkgs = import ${nixpkgs} { system = "${system}"; }; })' \
            "$@"
        '');
      };
    };
}
