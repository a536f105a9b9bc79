"""`snapproxy fetch` and `lock` stopped by SIGTERM or Ctrl-C: one line, 143 or 130, no debris.

Each signal is sent at a moment the test can see, so the timing needs no sleep: while pip
resolves (the fake upstream holds the page pip waits for, and its request log says when
pip asked for it), or while a file streams into the cache (a files host that stops
half-way, and the cache's temporary file on disk).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from aiohttp import web

from tests.support.distributions import Dist, make_wheel
from tests.support.fakeindex import FakeFile, FakeIndex
from tests.support.fetching import BEFORE_CUTOFFS, PIP_UPLOADED
from tests.support.proxyproc import snapproxy_executable
from tests.support.servers import serve_in_thread

# Only a guard against a hang: every wait below ends as soon as its event happens.
HANG_GUARD = 300.0
PIP_WHEEL_DIR = "pip-26.3-py3-none-any.whl/pip"


@pytest.fixture
def files(pip_wheel: Dist) -> list[FakeFile]:
    # pip among them: the stalling files host below serves every one of them.
    return [FakeFile(pip_wheel, PIP_UPLOADED), FakeFile(make_wheel("alpha", "1.0"), BEFORE_CUTOFFS)]


@pytest.fixture
def upstream(files: list[FakeFile]) -> Iterator[FakeIndex]:
    index = FakeIndex()
    for file in files:
        index.add(file.dist.name, file)
    with index.running():
        yield index


def run(command: str, out: Path, upstream: FakeIndex, tmp_path: Path) -> subprocess.Popen[str]:
    """The CLI in a process group of its own, with TMPDIR and the cache inside tmp_path."""
    assert upstream.index_origin and upstream.files_origin
    env = dict(os.environ, TMPDIR=str(tmp_path / "tmpdir"), HOME=str(tmp_path / "home"))
    return subprocess.Popen(
        [snapproxy_executable(), command, "--quiet", "-o", str(out), "alpha",
         "--date", "2021-05-01", "--upstream", upstream.index_origin,
         "--files-host", upstream.files_origin, "--cache-dir", str(tmp_path / "cache")],
        env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, start_new_session=True,
    )  # fmt: skip


def interrupt(
    proc: subprocess.Popen[str], signum: signal.Signals, to_group: bool
) -> tuple[str, str]:
    try:
        if to_group:
            os.killpg(proc.pid, signum)
        else:
            proc.send_signal(signum)
        return proc.communicate(timeout=HANG_GUARD)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def assert_interrupted(
    proc: subprocess.Popen[str], signum: signal.Signals, stdout: str, stderr: str, tmp_path: Path
) -> None:
    assert proc.returncode == 128 + signum, stderr
    assert stderr == f"snapproxy: interrupted ({signum.name}); nothing written\n"
    assert stdout == ""
    # The work directory, and pip's temporary directories inside it, are gone.
    assert sorted(p.name for p in (tmp_path / "tmpdir").iterdir()) == []
    assert sorted(p.name for p in (tmp_path / "outdir").iterdir()) == []
    assert not list((tmp_path / "cache").rglob(".tmp-*"))


def wait_for(condition: Callable[[], bool], proc: subprocess.Popen[str], what: str) -> None:
    deadline = time.monotonic() + HANG_GUARD
    while not condition():
        if proc.poll() is not None:
            _out, err = proc.communicate()
            pytest.fail(f"snapproxy exited ({proc.returncode}) before {what}:\n{err}")
        if time.monotonic() > deadline:
            pytest.fail(f"hang guard: still no {what}")
        time.sleep(0.02)


def descendants(pid: int) -> set[int]:
    """Every process below ``pid``, from /proc."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            # The command name may hold spaces and parentheses: fields follow the last ")".
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier}
        found |= frontier
    return found


def alive(pid: int) -> bool:
    """Running, not a zombie waiting for a parent that no longer looks."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def is_pip(pid: int) -> bool:
    try:
        return PIP_WHEEL_DIR in Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ")
    except OSError:
        return False


@pytest.mark.parametrize(
    ("command", "signum", "to_group"),
    [
        pytest.param("fetch", signal.SIGTERM, False, id="fetch-SIGTERM"),
        # Ctrl-C in a terminal signals the whole foreground process group.
        pytest.param("fetch", signal.SIGINT, True, id="fetch-ctrl-c"),
        pytest.param("lock", signal.SIGTERM, False, id="lock-SIGTERM"),
        pytest.param("lock", signal.SIGINT, True, id="lock-ctrl-c"),
    ],
)
def test_a_signal_during_resolution_leaves_nothing(
    upstream: FakeIndex, tmp_path: Path, command: str, signum: signal.Signals, to_group: bool
) -> None:
    for directory in ("tmpdir", "outdir"):
        (tmp_path / directory).mkdir()
    out = tmp_path / "outdir" / ("wheels" if command == "fetch" else "pylock.toml")
    # pip will wait on this page until the test is over.
    upstream.delay("/simple/alpha/", HANG_GUARD)
    proc = run(command, out, upstream, tmp_path)
    try:
        # The page is asked for ahead of pip (fetch's prefetch) and pip's own request
        # joins that one: the moment is when both the page is awaited and pip runs.
        wait_for(
            lambda: upstream.hits["/simple/alpha/"] > 0
            and any(is_pip(pid) for pid in descendants(proc.pid)),
            proc,
            "pip running while alpha's page is awaited",
        )
        pips = {pid for pid in descendants(proc.pid) if is_pip(pid)}
        assert pips, "pip is not running while its page is awaited"
    finally:
        stdout, stderr = interrupt(proc, signum, to_group)
    assert_interrupted(proc, signum, stdout, stderr, tmp_path)
    assert not [pid for pid in pips if alive(pid)]


def stalling_files_host(files: list[FakeFile], stall: FakeFile) -> web.Application:
    """The files of ``files`` (and their metadata); ``stall`` stops half-way, for good."""
    bodies = {f"/packages/{f.path}": f.dist.content for f in files}
    bodies |= {f"/packages/{f.path}.metadata": f.dist.metadata for f in files if f.dist.metadata}

    async def handler(request: web.Request) -> web.StreamResponse:
        body = bodies.get(request.path)
        if body is None:
            raise web.HTTPNotFound()
        if request.path != f"/packages/{stall.path}":
            return web.Response(body=body)
        response = web.StreamResponse(headers={"Content-Length": str(len(body))})
        await response.prepare(request)
        await response.write(body[: len(body) // 2])
        await asyncio.sleep(HANG_GUARD)
        return response

    app = web.Application()
    app.router.add_get("/{tail:.*}", handler)
    return app


def test_a_signal_while_a_file_streams_into_the_cache_leaves_no_temporary_file(
    upstream: FakeIndex, files: list[FakeFile], tmp_path: Path
) -> None:
    for directory in ("tmpdir", "outdir"):
        (tmp_path / directory).mkdir()
    with serve_in_thread(stalling_files_host(files, stall=files[1])) as origin:
        # The index now lists every file at the stalling host.
        upstream.files_origin = origin
        proc = run("fetch", tmp_path / "outdir" / "wheels", upstream, tmp_path)
        try:
            wait_for(
                lambda: bool(list((tmp_path / "cache").rglob(".tmp-*"))),
                proc,
                "the cache's temporary file for alpha",
            )
        finally:
            stdout, stderr = interrupt(proc, signal.SIGTERM, to_group=False)
    assert_interrupted(proc, signal.SIGTERM, stdout, stderr, tmp_path)
