"""Fixtures of the integration tier: real clients, and proxies shared by a module's tests.

Client venvs are built once (and cached across sessions by tests/support/clients.py);
building one needs PyPI, so a missing one skips its tests when PyPI is unreachable.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator, Sequence

import pytest

from tests.integration.harness import (
    CLIENT_IDS,
    Client,
    StartProxy,
    UvClient,
    make_client,
)
from tests.support.distributions import Dist
from tests.support.fakeindex import FakeIndex
from tests.support.fetching import real_pip_wheel
from tests.support.proxyproc import SnapproxyServer, start_snapproxy

# Servers that outlive one test: their logs are attached to a failing test's report, from
# where they stood when the test started.
_MODULE_SERVERS = pytest.StashKey[list[SnapproxyServer]]()
_LOG_MARKS = pytest.StashKey[dict[int, int]]()


# Module scope, not session: pytest groups tests by the value of a parametrized fixture,
# and a session-wide grouping would interleave modules and restart their servers for each
# client. The venvs themselves are built once (make_client caches them).
@pytest.fixture(scope="module", params=CLIENT_IDS)
def client(request: pytest.FixtureRequest) -> Client:
    """Every client: each pip of PIP_VERSIONS, then uv."""
    return make_client(request.param)


@pytest.fixture(scope="session")
def uv_client() -> UvClient:
    client = make_client("uv")
    assert isinstance(client, UvClient)
    return client


@pytest.fixture(scope="module")
def upstream() -> Iterator[FakeIndex]:
    """One running fake upstream per module; the module's `catalogue` fixture fills it."""
    fake = FakeIndex()
    with fake.running():
        yield fake


@pytest.fixture(scope="module")
def module_proxy(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[StartProxy]:
    """Start `snapproxy serve` subprocesses that live as long as the module's tests."""
    servers = request.node.stash.setdefault(_MODULE_SERVERS, [])

    def start(
        date: str, *, upstream: FakeIndex, args: Sequence[str] = ()
    ) -> SnapproxyServer:
        assert upstream.index_origin is not None and upstream.files_origin is not None
        cache = tmp_path_factory.mktemp("module-snapproxy") / "cache"
        server = start_snapproxy(
            date,
            upstream=upstream.index_origin,
            files_host=upstream.files_origin,
            cache_dir=cache,
            args=args,
        )
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def _module_servers(item: pytest.Item) -> list[SnapproxyServer]:
    module = item.getparent(pytest.Module)
    return [] if module is None else module.stash.get(_MODULE_SERVERS, [])


@pytest.fixture(autouse=True)
def _mark_module_server_logs(request: pytest.FixtureRequest) -> None:
    request.node.stash[_LOG_MARKS] = {
        server.proc.pid: len(server.stderr()) for server in _module_servers(request.node)
    }


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.failed:
        marks = item.stash.get(_LOG_MARKS, {})
        for server in _module_servers(item):
            text = server.stderr()[marks.get(server.proc.pid, 0) :]
            if not text:
                continue
            report.sections.append(
                (f"snapproxy stderr during this test (module server, pid {server.proc.pid})",
                 text)
            )
    return report


@pytest.fixture(scope="session")
def pip_wheel() -> Dist:
    """The real pip wheel `snapproxy fetch` runs, for fake upstreams (fetch_upstream)."""
    return real_pip_wheel()
