"""``--target PYVER:PLATFORM[:IMPL[:ABI]]``: its PEP 508 environment and marker, its PEP 425
tags and pip options, and which targets one lock can hold together."""

from __future__ import annotations

import itertools

import pytest
from packaging.markers import Marker, default_environment
from packaging.tags import Tag

from fetcher.lock_target import InvalidTarget, LockTarget, distinct_targets, parse_target

LINUX = parse_target("3.11:manylinux_2_17_x86_64")
MAC = parse_target("3.11:macosx_11_0_arm64")
WINDOWS = parse_target("3.11:win_amd64")
# Targets one lock may hold together: each pair differs in a variable both markers name.
APART = [
    LINUX,
    MAC,
    WINDOWS,
    parse_target("3.10:manylinux_2_17_x86_64"),
    parse_target("3.12:manylinux_2_28_aarch64"),
    parse_target("3.11:macosx_10_9_x86_64"),
    parse_target("3.11:win32"),
    parse_target("3.10:manylinux_2_17_x86_64:pp:pypy310_pp73"),
]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3.11:win_amd64", LockTarget("3.11", "win_amd64")),
        (" 3.9:macosx_11_0_arm64 ", LockTarget("3.9", "macosx_11_0_arm64")),
        ("3.10:manylinux_2_17_x86_64:pp", LockTarget("3.10", "manylinux_2_17_x86_64", "pp")),
        ("3.11:win_amd64:cp:abi3", LockTarget("3.11", "win_amd64", "cp", "abi3")),
    ],
)
def test_parse_and_text_round_trip(text: str, expected: LockTarget) -> None:
    assert parse_target(text) == expected
    assert parse_target(expected.text) == expected


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("3.11", "is not PYVER:PLATFORM[:IMPL[:ABI]]"),
        ("3.11::cp", "is not PYVER:PLATFORM[:IMPL[:ABI]]"),
        ("3.11:win_amd64:cp:cp311:x", "is not PYVER:PLATFORM[:IMPL[:ABI]]"),
        ("2.7:win_amd64", "'2.7' is not a Python 3 version"),
        ("311:win_amd64", "'311' is not a Python 3 version"),
        ("3.11:windows", "'windows' is not a platform tag"),
        ("3.11:Win_AMD64", "'Win_AMD64' is not a platform tag"),
        ("3.11:manylinux_2_17_X86_64", "'manylinux_2_17_X86_64' is not a platform tag"),
        ("3.11:macosx_arm64", "'macosx_arm64' is not a platform tag"),
        ("3.11:win_amd64:cpython", "'cpython' is not an implementation tag"),
        ("3.11:win_amd64:cp:CP-311", "'CP-311' is not an ABI tag"),
    ],
)
def test_bad_text_is_one_line_naming_it(text: str, says: str) -> None:
    with pytest.raises(InvalidTarget) as caught:
        parse_target(text)
    message = str(caught.value)
    assert says in message and repr(text) in message
    assert "\n" not in message


def test_environments_of_the_three_platforms() -> None:
    assert WINDOWS.environment() == {
        "implementation_name": "cpython",
        "platform_python_implementation": "CPython",
        "python_version": "3.11",
        "sys_platform": "win32",
        "platform_system": "Windows",
        "os_name": "nt",
        "platform_machine": "AMD64",
    }
    assert MAC.environment()["sys_platform"] == "darwin"
    assert MAC.environment()["platform_machine"] == "arm64"
    assert LINUX.environment()["platform_system"] == "Linux"
    assert LINUX.environment()["platform_machine"] == "x86_64"


@pytest.mark.parametrize(("a", "b"), list(itertools.product(APART, repeat=2)))
def test_a_marker_holds_in_its_own_environment_only(a: LockTarget, b: LockTarget) -> None:
    holds = Marker(a.marker()).evaluate(b.marker_environment())
    assert holds == (a == b)


