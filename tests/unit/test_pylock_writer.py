"""The PEP 751 lock writer: plain data in, a validated, deterministic pylock.toml out.

The writer and reader need no ``packaging.pylock`` (packaging 26); where it is importable,
it is the independent judge of what they write and refuse.
"""

from __future__ import annotations

import copy
import importlib.util
import sys
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from packaging.markers import Marker
from packaging.specifiers import SpecifierSet

from fetcher.pip_runner import Target
from fetcher.pylock_reading import (
    locked_files,
    tool_table,
)
from fetcher.pylock_writer import (
    LockedFile,
    Pylock,
    PylockValidationError,
    environment_marker,
    pylock_for,
    render_pylock,
)
from snapproxy.cutoff_policy import CutoffPolicy

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

REPO = Path(__file__).resolve().parents[2]
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


def test_the_cutoffs_used_and_the_durations_given_are_recorded() -> None:
    # --date P7D --package-date certifi=2024-01-01 --package-date six=none
    # --package-date pip=P1D, each duration turned into its instant once (fetch).
    given = CutoffPolicy(
        timedelta(days=7),
        {
            "certifi": datetime(2024, 1, 1, tzinfo=timezone.utc),
            "six": None,
            "pip": timedelta(days=1),
        },
    )
    text = render_pylock(
        pylock_for(
            FILES,
            cutoff=datetime(2026, 11, 25, 15, 40, tzinfo=timezone.utc),
            package_cutoffs={
                "certifi": datetime(2024, 1, 1, tzinfo=timezone.utc),
                "six": None,
                "pip": datetime(2026, 12, 1, 15, 40, tzinfo=timezone.utc),
            },
            given=given,
            index=INDEX,
            environment=Marker('python_version == "3.11"'),
            requires_python=SpecifierSet("==3.11.*"),
            pip_version="26.3",
            requirements_lock="idna==2.10\n",
        )
    )
    tool = tomllib.loads(text)["tool"]["snapproxy"]
    assert tool["cutoff"] == "2026-11-25T15:40:00Z"
    assert tool["date"] == "P7D"
    assert tool["package-cutoffs"] == {
        "certifi": "2024-01-01T00:00:00Z",
        "pip": "2026-12-01T15:40:00Z",
        "six": "none",
    }
    assert tool["package-dates"] == {"pip": "P1D"}  # only what was written as a duration
    assert Pylock.from_dict(tomllib.loads(text))  # still a valid lock


def test_instants_alone_add_nothing_beside_the_cutoff() -> None:
    given = CutoffPolicy(CUTOFF, {"certifi": datetime(2024, 1, 1, tzinfo=timezone.utc)})
    doc = tomllib.loads(
        render_pylock(
            pylock_for(
                FILES,
                cutoff=CUTOFF,
                package_cutoffs=given.packages,  # type: ignore[arg-type]
                given=given,
                index=INDEX,
                environment=Marker('python_version == "3.11"'),
                requires_python=None,
                pip_version="26.3",
                requirements_lock="",
            )
        )
    )
    tool = doc["tool"]["snapproxy"]
    assert "date" not in tool and "package-dates" not in tool
    assert tool["package-cutoffs"] == {"certifi": "2024-01-01T00:00:00Z"}


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


def test_the_example_lock_is_written_again_byte_for_byte() -> None:
    # The lock of examples/requests, read and written again from what it records: the
    # bytes the writer gave when it was built on packaging.pylock, unchanged.
    text = (REPO / "examples" / "requests" / "pylock.toml").read_text()
    doc = tomllib.loads(text)
    tool = tool_table(Pylock.from_dict(doc))
    again = render_pylock(
        pylock_for(
            locked_files(Pylock.from_dict(doc)),
            cutoff=datetime.fromisoformat(tool["cutoff"].replace("Z", "+00:00")),
            index=tool["index"],
            environment=Marker(doc["environments"][0]),
            requires_python=SpecifierSet(doc["requires-python"]),
            pip_version=tool["pip-version"],
            requirements_lock=tool["requirements-lock"],
        )
    )
    assert again == text


HAS_PACKAGING_PYLOCK = importlib.util.find_spec("packaging.pylock") is not None
needs_packaging_pylock = pytest.mark.skipif(
    not HAS_PACKAGING_PYLOCK, reason="packaging.pylock (packaging 26+) is not installed"
)


@needs_packaging_pylock
def test_packaging_reads_the_written_lock_as_written() -> None:
    from packaging.pylock import Pylock as PackagingPylock

    text = write(FILES)
    theirs = PackagingPylock.from_dict(tomllib.loads(text))
    assert render_pylock(theirs) == text
    assert locked_files(theirs) == sorted(FILES)


def _set(path: str, value: object) -> Callable[[dict[str, Any]], None]:
    """A change to one field of a lock document (dotted path, list indexes as numbers)."""

    def change(doc: dict[str, Any]) -> None:
        *parents, last = (int(p) if p.isdigit() else p for p in path.split("."))
        target: Any = doc
        for part in parents:
            target = target[part]
        if value is None:
            del target[last]
        else:
            target[last] = value

    return change


INVALID = {
    "unsupported lock-version": _set("lock-version", "2.0"),
    "no created-by": _set("created-by", None),
    "no packages": _set("packages", None),
    "environment not a marker": _set("environments", ["python_version >>> 3"]),
    "name not normalized": _set("packages.0.name", "IDNA"),
    "version not a version": _set("packages.0.version", "two"),
    "size not an integer": _set("packages.0.wheels.0.size", True),
    "no hashes": _set("packages.0.wheels.0.hashes", {}),
    "file of another project": _set("packages.0.wheels.0.name", "six-2.10-py3-none-any.whl"),
    "file of another version": _set("packages.0.wheels.0.name", "idna-3.0-py3-none-any.whl"),
    "file name not a wheel name": _set("packages.0.wheels.0.name", "idna.whl"),
    "no url and no path": _set("packages.1.sdist.url", None),
    "no file and no source": lambda doc: doc["packages"][0].pop("wheels"),
    "index files and a vcs source": _set("packages.0.vcs", {"type": "git", "commit-id": "a"}),
}


@pytest.mark.parametrize("change", list(INVALID))
def test_what_is_no_pep_751_lock_is_refused(change: str) -> None:
    doc = tomllib.loads(write(FILES))
    Pylock.from_dict(copy.deepcopy(doc))  # valid before the change
    INVALID[change](doc)
    with pytest.raises(PylockValidationError):
        Pylock.from_dict(doc)


@needs_packaging_pylock
@pytest.mark.parametrize("change", list(INVALID))
def test_packaging_refuses_the_same_documents(change: str) -> None:
    # Each rule above is the specification's, not one of this module's own making.
    from packaging.pylock import Pylock as PackagingPylock
    from packaging.pylock import PylockValidationError as PackagingError

    doc = tomllib.loads(write(FILES))
    INVALID[change](doc)
    with pytest.raises(PackagingError):
        PackagingPylock.from_dict(doc)


def test_a_package_from_outside_an_index_is_refused_by_name() -> None:
    doc = tomllib.loads(write(FILES))
    idna = doc["packages"][0]
    del idna["wheels"]
    idna["vcs"] = {"type": "git", "url": "https://example.org/idna.git", "commit-id": "a" * 40}
    with pytest.raises(PylockValidationError, match="idna: not from an index"):
        locked_files(Pylock.from_dict(doc))
