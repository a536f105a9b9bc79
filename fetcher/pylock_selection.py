"""What a target installs from a PEP 751 lock: its packages, and for each the one file to fetch.

PEP 751's installer steps ("Installation" in the specification), for one environment given
as plain data (its PEP 508 environment and its PEP 425 tags, best first):

1. the lock's ``requires-python`` and ``environments`` must hold for the target;
2. a package is selected when its ``marker`` holds, evaluated with the PEP 751 variables
   ``extras`` (none by default) and ``dependency_groups`` (the lock's ``default-groups``);
   two selected versions of one project are an error;
3. of a selected package, the wheel whose best compatible tag ranks first in the target's
   tags (PEP 425), an sdist only when no wheel fits, an error when neither does.

Pure: a lock document (as ``tomllib`` gives it, or any mapping of that shape) and targets
in, :class:`~fetcher.pylock_writer.LockedFile` values or a :class:`SelectionError` out.
Nothing here reads the running interpreter, the clock or the disk; ``fetcher.fetch`` does.

A ``--target`` knows less than an interpreter: ``3.11`` does not say ``python_full_version``
(nor ``platform_release``, ``platform_version``, ``implementation_version``).  A marker
naming such a variable is evaluated for every value the variable can take that could change
its answer (for ``python_full_version``: each 3.11.x around the versions the marker names);
when the answers differ the selection fails naming the marker and the target, never
guessing.  uv writes ``python_full_version < '3.12'`` where ``python_version`` would do, and
such markers stay decidable this way.

snapproxy writes the build requirements of sdists behind ``'snapproxy-build' in
dependency_groups``; they are not selected by default (:func:`select`).  A wheelhouse
(:func:`wheelhouse_files`) adds them when the selection holds an sdist, since building it
offline needs them, each as a build environment of its own (two versions of a build
requirement may both be there, as ``snapproxy fetch`` puts them).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from packaging.markers import Marker
from packaging.specifiers import SpecifierSet
from packaging.tags import Tag
from packaging.utils import canonicalize_name, parse_wheel_filename
from packaging.version import InvalidVersion, Version

from fetcher.lock_target import LockTarget
from fetcher.pylock_reading import (
    archive_file,
    direct_source,
    tool_table,
)
from fetcher.pylock_writer import (
    BUILD_GROUP,
    LockedFile,
    Pylock,
    PylockValidationError,
    archive_filename,
)
from fetcher.requirements_lock import render_lock

__all__ = [
    "SelectionError",
    "SelectionTarget",
    "select",
    "wheelhouse_files",
    "wheelhouse_lock_text",
]

# The environment markers of PEP 508: what an interpreter knows of itself.
_PEP_508_VARIABLES = frozenset(
    {
        "os_name",
        "sys_platform",
        "platform_machine",
        "platform_python_implementation",
        "platform_release",
        "platform_system",
        "platform_version",
        "python_version",
        "python_full_version",
        "implementation_name",
        "implementation_version",
    }
)
# Variables of PEP 751 lock-file markers that are sets, not strings.
_SET_VARIABLES = ("extras", "dependency_groups")
_KEYWORDS = frozenset({"and", "or", "not", "in"})
# A marker's tokens as packaging prints it: quoted constants and names (not operators).
_TOKEN = re.compile(r"\"[^\"]*\"|'[^']*'|[A-Za-z_][A-Za-z0-9_.]*")
# More combinations of unknown values than this is a marker no lock needs.
_MOST_COMBINATIONS = 4096
# A value no marker constant equals or contains: the "none of those" case.
_OTHER = "\x00other"

JSON = Mapping[str, Any]


class SelectionError(ValueError):
    """The lock cannot give the target what it needs; one line naming package and target."""


@dataclass(frozen=True)
class SelectionTarget:
    """One environment to select for: its name in messages, its PEP 508 environment (which
    may lack variables it cannot know) and its PEP 425 tags, best first."""

    name: str
    environment: Mapping[str, str]
    tags: tuple[Tag, ...]

    @classmethod
    def of(cls, target: LockTarget) -> SelectionTarget:
        """A ``--target``: its environment and tags as :mod:`fetcher.lock_target` derives them."""
        return cls(target.text, target.environment(), tuple(target.tags()))


# --- markers ---------------------------------------------------------------------------------


def _marker_parts(marker: Marker) -> tuple[set[str], list[str]]:
    """The variables a marker names and the constants it compares them with.

    Read from packaging's printed form (names bare, constants quoted), the one public
    view of a parsed marker; legacy spellings such as ``platform.python_implementation``
    are already printed under their PEP 508 names.
    """
    variables: set[str] = set()
    constants: list[str] = []
    for token in _TOKEN.findall(str(marker)):
        if token[0] in "\"'":
            constants.append(token[1:-1])
        elif token not in _KEYWORDS:
            variables.add(token)
    return variables, constants


def _neighbours(value: str) -> list[str]:
    """``value`` and, when it is a version, the versions one step below and above it in its
    last release part: with them every side of a comparison with ``value`` is tried."""
    try:
        release = Version(value.removesuffix(".*")).release
    except InvalidVersion:
        return [value]
    head, last = release[:-1], release[-1]
    steps = [last + step for step in (-1, 0, 1) if last + step >= 0]
    return [value, *(".".join(map(str, (*head, step))) for step in steps)]


def _candidates(variable: str, constants: Sequence[str], env: Mapping[str, Any]) -> list[str]:
    """Values of a variable the target does not fix, enough to see each answer a marker
    comparing it with ``constants`` can give."""
    python = str(env.get("python_version", ""))
    if variable == "python_full_version" and re.fullmatch(r"\d+\.\d+", python):
        # A target names X.Y: its interpreter is an X.Y.z release, z unknown.
        micros = {0, 1}
        for constant in constants:
            try:
                release = Version(constant.removesuffix(".*")).release
            except InvalidVersion:
                continue
            if ".".join(map(str, release[:2])) == python:
                micro = release[2] if len(release) > 2 else 0
                micros |= {m for m in (micro - 1, micro, micro + 1) if m >= 0}
        micros.add(max(micros) + 1)
        return [f"{python}.{micro}" for micro in sorted(micros)]
    values = {"", _OTHER}
    for constant in constants:
        values.update(_neighbours(constant))
    return sorted(values)


def _holds(marker: Marker, env: Mapping[str, Any], target: SelectionTarget, what: str) -> bool:
    """Whether ``marker`` holds for the target: decided for every value of what the target
    does not say, or SelectionError naming ``what`` (the marker's place) and the target."""
    variables, constants = _marker_parts(marker)
    # Every variable the marker names is given: packaging would fill a missing one in from
    # the interpreter running snapproxy, which is not the target.
    unknown = sorted(variables - env.keys())
    choices = [_candidates(variable, constants, env) for variable in unknown]
    combinations = 1
    for choice in choices:
        combinations *= len(choice)
    answers: set[bool] = set()
    if combinations <= _MOST_COMBINATIONS:
        for values in itertools.product(*choices):
            given = dict(zip(unknown, values, strict=True))
            try:
                answers.add(marker.evaluate({**env, **given}, context="lock_file"))
            except ValueError:  # UndefinedComparison and the like, for this one value
                continue
    if len(answers) == 1:
        return answers.pop()
    if not unknown:
        raise SelectionError(f"{what} cannot be evaluated for {target.name}")
    # A PEP 508 variable is one a --target leaves out, and the interpreter itself knows.
    hint = (
        "; fetch on the target itself (no --target) to evaluate it"
        if set(unknown) <= _PEP_508_VARIABLES
        else ""
    )
    raise SelectionError(
        f"{what} depends on {', '.join(unknown)}, which {target.name} does not say{hint}"
    )


def _python_marker(specifiers: SpecifierSet) -> Marker:
    """A ``requires-python`` as the marker on ``python_full_version`` it stands for."""
    clauses = [f'python_full_version {s.operator} "{s.version}"' for s in specifiers]
    return Marker(" and ".join(clauses) or 'python_full_version >= "0"')


# --- selection ---------------------------------------------------------------------------------


def _label(package: JSON) -> str:
    version = package.get("version")
    return f"{package['name']} {Version(version)}" if version else str(package["name"])


def _environment(
    document: JSON, target: SelectionTarget, extras: Collection[str], groups: Collection[str]
) -> dict[str, Any]:
    declared_extras = {canonicalize_name(e) for e in document.get("extras") or []}
    declared_groups = {
        canonicalize_name(g)
        for g in [
            *(document.get("dependency-groups") or []),
            *(document.get("default-groups") or []),
        ]
    }
    wanted_extras = {canonicalize_name(e) for e in extras}
    wanted_groups = {canonicalize_name(g) for g in groups}
    # PEP 751: extras and groups the lock does not declare cannot be asked for.
    for kind, wanted, declared in (
        ("extras", wanted_extras, declared_extras),
        ("dependency groups", wanted_groups, declared_groups),
    ):
        if wanted - declared:
            raise SelectionError(
                f"the lock declares no {kind} {', '.join(sorted(wanted - declared))}"
            )
    env: dict[str, Any] = {
        key: value for key, value in target.environment.items() if key not in _SET_VARIABLES
    }
    env.update(extras=frozenset(wanted_extras), dependency_groups=frozenset(wanted_groups))
    return env


def _check_lock_holds(document: JSON, target: SelectionTarget, env: Mapping[str, Any]) -> None:
    """PEP 751: the lock's ``requires-python`` and one of its ``environments`` must hold."""
    requires = document.get("requires-python")
    if requires is not None and not _holds(
        _python_marker(SpecifierSet(requires)),
        env,
        target,
        f"the lock's requires-python {requires!r}",
    ):
        raise SelectionError(f"the lock requires Python {requires}, which {target.name} is not")
    environments = document.get("environments")
    if environments is None:
        return
    undecided: list[SelectionError] = []
    for text in environments:
        try:
            if _holds(Marker(text), env, target, f"the lock's environment {text!r}"):
                return
        except SelectionError as exc:
            undecided.append(exc)  # another environment may still hold
    if undecided:
        raise undecided[0]
    raise SelectionError(
        f"the lock is for {' or '.join(repr(e) for e in environments)}; none of these "
        f"environments holds for {target.name}"
    )


def _chosen_packages(
    document: JSON, target: SelectionTarget, env: Mapping[str, Any]
) -> list[tuple[int, JSON]]:
    """The packages whose markers hold for the target, by their place in the lock."""
    chosen = []
    for index, package in enumerate(document["packages"]):
        marker = package.get("marker")
        if marker is not None and not _holds(
            Marker(marker), env, target, f"{_label(package)}: marker {marker!r}"
        ):
            continue
        requires = package.get("requires-python")
        if requires is not None and not _holds(
            _python_marker(SpecifierSet(requires)),
            env,
            target,
            f"{_label(package)}: requires-python {requires!r}",
        ):
            raise SelectionError(
                f"{_label(package)} requires Python {requires}, which {target.name} is not"
            )
        chosen.append((index, package))
    return chosen


def _one_version_each(chosen: Iterable[tuple[int, JSON]], target: SelectionTarget) -> None:
    """PEP 751: one project selected twice is an ambiguity the installer must refuse."""
    seen: dict[str, JSON] = {}
    for _, package in chosen:
        other = seen.setdefault(package["name"], package)
        if other is not package:
            versions = sorted({_label(other), _label(package)})
            raise SelectionError(
                f"{package['name']} is selected twice for {target.name} ("
                f"{' and '.join(versions)}): their markers overlap"
            )


def _wheel_tags(filename: str) -> str:
    """``cp311-cp311-win_amd64``: a wheel's compressed tag set, as its file name says it."""
    return "-".join(filename[: -len(".whl")].split("-")[-3:])


def _best_file(package: JSON, target: SelectionTarget, build_only: bool) -> LockedFile:
    """The wheel with the best-ranked compatible tag (PEP 425 order, then the higher build
    number, as pip), else the sdist; SelectionError naming the package and target."""
    label = _label(package)
    source = direct_source(package)
    if source is not None:
        raise SelectionError(
            f"{label} is a {source} source, not files of an index; snapproxy fetches only "
            f"index files (for {target.name})"
        )
    ranks: dict[Tag, int] = {}
    for rank, tag in enumerate(target.tags):
        ranks.setdefault(tag, rank)
    wheels: list[JSON] = package.get("wheels") or []
    ranked = []
    for index, wheel in enumerate(wheels):
        # The name parsed when the lock was validated; only the chosen file must be
        # fetchable (url, sha256), not the other platforms' wheels.
        _, _, build, tags = parse_wheel_filename(archive_filename(wheel))
        fitting = [ranks[tag] for tag in tags if tag in ranks]
        if fitting:
            build_number = build[0] if build else -1
            ranked.append(((min(fitting), -build_number, index), wheel))
    if ranked:
        best = min(ranked, key=lambda item: item[0])[1]
        return archive_file(package, best, build_only=build_only)
    sdist = package.get("sdist")
    if sdist is not None:
        return archive_file(package, sdist, build_only=build_only)
    listed = ", ".join(_wheel_tags(archive_filename(wheel)) for wheel in wheels) or "none"
    raise SelectionError(f"{label} has no file for {target.name} (wheels: {listed}; no sdist)")


def _files(
    chosen: Iterable[tuple[int, JSON]], target: SelectionTarget, build_only: bool
) -> list[LockedFile]:
    try:
        return [_best_file(package, target, build_only) for _, package in chosen]
    except PylockValidationError as exc:
        raise SelectionError(f"{exc} (for {target.name})") from None


def _validated(document: JSON) -> JSON:
    try:
        return Pylock.from_dict(document).document
    except PylockValidationError as exc:
        raise SelectionError(f"not a valid PEP 751 lock: {exc}") from None


def select(
    document: JSON,
    target: SelectionTarget,
    *,
    extras: Collection[str] = (),
    dependency_groups: Collection[str] | None = None,
) -> list[LockedFile]:
    """The files ``target`` installs from the lock ``document`` (PEP 751's installer steps),
    one per selected package, sorted.

    ``extras``: none by default; ``dependency_groups``: the lock's ``default-groups`` when
    None, so snapproxy's build requirements are left out unless asked for.
    """
    document = _validated(document)
    groups = (
        (document.get("default-groups") or []) if dependency_groups is None else dependency_groups
    )
    env = _environment(document, target, extras, groups)
    _check_lock_holds(document, target, env)
    chosen = _chosen_packages(document, target, env)
    _one_version_each(chosen, target)
    return sorted(_files(chosen, target, build_only=False))


def _for_wheelhouse(document: JSON, target: SelectionTarget) -> list[LockedFile]:
    """:func:`select` with the default groups, and, when that holds an sdist and the lock
    has snapproxy's build group, the packages the group adds, as build-only files."""
    runtime = select(document, target)
    declared = {canonicalize_name(g) for g in document.get("dependency-groups") or []}
    if all(f.is_wheel for f in runtime) or BUILD_GROUP not in declared:
        return runtime
    default = list(document.get("default-groups") or [])
    env = _environment(document, target, (), default)
    runtime_places = {index for index, _ in _chosen_packages(document, target, env)}
    with_build = _environment(document, target, (), [*default, BUILD_GROUP])
    added = [
        (index, package)
        for index, package in _chosen_packages(document, target, with_build)
        if index not in runtime_places
    ]
    # Each sdist builds in an environment of its own: two versions of one build
    # requirement are no ambiguity here (snapproxy fetch puts both in the wheelhouse).
    return runtime + _files(added, target, build_only=True)


def wheelhouse_files(document: JSON, targets: Sequence[SelectionTarget]) -> list[LockedFile]:
    """Every file a wheelhouse serving all ``targets`` needs, sorted: the union of their
    selections, with the build requirements of the sdists among them.

    One project at two runtime versions across the targets is an error naming both: the
    wheelhouse's ``requirements.lock.txt`` pins one version of each.
    """
    if not targets:
        raise SelectionError("no target to select for")
    document = _validated(document)
    by_filename: dict[str, LockedFile] = {}
    runtime_version: dict[str, tuple[str, SelectionTarget]] = {}
    for target in targets:
        for f in _for_wheelhouse(document, target):
            if not f.build_only:
                version, first = runtime_version.setdefault(f.name, (f.version, target))
                if version != f.version:
                    raise SelectionError(
                        f"{f.name} is {version} for {first.name} but {f.version} for "
                        f"{target.name}; one wheelhouse pins one version of each project "
                        f"(fetch these targets into separate wheelhouses)"
                    )
            known = by_filename.get(f.filename)
            if known is not None and (known.url, known.sha256) != (f.url, f.sha256):
                raise SelectionError(
                    f"{f.filename} is two different files in the lock ({known.url} and {f.url})"
                )
            if known is None or known.build_only:
                # A file the runtime of any target uses is no build-only file.
                by_filename[f.filename] = f
    return sorted(by_filename.values())


def wheelhouse_lock_text(document: JSON, files: Iterable[LockedFile]) -> str:
    """The wheelhouse's ``requirements.lock.txt`` (``name==version --hash=sha256:...``).

    A snapproxy lock for one environment records the text ``snapproxy fetch`` writes, and
    that text is used as it is (the same tree as fetch); any other lock's is made from the
    runtime files selected, so that ``pip install --no-index --find-links WH -r
    WH/requirements.lock.txt`` installs exactly them.
    """
    recorded = tool_table(Pylock(document)).get("requirements-lock")
    ours = (
        document.get("created-by") == "snapproxy" and len(document.get("environments") or []) == 1
    )
    if ours and isinstance(recorded, str):
        return recorded
    return render_lock(f.chosen() for f in files if not f.build_only)
