"""A resolution remembered for the same inputs, so a warm ``fetch`` or ``lock`` skips pip.

pip's choice is a function of what it is given (the requirements and every file they
include, the cutoff and every project's own, as instants, pip's version, the target
options, the interpreter's environment, the code of this proxy) and of the index pages it
reads.  The first part is hashed into the memo's key; the pages are recorded as the
upstream copies the in-process proxy answered from (:class:`snapproxy.page_log.PageLog`).
A memo is used only while each of those copies is still the one the proxy would answer
from now: the same sha256, and fresh under the proxy's max-age.  Anything else (a page
that went stale or changed, a copy gone from the cache, a damaged memo) runs pip again,
which refreshes the pages.

The functions here are pure; :func:`recall` and :func:`remember` are the file edge, and
:func:`probe_interpreter` / :func:`code_identity` read the environment.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import packaging

import fetcher
import snapproxy
from fetcher.pip_report import ChosenFile
from fetcher.resolution import Resolution
from snapproxy.atomic_file import write_atomically
from snapproxy.page_cache import StoredCopy, is_fresh

__all__ = [
    "Interpreter",
    "Memo",
    "code_identity",
    "decode",
    "encode",
    "memo_key",
    "probe_interpreter",
    "recall",
    "remember",
    "still_valid",
]

# Bumped whenever the memo's meaning or layout changes.
SCHEMA = 1
# Where the resolution's file URLs point: replaced by the proxy's base on use.
BASE = "http://snapproxy.invalid"


@dataclass(frozen=True)
class Memo:
    resolution: Resolution  # file URLs under BASE
    pages: Mapping[str, str]  # page cache key -> sha256 of the upstream copy pip read


def memo_key(inputs: Mapping[str, Any]) -> str:
    """The key of everything pip is given, as canonical JSON hashed."""
    text = json.dumps({"schema": SCHEMA, **inputs}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _file_row(f: ChosenFile) -> list[str]:
    return [f.name, f.version, f.filename, f.url, f.sha256]


def encode(memo: Memo) -> bytes:
    """A header line with the body's sha256, then the body (JSON)."""
    r = memo.resolution
    body = json.dumps(
        {
            "runtime": [_file_row(f) for f in r.runtime],
            "build": [_file_row(f) for f in r.build],
            "environment": r.environment,
            "pages": dict(memo.pages),
        },
        sort_keys=True,
    ).encode()
    header = json.dumps({"schema": SCHEMA, "sha256": hashlib.sha256(body).hexdigest()})
    return header.encode() + b"\n" + body


def _files(rows: object) -> list[ChosenFile]:
    if not isinstance(rows, list):
        raise TypeError("not a list of files")
    files = []
    for row in rows:
        if not (isinstance(row, list) and len(row) == 5 and all(isinstance(x, str) for x in row)):
            raise TypeError("not a file row")
        files.append(ChosenFile(*row))
    return files


def decode(raw: bytes) -> Memo | None:
    """The memo ``raw`` holds, or None when it is not exactly what :func:`encode` wrote."""
    header, sep, body = raw.partition(b"\n")
    try:
        meta = json.loads(header)
        digest = hashlib.sha256(body).hexdigest()
        if not sep or meta["schema"] != SCHEMA or meta["sha256"] != digest:
            return None
        doc = json.loads(body)
        environment, pages = doc["environment"], doc["pages"]
        if not isinstance(environment, dict) or not isinstance(pages, dict):
            return None
        resolution = Resolution(_files(doc["runtime"]), _files(doc["build"]), environment)
    except (ValueError, KeyError, TypeError):
        return None
    return Memo(resolution, pages)


def still_valid(
    memo: Memo, stored: Callable[[str], StoredCopy | None], now: float, max_age: float
) -> bool:
    """Whether the proxy would answer every page pip read from the same upstream copy."""
    for key, digest in memo.pages.items():
        copy = stored(key)
        if copy is None or copy.digest != digest or not is_fresh(copy.fetched_at, now, max_age):
            return False
    return bool(memo.pages)


