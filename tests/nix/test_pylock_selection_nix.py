"""nix/pylock-selection.nix in pure evaluation: which packages and files of a PEP 751 lock a
target takes, and the requirements.lock.txt made from them.

Hand-written multi-environment locks in the forms uv, pip and snapproxy write them (inline
tables and [[packages.wheels]] tables, files named only by their URL, TOML datetimes with
`T` or a space, fractions and offsets), evaluated for several targets with
`nix-instantiate --eval --strict --json`: no build, no network.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from fetcher.pip_report import ChosenFile
from fetcher.requirements_lock import render_lock
from tests.support.clients import require_nix
from tests.support.nixbuild import REPO, nix_string, run_nix

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

SELECTION = REPO / "nix" / "pylock-selection.nix"
WHEELHOUSE = REPO / "nix" / "wheelhouse-from-pylock.nix"
FILES = "https://files.example.org/packages/ab/cd"


@pytest.fixture(autouse=True)
def _needs_nix() -> None:
    require_nix("the selection is evaluated by nix-instantiate")


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def select_expr(lock: Path, system: str, python: str, extra: str = "") -> str:
    return (
        f"let s = import {SELECTION}; in s.select {{ lock = s.readLock {lock}; "
        f"system = {nix_string(system)}; pythonVersion = {nix_string(python)}; {extra} }}"
    )


def select(lock: Path, system: str, python: str = "3.11", extra: str = "") -> dict[str, Any]:
    expr = f"let r = {select_expr(lock, system, python, extra)}; in {{ inherit (r) files " \
        "packages requirementsLock target; }"
    done = run_nix("nix-instantiate", "--eval", "--strict", "--json", "-E", expr)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert isinstance(result, dict)
    return result


def select_error(lock: Path, system: str, python: str = "3.11", extra: str = "") -> str:
    expr = f"(({select_expr(lock, system, python, extra)}).files)"
    done = run_nix("nix-instantiate", "--eval", "--strict", "--json", "-E", expr)
    assert done.returncode != 0, done.stdout
    return done.stderr


def file_names(result: dict[str, Any]) -> list[str]:
    return sorted(f["name"] for f in result["files"])


NUMPY_WHEELS = {
    "manylinux": "numpy-1.25.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
    "macos": "numpy-1.25.0-cp311-cp311-macosx_11_0_arm64.whl",
    "windows": "numpy-1.25.0-cp311-cp311-win_amd64.whl",
}
NUMPY_SDIST = "numpy-1.25.0.tar.gz"
COLORAMA = "colorama-0.4.6-py2.py3-none-any.whl"
TOMLI_2 = "tomli-2.0.1-py3-none-any.whl"
TOMLI_1 = "tomli-1.2.3-py3-none-any.whl"
LOCAL = "local_thing-1.0+local-py3-none-any.whl"
PYTEST = "pytest-7.4.0-py3-none-any.whl"


def inline(url: str, filename: str, *, name: str | None = None, time: str | None = None,
           size: int | None = None) -> str:
    """A file as uv writes it: an inline table, `name` only when given, a bare datetime."""
    fields = [f"name = {json.dumps(name)}"] if name else []
    fields.append(f"url = {json.dumps(url)}")
    if time:
        fields.append(f"upload-time = {time}")
    if size is not None:
        fields.append(f"size = {size}")
    fields.append(f'hashes = {{ sha256 = "{sha(filename)}" }}')
    return "{ " + ", ".join(fields) + " }"


def multi_target_lock(*, sdist: bool = True, environments: bool = True,
                      tomli_markers: tuple[str, str] = ("python_version < '3.11'",
                                                        "python_version >= '3.11'")) -> str:
    """uv's style (inline tables, no file names) mixed with pip's ([[packages.wheels]])."""
    envs = (
        "environments = [\n"
        "    \"sys_platform == 'linux'\",\n"
        "    \"sys_platform == 'darwin' and platform_machine == 'arm64'\",\n"
        "    'sys_platform == \"win32\"',\n"
        "]\n"
        if environments else ""
    )
    sdist_line = (
        f'sdist = {{ url = "{FILES}/{NUMPY_SDIST}", upload-time = 2023-06-17T17:27:28Z, '
        f'size = 10, hashes = {{ sha256 = "{sha(NUMPY_SDIST)}" }} }}\n'
        if sdist else ""
    )
    return f"""\
