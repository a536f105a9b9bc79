"""Real pip and uv clients in throwaway, fully isolated environments.

This machine (and a developer's) may carry pip configuration: /etc/xdg/pip/pip.conf, PIP_*
variables, a user pip.conf, uv.toml. A client run that sees any of it tests the machine, not
snapproxy, so every run here starts from a scrubbed environment.
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import json
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


def _cached_venv(name: str, python: str, *requirements: str) -> Path:
    """A venv under the cache holding `requirements`, installed from PyPI with isolated pip."""
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
                *requirements,
            ],
            env,
        )
        done.write_text("".join(line + "\n" for line in requirements))
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


# The resolvers built on pip and uv that `snapproxy run` is tested with, pinned so that
# the tests keep meaning the same thing; each lives in a venv of its own.
PIP_TOOLS = "7.6.2"
POETRY = "2.5.1"
PDM = "2.29.4"
# pdm 2.29.4 with the newest hishel (2.0.0) fails at start ("module 'hishel' has no
# attribute 'SyncSqliteStorage'"); hishel 1.4.0 works. setuptools: pdm --no-isolation
# builds sdists with the interpreter's own (see README, snapproxy run with pdm).
_PDM_REQUIREMENTS = (f"pdm=={PDM}", "hishel<2", "setuptools")


def _tool_venv(name: str, *requirements: str) -> Path:
    # The name carries every requirement: a changed pin builds a new venv, not reuses one.
    digest = hashlib.sha256("\n".join(requirements).encode()).hexdigest()[:8]
    python = base_python()
    return _cached_venv(f"{name}-{digest}-py{_python_minor(python)}", python, *requirements)


@functools.cache
def pip_compile_binary() -> Path:
    """pip-tools' `pip-compile` (it runs the pip of its own venv)."""
    return _tool_venv(f"pip-tools-{PIP_TOOLS}", f"pip-tools=={PIP_TOOLS}") / "bin" / "pip-compile"


@functools.cache
def poetry_binary() -> Path:
    return _tool_venv(f"poetry-{POETRY}", f"poetry=={POETRY}") / "bin" / "poetry"


@functools.cache
def pdm_venv() -> Path:
    """pdm, with a working hishel and setuptools; its python is the one pdm locks with."""
    return _tool_venv(f"pdm-{PDM}", *_PDM_REQUIREMENTS)


def hostile_client_env(root: Path, *, extra_index: str, links: Path) -> dict[str, str]:
    """clean_client_env() on a machine whose every pip, uv and pdm setting mixes
    `extra_index` and the distributions in the directory `links` into a resolution.

    Configuration files: the one PIP_CONFIG_FILE names, the user's pip.conf (new and legacy
    place) under a fake HOME and XDG_CONFIG_HOME, uv.toml there and in `root` (run clients
    with `root` as their working directory), pdm's global config with an extra source.
    Variables: PIP_EXTRA_INDEX_URL, PIP_FIND_LINKS, UV_INDEX, UV_EXTRA_INDEX_URL,
    UV_FIND_LINKS and UV_INDEX_STRATEGY=unsafe-best-match (so uv takes the highest version
    of any index).
    """
    home = root / "home"
    config = home / ".config"
    pip_conf = f"[global]\nextra-index-url = {extra_index}\nfind-links = {links}\n"
    uv_toml = (
        f"extra-index-url = [{extra_index!r}]\nfind-links = [{str(links)!r}]\n"
        'index-strategy = "unsafe-best-match"\n'
    )
    files = {
        root / "hostile-pip.conf": pip_conf,
        config / "pip" / "pip.conf": pip_conf,
        home / ".pip" / "pip.conf": pip_conf,
        config / "uv" / "uv.toml": uv_toml,
        root / "uv.toml": uv_toml,
        config / "pdm" / "config.toml": f"[pypi.hostile]\nurl = {extra_index!r}\n",
    }
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    env = clean_client_env(
        HOME=str(home),
        XDG_CONFIG_HOME=str(config),
        PIP_CONFIG_FILE=str(root / "hostile-pip.conf"),
        PIP_EXTRA_INDEX_URL=extra_index,
        PIP_FIND_LINKS=str(links),
        UV_INDEX=extra_index,
        UV_EXTRA_INDEX_URL=extra_index,
        UV_FIND_LINKS=str(links),
        UV_INDEX_STRATEGY="unsafe-best-match",
    )
    del env["UV_NO_CONFIG"]  # clean_client_env's own defence: a hostile machine has none
    return env


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


def install_pylock(pylock: Path, venv: Path) -> dict[str, str]:
    """Install a PEP 751 lock with pip 26.3 into a new venv at ``venv`` (pip installs
    from ``pylock*.toml``); the versions installed there, by lower-case name."""
    env = clean_client_env()
    subprocess.run([base_python(), "-m", "venv", "--without-pip", str(venv)], check=True, env=env)
    pip = pip_venv("26.3") / "bin" / "python"
    install = subprocess.run(
        [str(pip), "-m", "pip", "--isolated", "--no-cache-dir", "--python",
         str(venv / "bin" / "python"), "install", "-r", str(pylock)],
        capture_output=True, text=True, env=env, check=False,
    )
    assert install.returncode == 0, install.stderr
    listed = subprocess.run(
        [str(pip), "-m", "pip", "--isolated", "--python", str(venv / "bin" / "python"),
         "list", "--format", "json"],
        capture_output=True, text=True, env=env, check=True,
    )
    return {p["name"].lower(): p["version"] for p in json.loads(listed.stdout)}
