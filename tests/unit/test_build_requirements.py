"""PEP 518 build requirements read from real (in-memory) sdist archives."""

from __future__ import annotations

import io
import tarfile
import zipfile

import pytest

from fetcher.build_requirements import InvalidSdist, build_requirements, pyproject_of

LEGACY = ["setuptools>=40.8.0", "wheel"]
SETUP_PY = b"from setuptools import setup\nsetup()\n"


def tar_gz(files: dict[str, bytes], mode: str = "w:gz") -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode=mode) as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def zip_sdist(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def sdist(pyproject: str | None, root: str = "pkg-1.0") -> dict[str, bytes]:
    files = {f"{root}/setup.py": SETUP_PY, f"{root}/PKG-INFO": b"Metadata-Version: 2.1\n"}
    if pyproject is not None:
        files[f"{root}/pyproject.toml"] = pyproject.encode()
    return files


CASES = [
    pytest.param(None, LEGACY, id="no-pyproject"),
    pytest.param("[tool.black]\nline-length = 100\n", LEGACY, id="no-build-system"),
    pytest.param(
        '[build-system]\nrequires = ["setuptools>=61"]\nbuild-backend = "setuptools.build_meta"\n',
        ["setuptools>=61", "wheel"],
        id="setuptools-adds-wheel",
    ),
    pytest.param(
        '[build-system]\nrequires = ["setuptools>=61", "wheel"]\n'
        'build-backend = "setuptools.build_meta"\n',
        ["setuptools>=61", "wheel"],
        id="setuptools-wheel-listed",
    ),
    pytest.param(
        '[build-system]\nrequires = ["setuptools", "Wheel>=0.37"]\n'
        'build-backend = "setuptools.build_meta"\n',
        ["setuptools", "Wheel>=0.37"],
        id="setuptools-wheel-listed-other-spelling",
    ),
    pytest.param(
        '[build-system]\nrequires = ["setuptools>=40.8", "wheel ; python_version >= \'3\'"]\n',
        ["setuptools>=40.8", "wheel ; python_version >= '3'"],
        id="wheel-with-marker",
    ),
    pytest.param(
        '[build-system]\nrequires = ["setuptools>=40.8"]\n',
        ["setuptools>=40.8", "wheel"],
        id="no-backend-means-legacy-setuptools",
    ),
    pytest.param(
        '[build-system]\nrequires = ["setuptools"]\n'
        'build-backend = "setuptools.build_meta:__legacy__"\n',
        ["setuptools", "wheel"],
        id="explicit-legacy-backend",
    ),
    pytest.param(
        '[build-system]\nrequires = ["flit_core >=3.2,<4"]\nbuild-backend = "flit_core.buildapi"\n',
        ["flit_core >=3.2,<4"],
        id="flit",
    ),
    pytest.param(
        '[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n',
        ["hatchling"],
        id="hatchling",
    ),
    pytest.param(
        '[build-system]\nrequires = ["hatchling>=1.18", "hatch-vcs"]\n'
        'build-backend = "hatchling.build"\n',
        ["hatchling>=1.18", "hatch-vcs"],
        id="hatchling-with-plugin",
    ),
    pytest.param(
        '[build-system]\nrequires = ["poetry-core>=1.0.0"]\n'
        'build-backend = "poetry.core.masonry.api"\n',
        ["poetry-core>=1.0.0"],
        id="poetry",
    ),
    pytest.param(
        '[build-system]\nrequires = []\nbuild-backend = "backend"\nbackend-path = ["."]\n',
        [],
        id="in-tree-backend-no-requires",
    ),
    pytest.param(
        '[project]\nname = "pkg"\n\n[build-system]\nrequires = ["maturin>=1,<2"]\n'
        'build-backend = "maturin"\n',
        ["maturin>=1,<2"],
        id="maturin",
    ),
]


@pytest.mark.parametrize(("pyproject", "expected"), CASES)
def test_tar_gz_sdist(pyproject: str | None, expected: list[str]) -> None:
    assert build_requirements("pkg-1.0.tar.gz", tar_gz(sdist(pyproject))) == expected


@pytest.mark.parametrize(("pyproject", "expected"), CASES)
def test_zip_sdist(pyproject: str | None, expected: list[str]) -> None:
    assert build_requirements("pkg-1.0.zip", zip_sdist(sdist(pyproject))) == expected


@pytest.mark.parametrize(("filename", "mode"), [("pkg-1.0.tar.bz2", "w:bz2"), ("pkg-1.0.tar", "w")])
def test_other_tar_compressions(filename: str, mode: str) -> None:
    pyproject = '[build-system]\nrequires = ["flit_core"]\nbuild-backend = "flit_core.buildapi"\n'
    data = tar_gz(sdist(pyproject), mode=mode)
    assert build_requirements(filename, data) == ["flit_core"]


def test_hatchling_without_backend_is_the_setuptools_legacy_backend() -> None:
    # PEP 517: no build-backend means setuptools' legacy backend, whatever requires says.
    data = tar_gz(sdist('[build-system]\nrequires = ["hatchling"]\n'))
    assert build_requirements("pkg-1.0.tar.gz", data) == ["hatchling", "wheel"]


def test_only_the_top_level_pyproject_counts() -> None:
    files = sdist(None)
    files["pkg-1.0/vendor/sub/pyproject.toml"] = b'[build-system]\nrequires = ["hatchling"]\n'
    files["pyproject.toml"] = b'[build-system]\nrequires = ["flit_core"]\n'  # not in the root dir
    assert build_requirements("pkg-1.0.tar.gz", tar_gz(files)) == LEGACY
    assert build_requirements("pkg-1.0.zip", zip_sdist(files)) == LEGACY


def test_pyproject_of_reads_the_top_level_file() -> None:
    text = b'[build-system]\nrequires = ["x"]\n'
    files = {"Pkg-2/pyproject.toml": text, "Pkg-2/setup.py": SETUP_PY}
    assert pyproject_of("Pkg-2.tar.gz", tar_gz(files)) == text
    assert pyproject_of("Pkg-2.zip", zip_sdist(files)) == text
    assert pyproject_of("Pkg-2.tar.gz", tar_gz(sdist(None))) is None
    assert pyproject_of("Pkg-2.zip", zip_sdist(sdist(None))) is None


def test_a_directory_named_pyproject_toml_is_not_the_file() -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        info = tarfile.TarInfo("pkg-1.0/pyproject.toml")
        info.type = tarfile.DIRTYPE
        tar.addfile(info)
    assert build_requirements("pkg-1.0.tar.gz", buffer.getvalue()) == LEGACY


@pytest.mark.parametrize(
    "pyproject",
    [
        b"[build-system\nrequires = []\n",
        b'[build-system]\nrequires = ["a",\n',
        b"requires = = 1\n",
        b"[build-system]\n[build-system]\n",
        b"\xff\xfe not utf-8",
    ],
)
@pytest.mark.parametrize("archive", ["tar.gz", "zip"])
def test_invalid_pyproject(pyproject: bytes, archive: str) -> None:
    files = {"pkg-1.0/pyproject.toml": pyproject, "pkg-1.0/setup.py": SETUP_PY}
    data = tar_gz(files) if archive == "tar.gz" else zip_sdist(files)
    with pytest.raises(InvalidSdist, match=f"pkg-1.0.{archive}"):
        build_requirements(f"pkg-1.0.{archive}", data)


@pytest.mark.parametrize(
    ("filename", "data"),
    [
        ("pkg-1.0.tar.gz", b"not an archive at all"),
        ("pkg-1.0.zip", b"not an archive at all"),
        ("pkg-1.0.tar.gz", tar_gz(sdist(None))[:40]),  # truncated
        ("pkg-1.0.zip", zip_sdist(sdist(None))[:40]),
        ("pkg-1.0.tar.gz", b""),
    ],
)
def test_unreadable_archive(filename: str, data: bytes) -> None:
    with pytest.raises(InvalidSdist, match=filename):
        build_requirements(filename, data)


@pytest.mark.parametrize(
    ("requires", "named"),
    [
        ('["--index-url=https://evil.example/simple"]', "invalid build requirement"),
        ('["--report=/tmp/x", "setuptools"]', "invalid build requirement"),
        ('["setuptools @ https://evil.example/setuptools.whl"]', "URL"),
        ('["not a requirement!"]', "invalid build requirement"),
    ],
)
def test_build_requirements_that_would_leave_the_snapshot_are_refused(
    requires: str, named: str
) -> None:
    pyproject = f'[build-system]\nrequires = {requires}\nbuild-backend = "x"\n'
    with pytest.raises(InvalidSdist, match=named):
        build_requirements("pkg-1.0.tar.gz", tar_gz(sdist(pyproject)))
