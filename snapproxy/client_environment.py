"""The environment `snapproxy run` gives its command: one index, the snapshot's, for every client.

A snapshot that is quietly mixed with today's PyPI or a directory of local wheels is worse
than no snapshot, and the machine running the command decides that without a word: an
``extra-index-url`` in a pip.conf, ``PIP_FIND_LINKS``, a uv.toml, a pdm config with an extra
source.  So the child gets the index URL in each client's own variable, each client's
configuration files switched off, and every variable removed that adds a place packages
come from, hides part of the snapshot (a cutoff of its own) or switches the index off
again.  Everything else passes through: credentials, TLS settings, caches, targets.

The lists follow the clients' documented variables: pip (``PIP_<LONG_OPTION>`` for every
long option), uv (its ``EnvVars``), pdm (its config items) and poetry (``POETRY_<SETTING>``).
README.md shows them as a table; a unit test keeps the two the same.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = [
    "LOOPBACK",
    "PIP_OPTIONS_REMOVED",
    "REMOVED",
    "client_environment",
    "set_variables",
]

# pip reads PIP_CONFIG_FILE=os.devnull as "load no configuration file at all": not the
# global /etc/xdg/pip/pip.conf, the user's, nor the virtualenv's; pdm reads its global
# config (which may hold extra sources) from PDM_CONFIG_FILE, and an empty file is none.
_NO_FILE = "/dev/null"

# Where the proxy listens: exempt from any HTTP proxy of the environment, which would
# otherwise be asked for 127.0.0.1 and reach its own loopback, not this machine's.
LOOPBACK = "127.0.0.1"

# pip takes PIP_<NAME> for every long option --<name>, with NAME matched whatever its case
# and "_" standing for "-" (so PIP_extra_index_url counts too); the first two are set below.
PIP_OPTIONS_REMOVED: Mapping[str, str] = {
    "index-url": "replaced by the snapshot's index",
    "config-file": "replaced by /dev/null: no pip.conf at all",
    "pypi-url": "another spelling of --index-url (pip 26.3 and newer)",
    "extra-index-url": "adds an index",
    "find-links": "adds a directory or page of distributions",
    "no-index": "switches the snapshot's index off",
    "trusted-host": "only serves another index (over http or unverified TLS)",
    "index": "another index for `pip search`",
    "constraint": "a file named by the environment: may add --find-links or an index",
    "build-constraint": "the same for build dependencies",
    "requirement": "adds requirements from a file, which may add indexes or local paths",
    "requirements-from-script": "adds requirements from a script's inline metadata",
    "editable": "adds a local or VCS project",
    "group": "adds requirements from a pyproject.toml dependency group",
    "uploaded-prior-to": "a cutoff of its own, hiding part of the snapshot",
    "isolated": "makes pip ignore every PIP_ variable, PIP_INDEX_URL too: today's PyPI",
}

# Exact names: uv, pdm and poetry read their variables case-sensitively.
_EXACT_REMOVED: Mapping[str, str] = {
    "UV_DEFAULT_INDEX": "replaced by the snapshot's index",
    "UV_INDEX_URL": "replaced by the snapshot's index (uv before 0.4.23 reads only this)",
    "UV_NO_CONFIG": "replaced by 1: no uv.toml, no [tool.uv] settings",
    "UV_CONFIG_FILE": "a uv.toml that is read even with UV_NO_CONFIG",
    "UV_INDEX": "adds an index",
    "UV_EXTRA_INDEX_URL": "adds an index",
    "UV_FIND_LINKS": "adds a directory or page of distributions",
    "UV_INDEX_STRATEGY": "only matters with several indexes (unsafe-best-match mixes them)",
    "UV_INSECURE_HOST": "only serves another index (over http or unverified TLS)",
    "UV_TORCH_BACKEND": "adds the PyTorch indexes for torch and its kin",
    "UV_CONSTRAINT": "a file named by the environment: constraints may name URLs",
    "UV_BUILD_CONSTRAINT": "the same for build dependencies",
    "UV_OVERRIDE": "a file named by the environment: overrides may name URLs",
    "UV_EXCLUDE": "a file named by the environment that drops packages",
    "UV_EXCLUDE_NEWER": "a cutoff of its own, hiding part of the snapshot",
    "PDM_PYPI_URL": "replaced by the snapshot's index",
    "PDM_CONFIG_FILE": "replaced by /dev/null: no global config, so no stored extra sources",
    "PDM_IGNORE_STORED_INDEX": "when true, pdm leaves PDM_PYPI_URL out",
    "PDM_OVERRIDE": "a file named by the environment: overrides may name URLs",
    "POETRY_SOLVER_MIN_RELEASE_AGE": "an age limit of its own, hiding part of the snapshot",
}


def set_variables(index_url: str) -> dict[str, str]:
    """What the child is given; each of these names is in REMOVED too, so that no other
    spelling of it (PIP_index_url) survives beside it."""
    return {
        "PIP_INDEX_URL": index_url,
        "PIP_CONFIG_FILE": _NO_FILE,
        "UV_DEFAULT_INDEX": index_url,
        "UV_INDEX_URL": index_url,
        "UV_NO_CONFIG": "1",
        "PDM_PYPI_URL": index_url,
        "PDM_CONFIG_FILE": _NO_FILE,
    }


REMOVED: Mapping[str, str] = {
    **{"PIP_" + name.upper().replace("-", "_"): why for name, why in PIP_OPTIONS_REMOVED.items()},
    **_EXACT_REMOVED,
}


def _pip_option(variable: str) -> str | None:
    """The long option a PIP_ variable stands for, as pip itself reads it."""
    if not variable.startswith("PIP_"):
        return None
    return variable[len("PIP_") :].lower().replace("_", "-")


def _removed(variable: str) -> bool:
    return variable in _EXACT_REMOVED or _pip_option(variable) in PIP_OPTIONS_REMOVED


def _no_proxy(caller: Mapping[str, str]) -> str:
    """The caller's exemptions from either spelling, and the loopback address."""
    entries: list[str] = []
    for name in ("NO_PROXY", "no_proxy"):
        for entry in caller.get(name, "").split(","):
            if entry.strip() and entry.strip() not in entries:
                entries.append(entry.strip())
    return ",".join(entries if LOOPBACK in entries else [*entries, LOOPBACK])


def client_environment(caller: Mapping[str, str], index_url: str) -> dict[str, str]:
    """``caller`` with the snapshot's index as the only one for pip, uv, pdm and the tools
    built on them (pip-tools, pipx, hatch, tox, ...)."""
    env = {name: value for name, value in caller.items() if not _removed(name)}
    env.update(set_variables(index_url))
    # Both spellings, the same value: tools differ in which one they read first.
    env["NO_PROXY"] = env["no_proxy"] = _no_proxy(caller)
    return env
