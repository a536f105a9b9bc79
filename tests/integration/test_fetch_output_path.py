"""An unusable -o is refused before any work: one line naming the path, no upstream request.

Found out at the end instead, it would cost the whole resolution and download first.
"""

from __future__ import annotations

import ctypes
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.distributions import Dist, make_wheel
from tests.support.fakeindex import FakeIndex
from tests.support.fetching import fetch_upstream
from tests.support.proxyproc import snapproxy_executable

PR_CAPBSET_DROP = 24
# CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER: what lets root write anywhere.
ROOT_OVERRIDES = (1, 2, 3)


@pytest.fixture
def upstream(pip_wheel: Dist) -> Iterator[FakeIndex]:
    index = fetch_upstream(pip_wheel, make_wheel("alpha", "1.0"))
    with index.running():
        yield index


def _as_an_ordinary_user() -> None:
    """In the child: as root, give up root's right to ignore permissions (for good, over
    exec), so that a read-only directory is read-only for the CLI as for any user."""
    if os.geteuid() != 0:
        return
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in ROOT_OVERRIDES:
        if libc.prctl(PR_CAPBSET_DROP, capability, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def run(command: str, out: Path, upstream: FakeIndex, tmp_path: Path, *extra: str) -> str:
    """The CLI's one stderr line; it must fail, write nothing to stdout, show no traceback."""
    assert upstream.index_origin and upstream.files_origin
    env = dict(os.environ, HOME=str(tmp_path / "home"))
    result = subprocess.run(
        [snapproxy_executable(), command, "-o", str(out), *extra,
         "--date", "2021-05-01", "--upstream", upstream.index_origin,
         "--files-host", upstream.files_origin, "--cache-dir", str(tmp_path / "cache")],
        env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=600,
        check=False, preexec_fn=_as_an_ordinary_user,
    )  # fmt: skip
    assert result.returncode != 0, result.stderr
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def _missing(base: Path) -> Path:
    return base / "missing" / "out"


def _under_a_file(base: Path) -> Path:
    (base / "file").write_text("")
    return base / "file" / "out"


def _read_only(base: Path) -> Path:
    (base / "ro").mkdir()
    (base / "ro").chmod(0o555)
    return base / "ro" / "out"


def _existing_directory(base: Path) -> Path:
    (base / "out").mkdir()
    return base / "out"


def _existing_file(base: Path) -> Path:
    (base / "out").write_text("mine")
    return base / "out"


def _dangling_symlink(base: Path) -> Path:
    (base / "out").symlink_to(base / "nowhere")
    return base / "out"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="drops root's rights via prctl")
@pytest.mark.parametrize(
    ("command", "make", "says"),
    [
        pytest.param(command, make, says, id=f"{command}-{make.__name__.lstrip('_')}")
        for command, make, says in [
            ("fetch", _missing, "directory {base}/missing does not exist; create it"),
            ("fetch", _under_a_file, "{base}/file is not a directory; choose another -o"),
            ("fetch", _read_only, "directory {base}/ro is not writable; choose another -o"),
            ("fetch", _existing_directory, "output {out} already exists; remove it"),
            ("fetch", _existing_file, "output {out} already exists; remove it"),
            ("fetch", _dangling_symlink, "output {out} already exists; remove it"),
            ("lock", _missing, "directory {base}/missing does not exist; create it"),
            ("lock", _read_only, "directory {base}/ro is not writable; choose another -o"),
            # click's own check (dir_okay=False) names it first.
            ("lock", _existing_directory, "{out}"),
        ]
    ],
)
def test_unusable_output_is_refused_before_any_work(
    upstream: FakeIndex,
    tmp_path: Path,
    command: str,
    make: Callable[[Path], Path],
    says: str,
) -> None:
    base = tmp_path / "base"
    base.mkdir()
    out = make(base)
    before = sorted(str(p) for p in base.rglob("*"))
    line = run(command, out, upstream, tmp_path, "alpha")
    assert line.startswith("snapproxy: error: "), line
    assert says.format(base=base, out=out) in line, line
    assert upstream.total_hits() == 0
    assert sorted(str(p) for p in base.rglob("*")) == before


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="drops root's rights via prctl")
def test_from_lock_checks_the_output_first_too(tmp_path: Path) -> None:
    # Not even read: the output is checked first.
    lock = tmp_path / "pylock.toml"
    lock.write_text("not a lock\n")
    (tmp_path / "ro").mkdir(mode=0o555)
    out = tmp_path / "ro" / "wheels"
    result = subprocess.run(
        [snapproxy_executable(), "fetch", "--from-lock", str(lock), "-o", str(out)],
        env=dict(os.environ, HOME=str(tmp_path / "home")), stdin=subprocess.DEVNULL,
        capture_output=True, text=True, timeout=600, check=False,
        preexec_fn=_as_an_ordinary_user,
    )  # fmt: skip
    assert result.returncode == 1
    assert result.stderr == (
        f"snapproxy: error: cannot write {out}: directory {tmp_path / 'ro'} is not writable; "
        "choose another -o\n"
    )
