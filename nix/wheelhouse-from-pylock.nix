# wheelhouseFromPylock: the wheelhouse of a pylock.toml written by `snapproxy lock`, each file
# fetched by its own small fixed-output derivation (so any binary cache can substitute it,
# and a changed lock downloads only its new files), assembled in the same layout as
# `snapproxy fetch` writes: the files under their index names and requirements.lock.txt.
#
# `fetchurl` defaults to Nix's built-in <nix/fetchurl.nix>, so this works without nixpkgs;
# pass pkgs.fetchurl with nixpkgs. Putting files into one directory takes a program, which
# Nix alone has not: `python` (a derivation or an absolute path string) does it.
{ pylock
, python
, fetchurl ? import <nix/fetchurl.nix>
, name ? "python-wheelhouse"
, system ? builtins.currentSystem
}:

let
  text = builtins.readFile pylock;

  # Nix before 2.16 cannot read TOML dates ("Dates and times are not supported"); the
  # upload times are not needed here, so they are read as strings.
  quoted = builtins.concatStringsSep "" (map
    (part:
      if builtins.isList part
      then "${builtins.elemAt part 0}\"${builtins.elemAt part 1}\""
      else part)
    (builtins.split "(upload-time = )([0-9][-0-9:. T]*[0-9][-+:0-9Z]*)" text));
  lock = builtins.fromTOML quoted;

  filesOf = package:
    (package.wheels or [ ]) ++ (if package ? sdist then [ package.sdist ] else [ ]);
  files = builtins.concatMap filesOf lock.packages;

  fetched = map
    (file: {
      inherit (file) name;
      path = fetchurl {
        inherit (file) url name;
        sha256 = file.hashes.sha256;
      };
    })
    files;

  pythonExe = (import ./executables.nix).python python;
in
derivation {
  inherit name;
  inherit system;
  builder = pythonExe;
  args = [ "-I" ./assemble-wheelhouse.py ];
  # {"filename": "/nix/store/...-filename", ...}; the store paths become inputs.
  files = builtins.toJSON (builtins.listToAttrs
    (map (file: { inherit (file) name; value = "${file.path}"; }) fetched));
  requirementsLock = lock.tool.snapproxy.requirements-lock;
}
