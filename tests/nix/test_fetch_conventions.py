"""fetchPythonRequirements as nixpkgs' fetchers behave: its store path, hash, updateScript.

Store paths are compared without building: a fixed-output derivation's path is made of its
name and hash alone, so equal paths mean a build would reuse the other's output.
"""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path

import pytest

from tests.support.clients import base_python, require_network, require_nix
from tests.support.nixbuild import REPO, nix_string, run_nix
from tests.support.proxyproc import snapproxy_executable

FAKE = "sha256-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="


@pytest.fixture(autouse=True)
def _needs_nix() -> None:
    require_nix("fetchPythonRequirements is evaluated with nix-instantiate")


def nixpkgs_like_python(store_name: str, version: str, implementation: str = "cpython") -> str:
    """A Python as nixpkgs gives one: a store path with passthru facts (never built here)."""
    return f"""
    (let drv = derivation {{
      name = {nix_string(store_name)};
      system = builtins.currentSystem;
      builder = "/bin/sh";
    }}; in drv // {{
      pythonVersion = {nix_string(version)};
      implementation = {nix_string(implementation)};
      interpreter = "${{drv}}/bin/python3";
      stdenv.hostPlatform.system = builtins.currentSystem;
    }})"""


def fetch_call(python: str, call: str = "") -> str:
    return f"""
    import {REPO}/nix/fetch-python-requirements.nix {{
      snapproxy = "/run/snapproxy";
      python = {python};
    }} {{
      requirements = "requests\\n";
      snapshotDate = "2021-05-01";
      {call or f'hash = "{FAKE}";'}
    }}"""


def evaluate(expr: str) -> tuple[int, str, str]:
    # read-write: the requirements text becomes a store file the digest reads.
    done = run_nix("nix-instantiate", "--eval", "--strict", "--json", "--read-write-mode", "-E",
                   expr)
    return done.returncode, done.stdout, done.stderr


def out_path(python: str) -> str:
    code, out, err = evaluate(f"({fetch_call(python)}).outPath")
    assert code == 0, err
    path: str = json.loads(out)
    return path


def test_a_rebuilt_interpreter_of_the_same_version_keeps_the_store_path() -> None:
    # Two interpreter store paths, as two nixpkgs revisions give them, both Python 3.11.
    first = out_path(nixpkgs_like_python("python3-3.11.9", "3.11"))
    bumped = out_path(nixpkgs_like_python("python3-3.11.11", "3.11"))
    assert first == bumped


@pytest.mark.parametrize(
    "other",
    [
        nixpkgs_like_python("python3-3.12.8", "3.12"),
        nixpkgs_like_python("pypy3-7.3.17", "3.11", implementation="pypy"),
    ],
)
def test_another_target_python_gets_another_store_path(other: str) -> None:
    assert out_path(nixpkgs_like_python("python3-3.11.9", "3.11")) != out_path(other)


def test_an_interpreter_given_as_a_path_string_stands_for_itself() -> None:
    # Nix cannot ask a path string its version, so the path is what is known of the target.
    assert out_path('"/usr/bin/python3.11"') != out_path('"/opt/python3.11/bin/python3.11"')


@pytest.mark.parametrize(
    ("hashes", "named"),
    [
        (f'hash = "{FAKE}"; sha256 = "{FAKE}";', "`hash` and `sha256`"),
        (f'hash = "{FAKE}"; outputHash = "{FAKE}";', "`hash` and `outputHash`"),
        (f'sha256 = "{FAKE}"; outputHash = "{FAKE}";', "`sha256` and `outputHash`"),
    ],
)
def test_two_hashes_are_an_evaluation_error(hashes: str, named: str) -> None:
    code, _, err = evaluate(f'({fetch_call(json.dumps("/usr/bin/python3"), hashes)}).drvPath')
    assert code != 0
    assert (
        f"fetchPythonRequirements: give only one of `hash`, `sha256` and `outputHash`, "
        f"not {named}"
    ) in err, err


