"""`snapproxy serve` bad input: one `snapproxy: error:` line on stderr, a status, no traceback."""

from __future__ import annotations

import os
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SNAPPROXY = REPO / ".venv" / "bin" / "snapproxy"
OK_DATE = ["--date", "2021-05-01"]


def run(
    args: list[str], home: Path, extra_env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SNAPPROXY")}
    # Never touch the real user cache, even if a bad input were accepted.
    env.update(HOME=str(home), XDG_CACHE_HOME=str(home / "cache"))
    env.update(extra_env or {})
    return subprocess.run(
        [str(SNAPPROXY), *args],
        capture_output=True,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,
        timeout=30,
        check=False,
    )


def assert_one_error_line(result: subprocess.CompletedProcess[str], *named: str) -> str:
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    line = lines[0]
    assert line.startswith("snapproxy: error: "), line
    for value in named:
        assert value in line, (value, line)
    assert result.stdout == ""
    return line


@pytest.mark.parametrize(
    ("args", "named"),
    [
        # Invalid dates.
        (["--date", "2021-02-30"], ["2021-02-30"]),
        (["--date", "2021-13-01"], ["2021-13-01"]),
        (["--date", "yesterday"], ["yesterday"]),
        (["--date", "2021/05/01"], ["2021/05/01"]),
        (["--date", "2021-05-01T25:00:00Z"], ["2021-05-01T25:00:00Z"]),
        (["--date", ""], ["--date"]),
        (["--date", "2021-05-01\nsecond line"], ["--date"]),
        # A datetime without a zone: refused, with the fix shown.
        (["--date", "2021-05-01T12:00:00"], ["2021-05-01T12:00:00", "2021-05-01T12:00:00Z"]),
        (["--date", "2021-05-01 12:00"], ["2021-05-01 12:00", "2021-05-01 12:00Z"]),
        # Missing --date.
        ([], ["--date"]),
        (["--port", "0"], ["--date"]),
        # Bad --upstream / --files-host: not an http(s) origin.
        ([*OK_DATE, "--upstream", "ftp://pypi.org"], ["ftp://pypi.org"]),
        ([*OK_DATE, "--upstream", "pypi.org"], ["pypi.org"]),
        ([*OK_DATE, "--upstream", "https://"], ["https://"]),
        ([*OK_DATE, "--upstream", "https://pypi.org/simple/"], ["https://pypi.org/simple/"]),
        ([*OK_DATE, "--upstream", "https://pypi.org?x=1"], ["https://pypi.org?x=1"]),
        ([*OK_DATE, "--files-host", "files.pythonhosted.org"], ["files.pythonhosted.org"]),
        # Options that exclude each other.
        ([*OK_DATE, "--no-cache", "--cache-dir", "/tmp/x"], ["--no-cache", "--cache-dir"]),
        ([*OK_DATE, "--cache-dir", "/tmp/x", "--no-cache"], ["--no-cache", "--cache-dir"]),
        ([*OK_DATE, "--quiet", "--verbose"], ["--quiet", "--verbose"]),
        # Other values out of range.
        ([*OK_DATE, "--port", "70000"], ["70000"]),
        ([*OK_DATE, "--port", "http"], ["http"]),
        ([*OK_DATE, "--yanked", "maybe"], ["maybe"]),
        ([*OK_DATE, "--timeout", "0"], ["--timeout"]),
        ([*OK_DATE, "--no-such-option"], ["--no-such-option"]),
        # A cache directory that cannot be made or written: refused before serving.
        ([*OK_DATE, "--cache-dir", "/dev/null/cache"], ["/dev/null/cache", "--no-cache"]),
    ],
)
def test_serve_bad_input(args: list[str], named: list[str], tmp_path: Path) -> None:
    result = run(["serve", *args], tmp_path)
    assert_one_error_line(result, *named)
    assert result.returncode == 2, result.stderr


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["no-such-command"], ["no-such-command"]),
        ([], []),  # no command at all: a usage error too, still one line
    ],
)
def test_top_level_bad_input(args: list[str], named: list[str], tmp_path: Path) -> None:
    result = run(args, tmp_path)
    if result.returncode != 0:
        assert_one_error_line(result, *named)
        assert result.returncode == 2


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


@pytest.mark.parametrize("cache", [["--no-cache"], []])
def test_port_in_use(busy_port: int, cache: list[str], tmp_path: Path) -> None:
    args = ["serve", *OK_DATE, "--port", str(busy_port), *cache]
    if not cache:
        args += ["--cache-dir", str(tmp_path / "cache")]
    result = run(args, tmp_path)
    assert_one_error_line(result, str(busy_port), "--port")
    # Not a usage error but an environment one: the code exits 1 (click's ClickException).
    assert result.returncode == 1, result.stderr


def test_help_is_not_an_error(tmp_path: Path) -> None:
    result = run(["serve", "--help"], tmp_path)
    assert result.returncode == 0
    assert result.stderr == ""
    assert "--date" in result.stdout


@pytest.mark.parametrize(
    ("host", "names", "not_named"),
    [
        ("10.255.255.254", ["--host 10.255.255.254", "not an address of this machine"], "--port"),
        ("no-such-host.invalid", ["--host no-such-host.invalid"], "--port"),
    ],
)
def test_a_host_that_cannot_be_bound_is_named_not_the_port(
    host: str, names: list[str], not_named: str, tmp_path: Path
) -> None:
    result = run(["serve", *OK_DATE, "--host", host, "--port", "0", "--no-cache"], tmp_path)
    assert_one_error_line(result, *names)
    assert not_named not in result.stderr
    assert result.returncode == 1


