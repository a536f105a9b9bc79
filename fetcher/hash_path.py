"""What ``snapproxy hash PATH`` prints: the NAR sha256 of the object PATH names.

The one implementation behind both ways the command runs: the click command
(:func:`fetcher.nix_commands.hash_command`) and the console script's start-up fast path
(:mod:`snapproxy.launcher`), so that both resolve PATH, hash it and spell the digest alike.
It is on the fast path, so it imports the standard library's lightest modules only.
"""

from __future__ import annotations

import os

from fetcher.hash_formats import HashFormat, format_hash
from fetcher.nar import nar_sha256

__all__ = ["HashFailed", "PathMissing", "hash_path", "resolve"]


class PathMissing(ValueError):
    """PATH names nothing, not even a dangling symlink (a usage mistake)."""


class HashFailed(Exception):
    """PATH exists but its NAR cannot be made: a FIFO or socket in it, an unreadable file,
    a file that changed while it was read."""


def resolve(path: str) -> str:
    """The file system object that ``path`` names, as Nix (and POSIX) read it.

    ``result/`` is what the link ``result`` points to, ``result`` the link itself (which
    may dangle).
    """
    root = os.path.realpath(path) if path.endswith("/") else path
    if not os.path.lexists(root):
        raise PathMissing(f"{path!r} does not exist")
    return root


def hash_path(path: str, fmt: HashFormat) -> str:
    """``nix-hash --type sha256 PATH`` (``nix hash path``) spelled in ``fmt``."""
    root = resolve(path)
    try:
        digest = nar_sha256(root)
    except (OSError, ValueError) as exc:  # UnsupportedFileType is a ValueError
        raise HashFailed(str(exc)) from exc
    return format_hash(digest, fmt)
