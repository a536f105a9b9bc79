"""Reading the version a distribution file belongs to from its filename.

PEP 700 lets an index list ``versions``; the proxy keeps only the versions that still
have a visible file, so it must know each file's version.  Wheels (PEP 427) and sdists
(PEP 625, plus the older ``.tar.bz2``/``.tgz``/``.tar.xz``/``.tar`` forms) are read with
``packaging``; eggs by their ``name-version-...`` layout.  Anything else (``.exe``,
``.msi``, ``.rpm``, ``.dmg``) keeps no version alive: it cannot be read reliably.
"""

from __future__ import annotations

from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

__all__ = ["version_of"]

_SDIST_SUFFIXES = (".tar.gz", ".tar.bz2", ".tar.xz", ".tgz", ".tar", ".zip")


def version_of(filename: str) -> Version | None:
    """The version in a distribution filename, or ``None`` when it cannot be read."""
    try:
        if filename.endswith(".whl"):
            return parse_wheel_filename(filename)[1]
        for suffix in _SDIST_SUFFIXES:
            if filename.endswith(suffix):
                # packaging only reads .tar.gz and .zip; the other archive forms share
                # the same name-version layout.
                return parse_sdist_filename(filename[: -len(suffix)] + ".tar.gz")[1]
        if filename.endswith(".egg"):
            parts = filename[: -len(".egg")].split("-")
            return Version(parts[1]) if len(parts) >= 2 else None
    except (InvalidWheelFilename, InvalidSdistFilename, InvalidVersion):
        return None
    return None
