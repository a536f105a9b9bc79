"""The pinned pip's command line and environment: isolated from the machine's pip setup."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import pytest

from fetcher.pip_runner import (
    Target,
    pip_environment,
    pip_resolve_command,
    pip_wheel_filename,
    run_pip,
)

INDEX = "http://127.0.0.1:4321/snapshot/2021-05-01T00:00:00Z/simple/"


@pytest.mark.parametrize(
    ("target", "options"),
    [
        (Target(python="python3"), []),
        (Target(python="python3", only_binary=True), ["--only-binary", ":all:"]),
        (
            Target(python="python3", platforms=("manylinux2014_x86_64", "linux_x86_64")),
            ["--platform", "manylinux2014_x86_64", "--platform", "linux_x86_64"],
        ),
        (Target(python="python3", python_version="3.9"), ["--python-version", "3.9"]),
        (Target(python="python3", implementation="cp"), ["--implementation", "cp"]),
        (
            Target(python="python3", abis=("cp39", "abi3", "none")),
            ["--abi", "cp39", "--abi", "abi3", "--abi", "none"],
        ),
        (
            Target(
                python="/usr/bin/python3.11",
                only_binary=True,
                platforms=("macosx_11_0_arm64",),
                python_version="3.12",
                implementation="cp",
                abis=("cp312",),
            ),
            [
                "--only-binary",
                ":all:",
                "--platform",
                "macosx_11_0_arm64",
                "--python-version",
                "3.12",
                "--implementation",
                "cp",
                "--abi",
                "cp312",
            ],
        ),
    ],
)
def test_target_pip_options(target: Target, options: list[str]) -> None:
    assert target.pip_options() == options


@pytest.mark.parametrize(
    ("version", "filename"),
    [("26.3", "pip-26.3-py3-none-any.whl"), ("20.3.4", "pip-20.3.4-py3-none-any.whl")],
)
def test_pip_wheel_filename(version: str, filename: str) -> None:
    assert pip_wheel_filename(version) == filename


def _command(target: Target, files: list[Path], requirements: list[str]) -> list[str]:
    return pip_resolve_command(
        target,
        Path("/work/pip-26.3-py3-none-any.whl"),
        INDEX,
        Path("/work/report.json"),
        files,
        requirements,
    )


def _value(command: list[str], option: str) -> str:
    assert command.count(option) == 1, (option, command)
    return command[command.index(option) + 1]


def test_resolve_command_runs_the_pinned_wheel_with_the_target_python() -> None:
    command = _command(Target(python="/opt/py/bin/python3.12"), [], ["requests"])
    assert command[:3] == [
        "/opt/py/bin/python3.12",
        "/work/pip-26.3-py3-none-any.whl/pip",
        "install",
    ]


@pytest.mark.parametrize(
    "flag",
    [
        "--isolated",
        "--no-cache-dir",
        "--disable-pip-version-check",
        "--no-input",
        "--dry-run",
        "--ignore-installed",
    ],
)
def test_resolve_command_isolation_flags(flag: str) -> None:
    assert flag in _command(Target(python="python3"), [], ["requests"])


def test_resolve_command_index_and_report() -> None:
    command = _command(Target(python="python3"), [], ["requests"])
    assert _value(command, "--index-url") == INDEX
    assert _value(command, "--report") == "/work/report.json"
    for escape in ("--extra-index-url", "--find-links", "-f", "--trusted-host", "-i"):
        assert escape not in command


def test_resolve_command_requirement_files_and_requirements() -> None:
    files = [Path("/r/requirements.txt"), Path("/r/dev requirements.txt")]
    command = _command(Target(python="python3"), files, ["requests==2.31.0", "flask>=2"])
    install = command[command.index("install") + 1 :]
    # each file behind its own --requirement, in order
    positions = [i for i, word in enumerate(install) if word == "--requirement"]
    assert [install[i + 1] for i in positions] == [str(f) for f in files]
    # the requirements come last, as separate arguments, unquoted
    assert install[-2:] == ["requests==2.31.0", "flask>=2"]


def test_resolve_command_requirements_after_target_options() -> None:
    target = Target(python="python3", only_binary=True, platforms=("linux_x86_64",))
    command = _command(target, [], ["requests[socks]"])
    assert command[-1] == "requests[socks]"
    assert _value(command, "--platform") == "linux_x86_64"
    assert command.index("--only-binary") < command.index("requests[socks]")


def test_resolve_command_without_requirement_files() -> None:
    command = _command(Target(python="python3"), [], ["x"])
    assert "--requirement" not in command
    assert "-r" not in command


BASE = {
    "PATH": "/usr/bin:/bin",
    "LANG": "C.UTF-8",
    "HOME": "/root",
    "XDG_CONFIG_HOME": "/root/.config",
    "PIP_INDEX_URL": "https://mirror.example/simple",
    "PIP_EXTRA_INDEX_URL": "https://extra.example/simple",
    "PIP_FIND_LINKS": "/srv/wheels",
    "PIP_NO_INDEX": "1",
    "PIP_TRUSTED_HOST": "mirror.example",
    "PIP_CONFIG_FILE": "/etc/pip.conf",
    "PIP_REQUIRE_VIRTUALENV": "true",
    "PIP_CERT": "/etc/ssl/mirror.pem",
    "PIP_UPLOADED_PRIOR_TO": "2030-01-01",
    "PYTHONPATH": "/somewhere",
    "PYTHONHOME": "/elsewhere",
    "VIRTUAL_ENV": "/venv",
    "HTTPS_PROXY": "http://proxy.example:3128",
    "NO_PROXY": "example.com",
    "SSL_CERT_FILE": "/etc/ssl/certs/ca.pem",
    "TMPDIR": "/tmp/user",
}


def test_pip_environment_removes_pip_settings(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = pip_environment(BASE, home, tmp_path / "tmp")
    leftovers = {k for k in env if k.startswith("PIP_")}
    assert leftovers == {"PIP_CONFIG_FILE"}
    assert env["PIP_CONFIG_FILE"] == os.devnull == "/dev/null"
    for variable in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV"):
        assert variable not in env


def test_pip_environment_fresh_home(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = pip_environment(BASE, home, tmp_path / "tmp")
    assert env["HOME"] == str(home)
    # pip reads ~/.config/pip/pip.conf through XDG_CONFIG_HOME: it must not be the user's.
    assert env["XDG_CONFIG_HOME"].startswith(str(home))
    assert env["PYTHONNOUSERSITE"] == "1"


def test_pip_environment_own_temporary_directory(tmp_path: Path) -> None:
    # pip (and what it starts) puts its temporary files there, which go with the fetch's
    # work directory even when pip is killed before it can clean up.
    env = pip_environment(BASE, tmp_path / "home", tmp_path / "tmp")
    assert env["TMPDIR"] == str(tmp_path / "tmp")


def test_pip_environment_keeps_the_rest(tmp_path: Path) -> None:
    env = pip_environment(BASE, tmp_path, tmp_path / "tmp")
    for variable in ("PATH", "LANG", "HTTPS_PROXY", "SSL_CERT_FILE"):
        assert env[variable] == BASE[variable]
    # loopback never goes through a proxy
    for variable in ("NO_PROXY", "no_proxy"):
        assert {"127.0.0.1", "localhost"} <= set(env[variable].split(","))


def test_pip_environment_does_not_touch_its_input(tmp_path: Path) -> None:
    base = dict(BASE)
    pip_environment(base, tmp_path, tmp_path / "tmp")
    assert base == BASE


def test_pip_environment_from_an_empty_base(tmp_path: Path) -> None:
    env = pip_environment({}, tmp_path, tmp_path / "tmp")
    assert env["PIP_CONFIG_FILE"] == "/dev/null"
    assert env["HOME"] == str(tmp_path)


def test_requirements_are_never_read_as_pip_options() -> None:
    command = pip_resolve_command(
        Target("python"), Path("/pip.whl"), "http://127.0.0.1:1/simple/", Path("/r.json"),
        [Path("/req.txt")], ["--index-url=https://evil.example/simple"],
    )
    assert command[-2:] == ["--", "--index-url=https://evil.example/simple"]
    assert command.index("--requirement") < command.index("--")


def _alive(pid: int) -> bool:
    """Running, not a zombie waiting to be reaped."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


