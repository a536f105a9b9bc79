"""nix/pep508.nix against packaging: PEP 508 markers evaluated in pure Nix.

Thousands of markers (every variable with every operator, both operand orders, both
quotes, versions with wildcards, pre/post/dev/local parts, and random `and`/`or` trees)
are evaluated by packaging.markers.Marker.evaluate and by Nix in one `nix-instantiate
--eval` per environment; the answers must be the same, and where packaging raises, Nix
must fail too.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from packaging.markers import Marker
from packaging.specifiers import SpecifierSet

from tests.support.clients import require_nix
from tests.support.nixbuild import REPO, nix_error, nix_eval, nix_string

PEP508 = REPO / "nix" / "pep508.nix"


@pytest.fixture(autouse=True)
def _needs_nix() -> None:
    require_nix("the markers are evaluated by nix-instantiate")




def json_file(tmp: Path, data: object) -> str:
    path = tmp / f"data-{random.getrandbits(32):08x}.json"
    path.write_text(json.dumps(data))
    return f"(builtins.fromJSON (builtins.readFile {nix_string(str(path))}))"


# ---- what to compare ---------------------------------------------------------------------

TARGETS = [
    # system, pythonVersion, extras, dependency groups
    ("x86_64-linux", "3.11.7", ["foo-bar"], []),
    ("aarch64-darwin", "3.12.1", [], ["snapproxy-build"]),
    ("aarch64-linux", "3.11.0", ["Other_Extra"], ["Dev.Tools"]),
    ("x86_64-darwin", "3.9.18", [], []),
    ("x86_64-linux", "3.13.0rc1", [], []),
]

EXPECTED_PLATFORM = {
    "x86_64-linux": ("linux", "Linux", "x86_64"),
    "aarch64-linux": ("linux", "Linux", "aarch64"),
    "x86_64-darwin": ("darwin", "Darwin", "x86_64"),
    "aarch64-darwin": ("darwin", "Darwin", "arm64"),
}

VERSIONS = [
    "3", "3.8", "3.9", "3.10", "3.11", "3.12", "3.13", "2.7", "4", "3.11.0", "3.11.*", "3.*",
    "3.1.*", "3.12.*", "3.11rc1", "3.11.post1", "3.11+local", "3.11.dev0", "abc", " 3.11 ",
    "1!3.11", "v3.11", "3.11a", "3.11.0.0", "3.9.*", "3.10.0a1", "3.11-1", "3.11.0-1",
]
FULL_VERSIONS = [
    "3.11.7", "3.11.6", "3.11.8", "3.11", "3.11.*", "3.11.7.*", "3.11.7rc1", "3.11.7.post1",
    "3.11.7+local", "3.11.7.0", "3.12.0a1", "3.12.1", "3.12.0", "3.11.7.dev1", "3.12",
    "3.11.70", "3.9.18", "3.9.17", "3.9.*", "3.13.0rc1", "3.13.0c1", "3.13.0", "3.13.0b4",
    "3.11.0", "3.11.0.*", "3", "x.y",
]
LITERALS: dict[str, list[str]] = {
    "python_version": VERSIONS,
    "python_full_version": FULL_VERSIONS,
    "implementation_version": FULL_VERSIONS,
    "sys_platform": ["linux", "win32", "darwin", "lin", "linux2", "", "Linux", "inux"],
    "sys.platform": ["linux", "win32"],
    "platform_machine": ["x86_64", "aarch64", "arm64", "AMD64", "x86", "86_"],
    "platform.machine": ["x86_64", "arm64"],
    "platform_system": ["Linux", "Darwin", "Windows", "linux"],
    "os_name": ["posix", "nt", "pos"],
    "os.name": ["posix", "nt"],
    "implementation_name": ["cpython", "pypy", "python"],
    "platform_python_implementation": ["CPython", "PyPy", "Python"],
    "platform.python_implementation": ["CPython", "PyPy"],
    "python_implementation": ["CPython", "Jython"],
    "extras": ["foo-bar", "Foo_Bar", "foo.bar", "other-extra", "none"],
    "dependency_groups": ["snapproxy-build", "snapproxy_build", "dev-tools", "dev"],
}
OPERATORS = ["==", "!=", "<", "<=", ">", ">=", "~=", "===", "in", "not in"]


def atoms() -> Iterator[str]:
    """Every variable with every operator and literal, in both orders and both quotes."""
    count = 0
    for variable, literals in LITERALS.items():
        for literal in literals:
            for op in OPERATORS:
                quote = "'" if count % 2 else '"'
                count += 1
                text = f"{quote}{literal}{quote}"
                yield f"{variable} {op} {text}"
                yield f"{text} {op} {variable}"


def packaging_environment(system: str, python: str, extras: list[str],
                          groups: list[str]) -> dict[str, Any]:
    sys_platform, platform_system, machine = EXPECTED_PLATFORM[system]
    return {
        "implementation_name": "cpython",
        "implementation_version": python.replace("rc", "c"),
        "os_name": "posix",
        "platform_machine": machine,
        "platform_system": platform_system,
        "python_full_version": python,
        "platform_python_implementation": "CPython",
        "python_version": ".".join(python.split(".")[:2]),
        "sys_platform": sys_platform,
        "extras": frozenset(extras),
        "dependency_groups": frozenset(groups),
    }


def packaging_answer(marker: str, environment: Mapping[str, Any]) -> bool | None:
    """packaging's answer; None where it raises (a syntax error, an undefined comparison)."""
    try:
        return Marker(marker).evaluate(dict(environment), context="lock_file")
    except Exception:
        return None


