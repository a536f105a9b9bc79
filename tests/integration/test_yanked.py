"""PEP 592 yanks through the proxy: `--yanked keep` passes them on, `ignore` hides them.

alpha 1.1 (before the cutoff) is yanked upstream with the reason "broken". A client obeys
a yank for a range (an unpinned requirement picks alpha 1.0) but may still install a
yanked file pinned with `==`, warning with the reason.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.harness import CUTOFF, Client, StartProxy, add_catalogue
from tests.support.fakeindex import FakeIndex
from tests.support.proxyproc import SnapproxyServer

REASON = "broken"


@pytest.fixture(scope="module")
def proxies(upstream: FakeIndex, module_proxy: StartProxy) -> dict[str, SnapproxyServer]:
    add_catalogue(upstream, alpha_11_yanked=REASON)
    return {
        policy: module_proxy(CUTOFF, upstream=upstream, args=["--yanked", policy])
        for policy in ("keep", "ignore")
    }


@pytest.mark.parametrize(
    ("policy", "requirements", "expected"),
    [
        pytest.param("keep", ["alpha"], {"alpha": "1.0"}, id="keep-direct"),
        pytest.param("keep", ["beta"], {"alpha": "1.0", "beta": "1.0"}, id="keep-transitive"),
        pytest.param("ignore", ["alpha"], {"alpha": "1.1"}, id="ignore-direct"),
        pytest.param(
            "ignore", ["beta"], {"alpha": "1.1", "beta": "1.0"}, id="ignore-transitive"
        ),
    ],
)
def test_unpinned_requirement_and_yanked_file(
    client: Client,
    proxies: dict[str, SnapproxyServer],
    tmp_path: Path,
    policy: str,
    requirements: list[str],
    expected: dict[str, str],
) -> None:
    got = client.resolve(proxies[policy].index_url, requirements, tmp_path)
    assert got.ok, got.output
    assert got.pins == expected


def test_pinned_yanked_file_installs_with_the_reason_under_keep(
    client: Client, proxies: dict[str, SnapproxyServer], tmp_path: Path
) -> None:
    installed = client.install(proxies["keep"].index_url, ["alpha==1.1"], tmp_path)
    assert installed.proc.returncode == 0, installed.output
    assert installed.versions("alpha") == {"alpha": "1.1"}
    # The client's PEP 592 warning carries the reason the index gave (JSON `yanked` or
    # HTML `data-yanked`), so the reason itself went through the proxy.
    assert client.yank_warning.format(reason=REASON) in installed.output, installed.output


def test_pinned_file_is_not_yanked_under_ignore(
    client: Client, proxies: dict[str, SnapproxyServer], tmp_path: Path
) -> None:
    installed = client.install(proxies["ignore"].index_url, ["alpha==1.1"], tmp_path)
    assert installed.proc.returncode == 0, installed.output
    assert installed.versions("alpha") == {"alpha": "1.1"}
    # pip: "... is a yanked version ..."; uv: "`alpha==1.1` is yanked (reason: ...)"
    assert "is a yanked version" not in installed.output, installed.output
    assert "is yanked" not in installed.output, installed.output
