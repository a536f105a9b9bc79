"""`snapproxy run` in front of the real PyPI, on a machine whose client configuration is hostile.

Every configuration file and variable of pip, uv and pdm adds today's PyPI as an extra
index and a directory holding a tempting `requests 99.0` wheel
(`tests.support.clients.hostile_client_env`). Through `run`, pip and `uv pip compile` must
still resolve exactly the snapshot of 2021-05-01, while the same clients given the
snapshot's index by hand take the tempting wheel (which shows the configuration bites).
pip-tools, poetry and pdm through `run` must pin what uv's `--exclude-newer` pins straight
from PyPI, each with what the README says it needs.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

import pytest
from packaging.utils import canonicalize_name

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

from tests.live.truth import CUTOFF_TEXT, PIP_STYLE_CUTOFF, PYPI
from tests.support.clients import (
    base_python,
    hostile_client_env,
    pdm_venv,
    pip_compile_binary,
    pip_venv,
    poetry_binary,
    run_uv,
    uv_binary,
)
from tests.support.distributions import make_wheel
from tests.support.proxyproc import SnapproxyServer, snapproxy_executable

EXPECTED = {
    ("requests", "2.25.1"),
    ("urllib3", "1.26.4"),
    ("idna", "2.10"),
    ("chardet", "4.0.0"),
    ("certifi", "2020.12.5"),
}
# docopt 0.6.2 is an sdist without pyproject.toml: every client has to build it.
REQUIREMENTS = ("requests", "docopt")
HANG_GUARD = 1800.0  # only against a hang; a client that resolves takes seconds

Pins = set[tuple[str, str]]


def _pins(pairs: Iterable[tuple[str, str]]) -> Pins:
    return {(str(canonicalize_name(name)), version) for name, version in pairs}


def _ok(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 0, f"{proc.args} failed ({proc.returncode}):\n{proc.stderr}"
    return proc.stdout


def _requirement_pins(text: str) -> Pins:
    """`name==version` lines of pip-compile or uv pip compile output, and nothing else."""
    pairs = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, sep, version = line.partition("==")
            assert sep, f"not a pin: {line!r} (an index or find-links line leaked out?)"
            pairs.append((name, version))
    return _pins(pairs)


def _lock_pins(lock: Path) -> Pins:
    """The [[package]] names and versions of a poetry.lock or pdm.lock."""
    packages = tomllib.loads(lock.read_text())["package"]
    return _pins((package["name"], package["version"]) for package in packages)


def _run(
    command: Sequence[str | Path], env: Mapping[str, str], cwd: Path
) -> subprocess.CompletedProcess[str]:
    """`snapproxy run --date 2021-05-01 -q -- COMMAND` with its own empty proxy cache."""
    return subprocess.run(
        [snapproxy_executable(), "run", "--date", CUTOFF_TEXT, "--upstream", PYPI, "-q",
         "--cache-dir", str(cwd / "snapproxy-cache"), "--", *map(str, command)],
        env=dict(env), cwd=cwd, stdin=subprocess.DEVNULL, capture_output=True, text=True,
        timeout=HANG_GUARD, check=False,
    )  # fmt: skip


@pytest.fixture
def hostile(tmp_path: Path) -> dict[str, str]:
    """A hostile environment for clients run with `tmp_path` as their working directory."""
    links = tmp_path / "links"
    links.mkdir()
    tempting = make_wheel("requests", "99.0")
    (links / tempting.filename).write_bytes(tempting.content)
    env = hostile_client_env(tmp_path, extra_index=f"{PYPI}/simple/", links=links)
    # Every tool's caches inside the test's directory, empty.
    return dict(env, UV_CACHE_DIR=str(tmp_path / "uv-cache"))


def _pip(*args: str) -> list[str]:
    """pip 26.3 as a user runs it: no --isolated, so every setting of the machine counts."""
    python = pip_venv("26.3") / "bin" / "python"
    return [str(python), "-m", "pip", "install", "--dry-run", "--quiet", "--report", "-",
            *args, "requests"]  # fmt: skip


def _report_pins(stdout: str) -> Pins:
    report = json.loads(stdout)
    return _pins((i["metadata"]["name"], i["metadata"]["version"]) for i in report["install"])


def _uv_compile(*args: str) -> list[str]:
    return [str(uv_binary()), "pip", "compile", "--no-header", "--no-annotate", "--python",
            base_python(), *args, "requirements.in"]  # fmt: skip


def test_pip_through_run_resolves_the_snapshot_whatever_the_configuration(
    hostile: dict[str, str], tmp_path: Path, live_proxy: SnapproxyServer
) -> None:
    assert _report_pins(_ok(_run(_pip(), hostile, tmp_path))) == EXPECTED
    by_hand = _pip("--index-url", live_proxy.index_url)
    done = subprocess.run(by_hand, env=hostile, cwd=tmp_path, capture_output=True, text=True,
                          timeout=HANG_GUARD, check=False)  # fmt: skip
    assert _report_pins(_ok(done)) == {("requests", "99.0")}


def test_uv_through_run_resolves_the_snapshot_whatever_the_configuration(
    hostile: dict[str, str], tmp_path: Path, live_proxy: SnapproxyServer
) -> None:
    (tmp_path / "requirements.in").write_text("requests\n")
    assert _requirement_pins(_ok(_run(_uv_compile(), hostile, tmp_path))) == EXPECTED
    by_hand = run_uv(*_uv_compile("--index-url", live_proxy.index_url)[1:], env=hostile,
                     cwd=tmp_path)  # fmt: skip
    assert ("requests", "99.0") in _requirement_pins(_ok(by_hand))


@pytest.fixture(scope="module")
def exclude_newer(tmp_path_factory: pytest.TempPathFactory) -> Pins:
    """uv's `--exclude-newer` straight from PyPI: the pins every client must agree with."""
    directory = tmp_path_factory.mktemp("exclude-newer")
    (directory / "requirements.in").write_text("".join(f"{r}\n" for r in REQUIREMENTS))
    args = _uv_compile("--index-url", f"{PYPI}/simple/", "--exclude-newer", PIP_STYLE_CUTOFF)
    pins = _requirement_pins(_ok(run_uv(*args[1:], cwd=directory)))
    assert pins == EXPECTED | {("docopt", "0.6.2")}
    return pins


