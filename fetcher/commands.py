"""``snapproxy fetch`` and ``lock``: the commands that resolve with pip (``hash`` and
``refresh`` are in :mod:`fetcher.nix_commands`).

Heavy modules are imported inside the commands, so that loading the CLI stays light;
``snapproxy hash`` itself usually starts through :mod:`snapproxy.launcher`, without click.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Coroutine
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

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
    from fetcher.lock_target import LockTarget
    from snapproxy.cutoff_policy import Cutoff

__all__ = ["fetch", "lock"]


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
        # Absolute: pip runs in a work directory of its own, and reads the cached pip there.
        cache_dir=(
            options["cache_dir"].absolute() if options["cache_dir"] else _writable_cache_dir()
        ),
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


def _fetch_lock_targets(
    ctx: click.Context, param: click.Parameter, values: tuple[str, ...]
) -> tuple[LockTarget, ...]:
    """``fetch --target``: each a LockTarget, or a usage error with parse_target's reason."""
    from fetcher.lock_target import InvalidTarget, parse_target

    try:
        return tuple(parse_target(value) for value in values)
    except InvalidTarget as exc:
        raise click.BadParameter(str(exc), ctx, param) from None


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
    help="Download the files of this PEP 751 lock (snapproxy's, uv's or pip's) that the "
    "target uses, no resolution.",
)
@click.option(
    "--target",
    "targets",
    multiple=True,
    callback=_fetch_lock_targets,
    metavar="PYVER:PLATFORM[:IMPL[:ABI]]",
    help="With --from-lock: fetch what this environment uses, e.g. 3.11:manylinux_2_17_x86_64 "
    "(repeatable: one wheelhouse for all) [default: this Python].",
)
def fetch(
    out: Path, from_lock: Path | None, targets: tuple[LockTarget, ...], **options: Any
) -> None:
    """Resolve requirements as of --date with a pinned pip; write a wheelhouse to -o."""
    from fetcher.fetch import fetch as run_fetch
    from fetcher.fetch import fetch_from_lock
    from fetcher.progress import Progress

    progress = Progress(quiet=options["quiet"])
    if targets and from_lock is None:
        # Resolving for another platform is --platform/--python-version's job; a target
        # here selects from a lock's files.
        source = click.get_current_context().get_parameter_source("targets")
        whence = (
            " (SNAPPROXY_TARGET is set)"
            if source is click.core.ParameterSource.ENVIRONMENT
            else ""
        )
        raise click.UsageError(
            f"--target selects from a lock: give --from-lock too{whence} (to resolve for "
            "another platform, use --platform, --python-version, --implementation and --abi)"
        )
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
        _run_fetcher(
            fetch_from_lock(from_lock, out, progress, ca_file(), targets, netrc_file=credentials)
        )
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
@click.option(
    "--target",
    "targets",
    multiple=True,
    callback=_fetch_lock_targets,
    metavar="PYVER:PLATFORM[:IMPL[:ABI]]",
    help="Resolve for this environment, e.g. 3.11:manylinux_2_17_x86_64, wheels only "
    "(repeatable: one lock for all, each package marked for the targets that use it).",
)
def lock(out: Path, targets: tuple[LockTarget, ...], **options: Any) -> None:
    """Resolve as fetch does and write the result as a PEP 751 pylock.toml."""
    from fetcher.fetch import lock as run_lock
    from fetcher.fetch import lock_for_targets
    from fetcher.lock_target import InvalidTarget, distinct_targets
    from fetcher.progress import Progress

    progress = Progress(quiet=options["quiet"])
    if not targets:
        _run_fetcher(run_lock(_fetch_request(options), out, progress))
        return
    ctx = click.get_current_context()
    # A target names its tags and its interpreter's environment; these would contradict it.
    for param in ctx.command.params:
        if param.name in _TARGET_OPTIONS and (
            ctx.get_parameter_source(param.name) is not click.core.ParameterSource.DEFAULT
        ):
            raise click.UsageError(
                f"--target cannot be combined with {param.opts[0]}: a target names its "
                "platform, Python version, implementation and ABI, and resolves wheels only"
            )
    try:
        distinct_targets(targets)
    except InvalidTarget as exc:
        raise click.BadParameter(str(exc), ctx, param_hint="'--target'") from None
    _run_fetcher(lock_for_targets(_fetch_request(options), targets, out, progress))


# resolution_options that say what --target says: refused beside it.
_TARGET_OPTIONS = ("python", "only_binary", "platforms", "python_version", "implementation", "abis")
