"""``snapproxy fetch`` and ``lock``: requirements + cutoff in, a deterministic wheelhouse
(or a PEP 751 lock) out.

The seven steps of DESIGN.md's Fetcher section, here as the writing of the output: the
request is in :mod:`fetcher.fetch_request`, pip in :mod:`fetcher.pinned_pip`, the
resolution in :mod:`fetcher.resolving`, the files in :mod:`fetcher.downloading`.  The
output holds only the chosen distribution files under their index filenames and
``requirements.lock.txt``; nothing else (no log, report or time) so the same inputs give
the same bytes on any machine.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import cast

import aiohttp
from packaging.markers import default_environment
from packaging.specifiers import SpecifierSet
from packaging.tags import sys_tags
from packaging.version import Version

from fetcher.downloading import download_all, netrc_lookup
from fetcher.fetch_request import FAILURES, FetchError, FetchRequest, durations_line, proxy_config
from fetcher.inproc_proxy import RunningProxy, running_proxy
from fetcher.lock_target import InvalidTarget, LockTarget, distinct_targets
from fetcher.multi_target_lock import TargetResolution, merged_pylock
from fetcher.output_path import UnusableOutput, check_new_directory, check_writable_file
from fetcher.pip_report import ChosenFile
from fetcher.progress import Progress
from fetcher.pylock_reading import (
    package_archives,
)
from fetcher.pylock_selection import (
    SelectionError,
    SelectionTarget,
    wheelhouse_files,
    wheelhouse_lock_text,
)
from fetcher.pylock_writer import (
    LockedFile,
    Pylock,
    PylockValidationError,
    environment_marker,
    pylock_for,
    render_pylock,
)
from fetcher.requirements_lock import ConflictingVersions, render_lock
from fetcher.resolution import Resolution
from fetcher.resolving import explain, resolve, snapshots_of
from fetcher.target_pip import pip_target
from snapproxy.atomic_file import write_atomically
from snapproxy.credentials import default_netrc
from snapproxy.cutoff import parse_upload_time
from snapproxy.file_store import FileStore
from snapproxy.snapshot import Snapshots

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
    "lock_for_targets",
    "read_pylock",
    "resolve",
]

LOCK_NAME = "requirements.lock.txt"


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
    netrc_file: Path | None = None,
) -> None:
    """Download ``files`` (verified) to a staging directory, then make ``out`` of them."""
    staged = workdir / "wheelhouse"
    staged.mkdir()
    progress.phase(f"downloading {len(files)} file(s)")
    progress.start_bar(len(files))
    # Straight from the indexes (a lock's files): credentials from the netrc file, as pip
    # and Nix's fetchers take them; through the proxy, the proxy sends its own.
    credentials = netrc_lookup(netrc_file or default_netrc()) if store is None else None
    await download_all(
        [(f.url, f.sha256, staged / f.filename) for f in files],
        progress,
        ca_file,
        store,
        credentials,
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
        async with running_proxy(proxy_config(request, workdir)) as proxy:
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
            except FAILURES as exc:
                raise explain(proxy, exc) from None
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
        config = proxy_config(request, Path(tmp))
        snapshots = snapshots_of(config, request.now)
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
                        **request.index_record(),
                        environment=environment_marker(resolution.environment),
                        requires_python=_requires_python(resolution.environment),
                        pip_version=request.pip_version,
                        requirements_lock=render_lock(resolution.runtime),
                    )
                )
            except FAILURES as exc:
                raise explain(proxy, exc) from None
    _write_lock(out, text)
    progress.phase(f"wrote {len(locked)} file(s) to {out}")
    return locked


# pip refuses --platform and the other target options for `install` without --target
# before 23.3 ("Can not use any platform or abi specific options unless installing via
# '--target'"), with --dry-run too.
OLDEST_TARGET_PIP = Version("23.3")


async def lock_for_targets(
    request: FetchRequest, targets: Sequence[LockTarget], out: Path, progress: Progress
) -> list[LockedFile]:
    """One resolution per target, at the request's cutoff through one proxy, merged into
    one PEP 751 lock written to ``out`` (atomically; :mod:`fetcher.multi_target_lock`).

    Each target resolves with pip's target options, wheels only, and with pip evaluating
    markers in the target's PEP 508 environment (:mod:`fetcher.target_pip`);
    ``request.target`` gives only the interpreter that runs pip.  A failure names its
    target; nothing is written unless every target resolved.
    """
    request.check()
    try:
        ordered = distinct_targets(targets)
    except InvalidTarget as exc:
        raise FetchError(str(exc)) from None
    if not ordered:
        raise FetchError("no target: give --target PYVER:PLATFORM at least once")
    if Version(request.pip_version) < OLDEST_TARGET_PIP:
        raise FetchError(
            f"--target needs pip {OLDEST_TARGET_PIP} or newer (pip {request.pip_version} "
            "resolves for another platform only into --target); choose a newer --pip-version"
        )
    _check_output(check_writable_file, out)
    _announce_durations(request, progress)
    with tempfile.TemporaryDirectory(prefix="snapproxy-lock-") as tmp:
        config = proxy_config(request, Path(tmp))
        snapshots = snapshots_of(config, request.now)
        async with running_proxy(config) as proxy:
            locked: dict[str, LockedFile] = {}
            resolved = []
            for number, target in enumerate(ordered, 1):
                progress.phase(f"target {target.text} ({number} of {len(ordered)})")
                each = replace(request, target=pip_target(target, request.target.python))
                # The requirements files as request.check() read them, not a later reading:
                # every target resolves the same requirements.
                object.__setattr__(each, "files_read", request.files_read)
                try:
                    resolution = await resolve(each, proxy, Path(tmp), progress)
                    for f in resolution.files:
                        if f.filename not in locked:
                            locked[f.filename] = await _locked(proxy, snapshots, f, False)
                except FAILURES as exc:
                    raise FetchError(f"target {target.text}: {explain(proxy, exc)}") from None
                resolved.append(
                    TargetResolution(
                        target,
                        [locked[f.filename] for f in resolution.files],
                        render_lock(resolution.runtime),
                    )
                )
    try:
        merged = merged_pylock(
            resolved,
            cutoff=request.cutoff,
            package_cutoffs=request.package_cutoffs,
            given=request.given or request.policy,
            **request.index_record(),
            pip_version=request.pip_version,
        )
    except ValueError as exc:  # PylockValidationError too: a lock this must not write
        raise FetchError(f"cannot merge the targets' resolutions: {exc}") from None
    text = render_pylock(merged)
    _write_lock(out, text)
    progress.phase(f"wrote {len(locked)} file(s) for {len(ordered)} target(s) to {out}")
    return sorted(locked.values())


def _write_lock(out: Path, text: str) -> None:
    try:
        write_atomically(out, text.encode("utf-8"))
    except OSError as exc:
        # Checked before the work began; this is a change made while it ran.
        raise FetchError(f"cannot write {out}: {exc.strerror}") from None


def _announce_durations(request: FetchRequest, progress: Progress) -> None:
    line = durations_line(request)
    if line is not None:
        progress.phase(line)


def _requires_python(environment: dict[str, str]) -> SpecifierSet | None:
    version = environment.get("python_version")
    return SpecifierSet(f"=={version}.*") if version else None


def read_pylock(path: Path) -> Pylock:
    """A PEP 751 lock from disk, whoever wrote it; FetchError saying why it is none."""
    try:
        return Pylock.from_dict(tomllib.loads(path.read_text(encoding="utf-8")))
    except OSError as exc:
        raise FetchError(f"cannot read {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise FetchError(f"{path} is not a valid pylock.toml: not UTF-8 text") from None
    except (tomllib.TOMLDecodeError, PylockValidationError) as exc:
        raise FetchError(f"{path} is not a valid pylock.toml: {exc}") from None


def _this_interpreter() -> SelectionTarget:
    """The interpreter running snapproxy as pip sees it: its whole PEP 508 environment
    (python_full_version and all) and its PEP 425 tags in pip's order of preference."""
    environment = cast("dict[str, str]", dict(default_environment()))
    name = (
        f"this interpreter ({environment['implementation_name']} "
        f"{environment['python_full_version']} on {environment['sys_platform']} "
        f"{environment['platform_machine']})"
    )
    return SelectionTarget(name, environment, tuple(sys_tags()))


