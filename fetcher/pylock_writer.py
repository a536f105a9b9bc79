"""The snapshot resolution as a PEP 751 lock file (``pylock.toml``), and back.

Written with ``tomli_w``; read and validated here, with ``packaging``'s markers, specifiers,
versions and file name parsers, so that snapproxy needs no ``packaging.pylock`` (new in
packaging 26) and builds with the packaging of stable nixpkgs.  Every file is named by its
upstream URL with its sha256, size and upload time, so any tool (pip, Nix's fetchurl) can
fetch it on its own.  Build requirements of sdists are in the lock too, behind the marker
``'snapproxy-build' in dependency_groups``: an installer selects them only when asked, and
``[packages.tool.snapproxy] build = true`` says so to tools that do not evaluate markers.
Nothing of the run (no time, no path) is written, so the same inputs give the same bytes.
The snapshot itself is recorded under ``[tool.snapproxy]``, with the
``requirements.lock.txt`` text that a wheelhouse made from the lock carries.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol
from urllib.parse import unquote, urlparse

import tomli_w
from packaging.markers import InvalidMarker, Marker
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from fetcher.pip_report import ChosenFile
from snapproxy.cutoff import format_cutoff
from snapproxy.cutoff_policy import CutoffPolicy, describe

__all__ = [
    "BUILD_GROUP",
    "LockDocument",
    "LockedFile",
    "Pylock",
    "PylockValidationError",
    "archive_filename",
    "environment_marker",
    "pylock_for",
    "render_pylock",
]

BUILD_GROUP = "snapproxy-build"
TOOL = "snapproxy"


class PylockValidationError(ValueError):
    """A document that is not a PEP 751 lock, or names a file snapproxy cannot fetch."""


@dataclass(frozen=True, order=True)
class LockedFile:
    """A chosen file with what the index says of it upstream."""

    name: str
    version: str
    filename: str
    url: str  # upstream, never the proxy's loopback URL
    sha256: str
    size: int | None
    upload_time: datetime | None
    build_only: bool = False

    @property
    def is_wheel(self) -> bool:
        return self.filename.endswith(".whl")

    def chosen(self) -> ChosenFile:
        return ChosenFile(self.name, self.version, self.filename, self.url, self.sha256)


class LockDocument(Protocol):
    """Anything that gives a lock as TOML data (this module's Pylock, packaging's)."""

    def to_dict(self) -> Mapping[str, Any]: ...


@dataclass(frozen=True)
class Pylock:
    """A pylock.toml document, as TOML data, that passed :func:`Pylock.from_dict`."""

    document: Mapping[str, Any]

    @classmethod
    def from_dict(cls, document: Mapping[str, Any]) -> Pylock:
        """The document if it is a PEP 751 lock; PylockValidationError saying where not."""
        _check_lock(document)
        return cls(document)

    def to_dict(self) -> Mapping[str, Any]:
        return self.document


# --- validation: the PEP 751 fields, their TOML types and what packaging can parse ---------


def _get(table: Mapping[str, Any], key: str, kind: type, where: str, required: bool = False) -> Any:
    value = table.get(key)
    if value is None:
        if required:
            raise PylockValidationError(f"{where}{key}: missing")
        return None
    # TOML's booleans are Python ints; a size of `true` is not a size.
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise PylockValidationError(
            f"{where}{key}: expected {kind.__name__}, got {type(value).__name__}"
        )
    return value


def _get_list(table: Mapping[str, Any], key: str, kind: type, where: str) -> list[Any]:
    items = _get(table, key, list, where) or []
    for index, item in enumerate(items):
        if not isinstance(item, kind):
            raise PylockValidationError(
                f"{where}{key}[{index}]: expected {kind.__name__}, got {type(item).__name__}"
            )
    return items


def _parsed(value: str | None, parse: Any, error: type[Exception], what: str) -> None:
    if value is None:
        return
    try:
        parse(value)
    except error:
        raise PylockValidationError(f"{what}: {value!r} is not valid") from None


def archive_filename(archive: Mapping[str, Any]) -> str:
    """An archive's file name (PEP 751): its ``name``, else the last segment of its ``path``,
    else of its ``url``'s path, percent-decoded (uv writes no ``name``; pip does)."""
    if archive.get("name"):
        return str(archive["name"])
    if archive.get("path"):
        return str(archive["path"]).replace("\\", "/").rsplit("/", 1)[-1]
    # The path only: a query or a #sha256= fragment is no part of the name.
    return unquote(urlparse(str(archive.get("url") or "")).path.rsplit("/", 1)[-1])


