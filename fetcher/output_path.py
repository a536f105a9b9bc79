"""Whether ``-o`` can be written, asked before any work rather than found out after it.

A resolution and download can take minutes; an output that cannot be made must be
refused up front, naming the path and the fix.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["UnusableOutput", "check_new_directory", "check_writable_file"]


class UnusableOutput(ValueError):
    """``-o`` names something that cannot be created or replaced."""


def check_new_directory(out: Path) -> None:
    """``out`` does not exist and can be made in an existing, writable directory."""
    if out.exists() or out.is_symlink():
        raise UnusableOutput(f"output {out} already exists; remove it or choose another -o")
    _check_parent(out)


def check_writable_file(out: Path) -> None:
    """``out`` can be written (created, or replaced by a rename in its directory)."""
    if out.is_dir():
        raise UnusableOutput(f"output {out} is a directory; name a file with -o")
    _check_parent(out)


def _check_parent(out: Path) -> None:
    # absolute(): the parent of a bare name is the working directory, not ".".
    parent = out.absolute().parent
    if not parent.exists():
        raise UnusableOutput(
            f"cannot write {out}: directory {parent} does not exist; create it or choose "
            "another -o"
        )
    if not parent.is_dir():
        raise UnusableOutput(f"cannot write {out}: {parent} is not a directory; choose another -o")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise UnusableOutput(
            f"cannot write {out}: directory {parent} is not writable; choose another -o"
        )
