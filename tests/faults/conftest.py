"""Fixtures of the fault tier: a hostile upstream with a third host, and real `serve` processes.

Every test gets these checks at teardown, whatever it tests itself:

- the third host saw no request (only the configured index and files host are contacted);
- no server answered a 500 or logged a traceback (errors are one-line bodies).
"""

from __future__ import annotations

import re
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Protocol

import pytest

from tests.faults.hostile_upstream import HostileUpstream
from tests.faults.probes import Proxy, launch

_PROXIES = pytest.StashKey[list[Proxy]]()
_ACCESS_500 = re.compile(r" (?:GET|HEAD) \S+ 500 ")


@pytest.fixture
def upstream() -> Iterator[HostileUpstream]:
    hostile = HostileUpstream()
    with hostile.running():
        yield hostile
        third = hostile.requests("third")
    assert not third, f"the third host was contacted: {[s.target for s in third]}"


class Serve(Protocol):
    def __call__(
        self, *args: str, cache_dir: Path | None = ..., no_cache: bool = False, date: str = ...
    ) -> Proxy: ...


@pytest.fixture
def serve(
    request: pytest.FixtureRequest, upstream: HostileUpstream, tmp_path: Path
) -> Iterator[Serve]:
    """Start `snapproxy serve` against `upstream`; a fresh cache dir unless one is given."""
    proxies = request.node.stash.setdefault(_PROXIES, [])
    counter = iter(range(1000))

    def start(
        *args: str, cache_dir: Path | None = None, no_cache: bool = False, date: str = "2024-01-01"
    ) -> Proxy:
        n = next(counter)
        cache = None if no_cache else (cache_dir or tmp_path / f"cache-{n}")
        proxy = launch(upstream, *args, cache_dir=cache, workdir=tmp_path / "logs", date=date)
        proxies.append(proxy)
        return proxy

    yield start
    for proxy in proxies:
        proxy.stop()
    for proxy in proxies:
        text = proxy.stderr()
        found = _ACCESS_500.search(text)
        assert not found, f"pid {proxy.pid} answered a 500:\n{_around(text, found.start())}"
        at = text.find("Traceback")
        assert at < 0, f"pid {proxy.pid} logged a traceback:\n{_around(text, at)}"


def _around(text: str, at: int) -> str:
    """The log from just before `at`: what a failing teardown shows."""
    start = text.rfind("\n", 0, max(0, at - 300)) + 1
    return text[start : start + 5000]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.failed:
        for proxy in item.stash.get(_PROXIES, []):
            text = proxy.stderr()
            report.sections.append(
                (f"snapproxy stderr (pid {proxy.pid}, last 8000 chars)", text[-8000:])
            )
    return report
