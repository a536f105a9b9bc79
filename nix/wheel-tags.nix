# Wheel tags in pure Nix: the tags CPython supports on a Nix system, best first, and the
# best file of a package for them.
#
# The order is packaging.tags.sys_tags' (packaging 26, which pip 26 vendors) for a CPython
# X.Y with the default (not free-threaded, not debug) ABI:
#
#   cpXY-cpXY-P, cpXY-abi3-P, cpXY-none-P    for each platform P, best first
#   cpX(Y-1)-abi3-P ... cp32-abi3-P          abi3 wheels built for older Pythons
#   pyXY-none-P, py3-none-P, pyX(Y-1)-none-P ... py30-none-P
#   cpXY-none-any, pyXY-none-any, py3-none-any, pyX(Y-1)-none-any ... py30-none-any
#
# Platforms (PEP 425 platform tags):
# - Linux (glibc): linux_ARCH, then PEP 600's manylinux_2_N_ARCH from the given glibc down
#   to 2.5 on x86_64 (2.17 on aarch64), each of 2.17, 2.12 and 2.5 followed by its legacy
#   name (manylinux2014 of PEP 599, manylinux2010, manylinux1). No musllinux (PEP 656):
#   nixpkgs' Python is linked with glibc.
# - macOS: packaging's mac_platforms for macosVersion and the machine: macosx_14_0_arm64,
#   ..., macosx_11_0_arm64, then the universal2 wheels of 10.16 down to 10.4 (arm64), or the
#   x86_64/intel/fat64/fat3/universal2/universal formats of every release (x86_64).
#
# glibcVersion defaults to 2.40, the glibc of nixpkgs 24.11 and 25.05 (nix/default.nix
# passes stdenv's own); with Nix alone and a distribution's Python, pass that system's
# (`ldd --version`). macosVersion defaults to 11.0, the oldest macOS nixpkgs supports on
# both machines (nix/default.nix passes the platform's darwinMinVersion).
let
  inherit (builtins)
    concatLists concatMap concatStringsSep elemAt filter genList head isString length
    listToAttrs match sort split toJSON;

  show = toJSON;
  toLower = builtins.replaceStrings
    [ "A" "B" "C" "D" "E" "F" "G" "H" "I" "J" "K" "L" "M" "N" "O" "P" "Q" "R" "S" "T" "U" "V" "W" "X" "Y" "Z" ]
    [ "a" "b" "c" "d" "e" "f" "g" "h" "i" "j" "k" "l" "m" "n" "o" "p" "q" "r" "s" "t" "u" "v" "w" "x" "y" "z" ];
  toInt = digits: builtins.fromJSON (head (match "0*([0-9]+)" digits));

  # [ from, from - 1, ..., to ] (empty when from < to).
  downTo = from: to: if from < to then [ ] else genList (i: from - i) (from - to + 1);

  # "2.40" or nixpkgs' "2.40-66" as { major; minor; }.
  majorMinor = what: text:
    let m = match "([0-9]+)[.]([0-9]+).*" text;
    in
    if m == null then throw "wheel tags: ${what} ${show text} is not a version such as \"2.40\""
    else { major = toInt (head m); minor = toInt (elemAt m 1); };

  # packaging._manylinux.platform_tags for one architecture.
  manylinuxPlatforms = arch: glibcVersion:
    let
      glibc = majorMinor "glibcVersion" glibcVersion;
      # The oldest glibc with a manylinux tag: 2.5 on x86, 2.17 elsewhere.
      oldest = if arch == "x86_64" || arch == "i686" then 5 else 17;
      legacy = { "17" = "manylinux2014"; "12" = "manylinux2010"; "5" = "manylinux1"; };
      tags = minor:
        [ "manylinux_2_${toString minor}_${arch}" ]
        ++ (if legacy ? ${toString minor} then [ "${legacy.${toString minor}}_${arch}" ] else [ ]);
    in
    if glibc.major != 2 then throw "wheel tags: glibcVersion ${show glibcVersion}: only glibc 2.x is known"
    else concatMap tags (downTo glibc.minor oldest);

  # packaging.tags._mac_binary_formats for x86_64 and arm64.
  macFormats = major: minor: arch:
    if arch == "arm64" then [ "arm64" "universal2" ]
    else if major == 10 && minor < 4 then [ ]
    else [ "x86_64" "intel" "fat64" "fat3" "universal2" "universal" ];

  # packaging.tags.mac_platforms.
  macPlatforms = arch: macosVersion:
    let
      mac = majorMinor "macosVersion" macosVersion;
      tag = major: minor: format: "macosx_${toString major}_${toString minor}_${format}";
      forRelease = major: minor: map (tag major minor) (macFormats major minor arch);
    in
    if mac.major == 10 then concatMap (forRelease 10) (downTo mac.minor 0)
    else if mac.major < 10 then throw "wheel tags: macosVersion ${show macosVersion} is too old"
    # From macOS 11 on, each release is a major version; its wheels say X_0.
    else concatMap (major: forRelease major 0) (downTo mac.major 11)
      ++ (if arch == "x86_64" then concatMap (forRelease 10) (downTo 16 4)
      # arm64 came with 11.0: older releases have only universal2 wheels for it.
      else map (minor: tag 10 minor "universal2") (downTo 16 4));

  systems = {
    x86_64-linux = { os = "linux"; arch = "x86_64"; };
    aarch64-linux = { os = "linux"; arch = "aarch64"; };
    x86_64-darwin = { os = "darwin"; arch = "x86_64"; };
    aarch64-darwin = { os = "darwin"; arch = "arm64"; };
  };

  # The platform tags of a Nix system, best first.
  platformTags = { system, glibcVersion ? "2.40", macosVersion ? "11.0" }:
    let
      target = systems.${system} or (throw
        "wheel tags: the system ${show system} is not supported (supported: ${concatStringsSep ", " (builtins.attrNames systems)})");
    in
    if target.os == "linux" then [ "linux_${target.arch}" ] ++ manylinuxPlatforms target.arch glibcVersion
    else macPlatforms target.arch macosVersion;

  # The tags CPython `pythonVersion` ("3.11" or "3.11.7") supports on `system`, best first.
  supportedTags = { system, pythonVersion, glibcVersion ? "2.40", macosVersion ? "11.0" }:
    let
      python = majorMinor "pythonVersion" pythonVersion;
      major = toString python.major;
      cp = "cp${major}${toString python.minor}";
      platforms = platformTags { inherit system glibcVersion macosVersion; };
      onPlatforms = prefix: map (platform: "${prefix}-${platform}") platforms;
      # Py_LIMITED_API (abi3, PEP 384) exists from 3.2 on.
      abi3 = python.major == 3 && python.minor >= 2;
      olderAbi3 = if abi3 then concatMap (minor: onPlatforms "cp3${toString minor}-abi3") (downTo (python.minor - 1) 2) else [ ];
      # pyXY, pyX, then pyX(Y-1) ... pyX0.
      pythons = [ "py${major}${toString python.minor}" "py${major}" ]
        ++ map (minor: "py${major}${toString minor}") (downTo (python.minor - 1) 0);
    in
    onPlatforms "${cp}-${cp}"
    ++ (if abi3 then onPlatforms "${cp}-abi3" else [ ])
    ++ onPlatforms "${cp}-none"
    ++ olderAbi3
    ++ concatMap (py: onPlatforms "${py}-none") pythons
    ++ [ "${cp}-none-any" ]
    ++ map (py: "${py}-none-any") pythons;

  # A wheel file name (PEP 427: NAME-VERSION[-BUILD]-PY-ABI-PLATFORM.whl) as
  # { name; version; build = [ number rest ] | null; tags; }, with every tag a compressed
  # tag set stands for (py2.py3-none-any is py2-none-any and py3-none-any); null for a
  # name that is no wheel's.
  parseWheelName = filename:
    let
      stem = match "(.*)[.]whl" filename;
      parts = filter isString (split "-" (head stem));
      count = length parts;
      part = elemAt parts;
      build = if count == 6 then match "([0-9]+)(.*)" (part 2) else null;
      dots = text: filter isString (split "[.]" (toLower text));
      tags = concatMap (py: concatMap (abi: map (platform: "${py}-${abi}-${platform}")
        (dots (part (count - 1)))) (dots (part (count - 2)))) (dots (part (count - 3)));
    in
    if stem == null || (count != 5 && count != 6) || (count == 6 && build == null) then null
    else {
      name = part 0;
      version = part 1;
      build = if build == null then null else [ (toInt (head build)) (elemAt build 1) ];
      inherit tags;
    };

  # The index of each supported tag: { "cp311-cp311-manylinux_2_17_x86_64" = 0; ... }.
  tagRanks = tags: listToAttrs (genList (i: { name = elemAt tags i; value = i; }) (length tags));

  # The best of `files` (each with `name`, the file name) for the supported tags (a list,
  # best first): the wheel with the best-ranked tag (ties: the higher build number, then
  # the name), else the first file that is no wheel (an sdist), else null.
  bestFile = tags: files:
    let
      ranks = tagRanks tags;
      rank = wheel:
        let found = filter (tag: ranks ? ${tag}) wheel.parsed.tags;
        in if found == [ ] then null else builtins.foldl' (best: tag: if ranks.${tag} < best then ranks.${tag} else best) ranks.${head found} found;
      wheels = concatMap
        (file:
          let parsed = parseWheelName file.name;
          in if parsed == null then [ ] else [ ({ inherit file parsed; } // { rank = rank { inherit parsed; }; }) ])
        files;
      usable = filter (w: w.rank != null) wheels;
      buildOf = w: if w.parsed.build == null then [ (-1) "" ] else w.parsed.build;
      better = a: b:
        if a.rank != b.rank then a.rank < b.rank
        else if buildOf a != buildOf b then
          (let x = buildOf a; y = buildOf b; in head x > head y || (head x == head y && elemAt x 1 > elemAt y 1))
        else a.file.name < b.file.name;
      others = filter (file: parseWheelName file.name == null) files;
    in
    if usable != [ ] then (head (sort better usable)).file
    else if others != [ ] then head others
    else null;
in
{
  inherit platformTags supportedTags parseWheelName bestFile macPlatforms manylinuxPlatforms;
}
