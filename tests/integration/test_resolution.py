"""Every client resolves and installs through the proxy as it would have at the cutoff.

One fake upstream and one `snapproxy serve --date CUTOFF` serve the whole module:
alpha 1.0 and 1.1 were uploaded before CUTOFF, alpha 2.0 after; beta 1.0 (before) needs
alpha<3; newproj was created after CUTOFF. Other cutoffs are asked of the same server
through `/snapshot/<cutoff>/`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.harness import (
    ALPHA_10,
    ALPHA_11,
    CUTOFF,
    EARLY,
    LATE,
    Client,
    ProxyLog,
    StartProxy,
    UvClient,
    add_catalogue,
    snapshot_index,
)
from tests.support.fakeindex import FakeIndex
from tests.support.proxyproc import SnapproxyServer


@pytest.fixture(scope="module")
def proxy(upstream: FakeIndex, module_proxy: StartProxy) -> SnapproxyServer:
    add_catalogue(upstream)
    return module_proxy(CUTOFF, upstream=upstream)


# ---- the server's own cutoff ----------------------------------------------------------


def test_resolution_hides_files_uploaded_after_the_cutoff(
    client: Client, proxy: SnapproxyServer, tmp_path: Path
) -> None:
    got = client.resolve(proxy.index_url, ["beta"], tmp_path)
    assert got.ok, got.output
    # alpha 2.0 satisfies beta's alpha<3 and is the newest upstream: it must stay hidden.
    assert got.pins == {"alpha": "1.1", "beta": "1.0"}
    for name, url in got.urls.items():  # pip's report: every file comes through the proxy
        assert url.startswith(f"{proxy.base}/files/{name}/"), (name, url)


def test_project_created_after_the_cutoff_is_not_found(
    client: Client, proxy: SnapproxyServer, tmp_path: Path
) -> None:
    log = ProxyLog(proxy)
    got = client.install(proxy.index_url, ["newproj"], tmp_path)
    assert got.proc.returncode != 0, got.output
    assert client.not_found.format(name="newproj") in got.output, got.output
    log.wait_for_path("/simple/newproj/", status=404)


def test_install_into_a_fresh_environment(
    client: Client, proxy: SnapproxyServer, tmp_path: Path
) -> None:
    """pip: `install --target` a new directory; uv: `uv venv` + `uv pip install --python`."""
    log = ProxyLog(proxy)
    installed = client.install(proxy.index_url, ["beta"], tmp_path)
    assert installed.proc.returncode == 0, installed.output
    assert installed.versions("alpha", "beta") == {"alpha": "1.1", "beta": "1.0"}
    log.wait_for_path(f"/files/alpha/{ALPHA_11.filename}")


def test_uv_pip_install_into_a_fresh_uv_venv(
    uv_client: UvClient, proxy: SnapproxyServer, tmp_path: Path
) -> None:
    python = uv_client.venv(tmp_path)
    proc = uv_client.run(
        "pip", "install", "--python", str(python), "--index-url", proxy.index_url, "beta"
    )
    assert proc.returncode == 0, proc.stderr
    freeze = uv_client.run("pip", "freeze", "--python", str(python))
    assert freeze.returncode == 0, freeze.stderr
    assert sorted(freeze.stdout.split()) == ["alpha==1.1", "beta==1.0"]


# ---- other cutoffs from the same server --------------------------------------------------


@pytest.mark.parametrize(
    ("cutoff", "requirements", "expected"),
    [
        pytest.param(EARLY, ["beta"], {"alpha": "1.0", "beta": "1.0"}, id="before-alpha-1.1"),
        # alpha 1.1 was uploaded at exactly 10:00:00Z: visible only strictly after it.
        pytest.param(
            "2023-03-10T12:00:00+02:00", ["beta"], {"alpha": "1.0", "beta": "1.0"},
            id="at-alpha-1.1-upload",
        ),
        pytest.param(
            "2023-03-10T12:00:01+02:00", ["beta"], {"alpha": "1.1", "beta": "1.0"},
            id="just-after-alpha-1.1-upload",
        ),
        pytest.param(
            LATE, ["beta", "newproj"], {"alpha": "2.0", "beta": "1.0", "newproj": "1.0"},
            id="after-everything",
        ),
    ],
)
def test_snapshot_route_resolves_as_at_its_own_cutoff(
    client: Client,
    proxy: SnapproxyServer,
    tmp_path: Path,
    cutoff: str,
    requirements: list[str],
    expected: dict[str, str],
) -> None:
    got = client.resolve(snapshot_index(proxy, cutoff), requirements, tmp_path)
    assert got.ok, got.output
    assert got.pins == expected
    for name, url in got.urls.items():  # files stay inside the snapshot's tree
        assert url.startswith(f"{proxy.base}/snapshot/"), (name, url)


def test_install_from_an_older_snapshot(
    client: Client, proxy: SnapproxyServer, tmp_path: Path
) -> None:
    log = ProxyLog(proxy)
    installed = client.install(snapshot_index(proxy, EARLY), ["beta"], tmp_path)
    assert installed.proc.returncode == 0, installed.output
    assert installed.versions("alpha", "beta") == {"alpha": "1.0", "beta": "1.0"}
    log.wait_for_path(f"/snapshot/{EARLY}/files/alpha/{ALPHA_10.filename}")
