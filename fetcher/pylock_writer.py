"""The snapshot resolution as a PEP 751 lock file (``pylock.toml``), and back.

Built and validated with ``packaging.pylock`` and written with ``tomli_w``.  Every file is
named by its upstream URL with its sha256, size and upload time, so any tool (pip,
Nix's fetchurl) can fetch it on its own.  Build requirements of sdists are in the lock
too, behind the marker ``'snapproxy-build' in dependency_groups``: an installer selects
them only when asked, and ``[packages.tool.snapproxy] build = true`` says so to tools
that do not evaluate markers.  Nothing of the run (no time, no path) is written, so the
same inputs give the same bytes.  The snapshot itself is recorded under
``[tool.snapproxy]``, with the ``requirements.lock.txt`` text that a wheelhouse made from
the lock carries.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import tomli_w
from packaging.markers import Marker
from packaging.pylock import Package, PackageSdist, PackageWheel, Pylock, PylockValidationError
from packaging.specifiers import SpecifierSet
from packaging.utils import NormalizedName
from packaging.version import Version

from fetcher.pip_report import ChosenFile
from snapproxy.cutoff import format_cutoff

__all__ = [
    "BUILD_GROUP",
    "LockedFile",
    "environment_marker",
    "locked_files",
    "pylock_for",
    "render_pylock",
]

BUILD_GROUP = "snapproxy-build"
TOOL = "snapproxy"


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


def environment_marker(environment: Mapping[str, str]) -> Marker:
    """The PEP 508 environment a resolution was made for, as one marker."""
    keys = ("implementation_name", "python_version", "sys_platform", "platform_machine")
    clauses = [f'{key} == "{environment[key]}"' for key in keys if environment.get(key)]
    return Marker(" and ".join(clauses))


def _package(files: Sequence[LockedFile], index: str) -> Package:
    first = files[0]
    wheels = [
        PackageWheel(
            name=f.filename,
            url=f.url,
            size=f.size,
            upload_time=f.upload_time,
            hashes={"sha256": f.sha256},
        )
        for f in sorted(files)
        if f.is_wheel
    ]
    sdists = [f for f in files if not f.is_wheel]
    sdist = None
    if sdists:
        s = sdists[0]
        sdist = PackageSdist(
            name=s.filename,
            url=s.url,
            size=s.size,
            upload_time=s.upload_time,
            hashes={"sha256": s.sha256},
        )
    return Package(
        name=NormalizedName(first.name),
        version=Version(first.version),
        marker=Marker(f"'{BUILD_GROUP}' in dependency_groups") if first.build_only else None,
        index=index,
        wheels=wheels or None,
        sdist=sdist,
        tool={TOOL: {"build": True}} if first.build_only else None,
    )


def pylock_for(
    files: Iterable[LockedFile],
    *,
    cutoff: datetime,
    index: str,
    environment: Marker,
    requires_python: SpecifierSet | None,
    pip_version: str,
    requirements_lock: str,
) -> Pylock:
    """The lock of ``files``, one package entry per (project, version, runtime/build)."""
    groups: dict[tuple[str, str, bool], list[LockedFile]] = {}
    for f in files:
        groups.setdefault((f.name, f.version, f.build_only), []).append(f)
    packages = [
        _package(group, index)
        for _, group in sorted(
            groups.items(), key=lambda item: (item[0][0], Version(item[0][1]), item[0][2])
        )
    ]
    lock = Pylock(
        lock_version=Version("1.0"),
        environments=[environment],
        requires_python=requires_python,
        dependency_groups=[BUILD_GROUP],
        default_groups=[],
        created_by=TOOL,
        packages=packages,
        tool={
            TOOL: {
                "cutoff": format_cutoff(cutoff),
                "index": index,
                "pip-version": pip_version,
                "requirements-lock": requirements_lock,
            }
        },
    )
    lock.validate()
    return lock


def render_pylock(lock: Pylock) -> str:
    return tomli_w.dumps(dict(lock.to_dict()))


def _plain_filename(name: str) -> bool:
    """A name that stays inside the directory it is written to."""
    return bool(name) and name not in (".", "..") and not any(c in name for c in "/\\\0")


def locked_files(lock: Pylock) -> list[LockedFile]:
    """Every file a lock names (wheels and sdists of every package), as plain data."""
    out = []
    for package in lock.packages:
        build_only = bool(((package.tool or {}).get(TOOL) or {}).get("build"))
        archives: list[PackageWheel | PackageSdist] = [*(package.wheels or [])]
        if package.sdist is not None:
            archives.append(package.sdist)
        for archive in archives:
            if archive.url is None or "sha256" not in archive.hashes:
                raise PylockValidationError(
                    f"{package.name}: every file needs a url and a sha256 to be fetched"
                )
            filename = archive.filename
            if not _plain_filename(filename):
                raise PylockValidationError(
                    f"{package.name}: file name {filename!r} is not a plain file name"
                )
            out.append(
                LockedFile(
                    name=str(package.name),
                    version=str(package.version),
                    filename=filename,
                    url=archive.url,
                    sha256=archive.hashes["sha256"],
                    size=archive.size,
                    upload_time=archive.upload_time,
                    build_only=build_only,
                )
            )
    return sorted(out)


def tool_table(lock: Pylock) -> dict[str, Any]:
    return dict((lock.tool or {}).get(TOOL) or {})
