"""Which file of a project page pip is most likely to choose: a guess, to fetch it early.

pip takes the highest version that satisfies the requirement (PEP 440; pre-releases only
when the specifier names one or nothing else matches), whose ``Requires-Python`` admits
the target (PEP 345/503), and of that version the wheel whose tags (PEP 425) rank first
for the target, else the sdist unless only wheels are allowed.  Everything here is pure:
a page's file entries in, one entry or None out.  A wrong guess costs one download.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.tags import Tag, compatible_tags, cpython_tags, generic_tags
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from fetcher.pip_runner import Target

__all__ = ["Preferences", "likely_file", "target_tags"]

JSON = dict[str, object]


@dataclass(frozen=True)
class Preferences:
    """What pip's choice depends on besides the page."""

    tags: Mapping[Tag, int]  # supported tag -> rank (0 is pip's first choice)
    python: Version  # the target's Python version
    only_binary: bool


def _manylinux_aliases(platform: str) -> list[str]:
    """pip's own widening of a ``--platform`` (PEP 599: manylinux2014 runs the older)."""
    prefix, sep, arch = platform.partition("_")
    older = {"manylinux2014": ["manylinux2010", "manylinux1"], "manylinux2010": ["manylinux1"]}
    if prefix == "manylinux2014" and arch not in ("i686", "x86_64"):
        return [platform]
    return [platform, *(f"{name}{sep}{arch}" for name in older.get(prefix, []))]


def target_tags(target: Target, running: Sequence[Tag]) -> dict[Tag, int]:
    """The tags pip accepts for ``target``, ranked; ``running`` when it names no platform
    or version (then pip uses its interpreter's own)."""
    if not target.platforms and not target.python_version and not target.implementation:
        tags: Iterable[Tag] = running
    else:
        version = target.python_version or "3"
        numbers = tuple(int(n) for n in version.split(".")[:2])
        platforms = [a for p in target.platforms for a in _manylinux_aliases(p)] or None
        abis = list(target.abis) or None
        implementation = target.implementation or "cp"
        if implementation == "cp":
            specific: Iterable[Tag] = cpython_tags(numbers, abis=abis, platforms=platforms)
        else:
            interpreter = f"{implementation}{''.join(map(str, numbers))}"
            specific = generic_tags(interpreter, abis=abis, platforms=platforms)
        interpreter = f"{implementation}{''.join(map(str, numbers))}"
        tags = [*specific, *compatible_tags(numbers, interpreter, platforms)]
    ranked: dict[Tag, int] = {}
    for tag in tags:
        ranked.setdefault(tag, len(ranked))
    return ranked


def _version_and_rank(filename: str, preferences: Preferences) -> tuple[Version, int] | None:
    """A wheel's version and best tag rank; an sdist's version and a rank after every
    wheel; None for a file pip would not take."""
    try:
        if filename.endswith(".whl"):
            _, version, _, tags = parse_wheel_filename(filename)
            ranks = [preferences.tags[t] for t in tags if t in preferences.tags]
            return (version, min(ranks)) if ranks else None
        if preferences.only_binary or not filename.endswith((".tar.gz", ".zip")):
            return None
        return parse_sdist_filename(filename)[1], len(preferences.tags)
    except (InvalidWheelFilename, InvalidSdistFilename, InvalidVersion):
        return None


def _admits(requires_python: object, python: Version) -> bool:
    if not isinstance(requires_python, str) or not requires_python.strip():
        return True
    try:
        return python in SpecifierSet(requires_python)
    except InvalidSpecifier:
        return True  # pip ignores what it cannot read as well


def likely_file(
    files: Iterable[JSON], specifier: SpecifierSet, preferences: Preferences
) -> JSON | None:
    """The entry pip would most likely download from ``files`` (the visible ones)."""
    best: dict[Version, tuple[int, JSON]] = {}
    for f in files:
        filename = f.get("filename")
        if not isinstance(filename, str):
            continue
        found = _version_and_rank(filename, preferences)
        if found is None or not _admits(f.get("requires-python"), preferences.python):
            continue
        version, rank = found
        if version not in best or rank < best[version][0]:
            best[version] = (rank, f)
    allowed = list(specifier.filter(best))  # pre-releases as PEP 440 and pip allow them
    if not allowed:
        return None
    return best[max(allowed)][1]
