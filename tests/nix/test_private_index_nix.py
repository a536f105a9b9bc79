"""`fetchPythonRequirements` with a private index (issue 13) under real nix-build.

The private index `corp` is a real pypiserver behind basic auth holding `corp-util` 1.0
(needing `requests<2.26`) and a decoy `requests` 99.0; the default upstream is a local
FakeIndex (the real pip wheel, fake `requests` 2.25.1 before the cutoff and 2.26.0 after),
given through `extraArgs`. The credentials come from the netrc file that the impure
variable SNAPPROXY_NETRC names in nix-build's environment: the build's output must be
`snapproxy fetch`'s wheelhouse for the same inputs, file for file, and neither the .drv
nor the output nor anything nix-build printed may hold the password.
"""

from __future__ import annotations

import re
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.clients import base_python, require_nix
from tests.support.distributions import Dist
from tests.support.fakeindex import FakeFile, FakeIndex
from tests.support.fetching import (
    fetch,
    fetch_upstream,
    nar_hash,
    real_pip_wheel,
    tree_digest,
)
from tests.support.nixbuild import REPO, nix_env, nix_string
from tests.support.proxyproc import snapproxy_executable
from tests.support.pypiserver import (
    CORP_UTIL,
    CUTOFF,
    DECOY,
    INDEX_NAME,
    PUBLIC_UPLOADS,
    REQUESTS_OLD,
    PrivateIndex,
    find_secrets,
    proxy_args,
    running_pypiserver,
)

HANG_GUARD = 1800.0
GOT_HASH = re.compile(r"got:\s+(sha256-[A-Za-z0-9+/=]+)")


@pytest.fixture(autouse=True)
def _needs_nix() -> None:
    require_nix("nix-build is needed to build fetchPythonRequirements")


@pytest.fixture
def pip_wheel() -> Dist:
    return real_pip_wheel()


@pytest.fixture
def default_upstream(pip_wheel: Dist) -> Iterator[FakeIndex]:
    index = fetch_upstream(pip_wheel, *(FakeFile(d, t) for d, t in PUBLIC_UPLOADS.items()))
    with index.running():
        yield index


@pytest.fixture
def corp(tmp_path: Path) -> Iterator[PrivateIndex]:
    with running_pypiserver(tmp_path / "corp") as index:
        yield index


def _origins(upstream: FakeIndex) -> list[str]:
    assert upstream.index_origin and upstream.files_origin
    return ["--upstream", upstream.index_origin, "--files-host", upstream.files_origin]


def call_file(tmp: Path, name: str, hash_: str, corp: PrivateIndex, upstream: FakeIndex) -> Path:
    """A .nix file calling fetchPythonRequirements for corp-util with corp routed."""
    extra = " ".join(nix_string(arg) for arg in _origins(upstream))
    file = tmp / f"{uuid.uuid4().hex}.nix"
    file.write_text(f"""
import {REPO}/nix/fetch-python-requirements.nix {{
  snapproxy = {nix_string(snapproxy_executable())};
  python = {nix_string(base_python("3.11"))};
}} {{
  name = {nix_string(name)};
  requirements = "corp-util\\n";
  snapshotDate = {nix_string(CUTOFF)};
  hash = {nix_string(hash_)};
  indexes = {{ {INDEX_NAME} = {nix_string(corp.simple_url)}; }};
  routes = {{ "corp-util" = {nix_string(INDEX_NAME)}; }};
  undatedIndexes = [ {nix_string(INDEX_NAME)} ];
  extraArgs = [ {extra} ];
}}
""")
    return file


def run_nix(*args: str | Path, netrc: Path | None) -> subprocess.CompletedProcess[str]:
    """A nix command whose environment names `netrc` in SNAPPROXY_NETRC (or no netrc)."""
    env = {k: v for k, v in nix_env().items() if k not in ("NETRC", "SNAPPROXY_NETRC")}
    if netrc is not None:
        env["SNAPPROXY_NETRC"] = str(netrc)
    return subprocess.run(
        [str(a) for a in args], env=env, capture_output=True, text=True,
        timeout=HANG_GUARD, check=False,
    )  # fmt: skip


def show_derivation(drv: str) -> subprocess.CompletedProcess[str]:
    """`nix derivation show` (Nix 2.15 on), else its older name `nix show-derivation`."""
    shown = run_nix("nix", "derivation", "show", drv, netrc=None)
    if shown.returncode != 0:
        shown = run_nix("nix", "show-derivation", drv, netrc=None)
    return shown