def nix_answers(tmp: Path, system: str, python: str, extras: list[str], groups: list[str],
                markers: list[str]) -> list[bool | None]:
    env = (
        f"m.environmentFor {{ system = {nix_string(system)}; pythonVersion = "
        f"{nix_string(python)}; extras = {json_file(tmp, extras)}; "
        f"dependencyGroups = {json_file(tmp, groups)}; }}"
    )
    results = nix_eval(
        f"let m = import {PEP508}; env = {env}; in map (marker: let r = builtins.tryEval "
        f"(m.evaluate env marker); in if r.success then r.value else null) "
        f"{json_file(tmp, markers)}"
    )
    assert isinstance(results, list)
    return results


def random_tree(rng: random.Random, leaves: list[str], depth: int) -> str:
    if depth == 0 or rng.random() < 0.3:
        return rng.choice(leaves)
    parts = [random_tree(rng, leaves, depth - 1) for _ in range(rng.randint(2, 3))]
    joined = ""
    for index, part in enumerate(parts):
        if index:
            joined += rng.choice([" and ", " or ", "  and\t", " or  "])
        joined += f"({part})" if rng.random() < 0.5 else part
    return joined


# ---- tests -------------------------------------------------------------------------------


@pytest.mark.parametrize(("system", "python", "extras", "groups"), TARGETS)
def test_every_atom_evaluates_as_packaging_does(
    tmp_path: Path, system: str, python: str, extras: list[str], groups: list[str]
) -> None:
    markers = list(atoms())
    environment = packaging_environment(system, python, extras, groups)
    expected = [packaging_answer(m, environment) for m in markers]
    got = nix_answers(tmp_path, system, python, extras, groups, markers)
    wrong = [(m, e, g) for m, e, g in zip(markers, expected, got, strict=True) if e != g]
    assert not wrong, f"{len(wrong)} of {len(markers)} differ, e.g. {wrong[:10]}"
    # Both answers and both errors occur: the cases test something.
    assert {True, False, None} <= set(expected)


