"""`wheelhouseFromPylock` under real nix-build, with Nix's built-in fetchurl (no nixpkgs)."""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from packaging.markers import Marker
from packaging.tags import compatible_tags, cpython_tags
from packaging.utils import parse_wheel_filename

from tests.support.clients import (
    base_python,
    clean_client_env,
    pip_venv,
    require_network,
    require_nix,
    run_pip,
    run_uv,
)
from tests.support.distributions import make_sdist, make_wheel
from tests.support.fakeindex import FakeFile, FakeIndex
from tests.support.fetching import fetch, nar_hash, real_pip_wheel, run_snapproxy, tree_digest
from tests.support.nixbuild import REPO, nix_build, nix_string, run_nix
from tests.support.proxyproc import snapproxy_executable

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

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


# ---- any PEP 751 lock, for this machine only (issue 14) ------------------------------------


def this_python() -> tuple[str, str]:
    """The interpreter the wheelhouses are for, and its full version."""
    python = base_python("3.11")
    version = subprocess.run(
        [python, "-I", "-c", "import platform; print(platform.python_version())"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()
    return python, version


def this_glibc() -> str:
    version = os.confstr("CS_GNU_LIBC_VERSION")  # "glibc 2.36"
    assert version is not None
    return version.split()[-1]


def require_linux() -> None:
    if sys.platform != "linux":
        pytest.skip("the tags checked here are a Linux machine's")


def selecting_wheelhouse_file(tmp: Path, pylock: Path) -> Path:
    """wheelhouseFromPylock for this machine: its system, Python version and glibc."""
    python, version = this_python()
    file = tmp / f"wheelhouse-{uuid.uuid4().hex[:8]}.nix"
    file.write_text(f"""
import {REPO}/nix/wheelhouse-from-pylock.nix {{
  name = "wheelhouse-{uuid.uuid4().hex[:8]}";
  pylock = {pylock};
  python = {nix_string(python)};
  pythonVersion = {nix_string(version)};
  glibcVersion = {nix_string(this_glibc())};
}}
""")
    return file


def nix_eval(file: Path, attr: str) -> Any:
    done = run_nix("nix-instantiate", "--eval", "--strict", "--json", file, "-A", attr)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def fetched_inputs(file: Path) -> list[str]:
    """The names of the derivations the wheelhouse's derivation takes as inputs."""
    drv = run_nix("nix-instantiate", file)
    assert drv.returncode == 0, drv.stderr
    refs = run_nix("nix-store", "-q", "--references", drv.stdout.strip())
    assert refs.returncode == 0, refs.stderr
    return sorted(re.sub(r"^/nix/store/[0-9a-z]{32}-", "", ref)[: -len(".drv")]
                  for ref in refs.stdout.split() if ref.endswith(".drv"))


def usable_here(filename: str) -> bool:
    """Whether this_python() could install the file (an sdist always can)."""
    if not filename.endswith(".whl"):
        return True
    major, minor = map(int, this_python()[1].split(".")[:2])
    cp = f"cp{major}{minor}"
    here = {str(tag) for tag in [*cpython_tags((major, minor), [cp]),
                                 *compatible_tags((major, minor), cp)]}
    return any(str(tag) in here for tag in parse_wheel_filename(filename)[3])


def install_offline(tmp: Path, wheelhouse: Path, *modules: str) -> str:
    """A fresh venv with the wheelhouse installed as nix/install-wheelhouse.py does (by
    pip 26.3 from outside, which is quicker than the venv's own from ensurepip)."""
    python, _ = this_python()
    venv = tmp / f"venv-{uuid.uuid4().hex[:8]}"
    subprocess.run([python, "-I", "-m", "venv", "--without-pip", str(venv)], check=True,
                   env=clean_client_env())
    installed = run_pip(pip_venv("26.3"), "--python", str(venv / "bin" / "python"), "install",
                        "--no-index", "--find-links", str(wheelhouse),
                        "--require-hashes", "-r", str(wheelhouse / LOCK))
    assert installed.returncode == 0, installed.stdout + installed.stderr
    probe = subprocess.run(
        [str(venv / "bin" / "python"), "-I", "-c",
         f"import {', '.join(modules)}; print({modules[0]}.__version__)"],
        capture_output=True, text=True, check=False,
    )
    assert probe.returncode == 0, probe.stderr
    return probe.stdout.strip()


def check_against_the_lock(pylock: Path, wheelhouse: Path) -> dict[str, Any]:
    """Every file the wheelhouse holds is one of the lock's, with its sha256, usable here,
    and the only one of its package; returns the lock's files by name."""
    document = tomllib.loads(pylock.read_text())
    by_name: dict[str, Any] = {}
    for package in document["packages"]:
        archives = [*package.get("wheels", []), *([package["sdist"]] if "sdist" in package
                                                   else [])]
        for archive in archives:
            name = archive.get("name") or archive["url"].rsplit("/", 1)[-1]
            by_name[name] = {"package": package, "sha256": archive["hashes"]["sha256"]}
    held = sorted(p.name for p in wheelhouse.iterdir() if p.name != LOCK)
    assert held
    for name in held:
        assert name in by_name, name
        assert hashlib.sha256((wheelhouse / name).read_bytes()).hexdigest() == \
            by_name[name]["sha256"], name
        assert usable_here(name), name
    packages = [by_name[name]["package"]["name"] for name in held]
    assert len(packages) == len(set(packages))
    # Every package whose marker holds here is there.
    version = this_python()[1]
    environment = {"python_full_version": version, "implementation_version": version,
                   "python_version": ".".join(version.split(".")[:2])}
    wanted = sorted(
        package["name"] for package in document["packages"]
        if "marker" not in package
        or Marker(package["marker"]).evaluate(environment, context="lock_file")
    )
    assert sorted(packages) == wanted
    return by_name


@pytest.fixture
def multi_upstream() -> Iterator[FakeIndex]:
    index = FakeIndex()
    with index.running():
        yield index


def test_a_multi_target_lock_fetches_only_this_machine_s_files(
    tmp_path: Path, multi_upstream: FakeIndex
) -> None:
    require_linux()
    _, version = this_python()
    cp = "cp" + "".join(version.split(".")[:2])
    arch = platform.machine()
    # Fresh projects per run, so no earlier run left their files in the store.
    tag = uuid.uuid4().hex[:8]
    native = f"numeric-{tag}"
    files = {
        "here": FakeFile(make_wheel(native, "1.25.0",
                                    tag=f"{cp}-{cp}-manylinux_2_17_{arch}.manylinux2014_{arch}"),
                         "2023-06-17T17:27:28Z"),
        "mac": FakeFile(make_wheel(native, "1.25.0", tag=f"{cp}-{cp}-macosx_11_0_arm64"),
                        "2023-06-17T17:27:29Z"),
        "windows": FakeFile(make_wheel(native, "1.25.0", tag=f"{cp}-{cp}-win_amd64"),
                            "2023-06-17T17:27:30Z"),
        "sdist": FakeFile(make_sdist(native, "1.25.0"), "2023-06-17T17:27:31Z"),
        "colorama": FakeFile(make_wheel(f"paint-{tag}", "0.4.6", tag="py2.py3-none-any"),
                             "2022-10-25T02:36:20Z"),
        "pure": FakeFile(make_wheel(f"pure-{tag}", "2.0"), "2021-01-01T00:00:00Z"),
    }
    for fake in files.values():
        multi_upstream.add(fake.dist.name, fake)

    def entry(file: FakeFile) -> str:
        # As uv writes a file: an inline table, named by its URL only.
        return (f'{{ url = "{multi_upstream.file_url(file)}", upload-time = {file.upload_time},'
                f' size = {len(file.dist.content)},'
                f' hashes = {{ sha256 = "{file.dist.sha256}" }} }}')

    pylock = tmp_path / "pylock.toml"
    pylock.write_text(f"""\
lock-version = "1.0"
created-by = "uv"
requires-python = ">=3.9"
environments = ["sys_platform == 'linux'", "sys_platform == 'darwin'", "sys_platform == 'win32'"]

[[packages]]
name = "{native}"
version = "1.25.0"
sdist = {entry(files["sdist"])}
wheels = [
    {entry(files["here"])},
    {entry(files["mac"])},
    {entry(files["windows"])},
]

[[packages]]
name = "paint-{tag}"
version = "0.4.6"
marker = "sys_platform == 'win32'"
wheels = [{entry(files["colorama"])}]

[[packages]]
name = "pure-{tag}"
version = "2.0"
wheels = [{entry(files["pure"])}]
""")
    file = selecting_wheelhouse_file(tmp_path, pylock)
    expected = sorted([files["here"].dist.filename, files["pure"].dist.filename])
    # Decided while evaluating: the derivation's inputs are this machine's files only.
    assert nix_eval(file, "passthru.files") == expected
    inputs = fetched_inputs(file)
    assert [i for i in inputs if i.endswith(".whl") or i.endswith(".tar.gz")] == expected

    built = build(file)
    assert sorted(p.name for p in built.iterdir()) == sorted([*expected, LOCK])
    for key, fake in files.items():
        hits = sum(n for path, n in multi_upstream.hits.items()
                   if path.endswith(fake.dist.filename))
        assert hits == (1 if key in ("here", "pure") else 0), key
    check_against_the_lock(pylock, built)
    lock_text = (built / LOCK).read_text()
    assert lock_text == (
        f"{native}==1.25.0 \\\n    --hash=sha256:{files['here'].dist.sha256}\n"
        f"pure-{tag}==2.0 \\\n    --hash=sha256:{files['pure'].dist.sha256}\n"
    )
    assert install_offline(tmp_path, built, f"numeric_{tag}", f"pure_{tag}") == "1.25.0"


REQUIREMENTS = ["click==8.1.3", "requests==2.31.0"]  # click wants colorama on Windows only


def test_a_uv_universal_lock_builds_this_machine_s_wheelhouse(tmp_path: Path) -> None:
    require_network("uv locks against PyPI")
    require_linux()
    requirements = tmp_path / "requirements.in"
    requirements.write_text("".join(f"{r}\n" for r in REQUIREMENTS))
    pylock = tmp_path / "pylock.toml"
    locked = run_uv("pip", "compile", "--quiet", "--universal", "--format", "pylock.toml",
                    "--exclude-newer", "2023-06-01", "--python-version", "3.11",
                    "--index-url", "https://pypi.org/simple/", str(requirements),
                    "-o", str(pylock), cwd=tmp_path)
    assert locked.returncode == 0, locked.stderr
    text = pylock.read_text()
    assert "sys_platform == 'win32'" in text and "macosx" in text and "win_amd64" in text

    built = build(selecting_wheelhouse_file(tmp_path, pylock))
    by_name = check_against_the_lock(pylock, built)
    held = sorted(p.name for p in built.iterdir() if p.name != LOCK)
    assert len(by_name) > 2 * len(held)  # a universal lock: many files, few taken
    assert not any("colorama" in n or "macosx" in n or "win" in n for n in held)
    assert install_offline(tmp_path, built, "requests", "click") == "2.31.0"


def test_a_pip_lock_builds_this_machine_s_wheelhouse(tmp_path: Path) -> None:
    require_network("pip locks against PyPI")
    require_linux()
    pylock = tmp_path / "pylock.toml"
    locked = run_pip(pip_venv("26.3"), "lock", "--quiet", "--index-url",
                     "https://pypi.org/simple/", "--uploaded-prior-to", "2023-06-01T00:00:00Z",
                     "-o", str(pylock), *REQUIREMENTS, cwd=tmp_path)
    assert locked.returncode == 0, locked.stderr
    assert 'created-by = "pip"' in pylock.read_text()

    built = build(selecting_wheelhouse_file(tmp_path, pylock))
    check_against_the_lock(pylock, built)
    assert install_offline(tmp_path, built, "requests", "click") == "2.31.0"


TARGETS = ("3.11:manylinux_2_17_x86_64", "3.11:macosx_11_0_arm64", "3.11:win_amd64")


def test_the_three_target_lock_builds_what_fetch_gives_this_machine(tmp_path: Path) -> None:
    """Issue 14's lock (numpy, click, requests at 2023-06-01 for Linux x86-64, macOS arm64
    and Windows), built with Nix alone for this machine, holds only files it can use and
    is, file for file, what ``snapproxy fetch`` gives this machine: from the lock, and by
    resolving anew."""
    require_network("the lock resolves against PyPI")
    require_linux()
    if platform.machine() != "x86_64" or this_python()[1].rsplit(".", 1)[0] != "3.11":
        pytest.skip("one of the lock's targets must be this machine: CPython 3.11 on x86-64")
    pylock = tmp_path / "pylock.toml"
    targets = [arg for target in TARGETS for arg in ("--target", target)]
    lock(pylock, "--date", "2023-06-01", *targets, "numpy", "click", "requests")
    document = tomllib.loads(pylock.read_text())
    assert len(document["environments"]) == 3

    built = build(selecting_wheelhouse_file(tmp_path, pylock))
    check_against_the_lock(pylock, built)
    held = sorted(p.name for p in built.iterdir() if p.name != LOCK)
    assert not any("macosx" in n or "win" in n or "colorama" in n for n in held)

    from_lock = tmp_path / "from-lock"
    done = fetch(from_lock, "--from-lock", pylock)
    assert done.returncode == 0, done.stderr
    assert tree_digest(from_lock) == tree_digest(built)

    resolved = tmp_path / "resolved"
    done = fetch(resolved, "--date", "2023-06-01", "--python", this_python()[0],
                 "--only-binary", "numpy", "click", "requests")
    assert done.returncode == 0, done.stderr
    assert tree_digest(resolved) == tree_digest(built)
    assert install_offline(tmp_path, built, "numpy", "click", "requests")
