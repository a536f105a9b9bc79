"""Real pip and uv clients in throwaway, fully isolated environments.

This machine (and a developer's) may carry pip configuration: /etc/xdg/pip/pip.conf, PIP_*
variables, a user pip.conf, uv.toml. A client run that sees any of it tests the machine, not
snapproxy, so every run here starts from a scrubbed environment.
"""

from __future__ import annotations

import fcntl
import functools
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import pytest
from packaging.version import Version

PYPI_SIMPLE = "https://pypi.org/simple/"
PYENV_VERSIONS = Path("/root/.pyenv/versions")
# pip releases before this one predate Python 3.11 and are run on 3.10 when it is there.
_OLDEST_PIP_FOR_DEFAULT_PYTHON = Version("22.3")
# Variables that redirect where a client installs or what Python it runs.
_SCRUBBED = {"VIRTUAL_ENV", "CONDA_PREFIX", "PYTHONPATH", "PYTHONHOME", "PYTHONUSERBASE"}


def cache_root() -> Path:
    """Where client venvs are kept between test sessions ($SNAPPROXY_TEST_CACHE overrides)."""
    if override := os.environ.get("SNAPPROXY_TEST_CACHE"):
        return Path(override)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "snapproxy-tests"


def clean_client_env(**extra: str) -> dict[str, str]:
    """os.environ without pip/uv settings or venv pointers, pinned to no config at all.

    Proxy variables stay (a client may need them to reach PyPI); loopback is always exempt so
    requests to the local proxy never leave the machine.
    """
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PIP_", "UV_")) and k not in _SCRUBBED
    }
    no_proxy = ",".join(
        filter(None, [env.get("NO_PROXY") or env.get("no_proxy"), "127.0.0.1,localhost"])
    )
    env.update(
        PIP_CONFIG_FILE=os.devnull,  # pip then reads no config file at all, not even /etc/xdg
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        PIP_NO_INPUT="1",
        UV_NO_CONFIG="1",
        UV_PYTHON_DOWNLOADS="never",
        NO_PROXY=no_proxy,
        no_proxy=no_proxy,
    )
    env.update(extra)
    return env


def base_python(minor: str | None = None) -> str:
    """A real interpreter (not the project's venv python), optionally of version `3.X`."""
    if minor is not None:
        candidates = sorted(PYENV_VERSIONS.glob(f"{minor}.*/bin/python{minor}"))
        found = shutil.which(f"python{minor}")
        if candidates:
            return str(candidates[-1])
        if found:
            return found
    return getattr(sys, "_base_executable", sys.executable)


def python_for_pip(version: str) -> str:
    """Old pip does not know newer Pythons: run it on 3.10 when that exists."""
    if Version(version) < _OLDEST_PIP_FOR_DEFAULT_PYTHON:
        return base_python("3.10")
    return base_python()


def _python_minor(python: str) -> str:
    out = subprocess.run(
        [python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
        capture_output=True,
        text=True,
        check=True,
        env=clean_client_env(),
    )
    return out.stdout.strip()


def _run_checked(cmd: list[str], env: Mapping[str, str]) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True, env=dict(env), check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    # Parallel test workers may build the same venv; one builds, the others wait and reuse.
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _cached_venv(name: str, python: str, requirement: str) -> Path:
    """A venv under the cache holding `requirement`, installed from PyPI with isolated pip."""
    venv = cache_root() / "venvs" / name
    done = venv / ".snapproxy-complete"
    with _locked(venv.with_name(name + ".lock")):
        if done.exists():
            return venv
        require_network(f"{name} is not cached and PyPI is unreachable")
        shutil.rmtree(venv, ignore_errors=True)  # a half-built venv from an interrupted run
        env = clean_client_env()
        _run_checked([python, "-m", "venv", str(venv)], env)
        _run_checked(
            [
                str(venv / "bin" / "python"),
                "-m",
                "pip",
                "--isolated",
                "--no-cache-dir",
                "--disable-pip-version-check",
                "install",
                "--index-url",
                PYPI_SIMPLE,
                requirement,
            ],
            env,
        )
        done.write_text(requirement + "\n")
    return venv


@functools.cache
def pip_venv(version: str, python: str | None = None) -> Path:
    """A cached venv with exactly pip==`version` (on `python`, default per python_for_pip)."""
    python = python or python_for_pip(version)
    venv = _cached_venv(f"pip-{version}-py{_python_minor(python)}", python, f"pip=={version}")
    got = run_pip(venv, "--version").stdout
    if not got.startswith(f"pip {version} "):
        raise RuntimeError(f"{venv} should hold pip {version}, has: {got!r}")
    return venv


@functools.cache
def uv_binary() -> Path:
    """The latest uv (at the time its cached venv was built) as an executable path."""
    python = base_python()
    return _cached_venv(f"uv-latest-py{_python_minor(python)}", python, "uv") / "bin" / "uv"


def run_pip(
    venv: Path,
    *args: str,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 600,
) -> subprocess.CompletedProcess[str]:
    """`python -m pip --isolated --no-cache-dir ... ARGS` in `venv`; never raises on failure."""
    # --isolated makes pip ignore PIP_* variables, so the quiet switches are given as flags;
    # the version check would otherwise ask the index under test for pip.
    cmd = [
        str(venv / "bin" / "python"),
        "-m",
        "pip",
        "--isolated",
        "--no-cache-dir",
        "--disable-pip-version-check",
        "--no-input",
        *args,
    ]
    return subprocess.run(
        cmd,
        env=dict(env or clean_client_env()),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def run_uv(
    *args: str,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 600,
) -> subprocess.CompletedProcess[str]:
    """`uv ARGS` with a clean env and, unless `env` names one, a fresh empty cache."""
    env = dict(env or clean_client_env())
    with tempfile.TemporaryDirectory(prefix="snapproxy-uv-cache-") as cache:
        env.setdefault("UV_CACHE_DIR", cache)
        return subprocess.run(
            [str(uv_binary()), *args],
            env=env,
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )


@functools.cache
def network_available() -> bool:
    """Whether PyPI answers within a few seconds."""
    request = urllib.request.Request(f"{PYPI_SIMPLE}pip/", method="HEAD")
    try:
        with urllib.request.urlopen(request, timeout=5):
            return True
    except urllib.error.HTTPError as error:
        return error.code < 500
    except OSError:  # URLError, timeouts, resolution failures
        return False


def _required(variable: str) -> bool:
    return os.environ.get(variable) == "1"


def require_network(reason: str = "needs network access to PyPI") -> None:
    """Skip the test when PyPI is unreachable; fail instead under SNAPPROXY_REQUIRE_NETWORK=1."""
    if network_available():
        return
    if _required("SNAPPROXY_REQUIRE_NETWORK"):
        pytest.fail(f"{reason} (PyPI unreachable and SNAPPROXY_REQUIRE_NETWORK=1)")
    pytest.skip(reason)


def require_nix(reason: str = "needs nix-build") -> None:
    """Skip the test without nix-build; fail instead under SNAPPROXY_REQUIRE_NIX=1."""
    if shutil.which("nix-build"):
        return
    if _required("SNAPPROXY_REQUIRE_NIX"):
        pytest.fail(f"{reason} (nix-build not found and SNAPPROXY_REQUIRE_NIX=1)")
    pytest.skip(reason)
