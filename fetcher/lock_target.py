"""One environment a lock is made for: ``PYVER:PLATFORM[:IMPLEMENTATION[:ABI]]``.

``--target 3.11:manylinux_2_17_x86_64`` names a CPython 3.11 on glibc 2.17 or later on
x86-64.  From it follow the PEP 508 environment its markers are evaluated in, the PEP 425
tags its wheels must carry (in preference order, as pip and packaging rank them), and the
options that make pip resolve for it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from packaging import tags

__all__ = ["InvalidTarget", "LockTarget", "distinct_targets", "parse_target"]

_IMPLEMENTATIONS = {"cp": ("cpython", "CPython"), "pp": ("pypy", "PyPy")}
# Platform tag prefix -> (sys.platform, platform.system(), os.name).
_SYSTEMS = (
    ("manylinux", ("linux", "Linux", "posix")),
    ("musllinux", ("linux", "Linux", "posix")),
    ("linux", ("linux", "Linux", "posix")),
    ("macosx", ("darwin", "Darwin", "posix")),
    ("win", ("win32", "Windows", "nt")),
)
# platform.machine() as each system spells a tag's architecture.
_WINDOWS_MACHINES = {"win32": "x86", "win_amd64": "AMD64", "win_arm64": "ARM64"}
_ARCHES = ("x86_64", "aarch64", "arm64", "i686", "ppc64le", "s390x", "armv7l", "universal2")
_VERSION = re.compile(r"3\.(\d{1,2})")
_MANYLINUX = re.compile(r"manylinux_(\d+)_(\d+)_(\w+)")
_LEGACY_MANYLINUX = {"manylinux2014": (2, 17), "manylinux2010": (2, 12), "manylinux1": (2, 5)}
_MACOS = re.compile(r"macosx_(\d+)_(\d+)_(\w+)")
_MUSLLINUX = re.compile(r"musllinux_(\d+)_(\d+)_(\w+)")
# The platform tags a target may name (PEP 425, 600, 656; macOS and Windows as pip spells
# them): each says its system, and on Windows its machine.
_PLATFORM = re.compile(
    r"manylinux_\d+_\d+_[a-z0-9_]+|manylinux(?:1|2010|2014)_[a-z0-9_]+"
    r"|musllinux_\d+_\d+_[a-z0-9_]+|linux_[a-z0-9_]+|macosx_\d+_\d+_[a-z0-9_]+"
    r"|win32|win_amd64|win_arm64"
)
# The PEP 508 variables a target's marker names: what its tags fix, and no more.
_MARKER_KEYS = ("implementation_name", "python_version", "sys_platform", "platform_machine")


class InvalidTarget(ValueError):
    """A ``--target`` text that names no environment; the message names it and the form."""


@dataclass(frozen=True, order=True)
class LockTarget:
    python_version: str  # "3.11"
    platform: str  # a PEP 425/600/656 platform tag, e.g. "manylinux_2_17_x86_64"
    implementation: str = "cp"
    abi: str | None = None  # None: the implementation's own, e.g. cp311

    @property
    def text(self) -> str:
        """As written on the command line (and in a lock's tool table)."""
        parts = [self.python_version, self.platform]
        if self.implementation != "cp" or self.abi is not None:
            parts.append(self.implementation)
        if self.abi is not None:
            parts.append(self.abi)
        return ":".join(parts)

    @property
    def interpreter(self) -> str:
        """``cp311``: the implementation and version as a PEP 425 tag."""
        return self.implementation + self.python_version.replace(".", "")

    @property
    def abis(self) -> list[str]:
        return [self.abi] if self.abi is not None else [self.interpreter]

    def environment(self) -> dict[str, str]:
        """The PEP 508 environment markers are evaluated in for this target.

        ``python_full_version`` is not known from ``3.11``; it is left out, so a marker
        that names it cannot be evaluated (an error, never a guess).
        """
        system, platform_system, os_name = _system_of(self.platform)
        name, python_name = _IMPLEMENTATIONS.get(
            self.implementation, (self.implementation, self.implementation)
        )
        env = {
            "implementation_name": name,
            "platform_python_implementation": python_name,
            "python_version": self.python_version,
            "sys_platform": system,
            "platform_system": platform_system,
            "os_name": os_name,
        }
        machine = _machine_of(self.platform, system)
        if machine is not None:
            env["platform_machine"] = machine
        return env

    def marker_environment(self) -> dict[str, str]:
        """Every PEP 508 environment marker, as pip is made to evaluate them for this target.

        pip needs a value for each (a marker naming a missing one is an error that stops
        it), and the values must not come from the machine that runs pip, or the same lock
        would differ between machines.  So what ``3.11`` does not say is fixed here:
        ``python_full_version`` (and CPython's ``implementation_version``) is ``3.11.0``,
        the release pip itself checks ``Requires-Python`` against for ``--python-version
        3.11``; the kernel's ``platform_release`` and ``platform_version``, which no tag
        names, are empty (a version comparison with them is false, never an error); so is
        the ``platform_machine`` of ``universal2``, which stands for two machines.
        """
        env = self.environment()
        full = f"{self.python_version}.0"
        env.setdefault("platform_machine", "")
        env["python_full_version"] = full
        # PyPy's own version (7.3.x) does not follow from the Python version it implements.
        env["implementation_version"] = full if self.implementation == "cp" else ""
        env["platform_release"] = ""
        env["platform_version"] = ""
        return dict(sorted(env.items()))

    def _marker_clauses(self) -> dict[str, str]:
        env = self.environment()
        return {key: env[key] for key in _MARKER_KEYS if key in env}

    def marker(self) -> str:
        """The PEP 508 marker that holds in this target's environment and no other's."""
        return " and ".join(f'{key} == "{value}"' for key, value in self._marker_clauses().items())

    def overlaps(self, other: LockTarget) -> bool:
        """Whether one environment can satisfy both targets' markers: no marker variable
        that both name differs (manylinux and musllinux of one machine, universal2 and
        either Mac; PEP 508 has no variable for the C library or a fat binary)."""
        mine, theirs = self._marker_clauses(), other._marker_clauses()
        return all(mine[key] == theirs[key] for key in mine.keys() & theirs.keys())

    @property
    def sort_key(self) -> tuple[int, str, str, str]:
        """An order of targets independent of how they were given: Python versions as
        numbers (3.9 before 3.10), then platform, implementation and ABI."""
        minor = int(self.python_version.split(".")[1])
        return (minor, self.platform, self.implementation, self.abi or "")

    def platforms(self) -> list[str]:
        """The platform tags this target installs, best first (pip's expansion of
        ``--platform``: older manylinux and macOS releases, PEP 600 legacy aliases)."""
        return list(_expanded(self.platform))

    def tags(self) -> list[tags.Tag]:
        """Every PEP 425 tag a wheel for this target may carry, best first."""
        version = (3, int(_VERSION.fullmatch(self.python_version)[1]))  # type: ignore[index]
        platforms = self.platforms()
        if self.implementation == "cp":
            found = list(tags.cpython_tags(version, self.abis, platforms))
        else:
            found = list(tags.generic_tags(self.interpreter, self.abis, platforms))
        return found + list(tags.compatible_tags(version, self.interpreter, platforms))

    def pip_options(self) -> list[str]:
        """What makes pip resolve for this target (its tags; wheels only, as pip requires)."""
        options = ["--only-binary", ":all:", "--python-version", self.python_version]
        options += ["--implementation", self.implementation]
        for platform in self.platforms():
            options += ["--platform", platform]
        for abi in self.abis:
            options += ["--abi", abi]
        return options


def distinct_targets(targets: Iterable[LockTarget]) -> list[LockTarget]:
    """``targets`` once each, in :attr:`LockTarget.sort_key` order; InvalidTarget when two
    of them overlap, since one lock's markers must tell every target apart (PEP 751
    installers select each package by its marker alone)."""
    found = sorted(set(targets), key=lambda target: target.sort_key)
    for index, target in enumerate(found):
        for other in found[index + 1 :]:
            if target.overlaps(other):
                raise InvalidTarget(
                    f"targets {target.text} and {other.text} overlap: one environment "
                    f"satisfies both {target.marker()!r} and {other.marker()!r}, so a lock's "
                    "markers cannot tell them apart; lock them separately"
                )
    return found


def parse_target(text: str) -> LockTarget:
    """``PYVER:PLATFORM[:IMPLEMENTATION[:ABI]]``, e.g. ``3.11:manylinux_2_17_x86_64``."""
    example = "e.g. 3.11:manylinux_2_17_x86_64, 3.11:macosx_11_0_arm64 or 3.11:win_amd64"
    parts = text.strip().split(":")
    if not 2 <= len(parts) <= 4 or not all(parts):
        raise InvalidTarget(f"target {text!r} is not PYVER:PLATFORM[:IMPL[:ABI]]; {example}")
    version, platform, *rest = parts
    if _VERSION.fullmatch(version) is None:
        raise InvalidTarget(
            f"target {text!r}: {version!r} is not a Python 3 version such as 3.11; {example}"
        )
    if _PLATFORM.fullmatch(platform) is None:
        raise InvalidTarget(
            f"target {text!r}: {platform!r} is not a platform tag (manylinux_*, musllinux_*, "
            f"linux_*, macosx_*, win32, win_amd64, win_arm64); {example}"
        )
    implementation = rest[0] if rest else "cp"
    if not re.fullmatch(r"[a-z]{2}", implementation):
        raise InvalidTarget(
            f"target {text!r}: {implementation!r} is not an implementation tag such as cp or pp"
        )
    abi = rest[1] if len(rest) > 1 else None
    if abi is not None and not re.fullmatch(r"[a-z0-9_]+", abi):
        raise InvalidTarget(f"target {text!r}: {abi!r} is not an ABI tag such as cp311")
    return LockTarget(version, platform, implementation, abi)


def _system_of(platform: str) -> tuple[str, str, str]:
    return next(found for prefix, found in _SYSTEMS if platform.startswith(prefix))


def _machine_of(platform: str, system: str) -> str | None:
    if system == "win32":
        return _WINDOWS_MACHINES.get(platform)
    arch = next((a for a in _ARCHES if platform.endswith(a)), None)
    if arch == "universal2":
        return None  # both x86_64 and arm64: no one machine
    return arch


def _expanded(platform: str) -> Iterator[str]:
    """The platform tags a target's platform tag admits, best first: pip's ``--platform``
    expansion (pip._internal.utils.compatibility_tags) for manylinux and macOS, and
    packaging's for musllinux."""
    legacy = next((v for k, v in _LEGACY_MANYLINUX.items() if platform.startswith(k + "_")), None)
    if legacy is not None:
        platform = f"manylinux_{legacy[0]}_{legacy[1]}_{platform.split('_', 1)[1]}"
    manylinux = _MANYLINUX.fullmatch(platform)
    if manylinux is not None:
        major, minor, arch = int(manylinux[1]), int(manylinux[2]), manylinux[3]
        # glibc 2.5 (manylinux1) is the oldest for x86; manylinux2014 the first elsewhere.
        oldest = 5 if arch in ("x86_64", "i686") else 17
        for glibc in range(minor, oldest - 1, -1):
            yield f"manylinux_{major}_{glibc}_{arch}"
            alias = next((k for k, v in _LEGACY_MANYLINUX.items() if v == (major, glibc)), None)
            if alias is not None:
                yield f"{alias}_{arch}"
        return
    musllinux = _MUSLLINUX.fullmatch(platform)
    if musllinux is not None:
        # PEP 656: a musl 1.Y system runs wheels built for any older musl 1.x, as
        # packaging's musllinux platform tags list them (pip's --platform does not widen).
        major, minor, arch = int(musllinux[1]), int(musllinux[2]), musllinux[3]
        for musl in range(minor, -1, -1):
            yield f"musllinux_{major}_{musl}_{arch}"
        return
    macos = _MACOS.fullmatch(platform)
    if macos is not None:
        version = (int(macos[1]), int(macos[2]))
        yield from tags.mac_platforms(version, macos[3])
        return
    yield platform
