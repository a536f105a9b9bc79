"""Option values shared by the commands: cutoffs, origins, sizes, where things live.

Each callback turns a user's text into a value or raises click's one-line error naming the
value and the fix.
"""

from __future__ import annotations

import os
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import click

from snapproxy.cutoff import CutoffError, parse_cutoff
from snapproxy.defaults import DEFAULT_UPSTREAM

if TYPE_CHECKING:
    import logging

__all__ = [
    "ca_file",
    "cutoff_value",
    "default_cache_dir",
    "origin_value",
    "setup_logging",
    "size_value",
]


def cutoff_value(ctx: click.Context, param: click.Parameter, value: str) -> datetime:
    try:
        return parse_cutoff(value)
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
