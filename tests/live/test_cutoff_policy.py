"""Rolling and per-project cutoffs against the real PyPI, checked against PyPI's own data.

- `serve --date P30D`: for pip, setuptools and boto3 (a release most days) the proxy shows
  exactly the files PyPI says were uploaded before now minus 30 days. The instant is read
  from the proxy's /-/health around each comparison and the truth computed at it
  (`tests.live.truth`, no snapproxy code); a comparison that straddles a second is
  made again.
- `serve --date 2021-05-01 --package-date certifi=2024-01-01 --package-date six=none`:
  pip, uv and `snapproxy fetch` resolve requests to 2.25.1 with certifi 2023.11.17 (the
  newest certifi before 2024), `snapproxy lock` records both cutoffs, and six shows every
  file it has.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from tests.live.truth import (
    CUTOFF_TEXT,
    PYPI,
    SIMPLE_JSON,
    client_session,
    expected_versions,
    get,
    html_anchors,
    surviving_files,
    surviving_releases,
    upstream_legacy,
    upstream_page,
)
from tests.support.clients import base_python, pip_venv, run_pip, run_uv
from tests.support.fetching import fetch, lock_pins, run_snapproxy
from tests.support.proxyproc import SnapproxyServer, start_snapproxy

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROLLING = ["pip", "setuptools", "boto3"]
CERTIFI_DATE = "2024-01-01"
REQUESTS_WITH_NEWER_CERTIFI = {
    "requests": "2.25.1",
    "urllib3": "1.26.4",
    "idna": "2.10",
    "chardet": "4.0.0",
    "certifi": "2023.11.17",
}
ATTEMPTS = 5


@pytest.fixture(scope="module")
def rolling_proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SnapproxyServer]:
    cache = tmp_path_factory.mktemp("live-rolling") / "cache"
    server = start_snapproxy("P30D", upstream=PYPI, cache_dir=cache)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def own_dates_proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SnapproxyServer]:
    cache = tmp_path_factory.mktemp("live-own-dates") / "cache"
    args = ["--package-date", f"certifi={CERTIFI_DATE}", "--package-date", "Six=none"]
    server = start_snapproxy(CUTOFF_TEXT, upstream=PYPI, cache_dir=cache, args=args)
    try:
        yield server
    finally:
        server.stop()


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


async def _observe(base: str, project: str) -> tuple[str, str, dict[str, Any]]:
    """The proxy's cutoff before and after its three answers, and the answers."""
    async with client_session() as session:
        before = (await get(session, f"{base}/-/health")).json()["cutoff"]
        as_json = await get(session, f"{base}/simple/{project}/", SIMPLE_JSON)
        as_html = await get(session, f"{base}/simple/{project}/", "text/html")
        legacy = await get(session, f"{base}/pypi/{project}/json")
        after = (await get(session, f"{base}/-/health")).json()["cutoff"]
        page = await upstream_page(session, project)
        upstream = await upstream_legacy(session, project)
    seen = {
        "json": as_json, "html": as_html, "legacy": legacy, "page": page, "upstream": upstream,
    }  # fmt: skip
    return before, after, seen


@pytest.mark.parametrize("project", ROLLING)
def test_a_rolling_cutoff_shows_exactly_what_came_before_now_minus_30_days(
    rolling_proxy: SnapproxyServer, project: str
) -> None:
    for _ in range(ATTEMPTS):
        before, after, seen = asyncio.run(_observe(rolling_proxy.base, project))
        if before == after:  # all three answers were made at this one instant
            break
    else:
        pytest.fail(f"the cutoff moved during each of {ATTEMPTS} observations")
    cutoff = _instant(before)
    now = datetime.now(timezone.utc)
    assert abs((now - cutoff).total_seconds() - 30 * 86400) < 600, (now, cutoff)

    expected = surviving_files(seen["page"], cutoff)
    assert expected, f"{project} has files older than 30 days (test data)"
    later = set(f["filename"] for f in seen["page"]["files"]) - set(expected)
    print(f"\n{project} at {before}: {len(expected)} files shown, {len(later)} hidden")

    as_json = seen["json"]
    assert as_json.status == 200
    assert as_json.headers["Cache-Control"] == "no-cache"
    page = as_json.json()
    assert {f["filename"] for f in page["files"]} == set(expected)
    assert page["versions"] == expected_versions(seen["page"], cutoff)
    anchors = {a.text for a in html_anchors(seen["html"].text())}
    assert anchors == set(expected)
    legacy = seen["legacy"].json()
    truth = surviving_releases(seen["upstream"], cutoff)
    shown = {v: {f["filename"] for f in files} for v, files in legacy["releases"].items()}
    assert shown == {v: {f["filename"] for f in files} for v, files in truth.items()}


