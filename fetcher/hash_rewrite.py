"""Rewriting one hash attribute in the text of a .nix file, and nothing else.

Nix reports where an attribute is defined (``builtins.unsafeGetAttrPos``: line and
column of its name).  Only a plain string literal (or ``lib.fakeHash``/``fakeSha256``) at
exactly that place is replaced; anything computed is refused, since rewriting it could
change what the expression means.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["HashEdit", "HashNotLiteral", "apply_edits", "locate_hash"]

_VALUE = re.compile(
    r"""(?P<name>hash|sha256|outputHash)\s*=\s*
        (?P<value>"(?:[^"\\$]|\\.|\$(?!\{))*"|(?:pkgs\.)?(?:lib\.)?fake(?:Hash|Sha256))
        \s*;""",
    re.VERBOSE,
)


class HashNotLiteral(ValueError):
    """The hash attribute's value is not a string literal the tool may replace."""


@dataclass(frozen=True)
class HashEdit:
    """Replace ``text[start:end]`` (the value expression) with ``"new"``."""

    start: int
    end: int
    new: str


def _offset(text: str, line: int, column: int) -> int:
    # Lines as Nix counts them: split at "\n" only (splitlines also splits at \x0c, \u2028...).
    lines = text.split("\n")
    if not 1 <= line <= len(lines) or column < 1:
        raise HashNotLiteral(f"line {line}, column {column} is outside the file")
    return sum(len(row) + 1 for row in lines[: line - 1]) + column - 1


def locate_hash(text: str, line: int, column: int, name: str, new: str) -> HashEdit:
    """The edit that sets attribute ``name`` at (``line``, ``column``) to ``new``."""
    where = f"line {line}, column {column}"
    match = _VALUE.match(text, _offset(text, line, column))
    if match is None or match["name"] != name:
        found = text[_offset(text, line, column) :].split("\n", 1)[0].strip()
        raise HashNotLiteral(
            f'{where} is not `{name} = "...";` but `{found}`; write the hash as a plain '
            "string literal there"
        )
    return HashEdit(match.start("value"), match.end("value"), new)


def apply_edits(text: str, edits: list[HashEdit]) -> str:
    """``text`` with every edit applied (from the end, so offsets stay valid)."""
    for edit in sorted(edits, key=lambda e: e.start, reverse=True):
        text = f'{text[: edit.start]}"{edit.new}"{text[edit.end :]}'
    return text
