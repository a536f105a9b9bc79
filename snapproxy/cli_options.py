"""Option values shared by the commands: cutoffs, origins, sizes, where things live.

Each callback turns a user's text into a value or raises click's one-line error naming the
value and the fix.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

import click

from snapproxy.defaults import DEFAULT_FILES_HOST, DEFAULT_UPSTREAM

if TYPE_CHECKING:
    import logging

    from snapproxy.cutoff_policy import Cutoff, PackageCutoff
    from snapproxy.index_routing import IndexRouting

__all__ = [
    "ca_file",
    "cutoff_value",
    "default_cache_dir",
    "index_options",
    "index_routing",
    "install_redaction",
    "netrc_file",
    "origin_options",
    "origin_value",
    "package_date_option",
    "package_dates_value",
    "setup_logging",
    "size_value",
]

F = TypeVar("F", bound=Callable[..., Any])

DATE_HELP = (
    "Cutoff: YYYY-MM-DD (midnight UTC), an RFC 3339 datetime with a zone, or a duration "
    "back from now (P7D, PT12H, P1W, 7d, 12h, 1w, 30m)."
)
PACKAGE_DATE_HELP = (
    "NAME=CUTOFF: a cutoff of its own for one project, winning over --date (repeatable); "
    "CUTOFF as --date, or none for no cutoff."
)


def package_date_option() -> Callable[[F], F]:
    """``--package-date NAME=CUTOFF`` (repeatable), as every command that filters takes it."""
    return click.option(
        "--package-date",
        "package_dates",
        multiple=True,
        callback=package_dates_value,
        metavar="NAME=CUTOFF",
        help=PACKAGE_DATE_HELP,
    )


def origin_options() -> list[Callable[[F], F]]:
    """``--upstream`` and ``--files-host``: where the index and its files come from."""
    return [
        click.option(
            "--upstream",
            callback=origin_value,
            default=DEFAULT_UPSTREAM,
            show_default=True,
            help="Index origin serving /simple/ and /pypi/.",
        ),
        click.option(
            "--files-host",
            callback=origin_value,
            default=DEFAULT_FILES_HOST,
            show_default=True,
            help="Origin of distribution files.",
        ),
    ]


def index_options() -> list[Callable[[F], F]]:
    """``--index``, ``--route``, ``--undated-index`` and ``--netrc``: private indexes."""
    return [
        click.option(
            "--index",
            "indexes",
            multiple=True,
            callback=_indexes_value,
            metavar="NAME=URL",
            help="A private index by its simple root URL, e.g. corp=https://host/simple/ "
            "(repeatable); credentials as user:password@host or in the netrc file.",
        ),
        click.option(
            "--route",
            "routes",
            multiple=True,
            callback=_routes_value,
            metavar="PATTERN=NAME",
            help="Projects whose name matches PATTERN (a name or a glob such as corp-*) come "
            "from index NAME only; all others from --upstream only (repeatable).",
        ),
        click.option(
            "--undated-index",
            "undated_indexes",
            multiple=True,
            metavar="NAME",
            help="Show files without an upload time from index NAME (hidden otherwise; "
            "the sha256 a fetch or lock records then guards them) (repeatable).",
        ),
        click.option(
            "--netrc",
            "netrc_file",
            type=click.Path(dir_okay=False, path_type=Path),
            default=None,
            help="netrc file with credentials of the indexes [default: $NETRC, else ~/.netrc].",
        ),
    ]


def _indexes_value(
    ctx: click.Context, param: click.Parameter, value: Sequence[str]
) -> list[tuple[str, str, Any]]:
    from snapproxy.index_routing import InvalidIndex, parse_index

    try:
        return [parse_index(text) for text in value]
    except InvalidIndex as exc:
        raise click.BadParameter(str(exc), ctx, param) from None


def _routes_value(ctx: click.Context, param: click.Parameter, value: Sequence[str]) -> list[Any]:
    from snapproxy.index_routing import InvalidRoute, parse_route

    try:
        return [parse_route(text) for text in value]
    except InvalidRoute as exc:
        raise click.BadParameter(str(exc), ctx, param) from None


def netrc_file(options: dict[str, Any] | Any) -> Path | None:
    """``--netrc`` when given (it must be a file), else None."""
    given: Path | None = options["netrc_file"]
    if given is not None and not given.is_file():
        raise click.BadParameter(
            f"{str(given)!r} is no file; name an existing netrc file", param_hint="'--netrc'"
        )
    return given


def index_routing(options: dict[str, Any] | Any) -> IndexRouting:
    """The routing of :func:`index_options`' values, with credentials from the netrc file
    for the indexes whose URL has none; a one-line usage error when they disagree."""
    from urllib.parse import urlsplit

    from snapproxy.credentials import NetrcUnreadable, default_netrc, read_netrc
    from snapproxy.index_routing import InvalidIndex, InvalidRoute, routing_from

    path = netrc_file(options) or default_netrc()
    try:
        # Read only when an index needs it: a broken netrc of no concern stays so.
        needing = [(name, url) for name, url, given in options["indexes"] if given is None]
        by_host = read_netrc(path if needing else None)
        lookup = {name: by_host(urlsplit(url).hostname or "") for name, url in needing}
        return routing_from(
            options["indexes"], options["routes"], options["undated_indexes"], lookup
        )
    except NetrcUnreadable as exc:
        raise click.ClickException(str(exc)) from None
    except (InvalidIndex, InvalidRoute) as exc:
        raise click.UsageError(str(exc)) from None


def install_redaction(routing: IndexRouting) -> None:
    """Mask the indexes' passwords in every log line, whatever logs it."""
    import logging

    from snapproxy.credentials import RedactingFilter, Redactor

    redactor = Redactor(index.credentials for index in routing.indexes)
    if not redactor.secrets:
        return
    for handler in logging.getLogger().handlers:
        handler.addFilter(RedactingFilter(redactor))