async def fetch_from_lock(
    path: Path,
    out: Path,
    progress: Progress,
    ca_file: Path | None = None,
    targets: Sequence[LockTarget] = (),
    netrc_file: Path | None = None,
) -> list[LockedFile]:
    """Download into ``out`` the files of a PEP 751 lock (snapproxy's, uv's, pip's) that
    ``targets`` use, each checked against its sha256: no resolution, no pip.

    No target: this interpreter.  Several: the union of their selections, one wheelhouse
    serving each.  Nothing is downloaded before the whole selection succeeded, and ``out``
    appears only when every file did.
    """
    _check_output(check_new_directory, out)
    pylock = read_pylock(path)
    chosen = [SelectionTarget.of(target) for target in targets] or [_this_interpreter()]
    try:
        files = wheelhouse_files(pylock.document, chosen)
        text = wheelhouse_lock_text(pylock.document, files)
    except (SelectionError, ConflictingVersions) as exc:
        raise FetchError(f"{path}: {exc}") from None
    named = sum(len(package_archives(p)) for p in pylock.document["packages"])
    progress.phase(
        f"{len(files)} of the {named} file(s) in {path} are for "
        f"{', '.join(target.name for target in chosen)}"
    )
    with tempfile.TemporaryDirectory(prefix="snapproxy-fetch-") as tmp:
        try:
            await _download_into(
                out,
                Path(tmp),
                [f.chosen() for f in files],
                text,
                progress,
                ca_file,
                netrc_file=netrc_file,
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
