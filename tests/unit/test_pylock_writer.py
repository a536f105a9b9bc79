"""The PEP 751 lock writer: plain data in, a validated, deterministic pylock.toml out."""

from __future__ import annotations

import sys
from datetime import datetime, timezone

import pytest
from packaging.markers import Marker
from packaging.pylock import Pylock, PylockValidationError
from packaging.specifiers import SpecifierSet

from fetcher.pip_runner import Target
from fetcher.pylock_writer import (
    LockedFile,
    environment_marker,
    locked_files,
    pylock_for,
    render_pylock,
)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

CUTOFF = datetime(2021, 5, 1, tzinfo=timezone.utc)
INDEX = "https://pypi.org/simple/"
UPLOADED = datetime(2020, 12, 16, 19, 38, 34, 329342, tzinfo=timezone.utc)


def locked(name: str, version: str, filename: str, *, build: bool = False) -> LockedFile:
    return LockedFile(
        name=name,
        version=version,
        filename=filename,
        url=f"https://files.example/{filename}",
        sha256=f"{len(filename):064x}",
        size=len(filename) * 10,
        upload_time=UPLOADED,
        build_only=build,
    )


FILES = [
    locked("requests", "2.25.1", "requests-2.25.1-py2.py3-none-any.whl"),
    locked("requests", "2.25.1", "requests-2.25.1.tar.gz"),
    locked("idna", "2.10", "idna-2.10-py2.py3-none-any.whl"),
    locked("wheel", "0.36.2", "wheel-0.36.2-py2.py3-none-any.whl", build=True),
]


def write(files: list[LockedFile]) -> str:
    return render_pylock(
        pylock_for(
            files,
            cutoff=CUTOFF,
            index=INDEX,
            environment=Marker('python_version == "3.11"'),
            requires_python=SpecifierSet("==3.11.*"),
            pip_version="26.3",
            requirements_lock="idna==2.10\n",
        )
    )


def test_written_lock_validates_and_reads_back_to_the_same_files() -> None:
    text = write(FILES)
    lock = Pylock.from_dict(tomllib.loads(text))
    lock.validate()
    assert locked_files(lock) == sorted(FILES)


def test_output_does_not_depend_on_input_order() -> None:
    assert write(FILES) == write(list(reversed(FILES)))


def test_packages_sorted_and_grouped_by_name_and_version() -> None:
    doc = tomllib.loads(write(FILES))
    assert [(p["name"], p["version"]) for p in doc["packages"]] == [
        ("idna", "2.10"),
        ("requests", "2.25.1"),
        ("wheel", "0.36.2"),
    ]
    requests = doc["packages"][1]
    assert [w["name"] for w in requests["wheels"]] == ["requests-2.25.1-py2.py3-none-any.whl"]
    assert requests["sdist"]["name"] == "requests-2.25.1.tar.gz"
    assert requests["index"] == INDEX
    assert requests["wheels"][0]["upload-time"] == UPLOADED


def test_build_only_packages_sit_behind_the_build_group() -> None:
    doc = tomllib.loads(write(FILES))
    wheel = doc["packages"][2]
    assert Marker(wheel["marker"]) == Marker("'snapproxy-build' in dependency_groups")
    assert wheel["tool"] == {"snapproxy": {"build": True}}
    assert doc["dependency-groups"] == ["snapproxy-build"]
    assert doc["default-groups"] == []
    assert "marker" not in doc["packages"][0]


def test_snapshot_and_tool_facts_are_recorded_without_a_run_timestamp() -> None:
    doc = tomllib.loads(write(FILES))
    assert doc["tool"]["snapproxy"] == {
        "cutoff": "2021-05-01T00:00:00Z",
        "index": INDEX,
        "pip-version": "26.3",
        "requirements-lock": "idna==2.10\n",
    }
    assert doc["created-by"] == "snapproxy"
    assert doc["lock-version"] == "1.0"
    assert doc["requires-python"] == "==3.11.*"
    assert str(datetime.now().year) not in write(FILES).replace("2021-05-01", "")


@pytest.mark.parametrize(
    ("environment", "expected"),
    [
        (
            {
                "implementation_name": "cpython",
                "python_version": "3.11",
                "sys_platform": "linux",
                "platform_machine": "x86_64",
                "os_name": "posix",
            },
            'implementation_name == "cpython" and python_version == "3.11" and '
            'sys_platform == "linux" and platform_machine == "x86_64"',
        ),
        ({"python_version": "3.10"}, 'python_version == "3.10"'),
    ],
)
def test_environment_marker(environment: dict[str, str], expected: str) -> None:
    assert environment_marker(environment) == Marker(expected)


RUNNING = {
    "implementation_name": "cpython",
    "python_version": "3.11",
    "python_full_version": "3.11.7",
    "sys_platform": "linux",
    "platform_machine": "x86_64",
}


@pytest.mark.parametrize(
    ("target", "changes"),
    [
        (Target("python"), {}),
        (
            Target("python", True, ("manylinux2014_aarch64",), "3.10", "cp"),
            {"python_version": "3.10", "platform_machine": "aarch64"},
        ),
        (
            Target("python", True, ("macosx_11_0_arm64",)),
            {"sys_platform": "darwin", "platform_machine": "arm64"},
        ),
        (
            Target("python", True, ("win_amd64",), None, "pp"),
            {"sys_platform": "win32", "platform_machine": "AMD64", "implementation_name": "pypy"},
        ),
    ],
)
def test_target_environment_names_the_target_not_the_runner(
    target: Target, changes: dict[str, str]
) -> None:
    env = target.environment(RUNNING)
    for key, value in {**RUNNING, **changes}.items():
        if key == "python_full_version" and "python_version" in changes:
            assert key not in env
        else:
            assert env[key] == value


@pytest.mark.parametrize(
    "sdist",
    [
        {"name": "../../evil.tar.gz"},
        {"name": "a/b.tar.gz"},
        {"name": ".."},
        {"url": "https://files.example/%2e%2e"},
        {"url": "https://files.example/a%2Fb.tar.gz"},
    ],
)
def test_file_names_that_leave_the_directory_are_refused(sdist: dict[str, str]) -> None:
    # packaging refuses most such names itself; locked_files refuses what gets past it.
    doc = tomllib.loads(write(FILES))
    entry = doc["packages"][1]["sdist"]
    if "url" in sdist:
        del entry["name"]
    entry.update(sdist)
    with pytest.raises(PylockValidationError):
        locked_files(Pylock.from_dict(doc))
