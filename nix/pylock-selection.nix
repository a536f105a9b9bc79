# Which packages and files of a PEP 751 lock (pylock.toml) one target takes, decided while
# Nix evaluates (no import-from-derivation): the engine of wheelhouseFromPylock.
#
# Any PEP 751 lock: snapproxy's, uv's (`uv pip compile --universal --format pylock.toml`,
# `uv export --format pylock.toml`) and pip's (`pip lock`): files without `name` (named by
# the last segment of their URL), inline tables, TOML datetimes, no tool table.
#
# For a target (a Nix system and a CPython version):
# - if the lock lists `environments`, one of them must hold, else the lock is not for it;
#   if it has `requires-python`, the Python must satisfy it;
# - a package is taken when its `marker` holds (PEP 508, nix/pep508.nix; no marker: always),
#   with `extras` and `dependency_groups` as asked (default: the lock's default-groups);
# - each package taken gets its best wheel for the target's tags (nix/wheel-tags.nix), or
#   its sdist when no wheel fits; none at all is an error naming the package and target;
# - a package taken with a requires-python of its own must admit the Python;
# - a name taken at two versions is an error (a lock's markers keep them exclusive);
# - snapproxy's build requirements (what `'snapproxy-build' in dependency_groups` adds)
#   come along when a package taken is an sdist, unless dependencyGroups is given, so
#   that the wheelhouse builds it offline; they are not installed, and may come at two
#   versions (each sdist builds in an environment of its own), as `snapproxy fetch` has
#   them. The same rules as fetcher/pylock_selection.py, the Python half.
#
# requirements.lock.txt, which installs the wheelhouse offline (`pip install --no-index
# --find-links WHEELHOUSE --require-hashes -r WHEELHOUSE/requirements.lock.txt`): a
# single-target snapproxy lock's own `[tool.snapproxy] requirements-lock` (created by
# snapproxy, one environment), as `snapproxy fetch` writes it; for any other lock, the same
# format made from the
# selection: `name==version \` and `    --hash=sha256:HEX` per package taken (not the
# build requirements), sorted by name (fetcher/requirements_lock.py).
let
  inherit (builtins)
    all any attrNames attrValues concatMap concatStringsSep elem elemAt filter fromTOML
    groupBy head isList isString length listToAttrs map match replaceStrings sort split
    stringLength substring toJSON;

  pep508 = import ./pep508.nix;
  wheelTags = import ./wheel-tags.nix;

  show = toJSON;
  buildGroup = "snapproxy-build";

  # ---- reading -----------------------------------------------------------------------------

  # TOML date-times (RFC 3339, with `T` or a space, fractional seconds, `Z` or an offset;
  # also local dates and times) as values: upload-time = 2023-05-01T12:00:00Z.
  datetime =
    "[0-9]{4}-[0-9]{2}-[0-9]{2}([Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}([.][0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})?)?"
    + "|[0-9]{2}:[0-9]{2}:[0-9]{2}([.][0-9]+)?";

  # Nix before 2.16 cannot read TOML date-times ("Dates and times are not supported") and
  # later ones read them as a set of their own; nothing here needs them, so each is read as
  # the string it is written as. A value is `= DATETIME` up to white space and then a comma,
  # a closing brace, a comment or the end of the line, in a table or an inline table.
  quoteDatetimes = text:
    concatStringsSep "" (map
      (part:
        if isList part
        then "${elemAt part 0}\"${elemAt part 1}\"${elemAt part 6}"
        else part)
      (split "(=[ \t]*)(${datetime})([ \t]*([,}#\r\n]|$))" text));

  # The lock as Nix data, from a path or the text itself.
  readLock = pylock:
    fromTOML (quoteDatetimes (if builtins.isPath pylock || (isString pylock && substring 0 1 pylock == "/")
    then builtins.readFile pylock else pylock));

  # "%2B" -> "+": printable ASCII only, the characters of an index file name.
  printable = " !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~";
  hexDigits = "0123456789abcdef";
  hexValue = c:
    let
      lower = replaceStrings [ "A" "B" "C" "D" "E" "F" ] [ "a" "b" "c" "d" "e" "f" ] c;
      at = i: if i == 16 then throw "not a hex digit" else if substring i 1 hexDigits == lower then i else at (i + 1);
    in
    at 0;
  percentDecode = text:
    concatStringsSep "" (map
      (part:
        if isString part then part
        else
          let code = hexValue (substring 0 1 (head part)) * 16 + hexValue (substring 1 1 (head part));
          in
          if code < 32 || code > 126 then throw "wheelhouseFromPylock: the URL path ${show text} encodes a byte (${head part}) that is no printable ASCII"
          else substring (code - 32) 1 printable)
      (split "%([0-9A-Fa-f]{2})" text));

  # A file's name: its `name`, else the last segment of its URL's path, percent-decoded
  # (PEP 751 lets `name` out when the URL says it).
  fileName = archive:
    if archive ? name then archive.name
    else if archive ? url then
      let path = head (match "([^?#]*).*" archive.url);
      in percentDecode (elemAt (match "(.*/)?([^/]*)" path) 1)
    else throw "wheelhouseFromPylock: a file has neither a name nor a url";

  # The `python_version` the lock's only environment pins (snapproxy's single-target locks
  # do), or null.
  lockPythonVersion = lock:
    let environments = lock.environments or [ ];
    in if length environments == 1 then pep508.pinnedValue "python_version" (head environments) else null;

  # ---- selecting ---------------------------------------------------------------------------

  select =
    { lock
    , system
    , pythonVersion
    , glibcVersion ? "2.40"
    , macosVersion ? "11.0"
      # null: the lock's default-groups (and snapproxy-build when an sdist is taken)
    , dependencyGroups ? null
    , extras ? [ ]
    }:
    let
      target = "CPython ${pythonVersion} on ${system}";
      fail = message: throw "wheelhouseFromPylock: ${message}";

      groups = if dependencyGroups == null then lock.default-groups or [ ] else dependencyGroups;
      environment = groups: pep508.environmentFor {
        inherit system pythonVersion extras;
        dependencyGroups = groups;
      };

      environments = lock.environments or [ ];
      forTarget =
        if environments != [ ] && !(any (pep508.evaluate (environment groups)) environments)
        then fail "the lock is for ${concatStringsSep "; " (map show environments)}, not for ${target}"
        else if lock ? requires-python && !(pep508.pythonSatisfies pythonVersion lock.requires-python)
        then fail "the lock requires Python ${lock.requires-python}, not ${target}"
        else true;

      tags = wheelTags.supportedTags { inherit system pythonVersion glibcVersion macosVersion; };

      describe = package: "${package.name} ${package.version or "(no version)"}";

      fileOf = package: archive:
        let name = fileName archive;
        in
        if name == "" || name == "." || name == ".." || match ".*[/\\\\].*" name != null
        then fail "${describe package}: ${show name} is no plain file name"
        else {
          inherit name;
          url = archive.url or (fail "${describe package}: ${name} has no url (a local path cannot be fetched)");
          sha256 = archive.hashes.sha256 or (fail "${describe package}: ${name} has no sha256 hash");
          wheel = match ".*[.]whl" name != null;
        };

      # The compressed tag set a wheel's name ends with: cp311-cp311-win_amd64.
      wheelTagsOf = name:
        let m = match ".*-([^-]+-[^-]+-[^-]+)[.]whl" name; in if m == null then name else head m;

      choose = build: package:
        let
          direct = filter (key: package ? ${key}) [ "vcs" "directory" "archive" ];
          files = map (fileOf package) ((package.wheels or [ ]) ++ (if package ? sdist then [ package.sdist ] else [ ]));
          best = wheelTags.bestFile tags files;
          wheels = map (f: wheelTagsOf f.name) (filter (f: f.wheel) files);
        in
        if direct != [ ] then fail "${describe package} comes from a ${head direct}, not an index: only wheels and sdists with a URL can be fetched"
        else if !(package ? version) then fail "${package.name} has no version"
        else if package ? requires-python && !(pep508.pythonSatisfies pythonVersion package.requires-python)
        then fail "${describe package} requires Python ${package.requires-python}, not ${target}"
        else if best == null then
          fail "${describe package} has no file for ${target} (wheels: ${if wheels == [ ] then "none" else concatStringsSep ", " wheels}; no sdist)"
        else {
          inherit (package) name version;
          # A build requirement: in the wheelhouse, not in requirements.lock.txt.
          build = build || (package.tool.snapproxy.build or false) == true;
          file = best;
        };

      takes = groups': package: !(package ? marker) || pep508.evaluate (environment groups') package.marker;

      runtime = map (choose false) (filter (takes groups) lock.packages);
      # The packages the build group adds, when a package taken is an sdist: each sdist is
      # built in an environment of its own, so two versions of one of them are no conflict.
      withBuild =
        dependencyGroups == null
        && elem buildGroup (lock.dependency-groups or [ ])
        && !(elem buildGroup groups)
        && any (p: !p.file.wheel) runtime;
      added = filter (p: !(takes groups p) && takes (groups ++ [ buildGroup ]) p) lock.packages;
      chosen = runtime ++ (if withBuild then map (choose true) added else [ ]);

      # One version per name among what is installed (PEP 751: an ambiguity to refuse).
      checked =
        let
          byName = groupBy (p: pep508.canonicalizeName p.name) (filter (p: !p.build) chosen);
          twice = filter (key: length byName.${key} > 1) (attrNames byName);
          versions = key: concatStringsSep " and " (map (p: p.version) byName.${key});
        in
        if twice == [ ] then chosen
        else fail "${(head byName.${head twice}).name} is taken at ${versions (head twice)} for ${target}: their markers must exclude each other";

      packages = if forTarget then checked else [ ];

      byNormalName = a: b: pep508.canonicalizeName a.name < pep508.canonicalizeName b.name;
      line = p: "${p.name}==${p.version} \\\n    --hash=sha256:${p.file.sha256}\n";
      derived = concatStringsSep "" (map line (sort byNormalName (filter (p: !p.build) packages)));

      # Each file once (a build requirement may be a runtime one too), by name; one name
      # for two different files would put one of them in the wheelhouse under the other's.
      files =
        let
          byFile = groupBy (file: file.name) (map (p: p.file) packages);
          clash = filter (name: length (builtins.attrNames (groupBy (f: f.sha256) byFile.${name})) > 1) (attrNames byFile);
        in
        if clash != [ ] then fail "${head clash} is two different files in the lock (sha256 ${concatStringsSep " and " (map (f: f.sha256) byFile.${head clash})})"
        else map (name: head byFile.${name}) (attrNames byFile);
      own = lock.tool.snapproxy.requirements-lock or null;
    in
    {
      inherit target packages tags files;
      environment = environment groups;
      requirementsLock =
        if own != null && (lock.created-by or "") == "snapproxy" && length environments == 1 && forTarget
        then own else derived;
    };
in
{
  inherit readLock quoteDatetimes fileName lockPythonVersion select;
}
