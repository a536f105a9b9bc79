"""What one snapshot view shows: the cutoff plus the two policies that shape it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from snapproxy.cutoff import is_visible, parse_upload_time

__all__ = ["JSON", "Snapshot", "YankedPolicy"]

JSON = dict[str, Any]
YankedPolicy = Literal["keep", "ignore"]


@dataclass(frozen=True)
class Snapshot:
    """A view of the index at ``cutoff``.

    ``yanked="keep"`` passes PEP 592 yank marks through; ``"ignore"`` shows every file
    unyanked so a yank made after the cutoff cannot change a resolution.
    """

    cutoff: datetime
    yanked: YankedPolicy = "keep"
    allow_undated: bool = False

    def shows(self, upload_time: object) -> bool:
        """Whether a file with this raw upload-time value exists in the snapshot."""
        return is_visible(
            parse_upload_time(upload_time), self.cutoff, allow_undated=self.allow_undated
        )
