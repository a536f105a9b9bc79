"""Build real, pip-installable distributions in memory, byte-for-byte reproducibly.

Tests hash these files and compare resolutions across runs, so every archive uses fixed
timestamps and modes: the same arguments always give the same bytes.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import re
import tarfile
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field

from packaging.tags import parse_tag
from packaging.version import InvalidVersion, Version

# The earliest time a zip entry can carry; any fixed value makes the bytes reproducible.
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class Dist:
    """One distribution file as an index would list it."""

    filename: str
    content: bytes
    # The core metadata file served next to the distribution (PEP 658); None for sdists,
    # as PyPI serves none for them.
    metadata: bytes | None
    name: str
    version: str
    requires: tuple[str, ...] = field(default=())
    requires_python: str | None = None

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()

    @property
    def metadata_sha256(self) -> str | None:
        return None if self.metadata is None else hashlib.sha256(self.metadata).hexdigest()

    @property
    def is_wheel(self) -> bool:
        return self.filename.endswith(".whl")

    @property
    def packagetype(self) -> str:
        """The legacy JSON API's name for the kind of file."""
        return "bdist_wheel" if self.is_wheel else "sdist"

    @property
    def python_version(self) -> str:
        """The legacy JSON API's `python_version`: the wheel's python tag, or "source"."""
        return self.filename.split("-")[-3] if self.is_wheel else "source"


def filename_name(name: str) -> str:
    """The project name as it appears in wheel and sdist filenames (wheel spec, PEP 625)."""
    return re.sub(r"[-_.]+", "_", name).lower()


def _filename_version(version: str) -> str:
    # Filenames carry the normalised version; a deliberately invalid one is kept as is so tests
    # can build files whose version a reader cannot parse.
    try:
        return str(Version(version))
    except InvalidVersion:
        return version.replace("-", "_")


def core_metadata(
    name: str,
    version: str,
    *,
    requires: Iterable[str] = (),
    requires_python: str | None = None,
    summary: str = "",
) -> bytes:
    """A METADATA / PKG-INFO file (core metadata 2.1)."""
    lines = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}"]
    if summary:
        lines.append(f"Summary: {summary}")
    if requires_python is not None:
        lines.append(f"Requires-Python: {requires_python}")
    lines += [f"Requires-Dist: {req}" for req in requires]
    return ("\n".join(lines) + "\n\n").encode()


def _record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
    return "sha256=" + digest.decode()


def make_wheel(
    name: str,
    version: str,
    *,
    requires: Iterable[str] = (),
    requires_python: str | None = None,
    tag: str = "py3-none-any",
) -> Dist:
    """A valid wheel whose package `<import name>` has `__version__ = "<version>"`."""
    requires = tuple(requires)
    stem = f"{filename_name(name)}-{_filename_version(version)}"
    dist_info = f"{stem}.dist-info"
    metadata = core_metadata(name, version, requires=requires, requires_python=requires_python)
    tags = sorted(str(t) for t in parse_tag(tag))
    pure = all(t.endswith("-none-any") for t in tags)
    wheel_lines = [
        "Wheel-Version: 1.0",
        "Generator: snapproxy-tests",
        f"Root-Is-Purelib: {'true' if pure else 'false'}",
        *(f"Tag: {t}" for t in tags),
    ]
    wheel_file = "".join(f"{line}\n" for line in wheel_lines)
    members: list[tuple[str, bytes]] = [
        (f"{filename_name(name)}/__init__.py", f'__version__ = "{version}"\n'.encode()),
        (f"{dist_info}/METADATA", metadata),
        (f"{dist_info}/WHEEL", wheel_file.encode()),
    ]
    record = "".join(f"{path},{_record_hash(data)},{len(data)}\n" for path, data in members)
    members.append((f"{dist_info}/RECORD", (record + f"{dist_info}/RECORD,,\n").encode()))

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path, data in members:
            info = zipfile.ZipInfo(path, date_time=_ZIP_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    return Dist(
        filename=f"{stem}-{tag}.whl",
        content=buffer.getvalue(),
        metadata=metadata,
        name=name,
        version=version,
        requires=requires,
        requires_python=requires_python,
    )


def make_sdist(
    name: str,
    version: str,
    *,
    requires: Iterable[str] = (),
    requires_python: str | None = None,
) -> Dist:
    """A `.tar.gz` sdist with PKG-INFO, a setuptools pyproject.toml and the package."""
    requires = tuple(requires)
    stem = f"{filename_name(name)}-{_filename_version(version)}"
    pkg_info = core_metadata(name, version, requires=requires, requires_python=requires_python)
    deps = ", ".join(f'"{req}"' for req in requires)
    pyproject = (
        '[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n\n'
        f'[project]\nname = "{name}"\nversion = "{version}"\ndependencies = [{deps}]\n'
    )
    if requires_python is not None:
        pyproject += f'requires-python = "{requires_python}"\n'
    members = [
        (f"{stem}/PKG-INFO", pkg_info),
        (f"{stem}/pyproject.toml", pyproject.encode()),
        (f"{stem}/{filename_name(name)}/__init__.py", f'__version__ = "{version}"\n'.encode()),
    ]

    tar_bytes = io.BytesIO()
    with tarfile.open(fileobj=tar_bytes, mode="w", format=tarfile.USTAR_FORMAT) as archive:
        for path, data in members:
            info = tarfile.TarInfo(path)
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            archive.addfile(info, io.BytesIO(data))
    # gzip stores a timestamp and a file name in its header; pin both.
    gz_bytes = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=gz_bytes, mtime=0) as gz:
        gz.write(tar_bytes.getvalue())
    return Dist(
        filename=f"{stem}.tar.gz",
        content=gz_bytes.getvalue(),
        metadata=None,
        name=name,
        version=version,
        requires=requires,
        requires_python=requires_python,
    )
