"""Command line: ``snapproxy serve``, ``fetch``, ``hash``, ``refresh`` and ``lock``.

User mistakes end in one line on stderr, ``snapproxy: error: ...``, and exit status 2;
never a traceback.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import Callable, Coroutine
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlsplit

import click

from snapproxy import __version__
from snapproxy.cutoff import CutoffError, format_cutoff, is_recent, parse_cutoff
from snapproxy.defaults import DEFAULT_FILES_HOST, DEFAULT_PIP_VERSION, DEFAULT_UPSTREAM

if TYPE_CHECKING:
    import logging

    from fetcher.fetch import FetchRequest
    from snapproxy.app import ServerConfig

__all__ = ["main"]


def _cutoff(ctx: click.Context, param: click.Parameter, value: str) -> datetime:
    try:
        return parse_cutoff(value)
    except CutoffError as exc:
        raise click.BadParameter(str(exc), ctx, param) from None


def _origin(ctx: click.Context, param: click.Parameter, value: str) -> str:
    """An http(s) origin such as ``https://pypi.org``: scheme and host, no path."""
    text = value.rstrip("/")
    parts = urlsplit(text)
    example = param.default if isinstance(param.default, str) else DEFAULT_UPSTREAM
    # urlsplit drops tabs and newlines silently; a URL with any white space is a typo.
    if any(c.isspace() for c in value) or parts.scheme not in ("http", "https") or not parts.netloc:
        raise click.BadParameter(f"{value!r} is not an http(s) URL; e.g. {example}", ctx, param)
    if parts.path or parts.query or parts.fragment:
        raise click.BadParameter(
            f"{value!r} has a path; give only the origin, e.g. {parts.scheme}://{parts.netloc}",
            ctx,
            param,
        )
    return text


def _size(ctx: click.Context, param: click.Parameter, value: str) -> int:
    from snapproxy.memory_budget import InvalidSize, parse_size

    try:
        size = parse_size(value)
    except InvalidSize as exc:
        raise click.BadParameter(str(exc), ctx, param) from None
    if size <= 0:
        raise click.BadParameter(f"{value!r} is no size; give one above 0, e.g. 64MiB", ctx, param)
    return size


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/snapproxy``, else ``~/.cache/snapproxy`` (XDG base directories)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "snapproxy"