def test_nix_build_with_a_private_index_is_the_fetch_wheelhouse_and_holds_no_password(
    tmp_path: Path, default_upstream: FakeIndex, corp: PrivateIndex
) -> None:
    netrc = corp.netrc(tmp_path / "netrc")
    name = f"private-index-{uuid.uuid4().hex[:8]}"  # a store path no earlier run left
    secrets = corp.secrets()
    printed: dict[str, str] = {}

    # The same inputs through `snapproxy fetch`, credentials from NETRC.
    local = tmp_path / "local"
    home = tmp_path / "home"
    home.mkdir()
    fetched = fetch(
        local, "corp-util", "--date", CUTOFF, "--python", base_python("3.11"),
        *_origins(default_upstream), *proxy_args(corp.simple_url),
        env={**nix_env(), "NETRC": str(netrc), "HOME": str(home),
             "XDG_CACHE_HOME": str(home / ".cache")},
    )  # fmt: skip
    assert fetched.returncode == 0, fetched.stderr
    assert sorted(p.name for p in local.iterdir()) == sorted(
        [CORP_UTIL.filename, REQUESTS_OLD.filename, "requirements.lock.txt"]
    )
    expected = nar_hash(local)

    # A first build without a hash names the true one.
    first = run_nix("nix-build", call_file(tmp_path, name, "", corp, default_upstream),
                    "--no-out-link", netrc=netrc)  # fmt: skip
    printed.update({"first build's stdout": first.stdout, "first build's stderr": first.stderr})
    assert first.returncode != 0
    got = GOT_HASH.search(first.stderr)
    assert got is not None, first.stderr
    assert got.group(1) == expected, first.stderr

    # Built with it: the fetch's wheelhouse, file for file. Under another name, as Nix
    # keeps the mismatched output under the path of the hash it got, and would reuse it.
    name = f"private-index-{uuid.uuid4().hex[:8]}"
    good = call_file(tmp_path, name, expected, corp, default_upstream)
    downloads = corp.downloads(CORP_UTIL.filename)
    built = run_nix("nix-build", good, "--no-out-link", netrc=netrc)
    printed.update({"build's stdout": built.stdout, "build's stderr": built.stderr})
    assert built.returncode == 0, built.stderr
    out = Path(built.stdout.strip().splitlines()[-1])
    assert corp.downloads(CORP_UTIL.filename) == downloads + 1  # really built, from corp
    assert {k: v[0] for k, v in tree_digest(out).items()} == {
        k: v[0] for k, v in tree_digest(local).items()
    }
    assert nar_hash(out) == expected
    assert (out / CORP_UTIL.filename).read_bytes() == CORP_UTIL.content
    assert not [p for p in out.iterdir() if DECOY.filename == p.name]

    # The derivation holds no password: neither the .drv file nor what Nix shows of it.
    instantiated = run_nix("nix-instantiate", good, netrc=netrc)
    assert instantiated.returncode == 0, instantiated.stderr
    (drv,) = instantiated.stdout.split()
    drv_text = Path(drv).read_text()
    shown = show_derivation(drv)
    assert shown.returncode == 0, shown.stderr
    printed.update({"the .drv": drv_text, "the derivation shown": shown.stdout})
    assert find_secrets(secrets, texts=printed, trees=[out, local]) == []


def test_without_the_netrc_the_build_cannot_reach_the_private_index(
    tmp_path: Path, default_upstream: FakeIndex, corp: PrivateIndex
) -> None:
    """Nothing but SNAPPROXY_NETRC carries the credentials into the build."""
    name = f"private-index-{uuid.uuid4().hex[:8]}"
    built = run_nix("nix-build", call_file(tmp_path, name, "", corp, default_upstream),
                    "--no-out-link", netrc=None)  # fmt: skip
    assert built.returncode != 0
    assert GOT_HASH.search(built.stderr) is None, built.stderr  # the fetch itself failed
    assert "corp-util" in built.stderr, built.stderr
    # corp was asked, and refused: no credentials reached it.
    assert [p for p in corp.requested_paths() if "corp-util" in p], corp.log()
    assert "/packages/" + CORP_UTIL.filename not in corp.requested_paths()


def test_credentials_in_an_index_url_are_refused_at_evaluation(
    tmp_path: Path, default_upstream: FakeIndex, corp: PrivateIndex
) -> None:
    """A URL with `user:password@` would be written into the world-readable .drv."""
    file = call_file(tmp_path, "private-index-refused", "", corp, default_upstream)
    file.write_text(file.read_text().replace(nix_string(corp.simple_url),
                                             nix_string(corp.url_with())))  # fmt: skip
    assert corp.password in file.read_text()  # the call does carry it
    evaluated = run_nix("nix-instantiate", file, netrc=None)
    assert evaluated.returncode != 0
    assert "SNAPPROXY_NETRC" in evaluated.stderr, evaluated.stderr
    assert find_secrets(corp.secrets(), texts={"nix-instantiate's stderr": evaluated.stderr,
                                               "its stdout": evaluated.stdout}) == []
