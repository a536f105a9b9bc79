"""Project names: the validity rule and the normal form that URLs use.

PEP 508 defines a valid name; PEP 503 defines its normalised form (runs of ``-``, ``_``
and ``.`` collapse to one ``-``, lower case), which is the only spelling the proxy's
URLs use.  ``packaging.utils`` implements both; this module is the project's one entry
point to them so the rule lives in one place.
"""

from __future__ import annotations

import re

from packaging.utils import NormalizedName, canonicalize_name

__all__ = ["InvalidProjectName", "NormalizedName", "canonical", "normalize", "validate"]

# PEP 508 "Names", case-insensitive.
_VALID = re.compile(r"^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$", re.IGNORECASE)


class InvalidProjectName(ValueError):
    """The name is not a PEP 508 project name (or looks like a path)."""


def validate(name: str) -> str:
    """Return ``name`` if it is a PEP 508 name; refuse anything path-like.

    ``a..b`` is a valid PEP 508 name, but a URL segment with ``..`` in it is refused
    outright so no path that looks like traversal ever reaches the upstream.
    """
    if "/" in name or "\\" in name or ".." in name or not _VALID.fullmatch(name):
        raise InvalidProjectName(
            f"invalid project name {name!r}: use letters, digits, '.', '_' and '-' "
            "(PEP 508), e.g. requests"
        )
    return name


def canonical(name: str) -> NormalizedName:
    """PEP 503 normal form of a name an index listed (not validated: indexes hold names
    such as ``example-pkg.....testing`` that this proxy refuses in a URL)."""
    return canonicalize_name(name)


def normalize(name: str) -> NormalizedName:
    """PEP 503 normal form of a name a client asked for, after :func:`validate`."""
    return canonical(validate(name))
