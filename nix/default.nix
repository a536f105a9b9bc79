# snapproxy's Nix entry point.
#   nix-build nix -A snapproxy
#   (import ./nix { }).fetchPythonRequirements { requirements = ./requirements.txt; ... }
#
# The nixpkgs layer only: which nixpkgs packages the functions of this directory get. Each
# line is meant to be checked by reading; the functions themselves are built by the tests
# with Nix alone.
{ pkgs ? import <nixpkgs> { } }:

let
  snapproxy = pkgs.callPackage ./package.nix { };

  # Fetching and assembling wheelhouses run on the machine that builds (a wheelhouse is
  # data, the same for every platform), so a cross package set takes its tools from
  # buildPackages; for a native set that is the same set.
  build = pkgs.buildPackages;
  buildSystem = pkgs.stdenv.buildPlatform.system;
  snapproxyForBuild = build.callPackage ./package.nix { };

  # What manylinux lets a wheel take from the system instead of bundling it, beyond glibc
  # (which comes with the interpreter): libstdc++ and libgcc_s, libz, libexpat. Graphics
  # and GUI libraries (libGL, libX11, glib) are for the caller to add.
  defaultLibraries = pkgs.lib.optionals pkgs.stdenv.hostPlatform.isLinux [
    pkgs.stdenv.cc.cc.lib
    pkgs.zlib
    pkgs.expat
  ];
in
{
  inherit snapproxy defaultLibraries;

  # fetchPythonRequirements { requirements, snapshotDate, hash, packageDates ? { },
  #   python ? python3, ... }
  fetchPythonRequirements = { python ? build.python3, ... }@args:
    import ./fetch-python-requirements.nix
      {
        snapproxy = snapproxyForBuild;
        inherit python;
        cacert = build.cacert;
        system = buildSystem;
      }
      (builtins.removeAttrs args [ "python" ]);

  # wheelhouseFromPylock { pylock, python ? python3, dependencyGroups ? null, extras ? [ ],
  #   name ? "python-wheelhouse" }: the files of any PEP 751 lock that `python` takes on the
  # host platform (markers and wheel tags, evaluated in Nix), one fixed-output derivation
  # each, fetched with pkgs.fetchurl on the build platform. `python` is the one the
  # environment will run (as for pythonEnvFromWheelhouse): CPython's full version
  # ("3.11.7"), the host's glibc ("2.40-66" is 2.40) and oldest macOS are its tag limits;
  # each may be given instead (pythonVersion, glibcVersion, macosVersion).
  wheelhouseFromPylock = { python ? pkgs.python3, ... }@args:
    import ./wheelhouse-from-pylock.nix ({
      pythonVersion = python.version;
      glibcVersion = pkgs.stdenv.cc.libc.version;
      macosVersion = pkgs.stdenv.hostPlatform.darwinMinVersion;
    } // args // {
      python = build.python3;
      fetchurl = pkgs.fetchurl;
      system = pkgs.stdenv.hostPlatform.system;
      builderSystem = buildSystem;
    });

  # pythonEnvFromWheelhouse { wheelhouse, python ? python3, libraries ? defaultLibraries,
  #   ignoreMissingLibraries ? [ ], name ? "python-env" }: installed by the target Python,
  # so built for the host platform; its ELF files are patched by patchelf.
  pythonEnvFromWheelhouse = { python ? pkgs.python3, ... }@args:
    import ./python-env-from-wheelhouse.nix ({
      patchelf = build.patchelf;
      libraries = defaultLibraries;
    } // args // {
      inherit python;
      system = pkgs.stdenv.hostPlatform.system;
    });
}
