"""Rolling cutoffs (--date P30D) and per-project cutoffs (--package-date) over HTTP.

The rolling window is driven by freezegun: the clock is moved across the uploads of the
fake index's foo-bar, 30 days on, and every answer is compared with the design's rule
applied to ``now - 30 days`` (``http_fixtures.visible``, not the product's code).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from freezegun import freeze_time

import snapproxy.proxy
from tests.support.fakeindex import FakeFile
from tests.unit.http_fixtures import (
    AS_HTML,
    AS_JSON,
    CUTOFF,
    CUTOFF_TEXT,
    EARLY,
    FOO_BAR,
    IMMUTABLE,
    NAME,
    UNDATED,
    Client,
    StartProxy,
    filenames,
    parse_html,
    upload_time,
    visible,
)

UTC = timezone.utc
PAGE = f"/simple/{NAME}/"
WINDOW = timedelta(days=30)


def moments() -> list[datetime]:
    """Clock readings on both sides of each upload, 30 days on: the window's edges."""
    out = []
    for f in FOO_BAR:
        uploaded = upload_time(f)
        assert uploaded is not None
        edge = (uploaded + WINDOW).replace(microsecond=0)
        out += [edge - timedelta(seconds=1), edge, edge + timedelta(seconds=1)]
    return sorted(set(out))


def shown_at(clock: datetime) -> set[str]:
    """What a 30-day rolling cutoff shows at ``clock``: the rule, at now - 30 days, to the
    second (as a rolling cutoff is taken)."""
    return filenames(visible(FOO_BAR, clock.replace(microsecond=0) - WINDOW))


@pytest.fixture
def renders(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[object]]:
    """Each time the proxy filters a project page for a body (not served from memory)."""
    calls: list[object] = []
    real = snapproxy.proxy.snapshot_stream

    def counting(page: Any, snapshot: Any, **kwargs: Any) -> Any:
        calls.append(snapshot.cutoff)
        return real(page, snapshot, **kwargs)

    monkeypatch.setattr(snapproxy.proxy, "snapshot_stream", counting)
    yield calls


async def page_files(
    client: Client, path: str = PAGE
) -> tuple[int, set[str], Mapping[str, str]]:
    response = await client.get(path, headers=AS_JSON)
    if response.status != 200:
        return response.status, set(), response.headers
    doc = await response.json(content_type=None)
    return 200, {f["filename"] for f in doc["files"]}, response.headers


# ---- the rolling cutoff ---------------------------------------------------------------------


async def test_the_rolling_window_moves_with_the_clock(
    start_proxy: StartProxy, renders: list[object]
) -> None:
    first = moments()[0]
    with freeze_time(first, real_asyncio=True) as clock:
        client = await start_proxy(cutoff=WINDOW)
        etags: dict[frozenset[str], str] = {}
        seen_sets: list[frozenset[str]] = []
        for moment in moments():
            clock.move_to(moment)
            status, shown, headers = await page_files(client)
            expected = shown_at(moment)
            assert shown == expected, moment
            assert status == (200 if expected else 404)
            if status != 200:
                continue
            # Never cached for ever: the next second may show another file.
            assert headers["Cache-Control"] == "no-cache"
            # The ETag is the body's: it changes exactly when the set of files does.
            assert etags.setdefault(frozenset(shown), headers["ETag"]) == headers["ETag"]
            if not seen_sets or seen_sets[-1] != frozenset(shown):
                seen_sets.append(frozenset(shown))
        assert len(set(etags.values())) == len(etags) == len(seen_sets)
        # One rendering per set of files shown: the seconds between two uploads share a body.
        assert len(renders) == len(seen_sets)