# written by hand, as uv and pip write theirs
lock-version = "1.0"
created-by = "hand"
requires-python = ">=3.9"
{envs}default-groups = []
dependency-groups = ["dev"]

[[packages]]
name = "numpy"
version = "1.25.0"
{sdist_line}wheels = [
    {inline(f"{FILES}/{NUMPY_WHEELS['manylinux']}", NUMPY_WHEELS['manylinux'],
            time="2023-06-17T17:27:28.123456Z", size=1)},
    {inline(f"{FILES}/renamed.whl", NUMPY_WHEELS['macos'], name=NUMPY_WHEELS['macos'],
            time="2023-06-17 17:27:28+00:00")},
    {inline(f"{FILES}/{NUMPY_WHEELS['windows']}?x=1#sha256=00", NUMPY_WHEELS['windows'],
            time="2023-06-17T19:27:28.5+02:00")},
]

[[packages]]
name = "colorama"
version = "0.4.6"
marker = "sys_platform == \\"win32\\""

[[packages.wheels]]
url = "{FILES}/{COLORAMA}"
upload-time = 2022-10-25T02:36:20Z

[packages.wheels.hashes]
sha256 = "{sha(COLORAMA)}"

[[packages]]
name = "tomli"
version = "2.0.1"
marker = "{tomli_markers[0]}"
wheels = [{inline(f"{FILES}/{TOMLI_2}", TOMLI_2)}]

[[packages]]
name = "tomli"
version = "1.2.3"
marker = "{tomli_markers[1]}"
wheels = [{inline(f"{FILES}/{TOMLI_1}", TOMLI_1, time="2021-12-13")}]

[[packages]]
name = "local-thing"
version = "1.0+local"
wheels = [{inline(f"{FILES}/local_thing-1.0%2Blocal-py3-none-any.whl", LOCAL)}]

