"""The environment `snapproxy run` gives its command: the snapshot as the only index."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from snapproxy.client_environment import REMOVED, client_environment, set_variables

INDEX = "http://127.0.0.1:41234/simple/"
README = Path(__file__).parents[2] / "README.md"
SET = {
    "PIP_INDEX_URL": INDEX,
    "PIP_CONFIG_FILE": "/dev/null",
    "UV_DEFAULT_INDEX": INDEX,
    "UV_INDEX_URL": INDEX,
    "UV_NO_CONFIG": "1",
    "PDM_PYPI_URL": INDEX,
    "PDM_CONFIG_FILE": "/dev/null",
}


def test_the_snapshot_is_every_clients_index_and_their_config_files_are_off() -> None:
    env = client_environment({}, INDEX)
    assert env == {**SET, "NO_PROXY": "127.0.0.1", "no_proxy": "127.0.0.1"}


@pytest.mark.parametrize("name", sorted(REMOVED))
def test_each_listed_variable_is_removed_or_replaced(name: str) -> None:
    env = client_environment({name: "https://elsewhere.example/simple/", "HOME": "/h"}, INDEX)
    assert env.get(name) == SET.get(name)  # gone, unless it is one run sets itself
    assert env["HOME"] == "/h"


@pytest.mark.parametrize(
    "name",
    [
        # pip reads the part after "PIP_" in any case, with "-" or "_".
        "PIP_extra_index_url",
        "PIP_Find_Links",
        "PIP_EXTRA-INDEX-URL",
        "PIP_no-index",
        # Another spelling of the index run sets would compete with it.
        "PIP_index_url",
        "PIP_Index-Url",
        "PIP_isolated",
    ],
)
def test_pip_spellings_of_a_removed_option_are_removed_too(name: str) -> None:
    env = client_environment({name: "x"}, INDEX)
    assert name not in env
    assert env["PIP_INDEX_URL"] == INDEX


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("PATH", "not a client setting"),
        ("HOME", "not a client setting"),
        ("HTTPS_PROXY", "how to reach upstream hosts; loopback is exempted below"),
        ("PIP_CERT", "TLS trust, not a source"),
        ("PIP_DEFAULT_TIMEOUT", "timing"),
        ("PIP_NO_CACHE_DIR", "cache"),
        ("PIP_PRE", "which versions qualify, from the snapshot's index alone"),
        ("PIP_ONLY_BINARY", "which files qualify, from the snapshot's index alone"),
        ("PIP_DISABLE_PIP_VERSION_CHECK", "asks the snapshot's index, if anything"),
        ("pip_extra_index_url", "pip reads only the upper-case PIP_ prefix"),
        ("UV_CACHE_DIR", "cache"),
        ("UV_PYTHON", "which interpreter"),
        ("UV_INDEX_MY_INDEX_PASSWORD", "a credential, not a source"),
        ("UV_no_config", "uv reads its variables by their exact name"),
        ("PDM_CACHE_DIR", "cache"),
        ("PDM_BUILD_ISOLATION", "how sdists are built, from the snapshot's packages"),
        ("POETRY_REPOSITORIES_MINE_URL", "poetry publishes there, never resolves from it"),
        ("POETRY_HTTP_BASIC_MINE_PASSWORD", "a credential, not a source"),
        ("POETRY_VIRTUALENVS_CREATE", "where poetry installs"),
    ],
)
def test_everything_else_passes_through(name: str, why: str) -> None:
    assert client_environment({name: "value"}, INDEX)[name] == "value", why


@pytest.mark.parametrize(
    ("caller", "expected"),
    [
        ({}, "127.0.0.1"),
        ({"NO_PROXY": "corp.example,.internal"}, "corp.example,.internal,127.0.0.1"),
        ({"no_proxy": "corp.example"}, "corp.example,127.0.0.1"),
        # Tools read one spelling or the other first: both get every entry of either.
        ({"NO_PROXY": "a.example", "no_proxy": "b.example"}, "a.example,b.example,127.0.0.1"),
        ({"NO_PROXY": " a.example , ,127.0.0.1 "}, "a.example,127.0.0.1"),
        ({"NO_PROXY": "a.example", "no_proxy": "a.example"}, "a.example,127.0.0.1"),
    ],
)
def test_the_loopback_proxy_is_exempt_from_http_proxies(
    caller: dict[str, str], expected: str
) -> None:
    env = client_environment({**caller, "HTTP_PROXY": "http://proxy.example:3128"}, INDEX)
    assert env["NO_PROXY"] == env["no_proxy"] == expected
    assert env["HTTP_PROXY"] == "http://proxy.example:3128"


def test_the_callers_mapping_is_left_as_it_was() -> None:
    caller = {"PIP_FIND_LINKS": "/wheels", "PIP_INDEX_URL": "https://pypi.org/simple/"}
    before = dict(caller)
    first = client_environment(caller, INDEX)
    assert caller == before
    assert client_environment(caller, INDEX) == first
    assert first is not caller


def test_every_variable_run_sets_is_also_one_it_removes() -> None:
    # Otherwise another spelling of it (PIP_index_url) could survive beside it.
    assert set(set_variables(INDEX)) <= set(REMOVED)


def _readme_table_names() -> set[str]:
    """The names in the first column of README's table of what run changes."""
    text = README.read_text()
    section = text[text.index("## Pitfalls") :]
    names: set[str] = set()
    for line in section.splitlines():
        if line.startswith("| `"):
            names.update(re.findall(r"`([A-Za-z_]+)`", line.split("|")[1]))
    return names


def test_the_readme_table_lists_exactly_what_run_sets_and_removes() -> None:
    assert _readme_table_names() == set(REMOVED) | {"NO_PROXY", "no_proxy"}