async def test_every_route_follows_the_rolling_cutoff(start_proxy: StartProxy) -> None:
    late = next(f for f in FOO_BAR if f.upload_time == "2022-01-01T00:00:00Z")
    uploaded = upload_time(late)
    assert uploaded is not None
    before, after = uploaded + WINDOW, uploaded + WINDOW + timedelta(seconds=1)
    with freeze_time(before, real_asyncio=True) as clock:
        client = await start_proxy(cutoff=WINDOW)
        paths = [
            f"/files/{NAME}/{late.dist.filename}",
            f"/files/{NAME}/{late.dist.filename}.metadata",
            f"/pypi/{NAME}/2.0/json",
        ]
        for path in paths:
            response = await client.get(path)
            assert response.status == 404, path
        html = parse_html(await (await client.get(PAGE, headers=AS_HTML)).text())
        assert late.dist.filename not in html.texts
        legacy = await (await client.get(f"/pypi/{NAME}/json")).json()
        assert "2.0" not in legacy["releases"]

        clock.move_to(after)
        for path in paths:
            response = await client.get(path)
            assert response.status == 200, path
            assert response.headers["Cache-Control"] == "no-cache"
        html = parse_html(await (await client.get(PAGE, headers=AS_HTML)).text())
        assert late.dist.filename in html.texts
        legacy = await (await client.get(f"/pypi/{NAME}/json")).json()
        assert [f["filename"] for f in legacy["releases"]["2.0"]] == [late.dist.filename]


async def test_health_shows_the_duration_and_the_instant_now(start_proxy: StartProxy) -> None:
    with freeze_time("2026-12-02T15:40:00.5Z", real_asyncio=True) as clock:
        client = await start_proxy(cutoff=WINDOW)
        doc = await (await client.get("/-/health")).json()
        assert doc["date"] == "P30D"
        assert doc["cutoff"] == "2026-11-02T15:40:00Z"
        clock.tick(timedelta(hours=1))
        doc = await (await client.get("/-/health")).json()
        assert doc["cutoff"] == "2026-11-02T16:40:00Z"
        home = await (await client.get("/", headers={"Accept": "application/json"})).json()
        assert (home["date"], home["cutoff"]) == ("P30D", "2026-11-02T16:40:00Z")
        text = await (await client.get("/")).text()
        assert "2026-11-02T16:40:00Z (P30D before now, rolling)" in text


@pytest.mark.parametrize("written", ["P30D", "30d", "P4W2D", "720h"])
async def test_a_duration_in_the_url(start_proxy: StartProxy, written: str) -> None:
    clock_at = datetime(2022, 1, 31, 0, 0, 1, tzinfo=UTC)
    with freeze_time(clock_at, real_asyncio=True):
        client = await start_proxy()  # --date 2021-05-01: the URL's cutoff replaces it
        status, shown, headers = await page_files(client, f"/snapshot/{written}{PAGE}")
        assert status == 200
        assert shown == shown_at(clock_at)
        assert headers["Cache-Control"] == "no-cache"
        health = await (await client.get(f"/snapshot/{written}/-/health")).json()
        assert (health["date"], health["cutoff"]) == ("P30D", "2022-01-01T00:00:01Z")


async def test_a_bad_duration_in_the_url_is_a_400_naming_it(proxy: Client) -> None:
    response = await proxy.get(f"/snapshot/P1M{PAGE}")
    assert response.status == 400
    text = await response.text()
    assert "'P1M'" in text and "length varies" in text


async def test_cutoffs_that_show_the_same_files_share_one_body(
    start_proxy: StartProxy, renders: list[object]
) -> None:
    # No upload of foo-bar between these two: one rendering, one ETag.
    client = await start_proxy()
    first = await client.get(f"/snapshot/2021-01-01{PAGE}", headers=AS_JSON)
    second = await client.get(f"/snapshot/2021-02-01{PAGE}", headers=AS_JSON)
    assert await first.read() == await second.read()
    assert first.headers["ETag"] == second.headers["ETag"]
    assert len(renders) == 1
    third = await client.get(f"/snapshot/{CUTOFF_TEXT}{PAGE}", headers=AS_JSON)
    assert third.headers["ETag"] != first.headers["ETag"]
    assert len(renders) == 2


# ---- per-project cutoffs ----------------------------------------------------------------------


def every_route(f: FakeFile) -> list[str]:
    """The routes of one file: the file, and its metadata (PEP 658)."""
    paths = [f"/files/{NAME}/{f.dist.filename}"]
    if f.dist.is_wheel and f.serves_metadata:
        paths.append(f"/files/{NAME}/{f.dist.filename}.metadata")
    return paths


