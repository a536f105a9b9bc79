"""`wheelhouseFromPylock` under real nix-build, with Nix's built-in fetchurl (no nixpkgs)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.clients import base_python, require_network, require_nix
from tests.support.distributions import make_wheel
from tests.support.fakeindex import FakeFile, FakeIndex
from tests.support.fetching import fetch, nar_hash, real_pip_wheel, run_snapproxy, tree_digest
from tests.support.nixbuild import REPO, nix_build, nix_string
from tests.support.proxyproc import snapproxy_executable

LOCK = "requirements.lock.txt"


@pytest.fixture(autouse=True)
def _needs_nix() -> None:
    require_nix("wheelhouseFromPylock is built with nix-build")


def lock(out: Path, *args: str | Path) -> None:
    result = run_snapproxy("lock", "--quiet", "-o", out, *args)
    assert result.returncode == 0, result.stderr


def wheelhouse_file(tmp: Path, pylock: Path) -> Path:
    file = tmp / f"wheelhouse-{uuid.uuid4().hex[:8]}.nix"
    file.write_text(f"""
import {REPO}/nix/wheelhouse-from-pylock.nix {{
  name = "wheelhouse-{uuid.uuid4().hex[:8]}";
  pylock = {pylock};
  python = {nix_string(base_python("3.11"))};
}}
""")
    return file


def build(file: Path) -> Path:
    built = nix_build(file)
    assert built.returncode == 0, built.stderr
    return Path(built.stdout.strip())


def fpr_file(tmp: Path, requirements: str, hash_: str) -> Path:
    file = tmp / "fpr.nix"
    file.write_text(f"""
import {REPO}/nix/fetch-python-requirements.nix {{
  snapproxy = {nix_string(snapproxy_executable())};
  python = {nix_string(base_python("3.11"))};
}} {{
  name = "fpr-{uuid.uuid4().hex[:8]}";
  requirements = {nix_string(requirements)};
  snapshotDate = "2021-05-01";
  hash = {nix_string(hash_)};
}}
""")
    return file


@pytest.mark.parametrize("requirement", ["requests", "docopt==0.6.2"])
def test_lock_wheelhouse_equals_the_fetch_output(tmp_path: Path, requirement: str) -> None:
    require_network("the lock and the files come from PyPI")
    local = tmp_path / "local"
    assert fetch(local, requirement, "--date", "2021-05-01").returncode == 0
    expected_hash = nar_hash(local)
    from_fpr = build(fpr_file(tmp_path, f"{requirement}\n", expected_hash))

    pylock = tmp_path / "pylock.toml"
    lock(pylock, requirement, "--date", "2021-05-01")
    from_lock = build(wheelhouse_file(tmp_path, pylock))

    files = {k: v for k, v in tree_digest(from_lock).items() if k != LOCK}
    assert files == {k: v for k, v in tree_digest(from_fpr).items() if k != LOCK}
    assert files  # the same non-empty set of distribution files, byte for byte
    # The lock text too: the two paths give one tree, with one hash.
    assert nar_hash(from_lock) == nar_hash(from_fpr) == expected_hash


@pytest.fixture
def upstream() -> Iterator[FakeIndex]:
    index = FakeIndex()
    index.add("pip", FakeFile(real_pip_wheel(), "2030-01-01T00:00:00Z"))
    with index.running():
        yield index


def test_relocking_with_one_more_requirement_fetches_only_its_files(
    tmp_path: Path, upstream: FakeIndex
) -> None:
    # Fresh projects per run, so no earlier run left their files in the store.
    tag = uuid.uuid4().hex[:8]
    alpha = FakeFile(make_wheel(f"alpha-{tag}", "1.0"), "2020-01-01T00:00:00Z")
    beta = FakeFile(make_wheel(f"beta-{tag}", "1.0", requires=[f"gamma-{tag}"]),
                    "2020-01-01T00:00:00Z")
    gamma = FakeFile(make_wheel(f"gamma-{tag}", "2.0"), "2020-01-01T00:00:00Z")
    upstream.add(f"alpha-{tag}", alpha)
    upstream.add(f"beta-{tag}", beta)
    upstream.add(f"gamma-{tag}", gamma)
    assert upstream.index_origin and upstream.files_origin
    origins = ["--upstream", upstream.index_origin, "--files-host", upstream.files_origin]

    def file_hits(f: FakeFile) -> int:
        return sum(n for path, n in upstream.hits.items() if path.endswith(f.dist.filename))

    first = tmp_path / "first.toml"
    lock(first, f"alpha-{tag}", "--date", "2021-05-01", *origins)
    before = {f.dist.filename: file_hits(f) for f in (alpha, beta, gamma)}
    one = build(wheelhouse_file(tmp_path, first))
    assert sorted(p.name for p in one.iterdir()) == sorted([alpha.dist.filename, LOCK])
    assert file_hits(alpha) == before[alpha.dist.filename] + 1

    second = tmp_path / "second.toml"
    lock(second, f"alpha-{tag}", f"beta-{tag}", "--date", "2021-05-01", *origins)
    before = {f.dist.filename: file_hits(f) for f in (alpha, beta, gamma)}
    two = build(wheelhouse_file(tmp_path, second))
    assert sorted(p.name for p in two.iterdir()) == sorted(
        [alpha.dist.filename, beta.dist.filename, gamma.dist.filename, LOCK]
    )
    # Only the new files were downloaded by the rebuild; alpha came from the store.
    assert file_hits(alpha) == before[alpha.dist.filename]
    assert file_hits(beta) == before[beta.dist.filename] + 1
    assert file_hits(gamma) == before[gamma.dist.filename] + 1
    assert (two / alpha.dist.filename).read_bytes() == alpha.dist.content
    assert re.search(rf"^beta-{tag}==1\.0 ", (two / LOCK).read_text(), re.MULTILINE)


def test_the_lock_example_builds_the_default_example_tree() -> None:
    require_network("the example's files come from PyPI")
    built = nix_build(REPO / "examples" / "requests" / "lock.nix",
                      "--argstr", "python", base_python("3.11"))
    assert built.returncode == 0, built.stderr
    text = (REPO / "examples" / "requests" / "default.nix").read_text()
    declared = re.search(r'hash = "(sha256-[^"]+)"', text)
    assert declared is not None
    assert nar_hash(Path(built.stdout.strip())) == declared.group(1)
