"""`snapproxy fetch` against real PyPI: deterministic trees, sdists, cross targets, failures."""

from __future__ import annotations

import os
import socket
import subprocess
import zipfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tests.support.clients import base_python, clean_client_env
from tests.support.distributions import make_wheel
from tests.support.fetching import fetch, lock_pins, nar_hash, tree_digest

REQUESTS_2021 = {
    "certifi": "2020.12.5",
    "chardet": "4.0.0",
    "idna": "2.10",
    "requests": "2.25.1",
    "urllib3": "1.26.4",
}


def dead_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def hostile_home(tmp: Path) -> Path:
    """A HOME whose pip configuration points at an extra index and a find-links directory
    holding a tempting `requests 99`: a fetch that read it would pick that wheel."""
    home = tmp / "home"
    links = tmp / "links"
    links.mkdir(parents=True)
    wheel = make_wheel("requests", "99.0")
    (links / wheel.filename).write_bytes(wheel.content)
    config = home / ".config" / "pip" / "pip.conf"
    config.parent.mkdir(parents=True)
    config.write_text(
        "[global]\n"
        f"extra-index-url = http://127.0.0.1:{dead_port()}/simple/\n"
        f"find-links = {links}\n"
    )
    (home / ".pip").mkdir()
    (home / ".pip" / "pip.conf").write_text(config.read_text())
    return home


def test_same_inputs_give_the_same_tree_under_a_hostile_environment(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    first = fetch(plain, "requests", "--date", "2021-05-01", "--cache-dir", tmp_path / "c1")
    assert first.returncode == 0, first.stderr
    assert lock_pins(plain) == REQUESTS_2021

    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    home = hostile_home(tmp_path)
    env = dict(
        os.environ,
        TZ="Pacific/Kiritimati",
        LANG="tr_TR.UTF-8",
        LC_ALL="tr_TR.UTF-8",
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        PIP_INDEX_URL=f"http://127.0.0.1:{dead_port()}/simple/",
        PIP_EXTRA_INDEX_URL=f"http://127.0.0.1:{dead_port()}/simple/",
        PIP_FIND_LINKS=str(tmp_path / "links"),
        PIP_NO_INDEX="1",
    )
    env.pop("PIP_CONFIG_FILE", None)
    perturbed = tmp_path / "perturbed"
    second = fetch(
        perturbed, "requests", "--date", "2021-05-01", "--cache-dir", tmp_path / "c2",
        env=env, cwd=elsewhere, umask=0o077,
    )
    assert second.returncode == 0, second.stderr
    assert tree_digest(perturbed) == tree_digest(plain)
    assert nar_hash(perturbed) == nar_hash(plain)
    # Only the wheels and the lock: no report, log or timestamp left behind.
    assert sorted(p.name for p in plain.iterdir()) == sorted(
        [*(f"{n}-{v}-py2.py3-none-any.whl" for n, v in REQUESTS_2021.items()),
         "requirements.lock.txt"]
    )
    assert all(mode == 0o444 for _, mode in tree_digest(plain).values())
    assert plain.stat().st_mode & 0o777 == 0o555


def test_sdist_only_requirement_installs_offline_from_the_wheelhouse(tmp_path: Path) -> None:
    out = tmp_path / "wheels"
    result = fetch(out, "docopt==0.6.2", "--date", "2021-05-01")
    assert result.returncode == 0, result.stderr
    names = {p.name for p in out.iterdir()}
    assert "docopt-0.6.2.tar.gz" in names
    # Its build requirements (setuptools' fallback and wheel) were added for offline builds.
    assert any(n.startswith("setuptools-") and n.endswith(".whl") for n in names), names
    assert any(n.startswith("wheel-") and n.endswith(".whl") for n in names), names
    assert lock_pins(out) == {"docopt": "0.6.2"}

    venv = tmp_path / "venv"
    env = clean_client_env()
    subprocess.run([base_python(), "-m", "venv", str(venv)], check=True, env=env)
    install = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "--isolated", "--no-cache-dir",
         "--no-index", "--find-links", str(out), "-r", str(out / "requirements.lock.txt")],
        capture_output=True, text=True, env=env, check=False,
    )
    assert install.returncode == 0, install.stderr
    check = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import docopt; print(docopt.__version__)"],
        capture_output=True, text=True, env=env, check=True,
    )
    assert check.stdout.strip() == "0.6.2"


