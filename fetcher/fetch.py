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
import platform
import re
import shutil
import ssl
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import aiohttp
from packaging.specifiers import SpecifierSet
from packaging.tags import sys_tags
from packaging.version import InvalidVersion, Version

from fetcher import resolution_memo
from fetcher.build_requirements import InvalidSdist, build_requirements
from fetcher.inproc_proxy import RunningProxy, running_proxy
from fetcher.likely_file import Preferences, target_tags
from fetcher.output_path import UnusableOutput, check_new_directory, check_writable_file
from fetcher.pip_install import installed_pip, intact_copy
from fetcher.pip_report import ChosenFile, InvalidReport, parse_report, report_environment
from fetcher.pip_runner import (
    DEFAULT_PIP_VERSION,
    PipFailed,
    Target,
    pip_environment,
    pip_resolve_command,
    pip_wheel_filename,
    run_pip,
)
from fetcher.prefetch import Prefetch
from fetcher.progress import Progress
from fetcher.pylock_writer import (
    LockedFile,
    Pylock,
    PylockValidationError,
    environment_marker,
    locked_files,
    pylock_for,
    render_pylock,
    tool_table,
)
from fetcher.requirement_files import LeavesSnapshot, check_requirement, check_requirement_file
from fetcher.requirements_lock import ConflictingVersions, render_lock
from fetcher.resolution import Resolution
from snapproxy.app import ServerConfig
from snapproxy.atomic_file import write_atomically
from snapproxy.cutoff import format_cutoff, is_future, is_recent, parse_upload_time
from snapproxy.cutoff_policy import CutoffPolicy, describe
from snapproxy.defaults import DEFAULT_FILES_HOST, DEFAULT_UPSTREAM
from snapproxy.file_store import FileStore, InvalidDigest, Verifier
from snapproxy.names import canonical
from snapproxy.page_log import PageLog
from snapproxy.snapshot import Snapshots
from snapproxy.upstream import UpstreamError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = [
    "LOCK_NAME",
    "FetchError",
    "FetchRequest",
    "Resolution",
    "fetch",
    "fetch_from_lock",
    "lock",
    "read_pylock",
    "resolve",
]

LOCK_NAME = "requirements.lock.txt"
# Far enough in the future that every upload is visible: pip itself is pinned by its
# version (and checked against the index's sha256), not by the snapshot.
UNFILTERED = "9999-12-31"
DOWNLOADS_AT_ONCE = 8
CHUNK = 256 * 1024


class FetchError(Exception):
    """A fetch that cannot complete; the message says what and why, in one place."""


# What a fetch or lock can meet on the way that is the world's fault, not a bug: each is
# reported as one FetchError line.
_FAILURES = (
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
            for path in self.requirement_files:
                check_requirement_file(path)
        except (LeavesSnapshot, FileNotFoundError) as exc:
            raise FetchError(str(exc)) from None

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


def _durations_line(request: FetchRequest) -> str | None:
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


def _proxy_config(request: FetchRequest, workdir: Path) -> ServerConfig:
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
    )


async def _download(session: aiohttp.ClientSession, url: str, sha256: str, dest: Path) -> None:
    digest = hashlib.sha256()
    try:
        # identity: the bytes as the index hashed them, never a transfer coding of them.
        async with session.get(url, headers={"Accept-Encoding": "identity"}) as response:
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


def _copy_stored(store: FileStore, sha256: str, dest: Path) -> bool:
    """Copy the proxy's stored file of ``sha256`` to ``dest``, checked as it is copied;
    False (and nothing at ``dest``) when it is absent or damaged.  Blocking."""
    digest = hashlib.sha256()
    try:
        with open(store.path(Verifier("sha256", sha256)), "rb") as src, open(dest, "wb") as out:
            while chunk := src.read(CHUNK):
                digest.update(chunk)
                out.write(chunk)
    except (OSError, InvalidDigest):
        dest.unlink(missing_ok=True)
        return False
    if digest.hexdigest() != sha256:
        dest.unlink()
        return False
    return True


