"""What a PEP 751 lock (snapproxy's, uv's, pip's) names, read as plain data.

Each file a lock names becomes a :class:`~fetcher.pylock_writer.LockedFile` once it is
fetchable: a version, a plain file name (from ``name``, else the last segment of its URL),
an http(s) URL and a sha256; anything else is a :class:`PylockValidationError` naming the
package and the file.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlparse

from packaging.version import Version

from fetcher.pylock_writer import (
    TOOL,
    LockDocument,
    LockedFile,
    PylockValidationError,
    archive_filename,
)

__all__ = [
    "archive_file",
    "direct_source",
    "is_build_only",
    "locked_files",
    "package_archives",
    "tool_table",
]



def _plain_filename(name: str) -> bool:
    """A name that stays inside the directory it is written to and names one file there.

    A URL's last segment is percent-decoded (PEP 751), so it may hold anything: no
    separator of either system, no ``.``/``..``, no NUL or other control character.
    """
    return (
        bool(name)
        and name not in (".", "..")
        and not any(c in "/\\" or ord(c) < 32 or c == "\x7f" for c in name)
    )


def is_build_only(package: Mapping[str, Any]) -> bool:
    """``[packages.tool.snapproxy] build = true``: a build requirement of an sdist."""
    tool = package.get("tool")
    ours = tool.get(TOOL) if isinstance(tool, Mapping) else None
    return isinstance(ours, Mapping) and bool(ours.get("build"))


def archive_file(
    package: Mapping[str, Any], archive: Mapping[str, Any], *, build_only: bool = False
) -> LockedFile:
    """One ``packages.wheels`` or ``packages.sdist`` entry (PEP 751) of a validated lock as a
    file to fetch; PylockValidationError naming the package and the file when it cannot be
    fetched and checked: no version, no http(s) ``url``, no sha256, a name that is no plain
    file name.  Other hashes are allowed beside the sha256 and ignored.
    """
    name = str(package["name"])
    if package.get("version") is None:
        raise PylockValidationError(f"{name}: needs a version to be fetched")
    version = str(Version(str(package["version"])))
    label = f"{name} {version}"
    filename = archive_filename(archive)
    if not _plain_filename(filename):
        raise PylockValidationError(f"{label}: file name {filename!r} is not a plain file name")
    url = archive.get("url")
    if not url:
        raise PylockValidationError(
            f"{label}: {filename} has a path but no url; snapproxy fetches files by URL"
        )
    if urlparse(str(url)).scheme not in ("http", "https"):
        raise PylockValidationError(f"{label}: {filename}: {url!r} is not an http(s) URL")
    hashes = archive.get("hashes") or {}
    sha256 = str(hashes.get("sha256") or "").lower()
    if not sha256:
        raise PylockValidationError(
            f"{label}: {filename} has no sha256 (only {', '.join(sorted(hashes))}); every "
            f"file fetched is checked against its sha256"
        )
    if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
        raise PylockValidationError(f"{label}: {filename}: sha256 {sha256!r} is not 64 hex digits")
    size = archive.get("size")
    upload_time = archive.get("upload-time")
    return LockedFile(
        name=name,
        version=version,
        filename=filename,
        url=str(url),
        sha256=sha256,
        size=size if isinstance(size, int) else None,
        upload_time=upload_time if isinstance(upload_time, datetime) else None,
        build_only=build_only,
    )


def package_archives(package: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """A package's index files: its wheels, then its sdist (PEP 751 order of preference)."""
    archives: list[Mapping[str, Any]] = [*(package.get("wheels") or [])]
    if package.get("sdist") is not None:
        archives.append(package["sdist"])
    return archives


def direct_source(package: Mapping[str, Any]) -> str | None:
    """``vcs``, ``directory`` or ``archive``: a package that comes from no index."""
    return next((key for key in ("vcs", "directory", "archive") if package.get(key)), None)


def locked_files(lock: LockDocument) -> list[LockedFile]:
    """Every file a lock names (wheels and sdists of every package), as plain data."""
    out = []
    for package in lock.to_dict()["packages"]:
        name = package["name"]
        if package.get("version") is None:
            raise PylockValidationError(f"{name}: needs a version to be fetched")
        archives = package_archives(package)
        if not archives:
            raise PylockValidationError(
                f"{name}: not from an index ({direct_source(package)}): snapproxy fetches "
                f"only index files"
            )
        build_only = is_build_only(package)
        out += [archive_file(package, archive, build_only=build_only) for archive in archives]
    return sorted(out)


def tool_table(lock: LockDocument) -> dict[str, Any]:
    """``[tool.snapproxy]``; empty for a lock another tool (uv, pip) wrote."""
    tool = lock.to_dict().get("tool")
    ours = tool.get(TOOL) if isinstance(tool, Mapping) else None
    return dict(ours) if isinstance(ours, Mapping) else {}
