# snapproxy built from this repository with nixpkgs' Python.
{ lib, python3Packages }:

python3Packages.buildPythonApplication {
  pname = "snapproxy";
  version = "0.1.0";
  pyproject = true;
  # Only what the package is made of, so a test or docs change does not rebuild it.
  src = lib.fileset.toSource {
    root = ../.;
    fileset = lib.fileset.unions [
      ../pyproject.toml
      ../README.md
      ../snapproxy
      ../fetcher
    ];
  };
  build-system = [ python3Packages.setuptools ];
  dependencies = with python3Packages; [ aiohttp click packaging tomli-w ]
    ++ lib.optional (python3Packages.pythonOlder "3.11") python3Packages.tomli;
  pythonImportsCheck = [ "snapproxy.cli" "snapproxy.app" "fetcher.fetch" "fetcher.refresh" ];
  doCheck = false; # the test suite needs the network, real pip versions and nix-build
  meta = {
    description = "Serve PyPI as it was at one instant; reproducible pip resolutions for Nix";
    license = lib.licenses.mit;
    mainProgram = "snapproxy";
  };
}
