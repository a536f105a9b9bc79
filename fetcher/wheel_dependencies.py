"""The projects a wheel depends on, from its core metadata (``Requires-Dist``).

:func:`dependencies` is pure: PEP 566/643 metadata in, the normalised names and version
specifiers of the requirements whose PEP 508 markers hold in an environment out
(requirements under an ``extra`` marker only when that extra is asked for).
:func:`wheel_metadata` reads the ``METADATA`` file of a wheel on disk (PEP 427:
``{name}-{version}.dist-info/METADATA``).
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterable, Mapping
from email.parser import BytesHeaderParser
from pathlib import Path

from packaging.markers import UndefinedComparison, UndefinedEnvironmentName
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

__all__ = ["applicable", "dependencies", "wheel_metadata"]

# Far more than any METADATA file needs; a larger one is not read.
_MAX_METADATA = 4 * 1024 * 1024


def _applies(
    requirement: Requirement, environment: Mapping[str, str], extras: Iterable[str]
) -> bool:
    if requirement.marker is None:
        return True
    try:
        return any(
            requirement.marker.evaluate({**environment, "extra": extra})
            for extra in ("", *extras)
        )
    except (UndefinedComparison, UndefinedEnvironmentName):
        return True  # cannot tell: the page is only fetched ahead, so guess yes


def applicable(
    texts: Iterable[str], environment: Mapping[str, str], extras: Iterable[str] = ()
) -> dict[str, SpecifierSet]:
    """The PEP 508 requirements in ``texts`` that apply, by normalised name; the
    specifiers of a name given more than once are combined."""
    found: dict[str, SpecifierSet] = {}
    for text in texts:
        try:
            requirement = Requirement(text)
        except InvalidRequirement:
            continue
        if _applies(requirement, environment, tuple(extras)):
            name = canonicalize_name(requirement.name)
            found[name] = found.get(name, SpecifierSet()) & requirement.specifier
    return found


def dependencies(metadata: bytes, environment: Mapping[str, str]) -> dict[str, SpecifierSet]:
    """What ``Requires-Dist`` asks for whose markers hold in ``environment``."""
    headers = BytesHeaderParser().parsebytes(metadata)
    return applicable(headers.get_all("Requires-Dist") or [], environment)


def wheel_metadata(path: Path) -> bytes | None:
    """The ``METADATA`` of the wheel at ``path``, or None when it has none readable."""
    try:
        with zipfile.ZipFile(path) as wheel:
            for info in wheel.infolist():
                parts = info.filename.split("/")
                if (
                    len(parts) == 2
                    and parts[0].endswith(".dist-info")
                    and parts[1] == "METADATA"
                    and info.file_size <= _MAX_METADATA
                ):
                    return wheel.read(info)
    except (OSError, zipfile.BadZipFile, ValueError):
        return None
    return None
