"""Checking requirements, and requirements files, for anything that would leave the snapshot.

pip obeys ``--index-url``, ``--extra-index-url``, ``--find-links`` and friends written
inside a requirements file even when it runs isolated, which would mix today's files (or
a local directory) into a snapshot resolution.  It also fetches a requirement that is a
URL (``name @ URL``, a bare or VCS URL) or a local path or archive from there, not from
the index.  Such requirements and files are refused before pip runs, naming the
requirement or line that must go.  Nested ``-r``/``-c`` files are checked too.

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
from dataclasses import dataclass, field
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement

__all__ = [
    "DirectReference",
    "EscapingOption",
    "FilesRead",
    "LeavesSnapshot",
    "check_requirement",
    "check_requirement_file",
]

_COMMENT = re.compile(r"(^|\s+)#.*$")
# pip replaces ${NAME} in a requirements file with the variable's value
# (``req_file.ENV_VAR_RE``), which could turn a line into a URL or an option.
_ENV_VAR = re.compile(r"\$\{[A-Z0-9_]+\}")
# pip reads a requirement ending in one of these as a local file (``is_archive_file``).
_ARCHIVES = (
    ".whl", ".zip", ".tar.gz", ".tgz", ".tar", ".tar.bz2", ".tbz",
    ".tar.xz", ".txz", ".tlz", ".tar.lz", ".tar.lzma",
)  # fmt: skip
_TRAILING_EXTRAS = re.compile(r"\[[^\]]*\]$")
_SNAPSHOT_ONLY = "snapproxy resolves from the snapshot only"


class LeavesSnapshot(ValueError):
    """A requirement or requirements-file line that makes pip look beyond the snapshot."""


class EscapingOption(LeavesSnapshot):
    """A requirements file sets an index or link option."""


class DirectReference(LeavesSnapshot):
    """A requirement pip takes from a URL or a local path instead of the index."""


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
    # An editable is always a local directory or a VCS URL.
    "editables": "--editable",
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


def _split(line: str) -> tuple[str, str]:
    """pip's ``break_args_options``: the requirement, and everything from the first word
    that starts with -."""
    words = line.split(" ")
    for n, word in enumerate(words):
        if word.startswith("-"):
            return " ".join(words[:n]), " ".join(words[n:])
    return line, ""


def _why_not_by_name(text: str) -> str | None:
    """Why pip would not look ``text`` up by name on the index, or None if it would."""
    try:
        parsed = Requirement(text)
    except InvalidRequirement as exc:
        if "://" in text or re.match(r"^[a-z]+\+[a-z]+:", text):
            return "is a URL"
        if text.startswith((".", "/", "~")) or "/" in text:
            return "is a local path"
        # The parser's message continues with a drawing of the position.
        return f"is not a valid requirement ({str(exc).splitlines()[0]})"
    if parsed.url:
        return f"is a direct reference to {parsed.url}"
    # pip's parse_req_from_line: markers off, extras off, then the archive test.
    head = _TRAILING_EXTRAS.sub("", text.split(";", 1)[0].strip())
    if head.lower().endswith(_ARCHIVES):
        return "is read by pip as a local archive"
    return None


def check_requirement(text: str, where: str = "requirement") -> None:
    """Raise :class:`DirectReference` unless pip would look ``text`` up on the index."""
    why = _why_not_by_name(text)
    if why is not None:
        raise DirectReference(
            f"{where} {text!r} {why}; {_SNAPSHOT_ONLY}, so require it by name and version"
        )


@dataclass
class FilesRead:
    """What pip will read of a requirements file: the files (it, then each include after
    the file naming it) and the requirement lines of the file itself and of its ``-r``
    includes (not of ``-c`` constraints)."""

    paths: list[Path] = field(default_factory=list)
    requirements: list[str] = field(default_factory=list)


def check_requirement_file(
    path: Path, _seen: frozenset[Path] = frozenset(), *, _constraints: bool = False
) -> FilesRead:
    """Raise :class:`EscapingOption` if ``path`` (or a file it includes) sets an index."""
    resolved = path.resolve()
    read = FilesRead()
    if resolved in _seen:
        return read
    read.paths.append(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise FileNotFoundError(f"cannot read requirements file {path}: {exc.strerror}") from None
    parser = _parser()
    for number, line in _logical_lines(text):
        variable = _ENV_VAR.search(line)
        if variable:
            raise LeavesSnapshot(
                f"{path}:{number} uses {variable.group()}, which pip replaces with the "
                "environment's value; write the value instead"
            )
        requirement, options = _split(line)
        if requirement.strip():
            check_requirement(requirement.strip(), f"{path}:{number}: requirement")
            if not _constraints:
                read.requirements.append(requirement.strip())
        if not options:
            continue
        try:
            values, _ = parser.parse_args(shlex.split(options), optparse.Values())
        except (_Refused, ValueError) as exc:
            # pip would refuse the line too; refusing here keeps the check sound.
            raise EscapingOption(f"{path}:{number} cannot be read ({exc}); fix that line") from None
        for dest, spelling in _ESCAPES.items():
            value = getattr(values, dest, None)
            if value:
                # With its value (the first, for a repeatable one), unless it is a flag.
                given = value[0] if isinstance(value, list) else value
                shown = spelling if given is True else f"{spelling} {given}"
                # pip-compile writes the index it used at the top of its output.
                hint = (
                    " (pip-compile writes it: run it with --no-emit-index-url)"
                    if dest in ("index_url", "extra_index_urls")
                    else ""
                )
                raise EscapingOption(
                    f"{path}:{number} sets {shown}; {_SNAPSHOT_ONLY}, so remove that option"
                    + hint
                )
        nested_files = [
            *((n, _constraints) for n in getattr(values, "requirements", None) or []),
            *((n, True) for n in getattr(values, "constraints", None) or []),
        ]
        for nested, constraints in nested_files:
            if "://" in nested:
                raise EscapingOption(
                    f"{path}:{number} includes {nested}, fetched from the network at "
                    "resolution time; copy it next to the file instead"
                )
            found = check_requirement_file(
                path.parent / nested, _seen | {resolved}, _constraints=constraints
            )
            read.paths += found.paths
            read.requirements += found.requirements
    return read
