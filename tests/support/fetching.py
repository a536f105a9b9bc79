"""Running the real `snapproxy fetch` and `snapproxy hash` CLIs, and reading their trees."""

from __future__ import annotations

import hashlib
import os
import subprocess
from collections.abc import Mapping
from pathlib import Path

from tests.support.clients import PYPI_SIMPLE, cache_root, pip_venv, run_pip
from tests.support.distributions import Dist
from tests.support.fakeindex import FakeFile, FakeIndex
from tests.support.proxyproc import snapproxy_executable

PIP = "26.3"  # the fetcher's default pip


def run_snapproxy(
    *args: str | Path,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    umask: int | None = None,
    timeout: float = 900,
) -> subprocess.CompletedProcess[str]:
    """The real CLI; never raises on failure (tests read returncode and stderr)."""

    def set_umask() -> None:
        if umask is not None:
            os.umask(umask)

    return subprocess.run(
        [snapproxy_executable(), *map(str, args)],
        env=dict(env if env is not None else os.environ),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        preexec_fn=set_umask,
    )


def fetch(out: Path, *args: str | Path, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return run_snapproxy("fetch", "--quiet", "-o", out, *args, **kwargs)  # type: ignore[arg-type]


def nar_hash(path: Path, fmt: str = "sri") -> str:
    result = run_snapproxy("hash", "--format", fmt, path)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def tree_digest(root: Path) -> dict[str, tuple[str, int]]:
    """Every path below ``root``: sha256 (or link target) and permission bits."""
    out: dict[str, tuple[str, int]] = {}
    for path in sorted(root.rglob("*")):
        rel = str(path.relative_to(root))
        mode = path.lstat().st_mode & 0o777
        if path.is_symlink():
            out[rel] = ("-> " + os.readlink(path), mode)
        elif path.is_file():
            out[rel] = (hashlib.sha256(path.read_bytes()).hexdigest(), mode)
        else:
            out[rel] = ("dir", mode)
    return out


def lock_pins(out: Path) -> dict[str, str]:
    """``name -> version`` from a wheelhouse's requirements.lock.txt."""
    pins = {}
    for line in (out / "requirements.lock.txt").read_text().splitlines():
        if "==" in line:
            name, _, rest = line.partition("==")
            pins[name] = rest.split()[0]
    return pins


def real_pip_wheel(version: str = PIP) -> Dist:
    """The real pip wheel the fetcher runs (for a fake upstream), cached like client venvs."""
    directory = cache_root() / "wheels"
    filename = f"pip-{version}-py3-none-any.whl"
    if not (directory / filename).exists():
        got = run_pip(pip_venv(version), "download", "--no-deps", "--index-url", PYPI_SIMPLE,
                      "-d", str(directory), f"pip=={version}")
        assert got.returncode == 0, got.stderr
    return Dist(filename, (directory / filename).read_bytes(), None, "pip", version)


# Uploaded "after" any cutoff of the tests: fetch takes its pip by version, whatever the date.
PIP_UPLOADED = "2030-01-01T00:00:00Z"
BEFORE_CUTOFFS = "2020-01-01T00:00:00Z"


def fetch_upstream(pip_wheel: Dist, *dists: Dist | FakeFile) -> FakeIndex:
    """A fake upstream for `snapproxy fetch`: the real pip wheel, and ``dists`` (uploaded
    before the tests' cutoffs unless given as FakeFiles of their own)."""
    index = FakeIndex()
    index.add("pip", FakeFile(pip_wheel, PIP_UPLOADED))
    for item in dists:
        file = item if isinstance(item, FakeFile) else FakeFile(item, BEFORE_CUTOFFS)
        index.add(file.dist.name, file)
    return index