# -- the edge ----------------------------------------------------------------------------


def _path(cache_dir: Path, key: str) -> Path:
    return cache_dir / "resolutions" / key[:2] / key


def recall(
    cache_dir: Path,
    key: str,
    stored: Callable[[str], StoredCopy | None],
    now: float,
    max_age: float,
) -> Memo | None:
    """The memo for ``key`` if there is one and it still holds.  Blocking."""
    try:
        raw = _path(cache_dir, key).read_bytes()
    except OSError:
        return None
    memo = decode(raw)
    if memo is None or not still_valid(memo, stored, now, max_age):
        return None
    return memo


def remember(cache_dir: Path, key: str, memo: Memo) -> None:
    """Store ``memo`` (atomically; a failure to write costs only the next run's time)."""
    path = _path(cache_dir, key)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # The header's digest detects a torn write, so no fsync.
        write_atomically(path, encode(memo), durable=False)
    except OSError:
        pass


def code_identity() -> str:
    """The sha256 of this proxy's and fetcher's code and of packaging's version: a change
    in any may change which files a snapshot shows."""
    digest = hashlib.sha256(packaging.__version__.encode())
    for package in (snapproxy, fetcher):
        root = Path(package.__path__[0])
        for path in sorted(root.glob("*.py")):
            digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


# What pip reads of its interpreter: its PEP 508 marker environment (as packaging's
# default_environment computes it) and what its wheel tags come from (platform, ABI,
# glibc for manylinux); run in pip's own environment.
_PROBE = """\
import json, os, platform, sys, sysconfig
v = sys.implementation.version
iver = f"{v.major}.{v.minor}.{v.micro}"
if v.releaselevel != "final":
    iver += v.releaselevel[0] + str(v.serial)
names = getattr(os, "confstr_names", {})
libc = os.confstr("CS_GNU_LIBC_VERSION") if "CS_GNU_LIBC_VERSION" in names else None
print(json.dumps({
    "markers": {
        "implementation_name": sys.implementation.name,
        "implementation_version": iver,
        "os_name": os.name,
        "platform_machine": platform.machine(),
        "platform_release": platform.release(),
        "platform_system": platform.system(),
        "platform_version": platform.version(),
        "python_full_version": platform.python_version(),
        "platform_python_implementation": platform.python_implementation(),
        "python_version": ".".join(platform.python_version_tuple()[:2]),
        "sys_platform": sys.platform,
    },
    "tags": [
        sys.version, sys.implementation.cache_tag, sysconfig.get_platform(),
        sysconfig.get_config_var("SOABI"), getattr(sys, "abiflags", ""), libc, sys.maxsize,
        os.path.realpath(sys.executable),
    ],
}))
"""


@dataclass(frozen=True)
class Interpreter:
    markers: dict[str, str]  # its PEP 508 environment
    identity: dict[str, Any]  # everything the probe saw, for the memo's key


async def probe_interpreter(python: str, env: Mapping[str, str]) -> Interpreter | None:
    """What the interpreter pip runs on reports of itself; None when it cannot say."""
    try:
        process = await asyncio.create_subprocess_exec(
            python,
            "-I",
            "-c",
            _PROBE,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
            env=dict(env),
        )
        out, _ = await process.communicate()
    except OSError:
        return None
    if process.returncode != 0:
        return None
    try:
        found = json.loads(out)
        markers = found["markers"]
    except (ValueError, KeyError, TypeError):
        return None
    if not isinstance(markers, dict):
        return None
    return Interpreter({str(k): str(v) for k, v in markers.items()}, found)


def file_digests(paths: Sequence[Path]) -> list[str]:
    """The sha256 of each file pip will read, in order.  Blocking."""
    return [hashlib.sha256(path.read_bytes()).hexdigest() for path in paths]