def cutoff_value(ctx: click.Context, param: click.Parameter, value: str) -> Cutoff:
    """``--date``: an instant, or a duration (cutoff_policy.parse_date)."""
    # Here, not above: the names rule behind cutoff_policy loads packaging, which the
    # CLI's start does without.
    from snapproxy.cutoff import CutoffError
    from snapproxy.cutoff_policy import parse_date

    try:
        return parse_date(value)
    except CutoffError as exc:
        raise click.BadParameter(str(exc), ctx, param) from None


def package_dates_value(
    ctx: click.Context, param: click.Parameter, value: Sequence[str]
) -> dict[str, PackageCutoff]:
    """``--package-date NAME=CUTOFF`` items, by PEP 503 normal name."""
    from snapproxy.cutoff import CutoffError
    from snapproxy.cutoff_policy import package_dates

    try:
        return package_dates(value)
    except CutoffError as exc:
        raise click.BadParameter(str(exc), ctx, param) from None


def origin_value(ctx: click.Context, param: click.Parameter, value: str) -> str:
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


def size_value(ctx: click.Context, param: click.Parameter, value: str) -> int:
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


def ca_file() -> Path | None:
    """The CA bundle a Nix build names (``NIX_SSL_CERT_FILE``, as nixpkgs fetchers)."""
    for variable in ("NIX_SSL_CERT_FILE", "SSL_CERT_FILE"):
        value = os.environ.get(variable)
        if value and Path(value).is_file():
            return Path(value)
    return None


def setup_logging(level: str) -> logging.Logger:
    # Imported here: `snapproxy hash` is timed against nix-hash and needs no logging.
    import logging

    logging.basicConfig(
        level=level, stream=sys.stderr, format="%(asctime)s %(levelname)s %(message)s"
    )
    if level != "DEBUG":
        upstream = logging.getLogger("snapproxy.upstream")
        upstream.setLevel(max(logging.getLevelName(level), logging.INFO))
    return logging.getLogger("snapproxy")