@click.group(context_settings={"help_option_names": ["-h", "--help"]}, invoke_without_command=True)
@click.version_option(__version__, prog_name="snapproxy")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Serve PyPI as it was at one instant, for reproducible pip resolutions."""
    if ctx.invoked_subcommand is None:
        # No command: the overview, as --help would show it; asking for it is no error.
        click.echo(ctx.get_help())


@cli.command()
@click.option(
    "--date",
    "cutoff",
    callback=_cutoff,
    required=True,
    help="Cutoff: YYYY-MM-DD (midnight UTC) or an RFC 3339 datetime with a zone. "
    "Files uploaded at or after it are hidden.",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8080,
    show_default=True,
    help="Port to listen on; 0 picks a free one.",
)
@click.option(
    "--upstream",
    callback=_origin,
    default=DEFAULT_UPSTREAM,
    show_default=True,
    help="Index origin serving /simple/ and /pypi/.",
)
@click.option(
    "--files-host",
    callback=_origin,
    default=DEFAULT_FILES_HOST,
    show_default=True,
    help="Origin of distribution files.",
)
@click.option(
    "--cache-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Disk cache directory [default: $XDG_CACHE_HOME/snapproxy].",
)
@click.option("--no-cache", is_flag=True, help="Keep no disk cache (memory only).")
@click.option(
    "--yanked",
    type=click.Choice(["keep", "ignore"]),
    default="keep",
    show_default=True,
    help="keep: pass PEP 592 yank marks through; ignore: show every file unyanked.",
)
@click.option(
    "--allow-undated", is_flag=True, help="Show files that have no upload time (hidden by default)."
)
@click.option(
    "--direct-files",
    is_flag=True,
    help="Leave file URLs pointing at upstream instead of this proxy.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0.1),
    default=30.0,
    show_default=True,
    help="Seconds to wait for upstream to connect or send data.",
)
@click.option(
    "--memory-budget",
    callback=_size,
    default="64MiB",
    show_default=True,
    help="Bytes of memory for every in-memory cache together (KiB, MiB, GiB).",
)
@click.option(
    "--max-page-size",
    callback=_size,
    default="24MiB",
    show_default=True,
    help="Largest upstream page or JSON document accepted; larger ones get a 502.",
)
@click.option(
    "--negative-ttl",
    type=click.FloatRange(min=0),
    default=5.0,
    show_default=True,
    help="Seconds an upstream failure is remembered and answered without retrying; 0: never.",
)
@click.option(
    "--idle-timeout",
    type=click.FloatRange(min=0.1),
    default=15.0,
    show_default=True,
    help="Seconds a client connection may stay without a complete request before it is closed.",
)
@click.option("-q", "--quiet", is_flag=True, help="Log warnings and errors only.")
@click.option("-v", "--verbose", is_flag=True, help="Log upstream traffic too.")
def serve(
    cutoff: datetime,
    host: str,
    port: int,
    upstream: str,
    files_host: str,
    cache_dir: Path | None,
    no_cache: bool,
    yanked: str,
    allow_undated: bool,
    direct_files: bool,
    timeout: float,
    memory_budget: int,
    max_page_size: int,
    negative_ttl: float,
    idle_timeout: float,
    quiet: bool,
    verbose: bool,
) -> None:
    """Serve the index as it was at --date."""
    if no_cache and cache_dir is not None:
        raise click.UsageError("--cache-dir and --no-cache exclude each other; drop one")
    if quiet and verbose:
        raise click.UsageError("--quiet and --verbose exclude each other; drop one")
    log = _setup_logging("WARNING" if quiet else "DEBUG" if verbose else "INFO")
    if is_recent(cutoff, datetime.now(timezone.utc)):
        log.warning(
            "cutoff %s is less than an hour ago: uploads may still appear before it, so "
            "answers can change",
            format_cutoff(cutoff),
        )
    from snapproxy.app import ServerConfig

    if not no_cache:
        _usable_cache_dir(cache_dir or default_cache_dir())
    config = ServerConfig(
        cutoff=cutoff,
        upstream=upstream,
        files_host=files_host,
        cache_dir=None if no_cache else (cache_dir or default_cache_dir()),
        yanked="ignore" if yanked == "ignore" else "keep",
        allow_undated=allow_undated,
        direct_files=direct_files,
        timeout=timeout,
        memory_budget=memory_budget,
        max_page_size=max_page_size,
        negative_ttl=negative_ttl,
        idle_timeout=idle_timeout,
    )
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


def _ca_file() -> Path | None:
    """The CA bundle a Nix build names (``NIX_SSL_CERT_FILE``, as nixpkgs fetchers)."""
    for variable in ("NIX_SSL_CERT_FILE", "SSL_CERT_FILE"):
        value = os.environ.get(variable)
        if value and Path(value).is_file():
            return Path(value)
    return None


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
            help="Cutoff: YYYY-MM-DD (midnight UTC) or an RFC 3339 datetime with a zone.",
        ),
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
            help="Exact pip version that resolves.",
        ),
        click.option("--only-binary", is_flag=True, help="Wheels only (pip --only-binary :all:)."),
        click.option(
            "--platform", "platforms", multiple=True, help="Target platform tag (repeatable)."
        ),
        click.option("--python-version", default=None, help="Target Python version, e.g. 3.10."),
        click.option("--implementation", default=None, help="Target implementation, e.g. cp."),
        click.option("--abi", "abis", multiple=True, help="Target ABI tag (repeatable)."),
        click.option(
            "--upstream",
            callback=_origin,
            default=DEFAULT_UPSTREAM,
            show_default=True,
            help="Index origin serving /simple/ and /pypi/.",
        ),
        click.option(
            "--files-host",
            callback=_origin,
            default=DEFAULT_FILES_HOST,
            show_default=True,
            help="Origin of distribution files.",
        ),
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


def _optional_cutoff(
    ctx: click.Context, param: click.Parameter, value: str | None
) -> datetime | None:
    return None if value is None else _cutoff(ctx, param, value)


def _fetch_request(options: dict[str, Any]) -> FetchRequest:
    from fetcher.fetch import FetchRequest
    from fetcher.pip_runner import Target

    if options["cutoff"] is None:
        raise click.UsageError("Missing option '--date'.")
    target = Target(
        options["python"],
        options["only_binary"],
        options["platforms"],
        options["python_version"],
        options["implementation"],
        options["abis"],
    )
    return FetchRequest(
        cutoff=options["cutoff"],
        target=target,
        requirement_files=options["requirement_files"],
        requirements=options["requirements"],
        pip_version=options["pip_version"],
        upstream=options["upstream"],
        files_host=options["files_host"],
        cache_dir=options["cache_dir"] or _writable_cache_dir(),
        ca_file=_ca_file(),
        allow_recent=options["allow_recent"],
    )


def _run_fetcher(work: Coroutine[Any, Any, object]) -> None:
    import asyncio

    from fetcher.fetch import FetchError
    from fetcher.signals import Interrupted, cancelled_on_signals

    _setup_logging("CRITICAL")
    try:
        asyncio.run(cancelled_on_signals(work))
    except FetchError as exc:
        raise click.ClickException(str(exc)) from None
    except Interrupted as exc:
        # Every fetch and lock writes its output only once all work is done.
        click.echo(f"snapproxy: {exc}; nothing written", err=True)
        sys.exit(exc.exit_status)


@cli.command()
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
            and param.name != "quiet"
            and ctx.get_parameter_source(param.name) is not click.core.ParameterSource.DEFAULT
        ]
        if given:
            raise click.UsageError(
                f"--from-lock takes no {', '.join(given)}: the lock already says what to fetch"
            )
        _run_fetcher(fetch_from_lock(from_lock, out, progress, _ca_file()))
        return
    _run_fetcher(run_fetch(_fetch_request(options), out, progress))


@cli.command()
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


@cli.command(name="hash")
@click.argument("path")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["sri", "nix32", "base16"]),
    default="sri",
    show_default=True,
    help="How to print the digest.",
)
def hash_command(path: str, fmt: str) -> None:
    """Print the NAR sha256 of PATH, as nix-hash --type sha256 and nix hash path."""
    from fetcher.hash_formats import HashFormat, format_hash
    from fetcher.nar import UnsupportedFileType, nar_sha256

    # As Nix (and POSIX): "result/" is what the link points to, "result" the link itself,
    # which may dangle.
    root = Path(os.path.realpath(path)) if path.endswith("/") else Path(path)
    if not os.path.lexists(root):
        raise click.BadParameter(f"{path!r} does not exist", param_hint="'PATH'")
    try:
        digest = nar_sha256(root)
    except (UnsupportedFileType, OSError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(format_hash(digest, cast(HashFormat, fmt)))


@cli.command()
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


def _setup_logging(level: str) -> logging.Logger:
    # Imported here: `snapproxy hash` is timed against nix-hash and needs no logging.
    import logging

    logging.basicConfig(
        level=level, stream=sys.stderr, format="%(asctime)s %(levelname)s %(message)s"
    )
    if level != "DEBUG":
        upstream = logging.getLogger("snapproxy.upstream")
        upstream.setLevel(max(logging.getLevelName(level), logging.INFO))
    return logging.getLogger("snapproxy")


async def _serve(config: ServerConfig, host: str, port: int) -> None:
    import asyncio
    import logging

    from aiohttp import web

    from snapproxy.app import create_app, runner_for

    runner = runner_for(create_app(config))
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    try:
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        raise click.ClickException(
            f"cannot listen on {host}:{port} ({exc.strerror}); choose another --port, or "
            "--port 0 for a free one"
        ) from None
    bound = runner.addresses[0]
    shown = f"[{bound[0]}]" if ":" in bound[0] else bound[0]
    base = f"http://{shown}:{bound[1]}"
    if host not in ("127.0.0.1", "localhost", "::1"):
        logging.getLogger("snapproxy").warning(
            "listening on %s: anyone who can reach it can use this proxy", host
        )
    click.echo(
        f"snapproxy: {config.upstream} as of {format_cutoff(config.cutoff)} on {base}/ "
        f"- pip install --index-url {base}/simple/ ..."
    )
    sys.stdout.flush()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


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
