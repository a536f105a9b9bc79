"""``requirements.lock.txt``: the resolution as pip's hash-checking requirements format.

One ``name==version`` line per project, sorted by name, with a ``--hash=sha256:`` option
for each of its files in the wheelhouse, sorted.  Nothing that varies between runs (no
date, no tool version, no comment) so the file is part of a reproducible output.
"""

from __future__ import annotations

from collections.abc import Iterable

from fetcher.pip_report import ChosenFile

__all__ = ["ConflictingVersions", "render_lock"]


class ConflictingVersions(ValueError):
    """One project chosen at two versions: a lock line cannot say both."""


def render_lock(files: Iterable[ChosenFile]) -> str:
    """The lock text for ``files`` (at most one version per project)."""
    by_project: dict[str, tuple[str, set[str]]] = {}
    for f in files:
        version, hashes = by_project.setdefault(f.name, (f.version, set()))
        if version != f.version:
            raise ConflictingVersions(f"{f.name} is chosen at both {version} and {f.version}")
        hashes.add(f.sha256)
    lines = []
    for name in sorted(by_project):
        version, hashes = by_project[name]
        options = "".join(f" \\\n    --hash=sha256:{h}" for h in sorted(hashes))
        lines.append(f"{name}=={version}{options}\n")
    return "".join(lines)
