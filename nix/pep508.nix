# PEP 508 environment markers, parsed and evaluated in pure Nix (no nixpkgs, no
# import-from-derivation), with the PEP 440 version comparisons they need.
#
# The semantics are packaging's (`packaging.markers.Marker.evaluate`, packaging 26), which
# pip and uv follow, including for the PEP 751 lock-file variables `extras` and
# `dependency_groups` (sets: `'dev' in dependency_groups`):
#
# - the grammar of PEP 508: `and` binds tighter than `or`, parentheses, either operand order
#   (`"3.8" <= python_version`), '...' and "..." strings, the operators
#   `== != < <= > >= ~= === in not in`, and the legacy dotted names (`os.name`,
#   `sys.platform`, `platform.machine`, `platform.python_implementation`, ...);
# - for the version variables (python_version, python_full_version, implementation_version,
#   platform_release), a comparison whose operator and literal form a PEP 440 specifier is
#   that specifier's `contains` (with pre-releases): `python_version == "3.11.*"`,
#   `python_full_version >= "3.8.1"`;
# - everything else compares strings: `in`/`not in` are substring tests, `==`/`!=`
#   equality, and (as packaging does) `<=`/`>=` equality, `<`/`>` false; `~=` and `===`
#   between strings are errors;
# - extra names and group names compare normalised (PEP 685, PEP 735).
#
# A variable the environment does not define (`platform_release`: the kernel is not known
# when Nix evaluates; `extra` in a lock file) is an error that names it, as is any syntax
# error. `and`/`or` stop at the first operand that decides, so an error in an operand that
# is not needed does not fire (packaging evaluates every operand).
#
# An environment may give python_full_version / implementation_version as
# `{ anyPatchOf = "3.11"; }` when only the minor version is known: a comparison is then
# answered when it gives the same result for every 3.11.N, and fails asking for the full
# version otherwise (`python_full_version >= "3.11.4"`).
let
  inherit (builtins)
    all any concatMap concatStringsSep elem elemAt filter foldl' fromJSON genList head
    isAttrs isList isString length match replaceStrings split stringLength substring tail
    toJSON;

  show = toJSON;

  upper = [ "A" "B" "C" "D" "E" "F" "G" "H" "I" "J" "K" "L" "M" "N" "O" "P" "Q" "R" "S" "T" "U" "V" "W" "X" "Y" "Z" ];
  lowerLetters = [ "a" "b" "c" "d" "e" "f" "g" "h" "i" "j" "k" "l" "m" "n" "o" "p" "q" "r" "s" "t" "u" "v" "w" "x" "y" "z" ];
  toLower = replaceStrings upper lowerLetters;

  # The text without leading and trailing white space.
  trim = s:
    let m = match "[[:space:]]*(.*[^[:space:]])?[[:space:]]*" s;
    in if m == null || head m == null then "" else head m;

  # PEP 503 normalisation, which PEP 685 (extras) and PEP 735 (groups) compare by.
  canonicalizeName = name:
    concatStringsSep "-" (filter isString (split "[-_.]+" (toLower name)));

  # A decimal digit string as an integer ("007" is 7; fromJSON refuses leading zeros).
  toInt = digits: fromJSON (head (match "0*([0-9]+)" digits));

  # -1, 0 or 1, comparing integers, strings and lists of them (lexicographically, a
  # prefix first), as Python compares tuples.
  compare = a: b:
    if isList a then compareLists a b
    else if a < b then -1
    else if a == b then 0
    else 1;
  compareLists = a: b:
    if a == [ ] then (if b == [ ] then 0 else -1)
    else if b == [ ] then 1
    else
      let first = compare (head a) (head b);
      in if first != 0 then first else compareLists (tail a) (tail b);

  # ---- PEP 440 versions --------------------------------------------------------------------

  # packaging's VERSION_PATTERN in POSIX ERE (applied to the lower-cased, trimmed text).
  # Groups (from 0, as builtins.match numbers them): 1 epoch, 2 release, 5 pre letter,
  # 6 pre number, 9 post number (1.0-1), 10 post (1.0.post1), 12 its number, 13 dev,
  # 15 its number, 17 local.
  versionRegex =
    "v?(([0-9]+)!)?([0-9]+([.][0-9]+)*)"
    + "([-_.]?(alpha|a|beta|b|preview|pre|c|rc)[-_.]?([0-9]+)?)?"
    + "((-([0-9]+))|([-_.]?(post|rev|r)[-_.]?([0-9]+)?))?"
    + "([-_.]?(dev)[-_.]?([0-9]+)?)?"
    + "([+]([a-z0-9]+([-_.][a-z0-9]+)*))?";

  optionalInt = digits: if digits == null then 0 else toInt digits;

  # { epoch; release; pre = null | [ "a"|"b"|"rc" n ]; post; dev; local; text } or null
  # for text that is no PEP 440 version.
  parseVersion = text:
    let
      m = match versionRegex (toLower (trim text));
      group = elemAt m;
      preLetter = { alpha = "a"; a = "a"; beta = "b"; b = "b"; c = "rc"; pre = "rc"; preview = "rc"; rc = "rc"; };
    in
    if m == null then null
    else {
      inherit text;
      epoch = optionalInt (group 1);
      release = map toInt (filter isString (split "[.]" (group 2)));
      pre = if group 5 == null then null else [ preLetter.${group 5} (optionalInt (group 6)) ];
      post =
        if group 9 != null then toInt (group 9)
        else if group 10 != null then optionalInt (group 12)
        else null;
      dev = if group 13 == null then null else optionalInt (group 15);
      local =
        if group 17 == null then null
        else map (part: if match "[0-9]+" part != null then toInt part else part)
          (filter isString (split "[-_.]" (group 17)));
    };

  # Trailing zeros do not count: 1.0 == 1.
  trimRelease = release:
    let
      go = r: if r != [ ] && (elemAt r (length r - 1)) == 0 then go (genList (elemAt r) (length r - 1)) else r;
    in
    go release;

  # packaging's _cmpkey, with -1 / 1 standing for its negative / positive infinity.
  versionKey = v: [
    v.epoch
    (trimRelease v.release)
    (if v.pre == null && v.post == null && v.dev != null then [ (-1) ]
    else if v.pre == null then [ 1 ]
    else [ 0 ] ++ v.pre)
    (if v.post == null then [ (-1) ] else [ 0 v.post ])
    (if v.dev == null then [ 1 ] else [ 0 v.dev ])
    (if v.local == null then [ (-1) ]
    else [ 0 (map (part: if isString part then [ 0 part ] else [ 1 part ]) v.local) ])
  ];

  compareVersions = a: b: compareLists (versionKey a) (versionKey b);

  public = v: v // { local = null; };

  # The first `n` release numbers of v, padded with zeros.
  releasePrefix = n: v: genList (i: if i < length v.release then elemAt v.release i else 0) n;

  # ---- PEP 440 specifiers (one clause) -----------------------------------------------------

  # packaging's specifier regex in POSIX ERE, per operator (lower-cased text).
  releasePart = "v?([0-9]+!)?[0-9]+([.][0-9]+)*";
  prePart = "([-_.]?(alpha|beta|preview|pre|a|b|c|rc)[-_.]?[0-9]*)?";
  postPart = "((-[0-9]+)|([-_.]?(post|rev|r)[-_.]?[0-9]*))?";
  devPart = "([-_.]?dev[-_.]?[0-9]*)?";
  localPart = "([+][a-z0-9]+([-_.][a-z0-9]+)*)?";
  specifierRegex = {
    "===" = "[^[:space:];)]+";
    "==" = "${releasePart}([.][*]|${prePart}${postPart}${devPart}${localPart})";
    "!=" = specifierRegex."==";
    "~=" = "v?([0-9]+!)?[0-9]+([.][0-9]+)+${prePart}${postPart}${devPart}";
    "<=" = "${releasePart}${prePart}${postPart}${devPart}";
    ">=" = specifierRegex."<=";
    "<" = specifierRegex."<=";
    ">" = specifierRegex."<=";
  };

  # { op; literal; wildcard; version } for a valid specifier `op literal`, else null.
  parseSpecifier = op: literal:
    let
      text = trim literal;
      regex = specifierRegex.${op} or null;
      wildcard = match "(.*)[.][*]" text;
    in
    if regex == null || match regex (toLower text) == null then null
    else {
      inherit op;
      literal = text;
      wildcard = op != "===" && wildcard != null;
      version =
        if op == "===" then null
        else parseVersion (if wildcard != null then head wildcard else text);
    };

  # Whether the version text `item` satisfies the specifier (pre-releases allowed).
  specifierContains = spec: item:
    let
      v = parseVersion item;
      s = spec.version;
      key = versionKey v;
      specKey = versionKey s;
      order = compareVersions v s;
      orderPublic = compareVersions (public v) s;
      # epoch and release equal, the part <V and >V treat specially (PEP 440).
      sameRelease = v.epoch == s.epoch && trimRelease v.release == trimRelease s.release;
      prefixMatches = n: v.epoch == s.epoch && releasePrefix n v == releasePrefix n s;
      equal = if s.local != null then order == 0 else orderPublic == 0;
    in
    if spec.op == "===" then toLower item == toLower spec.literal
    else if v == null then false # packaging: an unparsable version matches nothing
    else if spec.op == "==" then (if spec.wildcard then prefixMatches (length s.release) else equal)
    else if spec.op == "!=" then !(if spec.wildcard then prefixMatches (length s.release) else equal)
    else if spec.op == "<=" then orderPublic <= 0
    else if spec.op == ">=" then orderPublic >= 0
    else if spec.op == "~=" then orderPublic >= 0 && prefixMatches (length s.release - 1)
    else if spec.op == "<" then
    # <V admits no pre-release of V unless V is one.
      if !sameRelease || s.pre != null || s.dev != null then compareLists key specKey < 0
      else if s.post == null then false
      else compareLists key specKey < 0 && v.pre == null && !(v.dev != null && v.post == null)
    else # ">"
    # >V admits no post-release of V unless V is one, and never a local version of V.
      if !sameRelease then compareLists key specKey > 0
      else if v.local != null && orderPublic == 0 then false
      else if s.dev != null || s.post != null then compareLists key specKey > 0
      else compareLists key specKey > 0 && v.pre != s.pre;

  # ---- markers: tokens ---------------------------------------------------------------------

  tokenRegex = "[[:space:]]*([(]|[)]|'[^']*'|\"[^\"]*\"|===|==|!=|~=|<=|>=|<|>|[A-Za-z_][A-Za-z0-9_.]*)";

  tokenize = marker:
    let
      parts = split tokenRegex marker;
      stray = filter (part: isString part && trim part != "") parts;
      classify = text:
        let first = substring 0 1 text;
        in
        if text == "(" || text == ")" then { kind = text; inherit text; }
        else if first == "'" || first == "\"" then
          { kind = "string"; inherit text; value = substring 1 (stringLength text - 2) text; }
        else if match "[A-Za-z_].*" text != null then { kind = "word"; inherit text; }
        else { kind = "op"; inherit text; };
    in
    if stray != [ ] then throw "PEP 508 marker ${show marker}: cannot read ${show (trim (head stray))}"
    else map (part: classify (head part)) (filter isList parts);

  # The variables of PEP 508 and PEP 751 (and the legacy spellings packaging accepts), as
  # the environment names them.
  variableNames = {
    python_version = "python_version";
    python_full_version = "python_full_version";
    os_name = "os_name";
    "os.name" = "os_name";
    sys_platform = "sys_platform";
    "sys.platform" = "sys_platform";
    platform_release = "platform_release";
    platform_system = "platform_system";
    platform_version = "platform_version";
    "platform.version" = "platform_version";
    platform_machine = "platform_machine";
    "platform.machine" = "platform_machine";
    platform_python_implementation = "platform_python_implementation";
    "platform.python_implementation" = "platform_python_implementation";
    python_implementation = "platform_python_implementation";
    implementation_name = "implementation_name";
    implementation_version = "implementation_version";
    extra = "extra";
    extras = "extras";
    dependency_groups = "dependency_groups";
  };

  # ---- markers: parsing --------------------------------------------------------------------

  # The syntax tree of a marker:
  #   { type = "or" | "and"; items = [ node ... ]; }
  #   { type = "compare"; lhs; op; rhs; }  with lhs, rhs = { variable = name; } | { string = s; }
  parse = marker:
    let
      tokens = tokenize marker;
      count = length tokens;
      at = i: if i < count then elemAt tokens i else { kind = "end"; text = "the end"; };
      isWord = i: word: (at i).kind == "word" && (at i).text == word;
      fail = i: expected:
        throw "PEP 508 marker ${show marker}: expected ${expected}, found ${show (at i).text}";

      # One of `or`'s and `and`'s levels: operands separated by `word`.
      chain = type: word: operand: i:
        let
          first = operand i;
          more = items: j:
            if isWord j word then
              let next = operand (j + 1); in more (items ++ [ next.node ]) next.next
            else { node = if length items == 1 then head items else { inherit type items; }; next = j; };
        in
        more [ first.node ] first.next;

      orExpr = chain "or" "or" andExpr;
      andExpr = chain "and" "and" atom;

      atom = i:
        if (at i).kind == "(" then
          let inner = orExpr (i + 1);
          in if (at inner.next).kind == ")" then { inherit (inner) node; next = inner.next + 1; }
          else fail inner.next "\")\""
        else
          let
            lhs = operand i;
            op = operator lhs.next;
            rhs = operand op.next;
          in
          { node = { type = "compare"; lhs = lhs.value; op = op.value; rhs = rhs.value; }; next = rhs.next; };

      operand = i:
        let token = at i;
        in
        if token.kind == "string" then { value = { string = token.value; }; next = i + 1; }
        else if token.kind == "word" && variableNames ? ${token.text} then
          { value = { variable = variableNames.${token.text}; }; next = i + 1; }
        else if token.kind == "word" && !(elem token.text [ "and" "or" "not" "in" ]) then
          throw "PEP 508 marker ${show marker}: unknown variable ${show token.text}"
        else fail i "a quoted string or a marker variable";

      operator = i:
        let token = at i;
        in
        if token.kind == "op" then { value = token.text; next = i + 1; }
        else if isWord i "in" then { value = "in"; next = i + 1; }
        else if isWord i "not" && isWord (i + 1) "in" then { value = "not in"; next = i + 2; }
        else fail i "a comparison operator";

      result = orExpr 0;
    in
    if (at result.next).kind != "end" then fail result.next "\"and\", \"or\" or the end"
    else result.node;

  # ---- markers: evaluation -----------------------------------------------------------------

  versionVariables = [ "python_version" "python_full_version" "implementation_version" "platform_release" ];
  setVariables = [ "extras" "dependency_groups" ];

  # packaging's comparison of two strings (one from the environment) for `key`.
  compareStrings = key: lhs: op: rhs:
    let spec = if elem key versionVariables then parseSpecifier op rhs else null;
    in
    if spec != null then specifierContains spec lhs
    else if op == "in" then lhs == "" || replaceStrings [ lhs ] [ "" ] rhs != rhs
    else if op == "not in" then !(lhs == "" || replaceStrings [ lhs ] [ "" ] rhs != rhs)
    else if elem op [ "==" "<=" ">=" ] then lhs == rhs
    else if op == "!=" then lhs != rhs
    else if elem op [ "<" ">" ] then false
    else throw "PEP 508: ${show op} is not defined between ${show lhs} and ${show rhs} (${key})";

  # `{ anyPatchOf = "3.11"; }`: the result when it is the same for every patch level.
  compareAnyPatch = key: value: envOnLeft: op: literal: whole:
    let
      base = value.anyPatchOf;
      baseRelease = map toInt (filter isString (split "[.]" base));
      stated = parseVersion (let w = match "(.*)[.][*]" (trim literal); in if w == null then literal else head w);
      patch =
        if stated != null && length stated.release >= 3 && releasePrefix 2 stated == baseRelease
        then elemAt stated.release 2 else null;
      patches = [ 0 1000000 ] ++ (if patch == null then [ ] else [ patch (patch + 1) ] ++ (if patch > 0 then [ (patch - 1) ] else [ ]));
      at = z:
        let full = "${base}.${toString z}";
        in if envOnLeft then compareStrings key full op literal else compareStrings key literal op full;
      results = map at patches;
      ambiguous = throw "PEP 508: ${whole} depends on the patch level of Python ${base}, which is not known: give the full version (e.g. pythonVersion = \"${base}.4\")";
    in
    if elem op [ "in" "not in" ] then ambiguous
    else if all (r: r == head results) results then head results
    else ambiguous;

  lookup = env: name:
    if env ? ${name} then env.${name}
    else throw "PEP 508: the marker variable ${name} is not defined for this target";

  evaluateCompare = env: node:
    let
      inherit (node) lhs op rhs;
      envOnLeft = lhs ? variable;
      key = if envOnLeft then lhs.variable else rhs.variable;
      literal = if envOnLeft then rhs.string else lhs.string;
      value = lookup env key;
      whole = "`${format node}`";
      # Extra and group names compare normalised (PEP 685, PEP 735).
      normal = if key == "extra" then canonicalizeName else (s: s);
    in
    if lhs ? variable && rhs ? variable then throw "PEP 508: ${whole} compares two variables"
    else if lhs ? string && rhs ? string then throw "PEP 508: ${whole} compares two strings"
    else if elem key setVariables then
      if envOnLeft then
        throw "PEP 508: ${whole}: ${key} is a set; only `\"name\" in ${key}` and `not in` compare with it"
      else
        let
          member = elem (canonicalizeName literal) (map canonicalizeName value);
        in
        if op == "in" then member
        else if op == "not in" then !member
        else if op == "!=" then true
        else if elem op [ "==" "<=" ">=" "<" ">" ] then false
        else throw "PEP 508: ${whole}: ${op} is not defined for a set"
    else if isAttrs value then compareAnyPatch key value envOnLeft op literal whole
    else if envOnLeft then compareStrings key (normal value) op (normal literal)
    else compareStrings key (normal literal) op (normal value);

  evaluateNode = env: node:
    if node.type == "or" then any (evaluateNode env) node.items
    else if node.type == "and" then all (evaluateNode env) node.items
    else evaluateCompare env node;

  # The marker as packaging's str(Marker) writes it (double quotes, single spaces).
  format = node:
    let
      side = s: if s ? variable then s.variable else show s.string;
      group = child: if child.type == "compare" then format child else "(${format child})";
    in
    if node.type == "compare" then "${side node.lhs} ${node.op} ${side node.rhs}"
    else concatStringsSep " ${node.type} " (map group node.items);

  # ---- the environment of a Nix system -----------------------------------------------------

  # What a CPython interpreter reports on each Nix system (platform.machine() says arm64 on
  # Apple silicon, aarch64 on Linux).
  platforms = {
    x86_64-linux = { sys_platform = "linux"; platform_system = "Linux"; platform_machine = "x86_64"; };
    aarch64-linux = { sys_platform = "linux"; platform_system = "Linux"; platform_machine = "aarch64"; };
    x86_64-darwin = { sys_platform = "darwin"; platform_system = "Darwin"; platform_machine = "x86_64"; };
    aarch64-darwin = { sys_platform = "darwin"; platform_system = "Darwin"; platform_machine = "arm64"; };
  };

  # "3.11" or "3.11.7" (or "3.13.0rc1") as { minor = "3.11"; full = "3.11.7" | null; }.
  parsePythonVersion = text:
    let m = match "([0-9]+)[.]([0-9]+)([.][0-9]+([a-z]+[0-9]+)?)?" text;
    in
    if m == null then throw "pythonVersion ${show text} is not a CPython version such as \"3.11\" or \"3.11.7\""
    else { minor = "${elemAt m 0}.${elemAt m 1}"; full = if elemAt m 2 == null then null else text; };

  # The PEP 508 environment of CPython `pythonVersion` on the Nix `system`, with the PEP 751
  # lock-file sets `extras` and `dependency_groups`. A pythonVersion without its patch level
  # gives python_full_version as { anyPatchOf = "X.Y"; } (see the top of this file).
  environmentFor = { system, pythonVersion, extras ? [ ], dependencyGroups ? [ ] }:
    let
      python = parsePythonVersion pythonVersion;
      platform = platforms.${system} or (throw
        "PEP 508: no marker environment for the system ${show system} (known: ${concatStringsSep ", " (builtins.attrNames platforms)})");
      # sys.implementation.version: "3.13.0rc1" is "3.13.0c1" there.
      full = if python.full == null then { anyPatchOf = python.minor; } else python.full;
      implementationVersion = if python.full == null then full else replaceStrings [ "rc" ] [ "c" ] python.full;
    in
    platform // {
      os_name = "posix";
      implementation_name = "cpython";
      platform_python_implementation = "CPython";
      python_version = python.minor;
      python_full_version = full;
      implementation_version = implementationVersion;
      inherit extras;
      dependency_groups = dependencyGroups;
    };

  # Whether `pythonVersion` (as environmentFor takes it) satisfies a PEP 440 specifier set
  # such as a lock's requires-python (">=3.9, <4").
  pythonSatisfies = pythonVersion: specifiers:
    let
      python = parsePythonVersion pythonVersion;
      value = if python.full == null then { anyPatchOf = python.minor; } else python.full;
      clauses = filter (c: c != "") (map trim (filter isString (split "," specifiers)));
      holds = clause:
        let
          m = match "(===|==|!=|~=|<=|>=|<|>)(.*)" clause;
          spec = if m == null then null else parseSpecifier (head m) (elemAt m 1);
          whole = "python ${clause}";
        in
        if spec == null then throw "requires-python ${show specifiers}: ${show clause} is no PEP 440 specifier"
        else if isAttrs value then compareAnyPatch "python_full_version" value true (head m) (elemAt m 1) whole
        else specifierContains spec value;
    in
    all holds clauses;

  # The literal `variable == "..."` pins when the marker is such a comparison or an `and`
  # of comparisons that includes one; else null. (snapproxy's single-target locks name
  # their Python this way: `... and python_version == "3.11" and ...`.)
  pinnedValue = variable: marker:
    let
      node = parse marker;
      pins = n:
        if n.type == "compare" && n.op == "==" && n.lhs ? variable && n.lhs.variable == variable && n.rhs ? string then [ n.rhs.string ]
        else if n.type == "and" then concatMap pins n.items
        else [ ];
      found = pins node;
    in
    if found == [ ] then null else head found;
in
{
  inherit parse format environmentFor pythonSatisfies pinnedValue canonicalizeName parseVersion
    compareVersions parseSpecifier specifierContains;

  # evaluate env marker: whether the marker (a string) holds in the environment `env`.
  evaluate = env: marker: evaluateNode env (parse marker);
}
