"""`snapproxy fetch --from-lock LOCK [--target ...]`: the real CLI against a fake file host.

Each test writes a PEP 751 lock (with tomli_w, so TOML datetimes and all) whose URLs point
at the FakeIndex, runs the CLI, and checks both the wheelhouse and the requests the file
host saw: only the files the targets use are ever downloaded.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from packaging.tags import sys_tags
from packaging.utils import parse_wheel_filename

from tests.support.distributions import Dist, make_sdist, make_wheel
from tests.support.fakeindex import FakeFile, FakeIndex
from tests.support.fetching import BEFORE_CUTOFFS, run_snapproxy

LOCK = "requirements.lock.txt"
UPLOADED = datetime(2020, 1, 1, tzinfo=timezone.utc)


def _file(dist: Dist, *, corrupt: bool = False) -> FakeFile:
    return FakeFile(dist, BEFORE_CUTOFFS, corrupt=corrupt)


ALPHA = {
    tag: _file(make_wheel("alpha", "1.0", tag=f"cp311-cp311-{tag}"))
    for tag in ("manylinux_2_17_x86_64", "win_amd64", "macosx_11_0_arm64")
}
ALPHA_SDIST = _file(make_sdist("alpha", "1.0"))
WINONLY = _file(make_wheel("winonly", "0.4.6", tag="py2.py3-none-any"))
BETA_OLD = _file(make_wheel("beta", "1.0"))
BETA_NEW = _file(make_wheel("beta", "2.0"))
LOCAL = _file(make_wheel("gamma", "2.0.0+cpu"))  # a `+` its URL percent-encodes
BUILDER = _file(make_wheel("builder", "1.0"))
LINUX_ONLY = _file(make_wheel("epsilon", "1.0", tag="cp311-cp311-manylinux_2_17_x86_64"))
ZETA_SDIST = _file(make_sdist("zeta", "1.0"))
DELTA = {
    tag: _file(make_wheel("delta", "1.0", tag=tag))
    for tag in ("py3-none-any", "cp311-cp311-win_amd64")
}
BROKEN = _file(make_wheel("broken", "1.0"), corrupt=True)
EVERY_FILE = [
    *ALPHA.values(),
    ALPHA_SDIST,
    WINONLY,
    BETA_OLD,
    BETA_NEW,
    LOCAL,
    BUILDER,
    LINUX_ONLY,
    ZETA_SDIST,
    *DELTA.values(),
    BROKEN,
]


@pytest.fixture(scope="module")
def upstream() -> Iterator[FakeIndex]:
    index = FakeIndex()
    for file in EVERY_FILE:
        index.add(file.dist.name, file)
    with index.running():
        yield index


def _archive(index: FakeIndex, file: FakeFile, *, named: bool = True) -> dict[str, Any]:
    url = index.file_url(file)
    entry: dict[str, Any] = {
        "url": url.rsplit("/", 1)[0] + "/" + url.rsplit("/", 1)[1].replace("+", "%2B"),
        "upload-time": UPLOADED,
        "size": len(file.dist.content),
        "hashes": {"sha256": file.dist.sha256},
    }
    if named:
        entry = {"name": file.dist.filename, **entry}
    return entry


def _package(
    index: FakeIndex,
    wheels: Sequence[FakeFile] = (),
    sdist: FakeFile | None = None,
    marker: str | None = None,
    named: bool = True,
) -> dict[str, Any]:
    dist = (sdist or wheels[0]).dist
    package: dict[str, Any] = {"name": dist.name, "version": dist.version}
    if marker is not None:
        package["marker"] = marker
    if sdist is not None:
        package["sdist"] = _archive(index, sdist, named=named)
    if wheels:
        package["wheels"] = [_archive(index, w, named=named) for w in wheels]
    return package


def _write_lock(path: Path, packages: list[dict[str, Any]], **top: Any) -> Path:
    document = {"lock-version": "1.0", "created-by": "hand", **top, "packages": packages}
    path.write_text(tomli_w.dumps(document))
    return path


def _universal_lock(index: FakeIndex, path: Path) -> Path:
    """A lock as a universal resolver writes it: every platform's files, markers."""
    return _write_lock(
        path,
        [
            _package(index, list(ALPHA.values()), ALPHA_SDIST, named=False),
            _package(index, [WINONLY], marker="sys_platform == 'win32'", named=False),
            _package(index, [BETA_OLD], marker="python_version < '3.11'"),
            _package(index, [BETA_NEW], marker="python_full_version >= '3.11'"),
            _package(index, [LOCAL], named=False),
            _package(index, [BUILDER], marker="'snapproxy-build' in dependency_groups"),
        ],
        **{"dependency-groups": ["snapproxy-build"], "default-groups": []},
    )


