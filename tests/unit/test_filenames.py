"""Reading a distribution file's version from its name (keeps PEP 700 `versions` alive)."""

from __future__ import annotations

import pytest
from packaging.version import Version

from snapproxy.filenames import version_of


@pytest.mark.parametrize(
    ("filename", "version"),
    [
        # Wheels (PEP 427 / binary distribution format).
        ("foo-1.0-py3-none-any.whl", "1.0"),
        ("foo-1.0-1-py3-none-any.whl", "1.0"),  # build tag
        ("foo_bar-2.3.4-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl", "2.3.4"),
        ("numpy-1.26.4-cp312-cp312-win_amd64.whl", "1.26.4"),
        ("foo-1.0rc1-py2.py3-none-any.whl", "1.0rc1"),
        ("foo-1.0.post2-py3-none-any.whl", "1.0.post2"),
        ("foo-2!1.0-py3-none-any.whl", "2!1.0"),
        ("foo-1.0+local-py3-none-any.whl", "1.0+local"),
        # Source distributions (PEP 625 and the older archive forms).
        ("foo-1.0.tar.gz", "1.0"),
        ("foo-1.0.zip", "1.0"),
        ("foo-1.0.tar.bz2", "1.0"),
        ("foo-1.0.tgz", "1.0"),
        ("foo-1.0.tar.xz", "1.0"),
        ("foo-1.0.tar", "1.0"),
        ("foo_bar-1.0.tar.gz", "1.0"),
        ("foo-bar-1.0.tar.gz", "1.0"),  # pre-PEP 625 name with a dash
        ("Foo.Bar-2.0rc1.tar.gz", "2.0rc1"),
        ("foo-1.0.dev3.zip", "1.0.dev3"),
        # Eggs: name-version[-pyX.Y[-platform]].egg
        ("foo-1.0-py2.7.egg", "1.0"),
        ("foo-1.0-py3.4-linux-x86_64.egg", "1.0"),
        ("foo_bar-0.5b1-py2.6.egg", "0.5b1"),
        ("foo-1.0.egg", "1.0"),
    ],
)
def test_version_is_read(filename: str, version: str) -> None:
    assert version_of(filename) == Version(version)


@pytest.mark.parametrize(
    "filename",
    [
        # Installers and packages whose names cannot be read reliably keep nothing alive.
        "foo-1.0.win32.exe",
        "foo-1.0.win-amd64-py3.8.exe",
        "foo-1.0.win32-py2.7.msi",
        "foo-1.0-1.noarch.rpm",
        "foo-1.0-macosx10.6.dmg",
        "foo-1.0.deb",
        # Malformed distribution names.
        "foo.whl",
        "foo-1.0.whl",
        "foo-1.0-py3-none.whl",
        "foo-notaversion-py3-none-any.whl",
        "foo.tar.gz",
        "foo-notaversion.tar.gz",
        "pytz-2004d.tar.gz",  # a legacy (non PEP 440) version
        "foo.egg",
        "foo-notaversion-py2.7.egg",
        "",
        "README",
        "foo-1.0.tar.gz.asc",
    ],
)
def test_unreadable_filenames_give_no_version(filename: str) -> None:
    assert version_of(filename) is None


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("foo-1.0.tar.gz", "foo-1.0-py3-none-any.whl"),
        ("foo-1.0.zip", "foo-1.0.tar.bz2"),
        ("foo-1.0-py2.7.egg", "foo-1.0.tar.gz"),
        ("foo-1.0.0.tar.gz", "foo-1.0-py3-none-any.whl"),  # PEP 440: 1.0.0 == 1.0
    ],
)
def test_every_kind_of_file_reads_as_the_same_version(a: str, b: str) -> None:
    assert version_of(a) == version_of(b)
    assert version_of(a) is not None
