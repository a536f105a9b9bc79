"""What an sdist needs to be built: PEP 518 ``[build-system] requires``.

An offline install builds each sdist in an isolated environment filled from the
wheelhouse, so the wheelhouse must hold those requirements too.  Without a
``pyproject.toml`` (or without ``requires``) pip falls back to setuptools (PEP 517's
``__legacy__`` backend).  setuptools asks for ``wheel`` through
``get_requires_for_build_wheel`` before version 70.1, so it is added for setuptools
builds: a hook the fetcher cannot run without building.
"""

from __future__ import annotations

import io
import sys
import tarfile
import zipfile
from pathlib import PurePosixPath

from packaging.requirements import InvalidRequirement, Requirement

from snapproxy.names import canonical

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = ["InvalidSdist", "build_requirements", "pyproject_of"]

LEGACY_REQUIRES = ("setuptools>=40.8.0",)


class InvalidSdist(ValueError):
    """An sdist archive that cannot be read."""


def pyproject_of(filename: str, data: bytes) -> bytes | None:
    """The top-level ``pyproject.toml`` of an sdist archive, if it has one."""

    def top_level(path: str) -> bool:
        parts = PurePosixPath(path).parts
        return len(parts) == 2 and parts[1] == "pyproject.toml"

    try:
        if filename.endswith(".zip"):
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                for name in archive.namelist():
                    if top_level(name):
                        return archive.read(name)
            return None
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as tar:
            for member in tar.getmembers():
                if member.isfile() and top_level(member.name):
                    extracted = tar.extractfile(member)
                    return extracted.read() if extracted is not None else None
        return None
    except (tarfile.TarError, zipfile.BadZipFile, OSError, EOFError) as exc:
        raise InvalidSdist(f"cannot read sdist {filename}: {exc}") from None


def build_requirements(filename: str, data: bytes) -> list[str]:
    """The requirements pip installs to build the sdist ``filename`` (PEP 517/518)."""
    raw = pyproject_of(filename, data)
    build_system: dict[str, object] = {}
    if raw is not None:
        try:
            parsed = tomllib.loads(raw.decode("utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise InvalidSdist(f"invalid pyproject.toml in {filename}: {exc}") from None
        value = parsed.get("build-system")
        build_system = value if isinstance(value, dict) else {}
    requires = build_system.get("requires")
    if not isinstance(requires, list):
        # PEP 518: no table, or no requires: pip's setuptools fallback.
        return [*LEGACY_REQUIRES, "wheel"]
    result = [_checked(filename, r) for r in requires]
    backend = str(build_system.get("build-backend") or "setuptools.build_meta:__legacy__")
    if backend.startswith("setuptools.") and not any(_named(r, "wheel") for r in result):
        result.append("wheel")
    return result


def _checked(filename: str, requirement: object) -> str:
    """A PEP 508 requirement by name from the index; anything else would leave the snapshot
    (a URL) or reach pip as an option (``--index-url=...``)."""
    try:
        parsed = Requirement(str(requirement))
    except InvalidRequirement:
        raise InvalidSdist(f"{filename} has an invalid build requirement {requirement!r}") from None
    if parsed.url:
        raise InvalidSdist(
            f"{filename} requires {parsed.name} from a URL to build; snapproxy resolves from "
            "the snapshot only"
        )
    return str(requirement)


def _named(requirement: str, name: str) -> bool:
    try:
        return canonical(Requirement(requirement).name) == name
    except InvalidRequirement:
        return False