async def _download_all(
    files: Sequence[tuple[str, str, Path]],
    progress: Progress,
    ca_file: Path | None = None,
    store: FileStore | None = None,
) -> None:
    """Download ``(url, sha256, destination)`` triples concurrently, each verified.

    With the proxy's ``store``, a file it holds intact is copied from there instead.
    """
    limit = asyncio.Semaphore(DOWNLOADS_AT_ONCE)
    timeout = aiohttp.ClientTimeout(total=None, sock_read=600)
    tls = ssl.create_default_context(cafile=ca_file) if ca_file else True
    connector = aiohttp.TCPConnector(ssl=tls)
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:

        async def one(url: str, sha256: str, dest: Path) -> None:
            async with limit:
                if store is None or not await asyncio.to_thread(_copy_stored, store, sha256, dest):
                    await _download(session, url, sha256, dest)
            progress.advance(1)

        tasks = [asyncio.ensure_future(one(*f)) for f in files]
        try:
            await asyncio.gather(*tasks)
        finally:
            # On the first failure the others stop too, before the staging area goes.
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)


def _explain(proxy: RunningProxy, error: Exception) -> FetchError:
    """The most precise account of a failure: the proxy's own, when it refused a file."""
    if proxy.proxy.mismatched:
        return FetchError(
            f"an upstream file does not match the index's sha256: {proxy.proxy.mismatched[-1]}"
        )
    if isinstance(error, FetchError):
        return error
    return FetchError(str(error) or type(error).__name__)


async def _pip_wheel(proxy: RunningProxy, version: str, workdir: Path) -> tuple[Path, str]:
    """The pip wheel, through the snapshot (which checks it against the index's sha256),
    and its sha256."""
    filename = pip_wheel_filename(version)
    dest = workdir / filename
    url = f"{proxy.base}/snapshot/{UNFILTERED}/files/pip/{filename}"
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        if response.status == 404:
            raise FetchError(await _no_such_pip(proxy, version))
        if response.status != 200:
            detail = (await response.text()).strip()
            raise FetchError(f"cannot get pip {version} from the index: {detail}")
        data = await response.read()
    dest.write_bytes(data)
    return dest, hashlib.sha256(data).hexdigest()


async def _no_such_pip(proxy: RunningProxy, version: str) -> str:
    """Why pip ``version`` cannot run: the index has no wheel of it; and which it has."""
    index = proxy.proxy.config.upstream
    try:
        page = (await proxy.proxy.page("pip")).parsed
    except (UpstreamError, LookupError):
        return f"pip {version} has no wheel on {index}; choose another --pip-version"
    have = [
        parsed
        for f in page["files"]
        if (parsed := _pip_wheel_version(str(f.get("filename", "")))) is not None
    ]
    newest = f" (the newest is {max(have)})" if have else ""
    return f"pip {version} has no wheel on {index}{newest}; choose an existing --pip-version"


def _pip_wheel_version(filename: str) -> Version | None:
    name, _, rest = filename.partition("-")
    version, _, tags = rest.partition("-")
    if name != "pip" or tags != "py3-none-any.whl":
        return None
    try:
        parsed = Version(version)
    except InvalidVersion:
        return None
    return None if parsed.is_prerelease else parsed


async def _pip(
    request: FetchRequest, proxy: RunningProxy, workdir: Path
) -> tuple[Path, asyncio.Future[Path | None] | None]:
    """What to run as pip, and the making of a copy for later fetches, if one is under way.

    With a cache, an intact unpacked copy of the wheel (it starts three times faster).
    When there is none yet, this fetch runs the wheel while the copy is made alongside:
    compiling it costs about what it saves one run, and a cold fetch mostly waits on the
    network.  Without a cache (a Nix build), the wheel.
    """
    wheel, sha256 = await _pip_wheel(proxy, request.pip_version, workdir)
    if request.cache_dir is None:
        return wheel, None
    python = request.target.python
    copy = await asyncio.to_thread(intact_copy, wheel, sha256, python, request.cache_dir)
    if copy is not None:
        return copy, None
    home, tmp = _pip_scratch(workdir)
    env = pip_environment(os.environ, home, tmp)
    making = asyncio.ensure_future(installed_pip(wheel, sha256, python, request.cache_dir, env))
    return wheel, making


def _pip_scratch(workdir: Path) -> tuple[Path, Path]:
    """A fresh HOME and TMPDIR for one pip run, inside the work directory."""
    scratch = Path(tempfile.mkdtemp(dir=workdir, prefix="pip-"))
    home, tmp = scratch / "home", scratch / "tmp"
    home.mkdir()
    tmp.mkdir()
    return home, tmp


