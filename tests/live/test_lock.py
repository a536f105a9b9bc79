"""`snapproxy lock` against real PyPI: a valid PEP 751 lock of exactly what fetch chooses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

from packaging.markers import Marker
from packaging.pylock import Pylock

from tests.support.clients import install_pylock
from tests.support.fetching import fetch, lock_pins, nar_hash, run_snapproxy

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

SIMPLE_JSON = "application/vnd.pypi.simple.v1+json"


def lock(out: Path, *args: str | Path, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return run_snapproxy("lock", "--quiet", "-o", out, *args, **kwargs)  # type: ignore[arg-type]


def read(path: Path) -> Pylock:
    return Pylock.from_dict(tomllib.loads(path.read_text()))


def test_lock_is_valid_and_pip_installs_what_fetch_chose(tmp_path: Path) -> None:
    pylock = tmp_path / "pylock.toml"
    result = lock(pylock, "requests", "--date", "2021-05-01")
    assert result.returncode == 0, result.stderr
    parsed = read(pylock)
    parsed.validate()
    assert parsed.created_by == "snapproxy"
    assert parsed.tool is not None and parsed.tool["snapproxy"]["cutoff"] == "2021-05-01T00:00:00Z"
    assert parsed.environments and parsed.requires_python is not None
    assert [p.name for p in parsed.packages] == sorted(p.name for p in parsed.packages)

    wheels = tmp_path / "wheels"
    assert fetch(wheels, "requests", "--date", "2021-05-01").returncode == 0
    assert {p.name: str(p.version) for p in parsed.packages} == lock_pins(wheels)

    installed = install_pylock(pylock, tmp_path / "venv")
    assert installed == lock_pins(wheels)


def test_every_url_is_upstream_with_the_index_sha256(tmp_path: Path) -> None:
    pylock = tmp_path / "pylock.toml"
    assert lock(pylock, "requests", "--date", "2021-05-01").returncode == 0
    for package in read(pylock).packages:
        request = urllib.request.Request(
            f"https://pypi.org/simple/{package.name}/", headers={"Accept": SIMPLE_JSON}
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            index = {f["filename"]: f for f in json.load(response)["files"]}
        assert package.index == "https://pypi.org/simple/"
        for wheel in package.wheels or []:
            assert wheel.name is not None and wheel.url is not None
            upstream = index[wheel.name]
            assert wheel.url == upstream["url"]
            assert not wheel.url.startswith("http://127.0.0.1")
            assert wheel.hashes["sha256"] == upstream["hashes"]["sha256"]
            assert wheel.size == upstream["size"]
            assert wheel.upload_time is not None


def test_lock_is_byte_identical_under_a_hostile_environment(tmp_path: Path) -> None:
    first, second = tmp_path / "a.toml", tmp_path / "b.toml"
    assert lock(first, "requests", "--date", "2021-05-01").returncode == 0
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    env = dict(
        os.environ, TZ="Asia/Kathmandu", LANG="C", LC_ALL="C", HOME=str(tmp_path / "home"),
        PIP_INDEX_URL="http://127.0.0.1:9/simple/", PIP_FIND_LINKS=str(tmp_path),
    )
    result = lock(second, "requests", "--date", "2021-05-01", env=env, cwd=elsewhere,
                  umask=0o077)
    assert result.returncode == 0, result.stderr
    assert first.read_bytes() == second.read_bytes()


def test_fetch_from_lock_gives_the_fetch_tree(tmp_path: Path) -> None:
    pylock = tmp_path / "pylock.toml"
    assert lock(pylock, "requests", "--date", "2021-05-01").returncode == 0
    from_lock = tmp_path / "from-lock"
    result = run_snapproxy("fetch", "--quiet", "--from-lock", pylock, "-o", from_lock)
    assert result.returncode == 0, result.stderr
    resolved = tmp_path / "resolved"
    assert fetch(resolved, "requests", "--date", "2021-05-01").returncode == 0
    assert nar_hash(from_lock) == nar_hash(resolved)


def test_sdist_build_requirements_are_locked_behind_a_group(tmp_path: Path) -> None:
    pylock = tmp_path / "pylock.toml"
    assert lock(pylock, "docopt==0.6.2", "--date", "2021-05-01").returncode == 0
    parsed = read(pylock)
    by_name = {p.name: p for p in parsed.packages}
    assert by_name["docopt"].sdist is not None and by_name["docopt"].marker is None
    for build_only in ("setuptools", "wheel"):
        package = by_name[build_only]
        assert package.tool == {"snapproxy": {"build": True}}
        assert package.marker == Marker("'snapproxy-build' in dependency_groups")
    # An installer selecting the default groups takes docopt alone.
    selected = [package.name for package, _ in parsed.select()]
    assert selected == ["docopt"]


def test_the_example_lock_is_what_lock_writes_today(tmp_path: Path) -> None:
    repo = Path(__file__).resolve().parents[2]
    fresh = tmp_path / "pylock.toml"
    result = lock(fresh, "-r", repo / "examples" / "requests" / "requirements.txt",
                  "--date", "2021-05-01")
    assert result.returncode == 0, result.stderr
    assert fresh.read_bytes() == (repo / "examples" / "requests" / "pylock.toml").read_bytes()


def test_fetch_from_lock_refuses_resolution_options(tmp_path: Path) -> None:
    repo = Path(__file__).resolve().parents[2]
    out = tmp_path / "out"
    result = run_snapproxy("fetch", "--from-lock", repo / "examples/requests/pylock.toml",
                           "-o", out, "--platform", "win_amd64", "--date", "2021-05-01")
    assert result.returncode == 2
    assert "--platform" in result.stderr and "--date" in result.stderr
    assert len(result.stderr.splitlines()) == 1
    assert not out.exists()