# Source archives pip and uv install besides PEP 625's .tar.gz (older uploads on PyPI);
# packaging's parse_sdist_filename knows .tar.gz and .zip only.
_OLDER_SDIST_SUFFIXES = (".tar.bz2", ".tbz", ".tar.xz", ".txz", ".tgz", ".tar.zst", ".tar")


def _sdist_name_version(filename: str) -> tuple[str, Version]:
    """The project and version of an sdist's file name, in any archive format pip takes."""
    for suffix in _OLDER_SDIST_SUFFIXES:
        if filename.endswith(suffix) and not filename.endswith(".tar.gz"):
            filename = filename[: -len(suffix)] + ".tar.gz"
            break
    name, version = parse_sdist_filename(filename)
    return name, version


def _check_archive(
    archive: Mapping[str, Any], where: str, package: str, version: str | None, wheel: bool
) -> None:
    for key, kind in (("name", str), ("url", str), ("path", str), ("size", int)):
        _get(archive, key, kind, where)
    _get(archive, "upload-time", datetime, where)
    if not archive.get("url") and not archive.get("path"):
        raise PylockValidationError(f"{where[:-1]}: needs a url or a path")
    hashes = _get(archive, "hashes", dict, where, required=True)
    if not hashes or not all(isinstance(v, str) for v in hashes.values()):
        raise PylockValidationError(f"{where}hashes: needs at least one hash, as strings")
    filename = archive_filename(archive)
    try:
        name, found = (
            parse_wheel_filename(filename)[:2] if wheel else _sdist_name_version(filename)
        )
    except (InvalidWheelFilename, InvalidSdistFilename):
        raise PylockValidationError(f"{where[:-1]}: {filename!r} is no valid file name") from None
    if name != package or (version is not None and found != Version(version)):
        raise PylockValidationError(
            f"{where[:-1]}: {filename!r} is not a file of {package} {version or ''}".rstrip()
        )


def _check_package(package: Mapping[str, Any], where: str) -> None:
    name = _get(package, "name", str, where, required=True)
    if canonicalize_name(name) != name:
        raise PylockValidationError(f"{where}name: {name!r} is not normalized")
    version = _get(package, "version", str, where)
    _parsed(version, Version, InvalidVersion, f"{where}version")
    _parsed(_get(package, "marker", str, where), Marker, InvalidMarker, f"{where}marker")
    _parsed(
        _get(package, "requires-python", str, where),
        SpecifierSet,
        InvalidSpecifier,
        f"{where}requires-python",
    )
    _get(package, "index", str, where)
    _get(package, "tool", dict, where)
    wheels = _get_list(package, "wheels", dict, where)
    sdist = _get(package, "sdist", dict, where)
    direct = [key for key in ("vcs", "directory", "archive") if _get(package, key, dict, where)]
    if (wheels or sdist) and direct:
        raise PylockValidationError(f"{where[:-1]}: {direct[0]} together with wheels or sdist")
    if not (wheels or sdist) and len(direct) != 1:
        raise PylockValidationError(
            f"{where[:-1]}: needs wheels or an sdist, or exactly one of vcs, directory, archive"
        )
    for index, wheel in enumerate(wheels):
        _check_archive(wheel, f"{where}wheels[{index}].", name, version, wheel=True)
    if sdist is not None:
        _check_archive(sdist, f"{where}sdist.", name, version, wheel=False)


def _check_lock(document: Mapping[str, Any]) -> None:
    lock_version = _get(document, "lock-version", str, "", required=True)
    try:
        supported = Version("1") <= Version(lock_version) < Version("2.dev0")
    except InvalidVersion:
        supported = False
    if not supported:
        raise PylockValidationError(f"lock-version {lock_version!r} is not supported (1.x is)")
    _get(document, "created-by", str, "", required=True)
    for index, environment in enumerate(_get_list(document, "environments", str, "")):
        _parsed(environment, Marker, InvalidMarker, f"environments[{index}]")
    _parsed(
        _get(document, "requires-python", str, ""), SpecifierSet, InvalidSpecifier,
        "requires-python",
    )
    for key in ("extras", "dependency-groups", "default-groups"):
        _get_list(document, key, str, "")
    _get(document, "tool", dict, "")
    _get(document, "packages", list, "", required=True)
    for index, package in enumerate(_get_list(document, "packages", dict, "")):
        _check_package(package, f"packages[{index}].")


