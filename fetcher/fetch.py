"""``snapproxy fetch``: requirements + cutoff in, a deterministic wheelhouse out.

The seven steps of DESIGN.md's Fetcher section.  The output holds only the chosen
distribution files under their index filenames and ``requirements.lock.txt``; nothing
else (no log, report or time) so the same inputs give the same bytes on any machine.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import aiohttp

from fetcher.build_requirements import InvalidSdist, build_requirements
from fetcher.inproc_proxy import RunningProxy, running_proxy
from fetcher.pip_report import ChosenFile, InvalidReport, parse_report
from fetcher.pip_runner import (
    DEFAULT_PIP_VERSION,
    PipFailed,
    Target,
    pip_environment,
    pip_resolve_command,
    pip_wheel_filename,
    run_pip,
)
from fetcher.progress import Progress
from fetcher.requirement_files import EscapingOption, check_requirement_file
from fetcher.requirements_lock import ConflictingVersions, render_lock
from snapproxy.app import ServerConfig
from snapproxy.cutoff import format_cutoff, is_recent
from snapproxy.defaults import DEFAULT_FILES_HOST, DEFAULT_UPSTREAM

__all__ = ["LOCK_NAME", "FetchError", "FetchRequest", "fetch", "resolve"]

LOCK_NAME = "requirements.lock.txt"
# Far enough in the future that every upload is visible: tools (pip itself) are pinned by
# version and hash, not by the snapshot.
UNFILTERED = "9999-12-31"
DOWNLOADS_AT_ONCE = 8
CHUNK = 256 * 1024


class FetchError(Exception):
    """A fetch that cannot complete; the message says what and why, in one place."""


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

    def check(self) -> None:
        """Refuse what cannot give a reproducible result, before any work."""
        if not self.requirement_files and not self.requirements:
            raise FetchError("nothing to fetch: give -r FILE or requirements")
        if is_recent(self.cutoff, self.now) and not self.allow_recent:
            raise FetchError(
                f"cutoff {format_cutoff(self.cutoff)} is less than an hour ago, so uploads "
                "may still appear before it; choose an earlier --date or pass --allow-recent"
            )
        for path in self.requirement_files:
            try:
                check_requirement_file(path)
            except (EscapingOption, FileNotFoundError) as exc:
                raise FetchError(str(exc)) from None


def _proxy_config(request: FetchRequest) -> ServerConfig:
    # yanked=ignore: a yank made after the cutoff must not change a reproducible result.
    return ServerConfig(
        cutoff=request.cutoff,
        upstream=request.upstream,
        files_host=request.files_host,
        cache_dir=request.cache_dir,
        ca_file=request.ca_file,
        yanked="ignore",
    )


async def _download(session: aiohttp.ClientSession, url: str, sha256: str, dest: Path) -> None:
    digest = hashlib.sha256()
    try:
        async with session.get(url) as response:
            if response.status != 200:
                text = (await response.text()).strip()
                raise FetchError(f"cannot download {dest.name}: {response.status} {text}")
            with open(dest, "wb") as out:
                async for chunk in response.content.iter_chunked(CHUNK):
                    digest.update(chunk)
                    out.write(chunk)
    except aiohttp.ClientError as exc:
        raise FetchError(f"download of {dest.name} was cut off ({exc})") from None
    if digest.hexdigest() != sha256:
        raise FetchError(
            f"{dest.name} does not match its sha256: index says {sha256}, "
            f"received {digest.hexdigest()}"
        )


async def _download_all(files: Sequence[tuple[str, str, Path]], progress: Progress) -> None:
    """Download ``(url, sha256, destination)`` triples concurrently, each verified."""
    limit = asyncio.Semaphore(DOWNLOADS_AT_ONCE)
    timeout = aiohttp.ClientTimeout(total=None, sock_read=600)
    async with aiohttp.ClientSession(timeout=timeout) as session:

        async def one(url: str, sha256: str, dest: Path) -> None:
            async with limit:
                await _download(session, url, sha256, dest)
            progress.advance(1)

        await asyncio.gather(*(one(*f) for f in files))


def _explain(proxy: RunningProxy, error: Exception) -> FetchError:
    """The most precise account of a failure: the proxy's own, when it cut a transfer."""
    if proxy.proxy.aborted:
        return FetchError(f"an upstream file failed verification: {proxy.proxy.aborted[0]}")
    if isinstance(error, FetchError):
        return error
    return FetchError(str(error))


async def _pip_wheel(proxy: RunningProxy, version: str, workdir: Path) -> Path:
    filename = pip_wheel_filename(version)
    dest = workdir / filename
    url = f"{proxy.base}/snapshot/{UNFILTERED}/files/pip/{filename}"
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        if response.status != 200:
            detail = (await response.text()).strip()
            raise FetchError(f"cannot get pip {version} from the index: {detail}")
        dest.write_bytes(await response.read())
    return dest


