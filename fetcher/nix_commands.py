"""``snapproxy hash`` and ``refresh``: the commands around Nix.

``snapproxy hash`` itself usually starts through :mod:`snapproxy.launcher`, without click;
heavy modules are imported inside the commands, so that loading the CLI stays light.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, cast

import click

from fetcher.hash_formats import DEFAULT_FORMAT, FORMATS

if TYPE_CHECKING:
    from fetcher.hash_formats import HashFormat

__all__ = ["hash_command", "refresh"]


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
