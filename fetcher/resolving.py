"""Resolution: pip's choice for a request (remembered, or made with the prefetch beside it,
with the build requirements of its sdists), and the clearest account of a failure."""

from __future__ import annotations

import asyncio
import json
import os
import platform
import re
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime
from pathlib import Path

from packaging.tags import sys_tags
from packaging.version import Version

from fetcher import resolution_memo
from fetcher.build_requirements import InvalidSdist, build_requirements
from fetcher.downloading import download_all
from fetcher.fetch_request import FetchError, FetchRequest
from fetcher.inproc_proxy import RunningProxy
from fetcher.likely_file import Preferences, target_tags
from fetcher.pinned_pip import pinned_pip, pip_scratch
from fetcher.pip_report import ChosenFile, InvalidReport, parse_report, report_environment
from fetcher.pip_runner import (
    PipFailed,
    pip_environment,
    pip_resolve_command,
    run_pip,
)
from fetcher.prefetch import Prefetch
from fetcher.progress import Progress
from fetcher.resolution import Resolution
from snapproxy.app import ServerConfig
from snapproxy.cutoff import format_cutoff
from snapproxy.cutoff_policy import describe
from snapproxy.names import canonical
from snapproxy.page_log import PageLog
from snapproxy.snapshot import Snapshots


def explain(proxy: RunningProxy, error: Exception) -> FetchError:
    """The most precise account of a failure: the proxy's own, when it refused a file."""
    if proxy.proxy.mismatched:
        return FetchError(
            f"an upstream file does not match the index's sha256: {proxy.proxy.mismatched[-1]}"
        )
    if isinstance(error, FetchError):
        return error
    return FetchError(str(error) or type(error).__name__)


_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?")


def _why_missing(proxy: RunningProxy, pip_message: str) -> list[str]:
    """The proxy's account of each project pip's error names that it answered 404 for.

    pip says only "no matching distribution" whether the name is misspelt or the project
    had no file yet at the cutoff; the proxy knows which (``Proxy.missing``).  Only the
    projects pip names count: a 404 pip got past by backtracking explains nothing.
    """
    named = {canonical(word) for word in _NAME.findall(pip_message)}
    reasons = dict(proxy.proxy.missing)  # the last reason of each project
    return [why for project, why in reasons.items() if project in named]


async def _pip_report(
    request: FetchRequest,
    proxy: RunningProxy,
    pip: Path,
    workdir: Path,
    files: Sequence[Path],
    requirements: Sequence[str],
    label: str,
) -> tuple[list[ChosenFile], dict[str, str]]:
    """pip's choice of files, and the marker environment it resolved for."""
    handle, name = tempfile.mkstemp(dir=workdir, suffix=".json")
    os.close(handle)
    report = Path(name)
    # pip runs in a scratch directory, so relative paths are made absolute here.
    absolute = [path.resolve() for path in files]
    command = pip_resolve_command(
        request.target, pip, proxy.index_url, report, absolute, requirements
    )
    # Its own HOME, and its own TMPDIR: whatever pip leaves there (it cannot clean up
    # when it is killed) goes with the work directory.
    home, tmp = pip_scratch(workdir)
    try:
        await run_pip(command, pip_environment(os.environ, home, tmp), cwd=workdir)
    except PipFailed as exc:
        cutoff = format_cutoff(request.cutoff)
        # The first line is the one a user reads: it says why, when the proxy knows.
        why = _why_missing(proxy, exc.message)
        lead = " ".join([f"cannot resolve {label} as of {cutoff}:", *why[:1]])
        raise FetchError("\n".join([lead, *why[1:], exc.message])) from None
    try:
        document = json.loads(report.read_text())
        chosen, environment = parse_report(document), report_environment(document)
    except (InvalidReport, ValueError) as exc:
        raise FetchError(f"cannot read pip's report for {label}: {exc}") from None
    for f in chosen:
        if not f.url.startswith(f"{proxy.base}/"):
            raise FetchError(f"{f.filename} for {label} does not come from the snapshot: {f.url}")
    return chosen, environment


def memo_key(request: FetchRequest, interpreter: resolution_memo.Interpreter) -> str:
    """The key of a remembered resolution for ``request`` (resolution_memo).  Blocking."""
    files = request.files_read.paths
    return resolution_memo.memo_key(
        {
            "code": resolution_memo.code_identity(),
            "cutoff": request.cutoff.isoformat(),
            # Instants only: a duration was turned into one before (FetchRequest.given).
            "package_cutoffs": {
                project: None if cutoff is None else cutoff.isoformat()
                for project, cutoff in sorted(request.package_cutoffs.items())
            },
            "upstream": request.upstream,
            "files_host": request.files_host,
            # Only when given, so that memos made before private indexes stay valid.
            **({"routing": request.routing.describe()} if request.routing.indexes else {}),
            "pip": request.pip_version,
            "target": asdict(request.target),
            "interpreter": interpreter.identity,
            "requirements": list(request.requirements),
            # Given paths, then everything they include: names and contents.
            "requirement_files": [str(path) for path in request.requirement_files],
            "files_read": resolution_memo.file_digests(files),
        }
    )


