"""Which upstream copies of project pages a proxy answered from, for its one client.

The fetcher runs pip against its own proxy; pip's resolution is a function of the pages
it read, so naming the upstream copy (the page cache key and the body's sha256) of each
is what lets a later run know that pip would see the same pages again.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["PageLog"]


@dataclass
class PageLog:
    copies: dict[str, str] = field(default_factory=dict)  # page cache key -> sha256
    # A page request failed or two copies of one page were used: what the client saw is
    # then not described by ``copies``.
    incomplete: bool = False

    def served(self, key: str, digest: str) -> None:
        if self.copies.setdefault(key, digest) != digest:
            self.incomplete = True

    def failed(self) -> None:
        self.incomplete = True
