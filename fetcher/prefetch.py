"""What pip is about to ask the in-process proxy for, fetched ahead, several at a time.

pip resolves serially: a page, then a whole wheel to read its dependencies (the index
here may publish no separate metadata), then the next page.  Each wheel names the
projects pip will look up next (its ``Requires-Dist`` whose markers hold for the
target); this fetches their pages into the proxy's cache at once, guesses the file pip
will take from each (:mod:`fetcher.likely_file`), starts its download, and reads that
wheel's dependencies in turn, so pip's later requests find their answers ready or under
way.  Only the proxy's cache is touched: what pip is served, and so what it chooses, is
the same without this; a wrong guess costs one download.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine, Iterable, Mapping
from typing import Any

from packaging.specifiers import SpecifierSet

from fetcher.likely_file import Preferences, likely_file
from fetcher.wheel_dependencies import applicable, dependencies, wheel_metadata
from snapproxy.file_store import Verifier
from snapproxy.proxy import Proxy
from snapproxy.snapshot import Snapshots

__all__ = ["Prefetch"]

# Requests under way at once: enough to hide upstream latency, few enough that pip's own
# requests still find a free connection and a free worker.
AT_ONCE = 8


class Prefetch:
    """Follows the wheels ``proxy`` serves (and its own guesses) ahead of pip."""

    def __init__(
        self,
        proxy: Proxy,
        snapshots: Snapshots,
        environment: Mapping[str, str],
        preferences: Preferences,
    ):
        self.proxy = proxy
        self.snapshots = snapshots
        self.environment = dict(environment)
        self.preferences = preferences
        self._projects: set[str] = set()
        self._files: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._limit = asyncio.Semaphore(AT_ONCE)

    def __enter__(self) -> Prefetch:
        self.proxy.file_served = self.file_served
        return self

    def __exit__(self, *exc: object) -> None:
        self.proxy.file_served = None
        for task in self._tasks:
            task.cancel()

    def requirements(self, texts: Iterable[str]) -> None:
        """Start with the top-level requirements (while pip itself is still starting)."""
        self._follow(applicable(texts, self.environment))

    def file_served(self, filename: str, url: str, verifier: Verifier, size: int | None) -> None:
        """The proxy's hook: pip asked for a file."""
        if filename not in self._files:
            self._files.add(filename)
            self._spawn(self._dependencies_of(filename, url, verifier, size))

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _follow(self, wanted: Mapping[str, SpecifierSet]) -> None:
        for name, specifier in wanted.items():
            if name not in self._projects:
                self._projects.add(name)
                self._spawn(self._project(name, specifier))

    async def _project(self, name: str, specifier: SpecifierSet) -> None:
        # Anything that fails here fails for pip as well, which reports it.
        with contextlib.suppress(Exception):
            async with self._limit:
                page = (await self.proxy.page(name)).parsed
            snapshot = self.snapshots.of(name)
            visible = [f for f in page["files"] if snapshot.shows(f.get("upload-time"))]
            chosen = likely_file(visible, specifier, self.preferences)
            if chosen is None:
                return
            filename = str(chosen["filename"])
            entry = await self.proxy.index_entry(name, filename, snapshot)
            verifier = Verifier.for_hashes(entry.get("hashes") or {})
            size = entry.get("size") if isinstance(entry.get("size"), int) else None
            if verifier is not None and filename not in self._files:
                self._files.add(filename)
                async with self._limit:
                    await self._dependencies_of(filename, str(entry["url"]), verifier, size)

    async def _dependencies_of(
        self, filename: str, url: str, verifier: Verifier, size: int | None
    ) -> None:
        with contextlib.suppress(Exception):
            files = self.proxy.files
            stored = files.known(verifier) or await asyncio.to_thread(files.lookup, verifier, size)
            if stored is None:
                # The download pip's request started, or a new one that pip will join.
                download = self.proxy.downloads.get(url, verifier, size)
                await download.settled()
                stored = download.stored
            if stored is None or not filename.endswith(".whl"):
                return
            metadata = await asyncio.to_thread(wheel_metadata, stored)
            if metadata is not None:
                self._follow(dependencies(metadata, self.environment))