# A PEP 508 project name, as it may appear in pip's words.
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
    home, tmp = _pip_scratch(workdir)
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


def _memo_key(request: FetchRequest, interpreter: resolution_memo.Interpreter) -> str:
    """The key of a remembered resolution for ``request`` (resolution_memo).  Blocking."""
    files = [p for f in request.requirement_files for p in check_requirement_file(f).paths]
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
    home, tmp = _pip_scratch(workdir)
    interpreter = await resolution_memo.probe_interpreter(
        request.target.python, pip_environment(os.environ, home, tmp)
    )
    cache_dir = request.cache_dir
    if cache_dir is None or interpreter is None:
        return await _resolve_with_pip(request, proxy, workdir, progress, interpreter)
    key = await asyncio.to_thread(_memo_key, request, interpreter)
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
        pip, making = await _pip(request, proxy, workdir)
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
    snapshots = _snapshots(proxy.proxy.config, request.now)
    return Prefetch(proxy.proxy, snapshots, target.environment(markers), preferences)


def _snapshots(config: ServerConfig, now: datetime) -> Snapshots:
    """Every project's snapshot, as the in-process proxy with ``config`` serves it."""
    return config.policy.at(now, config.yanked, config.allow_undated)


def _requirement_texts(request: FetchRequest) -> list[str]:
    texts = list(request.requirements)
    for path in request.requirement_files:
        texts += check_requirement_file(path).requirements
    return texts


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
            await _download_all([(sdist.url, sdist.sha256, data_path)], Progress(quiet=True))
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


def _write_output(out: Path, staged: Path, names: Sequence[str], lock: str) -> None:
    for name in names:
        target = out / name
        shutil.move(str(staged / name), target)
        target.chmod(0o444)
    (out / LOCK_NAME).write_text(lock, encoding="utf-8")
    (out / LOCK_NAME).chmod(0o444)
    out.chmod(0o555)


def _check_output(check: Callable[[Path], None], out: Path) -> None:
    try:
        check(out)
    except UnusableOutput as exc:
        raise FetchError(str(exc)) from None


async def _download_into(
    out: Path,
    workdir: Path,
    files: Sequence[ChosenFile],
    lock: str,
    progress: Progress,
    ca_file: Path | None,
    store: FileStore | None = None,
) -> None:
    """Download ``files`` (verified) to a staging directory, then make ``out`` of them."""
    staged = workdir / "wheelhouse"
    staged.mkdir()
    progress.phase(f"downloading {len(files)} file(s)")
    progress.start_bar(len(files))
    await _download_all(
        [(f.url, f.sha256, staged / f.filename) for f in files], progress, ca_file, store
    )
    progress.end_bar()
    try:
        out.mkdir()
    except FileExistsError:
        raise FetchError(f"output {out} appeared while fetching; it is left alone") from None
    except OSError as exc:
        # Checked before the work began; this is a change made while it ran.
        raise FetchError(f"cannot create {out}: {exc.strerror}") from None
    try:
        _write_output(out, staged, [f.filename for f in files], lock)
    except BaseException:
        _remove_tree(out)  # ours: made just above
        raise
    progress.phase(f"wrote {len(files)} file(s) and {LOCK_NAME} to {out}")


async def fetch(request: FetchRequest, out: Path, progress: Progress) -> list[ChosenFile]:
    """Resolve and download into ``out``, which must not exist; on failure none is left."""
    request.check()
    _check_output(check_new_directory, out)
    _announce_durations(request, progress)
    with tempfile.TemporaryDirectory(prefix="snapproxy-fetch-") as tmp:
        workdir = Path(tmp)
        async with running_proxy(_proxy_config(request, workdir)) as proxy:
            try:
                resolution = await resolve(request, proxy, workdir, progress)
                lock = render_lock(resolution.runtime)
                await _download_into(
                    out,
                    workdir,
                    resolution.files,
                    lock,
                    progress,
                    request.ca_file,
                    proxy.proxy.files if request.cache_dir else None,
                )
            except _FAILURES as exc:
                raise _explain(proxy, exc) from None
    return resolution.files


