"""What one snapshot view shows: the cutoff plus the two policies that shape it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Literal

from snapproxy.cutoff import format_cutoff, is_visible, parse_upload_time

__all__ = ["JSON", "Snapshot", "Snapshots", "YankedPolicy", "describe_cutoff"]

JSON = dict[str, Any]
YankedPolicy = Literal["keep", "ignore"]


def describe_cutoff(cutoff: datetime | None) -> str:
    """``before <instant>`` for a cutoff, or what no cutoff means, for messages."""
    return "with no cutoff" if cutoff is None else f"before {format_cutoff(cutoff)}"


@dataclass(frozen=True)
class Snapshot:
    """A view of one project's files at ``cutoff`` (None: no cutoff, every file).

    ``yanked="keep"`` passes PEP 592 yank marks through; ``"ignore"`` shows every file
    unyanked so a yank made after the cutoff cannot change a resolution.
    """

    cutoff: datetime | None
    yanked: YankedPolicy = "keep"
    allow_undated: bool = False

    def shows(self, upload_time: object) -> bool:
        """Whether a file with this raw upload-time value exists in the snapshot."""
        return is_visible(
            parse_upload_time(upload_time), self.cutoff, allow_undated=self.allow_undated
        )


@dataclass(frozen=True)
class Snapshots:
    """The snapshot of every project at one moment: ``default``, unless ``projects`` has
    one of its own for that project (``--package-date``, by PEP 503 normal name)."""

    default: Snapshot
    projects: Mapping[str, Snapshot] = field(default_factory=dict)
    # Whether a project comes from an index named with --undated-index, whose files are
    # shown without an upload time.
    undated: Callable[[str], bool] | None = None

    def of(self, project: str) -> Snapshot:
        """The snapshot of ``project`` (a PEP 503 normal name)."""
        found = self.projects.get(project, self.default)
        if self.undated is not None and not found.allow_undated and self.undated(project):
            return replace(found, allow_undated=True)
        return found