def _project(directory: Path, tool_table: str) -> None:
    # An upper bound on Python: poetry passes over every release that says "<4" otherwise.
    dependencies = ", ".join(f'"{r}"' for r in REQUIREMENTS)
    (directory / "pyproject.toml").write_text(
        f'[project]\nname = "snapshot-check"\nversion = "0"\nrequires-python = ">=3.11,<4"\n'
        f"dependencies = [{dependencies}]\n\n{tool_table}"
    )


def _pip_compile(directory: Path, env: dict[str, str]) -> Pins:
    (directory / "requirements.in").write_text("".join(f"{r}\n" for r in REQUIREMENTS))
    command = [pip_compile_binary(), "--no-emit-index-url", "--no-header", "--no-annotate",
               "--strip-extras", "--quiet", "--output-file", "-", "requirements.in"]  # fmt: skip
    return _requirement_pins(_ok(_run(command, env, directory)))


def _poetry(directory: Path, env: dict[str, str]) -> Pins:
    _project(directory, "[tool.poetry]\npackage-mode = false\n")
    env = dict(
        env,
        POETRY_CACHE_DIR=str(directory / "poetry-cache"),
        POETRY_CONFIG_DIR=str(directory / "poetry-config"),
        POETRY_NO_INTERACTION="1",
    )
    poetry = poetry_binary()
    script = (
        f'"{poetry}" source add --priority=primary snapshot "$PIP_INDEX_URL" && "{poetry}" lock'
    )
    _ok(_run(["sh", "-c", script], env, directory))
    return _lock_pins(directory / "poetry.lock")


def _pdm(directory: Path, env: dict[str, str]) -> Pins:
    _project(directory, "[tool.pdm]\ndistribution = false\n")
    venv = pdm_venv()
    # --no-isolation: docopt's sdist is built with the setuptools of pdm's venv, as pdm
    # would otherwise want setuptools>=61, which did not exist yet at the cutoff.
    env = dict(
        env,
        PDM_PYTHON=str(venv / "bin" / "python"),
        PDM_CHECK_UPDATE="0",
        PDM_CACHE_DIR=str(directory / "pdm-cache"),
        PDM_LOG_DIR=str(directory / "pdm-log"),
    )
    _ok(_run([venv / "bin" / "pdm", "lock", "--no-isolation"], env, directory))
    return _lock_pins(directory / "pdm.lock")


@pytest.mark.parametrize(
    "client", [_pip_compile, _poetry, _pdm], ids=["pip-tools", "poetry", "pdm"]
)
def test_each_client_through_run_pins_what_uv_exclude_newer_pins(
    client: Callable[[Path, dict[str, str]], Pins],
    hostile: dict[str, str],
    tmp_path: Path,
    exclude_newer: Pins,
) -> None:
    assert client(tmp_path, hostile) == exclude_newer