def test_marker_environment_names_every_pep508_variable_and_nothing_of_this_machine() -> None:
    for target in APART:
        environment = target.marker_environment()
        # Every variable pip may meet in a marker has a value: none stops pip.
        assert set(environment) == set(default_environment())
        assert environment["python_full_version"] == f"{target.python_version}.0"
        assert environment["platform_release"] == environment["platform_version"] == ""
        # Its own marker, and a marker naming every variable, hold in it.
        every = " and ".join(f'{k} == "{v}"' for k, v in environment.items())
        assert Marker(every).evaluate(environment)
    assert WINDOWS.marker_environment()["implementation_version"] == "3.11.0"
    pypy = parse_target("3.10:manylinux_2_17_x86_64:pp")
    assert pypy.marker_environment()["implementation_version"] == ""
    assert pypy.marker_environment()["implementation_name"] == "pypy"


def test_universal2_fixes_no_machine() -> None:
    fat = parse_target("3.11:macosx_11_0_universal2")
    assert "platform_machine" not in fat.marker()
    assert fat.marker_environment()["platform_machine"] == ""


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("3.11:manylinux_2_17_x86_64", "3.11:musllinux_1_1_x86_64"),
        ("3.11:manylinux_2_17_x86_64", "3.11:manylinux_2_28_x86_64"),
        ("3.11:macosx_11_0_universal2", "3.11:macosx_11_0_arm64"),
        ("3.11:win_amd64", "3.11:win_amd64:cp:abi3"),
    ],
)
def test_targets_a_marker_cannot_tell_apart_are_refused(a: str, b: str) -> None:
    first, second = parse_target(a), parse_target(b)
    assert first.overlaps(second) and second.overlaps(first)
    with pytest.raises(InvalidTarget) as caught:
        distinct_targets([first, second])
    assert first.text in str(caught.value) and second.text in str(caught.value)
    assert "lock them separately" in str(caught.value)


def test_distinct_targets_order_is_the_targets_own_and_drops_repeats() -> None:
    given = [WINDOWS, parse_target("3.10:win_amd64"), LINUX, parse_target("3.9:win_amd64"), MAC]
    expected = ["3.9:win_amd64", "3.10:win_amd64", MAC.text, LINUX.text, WINDOWS.text]
    for order in itertools.permutations(given):
        assert [t.text for t in distinct_targets([*order, WINDOWS])] == expected
    assert distinct_targets(APART)  # no two overlap


def test_tags_rank_the_platform_first_and_accept_older_manylinux() -> None:
    tags = LINUX.tags()
    assert tags[0] == Tag("cp311", "cp311", "manylinux_2_17_x86_64")
    for tag in ("manylinux2014_x86_64", "manylinux_2_5_x86_64", "manylinux1_x86_64"):
        assert Tag("cp311", "cp311", tag) in tags
    assert Tag("cp311", "cp311", "manylinux_2_28_x86_64") not in tags
    assert Tag("py3", "none", "any") in tags
    assert Tag("cp311", "abi3", "win_amd64") in WINDOWS.tags()
    assert Tag("cp311", "cp311", "macosx_10_9_universal2") in MAC.tags()


def test_pip_options_are_wheels_only_for_the_target() -> None:
    options = WINDOWS.pip_options()
    assert options[:2] == ["--only-binary", ":all:"]
    pairs = list(zip(options[::2], options[1::2], strict=True))
    assert ("--python-version", "3.11") in pairs
    assert ("--implementation", "cp") in pairs
    assert ("--platform", "win_amd64") in pairs
    assert ("--abi", "cp311") in pairs


def test_musllinux_admits_older_musl() -> None:
    # PEP 656: musllinux_1_2 runs wheels for musl 1.1 and 1.0 too, best first.
    platforms = parse_target("3.11:musllinux_1_2_x86_64").platforms()
    assert platforms == ["musllinux_1_2_x86_64", "musllinux_1_1_x86_64", "musllinux_1_0_x86_64"]