@pytest.mark.parametrize(("system", "python", "extras", "groups"), TARGETS[:3])
def test_random_and_or_trees_evaluate_as_packaging_does(
    tmp_path: Path, system: str, python: str, extras: list[str], groups: list[str]
) -> None:
    environment = packaging_environment(system, python, extras, groups)
    # Only atoms packaging evaluates: `and`/`or` in Nix stop at the operand that decides,
    # packaging evaluates (and raises in) every one.
    leaves = [m for m in atoms() if packaging_answer(m, environment) is not None]
    rng = random.Random(f"pep508-{system}-{python}")
    markers = [random_tree(rng, leaves, 3) for _ in range(400)]
    # And the forms packaging writes (str(Marker)), which uv and pip locks carry.
    markers += [str(Marker(m)) for m in markers[:200]]
    expected = [packaging_answer(m, environment) for m in markers]
    got = nix_answers(tmp_path, system, python, extras, groups, markers)
    wrong = [(m, e, g) for m, e, g in zip(markers, expected, got, strict=True) if e != g]
    assert not wrong, f"{len(wrong)} of {len(markers)} differ, e.g. {wrong[:5]}"
    assert {True, False} <= set(expected)


def test_markers_from_real_locks(tmp_path: Path) -> None:
    markers = [
        "sys_platform == 'win32'",
        "platform_system == 'Windows'",
        "python_full_version < '3.11'",
        "python_full_version >= '3.9' and python_full_version < '3.11'",
        "implementation_name == 'cpython' and python_version == '3.11' "
        "and sys_platform == 'linux' and platform_machine == 'x86_64'",
        "(platform_machine == 'aarch64' and sys_platform == 'linux') or "
        "(platform_machine == 'arm64' and sys_platform == 'darwin')",
        "'snapproxy-build' in dependency_groups",
        "'snapproxy-build' not in dependency_groups",
        "'dev' in dependency_groups or 'test' in extras",
        "platform_python_implementation != 'PyPy' and python_version >= '3.8'",
        "os_name == 'nt' or os_name == \"posix\"",
        '"3.8" <= python_version and python_version < "3.12"',
        "python_version ~= '3.10'",
        "python_full_version === '3.11.7'",
    ]
    for target in TARGETS:
        environment = packaging_environment(*target)
        expected = [packaging_answer(m, environment) for m in markers]
        assert None not in expected
        assert nix_answers(tmp_path, *target, markers) == expected, target


def test_a_minor_version_answers_what_every_patch_level_agrees_on(tmp_path: Path) -> None:
    # pythonVersion = "3.11": python_full_version is some 3.11.N. A comparison is answered
    # when packaging gives one answer for every N, and fails otherwise.
    literals = ["3.11", "3.11.0", "3.11.4", "3.11.*", "3.11.4.*", "3.12", "3.10.9", "3.11.70",
                "3.11.4rc1", "3.11.0.post1", "3", "3.11.4+local", "4.0"]
    markers = [
        f"{variable} {op} '{literal}'"
        for variable in ("python_full_version", "implementation_version")
        for op in ("==", "!=", "<", "<=", ">", ">=", "~=", "===")
        for literal in literals
    ] + [f"'{literal}' < python_full_version" for literal in literals]
    got = nix_answers(tmp_path, "x86_64-linux", "3.11", [], [], markers)
    for marker, answer in zip(markers, got, strict=True):
        per_patch = {
            packaging_answer(marker, packaging_environment("x86_64-linux", f"3.11.{n}", [], []))
            for n in [*range(100), 1_000_000]
        }
        if len(per_patch) == 1:
            assert answer == per_patch.pop(), marker
        else:
            assert answer is None, marker  # Nix refuses to guess


