"""Checking requirements files for options that would leave the snapshot.

pip obeys ``--index-url``, ``--extra-index-url``, ``--find-links`` and friends written
inside a requirements file even when it runs isolated, which would mix today's files (or
a local directory) into a snapshot resolution.  Such files are refused up front, with the
line that must go.  Nested ``-r``/``-c`` files are checked too.

The file is read the way pip reads it (``pip._internal.req.req_file``): ``\\``
continuations joined with nothing, comments stripped, the options after the requirement
parsed with optparse, which accepts any unambiguous prefix of a long option and short
options with their value attached (``-iURL``).
"""

from __future__ import annotations

import optparse
import re
import shlex
from collections.abc import Iterator
from pathlib import Path

__all__ = ["EscapingOption", "check_requirement_file"]

_COMMENT = re.compile(r"(^|\s+)#.*$")


class EscapingOption(ValueError):
    """A requirements file sets an index or link option."""


class _Refused(Exception):
    pass


class _Parser(optparse.OptionParser):
    def error(self, msg: str) -> None:  # type: ignore[override]
        # An option pip does not know either: pip will refuse the file itself.
        raise _Refused(msg)


def _parser() -> _Parser:
    """The options pip accepts in a requirements file (pip 26), by their pip names."""
    parser = _Parser(add_help_option=False)
    for flags, dest, action in [
        (("-i", "--index-url", "--pypi-url"), "index_url", "store"),
        (("--extra-index-url",), "extra_index_urls", "append"),
        (("--no-index",), "no_index", "store_true"),
        (("-f", "--find-links"), "find_links", "append"),
        (("--trusted-host",), "trusted_hosts", "append"),
        (("-r", "--requirement"), "requirements", "append"),
        (("-c", "--constraint"), "constraints", "append"),
        (("-e", "--editable"), "editables", "append"),
        (("--only-binary",), "only_binary", "append"),
        (("--no-binary",), "no_binary", "append"),
        (("--prefer-binary",), "prefer_binary", "store_true"),
        (("--require-hashes",), "require_hashes", "store_true"),
        (("--pre",), "pre", "store_true"),
        (("--use-feature",), "features", "append"),
        (("--hash",), "hashes", "append"),
        (("--config-settings",), "config_settings", "append"),
        (("--global-option",), "global_options", "append"),
        (("--dry-run",), "dry_run", "store_true"),
    ]:
        parser.add_option(*flags, dest=dest, action=action)
    return parser


# The options that choose where distributions come from, by their pip spelling.
_ESCAPES = {
    "index_url": "--index-url",
    "extra_index_urls": "--extra-index-url",
    "no_index": "--no-index",
    "find_links": "--find-links",
    "trusted_hosts": "--trusted-host",
}


def _logical_lines(text: str) -> Iterator[tuple[int, str]]:
    """pip's ``join_lines`` and ``ignore_comments``."""
    start, parts = 0, list[str]()
    for number, line in enumerate(text.splitlines(), start=1):
        if line.endswith("\\") and not _COMMENT.match(line):
            if not parts:
                start = number
            parts.append(line.strip("\\"))
            continue
        if parts:
            parts.append(line)
            line, number = "".join(parts), start
            parts = []
        yield number, _COMMENT.sub("", line).strip()
    if parts:
        yield start, _COMMENT.sub("", "".join(parts)).strip()


def _options(line: str) -> str:
    """pip's ``break_args_options``: everything from the first word that starts with -."""
    words = line.split(" ")
    for n, word in enumerate(words):
        if word.startswith("-"):
            return " ".join(words[n:])
    return ""


def check_requirement_file(path: Path, _seen: frozenset[Path] = frozenset()) -> None:
    """Raise :class:`EscapingOption` if ``path`` (or a file it includes) sets an index."""
    resolved = path.resolve()
    if resolved in _seen:
        return
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise FileNotFoundError(f"cannot read requirements file {path}: {exc.strerror}") from None
    parser = _parser()
    for number, line in _logical_lines(text):
        options = _options(line)
        if not options:
            continue
        try:
            values, _ = parser.parse_args(shlex.split(options), optparse.Values())
        except (_Refused, ValueError) as exc:
            # pip would refuse the line too; refusing here keeps the check sound.
            raise EscapingOption(f"{path}:{number} cannot be read ({exc}); fix that line") from None
        for dest, spelling in _ESCAPES.items():
            if getattr(values, dest, None):
                raise EscapingOption(
                    f"{path}:{number} sets {spelling}; snapproxy resolves from the snapshot "
                    "only, so remove that option"
                )
        nested_files = [
            *(getattr(values, "requirements", None) or []),
            *(getattr(values, "constraints", None) or []),
        ]
        for nested in nested_files:
            if "://" in nested:
                raise EscapingOption(
                    f"{path}:{number} includes {nested}, fetched from the network at "
                    "resolution time; copy it next to the file instead"
                )
            check_requirement_file(path.parent / nested, _seen | {resolved})
