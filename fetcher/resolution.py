"""What a resolution chose: the files to fetch and the environment it was made for."""

from __future__ import annotations

from dataclasses import dataclass, replace

from fetcher.pip_report import ChosenFile

__all__ = ["Resolution"]


@dataclass(frozen=True)
class Resolution:
    runtime: list[ChosenFile]
    # Build requirements of the sdists, not already in the runtime set.
    build: list[ChosenFile]
    # The PEP 508 environment of the target (pip's, with the target options applied).
    environment: dict[str, str]

    @property
    def files(self) -> list[ChosenFile]:
        return sorted({f.filename: f for f in [*self.runtime, *self.build]}.values())

    def moved(self, old_base: str, new_base: str) -> Resolution:
        """The same choice with file URLs under ``new_base`` instead of ``old_base``
        (the in-process proxy listens on another port each run)."""

        def move(f: ChosenFile) -> ChosenFile:
            if not f.url.startswith(old_base):
                raise ValueError(f"{f.url} is not under {old_base}")
            return replace(f, url=new_base + f.url[len(old_base) :])

        return Resolution(
            [move(f) for f in self.runtime], [move(f) for f in self.build], self.environment
        )
