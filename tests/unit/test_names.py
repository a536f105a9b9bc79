"""Project names: PEP 508 validity and the PEP 503 normal form the proxy's URLs use."""

from __future__ import annotations

import pytest

from snapproxy.names import InvalidProjectName, normalize, validate


@pytest.mark.parametrize(
    ("name", "normal"),
    [
        # PEP 503: runs of -, _ and . collapse to one "-", lower case.
        ("requests", "requests"),
        ("Requests", "requests"),
        ("Django", "django"),
        ("zope.interface", "zope-interface"),
        ("Foo.Bar_baz", "foo-bar-baz"),
        ("foo__bar", "foo-bar"),
        ("foo-_-.bar", "foo-bar"),
        ("FOO---BAR", "foo-bar"),
        ("a", "a"),
        ("A", "a"),
        ("0", "0"),
        ("py3", "py3"),
        ("typing_extensions", "typing-extensions"),
        ("backports.zoneinfo", "backports-zoneinfo"),
        ("ruamel.yaml.clib", "ruamel-yaml-clib"),
    ],
)
def test_normalize(name: str, normal: str) -> None:
    assert normalize(name) == normal
    assert validate(name) == name
    # The normal form is itself valid and a fixed point.
    assert normalize(normal) == normal


@pytest.mark.parametrize(
    "name",
    [
        "",
        "-",
        "_",
        ".",
        "-foo",
        "foo-",
        "_foo",
        "foo_",
        ".foo",
        "foo.",
        "foo bar",
        " foo",
        "foo ",
        "foo\n",  # `$` in a regex also matches before a final newline
        "foo\r",
        "foo\t",
        "\nfoo",
        "fo\no",
        "foo\x00",
        "foo/bar",
        "foo\\bar",
        "..",
        "../etc",
        "a..b",  # valid in PEP 508, refused so no path with ".." reaches upstream
        "foo%2fbar",
        "foo?x=1",
        "foo#x",
        "foo@1.0",
        "foo==1.0",
        "foo[extra]",
        "ünïcode",
        "foo\u200b",
    ],
)
def test_invalid_names_are_refused(name: str) -> None:
    with pytest.raises(InvalidProjectName) as info:
        validate(name)
    assert repr(name) in str(info.value)
    with pytest.raises(InvalidProjectName):
        normalize(name)


def test_invalid_project_name_is_a_value_error() -> None:
    assert issubclass(InvalidProjectName, ValueError)
