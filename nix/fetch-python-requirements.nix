# fetchPythonRequirements: a wheelhouse for `requirements` as PyPI was at `snapshotDate`,
# as a fixed-output derivation built by `snapproxy fetch`.
#
# `snapproxy` and `python` are derivations (nixpkgs) or absolute path strings to the
# `snapproxy` and Python executables (a host with Nix but no nixpkgs).
{ snapproxy, python, cacert ? null, system ? builtins.currentSystem }:

let
  executables = import ./executables.nix;
  snapproxyExe = executables.executable snapproxy "snapproxy";
  pythonExe = executables.python python;

  # The interpreter as the fetch's output depends on it, for the name's digest: a nixpkgs
  # Python by its version, implementation and platform, so that a nixpkgs bump that keeps
  # Python 3.11 keeps the store path (and the output) instead of fetching everything again;
  # an interpreter given as a path string by that path, as Nix cannot ask it its version.
  pythonTarget =
    if !builtins.isString python && python ? pythonVersion then {
      version = python.pythonVersion;
      implementation = python.implementation or "cpython";
      platform = python.stdenv.hostPlatform.system or system;
    }
    else pythonExe;

  # lib.fakeHash: what a first build is given, so that Nix reports the true hash.
  fakeHash = "sha256-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";

  # A cutoff that moves with the clock: a duration (ISO 8601 "P7D", short "7d"), which
  # snapproxy reads as now minus it, or "none" (no cutoff). A fixed-output derivation must
  # give the same output for ever, so both are refused here. Nix has no clock a pure
  # evaluation may read, so the message names the command that prints the instant.
  isDuration = value: builtins.match "[Pp][0-9Tt].*|[0-9]+ *[A-SU-Za-su-z].*" value != null;
  checkedCutoff = what: option: value:
    if !builtins.isString value then
      throw "fetchPythonRequirements: ${what} must be a string such as \"2021-05-01\", not a ${builtins.typeOf value}"
    else if isDuration value then
      throw "fetchPythonRequirements: ${what} = \"${value}\" is a duration; a fixed-output derivation must not move with the clock: write the instant it stands for, as an RFC 3339 datetime such as \"2021-05-01T00:00:00Z\" (`snapproxy fetch ${option}${value} ...` prints it on its first line)"
    else if builtins.match "[Nn][Oo][Nn][Ee]" value != null then
      throw "fetchPythonRequirements: ${what} = \"${value}\" shows every upload up to the build; a fixed-output derivation must not move with the clock: write an instant such as \"2021-05-01T00:00:00Z\""
    else value;

  fetchPythonRequirements =
    args@{ requirements          # a path, or the text of a requirements file
    , snapshotDate               # "2021-05-01" or an RFC 3339 datetime with a zone
    , hash ? null                # SRI (nix32 and base16 work too); "" for a first build
    , sha256 ? null              # the same, under the older names
    , outputHash ? null
    , packageDates ? { }          # { certifi = "2024-01-01"; }: a cutoff of a project's own
    , indexes ? { }               # { corp = "https://pypi.corp.example/simple/"; }: private indexes
    , routes ? { }                # { "corp-*" = "corp"; }: which projects come from which
    , undatedIndexes ? [ ]        # [ "corp" ]: indexes whose files have no upload time
    , pipVersion ? "26.3"
    , onlyBinary ? false
    , platforms ? [ ]
    , pythonVersion ? null
    , extraArgs ? [ ]
    , name ? "python-requirements"
    }:
    let
      # One hash, under any of the three names; two are an error, as nixpkgs' fetchers make it.
      hashesGiven = builtins.filter (attr: args.${attr} or null != null)
        [ "hash" "sha256" "outputHash" ];
      hashAttr =
        if hashesGiven == [ ] then
          throw "fetchPythonRequirements: give `hash` (\"\" for a first build)"
        else if builtins.length hashesGiven > 1 then
          throw "fetchPythonRequirements: give only one of `hash`, `sha256` and `outputHash`, not `${builtins.concatStringsSep "` and `" hashesGiven}`"
        else builtins.head hashesGiven;
      hashValue = args.${hashAttr};
      hashPosition = builtins.unsafeGetAttrPos hashAttr args;

      # A path, a derivation or a store path string is a file; any other string is its text.
      requirementsFile =
        if builtins.isPath requirements || builtins.isAttrs requirements then requirements
        else if builtins.substring 0 (builtins.stringLength builtins.storeDir + 1) requirements
          == "${builtins.storeDir}/" then requirements
        else builtins.toFile "requirements.txt" requirements;

      date = checkedCutoff "snapshotDate" "--date " snapshotDate;
      ownDates = builtins.mapAttrs
        (project: checkedCutoff "packageDates.${project}" "--package-date ${project}=")
        packageDates;

      # Credentials never enter the derivation (whose text is world-readable in the store):
      # they come from the netrc file named by the impure SNAPPROXY_NETRC, as nixpkgs'
      # fetchurl takes them through netrcImpureEnvVars.
      checkedIndex = name: url:
        if builtins.match "[a-zA-Z][a-zA-Z0-9+.-]*://[^/]*@.*" url != null then
          throw "fetchPythonRequirements: indexes.${name} has credentials in its URL; they would be written into the world-readable derivation: put them in a netrc file and set SNAPPROXY_NETRC to its path for nix-build (or the nix daemon)"
        else url;
      checkedIndexes = builtins.mapAttrs checkedIndex indexes;

      fetchArgs =
        [ "fetch" "--quiet"
          "--requirement" "${requirementsFile}"
          "--date" date
          "--output" (builtins.placeholder "out")
          "--python" pythonExe
          "--pip-version" pipVersion
        ]
        ++ (if onlyBinary then [ "--only-binary" ] else [ ])
        ++ builtins.concatMap (platform: [ "--platform" platform ]) platforms
        ++ (if pythonVersion != null then [ "--python-version" pythonVersion ] else [ ])
        ++ builtins.concatMap (project: [ "--package-date" "${project}=${ownDates.${project}}" ])
          (builtins.attrNames ownDates)
        ++ builtins.concatMap (index: [ "--index" "${index}=${checkedIndexes.${index}}" ])
          (builtins.attrNames checkedIndexes)
        ++ builtins.concatMap (pattern: [ "--route" "${pattern}=${routes.${pattern}}" ])
          (builtins.attrNames routes)
        ++ builtins.concatMap (index: [ "--undated-index" index ]) undatedIndexes
        ++ extraArgs;

      # Every input that shapes the output, so that a changed input gets a new store path
      # (and so a hash mismatch) instead of silently reusing the old output under the old
      # hash.
      inputsDigest = builtins.substring 0 12 (builtins.hashString "sha256" (builtins.toJSON ({
        requirements = builtins.readFile requirementsFile;
        # The checked date: a name is never made for a cutoff that moves.
        snapshotDate = date;
        inherit pipVersion onlyBinary platforms pythonVersion extraArgs;
        python = pythonTarget;
      } // (if packageDates == { } then { } else {
        # Only when given, so that calls without it keep their store paths.
        packageDates = ownDates;
      }) // (if indexes == { } then { } else {
        indexes = checkedIndexes;
        inherit routes undatedIndexes;
      }))));

      drv = derivation ({
        name = "${name}-${inputsDigest}";
        inherit system;
        builder = snapproxyExe;
        args = fetchArgs;

        outputHashMode = "recursive";
        outputHashAlgo = "sha256";
        outputHash = if hashValue == "" then fakeHash else hashValue;

        # As nixpkgs' fetchers: a fixed-output build may see the caller's proxy settings.
        impureEnvVars = [
          "http_proxy" "https_proxy" "ftp_proxy" "all_proxy" "no_proxy"
          "HTTP_PROXY" "HTTPS_PROXY" "FTP_PROXY" "ALL_PROXY" "NO_PROXY"
          "NIX_SSL_CERT_FILE"
          # The netrc file with the private indexes' credentials (read as --netrc).
          "SNAPPROXY_NETRC"
        ];
        preferLocalBuild = true;
      } // (if cacert != null then {
        # NIX_SSL_CERT_FILE is impure (the caller's, or empty, wins over a value set here),
        # so the bundle is named again where nothing overrides it.
        SSL_CERT_FILE = "${cacert}/etc/ssl/certs/ca-bundle.crt";
      } else { }));
    in
    drv // {
      # What `snapproxy refresh` reads: the fetch it would run, where the hash is written,
      # and the same call with another hash.
      snapproxyFetch = {
        inherit fetchArgs hashAttr;
        hash = hashValue;
        inherit hashPosition;
        withHash = newHash:
          fetchPythonRequirements
            ((builtins.removeAttrs args [ "hash" "sha256" "outputHash" ]) // { hash = newHash; });
      };

      # As nixpkgs' passthru.updateScript (nix-update, maintainers/scripts/update.nix): the
      # command that makes the hash true again, in the file where it is written.
      updateScript =
        if hashPosition == null then null
        else [ snapproxyExe "refresh" hashPosition.file ];
    };
in
fetchPythonRequirements
