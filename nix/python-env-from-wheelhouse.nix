# pythonEnvFromWheelhouse: a Python environment with a wheelhouse installed offline
# (`--no-index`, `--require-hashes` from its requirements.lock.txt), whose native files load
# without the host's /usr/lib, as on NixOS.
#
# manylinux wheels may take libstdc++, libgcc_s, libz and a few more from the host instead
# of bundling them. Every ELF file the install puts into the environment is therefore
# patched, as nixpkgs' autoPatchelfHook does: its RUNPATH names, for each library it needs,
# the directory of the environment (a wheel's bundled `<pkg>.libs/`) or of `libraries`
# that has it, and nothing of the host. glibc's own libraries come with the interpreter. A
# library found nowhere fails the build, naming the file, the library and `libraries`.
#
# `python` and `patchelf` are derivations (nixpkgs) or absolute path strings to the
# executables (a host with Nix but no nixpkgs). Without `patchelf`, an environment with
# native files fails to build instead of silently depending on the host.
{ python
, wheelhouse
, patchelf ? null
  # Where needed libraries are looked for: derivations (their lib/) or absolute path
  # strings of directories.
, libraries ? [ ]
  # Library names (as NEEDED says them, e.g. "libcuda.so.1") that may stay unresolved:
  # the environment then loads them only if something else provides them at run time.
, ignoreMissingLibraries ? [ ]
, name ? "python-env"
, system ? builtins.currentSystem
}:

let
  executables = import ./executables.nix;
  pythonExe = executables.python python;

  libraryDir = library:
    if !builtins.isString library then "${library}/lib"
    else if builtins.substring 0 1 library == "/" then library
    else throw "pythonEnvFromWheelhouse: the `libraries` entry \"${library}\" is neither a derivation nor an absolute directory path";

  # The builder and the modules it imports, as one directory.
  builderFiles = [ "install-wheelhouse.py" "patch_elfs.py" "elf_runpath.py" ];
  builderDir = builtins.path {
    name = "python-env-builder";
    path = ./.;
    filter = path: type: builtins.elem (baseNameOf path) builderFiles;
  };
in
derivation {
  inherit name;
  inherit system;
  builder = pythonExe;
  # -I: the builder's own Python ignores PYTHON* variables and the user site.
  args = [ "-I" "${builderDir}/install-wheelhouse.py" pythonExe "${wheelhouse}" ];
  patchelf = if patchelf == null then "" else executables.executable patchelf "patchelf";
  libraries = builtins.toJSON (map libraryDir libraries);
  ignoreMissingLibraries = builtins.toJSON ignoreMissingLibraries;
}