# ---- per-project cutoffs ---------------------------------------------------------------------


def test_pip_resolves_certifi_at_its_own_cutoff(
    own_dates_proxy: SnapproxyServer, tmp_path: Path
) -> None:
    report = tmp_path / "report.json"
    proc = run_pip(
        pip_venv("26.3"), "install", "--dry-run", "--ignore-installed", "--report",
        str(report), "--index-url", own_dates_proxy.index_url, "requests",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    install = json.loads(report.read_text())["install"]
    pins = {i["metadata"]["name"].lower(): i["metadata"]["version"] for i in install}
    assert pins == REQUESTS_WITH_NEWER_CERTIFI


def test_uv_resolves_certifi_at_its_own_cutoff(
    own_dates_proxy: SnapproxyServer, tmp_path: Path
) -> None:
    requirements = tmp_path / "requirements.in"
    requirements.write_text("requests\n")
    proc = run_uv(
        "pip", "compile", str(requirements), "--no-header", "--no-annotate",
        "--python-version", "3.11", "--python", base_python(),
        "--index-url", own_dates_proxy.index_url, cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    pins = dict(
        line.strip().split("==", 1) for line in proc.stdout.splitlines() if "==" in line
    )
    assert pins == REQUESTS_WITH_NEWER_CERTIFI


def test_fetch_and_lock_resolve_certifi_at_its_own_cutoff(tmp_path: Path) -> None:
    options = ["--date", CUTOFF_TEXT, "--package-date", f"certifi={CERTIFI_DATE}",
               "--cache-dir", str(tmp_path / "cache")]  # fmt: skip
    done = fetch(tmp_path / "out", "requests", *options)
    assert done.returncode == 0, done.stderr
    assert lock_pins(tmp_path / "out") == REQUESTS_WITH_NEWER_CERTIFI

    locked = run_snapproxy("lock", "--quiet", "requests", "-o", tmp_path / "pylock.toml", *options)
    assert locked.returncode == 0, locked.stderr
    doc = tomllib.loads((tmp_path / "pylock.toml").read_text())
    assert {p["name"]: p["version"] for p in doc["packages"]} == REQUESTS_WITH_NEWER_CERTIFI
    tool = doc["tool"]["snapproxy"]
    assert tool["cutoff"] == "2021-05-01T00:00:00Z"
    assert tool["package-cutoffs"] == {"certifi": "2024-01-01T00:00:00Z"}


def test_none_shows_every_file_of_six(own_dates_proxy: SnapproxyServer) -> None:
    async def observe() -> tuple[Any, Any, dict[str, Any], dict[str, Any]]:
        async with client_session() as session:
            as_json = await get(session, f"{own_dates_proxy.base}/simple/six/", SIMPLE_JSON)
            legacy = await get(session, f"{own_dates_proxy.base}/pypi/six/json")
            return as_json, legacy, await upstream_page(session, "six"), await upstream_legacy(
                session, "six"
            )

    as_json, legacy, page, upstream = asyncio.run(observe())
    assert as_json.status == 200
    every = {f["filename"] for f in page["files"]}
    shown = {f["filename"] for f in as_json.json()["files"]}
    print(f"\nsix: {len(shown)} of {len(every)} files shown")
    assert shown == every
    assert len(every) > len(surviving_files(page))  # six has files after 2021-05-01 too
    assert as_json.json()["versions"] == page["versions"]
    # Every release with every file: what the rule keeps at a cutoff after every upload.
    releases = legacy.json()["releases"]
    truth = surviving_releases(upstream, datetime(9999, 12, 31, tzinfo=timezone.utc))
    assert {v: {f["filename"] for f in fs} for v, fs in releases.items()} == {
        v: {f["filename"] for f in fs} for v, fs in truth.items()
    }