# --- writing -------------------------------------------------------------------------------


def environment_marker(environment: Mapping[str, str]) -> Marker:
    """The PEP 508 environment a resolution was made for, as one marker."""
    keys = ("implementation_name", "python_version", "sys_platform", "platform_machine")
    clauses = [f'{key} == "{environment[key]}"' for key in keys if environment.get(key)]
    return Marker(" and ".join(clauses))


def _archive(f: LockedFile) -> dict[str, Any]:
    # The keys in the specification's order; absent facts are left out, not written empty.
    entry = {
        "name": f.filename,
        "upload-time": f.upload_time,
        "url": f.url,
        "size": f.size,
        "hashes": {"sha256": f.sha256},
    }
    return {key: value for key, value in entry.items() if value is not None}


def _package(files: Sequence[LockedFile], index: str) -> dict[str, Any]:
    first = files[0]
    wheels = [_archive(f) for f in sorted(files) if f.is_wheel]
    sdists = [f for f in files if not f.is_wheel]
    package: dict[str, Any] = {"name": first.name, "version": str(Version(first.version))}
    if first.build_only:
        package["marker"] = str(Marker(f"'{BUILD_GROUP}' in dependency_groups"))
    package["index"] = index
    if sdists:
        package["sdist"] = _archive(sdists[0])
    if wheels:
        package["wheels"] = wheels
    if first.build_only:
        package["tool"] = {TOOL: {"build": True}}
    return package


def pylock_for(
    files: Iterable[LockedFile],
    *,
    cutoff: datetime,
    index: str,
    environment: Marker,
    requires_python: SpecifierSet | None,
    pip_version: str,
    requirements_lock: str,
    package_cutoffs: Mapping[str, datetime | None] | None = None,
    given: CutoffPolicy | None = None,
    index_of: Callable[[str], str] | None = None,
    routing: Mapping[str, object] | None = None,
) -> Pylock:
    """The lock of ``files``, one package entry per (project, version, runtime/build).

    ``[tool.snapproxy]`` records the cutoffs the resolution used: ``cutoff``, and in
    ``package-cutoffs`` each project's own (``none``: no cutoff); and, where ``given``
    (--date, --package-date as written) was a duration, that duration, in ``date`` and
    ``package-dates``.  ``index_of`` gives each project's index (``index`` when None);
    ``routing`` (IndexRouting.describe) records the private indexes and their routes.
    """
    groups: dict[tuple[str, str, bool], list[LockedFile]] = {}
    for f in files:
        groups.setdefault((f.name, f.version, f.build_only), []).append(f)
    packages = [
        _package(group, index if index_of is None else index_of(group[0].name))
        for _, group in sorted(
            groups.items(), key=lambda item: (item[0][0], Version(item[0][1]), item[0][2])
        )
    ]
    document: dict[str, Any] = {"lock-version": "1.0", "environments": [str(environment)]}
    if requires_python is not None:
        document["requires-python"] = str(requires_python)
    tool: dict[str, Any] = {"cutoff": format_cutoff(cutoff)}
    if given is not None and isinstance(given.default, timedelta):
        tool["date"] = describe(given.default)
    if package_cutoffs:
        tool["package-cutoffs"] = {p: describe(c) for p, c in sorted(package_cutoffs.items())}
    given_packages = {} if given is None else given.packages
    rolled = {p: describe(c) for p, c in given_packages.items() if isinstance(c, timedelta)}
    if rolled:
        tool["package-dates"] = dict(sorted(rolled.items()))
    tool.update(
        {"index": index, "pip-version": pip_version, "requirements-lock": requirements_lock}
    )
    if routing:
        # The private indexes (URLs only: credentials are never written) and their routes.
        tool.update(routing)
    document.update(
        {
            "dependency-groups": [BUILD_GROUP],
            "default-groups": [],
            "created-by": TOOL,
            "packages": packages,
            "tool": {TOOL: dict(sorted(tool.items()))},
        }
    )
    return Pylock.from_dict(document)


def render_pylock(lock: LockDocument) -> str:
    return tomli_w.dumps(dict(lock.to_dict()))