async def _pip_report(
    request: FetchRequest,
    proxy: RunningProxy,
    pip_wheel: Path,
    workdir: Path,
    files: Sequence[Path],
    requirements: Sequence[str],
    label: str,
) -> list[ChosenFile]:
    report = Path(tempfile.mkstemp(dir=workdir, suffix=".json")[1])
    # pip runs in a scratch directory, so relative paths are made absolute here.
    absolute = [path.resolve() for path in files]
    command = pip_resolve_command(
        request.target, pip_wheel, proxy.index_url, report, absolute, requirements
    )
    # Loopback needs no retries; the proxy retries upstream itself.
    command += ["--retries", "1", "--timeout", "300"]
    home = Path(tempfile.mkdtemp(dir=workdir, prefix="home-"))
    try:
        await run_pip(command, pip_environment(os.environ, home), cwd=workdir)
    except PipFailed as exc:
        cutoff = format_cutoff(request.cutoff)
        raise FetchError(f"cannot resolve {label} as of {cutoff}:\n{exc.message}") from None
    try:
        return parse_report(json.loads(report.read_text()))
    except (InvalidReport, ValueError) as exc:
        raise FetchError(f"cannot read pip's report for {label}: {exc}") from None


async def resolve(
    request: FetchRequest, proxy: RunningProxy, workdir: Path, progress: Progress
) -> tuple[list[ChosenFile], list[ChosenFile]]:
    """The runtime resolution and, separately, the build requirements of its sdists.

    Build requirements are resolved per sdist (each builds in its own environment) and
    followed until no new sdist appears.  Shared with ``snapproxy lock``.
    """
    progress.phase(f"fetching pip {request.pip_version}")
    pip_wheel = await _pip_wheel(proxy, request.pip_version, workdir)
    progress.phase(
        f"resolving as of {format_cutoff(request.cutoff)} with pip {request.pip_version}"
    )
    runtime = await _pip_report(
        request,
        proxy,
        pip_wheel,
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
            await _download_all([(sdist.url, sdist.sha256, data_path)], Progress(quiet=True))
            try:
                needs = build_requirements(sdist.filename, data_path.read_bytes())
            except InvalidSdist as exc:
                raise FetchError(str(exc)) from None
            chosen = await _pip_report(
                request,
                proxy,
                pip_wheel,
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
    return runtime, sorted(f for key, f in build.items() if key not in runtime_keys)


def _write_output(out: Path, staged: Path, names: Sequence[str], lock: str) -> None:
    out.mkdir(parents=True)
    for name in names:
        target = out / name
        shutil.move(str(staged / name), target)
        target.chmod(0o444)
    (out / LOCK_NAME).write_text(lock, encoding="utf-8")
    (out / LOCK_NAME).chmod(0o444)
    out.chmod(0o555)


async def fetch(request: FetchRequest, out: Path, progress: Progress) -> list[ChosenFile]:
    """Resolve and download into ``out``, which must not exist; on failure none is left."""
    request.check()
    if out.exists() or out.is_symlink():
        raise FetchError(f"output {out} already exists; remove it or choose another -o")
    with tempfile.TemporaryDirectory(prefix="snapproxy-fetch-") as tmp:
        workdir = Path(tmp)
        async with running_proxy(_proxy_config(request)) as proxy:
            try:
                runtime, build = await resolve(request, proxy, workdir, progress)
                everything = sorted({f.filename: f for f in [*runtime, *build]}.values())
                staged = workdir / "wheelhouse"
                staged.mkdir()
                progress.phase(f"downloading {len(everything)} file(s)")
                progress.start_bar(len(everything))
                await _download_all(
                    [(f.url, f.sha256, staged / f.filename) for f in everything], progress
                )
                progress.end_bar()
                lock = render_lock(runtime)
            except (FetchError, ConflictingVersions, aiohttp.ClientError, OSError) as exc:
                raise _explain(proxy, exc) from None
        try:
            _write_output(out, staged, [f.filename for f in everything], lock)
        except BaseException:
            _remove_tree(out)
            raise
    progress.phase(f"wrote {len(everything)} file(s) and {LOCK_NAME} to {out}")
    return everything


def _remove_tree(path: Path) -> None:
    if not path.exists():
        return
    for root, dirs, _files in os.walk(path):
        os.chmod(root, 0o755)
        for d in dirs:
            os.chmod(os.path.join(root, d), 0o755)
    shutil.rmtree(path, ignore_errors=True)
