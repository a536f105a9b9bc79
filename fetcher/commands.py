"""``snapproxy fetch``, ``lock``, ``hash`` and ``refresh``: the commands around pip and Nix.

Heavy modules are imported inside the commands, so that loading the CLI stays light;
``snapproxy hash`` itself usually starts through :mod:`snapproxy.launcher`, without click.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Coroutine
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import click

from fetcher.hash_formats import DEFAULT_FORMAT, FORMATS
from snapproxy.cli_options import (
    DATE_HELP,
    ca_file,
    cutoff_value,
    default_cache_dir,
    index_options,
    index_routing,
    netrc_file,
    origin_options,
    package_date_option,
    setup_logging,
)
from snapproxy.defaults import DEFAULT_PIP_VERSION

if TYPE_CHECKING:
    from fetcher.fetch import FetchRequest
    from fetcher.hash_formats import HashFormat
    from snapproxy.cutoff_policy import Cutoff

__all__ = ["fetch", "hash_command", "lock", "refresh"]


def _writable_cache_dir() -> Path | None:
    """The user cache dir, or None inside a Nix build (whose HOME must stay untouched)."""
    if "NIX_BUILD_TOP" in os.environ or not Path.home().is_dir():
        return None
    path = default_cache_dir()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return path if os.access(path, os.W_OK) else None


def resolution_options(command: Callable[..., None]) -> Callable[..., None]:
    """The options that say what to resolve and for which target (fetch and lock)."""
    options = [
        click.option(
            "-r",
            "--requirement",
            "requirement_files",
            multiple=True,
            type=click.Path(dir_okay=False, path_type=Path),
            help="A requirements file (repeatable).",
        ),
        click.argument("requirements", nargs=-1),
        click.option(
            "--date",
            "cutoff",
            callback=_optional_cutoff,
            default=None,
            help=f"{DATE_HELP} A duration is turned into its instant once, printed and "
            "recorded (lock).",
        ),
        package_date_option(),
        click.option(
            "--python",
            "python",
            default=sys.executable,
            show_default="this Python",
            help="Interpreter that runs pip and whose environment the resolution is for.",
        ),
        click.option(
            "--pip-version",
            default=DEFAULT_PIP_VERSION,
            show_default=True,
            callback=_exact_version,
            help="Exact pip version that resolves.",
        ),
        click.option("--only-binary", is_flag=True, help="Wheels only (pip --only-binary :all:)."),
        click.option(
            "--platform", "platforms", multiple=True, help="Target platform tag (repeatable)."
        ),
        click.option("--python-version", default=None, help="Target Python version, e.g. 3.10."),
        click.option("--implementation", default=None, help="Target implementation, e.g. cp."),
        click.option("--abi", "abis", multiple=True, help="Target ABI tag (repeatable)."),
        *origin_options(),
        *index_options(),
        click.option(
            "--cache-dir",
            type=click.Path(file_okay=False, path_type=Path),
            default=None,
            help="Disk cache [default: $XDG_CACHE_HOME/snapproxy when writable].",
        ),
        click.option(
            "--allow-recent",
            is_flag=True,
            help="Accept a cutoff less than an hour ago (not reproducible yet).",
        ),
        click.option("-q", "--quiet", is_flag=True, help="No progress output."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _exact_version(ctx: click.Context, param: click.Parameter, value: str) -> str:
    from packaging.version import InvalidVersion, Version

    try:
        Version(value)
    except InvalidVersion:
        raise click.BadParameter(
            f"{value!r} is not a version; give one such as {DEFAULT_PIP_VERSION}", ctx, param
        ) from None
    return value


def _optional_cutoff(
    ctx: click.Context, param: click.Parameter, value: str | None
) -> Cutoff | None:
    return None if value is None else cutoff_value(ctx, param, value)


def _fetch_request(options: dict[str, Any]) -> FetchRequest:
    from fetcher.fetch import FetchRequest
    from fetcher.interpreter_check import UnusableInterpreter, check_python
    from fetcher.pip_runner import Target
    from snapproxy.cutoff_policy import CutoffPolicy, cutoff_at

    if options["cutoff"] is None:
        raise click.UsageError("Missing option '--date'.")
    # A duration becomes its instant here, once: everything after sees only instants.
    given = CutoffPolicy(options["cutoff"], options["package_dates"])
    now = datetime.now(timezone.utc)
    cutoff = cutoff_at(given.default, now)
    assert cutoff is not None  # --date is never none
    try:
        python = check_python(options["python"])
    except UnusableInterpreter as exc:
        raise click.ClickException(str(exc)) from None
    target = Target(
        python,
        options["only_binary"],
        options["platforms"],
        options["python_version"],
        options["implementation"],
        options["abis"],
    )
    return FetchRequest(
        cutoff=cutoff,
        package_cutoffs={
            project: cutoff_at(package, now) for project, package in given.packages.items()
        },
        given=given,
        now=now,
        target=target,
        requirement_files=options["requirement_files"],
        requirements=options["requirements"],
        pip_version=options["pip_version"],
        upstream=options["upstream"],
        files_host=options["files_host"],
        routing=index_routing(options),
        cache_dir=options["cache_dir"] or _writable_cache_dir(),
        ca_file=ca_file(),
        allow_recent=options["allow_recent"],
    )


def _run_fetcher(work: Coroutine[Any, Any, object]) -> None:
    import asyncio

    from fetcher.fetch import FetchError
    from fetcher.signals import Interrupted, cancelled_on_signals

    setup_logging("CRITICAL")
    try:
        asyncio.run(cancelled_on_signals(work))
    except FetchError as exc:
        raise click.ClickException(str(exc)) from None
    except Interrupted as exc:
        # Every fetch and lock writes its output only once all work is done.
        click.echo(f"snapproxy: {exc}; nothing written", err=True)
        sys.exit(exc.exit_status)


@click.command()
@resolution_options
@click.option(
    "-o",
    "--output",
    "out",
    required=True,
    type=click.Path(path_type=Path),
    help="Directory to create with the wheelhouse (must not exist; its parent must).",
)
@click.option(
    "--from-lock",
    "from_lock",
    default=None,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Download exactly the files of this pylock.toml (no resolution).",
)
def fetch(out: Path, from_lock: Path | None, **options: Any) -> None:
    """Resolve requirements as of --date with a pinned pip; write a wheelhouse to -o."""
    from fetcher.fetch import fetch as run_fetch
    from fetcher.fetch import fetch_from_lock
    from fetcher.progress import Progress

    progress = Progress(quiet=options["quiet"])
    if from_lock is not None:
        ctx = click.get_current_context()
        given = [
            param.opts[0] if param.opts[0].startswith("-") else param.human_readable_name
            for param in ctx.command.params
            if param.name in options
            # Not what to fetch but how: progress, and the credentials of private hosts.
            and param.name not in ("quiet", "netrc_file")
            and ctx.get_parameter_source(param.name) is not click.core.ParameterSource.DEFAULT
        ]
        if given:
            raise click.UsageError(
                f"--from-lock takes no {', '.join(given)}: the lock already says what to fetch"
            )
        credentials = netrc_file(options)
        _run_fetcher(fetch_from_lock(from_lock, out, progress, ca_file(), netrc_file=credentials))
        return
    _run_fetcher(run_fetch(_fetch_request(options), out, progress))


@click.command()
@resolution_options
@click.option(
    "-o",
    "--output",
    "out",
    default=Path("pylock.toml"),
    show_default=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The PEP 751 lock file to write.",
)
def lock(out: Path, **options: Any) -> None:
    """Resolve as fetch does and write the result as a PEP 751 pylock.toml."""
    from fetcher.fetch import lock as run_lock
    from fetcher.progress import Progress

    _run_fetcher(run_lock(_fetch_request(options), out, Progress(quiet=options["quiet"])))


@click.command(name="hash")
@click.argument("path")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default=DEFAULT_FORMAT,
    show_default=True,
    help="How to print the digest.",
)
def hash_command(path: str, fmt: str) -> None:
    """Print the NAR sha256 of PATH, as nix-hash --type sha256 and nix hash path."""
    # The console script runs most `hash` invocations without click (snapproxy.launcher);
    # both go through hash_path, so they agree.
    from fetcher.hash_path import HashFailed, PathMissing, hash_path

    try:
        text = hash_path(path, cast("HashFormat", fmt))
    except PathMissing as exc:
        raise click.BadParameter(str(exc), param_hint="'PATH'") from None
    except HashFailed as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(text)


@click.command()
@click.argument("file", type=click.Path(exists=True, path_type=Path))
@click.option(
    "-A",
    "--attr",
    "attrs",
    multiple=True,
    help="Refresh only this attribute path (repeatable), as nix-build -A.",
)
@click.option(
    "--via",
    type=click.Choice(["nix", "local"]),
    default=None,
    help="nix: build with the fake hash and read Nix's answer [default when "
    "nix-build is on PATH]; local: run the same fetch here and hash it.",
)
@click.option("--check", is_flag=True, help="Write nothing; exit 1 when a hash is stale.")
@click.option(
    "--arg",
    "arg_exprs",
    nargs=2,
    multiple=True,
    metavar="NAME EXPR",
    help="Pass a Nix expression argument to the file's function.",
)
@click.option(
    "--argstr",
    "arg_strings",
    nargs=2,
    multiple=True,
    metavar="NAME VALUE",
    help="Pass a string argument to the file's function.",
)
def refresh(
    file: Path,
    attrs: tuple[str, ...],
    via: str | None,
    check: bool,
    arg_exprs: tuple[tuple[str, str], ...],
    arg_strings: tuple[tuple[str, str], ...],
) -> None:
    """Make the hashes of fetchPythonRequirements calls in FILE true again."""
    import shutil

    from fetcher.nix_calls import AutoArgs
    from fetcher.refresh import RefreshError
    from fetcher.refresh import refresh as run_refresh

    if shutil.which("nix-instantiate") is None:
        raise click.ClickException(
            "nix-instantiate is not on PATH; refresh evaluates FILE with Nix (install Nix)"
        )
    chosen = via or ("nix" if shutil.which("nix-build") else "local")
    try:
        outcomes = run_refresh(
            file,
            attrs,
            "nix" if chosen == "nix" else "local",
            AutoArgs(arg_exprs, arg_strings),
            check,
            click.echo,
        )
    except (RefreshError, OSError) as exc:
        raise click.ClickException(str(exc)) from None
    if check and any(o.changed for o in outcomes):
        sys.exit(1)
