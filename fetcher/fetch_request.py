"""What a ``fetch`` or ``lock`` is asked for, checked before any work, and the proxy it runs."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from functools import cached_property
from pathlib import Path
from typing import Any

import aiohttp

from fetcher.pip_runner import (
    DEFAULT_PIP_VERSION,
    Target,
)
from fetcher.requirement_files import (
    FilesRead,
    LeavesSnapshot,
    check_requirement,
    check_requirement_file,
)
from fetcher.requirements_lock import ConflictingVersions
from snapproxy.app import ServerConfig
from snapproxy.cutoff import format_cutoff, is_future, is_recent
from snapproxy.cutoff_policy import CutoffPolicy, describe
from snapproxy.defaults import DEFAULT_FILES_HOST, DEFAULT_UPSTREAM
from snapproxy.index_routing import IndexRouting
from snapproxy.upstream import UpstreamError


class FetchError(Exception):
    """A fetch that cannot complete; the message says what and why, in one place."""


# What a fetch or lock can meet on the way that is the world's fault, not a bug: each is
# reported as one FetchError line.
FAILURES = (
    FetchError,
    ConflictingVersions,
    UpstreamError,
    LookupError,
    aiohttp.ClientError,
    asyncio.TimeoutError,
    OSError,
)


@dataclass(frozen=True)
class FetchRequest:
    cutoff: datetime
    target: Target
    requirement_files: tuple[Path, ...] = ()
    requirements: tuple[str, ...] = ()
    pip_version: str = DEFAULT_PIP_VERSION
    upstream: str = DEFAULT_UPSTREAM
    files_host: str = DEFAULT_FILES_HOST
    cache_dir: Path | None = None
    ca_file: Path | None = None
    allow_recent: bool = False
    now: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    # --package-date as instants (None: no cutoff), by PEP 503 normal name: a project's own
    # cutoff wins over ``cutoff``.
    package_cutoffs: Mapping[str, datetime | None] = field(default_factory=dict)
    # --date and --package-date as written (a duration was turned into the instant above
    # once, at ``now``): recorded in a lock, never part of the memo's key.
    given: CutoffPolicy | None = None
    # --index, --route, --undated-index (with their credentials, which go nowhere else).
    routing: IndexRouting = field(default_factory=IndexRouting)

    def index_of(self, project: str) -> str:
        """The simple root URL ``project`` comes from (no credentials), for a lock."""
        index = self.routing.index_for(project)
        return f"{self.upstream}/simple/" if index is None else index.url

    def index_record(self) -> dict[str, Any]:
        """What a lock records of the indexes (pylock_for's ``index``, ``index_of`` and
        ``routing``): the default, each project's, and the routing when there is one."""
        return {
            "index": f"{self.upstream}/simple/",
            "index_of": self.index_of,
            "routing": self.routing.describe() if self.routing.indexes else None,
        }

    @property
    def policy(self) -> CutoffPolicy:
        """The cutoffs as instants: what the resolution depends on."""
        return CutoffPolicy(self.cutoff, self.package_cutoffs)

    def check(self) -> None:
        """Refuse what cannot give a reproducible result, before any work."""
        if not self.requirement_files and not self.requirements:
            raise FetchError("nothing to fetch: give -r FILE or requirements")
        self._check_cutoff(self.cutoff, "--date")
        for project, cutoff in sorted(self.package_cutoffs.items()):
            self._check_cutoff(cutoff, f"--package-date {project}=", project)
        try:
            for requirement in self.requirements:
                check_requirement(requirement)
            self.files_read  # noqa: B018 - reads and checks them
        except (LeavesSnapshot, FileNotFoundError) as exc:
            raise FetchError(str(exc)) from None

    @cached_property
    def files_read(self) -> FilesRead:
        """What pip will read of the requirements files (they, their includes, their
        requirement lines), read and checked once: the memo's key and the prefetch use the
        same reading as the check, not a later one."""
        read = FilesRead()
        for path in self.requirement_files:
            found = check_requirement_file(path)
            read.paths += found.paths
            read.requirements += found.requirements
        return read

    def _check_cutoff(self, cutoff: datetime | None, option: str, project: str = "") -> None:
        """``--package-date NAME=none`` moves as a recent cutoff does (with every release of
        NAME), so it takes ``--allow-recent`` as well."""
        if cutoff is None:
            if not self.allow_recent:
                raise FetchError(
                    f"{option}none shows every upload of {project} up to the fetch, so the "
                    f"result changes with its next release; give {project} a cutoff, or "
                    "pass --allow-recent"
                )
            return
        if is_future(cutoff, self.now):
            now = format_cutoff(self.now.replace(microsecond=0))
            raise FetchError(
                f"cutoff {format_cutoff(cutoff)} is in the future (now is {now}), so it "
                f"names no snapshot yet; choose a past {option.rstrip('=')}"
            )
        if is_recent(cutoff, self.now) and not self.allow_recent:
            raise FetchError(
                f"cutoff {format_cutoff(cutoff)} is less than an hour ago, so uploads may "
                f"still appear before it; choose an earlier {option.rstrip('=')} or pass "
                "--allow-recent"
            )


def durations_line(request: FetchRequest) -> str | None:
    """The instants the durations given stand for, in one line; None when none was given."""
    given = request.given
    if given is None:
        return None
    named = [("--date ", given.default, request.cutoff)] + [
        (f"--package-date {project}=", cutoff, request.package_cutoffs[project])
        for project, cutoff in sorted(given.packages.items())
    ]
    parts = [
        f"{option}{describe(written)} is {describe(instant)}"
        for option, written, instant in named
        if isinstance(written, timedelta)
    ]
    if not parts:
        return None
    return "; ".join(parts) + " (now minus the duration, fixed for this run)"


def proxy_config(request: FetchRequest, workdir: Path) -> ServerConfig:
    # yanked=ignore: a yank made after the cutoff must not change a reproducible result.
    # Without a cache (a Nix build) the run's own scratch store keeps files pip already
    # downloaded from being fetched from upstream again for the wheelhouse.
    return ServerConfig(
        cutoff=request.cutoff,
        package_cutoffs=request.package_cutoffs,
        upstream=request.upstream,
        files_host=request.files_host,
        cache_dir=request.cache_dir or workdir / "cache",
        ca_file=request.ca_file,
        yanked="ignore",
        routing=request.routing,
    )