[[packages]]
name = "pytest"
version = "7.4.0"
marker = "'dev' in dependency_groups"
wheels = [{inline(f"{FILES}/{PYTEST}", PYTEST)}]
"""


@pytest.fixture
def lock(tmp_path: Path) -> Path:
    path = tmp_path / "pylock.toml"
    path.write_text(multi_target_lock())
    return path


def test_each_target_takes_its_own_files(lock: Path) -> None:
    common = [LOCAL, TOMLI_1]
    assert file_names(select(lock, "x86_64-linux")) == sorted(
        [NUMPY_WHEELS["manylinux"], *common])
    assert file_names(select(lock, "aarch64-darwin")) == sorted([NUMPY_WHEELS["macos"], *common])
    # No aarch64 wheel: the sdist; Python 3.10 takes the other tomli.
    assert file_names(select(lock, "aarch64-linux", "3.10")) == sorted(
        [NUMPY_SDIST, LOCAL, TOMLI_2])
    # The Windows-only package, and the dev group only when asked.
    assert file_names(select(lock, "x86_64-linux", extra='dependencyGroups = [ "dev" ];')) \
        == sorted([NUMPY_WHEELS["manylinux"], PYTEST, *common])


def test_the_files_carry_url_and_sha256(lock: Path) -> None:
    files = {f["name"]: f for f in select(lock, "x86_64-linux")["files"]}
    assert files[LOCAL] == {
        "name": LOCAL,  # decoded from the URL's %2B
        "url": f"{FILES}/local_thing-1.0%2Blocal-py3-none-any.whl",
        "sha256": sha(LOCAL),
        "wheel": True,
    }
    # A `name` wins over the URL's last segment.
    assert select(lock, "aarch64-darwin")["files"][1]["url"] == f"{FILES}/renamed.whl"


def test_the_requirements_lock_is_derived_in_fetch_s_format(lock: Path) -> None:
    result = select(lock, "x86_64-linux", extra='dependencyGroups = [ "dev" ];')
    chosen = [
        ChosenFile(p["name"], p["version"], p["file"]["name"], p["file"]["url"],
                   p["file"]["sha256"])
        for p in result["packages"]
    ]
    assert result["requirementsLock"] == render_lock(chosen)
    assert result["requirementsLock"].startswith(
        "local-thing==1.0+local \\\n    --hash=sha256:"
    )
    assert [line.split("==")[0] for line in result["requirementsLock"].splitlines()
            if "==" in line] == ["local-thing", "numpy", "pytest", "tomli"]


def test_a_target_no_environment_holds_for_is_refused(lock: Path) -> None:
    error = select_error(lock, "x86_64-darwin")
    assert "wheelhouseFromPylock: the lock is for" in error
    assert "not for CPython 3.11 on x86_64-darwin" in error
    assert "sys_platform == 'darwin' and platform_machine == 'arm64'" in error


def test_a_python_outside_requires_python_is_refused(lock: Path) -> None:
    error = select_error(lock, "x86_64-linux", "3.8")
    assert "the lock requires Python >=3.9, not CPython 3.8 on x86_64-linux" in error


def test_no_file_for_the_target_names_the_package_and_the_target(tmp_path: Path) -> None:
    path = tmp_path / "pylock.toml"
    path.write_text(multi_target_lock(sdist=False))
    error = select_error(path, "aarch64-linux")
    assert (
        "wheelhouseFromPylock: numpy 1.25.0 has no file for CPython 3.11 on aarch64-linux "
        "(wheels: cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64, "
        "cp311-cp311-macosx_11_0_arm64, cp311-cp311-win_amd64; no sdist)"
    ) in error
    # The other targets still evaluate.
    assert NUMPY_WHEELS["manylinux"] in file_names(select(path, "x86_64-linux"))


def test_one_name_taken_at_two_versions_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "pylock.toml"
    path.write_text(multi_target_lock(tomli_markers=("python_version >= '3.9'",
                                                     "sys_platform == 'linux'")))
    assert "tomli is taken at 2.0.1 and 1.2.3 for CPython 3.11 on x86_64-linux" in \
        select_error(path, "x86_64-linux")
    assert TOMLI_2 in file_names(select(path, "aarch64-darwin"))


def test_datetimes_are_read_as_the_strings_they_are(lock: Path) -> None:
    done = run_nix("nix-instantiate", "--eval", "--strict", "--json", "-E",
                   f"(import {SELECTION}).readLock {lock}")
    assert done.returncode == 0, done.stderr
    read = json.loads(done.stdout)
    expected = tomllib.loads(lock.read_text())

    def upload_times(document: dict[str, Any]) -> list[Any]:
        return [
            archive.get("upload-time")
            for package in document["packages"]
            for archive in [*package.get("wheels", []), *([package["sdist"]]
                                                          if "sdist" in package else [])]
        ]

    assert upload_times(read) == [
        "2023-06-17T17:27:28.123456Z",
        "2023-06-17 17:27:28+00:00",
        "2023-06-17T19:27:28.5+02:00",
        "2023-06-17T17:27:28Z",
        "2022-10-25T02:36:20Z",
        None,
        "2021-12-13",
        None,
        None,
    ]
    assert [str(t) if t is not None else None for t in upload_times(expected)] == [
        "2023-06-17 17:27:28.123456+00:00",
        "2023-06-17 17:27:28+00:00",
        "2023-06-17 19:27:28.500000+02:00",
        "2023-06-17 17:27:28+00:00",
        "2022-10-25 02:36:20+00:00",
        None,
        "2021-12-13",
        None,
        None,
    ]

    def without_times(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: without_times(v) for k, v in value.items() if k != "upload-time"}
        if isinstance(value, list):
            return [without_times(v) for v in value]
        return value

    assert without_times(read) == without_times(expected)


def snapproxy_lock(*, environments: int, sdist_only: bool) -> str:
    """What `snapproxy lock` writes: build requirements behind the snapproxy-build group."""
    envs = ['implementation_name == "cpython" and python_version == "3.11" and '
            'sys_platform == "linux" and platform_machine == "x86_64"',
            'implementation_name == "cpython" and python_version == "3.11" and '
            'sys_platform == "darwin" and platform_machine == "arm64"'][:environments]
    docopt = (
        '[packages.sdist]\nname = "docopt-0.6.2.tar.gz"\n'
        if sdist_only else
        '[[packages.wheels]]\nname = "docopt-0.6.2-py3-none-any.whl"\n'
    )
    hashes = "[packages.sdist.hashes]" if sdist_only else "[packages.wheels.hashes]"
    return f"""\
