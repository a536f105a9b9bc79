"""``snapproxy run``: one command line against a throwaway snapshot proxy.

The proxy runs in this process on a free loopback port for as long as the command does;
the command gets the environment of :func:`snapproxy.client_environment.client_environment`,
in which the snapshot is the only index pip, uv and pdm know of.  Its exit status is the
command's (``128 + N`` when signal N ended it).
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from snapproxy.cli_options import setup_logging
from snapproxy.cutoff_policy import summary
from snapproxy.serve_command import log_level, serve_options, server_config

if TYPE_CHECKING:
    import asyncio

    from snapproxy.server_config import ServerConfig

__all__ = ["run"]

_EXAMPLE = "snapproxy run --date 2021-05-01 -- pip install requests"
_COMMAND = "snapproxy.run.command"  # where the words after "--" wait in ctx.meta


class _CommandAfterDashes(click.Command):
    """A command whose COMMAND is every word after the first ``--``.

    So the command's own options (``-q``, ``--help``, ``-v``) are never taken for run's, and
    a command line without ``--`` is refused rather than guessed at.
    """

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if "--" in args:
            split = args.index("--")
            ctx.meta[_COMMAND] = args[split + 1 :]
            args = args[:split]
        return super().parse_args(ctx, args)


class CommandNotFound(click.ClickException):
    exit_code = 127  # the shells' status for it


class CommandNotExecutable(click.ClickException):
    exit_code = 126  # the shells' status for it


@click.command(
    cls=_CommandAfterDashes,
    # Stop at the first word that is no option: it is a command given without "--".
    context_settings={"allow_interspersed_args": False},
)
@serve_options
@click.option("-q", "--quiet", is_flag=True, help="No start line; log errors only.")
@click.option("-v", "--verbose", is_flag=True, help="Log every request and upstream traffic.")
@click.argument("stray", nargs=-1, type=click.UNPROCESSED, metavar="-- COMMAND [ARGS]...")
def run(quiet: bool, verbose: bool, stray: tuple[str, ...], **options: Any) -> None:
    """Run COMMAND with pip, uv and pdm pointed at PyPI as of --date.

    A throwaway snapshot proxy listens on a free loopback port while COMMAND runs.
    COMMAND's environment names it as the only index (PIP_INDEX_URL, UV_DEFAULT_INDEX,
    PDM_PYPI_URL), switches pip's, uv's and pdm's configuration files off and drops every
    variable that would add another index or local files (see README.md, Pitfalls).
    SIGINT and SIGTERM go on to COMMAND; the exit status is COMMAND's.
    """
    command: list[str] | None = click.get_current_context().meta.get(_COMMAND)
    if stray:
        raise click.UsageError(f"put -- before the command {stray[0]!r}, e.g. {_EXAMPLE}")
    if not command:
        raise click.UsageError(f"no command to run: give one after --, e.g. {_EXAMPLE}")
    setup_logging(log_level(quiet, verbose, ("ERROR", "WARNING", "DEBUG")))
    # Before the proxy's configuration, which makes the cache directory.
    _check_runnable(command[0], os.environ.get("PATH", os.defpath))
    config = server_config(options)
    import asyncio

    from fetcher.signals import Interrupted

    try:
        status = asyncio.run(_run(config, command, announce=not quiet))
    except Interrupted as exc:
        click.echo(f"snapproxy: {exc} before {command[0]!r} started", err=True)
        sys.exit(exc.exit_status)
    sys.exit(status)


def _check_runnable(name: str, path: str) -> None:
    """Refuse a command that cannot be started, before any proxy is."""
    if shutil.which(name, path=path) is not None:
        return
    if os.sep in name and Path(name).is_file():
        raise CommandNotExecutable(
            f"command {name!r} is not executable; chmod +x it or run it with its interpreter"
        )
    where = "" if os.sep in name else " on PATH"
    raise CommandNotFound(
        f"command {name!r} not found{where}; check its spelling, or give its path"
    )


def _exit_status(returncode: int) -> int:
    """A shell's status for a child's return code: ``128 + N`` when signal N ended it."""
    return 128 - returncode if returncode < 0 else returncode


async def _run(config: ServerConfig, command: Sequence[str], *, announce: bool) -> int:
    """Serve the snapshot while ``command`` runs; its exit status."""
    import asyncio

    from fetcher.inproc_proxy import running_proxy
    from fetcher.signals import SIGNALS, Interrupted
    from snapproxy.client_environment import client_environment

    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    assert task is not None
    child: asyncio.subprocess.Process | None = None
    early: list[int] = []

    def on_signal(signum: int) -> None:
        if child is not None:
            _forward(child, signum)
        elif not early:  # the proxy is starting: stop it, there is no command to tell
            early.append(signum)
            task.cancel()

    for signum in SIGNALS:
        loop.add_signal_handler(signum, on_signal, signum)
    try:
        async with running_proxy(config) as proxy:
            if announce:
                click.echo(
                    f"snapproxy: {config.upstream} as of {summary(config.policy, config.now())} at "
                    f"{proxy.index_url} for {command[0]}",
                    err=True,
                )
            env = client_environment(os.environ, proxy.index_url)
            try:
                # Same process group as this one: the child stays in the terminal's
                # foreground and can read it (prompts), and gets Ctrl-C from it directly.
                child = await asyncio.create_subprocess_exec(*command, env=env)
            except OSError as exc:
                failed = (
                    CommandNotFound if isinstance(exc, FileNotFoundError) else CommandNotExecutable
                )
                raise failed(f"cannot run {command[0]!r}: {exc.strerror}") from None
            # The proxy serves until the child is gone, whatever it does on a signal.
            return _exit_status(await child.wait())
    except asyncio.CancelledError:
        if early:
            raise Interrupted(early[0]) from None
        raise
    finally:
        for signum in SIGNALS:
            loop.remove_signal_handler(signum)


def _forward(child: asyncio.subprocess.Process, signum: int) -> None:
    """Pass a signal on to the child, unless it has it already.

    Ctrl-C in a terminal signals the whole foreground process group, the child with it;
    a second SIGINT would mean "stop now" to many programs.  So SIGINT is passed on only
    when stdin is no terminal or the child has left this process group (the heuristic uv
    uses for `uv run`); SIGTERM, which no terminal sends, always.
    """
    try:
        if signum == signal.SIGINT and os.isatty(0) and os.getpgid(child.pid) == os.getpgrp():
            return
        child.send_signal(signum)
    except ProcessLookupError:
        pass  # it has ended; child.wait() is about to return
