"""Versions read from filenames as text (filenames.version_text) and keyed without a
``Version`` where the text is a plain release (filenames.version_key), held to
``packaging``'s own reading: ``parse_wheel_filename``, ``parse_sdist_filename``,
``Version`` and its equality (PEP 427, PEP 625, PEP 440).
"""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from snapproxy.filenames import version_key, version_of, version_text

SDIST_SUFFIXES = (".tar.gz", ".tar.bz2", ".tar.xz", ".tgz", ".tar", ".zip")


def reference_version_of(filename: str) -> Version | None:
    """The reading before version_text: straight through packaging, file by file."""
    try:
        if filename.endswith(".whl"):
            return parse_wheel_filename(filename)[1]
        for suffix in SDIST_SUFFIXES:
            if filename.endswith(suffix):
                return parse_sdist_filename(filename[: -len(suffix)] + ".tar.gz")[1]
        if filename.endswith(".egg"):
            parts = filename[: -len(".egg")].split("-")
            return Version(parts[1]) if len(parts) >= 2 else None
    except (InvalidWheelFilename, InvalidSdistFilename, InvalidVersion):
        return None
    return None


def parsed(text: str) -> Version | None:
    try:
        return Version(text)
    except InvalidVersion:
        return None


def check_filename(filename: str) -> None:
    want = reference_version_of(filename)
    assert version_of(filename) == want
    text = version_text(filename)
    if want is None:
        assert text is None or parsed(text) is None
    else:
        assert text is not None and Version(text) == want


@pytest.mark.parametrize(
    "filename",
    [
        "foo-1.0-py3-none-any.whl",
        "foo-1.0-1-py3-none-any.whl",
        "foo-1.0-1abc-py3-none-any.whl",
        "foo-1.0-abc-py3-none-any.whl",  # a build tag starts with a digit
        "foo-1.0--py3-none-any.whl",  # an empty build tag
        "foo-1.0-py3--any.whl",  # an empty tag
        "foo-1.0-py3-none-.whl",
        "foo-1.0-py3-none-any-x-y.whl",  # too many parts
        "foo-1.0-none-any.whl",  # too few
        "foo__bar-1.0-py3-none-any.whl",  # PEP 427 escaping never leaves "__"
        "foo.bar-1.0-py3-none-any.whl",
        "-1.0-py3-none-any.whl",  # no name
        "foo--py3-none-any.whl",  # no version
        "foo-1.0_x-py3-none-any.whl",  # not a PEP 440 version
        "foo-v1.0-py3-none-any.whl",
        "foo-1.0.0-py3-none-any.whl",
        "foo-2!1.0+local.1-py2.py3-none-any.whl",
        "foo-1.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
        "föö-1.0-py3-none-any.whl",
        "foo-1.0-py3-none-any.WHL",
        "foo-1.0.whl",
        ".whl",
        "foo-1.0.tar.gz",
        "foo-bar-1.0.tar.gz",
        "foo-1.0-.tar.gz",
        "-1.0.tar.gz",
        "foo-.tar.gz",
        "foo.tar.gz",
        "foo-1.0.zip",
        "foo-1.0.tar.bz2",
        "foo-1.0.tar.xz",
        "foo-1.0.tgz",
        "foo-1.0.tar",
        "foo-1.0.tar.gz.asc",
        "foo-1.0-py3-none-any.whl.tar.gz",
        "pytz-2004d.tar.gz",
        "foo-1.0-py2.7.egg",
        "foo-1.0.egg",
        "foo.egg",
        "-.egg",
        "foo-1.0.win32.exe",
        "",
        "README",
    ],
)
def test_version_text_reads_as_packaging_does(filename: str) -> None:
    check_filename(filename)


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("1.0", "1.0", True),
        ("1.0", "1.0.0", True),
        ("1", "1.0.0.0", True),
        ("0", "0.0", True),
        ("1.10", "1.1", False),
        ("1.0.1", "1.1", False),
        ("1.01", "1.1", True),
        ("01.0", "1", True),
        ("v1.0", "1", True),
        (" 1.0 ", "1.0.0", True),
        ("0!1.0", "1", True),
        ("1!1.0", "1.0", False),
        ("1.0a1", "1.0.0a1", True),
        ("1.0-rc.1", "1.0rc1", True),
        ("1.0c1", "1.0rc1", True),
        ("1.0a", "1.0a0", True),
        ("1.0.post0", "1.0", False),
        ("1.0-1", "1.0.post1", True),
        ("1.0.dev0", "1.0", False),
        ("1.0+local", "1.0", False),
        ("1.0+ABC.01", "1.0.0+abc.1", True),
        ("1.0", "1.0+0", False),
    ],
)
def test_version_key_equality_is_pep_440_equality(a: str, b: str, same: bool) -> None:
    assert Version(a) == Version(b) if same else Version(a) != Version(b)  # the table is right
    assert (version_key(a) == version_key(b)) is same


