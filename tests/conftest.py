"""Shared fixtures. A test's marker follows its directory: tests/unit/... is `unit`, etc."""

from __future__ import annotations

from collections.abc import Generator, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Protocol

import pytest

from tests.support.fakeindex import FakeIndex
from tests.support.proxyproc import SnapproxyServer, start_snapproxy

TESTS_ROOT = Path(__file__).parent
DIRECTORY_MARKERS = {
    "unit": "pure functions and in-process servers, no network",
    "integration": "real pip and uv clients against the proxy and a local fake upstream",
    "live": "real PyPI through the proxy (network)",
    "nix": "real nix-build",
    "faults": "fault injection against the real serve CLI",
}
_SERVERS = pytest.StashKey[list[SnapproxyServer]]()


def pytest_configure(config: pytest.Config) -> None:
    # pyproject.toml registers them too; this keeps --strict-markers happy if it ever does not.
    registered = {line.split(":")[0].strip() for line in config.getini("markers")}
    for name, description in DIRECTORY_MARKERS.items():
        if name not in registered:
            config.addinivalue_line("markers", f"{name}: {description}")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        try:
            top = item.path.relative_to(TESTS_ROOT).parts[0]
        except ValueError:
            continue
        if top in DIRECTORY_MARKERS:
            item.add_marker(getattr(pytest.mark, top))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    # A failing test shows what its snapproxy servers logged, while they still run.
    report = yield
    if report.failed:
        for server in item.stash.get(_SERVERS, []):
            report.sections.append(
                (f"Captured snapproxy stderr (pid {server.proc.pid})", server.stderr())
            )
    return report


@pytest.fixture
def fake_index() -> FakeIndex:
    """An empty FakeIndex, not started (use `fake_upstream`, or `running_async()` in-loop)."""
    return FakeIndex()


@pytest.fixture
def fake_upstream(fake_index: FakeIndex) -> Iterator[FakeIndex]:
    """`fake_index`, served from background threads; its origins are set while the test runs."""
    with fake_index.running():
        yield fake_index


class StartSnapproxy(Protocol):
    def __call__(
        self,
        date: str,
        *,
        upstream: str | FakeIndex,
        files_host: str | None = None,
        args: Sequence[str] = (),
        cache_dir: Path | None = None,
        env: Mapping[str, str] | None = None,
    ) -> SnapproxyServer: ...


@pytest.fixture
def snapproxy_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[StartSnapproxy]:
    """Start the real `snapproxy serve` CLI; every server started is stopped at teardown.

    `upstream` is an index origin (`--upstream`), or a running FakeIndex for both origins.
    """
    servers = request.node.stash.setdefault(_SERVERS, [])

    def start(
        date: str,
        *,
        upstream: str | FakeIndex,
        files_host: str | None = None,
        args: Sequence[str] = (),
        cache_dir: Path | None = None,
        env: Mapping[str, str] | None = None,
    ) -> SnapproxyServer:
        if isinstance(upstream, FakeIndex):  # a running fake names both of its origins
            files_host = files_host or upstream.files_origin
            upstream = upstream.simple_url.removesuffix("/simple/")
        cache = cache_dir or tmp_path_factory.mktemp("snapproxy") / "cache"
        server = start_snapproxy(
            date, upstream=upstream, files_host=files_host, args=args, cache_dir=cache, env=env
        )
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()
