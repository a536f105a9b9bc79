"""The ``snapproxy`` console script: ``hash`` without click, everything else through it.

``snapproxy hash PATH`` is timed against ``nix-hash``, whose whole run on a small tree
takes about 15 ms; importing click and the command group (aiohttp and packaging behind
it) takes longer than that.  So an argv that is exactly a hash invocation of one of the
forms ::

    hash PATH    hash PATH --format F    hash --format F PATH    (or --format=F)

with F one of the formats (or none, and F from ``SNAPPROXY_FORMAT`` or the default), runs
:func:`fetcher.hash_path.hash_path` with the standard library alone.  Any other argv
(``--help``, an unknown option, a bad format, no PATH or two, ``--``, shell completion)
goes to :func:`snapproxy.cli.main` unchanged.  So does a hash that fails, before anything
is printed: click then runs the same function again and reports the failure itself, so
every message and exit status has one source.  A failure thus costs a second attempt; the
common one, a PATH that does not exist, is found before any hashing.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # typing costs milliseconds to import; mypy takes this as true
if TYPE_CHECKING:
    from fetcher.hash_formats import HashFormat

__all__ = ["hash_request", "main"]

# Set by a shell asking click for completions (click derives it from the program name).
_COMPLETION_VARIABLE = "_SNAPPROXY_COMPLETE"
# Where click reads --format from when the command line has none: every option has such a
# variable (snapproxy.option_variables, which needs click; a test checks that they agree).
FORMAT_VARIABLE = "SNAPPROXY_FORMAT"


def hash_request(args: list[str]) -> tuple[str, HashFormat] | None:
    """``(PATH, format)`` if ``args`` (argv without the program) is a plain hash
    invocation with a valid format; None for anything click should see."""
    if not args or args[0] != "hash" or _COMPLETION_VARIABLE in os.environ:
        return None
    from fetcher.hash_formats import DEFAULT_FORMAT, FORMATS

    path: str | None = None
    fmt: HashFormat | None = None
    rest = iter(args[1:])
    for arg in rest:
        if arg.startswith("--format="):
            value: str | None = arg[len("--format=") :]
        elif arg == "--format":
            value = next(rest, None)
        elif arg.startswith("-") or path is not None:
            return None  # an option, "-", "--" or a second PATH: click's to judge
        else:
            path = arg
            continue
        if fmt is not None:
            return None  # --format twice: click keeps the last; no need to know that here
        fmt = next((choice for choice in FORMATS if choice == value), None)
        if fmt is None:
            return None
    if path is None:
        return None
    if fmt is None and (value := os.environ.get(FORMAT_VARIABLE)):  # click skips it empty
        fmt = next((choice for choice in FORMATS if choice == value), None)
        if fmt is None:
            return None  # click names the variable in its error
    return path, fmt or DEFAULT_FORMAT


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``snapproxy`` console script."""
    request = hash_request(sys.argv[1:] if argv is None else argv)
    if request is not None and _print_hash(*request):
        return
    from snapproxy.cli import main as cli_main

    cli_main(argv)


def _print_hash(path: str, fmt: HashFormat) -> bool:
    """Print PATH's hash; False, with nothing printed, if click should take over."""
    from fetcher.hash_path import HashFailed, PathMissing, hash_path

    try:
        text = hash_path(path, fmt)
    except (PathMissing, HashFailed):
        return False
    except KeyboardInterrupt:
        # Not worth a second attempt.  What click and snapproxy.cli.main do for an
        # interrupted command: a blank line after the terminal's ^C, exit status 130.
        sys.stderr.write("\n")
        sys.exit(130)
    try:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()
    except OSError:
        return False  # a closed pipe, say: click meets it again and exits as it does
    return True
