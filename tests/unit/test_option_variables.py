"""Every option of every command also comes from SNAPPROXY_<OPTION>; the command line wins."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import click
import pytest

from snapproxy.cli import cli
from snapproxy.option_variables import variable_of
from tests.unit.test_cli import SNAPPROXY, assert_one_error_line, run


def _options() -> list[tuple[str, click.Option]]:
    return [
        (name, param)
        for name, command in cli.commands.items()
        for param in command.params
        if isinstance(param, click.Option) and param.name != "help"
    ]


def test_every_long_option_of_every_command_has_its_variable() -> None:
    options = _options()
    assert len(options) > 40
    for command, option in options:
        long = [o for o in option.opts if o.startswith("--")]
        assert long, (command, option.opts)
        expected = "SNAPPROXY_" + long[0][2:].upper().replace("-", "_")
        assert option.envvar == expected, (command, option.opts)
        assert option.show_envvar


def test_the_same_option_name_is_the_same_variable_everywhere() -> None:
    dates = {option.envvar for _, option in _options() if "--date" in option.opts}
    assert dates == {"SNAPPROXY_DATE"}
    assert variable_of(click.Option(["-q"])) is None


def _serve_banner(env: dict[str, str], *args: str) -> str:
    proc = subprocess.Popen(
        [str(SNAPPROXY), "serve", "--port", "0", "--no-cache", *args],
        env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        return proc.stdout.readline()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=60)


def _env(tmp_path: Path, **variables: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SNAPPROXY")}
    return {**env, "HOME": str(tmp_path), **variables}


def test_serve_takes_its_cutoff_from_the_environment(tmp_path: Path) -> None:
    banner = _serve_banner(_env(tmp_path, SNAPPROXY_DATE="2021-05-01"))
    assert "as of 2021-05-01T00:00:00Z on http://127.0.0.1:" in banner


def test_the_command_line_wins_over_the_environment(tmp_path: Path) -> None:
    banner = _serve_banner(_env(tmp_path, SNAPPROXY_DATE="2021-05-01"), "--date", "2020-01-01")
    assert "as of 2020-01-01T00:00:00Z" in banner


def test_repeatable_package_dates_come_from_one_variable(tmp_path: Path) -> None:
    variables = {"SNAPPROXY_DATE": "P30D", "SNAPPROXY_PACKAGE_DATE": "Six=none certifi=2024-01-01"}
    banner = _serve_banner(_env(tmp_path, **variables))
    # The duration and the instant it names at start; the projects' own, by normal name.
    assert " as of P30D before now, rolling (" in banner
    assert "Z at start) (own cutoffs: certifi: 2024-01-01T00:00:00Z; six: none) on http" in banner


@pytest.mark.parametrize(
    ("variables", "named"),
    [
        ({"SNAPPROXY_DATE": "yesterday"}, ["'yesterday'", "SNAPPROXY_DATE"]),
        ({"SNAPPROXY_DATE": "2021-05-01", "SNAPPROXY_PORT": "http"}, ["http", "SNAPPROXY_PORT"]),
    ],
)
def test_a_bad_variable_is_named_in_one_line(
    tmp_path: Path, variables: dict[str, str], named: list[str]
) -> None:
    result = subprocess.run(
        [str(SNAPPROXY), "serve", "--no-cache"], env=_env(tmp_path, **variables),
        capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=60, check=False,
    )  # fmt: skip
    assert_one_error_line(result, *named)
    assert result.returncode == 2


def test_the_command_list_shows_whole_summaries(tmp_path: Path) -> None:
    result = run(["--help"], tmp_path)
    assert result.returncode == 0
    commands = result.stdout.split("Commands:", 1)[1]
    assert "..." not in commands  # click's mark of a cut summary
    assert "PEP 751" in result.stdout and "pylock.toml." in result.stdout
