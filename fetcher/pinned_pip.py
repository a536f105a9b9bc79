"""The pinned pip: its wheel through the snapshot, and what to run of it (the wheel, or
its checked unpacked copy in the cache)."""

from __future__ import annotations

import asyncio
import hashlib
import os
import tempfile
from pathlib import Path

import aiohttp
from packaging.version import InvalidVersion, Version

from fetcher.fetch_request import FetchError, FetchRequest
from fetcher.inproc_proxy import RunningProxy
from fetcher.pip_install import installed_pip, intact_copy
from fetcher.pip_runner import (
    pip_environment,
    pip_wheel_filename,
)
from snapproxy.upstream import UpstreamError

# Far enough in the future that every upload is visible: pip itself is pinned by its
# version (and checked against the index's sha256), not by the snapshot.
UNFILTERED = "9999-12-31"


async def fetch_pip_wheel(proxy: RunningProxy, version: str, workdir: Path) -> tuple[Path, str]:
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


async def pinned_pip(
    request: FetchRequest, proxy: RunningProxy, workdir: Path
) -> tuple[Path, asyncio.Future[Path | None] | None]:
    """What to run as pip, and the making of a copy for later fetches, if one is under way.

    With a cache, an intact unpacked copy of the wheel (it starts three times faster).
    When there is none yet, this fetch runs the wheel while the copy is made alongside:
    compiling it costs about what it saves one run, and a cold fetch mostly waits on the
    network.  Without a cache (a Nix build), the wheel.
    """
    wheel, sha256 = await fetch_pip_wheel(proxy, request.pip_version, workdir)
    if request.cache_dir is None:
        return wheel, None
    python = request.target.python
    copy = await asyncio.to_thread(intact_copy, wheel, sha256, python, request.cache_dir)
    if copy is not None:
        return copy, None
    home, tmp = pip_scratch(workdir)
    env = pip_environment(os.environ, home, tmp)
    making = asyncio.ensure_future(installed_pip(wheel, sha256, python, request.cache_dir, env))
    return wheel, making


def pip_scratch(workdir: Path) -> tuple[Path, Path]:
    """A fresh HOME and TMPDIR for one pip run, inside the work directory."""
    scratch = Path(tempfile.mkdtemp(dir=workdir, prefix="pip-"))
    home, tmp = scratch / "home", scratch / "tmp"
    home.mkdir()
    tmp.mkdir()
    return home, tmp


# A PEP 508 project name, as it may appear in pip's words.