def _fetch(lock: Path, out: Path, *args: str) -> tuple[int, str]:
    result = run_snapproxy("fetch", "--quiet", "--from-lock", lock, "-o", out, *args)
    return result.returncode, result.stderr


def _downloaded(index: FakeIndex) -> list[str]:
    return sorted(path.rsplit("/", 1)[-1] for path, hits in index.hits.items() if hits)


def _lock_line(name: str, version: str, *files: FakeFile) -> str:
    hashes = "".join(f" \\\n    --hash=sha256:{h}" for h in sorted(f.dist.sha256 for f in files))
    return f"{name}=={version}{hashes}\n"


@pytest.fixture(autouse=True)
def _fresh_counts(upstream: FakeIndex) -> None:
    upstream.hits.clear()


def test_only_the_files_of_the_target_are_downloaded(upstream: FakeIndex, tmp_path: Path) -> None:
    lock = _universal_lock(upstream, tmp_path / "pylock.toml")
    out = tmp_path / "wheels"
    code, stderr = _fetch(lock, out, "--target", "3.11:manylinux_2_17_x86_64")
    assert code == 0, stderr
    wanted = [ALPHA["manylinux_2_17_x86_64"], BETA_NEW, LOCAL]
    names = sorted(f.dist.filename for f in wanted)
    assert "gamma-2.0.0+cpu-py3-none-any.whl" in names  # named by its decoded URL
    assert sorted(p.name for p in out.iterdir()) == sorted([*names, LOCK])
    assert _downloaded(upstream) == names  # and nothing else was asked for
    for f in wanted:
        assert hashlib.sha256((out / f.dist.filename).read_bytes()).hexdigest() == f.dist.sha256
    assert (out / LOCK).read_text() == (
        _lock_line("alpha", "1.0", ALPHA["manylinux_2_17_x86_64"])
        + _lock_line("beta", "2.0", BETA_NEW)
        + _lock_line("gamma", "2.0.0+cpu", LOCAL)
    )
    assert {p.stat().st_mode & 0o777 for p in out.iterdir()} == {0o444}
    assert out.stat().st_mode & 0o777 == 0o555


def test_several_targets_make_one_wheelhouse_for_all(upstream: FakeIndex, tmp_path: Path) -> None:
    lock = _universal_lock(upstream, tmp_path / "pylock.toml")
    out = tmp_path / "wheels"
    code, stderr = _fetch(
        lock, out, "--target", "3.11:manylinux_2_17_x86_64", "--target", "3.11:win_amd64"
    )
    assert code == 0, stderr
    wanted = [ALPHA["manylinux_2_17_x86_64"], ALPHA["win_amd64"], WINONLY, BETA_NEW, LOCAL]
    assert _downloaded(upstream) == sorted(f.dist.filename for f in wanted)
    lock_text = (out / LOCK).read_text()
    assert lock_text.startswith(
        _lock_line("alpha", "1.0", ALPHA["manylinux_2_17_x86_64"], ALPHA["win_amd64"])
    )
    assert _lock_line("winonly", "0.4.6", WINONLY) in lock_text


def test_an_sdist_when_no_wheel_fits(upstream: FakeIndex, tmp_path: Path) -> None:
    lock = _universal_lock(upstream, tmp_path / "pylock.toml")
    out = tmp_path / "wheels"
    code, stderr = _fetch(lock, out, "--target", "3.10:manylinux_2_17_x86_64")
    assert code == 0, stderr
    # cp311 wheels do not fit a 3.10: alpha's sdist; beta's older version by its marker.
    # The sdist's build group is asked for too, and this lock's group holds builder.
    assert _downloaded(upstream) == sorted(
        f.dist.filename for f in (ALPHA_SDIST, BETA_OLD, LOCAL, BUILDER)
    )
    assert "builder" not in (out / LOCK).read_text()  # build-only: not installed