lock-version = "1.0"
environments = {json.dumps(envs)}
requires-python = "==3.11.*"
dependency-groups = [
    "snapproxy-build",
]
default-groups = []
created-by = "snapproxy"

[[packages]]
name = "docopt"
version = "0.6.2"
index = "https://pypi.org/simple/"

{docopt}upload-time = 2014-06-16 11:18:57.000000+00:00
url = "{FILES}/docopt"
size = 25901

{hashes}
sha256 = "{sha('docopt')}"

[[packages]]
name = "setuptools"
version = "69.0.0"
marker = "'snapproxy-build' in dependency_groups"
index = "https://pypi.org/simple/"

[[packages.wheels]]
name = "setuptools-69.0.0-py3-none-any.whl"
upload-time = 2023-11-20 18:05:00.123456+00:00
url = "{FILES}/setuptools-69.0.0-py3-none-any.whl"

[packages.wheels.hashes]
sha256 = "{sha('setuptools')}"

[packages.tool.snapproxy]
build = true

[tool.snapproxy]
cutoff = "2021-05-01T00:00:00Z"
requirements-lock = "docopt==0.6.2 \\\\\\n    --hash=sha256:{sha('docopt')}\\n"
"""


def test_snapproxy_build_requirements_come_with_an_sdist(tmp_path: Path) -> None:
    path = tmp_path / "pylock.toml"
    path.write_text(snapproxy_lock(environments=1, sdist_only=True))
    result = select(path, "x86_64-linux")
    assert file_names(result) == ["docopt-0.6.2.tar.gz", "setuptools-69.0.0-py3-none-any.whl"]
    assert [p["build"] for p in result["packages"]] == [False, True]
    # The lock's own text (one environment): the runtime package only, as `fetch` writes.
    assert result["requirementsLock"] == f"docopt==0.6.2 \\\n    --hash=sha256:{sha('docopt')}\n"
    # Asked for no group: no build requirements.
    assert file_names(select(path, "x86_64-linux", extra="dependencyGroups = [ ];")) == [
        "docopt-0.6.2.tar.gz"
    ]
    # All wheels: nothing to build, no build requirements.
    path.write_text(snapproxy_lock(environments=1, sdist_only=False))
    assert file_names(select(path, "x86_64-linux")) == ["docopt-0.6.2-py3-none-any.whl"]


# The hash in the tool table's lock text (a TOML string, its newline written `\n`), zeroed.
ZEROED = (f"--hash=sha256:{sha('docopt')}\\n", "--hash=sha256:" + "0" * 64 + "\\n")


def test_the_tool_table_s_lock_text_is_used_only_for_a_single_target(tmp_path: Path) -> None:
    path = tmp_path / "pylock.toml"
    path.write_text(snapproxy_lock(environments=2, sdist_only=False))
    tool_text = tomllib.loads(path.read_text())["tool"]["snapproxy"]["requirements-lock"]
    result = select(path, "aarch64-darwin")
    # Derived: the same text here, since the file taken is the only one.
    assert result["requirementsLock"] == tool_text
    path.write_text(snapproxy_lock(environments=2, sdist_only=False).replace(*ZEROED))
    assert select(path, "aarch64-darwin")["requirementsLock"] == tool_text
    single = tmp_path / "single.toml"
    single.write_text(snapproxy_lock(environments=1, sdist_only=False).replace(*ZEROED))
    assert "0" * 64 in select(single, "x86_64-linux")["requirementsLock"]


def test_a_single_target_lock_names_its_python(tmp_path: Path, lock: Path) -> None:
    path = tmp_path / "snapproxy.toml"
    path.write_text(snapproxy_lock(environments=1, sdist_only=False))
    for source, expected in ((path, "3.11"), (lock, None)):
        done = run_nix("nix-instantiate", "--eval", "--strict", "--json", "-E",
                       f"let s = import {SELECTION}; in s.lockPythonVersion (s.readLock {source})")
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout) == expected


def wheelhouse_eval(lock: Path, *args: str) -> Any:
    """wheelhouseFromPylock's selection, evaluated as a user would (no build)."""
    return run_nix(
        "nix-instantiate", "--eval", "--strict", "--json", WHEELHOUSE,
        "--arg", "pylock", str(lock), "--argstr", "python", "/usr/bin/python3",
        "--argstr", "pythonVersion", "3.11", *args, "-A", "passthru.files",
    )