async def listed(client: Client, f: FakeFile, prefix: str = "") -> dict[str, bool]:
    """Whether each route shows ``f``."""
    out = {}
    _, shown, _ = await page_files(client, prefix + PAGE)
    out["simple json"] = f.dist.filename in shown
    html = await client.get(prefix + PAGE, headers=AS_HTML)
    texts = parse_html(await html.text()).texts if html.status == 200 else set()
    out["simple html"] = f.dist.filename in texts
    legacy = await client.get(f"{prefix}/pypi/{NAME}/json")
    releases = (await legacy.json())["releases"] if legacy.status == 200 else {}
    out["legacy"] = f.dist.filename in {g["filename"] for g in releases.get(f.dist.version, [])}
    for path in every_route(f):
        response = await client.get(prefix + path)
        assert response.status in (200, 404), (path, await response.text())
        out[path] = response.status == 200
    return out


@pytest.mark.parametrize("prefix", ["", "/snapshot/2021-05-01"])
@pytest.mark.parametrize(
    ("own", "cutoff"),
    [
        ("none", None),  # every file
        ("2020-01-01", EARLY),  # earlier than the default: holds foo-bar back
        ("2022-01-01T00:00:01Z", datetime(2022, 1, 1, 0, 0, 1, tzinfo=UTC)),  # later
    ],
)
async def test_a_project_cutoff_is_honoured_on_every_route(
    start_proxy: StartProxy, prefix: str, own: str, cutoff: datetime | None
) -> None:
    client = await start_proxy(package_cutoffs={NAME: cutoff})
    for f in FOO_BAR:
        when = upload_time(f)
        assert when is not None
        expected = cutoff is None or when < cutoff
        routes = await listed(client, f, prefix)
        assert routes == dict.fromkeys(routes, expected), (own, f.dist.filename)
    # /pypi/<project>/<version>/json: there while any file of the version is.
    for version in {f.dist.version for f in FOO_BAR}:
        times = [upload_time(f) for f in FOO_BAR if f.dist.version == version]
        expected = any(cutoff is None or (t is not None and t < cutoff) for t in times)
        response = await client.get(f"{prefix}/pypi/{NAME}/{version}/json")
        assert response.status == (200 if expected else 404), (own, version)


async def test_other_projects_keep_the_default(start_proxy: StartProxy) -> None:
    client = await start_proxy(package_cutoffs={"yanky": None})
    _, shown, _ = await page_files(client)
    assert shown == filenames(visible(FOO_BAR, CUTOFF))
    assert (await client.get("/simple/future/", headers=AS_JSON)).status == 404


async def test_none_shows_undated_files_too(start_proxy: StartProxy) -> None:
    client = await start_proxy(package_cutoffs={"undated": None})
    status, shown, _ = await page_files(client, "/simple/undated/")
    assert (status, shown) == (200, filenames(UNDATED))
    assert (await client.get("/pypi/undated/json")).status == 200


async def test_a_project_cutoff_decides_its_own_caching(start_proxy: StartProxy) -> None:
    client = await start_proxy(package_cutoffs={NAME: None, "yanky": timedelta(days=7)})
    tree = f"/snapshot/{CUTOFF_TEXT}"
    # Under a fixed past cutoff in the URL: immutable, unless the project's own cutoff
    # moves (none shows every new upload; a duration rolls).
    assert (await client.get(f"{tree}{PAGE}")).headers["Cache-Control"] == "no-cache"
    assert (await client.get(f"{tree}/simple/yanky/")).headers["Cache-Control"] == "no-cache"
    assert (await client.get(f"{tree}/simple/nometa/")).headers["Cache-Control"] == IMMUTABLE


async def test_health_lists_the_projects_own_cutoffs(start_proxy: StartProxy) -> None:
    now: Callable[[], datetime] = lambda: datetime(2026, 12, 2, 15, 40, tzinfo=UTC)  # noqa: E731
    client = await start_proxy(
        package_cutoffs={"six": None, "certifi": datetime(2024, 1, 1, tzinfo=UTC), "pip": WINDOW},
        now=now,
    )
    doc = await (await client.get("/-/health")).json()
    assert doc["package_dates"] == {
        "certifi": {"date": "2024-01-01T00:00:00Z", "cutoff": "2024-01-01T00:00:00Z"},
        "pip": {"date": "P30D", "cutoff": "2026-11-02T15:40:00Z"},
        "six": {"date": "none", "cutoff": None},
    }