def test_update_script_refreshes_the_file_where_the_hash_is_written(tmp_path: Path) -> None:
    file = tmp_path / "deps.nix"
    file.write_text(f"""
import {REPO}/nix/fetch-python-requirements.nix {{
  snapproxy = {nix_string(snapproxy_executable())};
  python = {nix_string(base_python("3.11"))};
}} {{
  name = "update-script-{uuid.uuid4().hex[:8]}";
  requirements = "six\\n";
  snapshotDate = "2021-05-01";
  hash = "{FAKE}";
}}
""")
    code, out, err = evaluate(f"(import {file}).updateScript")
    assert code == 0, err
    script = json.loads(out)
    assert script == [snapproxy_executable(), "refresh", str(file)]

    require_network("the refresh fetches from PyPI")
    ran = run_nix(*script)
    assert ran.returncode == 0, ran.stderr
    assert "changed" in ran.stdout, ran.stdout
    written = re.search(r'hash = "([^"]+)"', file.read_text())
    assert written is not None and written.group(1).startswith("sha256-")
    assert written.group(1) != FAKE


# ---- cutoffs: packageDates in the name, durations refused ----------------------------------


def dated_call(snapshot_date: str = "2021-05-01", package_dates: str | None = None) -> str:
    own = "" if package_dates is None else f"packageDates = {package_dates};"
    return f"""
    import {REPO}/nix/fetch-python-requirements.nix {{
      snapproxy = "/run/snapproxy";
      python = "/usr/bin/python3";
    }} {{
      requirements = "requests\\n";
      snapshotDate = {nix_string(snapshot_date)};
      {own}
      hash = "{FAKE}";
    }}"""


def name_of(call: str) -> str:
    code, out, err = evaluate(f"({call}).name")
    assert code == 0, err
    name: str = json.loads(out)
    return name


def test_package_dates_are_part_of_the_fixed_output_name() -> None:
    names = {
        given: name_of(dated_call(package_dates=given))
        for given in (
            '{ certifi = "2024-01-01"; }',
            '{ certifi = "2024-01-02"; }',
            '{ certifi = "2024-01-01"; six = "2020-01-01"; }',
            '{ six = "2024-01-01"; }',
        )
    }
    assert len(set(names.values())) == len(names), names
    assert name_of(dated_call()) not in names.values()


def test_calls_without_package_dates_keep_their_name() -> None:
    # The digest takes packageDates only when given: a call written before it existed keeps
    # its store path (the name below is this call's, evaluated before packageDates existed).
    assert name_of(dated_call(package_dates="{ }")) == name_of(dated_call())
    assert name_of(dated_call()) == "python-requirements-3cb5ddc477d2"


def test_package_dates_become_fetch_arguments() -> None:
    code, out, err = evaluate(
        f"""({dated_call(package_dates='{ six = "2020-01-01"; certifi = "2024-01-01"; }')})
        .snapproxyFetch.fetchArgs"""
    )
    assert code == 0, err
    args = json.loads(out)
    assert args[args.index("--date") + 1] == "2021-05-01"
    pairs = [args[i + 1] for i, a in enumerate(args) if a == "--package-date"]
    assert pairs == ["certifi=2024-01-01", "six=2020-01-01"]


@pytest.mark.parametrize(
    ("snapshot_date", "package_dates", "named"),
    [
        ("P7D", None, ['snapshotDate = "P7D" is a duration', "must not move", "--date P7D"]),
        ("7d", None, ['snapshotDate = "7d" is a duration', "snapproxy fetch --date 7d"]),
        ("PT12H", None, ['snapshotDate = "PT12H" is a duration']),
        (
            "2021-05-01",
            '{ certifi = "P30D"; }',
            ['packageDates.certifi = "P30D" is a duration', "--package-date certifi=P30D"],
        ),
        ("2021-05-01", '{ six = "none"; }', ['packageDates.six = "none"', "must not move"]),
        ("2021-05-01", "{ six = 2024; }", ["packageDates.six must be a string"]),
    ],
)
@pytest.mark.parametrize("attribute", ["name", "drvPath", "snapproxyFetch.fetchArgs"])
def test_a_cutoff_that_moves_is_refused_naming_what_to_write(
    snapshot_date: str, package_dates: str | None, named: list[str], attribute: str
) -> None:
    code, _, err = evaluate(f"({dated_call(snapshot_date, package_dates)}).{attribute}")
    assert code != 0
    assert "fetchPythonRequirements: " in err, err
    for part in named:
        assert part in err, err
    if "duration" in named[0]:
        assert 'an RFC 3339 datetime such as "2021-05-01T00:00:00Z"' in err