@pytest.mark.parametrize(
    ("system", "numpy"),
    [("x86_64-linux", NUMPY_WHEELS["manylinux"]), ("aarch64-darwin", NUMPY_WHEELS["macos"]),
     ("aarch64-linux", NUMPY_SDIST)],
)
def test_wheelhouse_from_pylock_selects_for_the_system_it_is_given(
    lock: Path, system: str, numpy: str
) -> None:
    done = wheelhouse_eval(lock, "--arg", "system", nix_string(system))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == sorted([numpy, LOCAL, TOMLI_1])


def test_wheelhouse_from_pylock_names_package_and_target_without_a_file(tmp_path: Path) -> None:
    path = tmp_path / "pylock.toml"
    path.write_text(multi_target_lock(sdist=False))
    done = wheelhouse_eval(path, "--arg", "system", '"aarch64-linux"')
    assert done.returncode != 0
    assert "numpy 1.25.0 has no file for CPython 3.11 on aarch64-linux" in done.stderr


def build_requirement(name: str, version: str) -> str:
    filename = f"{name}-{version}-py3-none-any.whl"
    return f"""
[[packages]]
name = "{name}"
version = "{version}"
marker = "'snapproxy-build' in dependency_groups"
wheels = [{inline(f"{FILES}/{filename}", filename)}]
tool = {{ snapproxy = {{ build = true }} }}
"""


def test_two_versions_of_a_build_requirement_are_both_taken(tmp_path: Path) -> None:
    # Two sdists built with different setuptools: each builds in its own environment.
    path = tmp_path / "pylock.toml"
    path.write_text(f"""\
lock-version = "1.0"
created-by = "snapproxy"
dependency-groups = ["snapproxy-build"]
default-groups = []

[[packages]]
name = "old"
version = "1.0"
sdist = {inline(f"{FILES}/old-1.0.tar.gz", "old-1.0.tar.gz")}

[[packages]]
name = "wheel"
version = "0.40.0"
wheels = [{inline(f"{FILES}/wheel-0.40.0-py3-none-any.whl", "wheel-0.40.0-py3-none-any.whl")}]
{build_requirement("setuptools", "40.0.0")}{build_requirement("setuptools", "68.0.0")}\
{build_requirement("wheel", "0.40.0")}""")
    result = select(path, "x86_64-linux")
    assert file_names(result) == [
        "old-1.0.tar.gz", "setuptools-40.0.0-py3-none-any.whl",
        "setuptools-68.0.0-py3-none-any.whl", "wheel-0.40.0-py3-none-any.whl",
    ]
    # Installed: the runtime packages only (wheel is one too, so it is listed once).
    assert [line.split(" ")[0] for line in result["requirementsLock"].splitlines()
            if "==" in line] == ["old==1.0", "wheel==0.40.0"]


def test_a_package_s_own_requires_python_must_admit_the_target(tmp_path: Path) -> None:
    path = tmp_path / "pylock.toml"
    path.write_text(f"""\
lock-version = "1.0"
created-by = "hand"

[[packages]]
name = "modern"
version = "2.0"
requires-python = ">=3.12"
wheels = [{inline(f"{FILES}/modern-2.0-py3-none-any.whl", "modern-2.0-py3-none-any.whl")}]
""")
    assert file_names(select(path, "x86_64-linux", "3.12")) == ["modern-2.0-py3-none-any.whl"]
    assert "modern 2.0 requires Python >=3.12, not CPython 3.11 on x86_64-linux" in \
        select_error(path, "x86_64-linux", "3.11")


def test_one_file_name_for_two_files_is_refused(tmp_path: Path) -> None:
    name = "x-1.0-py3-none-any.whl"
    path = tmp_path / "pylock.toml"
    path.write_text(f"""\
lock-version = "1.0"
created-by = "hand"

[[packages]]
name = "x"
version = "1.0"
wheels = [{inline(f"{FILES}/{name}", name)}]

[[packages]]
name = "y"
version = "1.0"
wheels = [{inline(f"{FILES}/other/{name}", "other bytes")}]
""")
    assert f"{name} is two different files in the lock" in select_error(path, "x86_64-linux")