def test_bind_failures_name_what_to_change() -> None:
    import errno

    from snapproxy.serve_command import bind_error

    # The message text of each bind failure, without binding anything.
    assert "port 8080 is in use" in bind_error("127.0.0.1", 8080, OSError(errno.EADDRINUSE, "x"))
    assert "below 1024 need privileges" in bind_error("0.0.0.0", 80, OSError(errno.EACCES, "x"))
    assert "check --host and --port" in bind_error("::1", 1, OSError(errno.EPERM, "x"))


def test_a_future_cutoff_is_served_with_a_warning_that_says_so(
    busy_port: int, tmp_path: Path
) -> None:
    # The busy port ends the server right after the warning, which comes first.
    args = ["serve", "--date", "2099-01-01", "--port", str(busy_port), "--no-cache"]
    result = run(args, tmp_path)
    warning, error = result.stderr.splitlines()
    assert "WARNING cutoff 2099-01-01T00:00:00Z is in the future" in warning
    assert "less than an hour" not in warning
    assert error.startswith("snapproxy: error: ") and "is in use" in error


# ---- durations and per-project cutoffs: every command that takes them ---------------------

BAD_CUTOFFS = [
    # Durations: calendar units, malformed, zero.
    (["--date", "P1M"], ["'P1M'", "length varies", "P30D"]),
    (["--date", "1y"], ["'1y'", "length varies"]),
    (["--date", "P7"], ["'P7'", "P7D", "7d", "P1W"]),
    (["--date", "P1H"], ["'P1H'", "PT12H"]),
    (["--date", "7x"], ["'7x'", "P7D", "7d"]),
    (["--date", "P0D"], ["'P0D'", "zero"]),
    # A word that is neither: every accepted form is named.
    (["--date", "soon"], ["'soon'", "YYYY-MM-DD", "RFC 3339", "P7D", "7d"]),
    # --package-date: the item, the name, the cutoff.
    (["--package-date", "certifi"], ["'certifi'", "NAME=CUTOFF", "none"]),
    (["--package-date", "cert/ifi=2024-01-01"], ["'cert/ifi=2024-01-01'", "project name"]),
    (["--package-date", "=2024-01-01"], ["'=2024-01-01'", "project name"]),
    (["--package-date", "certifi=P1Y"], ["'certifi=P1Y'", "length varies"]),
    (["--package-date", "certifi=soon"], ["'certifi=soon'", "'soon'", "P7D", "none"]),
    (["--package-date", "certifi=2024-01-01T00:00"], ["'certifi=2024-01-01T00:00'", "zone"]),
    (
        ["--package-date", "Zope.Interface=2024-01-01", "--package-date", "zope_interface=none"],
        ["'Zope.Interface=2024-01-01'", "'zope_interface=none'", "zope-interface"],
    ),
]


def _command_line(command: str, args: list[str], tmp_path: Path) -> list[str]:
    date = [] if "--date" in args else OK_DATE
    if command == "serve":
        return ["serve", *date, *args, "--port", "0", "--no-cache"]
    if command == "run":
        return ["run", *date, *args, "--no-cache", "--", "true"]
    return [command, *date, *args, "six", "-o", str(tmp_path / "out")]


@pytest.mark.parametrize("command", ["serve", "run", "fetch", "lock"])
@pytest.mark.parametrize(("args", "named"), BAD_CUTOFFS)
def test_bad_cutoffs_are_one_line_naming_the_value_and_the_forms(
    command: str, args: list[str], named: list[str], tmp_path: Path
) -> None:
    result = run(_command_line(command, args, tmp_path), tmp_path)
    option = "--date" if args[0] == "--date" else "--package-date"
    assert_one_error_line(result, option, *named)
    assert result.returncode == 2, result.stderr
    assert not (tmp_path / "out").exists()


def test_package_dates_from_the_environment_are_checked_too(tmp_path: Path) -> None:
    env = {"SNAPPROXY_PACKAGE_DATE": "certifi=2024-01-01 six=soon"}
    result = run(["serve", *OK_DATE, "--port", "0", "--no-cache"], tmp_path, env)
    assert_one_error_line(result, "SNAPPROXY_PACKAGE_DATE", "'six=soon'")


@pytest.mark.parametrize(
    ("args", "named"),
    [
        # none moves with every release of the project: refused as a recent cutoff is.
        (["--package-date", "six=none"], ["six=none", "--allow-recent"]),
        (
            ["--package-date", "six=2099-01-01"],
            ["2099-01-01T00:00:00Z", "future", "--package-date six"],
        ),
        (["--package-date", "six=PT30M"], ["less than an hour ago", "--allow-recent"]),
        (["--date", "PT30M"], ["less than an hour ago", "--date", "--allow-recent"]),
    ],
)
@pytest.mark.parametrize("command", ["fetch", "lock"])
def test_fetch_refuses_cutoffs_that_move(
    command: str, args: list[str], named: list[str], tmp_path: Path
) -> None:
    result = run(_command_line(command, args, tmp_path), tmp_path)
    assert_one_error_line(result, *named)
    assert result.returncode == 1
    assert not (tmp_path / "out").exists()


def test_a_rolling_cutoff_is_no_warning(busy_port: int, tmp_path: Path) -> None:
    # The busy port ends the server right after the checks (the start line is in
    # test_option_variables).
    args = ["serve", "--date", "P30D", "--package-date", "Six=none", "--port", str(busy_port)]
    result = run([*args, "--no-cache"], tmp_path)
    assert "WARNING" not in result.stderr  # a rolling cutoff is no mistake to warn about
    assert result.stderr.startswith("snapproxy: error: ") and "is in use" in result.stderr
