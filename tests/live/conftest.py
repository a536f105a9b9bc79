"""Live tier: the real `snapproxy serve` CLI in front of the real PyPI.

Each module gets one proxy (module scope) at the cutoff of `truth.CUTOFF_TEXT`, with its own
empty cache directory, and every test in the module reuses it.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator

import pytest

from tests.live.truth import CUTOFF_TEXT, PYPI
from tests.support.clients import require_network
from tests.support.proxyproc import SnapproxyServer, start_snapproxy

_MODULE_SERVER = pytest.StashKey[SnapproxyServer]()


@pytest.fixture(scope="module", autouse=True)
def _network_gate() -> None:
    """Skip the module when PyPI is unreachable (fail under SNAPPROXY_REQUIRE_NETWORK=1)."""
    require_network("live tests need PyPI")


@pytest.fixture(scope="module")
def live_proxy(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, _network_gate: None
) -> Iterator[SnapproxyServer]:
    """`snapproxy serve --date 2021-05-01 --port 0 --cache-dir <empty dir>` in front of PyPI."""
    cache = tmp_path_factory.mktemp("live-snapproxy") / "cache"
    server = start_snapproxy(CUTOFF_TEXT, upstream=PYPI, cache_dir=cache)
    request.node.stash[_MODULE_SERVER] = server
    try:
        yield server
    finally:
        server.stop()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    # A failing live test shows what its module's proxy logged (route, status, cache).
    report = yield
    module = item.getparent(pytest.Module)
    server = module.stash.get(_MODULE_SERVER, None) if module is not None else None
    if report.failed and server is not None:
        report.sections.append((f"snapproxy stderr (pid {server.proc.pid})", server.stderr()))
    return report
