"""What a long command tells the person waiting: a line per phase, a bar on a terminal."""

from __future__ import annotations

import sys
from typing import TextIO

__all__ = ["Progress"]


class Progress:
    """Phase lines go to ``stream``; the bar (files done of all) only when it is a terminal."""

    def __init__(self, stream: TextIO | None = None, *, quiet: bool = False):
        self.stream = stream or sys.stderr
        self.quiet = quiet
        self.bar = not quiet and self.stream.isatty()
        self._total = 0
        self._done = 0

    def phase(self, message: str) -> None:
        if not self.quiet:
            self.stream.write(f"snapproxy: {message}\n")
            self.stream.flush()

    def start_bar(self, total: int) -> None:
        self._total, self._done = total, 0
        self._draw()

    def advance(self, amount: int) -> None:
        self._done += amount
        self._draw()

    def end_bar(self) -> None:
        if self.bar:
            self.stream.write("\n")
            self.stream.flush()

    def _draw(self) -> None:
        if not self.bar or self._total <= 0:
            return
        width = 30
        filled = min(width, width * self._done // self._total)
        self.stream.write(
            f"\r  [{'#' * filled}{'.' * (width - filled)}] {self._done}/{self._total}"
        )
        self.stream.flush()
