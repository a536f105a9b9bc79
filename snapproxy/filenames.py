"""Reading the version a distribution file belongs to from its filename.

PEP 700 lets an index list ``versions``; the proxy keeps only the versions that still
have a visible file, so it must know each file's version.  Wheels (PEP 427) and sdists
(PEP 625, plus the older ``.tar.bz2``/``.tgz``/``.tar.xz``/``.tar`` forms) are read as
``packaging`` reads them; eggs by their ``name-version-...`` layout.  Anything else
(``.exe``, ``.msi``, ``.rpm``, ``.dmg``) keeps no version alive: it cannot be read reliably.

A page names a few thousand files but far fewer distinct versions, and most of its
versions are plain releases (``1.29.146``), so the version is read as text first
(:func:`version_text`), and text becomes a comparable key (:func:`version_key`) once per
distinct text, without building a ``Version`` for a plain release.
"""

from __future__ import annotations

import re
from functools import lru_cache

from packaging.utils import InvalidWheelFilename, parse_wheel_filename
from packaging.version import InvalidVersion, Version

__all__ = ["VersionKey", "version_key", "version_of", "version_text"]

_SDIST_SUFFIXES = (".tar.gz", ".tar.bz2", ".tar.xz", ".tgz", ".tar", ".zip")

# What a version text reads as: equal keys for equal PEP 440 versions (see version_key).
VersionKey = str | Version


@lru_cache(maxsize=1024)
def _wheel_frame_is_valid(name: str, rest: str) -> bool:
    """Whether ``{name}-{version}-{rest}.whl`` is a valid wheel name when its version is.

    PEP 427's checks of the name, the build tag and the tags do not depend on the version,
    so ``packaging`` decides them once per project and tag set, with a stand-in version.
    """
    try:
        parse_wheel_filename(f"{name}-0-{rest}.whl")
    except InvalidWheelFilename:
        return False
    return True


def version_text(filename: str) -> str | None:
    """The version field of a distribution filename, as written; ``None`` when the name
    around it is not a distribution name (the text itself may still not be a version).

    Wheel (PEP 427): ``{name}-{version}(-{build})?-{python}-{abi}-{platform}.whl``, the
    second dash-separated field.  Sdist (PEP 625 and older archives): ``{name}-{version}``
    with the version after the last dash.  Egg: ``{name}-{version}(-...)?.egg``.
    """
    if filename.endswith(".whl"):
        fields = filename[: -len(".whl")].split("-", 2)
        if len(fields) < 3 or not _wheel_frame_is_valid(fields[0], fields[2]):
            return None
        return fields[1]
    for suffix in _SDIST_SUFFIXES:
        if filename.endswith(suffix):
            name, dash, text = filename[: -len(suffix)].rpartition("-")
            return text if dash and name else None
    if filename.endswith(".egg"):
        fields = filename[: -len(".egg")].split("-")
        return fields[1] if len(fields) >= 2 else None
    return None


# PEP 440 release segment alone, each number without leading zeros: always a valid
# version, and equal to another such text iff the two agree once trailing ".0"s go.
_PLAIN_RELEASE = re.compile(r"(?:0|[1-9][0-9]*)(?:\.(?:0|[1-9][0-9]*))*")
_TRAILING_ZEROS = re.compile(r"(?:\.0)+\Z")


def _release_key(release: tuple[int, ...]) -> str:
    while len(release) > 1 and release[-1] == 0:
        release = release[:-1]
    return ".".join(map(str, release))


def version_key(text: str) -> VersionKey | None:
    """A key equal for two version texts iff they name the same PEP 440 version; ``None``
    when the text is no version.

    A version that is a release segment alone (no epoch but 0, no pre-, post- or
    dev-release, no local label) keys as its numbers without trailing zeros, ``1.10.0``
    as ``"1.10"`` (PEP 440 compares release segments padded with zeros); a plain text such
    as ``1.29.146`` gets that key without a ``Version``.  Every other version is its own
    key, a ``Version``, which never equals a string.
    """
    if _PLAIN_RELEASE.fullmatch(text):
        return _TRAILING_ZEROS.sub("", text) if text.endswith(".0") else text
    try:
        version = Version(text)
    except InvalidVersion:
        return None
    extras = (version.pre, version.post, version.dev, version.local)
    if version.epoch == 0 and extras == (None, None, None, None):
        return _release_key(version.release)
    return version


def version_of(filename: str) -> Version | None:
    """The version in a distribution filename, or ``None`` when it cannot be read."""
    text = version_text(filename)
    if text is None:
        return None
    try:
        return Version(text)
    except InvalidVersion:
        return None
