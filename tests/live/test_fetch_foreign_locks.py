"""`snapproxy fetch --from-lock` with locks uv and pip wrote, as they wrote them.

One requirement set, locked twice from the real PyPI as of 2023-06-01: by uv
(`uv pip compile --universal --format pylock.toml`: every platform's files, no file names,
inline tables) and by `pip lock` (this machine's files only).  Each becomes a wheelhouse of
this machine's files alone, every sha256 checked, that pip installs offline; and a target
the lock has no file for fails naming the package and the target.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from packaging.pylock import PackageSdist, PackageWheel
from packaging.pylock import Pylock as PackagingPylock

from tests.support.clients import (
    PYPI_SIMPLE,
    base_python,
    clean_client_env,
    pip_venv,
    require_network,
    run_pip,
    run_uv,
)
from tests.support.fetching import PIP, nar_hash, run_snapproxy

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

# click alone is pure Python; charset-normalizer 3.1.0 has a wheel per platform and Python,
# and click pulls colorama in on Windows only.
REQUIREMENTS = "click==8.1.3\ncharset-normalizer==3.1.0\n"
BEFORE = "2023-06-01T00:00:00Z"
PINS = {"click": "8.1.3", "charset-normalizer": "3.1.0"}
LOCK_TEXT = "requirements.lock.txt"


@pytest.fixture(scope="module")
def locks(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    """``{"uv": pylock.uv.toml, "pip": pylock.pip.toml}``, written by the tools themselves."""
    require_network("the locks are made from PyPI")
    work = tmp_path_factory.mktemp("foreign-locks")
    (work / "requirements.in").write_text(REQUIREMENTS)
    uv_lock = work / "pylock.uv.toml"
    uv = run_uv(
        "pip", "compile", "--universal", "--format", "pylock.toml", "--exclude-newer", BEFORE,
        "--index-url", PYPI_SIMPLE, "requirements.in", "-o", uv_lock.name,
        cwd=work,
    )  # fmt: skip
    assert uv.returncode == 0, uv.stderr
    pip_lock = work / "pylock.pip.toml"
    pip = run_pip(
        pip_venv(PIP), "lock", "--uploaded-prior-to", BEFORE, "--index-url", PYPI_SIMPLE,
        "-r", str(work / "requirements.in"), "-o", str(pip_lock),
    )  # fmt: skip
    assert pip.returncode == 0, pip.stderr
    yield {"uv": uv_lock, "pip": pip_lock}


def _document(lock: Path) -> dict[str, Any]:
    document: dict[str, Any] = tomllib.loads(lock.read_text())
    return document


def _every_file(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        archive
        for package in document["packages"]
        for archive in [
            *package.get("wheels", []),
            *([package["sdist"]] if "sdist" in package else []),
        ]
    ]


def _fetch(lock: Path, out: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_snapproxy("fetch", "--quiet", "--from-lock", lock, "-o", out, *args)


@pytest.mark.parametrize("tool", ["uv", "pip"])
def test_a_foreign_lock_becomes_a_wheelhouse_of_this_machines_files(
    locks: dict[str, Path], tmp_path: Path, tool: str
) -> None:
    lock = locks[tool]
    document = _document(lock)
    assert document["created-by"] == tool
    assert "tool" not in document  # no [tool.snapproxy]: the lock text is derived
    out = tmp_path / "wheels"
    result = _fetch(lock, out)
    assert result.returncode == 0, result.stderr

    # packaging.pylock selects for this interpreter on its own: the same files.
    expected = {}
    for _, file in PackagingPylock.from_dict(document).select():
        assert isinstance(file, (PackageWheel, PackageSdist))  # index files only here
        expected[file.filename] = file.hashes["sha256"]
    held = sorted(p.name for p in out.iterdir())
    assert held == sorted([*expected, LOCK_TEXT])
    for name, sha256 in expected.items():
        assert hashlib.sha256((out / name).read_bytes()).hexdigest() == sha256
    if tool == "uv":
        # A universal lock names every platform's files; only this machine's came.
        assert len(_every_file(document)) > len(expected) == 2
        assert not any(name.startswith("colorama") for name in held)

    lock_text = (out / LOCK_TEXT).read_text()
    assert {
        line.split("==")[0]: line.split("==")[1].split()[0]
        for line in lock_text.splitlines()
        if "==" in line
    } == PINS
    _install_offline(out, tmp_path / "venv")


def _install_offline(wheelhouse: Path, venv: Path) -> None:
    # Every index and proxy setting points nowhere: only the wheelhouse can serve.
    env = clean_client_env(
        http_proxy="http://127.0.0.1:9", https_proxy="http://127.0.0.1:9",
        HTTP_PROXY="http://127.0.0.1:9", HTTPS_PROXY="http://127.0.0.1:9",
    )  # fmt: skip
    subprocess.run([base_python(), "-m", "venv", "--without-pip", str(venv)], check=True, env=env)
    python = str(venv / "bin" / "python")
    install = run_pip(
        pip_venv(PIP), "--python", python, "install", "--no-index", "--find-links",
        str(wheelhouse), "--require-hashes", "-r", str(wheelhouse / LOCK_TEXT), env=env,
    )  # fmt: skip
    assert install.returncode == 0, install.stderr
    listed = run_pip(pip_venv(PIP), "--python", python, "list", "--format", "json", env=env)
    installed = {p["name"].lower(): p["version"] for p in json.loads(listed.stdout)}
    assert installed == PINS
    imported = subprocess.run(
        [python, "-c", "import click, charset_normalizer; print(charset_normalizer.__version__)"],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    assert imported.stdout.strip() == "3.1.0", imported.stderr


def test_the_uv_and_pip_wheelhouses_are_one_tree(locks: dict[str, Path], tmp_path: Path) -> None:
    # The same requirements, two tools: one selection for this machine, byte for byte.
    trees = []
    for tool, lock in locks.items():
        out = tmp_path / tool
        result = _fetch(lock, out)
        assert result.returncode == 0, result.stderr
        trees.append(nar_hash(out))
    assert trees[0] == trees[1]


def test_the_universal_lock_serves_another_platform(locks: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "windows"
    result = _fetch(locks["uv"], out, "--target", "3.11:win_amd64")
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in out.iterdir()) == [
        "charset_normalizer-3.1.0-cp311-cp311-win_amd64.whl",
        "click-8.1.3-py3-none-any.whl",
        "colorama-0.4.6-py2.py3-none-any.whl",
        LOCK_TEXT,
    ]


def test_a_target_the_lock_has_no_file_for_names_package_and_target(
    locks: dict[str, Path], tmp_path: Path
) -> None:
    # pip locked this machine's charset-normalizer wheel alone, and no sdist.
    out = tmp_path / "windows"
    result = _fetch(locks["pip"], out, "--target", "3.11:win_amd64")
    assert result.returncode == 1
    assert result.stderr.startswith(
        f"snapproxy: error: {locks['pip']}: charset-normalizer 3.1.0 has no file for "
        "3.11:win_amd64 (wheels: cp311-cp311-"
    )
    assert len(result.stderr.splitlines()) == 1
    assert not out.exists()


def test_snapproxys_lock_of_an_sdist_gives_the_fetch_tree_with_its_build_requirements(
    tmp_path: Path,
) -> None:
    # docopt 0.6.2 is an sdist alone: the lock holds setuptools and wheel behind its build
    # group, not selected by default; a wheelhouse selects them because it holds an sdist
    # to build, and is then the tree `fetch` writes, hash for hash.
    pylock = tmp_path / "pylock.toml"
    locked = run_snapproxy("lock", "--quiet", "-o", pylock, "docopt==0.6.2", "--date", "2021-05-01")
    assert locked.returncode == 0, locked.stderr
    from_lock = tmp_path / "from-lock"
    result = _fetch(pylock, from_lock)
    assert result.returncode == 0, result.stderr
    resolved = tmp_path / "resolved"
    fetched = run_snapproxy(
        "fetch", "--quiet", "-o", resolved, "docopt==0.6.2", "--date", "2021-05-01"
    )
    assert fetched.returncode == 0, fetched.stderr
    names = sorted(p.name for p in from_lock.iterdir())
    assert [n.split("-")[0] for n in names] == [
        "docopt",
        "requirements.lock.txt",
        "setuptools",
        "wheel",
    ]
    assert nar_hash(from_lock) == nar_hash(resolved)
