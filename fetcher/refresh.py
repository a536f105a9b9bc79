"""``snapproxy refresh``: make the hashes of fetchPythonRequirements calls true again.

Hash discovery (``--via nix``: a build with the fake hash, read Nix's mismatch message;
``--via local``: the same fetch run here and NAR-hashed) is separate from writing
(:mod:`fetcher.hash_rewrite`); the file is rewritten atomically and only where a hash
changed.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from fetcher.hash_formats import InvalidHash, is_fake, parse_hash, sri
from fetcher.hash_rewrite import HashEdit, HashNotLiteral, apply_edits, locate_hash
from fetcher.nar import nar_sha256
from fetcher.nix_calls import AutoArgs, FetchCall, NixError, build_with_hash, find_calls
from fetcher.nix_mismatch import true_hash_from_mismatch
from snapproxy.atomic_file import write_atomically

__all__ = ["Outcome", "RefreshError", "refresh"]

Via = Literal["nix", "local"]


class RefreshError(Exception):
    """Refresh cannot finish; nothing was written."""


@dataclass(frozen=True)
class Outcome:
    attr: str
    old: str
    new: str

    @property
    def changed(self) -> bool:
        try:
            return is_fake(self.old) or parse_hash(self.old) != parse_hash(self.new)
        except InvalidHash:
            return True

    @property
    def respelled(self) -> bool:
        """Right, but not written as SRI (nix32 or base16 under ``sha256 =``)."""
        return not self.changed and self.old != self.new

    def line(self) -> str:
        name = self.attr or "(file)"
        state = "changed" if self.changed else "respelled as SRI" if self.respelled else "unchanged"
        old = self.old or '""'
        return f"{name}: {old} -> {self.new} ({state})"


def hash_via_nix(file: Path, call: FetchCall, auto: AutoArgs) -> str:
    built = build_with_hash(file, call, auto)
    found = true_hash_from_mismatch(built.stderr)
    if found is None:
        # Not a hash mismatch: the build itself failed (or, impossibly, the fake hash
        # matched); show what Nix said.
        raise RefreshError(f"building {call.attr or file} failed:\n{built.stderr.strip()}")
    return found


def hash_via_local(call: FetchCall) -> str:
    """Run the call's own fetch command line here, with this snapproxy, and hash it."""
    args = list(call.fetch_args)
    try:
        out_index = args.index("--output") + 1
    except ValueError:
        raise RefreshError(f"{call.attr}: the fetch arguments name no --output") from None
    with tempfile.TemporaryDirectory(prefix="snapproxy-refresh-") as tmp:
        out = Path(tmp) / "out"
        args[out_index] = str(out)
        result = subprocess.run(
            [sys.executable, "-m", "snapproxy", *args],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise RefreshError(
                f"fetching {call.attr or 'the call'} failed:\n{result.stderr.strip()}"
            )
        return sri(nar_sha256(out))


def _edit(call: FetchCall, new: str) -> tuple[Path, HashEdit]:
    if call.file is None or not call.file.is_file():
        raise RefreshError(f"{call.attr}: Nix reports no file position for its `{call.hash_attr}`")
    text = _read(call.file)
    try:
        return call.file, locate_hash(text, call.line, call.column, call.hash_attr, new)
    except HashNotLiteral as exc:
        raise RefreshError(f"{call.file}: {exc}") from None


def _read(path: Path) -> str:
    # newline="": the file's own line endings survive the rewrite (CRLF stays CRLF).
    with open(path, encoding="utf-8", newline="") as handle:
        return handle.read()


def refresh(
    file: Path,
    attrs: Sequence[str],
    via: Via,
    auto: AutoArgs,
    check: bool,
    report: Callable[[str], None],
) -> list[Outcome]:
    """Find the true hash of every call and, unless ``check``, write the stale ones."""
    try:
        calls = find_calls(file, attrs, auto)
    except NixError as exc:
        raise RefreshError(f"cannot evaluate {file}:\n{exc}") from None
    if not calls:
        raise RefreshError(f"{file} contains no fetchPythonRequirements call")
    outcomes: list[Outcome] = []
    edits: dict[Path, list[HashEdit]] = {}
    for call in calls:
        new = hash_via_nix(file, call, auto) if via == "nix" else hash_via_local(call)
        outcome = Outcome(call.attr, call.hash, new)
        outcomes.append(outcome)
        if outcome.changed or outcome.respelled:
            # Located before anything is written, so a refusal leaves every file as it was.
            target, edit = _edit(call, new)
            same_place = [e for e in edits.get(target, []) if e.start == edit.start]
            if same_place and same_place[0].new != edit.new:
                raise RefreshError(
                    f"{target}:{call.line}: one `{call.hash_attr}` serves calls whose hashes "
                    "differ; give each call its own hash"
                )
            if not same_place:
                edits.setdefault(target, []).append(edit)
    for outcome in outcomes:
        report(outcome.line())
    if not check:
        for target, target_edits in edits.items():
            text = apply_edits(_read(target), target_edits)
            write_atomically(target, text.encode("utf-8"), target.stat().st_mode & 0o7777)
    return outcomes
