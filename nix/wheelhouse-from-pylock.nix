# wheelhouseFromPylock: the wheelhouse of a PEP 751 lock (pylock.toml) for one target, in
# the layout `snapproxy fetch` writes (the files under their index names and
# requirements.lock.txt), each file fetched by its own small fixed-output derivation (so any
# binary cache can substitute it, fetchurl checks its sha256, and a changed lock downloads
# only its new files).
#
# Any PEP 751 lock works: snapproxy's, uv's, pip's. Which packages the target takes, and
# the best file of each for its wheel tags, is decided while Nix evaluates, in Nix
# (nix/pylock-selection.nix: PEP 508 markers, PEP 425 tags), so only those files are
# fetched: a Linux build downloads no macOS wheel. A lock with no file for the target fails
# to evaluate, naming the package and the target.
#
# `fetchurl` defaults to Nix's built-in <nix/fetchurl.nix>, so this works without nixpkgs;
# pass pkgs.fetchurl with nixpkgs. Putting files into one directory takes a program, which
# Nix alone has not: `python` (a derivation or an absolute path string) does it.
{ pylock
, python
  # The CPython the wheelhouse is for, "3.11" or "3.11.7" (python_full_version markers may
  # need the latter). Default: a nixpkgs `python`'s version; for a path string, the
  # python_version the lock's only environment pins (a snapproxy lock's does).
, pythonVersion ? null
  # The Nix system the wheelhouse is for (x86_64-linux, aarch64-linux, x86_64-darwin,
  # aarch64-darwin); the files are fetched and assembled on `builderSystem`.
, system ? builtins.currentSystem
, builderSystem ? builtins.currentSystem
  # The newest glibc (Linux) / the macOS release the target runs: wheels for newer ones
  # are passed over. See nix/wheel-tags.nix for the defaults.
, glibcVersion ? "2.40"
, macosVersion ? "11.0"
  # PEP 751 dependency groups and extras to select with; null is the lock's default-groups
  # (and snapproxy's build requirements when a package taken is an sdist).
, dependencyGroups ? null
, extras ? [ ]
, fetchurl ? import <nix/fetchurl.nix>
, name ? "python-wheelhouse"
}:

let
  selection = import ./pylock-selection.nix;
  lock = selection.readLock pylock;

  fromPython =
    if builtins.isString python || !(python ? pythonVersion) then null
    # nixpkgs' CPython: version "3.11.7", pythonVersion "3.11" (PyPy's version is its own).
    else if python ? version && builtins.substring 0 (builtins.stringLength python.pythonVersion + 1) python.version == "${python.pythonVersion}."
    then python.version
    else python.pythonVersion;
  fromLock = selection.lockPythonVersion lock;
  targetPython =
    if pythonVersion != null then pythonVersion
    else if fromPython != null then fromPython
    else if fromLock != null then fromLock
    else throw "wheelhouseFromPylock: pass pythonVersion (e.g. \"3.11\"): the Python ${builtins.toJSON python} does not say its version, and the lock does not pin one";

  selected = selection.select {
    inherit lock system glibcVersion macosVersion dependencyGroups extras;
    pythonVersion = targetPython;
  };

  fetched = map
    (file: file // {
      path = fetchurl {
        inherit (file) url name sha256;
      };
    })
    selected.files;

  pythonExe = (import ./executables.nix).python python;
in
derivation
{
  inherit name;
  system = builderSystem;
  builder = pythonExe;
  args = [ "-I" ./assemble-wheelhouse.py ];
  # {"filename": {"path": "/nix/store/...-filename", "sha256": "..."}, ...}; the store
  # paths become inputs.
  files = builtins.toJSON (builtins.listToAttrs (map
    (file: { inherit (file) name; value = { path = "${file.path}"; inherit (file) sha256; }; })
    fetched));
  requirementsLock = selected.requirementsLock;
} // {
  # What was selected, to inspect without building: the target, and per package taken its
  # name, version, file (name, url, sha256) and whether it is a build requirement.
  passthru = {
    inherit (selected) target packages;
    files = map (file: file.name) selected.files;
  };
}
