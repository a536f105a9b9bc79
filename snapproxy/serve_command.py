"""``snapproxy serve``: the snapshot proxy as a long-running server."""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import socket
import sys
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from snapproxy.cli_options import (
    DATE_HELP,
    cutoff_value,
    default_cache_dir,
    index_options,
    index_routing,
    install_redaction,
    origin_options,
    package_date_option,
    setup_logging,
    size_value,
)
from snapproxy.cutoff import format_cutoff, is_future, is_recent

if TYPE_CHECKING:
    import asyncio

    from snapproxy.server_config import ServerConfig

__all__ = ["log_level", "serve", "serve_options", "server_config"]


def serve_options(command: Callable[..., None]) -> Callable[..., None]:
    """The options that say what the snapshot proxy serves and how (serve and run)."""
    options = [
        click.option(
            "--date",
            "cutoff",
            callback=cutoff_value,
            required=True,
            help=f"{DATE_HELP} Files uploaded at or after it are hidden; a duration is "
            "applied anew at every request (a rolling cooldown).",
        ),
        package_date_option(),
        *origin_options(),
        *index_options(),
        click.option(
            "--cache-dir",
            type=click.Path(file_okay=False, path_type=Path),
            default=None,
            help="Disk cache directory [default: $XDG_CACHE_HOME/snapproxy].",
        ),
        click.option("--no-cache", is_flag=True, help="Keep no disk cache (memory only)."),
        click.option(
            "--yanked",
            type=click.Choice(["keep", "ignore"]),
            default="keep",
            show_default=True,
            help="keep: pass PEP 592 yank marks through; ignore: show every file unyanked.",
        ),
        click.option(
            "--allow-undated",
            is_flag=True,
            help="Show files that have no upload time (hidden by default).",
        ),
        click.option(
            "--direct-files",
            is_flag=True,
            help="Leave file URLs pointing at upstream instead of this proxy.",
        ),
        click.option(
            "--timeout",
            type=click.FloatRange(min=0.1),
            default=30.0,
            show_default=True,
            help="Seconds to wait for upstream to connect or send data.",
        ),
        click.option(
            "--memory-budget",
            callback=size_value,
            default="64MiB",
            show_default=True,
            help="Bytes of memory for every in-memory cache together (KiB, MiB, GiB).",
        ),
        click.option(
            "--max-page-size",
            callback=size_value,
            default="24MiB",
            show_default=True,
            help="Largest upstream page or JSON document accepted; larger ones get a 502.",
        ),
        click.option(
            "--negative-ttl",
            type=click.FloatRange(min=0),
            default=5.0,
            show_default=True,
            help="Seconds an upstream failure is remembered and answered without retrying; "
            "0: never.",
        ),
        click.option(
            "--idle-timeout",
            type=click.FloatRange(min=0.1),
            default=15.0,
            show_default=True,
            help="Seconds a client connection may stay without a complete request before it "
            "is closed.",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def log_level(quiet: bool, verbose: bool, levels: tuple[str, str, str]) -> str:
    """The level of ``levels`` (quiet, default, verbose) that -q and -v select."""
    if quiet and verbose:
        raise click.UsageError("--quiet and --verbose exclude each other; drop one")
    return levels[0] if quiet else levels[2] if verbose else levels[1]


def server_config(options: Mapping[str, Any]) -> ServerConfig:
    """The proxy's configuration from the values of :func:`serve_options`, checked.

    Logging is set up first: a cutoff too recent to be fixed yet is a warning.
    """
    from snapproxy.server_config import ServerConfig

    cache_dir: Path | None = options["cache_dir"]
    if options["no_cache"] and cache_dir is not None:
        raise click.UsageError("--cache-dir and --no-cache exclude each other; drop one")
    now = datetime.now(timezone.utc)
    # A rolling cutoff moves by design, and `none` shows every upload: only instants can be
    # too late to be a fixed snapshot yet.
    named = [("cutoff", options["cutoff"])] + [
        (f"cutoff of {project}", cutoff) for project, cutoff in options["package_dates"].items()
    ]
    for what, cutoff in named:
        if isinstance(cutoff, datetime):
            _warn_if_not_final(what, cutoff, now)
    routing = index_routing(options)
    install_redaction(routing)
    if options["direct_files"] and routing.indexes:
        raise click.UsageError(
            "--direct-files would send clients to the hosts of --index "
            f"{routing.indexes[0].name} for its files, without its credentials; drop "
            "--direct-files"
        )
    if not options["no_cache"]:
        cache_dir = cache_dir or default_cache_dir()
        _usable_cache_dir(cache_dir)
    return ServerConfig(
        routing=routing,
        cutoff=options["cutoff"],
        package_cutoffs=options["package_dates"],
        upstream=options["upstream"],
        files_host=options["files_host"],
        cache_dir=cache_dir,
        yanked="ignore" if options["yanked"] == "ignore" else "keep",
        allow_undated=options["allow_undated"],
        direct_files=options["direct_files"],
        timeout=options["timeout"],
        memory_budget=options["memory_budget"],
        max_page_size=options["max_page_size"],
        negative_ttl=options["negative_ttl"],
        idle_timeout=options["idle_timeout"],
    )


def _warn_if_not_final(what: str, cutoff: datetime, now: datetime) -> None:
    """Warn about an instant that names no fixed snapshot yet: future, or recent."""
    import logging

    if is_future(cutoff, now):
        logging.getLogger("snapproxy").warning(
            "%s %s is in the future (now is %s): until then every upload appears, so "
            "answers change; this serves no fixed snapshot",
            what,
            format_cutoff(cutoff),
            format_cutoff(now.replace(microsecond=0)),
        )
    elif is_recent(cutoff, now):
        logging.getLogger("snapproxy").warning(
            "%s %s is less than an hour ago: uploads may still appear before it, so "
            "answers can change",
            what,
            format_cutoff(cutoff),
        )


@click.command()
@serve_options
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8080,
    show_default=True,
    help="Port to listen on; 0 picks a free one.",
)
@click.option("-q", "--quiet", is_flag=True, help="Log warnings and errors only.")
@click.option("-v", "--verbose", is_flag=True, help="Log upstream traffic too.")
def serve(host: str, port: int, quiet: bool, verbose: bool, **options: Any) -> None:
    """Serve the index as it was at --date."""
    setup_logging(log_level(quiet, verbose, ("WARNING", "INFO", "DEBUG")))
    config = server_config(options)
    import asyncio

    _raise_open_file_limit()
    asyncio.run(_serve(config, host, port))


def _raise_open_file_limit() -> None:
    """Take the hard limit of open descriptors: each client connection holds one."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
        # On failure the soft limit stays; the idle timeout still frees descriptors.
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


def _usable_cache_dir(path: Path) -> None:
    """Refuse a cache directory that cannot be written, before serving anything."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise click.BadParameter(
            f"cannot create {str(path)!r} ({exc.strerror}); choose another or pass --no-cache",
            param_hint="'--cache-dir'",
        ) from None
    if not os.access(path, os.W_OK):
        raise click.BadParameter(
            f"{str(path)!r} is not writable; choose another or pass --no-cache",
            param_hint="'--cache-dir'",
        )