def test_a_target_the_lock_has_no_file_for_names_package_and_target(
    upstream: FakeIndex, tmp_path: Path
) -> None:
    lock = _write_lock(
        tmp_path / "pylock.toml",
        [_package(upstream, [LINUX_ONLY]), _package(upstream, [DELTA["py3-none-any"]])],
    )
    out = tmp_path / "wheels"
    code, stderr = _fetch(lock, out, "--target", "3.11:macosx_11_0_arm64")
    assert code == 1
    assert stderr == (
        f"snapproxy: error: {lock}: epsilon 1.0 has no file for 3.11:macosx_11_0_arm64 "
        "(wheels: cp311-cp311-manylinux_2_17_x86_64; no sdist)\n"
    )
    assert not out.exists()
    assert upstream.total_hits() == 0  # refused before any download


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--target", "3.11"], "target '3.11' is not PYVER:PLATFORM[:IMPL[:ABI]]"),
        (["--target", "3.11:solaris_x86"], "'solaris_x86' is not a platform tag"),
    ],
)
def test_a_bad_target_is_a_usage_error(
    upstream: FakeIndex, tmp_path: Path, args: list[str], says: str
) -> None:
    lock = _universal_lock(upstream, tmp_path / "pylock.toml")
    out = tmp_path / "wheels"
    code, stderr = _fetch(lock, out, *args)
    assert code == 2
    assert says in stderr and "Traceback" not in stderr
    assert not out.exists() and upstream.total_hits() == 0


def test_target_without_from_lock_is_a_usage_error(upstream: FakeIndex, tmp_path: Path) -> None:
    out = tmp_path / "wheels"
    result = run_snapproxy(
        "fetch", "-o", out, "alpha", "--date", "2021-05-01", "--target", "3.11:win_amd64"
    )
    assert result.returncode == 2
    assert "--target selects from a lock: give --from-lock too" in result.stderr
    assert not out.exists() and upstream.total_hits() == 0


def test_without_a_target_this_interpreter_is_the_target(
    upstream: FakeIndex, tmp_path: Path
) -> None:
    lock = _write_lock(
        tmp_path / "pylock.toml",
        [
            _package(upstream, list(DELTA.values())),
            _package(upstream, [WINONLY], marker="sys_platform == 'win32'"),
        ],
    )
    out = tmp_path / "wheels"
    code, stderr = _fetch(lock, out)
    assert code == 0, stderr
    # The CLI runs on the interpreter running this test: its tags decide, as pip's would.
    ranks = {tag: rank for rank, tag in reversed(list(enumerate(sys_tags())))}
    fitting = [
        f
        for f in DELTA.values()
        if any(t in ranks for t in parse_wheel_filename(f.dist.filename)[3])
    ]
    best = min(
        fitting,
        key=lambda f: min(ranks[t] for t in parse_wheel_filename(f.dist.filename)[3] if t in ranks),
    )
    expected = [best.dist.filename]
    if any(t.platform == "win_amd64" for t in ranks):  # pragma: no cover - on Windows
        expected.append(WINONLY.dist.filename)
    assert _downloaded(upstream) == sorted(expected)


def test_a_file_that_does_not_match_its_sha256_leaves_nothing(
    upstream: FakeIndex, tmp_path: Path
) -> None:
    lock = _write_lock(
        tmp_path / "pylock.toml",
        [_package(upstream, [BETA_NEW]), _package(upstream, [BROKEN])],
    )
    out = tmp_path / "wheels"
    code, stderr = _fetch(lock, out, "--target", "3.11:manylinux_2_17_x86_64")
    assert code == 1
    assert f"{BROKEN.dist.filename} does not match its sha256" in stderr
    assert len(stderr.splitlines()) == 1
    assert not out.exists()


def test_snapproxys_own_lock_keeps_its_lock_text_and_build_requirements(
    upstream: FakeIndex, tmp_path: Path
) -> None:
    recorded = _lock_line("zeta", "1.0", ZETA_SDIST)
    lock = _write_lock(
        tmp_path / "pylock.toml",
        [
            _package(upstream, sdist=ZETA_SDIST),
            {
                **_package(upstream, [BUILDER], marker="'snapproxy-build' in dependency_groups"),
                "tool": {"snapproxy": {"build": True}},
            },
        ],
        **{
            "environments": ['sys_platform == "linux" and platform_machine == "x86_64"'],
            "dependency-groups": ["snapproxy-build"],
            "default-groups": [],
            "created-by": "snapproxy",
            "tool": {"snapproxy": {"requirements-lock": recorded}},
        },
    )
    out = tmp_path / "wheels"
    code, stderr = _fetch(lock, out, "--target", "3.11:manylinux_2_17_x86_64")
    assert code == 0, stderr
    assert _downloaded(upstream) == sorted([ZETA_SDIST.dist.filename, BUILDER.dist.filename])
    assert (out / LOCK).read_text() == recorded

    elsewhere = tmp_path / "elsewhere"
    code, stderr = _fetch(lock, elsewhere, "--target", "3.11:win_amd64")
    assert code == 1
    assert "none of these environments holds for 3.11:win_amd64" in stderr
    assert not elsewhere.exists()