def test_the_environment_of_each_system(tmp_path: Path) -> None:
    for system, (sys_platform, platform_system, machine) in EXPECTED_PLATFORM.items():
        env = nix_eval(
            f"(import {PEP508}).environmentFor {{ system = {nix_string(system)}; "
            f'pythonVersion = "3.12.4"; }}'
        )
        assert env == {
            "implementation_name": "cpython",
            "implementation_version": "3.12.4",
            "os_name": "posix",
            "platform_machine": machine,
            "platform_python_implementation": "CPython",
            "platform_system": platform_system,
            "python_full_version": "3.12.4",
            "python_version": "3.12",
            "sys_platform": sys_platform,
            "extras": [],
            "dependency_groups": [],
        }
    minor = nix_eval(f'(import {PEP508}).environmentFor {{ system = "x86_64-linux"; '
                     f'pythonVersion = "3.11"; }}')
    assert minor["python_full_version"] == {"anyPatchOf": "3.11"}
    assert minor["python_version"] == "3.11"


def test_requires_python_is_a_specifier_set(tmp_path: Path) -> None:
    sets = [">=3.8", ">=3.11, <4", "==3.11.*", "~=3.10", "!=3.11.2", ">=3.11.4", "<3.11",
            ">3.11", ">=3.9,!=3.10.*", "==3.12.*, >=3.12.1", "~=3.11.0"]
    versions = ["3.11.0", "3.11.2", "3.11.7", "3.12.1", "3.10.4", "3.9.0"]
    cases = [(v, s) for v in versions for s in sets]
    got = nix_eval(
        f"let m = import {PEP508}; in map (c: m.pythonSatisfies (builtins.elemAt c 0) "
        f"(builtins.elemAt c 1)) {json_file(tmp_path, cases)}"
    )
    assert got == [SpecifierSet(s).contains(v, prereleases=True) for v, s in cases]
    # "3.11" alone: an answer where every 3.11.N agrees, an error where not.
    assert nix_eval(f'(import {PEP508}).pythonSatisfies "3.11" ">=3.9, <4"') is True
    assert nix_eval(f'(import {PEP508}).pythonSatisfies "3.11" ">=3.12"') is False
    assert "patch level of Python 3.11" in nix_error(
        f'(import {PEP508}).pythonSatisfies "3.11" ">=3.11.4"'
    )


@pytest.mark.parametrize(
    ("marker", "message"),
    [
        ('foo == "x"', 'unknown variable "foo"'),
        ("python_version >= 3.8", 'cannot read "3.8"'),
        ("python_version >= '3.8' and", "expected a quoted string or a marker variable"),
        ("(python_version >= '3.8'", 'expected ")", found "the end"'),
        ("python_version '3.8'", "expected a comparison operator"),
        ("os_name == 'posix' os_name == 'nt'", 'expected "and", "or" or the end'),
        ("platform_release >= '5.0'", "platform_release is not defined for this target"),
        ("extra == 'test'", "extra is not defined for this target"),
        ("dependency_groups == 'dev'", "dependency_groups is a set"),
        ("sys_platform ~= 'linux'", "is not defined between"),
        ("python_full_version >= '3.11.4'",
         '`python_full_version >= "3.11.4"` depends on the patch level of Python 3.11'),
    ],
)
def test_errors_name_what_is_wrong(marker: str, message: str) -> None:
    error = nix_error(
        f"(import {PEP508}).evaluate ((import {PEP508}).environmentFor "
        f'{{ system = "x86_64-linux"; pythonVersion = "3.11"; }}) {nix_string(marker)}'
    )
    assert message in error, error


def test_pinned_python_version_of_a_single_target_environment() -> None:
    marker = (
        'implementation_name == "cpython" and python_version == "3.11" and '
        'sys_platform == "linux" and platform_machine == "x86_64"'
    )
    assert nix_eval(f"(import {PEP508}).pinnedValue \"python_version\" {nix_string(marker)}") \
        == "3.11"
    assert nix_eval(
        f'(import {PEP508}).pinnedValue "python_version" "python_version >= \\"3.11\\""'
    ) is None
    assert nix_eval(f"(import {PEP508}).format ((import {PEP508}).parse "
                    f"{nix_string(marker)})") == str(Marker(marker))
