"""Files into a staging directory: from the proxy's store when it holds them, else
downloaded; each checked against its sha256 on the way."""

from __future__ import annotations

import asyncio
import hashlib
import ssl
from collections.abc import Callable, Sequence
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp

from fetcher.fetch_request import FetchError
from fetcher.progress import Progress
from snapproxy.credentials import Credentials, NetrcUnreadable, read_netrc, redact_url
from snapproxy.file_store import FileStore, InvalidDigest, Verifier
from snapproxy.redirects import get_following

DOWNLOADS_AT_ONCE = 8
CHUNK = 256 * 1024


Lookup = Callable[[str], "Credentials | None"]


def netrc_lookup(path: Path | None) -> Lookup:
    """Credentials by URL from the netrc file at ``path`` (read once), as pip and curl
    read it: only for the host the file names (a redirect to another host carries none)."""
    try:
        by_host = read_netrc(path)
    except NetrcUnreadable as exc:
        raise FetchError(str(exc)) from None
    return lambda url: by_host(urlsplit(url).hostname or "")


async def download_file(
    session: aiohttp.ClientSession,
    url: str,
    sha256: str,
    dest: Path,
    credentials: Lookup | None = None,
) -> None:
    digest = hashlib.sha256()

    def headers_for(target: str) -> dict[str, str]:
        # identity: the bytes as the index hashed them, never a transfer coding of them.
        headers = {"Accept-Encoding": "identity"}
        found = credentials(target) if credentials is not None else None
        if found is not None:
            headers["Authorization"] = found.header()
        return headers

    try:
        # Redirects by hand, so that credentials never follow one to another host.
        response = await get_following(session, url, headers_for)
        async with response:
            if response.status in (401, 403):
                host = urlsplit(url).hostname
                raise FetchError(
                    f"cannot download {dest.name}: {redact_url(url)} answered "
                    f"{response.status}; give credentials for machine {host} in the netrc "
                    "file (--netrc, $NETRC or ~/.netrc)"
                )
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


def copy_stored(store: FileStore, sha256: str, dest: Path) -> bool:
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


async def download_all(
    files: Sequence[tuple[str, str, Path]],
    progress: Progress,
    ca_file: Path | None = None,
    store: FileStore | None = None,
    credentials: Lookup | None = None,
) -> None:
    """Download ``(url, sha256, destination)`` triples concurrently, each verified.

    With the proxy's ``store``, a file it holds intact is copied from there instead.
    ``credentials``: what to send to each URL's host (netrc_lookup).
    """
    limit = asyncio.Semaphore(DOWNLOADS_AT_ONCE)
    timeout = aiohttp.ClientTimeout(total=None, sock_read=600)
    tls = ssl.create_default_context(cafile=ca_file) if ca_file else True
    connector = aiohttp.TCPConnector(ssl=tls)
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:

        async def one(url: str, sha256: str, dest: Path) -> None:
            async with limit:
                if store is None or not await asyncio.to_thread(copy_stored, store, sha256, dest):
                    await download_file(session, url, sha256, dest, credentials)
            progress.advance(1)

        tasks = [asyncio.ensure_future(one(*f)) for f in files]
        try:
            await asyncio.gather(*tasks)
        finally:
            # On the first failure the others stop too, before the staging area goes.
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
