"""Command line: ``snapproxy serve``, ``fetch``, ``hash``, ``refresh`` and ``lock``.

User mistakes end in one line on stderr, ``snapproxy: error: ...``, and exit status 2;
never a traceback.  Each command lives in the module of its job (``serve_command``,
``fetcher.commands``); this one gathers them.
"""

from __future__ import annotations

import sys

import click

from fetcher.commands import fetch, lock
from fetcher.nix_commands import hash_command, refresh
from snapproxy import __version__
from snapproxy.option_variables import read_from_environment
from snapproxy.run_command import run
from snapproxy.serve_command import serve

__all__ = ["cli", "main"]


class _Commands(click.Group):
    """A group whose command list shows each summary whole (click cuts them at 45 columns)."""

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [
            (name, command.get_short_help_str(limit=200))
            for name in self.list_commands(ctx)
            if (command := self.get_command(ctx, name)) is not None and not command.hidden
        ]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


@click.group(
    cls=_Commands,
    context_settings={"help_option_names": ["-h", "--help"]},
    invoke_without_command=True,
)
@click.version_option(__version__, prog_name="snapproxy")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Serve PyPI as it was at one instant, for reproducible pip resolutions."""
    if ctx.invoked_subcommand is None:
        # No command: the overview, as --help would show it; asking for it is no error.
        click.echo(ctx.get_help())


for command in (serve, run, fetch, lock, hash_command, refresh):
    cli.add_command(command)
read_from_environment(cli)


def main(argv: list[str] | None = None) -> None:
    """Entry point: click in non-standalone mode so every error is one line."""
    try:
        cli.main(args=argv, prog_name="snapproxy", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        sys.exit(130)
    except click.ClickException as exc:
        message = exc.format_message()
        if isinstance(exc, click.UsageError) and exc.ctx is not None:
            message += f" (see '{exc.ctx.command_path} --help')"
        click.echo(f"snapproxy: error: {message}", err=True)
        sys.exit(exc.exit_code)
