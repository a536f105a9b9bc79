# snapproxy built from this repository with nixpkgs' Python.
{ lib, python3Packages }:

python3Packages.buildPythonApplication {
  pname = "snapproxy";
  version = "0.1.0";
  pyproject = true;
  src = lib.cleanSourceWith {
    src = ../.;
    filter = path: type:
      let base = baseNameOf path; in
      !(builtins.elem base [ ".venv" ".git" "result" "__pycache__" ".mypy_cache" ".ruff_cache" ".pytest_cache" ]);
  };
  build-system = [ python3Packages.setuptools ];
  dependencies = with python3Packages; [ aiohttp click packaging ]
    ++ lib.optional (python3Packages.pythonOlder "3.11") python3Packages.tomli;
  pythonImportsCheck = [ "snapproxy" "fetcher" ];
  doCheck = false; # the test suite needs the network, real pip versions and nix-build
  meta = {
    description = "Serve PyPI as it was at one instant; reproducible pip resolutions for Nix";
    license = lib.licenses.mit;
    mainProgram = "snapproxy";
  };
}