async def _locked(
    proxy: RunningProxy, snapshots: Snapshots, f: ChosenFile, build_only: bool
) -> LockedFile:
    """``f`` as the upstream index lists it (URL, size, upload time), hash checked."""
    entry = await proxy.proxy.index_entry(f.name, f.filename, snapshots.of(f.name))
    sha256 = str((entry.get("hashes") or {}).get("sha256", "")).lower()
    if sha256 != f.sha256:
        raise FetchError(f"{f.filename}: the index's sha256 {sha256!r} is not pip's {f.sha256}")
    size = entry.get("size")
    return LockedFile(
        name=f.name,
        version=f.version,
        filename=f.filename,
        url=str(entry["url"]),
        sha256=sha256,
        size=size if isinstance(size, int) else None,
        upload_time=parse_upload_time(entry.get("upload-time")),
        build_only=build_only,
    )


async def lock(request: FetchRequest, out: Path, progress: Progress) -> list[LockedFile]:
    """Resolve as ``fetch`` does and write the PEP 751 lock to ``out`` (atomically)."""
    request.check()
    _check_output(check_writable_file, out)
    _announce_durations(request, progress)
    with tempfile.TemporaryDirectory(prefix="snapproxy-lock-") as tmp:
        config = _proxy_config(request, Path(tmp))
        snapshots = _snapshots(config, request.now)
        async with running_proxy(config) as proxy:
            try:
                resolution = await resolve(request, proxy, Path(tmp), progress)
                runtime = {f.filename for f in resolution.runtime}
                locked = [
                    await _locked(proxy, snapshots, f, f.filename not in runtime)
                    for f in resolution.files
                ]
                given = request.given or request.policy
                text = render_pylock(
                    pylock_for(
                        locked,
                        cutoff=request.cutoff,
                        package_cutoffs=request.package_cutoffs,
                        given=given,
                        index=f"{request.upstream}/simple/",
                        environment=environment_marker(resolution.environment),
                        requires_python=_requires_python(resolution.environment),
                        pip_version=request.pip_version,
                        requirements_lock=render_lock(resolution.runtime),
                    )
                )
            except _FAILURES as exc:
                raise _explain(proxy, exc) from None
    try:
        write_atomically(out, text.encode("utf-8"))
    except OSError as exc:
        # Checked before the work began; this is a change made while it ran.
        raise FetchError(f"cannot write {out}: {exc.strerror}") from None
    progress.phase(f"wrote {len(locked)} file(s) to {out}")
    return locked


def _announce_durations(request: FetchRequest, progress: Progress) -> None:
    line = _durations_line(request)
    if line is not None:
        progress.phase(line)


def _requires_python(environment: dict[str, str]) -> SpecifierSet | None:
    version = environment.get("python_version")
    return SpecifierSet(f"=={version}.*") if version else None


def read_pylock(path: Path) -> Pylock:
    try:
        return Pylock.from_dict(tomllib.loads(path.read_text(encoding="utf-8")))
    except OSError as exc:
        raise FetchError(f"cannot read {path}: {exc.strerror}") from None
    except (tomllib.TOMLDecodeError, PylockValidationError) as exc:
        raise FetchError(f"{path} is not a valid pylock.toml: {exc}") from None


async def fetch_from_lock(
    path: Path, out: Path, progress: Progress, ca_file: Path | None = None
) -> list[LockedFile]:
    """Download exactly the files a lock names into ``out``: no resolution, no pip."""
    _check_output(check_new_directory, out)
    pylock = read_pylock(path)
    try:
        files = locked_files(pylock)
    except PylockValidationError as exc:
        raise FetchError(f"{path}: {exc}") from None
    text = tool_table(pylock).get("requirements-lock")
    if not isinstance(text, str):
        try:
            text = render_lock(f.chosen() for f in files if not f.build_only)
        except ConflictingVersions as exc:
            raise FetchError(f"{path}: {exc}") from None
    with tempfile.TemporaryDirectory(prefix="snapproxy-fetch-") as tmp:
        try:
            await _download_into(
                out, Path(tmp), [f.chosen() for f in files], text, progress, ca_file
            )
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
            raise FetchError(str(exc) or type(exc).__name__) from None
    return files


def _remove_tree(path: Path) -> None:
    if not path.exists():
        return
    for root, dirs, _files in os.walk(path):
        os.chmod(root, 0o755)
        for d in dirs:
            os.chmod(os.path.join(root, d), 0o755)
    shutil.rmtree(path, ignore_errors=True)