async def _serve(config: ServerConfig, host: str, port: int) -> None:
    import asyncio
    import logging

    from aiohttp import web

    from snapproxy.app import create_app, runner_for
    from snapproxy.cutoff_policy import summary

    runner = runner_for(create_app(config))
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    try:
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        raise click.ClickException(bind_error(host, port, exc)) from None
    bound = runner.addresses[0]
    shown = f"[{bound[0]}]" if ":" in bound[0] else bound[0]
    base = f"http://{shown}:{bound[1]}"
    if host not in ("127.0.0.1", "localhost", "::1"):
        logging.getLogger("snapproxy").warning(
            "listening on %s: anyone who can reach it can use this proxy", host
        )
    as_of = summary(config.policy, config.now())
    click.echo(
        f"snapproxy: {config.upstream} as of {as_of} on {base}/ "
        f"- pip install --index-url {base}/simple/ ..."
    )
    for index in config.routing.indexes:
        patterns = ", ".join(r.pattern for r in config.routing.routes if r.index == index.name)
        undated = "; undated files shown" if index.undated else ""
        click.echo(f"snapproxy: {patterns} from index {index.name} ({index.url}){undated}")
    sys.stdout.flush()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(_quiet_when_out_of_descriptors)
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


def bind_error(host: str, port: int, exc: OSError) -> str:
    """Why ``host``:``port`` cannot be listened on, and which option to change."""
    if isinstance(exc, socket.gaierror):
        return (
            f"cannot listen on --host {host}: no such address or name here ({exc.strerror}); "
            "give an address of this machine, e.g. 127.0.0.1"
        )
    if exc.errno == errno.EADDRNOTAVAIL:
        return (
            f"cannot listen on --host {host}: not an address of this machine; "
            "give one it has, e.g. 127.0.0.1 or 0.0.0.0"
        )
    if exc.errno == errno.EADDRINUSE:
        return (
            f"cannot listen on {host}:{port}: port {port} is in use; choose another --port, "
            "or --port 0 for a free one"
        )
    if exc.errno == errno.EACCES and 0 < port < 1024:
        return (
            f"cannot listen on {host}:{port}: ports below 1024 need privileges; "
            "choose --port 1024 or above"
        )
    return f"cannot listen on {host}:{port} ({exc.strerror}); check --host and --port"


def _quiet_when_out_of_descriptors(
    loop: asyncio.AbstractEventLoop, context: dict[str, Any]
) -> None:
    """One warning line, not a traceback per attempt, when accept() runs out of descriptors.

    asyncio then pauses accepting for a second and tries again; the idle timeout frees
    the descriptors of connections that never complete a request.
    """
    import logging  # here: `snapproxy hash` starts through this module and needs none

    exc = context.get("exception")
    if isinstance(exc, OSError) and exc.errno in (errno.EMFILE, errno.ENFILE):
        logging.getLogger("snapproxy").warning(
            "out of file descriptors (%s); new connections wait until idle ones close "
            "(--idle-timeout) or the limit is raised (ulimit -n)",
            exc.strerror,
        )
        return
    loop.default_exception_handler(context)
