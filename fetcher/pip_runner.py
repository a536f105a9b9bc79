"""Running a pinned pip, isolated from the machine, to resolve against the snapshot.

The pip is a wheel of an exact version run with the target interpreter
(``python pip-X-py3-none-any.whl/pip``, or ``python DIR/pip`` for the checked unpacked
copy of that wheel :mod:`fetcher.pip_install` keeps in the cache), never the machine's
pip.  Nothing of the machine's pip configuration reaches it: ``--isolated`` ignores
configuration files and ``PIP_*`` variables, ``PIP_CONFIG_FILE=/dev/null`` covers the
global file, the other ``PIP_*`` variables are removed anyway, and ``HOME`` is a fresh
directory.  ``TMPDIR`` is one too, so that nothing pip leaves when it is killed outlives
the fetch.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from snapproxy.defaults import DEFAULT_PIP_VERSION

__all__ = [
    "DEFAULT_PIP_VERSION",
    "PipFailed",
    "Target",
    "pip_environment",
    "pip_resolve_command",
    "pip_wheel_filename",
    "run_pip",
]


class PipFailed(RuntimeError):
    """pip exited non-zero; ``message`` is what it said on stderr."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Target:
    """The interpreter and platform a resolution is for."""

    python: str
    only_binary: bool = False
    platforms: tuple[str, ...] = ()
    python_version: str | None = None
    implementation: str | None = None
    abis: tuple[str, ...] = field(default=())

    def environment(self, running: Mapping[str, str]) -> dict[str, str]:
        """The PEP 508 environment resolved for: the running interpreter's, with what the
        target options name instead (pip's report shows only the running one)."""
        env = dict(running)
        if self.python_version:
            env["python_version"] = self.python_version
            env.pop("python_full_version", None)
        if self.implementation:
            env["implementation_name"] = _IMPLEMENTATIONS.get(
                self.implementation, self.implementation
            )
        if self.platforms:
            system, machine = _platform_of(self.platforms[0])
            env["sys_platform"] = system
            if machine:
                env["platform_machine"] = machine
        return env

    def pip_command(self, pip: Path) -> list[str]:
        """What runs ``pip`` (a wheel, or a directory it was unpacked into), before its
        arguments.  :class:`fetcher.target_pip.MarkedTarget` runs it another way."""
        return [self.python, str(pip / "pip")]

    def pip_options(self) -> list[str]:
        options: list[str] = []
        if self.only_binary:
            options += ["--only-binary", ":all:"]
        for platform in self.platforms:
            options += ["--platform", platform]
        if self.python_version:
            options += ["--python-version", self.python_version]
        if self.implementation:
            options += ["--implementation", self.implementation]
        for abi in self.abis:
            options += ["--abi", abi]
        return options


_IMPLEMENTATIONS = {"cp": "cpython", "pp": "pypy", "ip": "ironpython", "jy": "jython"}
# Platform tag prefix -> sys.platform (PEP 425/600/656 tags, macOS and Windows ones).
_SYSTEMS = (
    ("manylinux", "linux"),
    ("musllinux", "linux"),
    ("linux", "linux"),
    ("macosx", "darwin"),
    ("win", "win32"),
)


def _platform_of(tag: str) -> tuple[str, str | None]:
    """``(sys_platform, platform_machine)`` a platform tag stands for."""
    system = next((name for prefix, name in _SYSTEMS if tag.startswith(prefix)), tag)
    if tag in ("win32",):
        return system, "x86"
    if tag.startswith("win_"):
        return system, {"amd64": "AMD64", "arm64": "ARM64"}.get(tag[4:], tag[4:])
    if system in ("linux", "darwin"):
        for arch in ("x86_64", "aarch64", "arm64", "i686", "ppc64le", "s390x", "armv7l"):
            if tag.endswith(arch):
                return system, arch
    return system, None


def pip_wheel_filename(version: str) -> str:
    """pip has published only ``py3-none-any`` wheels since pip 10."""
    return f"pip-{version}-py3-none-any.whl"


def pip_resolve_command(
    target: Target,
    pip: Path,
    index_url: str,
    report: Path,
    requirement_files: Sequence[Path],
    requirements: Sequence[str],
) -> list[str]:
    """The pip command line that resolves and writes an installation report; ``pip`` is
    the wheel file or a directory it was unpacked into (both hold the ``pip`` package)."""
    command = [
        *target.pip_command(pip),
        "install",
        "--isolated",
        "--no-cache-dir",
        "--disable-pip-version-check",
        "--no-input",
        "--progress-bar",
        "off",
        "--dry-run",
        "--ignore-installed",
        "--quiet",
        "--report",
        str(report),
        "--index-url",
        index_url,
        # The index is the in-process proxy on loopback, which retries upstream itself and
        # may wait on a slow upstream longer than pip's default 15 s.
        "--retries",
        "1",
        "--timeout",
        "300",
        *target.pip_options(),
    ]
    for path in requirement_files:
        command += ["--requirement", str(path)]
    # "--": whatever the requirements say, pip reads them as requirements, never options.
    return [*command, "--", *requirements] if requirements else command


def pip_environment(base: Mapping[str, str], home: Path, tmp: Path) -> dict[str, str]:
    """The environment pip runs in: the caller's, minus everything that configures pip,
    with ``home`` as its home and ``tmp`` for its temporary files (and its children's)."""
    env = {
        k: v
        for k, v in base.items()
        if not k.startswith("PIP_") and k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")
    }
    env.update(
        PIP_CONFIG_FILE=os.devnull,
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        PYTHONNOUSERSITE="1",
        TMPDIR=str(tmp),
        # The proxy is on loopback: no proxy variable may route around it.
        NO_PROXY="127.0.0.1,localhost",
        no_proxy="127.0.0.1,localhost",
    )
    return env


async def run_pip(command: Sequence[str], env: Mapping[str, str], cwd: Path) -> None:
    """Run pip; raise :class:`PipFailed` with its error lines when it fails."""
    process = await asyncio.create_subprocess_exec(
        *command,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=dict(env),
        cwd=cwd,
        # A group of its own: a terminal's Ctrl-C reaches snapproxy alone, which decides,
        # and the kill below reaches what pip started too (build backends, pip for builds).
        start_new_session=True,
    )
    try:
        _stdout, stderr = await process.communicate()
    except asyncio.CancelledError:
        # Interrupted (a signal, or a sibling failed): pip must not outlive the fetch.
        _kill_group(process.pid)
        await process.wait()
        raise
    if process.returncode != 0:
        lines = stderr.decode("utf-8", "replace").splitlines()
        # From pip's first error on: a conflict explains itself in the lines after it.
        first = next((n for n, line in enumerate(lines) if line.startswith("ERROR:")), 0)
        message = "\n".join(line for line in lines[first:] if line.strip())
        raise PipFailed(message or f"pip exited with status {process.returncode}")


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):  # already gone
        os.killpg(pid, signal.SIGKILL)