async def resolve(
    request: FetchRequest, proxy: RunningProxy, workdir: Path, progress: Progress
) -> Resolution:
    """The runtime resolution and, separately, the build requirements of its sdists.

    Build requirements are resolved per sdist (each builds in its own environment) and
    followed until no new sdist appears.  Shared by ``fetch`` and ``lock``.  With a cache,
    a resolution remembered for the same inputs is used while every page pip read is
    still the same upstream copy (resolution_memo); otherwise pip runs, and what it chose
    is remembered.
    """
    home, tmp = pip_scratch(workdir)
    interpreter = await resolution_memo.probe_interpreter(
        request.target.python, pip_environment(os.environ, home, tmp)
    )
    cache_dir = request.cache_dir
    if cache_dir is None or interpreter is None:
        return await _resolve_with_pip(request, proxy, workdir, progress, interpreter)
    key = await asyncio.to_thread(memo_key, request, interpreter)
    pages = proxy.proxy.upstream.cache
    max_age = proxy.proxy.config.max_age
    memo = await asyncio.to_thread(
        resolution_memo.recall, cache_dir, key, pages.stored_copy, time.time(), max_age
    )
    if memo is not None:
        progress.phase(
            f"using the resolution of an earlier run: the {len(memo.pages)} pages pip read "
            "are unchanged"
        )
        return memo.resolution.moved(resolution_memo.BASE, proxy.base)
    log = proxy.proxy.page_log = PageLog()
    try:
        resolution = await _resolve_with_pip(request, proxy, workdir, progress, interpreter)
    finally:
        proxy.proxy.page_log = None
    if not log.incomplete:
        memo = resolution_memo.Memo(resolution.moved(proxy.base, resolution_memo.BASE), log.copies)
        await asyncio.to_thread(resolution_memo.remember, cache_dir, key, memo)
    return resolution


async def _resolve_with_pip(
    request: FetchRequest,
    proxy: RunningProxy,
    workdir: Path,
    progress: Progress,
    interpreter: resolution_memo.Interpreter | None,
) -> Resolution:
    # What pip will ask for is fetched ahead, from before pip itself has started.
    with _prefetch(request, proxy, interpreter) as prefetch:
        prefetch.requirements(_requirement_texts(request))
        progress.phase(f"fetching pip {request.pip_version}")
        pip, making = await pinned_pip(request, proxy, workdir)
        try:
            resolution = await _resolve(request, proxy, workdir, progress, pip)
        except BaseException:
            if making is not None:
                making.cancel()  # its compiler is killed and its scratch copy removed
                await asyncio.gather(making, return_exceptions=True)
            raise
    if making is not None:
        await making
    return resolution


def _prefetch(
    request: FetchRequest, proxy: RunningProxy, interpreter: resolution_memo.Interpreter | None
) -> Prefetch:
    markers = interpreter.markers if interpreter else {}
    target = request.target
    python = target.python_version or markers.get("python_full_version")
    preferences = Preferences(
        # Without target options pip uses its interpreter's tags; this process's stand in.
        tags=target_tags(target, list(sys_tags())),
        python=Version(python or platform.python_version()),
        only_binary=target.only_binary,
    )
    snapshots = snapshots_of(proxy.proxy.config, request.now)
    return Prefetch(proxy.proxy, snapshots, target.environment(markers), preferences)


def snapshots_of(config: ServerConfig, now: datetime) -> Snapshots:
    """Every project's snapshot, as the in-process proxy with ``config`` serves it."""
    return config.snapshots(now)


def _requirement_texts(request: FetchRequest) -> list[str]:
    return [*request.requirements, *request.files_read.requirements]


async def _resolve(
    request: FetchRequest, proxy: RunningProxy, workdir: Path, progress: Progress, pip: Path
) -> Resolution:
    own = "".join(
        f", {project} as of {describe(cutoff)}"
        for project, cutoff in sorted(request.package_cutoffs.items())
    )
    progress.phase(
        f"resolving as of {format_cutoff(request.cutoff)}{own} with pip {request.pip_version}"
    )
    runtime, environment = await _pip_report(
        request,
        proxy,
        pip,
        workdir,
        request.requirement_files,
        request.requirements,
        "the requirements",
    )
    build: dict[tuple[str, str], ChosenFile] = {}
    seen: set[str] = set()
    pending = [f for f in runtime if f.is_sdist]
    while pending:
        progress.phase(f"resolving build requirements of {len(pending)} sdist(s)")
        sdists, pending = pending, []
        for sdist in sdists:
            seen.add(sdist.filename)
            data_path = workdir / "sdists" / sdist.filename
            data_path.parent.mkdir(exist_ok=True)
            await download_all([(sdist.url, sdist.sha256, data_path)], Progress(quiet=True))
            try:
                needs = build_requirements(sdist.filename, data_path.read_bytes())
            except InvalidSdist as exc:
                raise FetchError(str(exc)) from None
            chosen, _ = await _pip_report(
                request,
                proxy,
                pip,
                workdir,
                (),
                needs,
                f"the build requirements of {sdist.filename}",
            )
            for f in chosen:
                build[(f.filename, f.sha256)] = f
                if f.is_sdist and f.filename not in seen:
                    pending.append(f)
    runtime_keys = {(f.filename, f.sha256) for f in runtime}
    extra = sorted(f for key, f in build.items() if key not in runtime_keys)
    return Resolution(runtime, extra, request.target.environment(environment))