@pytest.mark.parametrize("text", ["2004d", "", "1.0-", "1..0", "a1", "1.0+", "1.0_x", "None"])
def test_version_key_of_no_version_is_none(text: str) -> None:
    assert version_key(text) is None


def test_a_plain_release_is_its_own_key() -> None:
    text = "1.29.146"
    assert version_key(text) is text


# --- properties -------------------------------------------------------------------------

numbers = st.sampled_from(["0", "00", "1", "01", "2", "9", "10", "29", "100", "146"])
version_texts = st.one_of(
    st.builds(
        lambda pad, prefix, epoch, release, pre, post, dev, local: (
            f"{pad}{prefix}{epoch}{'.'.join(release)}{pre}{post}{dev}{local}{pad}"
        ),
        st.sampled_from(["", "", "", " "]),
        st.sampled_from(["", "", "v", "V"]),
        st.sampled_from(["", "", "", "0!", "1!", "01!"]),
        st.lists(numbers, min_size=1, max_size=4),
        st.sampled_from(["", "", "a1", "b", "rc0", "RC1", ".alpha2", "-c", "pre3", "c1"]),
        st.sampled_from(["", "", ".post1", "-1", ".post", ".r2", "-rev0", "_post3", ".post0"]),
        st.sampled_from(["", "", ".dev", ".dev0", "dev1", "-dev2"]),
        st.sampled_from(["", "", "+abc", "+ABC", "+1.2", "+01", "+abc-1", "+ubuntu_2", "+0"]),
    ),
    st.lists(numbers, min_size=1, max_size=4).map(".".join),
    st.text(alphabet="0123456789.!+-_abcrvpostdeV ", max_size=12),
)
names = st.sampled_from(["foo", "foo_bar", "Foo.Bar", "foo-bar", "foo__bar", "", "föö"])
wheel_rests = st.sampled_from(
    [
        "py3-none-any",
        "1-py3-none-any",
        "1abc-py3-none-any",
        "x-py3-none-any",
        "-py3-none-any",
        "py2.py3-none-any",
        "cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64",
        "py3--any",
        "py3-none",
        "py3-none-any-x-y",
    ]
)


@st.composite
def filenames(draw: st.DrawFn) -> str:
    name, text = draw(names), draw(version_texts)
    kind = draw(st.sampled_from(["whl", "sdist", "egg", "other"]))
    if kind == "whl":
        return f"{name}-{text}-{draw(wheel_rests)}.whl"
    if kind == "sdist":
        return f"{name}-{text}{draw(st.sampled_from(SDIST_SUFFIXES))}"
    if kind == "egg":
        return f"{name}-{text}{draw(st.sampled_from(['', '-py2.7', '-py3.4-linux']))}.egg"
    return draw(st.text(max_size=30))


@settings(max_examples=1500)
@given(filenames())
@example("foo-1.0-1-py3-none-any.whl")
def test_version_text_agrees_with_packaging(filename: str) -> None:
    check_filename(filename)


@settings(max_examples=1500)
@given(version_texts, version_texts)
@example("1.0", "1.0.0")
@example("v1.0", "1")
def test_version_keys_are_equal_iff_the_versions_are(a: str, b: str) -> None:
    va, vb = parsed(a), parsed(b)
    ka, kb = version_key(a), version_key(b)
    assert (ka is None) == (va is None)
    assert (kb is None) == (vb is None)
    if va is not None and vb is not None:
        assert (ka == kb) == (va == vb)
        assert hash(ka) == hash(kb) or ka != kb