# Stands in for pip building an sdist's metadata: a child of its own that outlives a
# killed parent unless the whole process group is killed.
_PARENT_OF_A_SLEEPER = """
import os, subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3600)"])
with open(sys.argv[1] + ".part", "w") as out:
    out.write(str(child.pid))
os.rename(sys.argv[1] + ".part", sys.argv[1])
time.sleep(3600)
"""


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
async def test_cancelling_pip_kills_what_it_started_too(tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pid"
    command = [sys.executable, "-c", _PARENT_OF_A_SLEEPER, str(pid_file)]
    running = asyncio.ensure_future(run_pip(command, dict(os.environ), cwd=tmp_path))
    # Hang guards only: each wait ends as soon as its event happens.
    for _ in range(6000):
        if pid_file.exists() or running.done():
            break
        await asyncio.sleep(0.01)
    child = int(pid_file.read_text())
    try:
        running.cancel()
        # A survivor keeps pip's output pipes open, and run_pip would wait for it.
        done, _ = await asyncio.wait({running}, timeout=60)
        assert done, "run_pip still waits after being cancelled: pip's child lives on"
        for _ in range(6000):
            if not _alive(child):
                break
            await asyncio.sleep(0.01)
        assert not _alive(child)
    finally:
        if _alive(child):
            os.kill(child, signal.SIGKILL)
        with pytest.raises(asyncio.CancelledError):
            await running
