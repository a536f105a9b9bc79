"""What one ``snapproxy serve`` (or the fetcher's in-process proxy) is configured with."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from snapproxy.cutoff_policy import CutoffPolicy, PackageCutoff
from snapproxy.defaults import DEFAULT_FILES_HOST, DEFAULT_UPSTREAM
from snapproxy.index_routing import IndexRouting
from snapproxy.memory_budget import DEFAULT_BUDGET
from snapproxy.snapshot import Snapshots, YankedPolicy
from snapproxy.upstream import DEFAULT_MAX_DOCUMENT

__all__ = ["ServerConfig"]


@dataclass(frozen=True)
class ServerConfig:
    # --date: an instant, or an age (a rolling cutoff: now minus it at each request).
    cutoff: datetime | timedelta
    upstream: str = DEFAULT_UPSTREAM
    files_host: str = DEFAULT_FILES_HOST
    cache_dir: Path | None = None
    yanked: YankedPolicy = "keep"
    allow_undated: bool = False
    direct_files: bool = False
    timeout: float = 30.0
    retries: int = 3
    backoff: float = 0.25
    max_age: float = 600.0
    # One byte budget over every in-memory cache (memory_budget).
    memory_budget: int = DEFAULT_BUDGET
    # Upstream documents above this many bytes are refused (a 502 naming the option).
    max_page_size: int = DEFAULT_MAX_DOCUMENT
    # Seconds a failed upstream fetch is remembered and answered without asking again.
    negative_ttl: float = 5.0
    # Seconds a connection may stay without a complete request (partial or idle).
    idle_timeout: float = 15.0
    # CA bundle for upstream TLS; None: the system's (a Nix build names cacert's).
    ca_file: Path | None = None
    now: Callable[[], datetime] = field(default=lambda: datetime.now(timezone.utc))
    # --package-date: PEP 503 normal name -> its own cutoff (None: none at all).
    package_cutoffs: Mapping[str, PackageCutoff] = field(default_factory=dict)

    # --index, --route, --undated-index: projects that come from a named private index.
    routing: IndexRouting = field(default_factory=IndexRouting)

    @property
    def policy(self) -> CutoffPolicy:
        return CutoffPolicy(self.cutoff, self.package_cutoffs)

    def snapshots(self, now: datetime) -> Snapshots:
        """Every project's snapshot at ``now``."""
        return self.policy.at(now, self.yanked, self.allow_undated, self.shows_undated)

    def shows_undated(self, project: str) -> bool:
        """Whether ``project`` comes from an index named with --undated-index."""
        index = self.routing.index_for(project)
        return index is not None and index.undated

    @property
    def origins(self) -> tuple[str, ...]:
        """Every origin the proxy may fetch from: the default index, its files host and
        each named index (whose files must be on its own host)."""
        return (self.upstream, self.files_host, *self.routing.origins)