CROSS = ("--only-binary", "--platform", "manylinux2014_aarch64", "--python-version", "3.10",
         "--implementation", "cp")


def test_cross_target_gives_only_target_wheels_whatever_runs_it(tmp_path: Path) -> None:
    trees = []
    for minor in ("3.10", "3.11"):
        out = tmp_path / f"on-{minor}"
        result = fetch(out, "numpy", "requests", "--date", "2022-01-01", *CROSS,
                       "--python", base_python(minor))
        assert result.returncode == 0, result.stderr
        wheels = [p.name for p in out.iterdir() if p.name.endswith(".whl")]
        assert wheels and len(wheels) == len(list(out.iterdir())) - 1
        for name in wheels:
            tags = name.removesuffix(".whl").split("-")[-1]
            assert tags == "any" or "aarch64" in tags, name
        assert any("aarch64" in name and name.startswith("numpy-") for name in wheels)
        trees.append(nar_hash(out))
    assert trees[0] == trees[1]


def assert_failed_cleanly(result: subprocess.CompletedProcess[str], out: Path) -> str:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr, result.stderr
    assert result.stderr.startswith("snapproxy: error: "), result.stderr
    assert not out.exists()
    return result.stderr


def test_requirement_without_release_before_the_cutoff(tmp_path: Path) -> None:
    out = tmp_path / "out"
    stderr = assert_failed_cleanly(fetch(out, "ruff", "--date", "2021-05-01"), out)
    assert "ruff" in stderr
    assert "2021-05-01T00:00:00Z" in stderr


def test_conflicting_requirements(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = fetch(out, "requests==2.25.1", "idna==3.1", "--date", "2021-05-01")
    stderr = assert_failed_cleanly(result, out)
    assert "idna" in stderr
    assert "conflict" in stderr.lower()


def test_requirements_file_with_an_index_option_is_refused(tmp_path: Path) -> None:
    req = tmp_path / "requirements.txt"
    req.write_text("requests\n--extra-index-url https://example.invalid/simple\n")
    out = tmp_path / "out"
    stderr = assert_failed_cleanly(fetch(out, "-r", req, "--date", "2021-05-01"), out)
    assert f"{req}:2" in stderr
    assert "--extra-index-url" in stderr


def test_recent_cutoff_is_refused_unless_allowed(tmp_path: Path) -> None:
    out = tmp_path / "out"
    recent = (datetime.now(timezone.utc) - timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M:%SZ")
    stderr = assert_failed_cleanly(fetch(out, "requests", "--date", recent), out)
    assert "less than an hour ago" in stderr and "--allow-recent" in stderr


def test_a_future_cutoff_is_called_one(tmp_path: Path) -> None:
    out = tmp_path / "out"
    stderr = assert_failed_cleanly(
        fetch(out, "requests", "--date", "2099-01-01", "--allow-recent"), out
    )
    assert "cutoff 2099-01-01T00:00:00Z is in the future" in stderr
    assert "choose a past --date" in stderr


def test_existing_output_is_refused_and_left_alone(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep").write_text("mine")
    result = fetch(out, "requests", "--date", "2021-05-01")
    assert result.returncode != 0
    assert "already exists" in result.stderr
    assert (out / "keep").read_text() == "mine"


@pytest.mark.parametrize("wheel", ["requests-2.25.1-py2.py3-none-any.whl"])
def test_wheelhouse_files_are_the_index_files(tmp_path: Path, wheel: str) -> None:
    out = tmp_path / "out"
    assert fetch(out, "requests", "--date", "2021-05-01").returncode == 0
    with zipfile.ZipFile(out / wheel) as archive:
        assert "requests/__version__.py" in archive.namelist()
    assert "--hash=sha256:c210084e36a42ae6b9219e00e48287def368a26d03a048ddad7bfee44f75871e" in (
        out / "requirements.lock.txt"
    ).read_text()
