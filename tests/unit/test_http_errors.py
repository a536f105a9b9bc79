"""Bad input and upstream failures: the right status and message, the server keeps serving,
and nothing wrong is cached."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from snapproxy.app import PROXY
from tests.support.distributions import make_wheel
from tests.support.fakeindex import FakeFile, FakeIndex
from tests.unit.http_fixtures import (
    AS_HTML,
    AS_JSON,
    CUTOFF,
    EARLY_TEXT,
    FOO_BAR,
    NAME,
    Client,
    StartProxy,
    closed_port,
    files_under,
    upstream_path,
    visible,
)

PAGE = f"/simple/{NAME}/"
UPSTREAM_PAGE = f"/simple/{NAME}/"
WHEEL = next(f for f in visible(FOO_BAR, CUTOFF) if f.dist.is_wheel)


async def assert_serves(client: Client) -> None:
    """A good request right after a failure is answered."""
    response = await client.get("/simple/yanky/", headers=AS_JSON)
    assert response.status == 200, await response.text()


# ---- bad input -----------------------------------------------------------------------------


async def test_invalid_date_is_400_naming_it(proxy: Client, fake: FakeIndex) -> None:
    response = await proxy.get(f"/snapshot/2021-13-01/simple/{NAME}/", headers=AS_JSON)
    assert response.status == 400
    assert "2021-13-01" in await response.text()
    assert fake.total_hits() == 0
    await assert_serves(proxy)


@pytest.mark.parametrize("text", ["yesterday", "2021-05-01T25:00:00Z", "20210501"])
async def test_unreadable_cutoff_is_400(proxy: Client, text: str) -> None:
    response = await proxy.get(f"/snapshot/{text}/simple/{NAME}/", headers=AS_JSON)
    assert response.status == 400
    assert text in await response.text()


async def test_datetime_without_zone_is_400_with_the_fix(proxy: Client) -> None:
    response = await proxy.get(f"/snapshot/2021-05-01T12:00:00/simple/{NAME}/", headers=AS_JSON)
    assert response.status == 400
    text = await response.text()
    assert "2021-05-01T12:00:00Z" in text  # the fix: say it is UTC
    await assert_serves(proxy)


@pytest.mark.parametrize("route", ["simple/{}/", "pypi/{}/json", "files/{}/x-1.0.tar.gz"])
async def test_bad_cutoff_on_every_route(proxy: Client, route: str) -> None:
    response = await proxy.get(f"/snapshot/2021-02-30/{route.format(NAME)}")
    assert response.status == 400


async def test_unknown_project_is_404_and_not_remembered(proxy: Client, fake: FakeIndex) -> None:
    response = await proxy.get("/simple/newcomer/", headers=AS_JSON)
    assert response.status == 404
    assert (await proxy.get("/pypi/newcomer/json")).status == 404
    fake.add("newcomer", FakeFile(make_wheel("newcomer", "1.0"), "2020-01-01T00:00:00Z"))
    response = await proxy.get("/simple/newcomer/", headers=AS_JSON)
    assert response.status == 200


@pytest.mark.parametrize(
    "path",
    [
        "/simple/a..b/",
        "/simple/a%2Fb/",
        "/simple/a%2F..%2Fb/",
        "/pypi/a..b/json",
        "/pypi/a%2Fb/json",
        "/files/a..b/a-1.0.tar.gz",
        "/simple/-leading/",
        "/simple/a%5Cb/",
    ],
)
async def test_path_like_names_are_400(proxy: Client, fake: FakeIndex, path: str) -> None:
    response = await proxy.get(path, headers=AS_JSON, allow_redirects=False)
    assert response.status == 400
    assert (await response.text()).strip()
    assert fake.total_hits() == 0  # nothing reached upstream
    await assert_serves(proxy)


# ---- upstream failures ---------------------------------------------------------------------


async def test_unreachable_upstream_is_502(start_proxy: StartProxy, cache_dir: Path) -> None:
    with closed_port() as port:
        dead = f"http://127.0.0.1:{port}"
        client = await start_proxy(upstream=dead, files_host=dead, retries=1)
        response = await client.get(PAGE, headers=AS_JSON)
        assert response.status == 502
        assert (await response.text()).strip()
        assert files_under(cache_dir) == []
        # The server itself is still up.
        assert (await client.get("/-/health")).status == 200
        assert (await client.get(PAGE, headers=AS_JSON)).status == 502


async def test_upstream_timeout_is_504(
    start_proxy: StartProxy, fake: FakeIndex, cache_dir: Path
) -> None:
    client = await start_proxy(timeout=0.2, retries=0)
    fake.delay(UPSTREAM_PAGE, 0.6, times=None)
    response = await client.get(PAGE, headers=AS_JSON)
    assert response.status == 504
    assert (await response.text()).strip()
    assert files_under(cache_dir) == []
    await assert_serves(client)

    fake.clear_faults()
    hits = fake.hits[UPSTREAM_PAGE]
    response = await client.get(PAGE, headers=AS_JSON)
    assert response.status == 200
    assert fake.hits[UPSTREAM_PAGE] == hits + 1


async def test_upstream_5xx_beyond_retries_is_502(
    start_proxy: StartProxy, fake: FakeIndex, cache_dir: Path
) -> None:
    client = await start_proxy(retries=2)
    fake.fail(UPSTREAM_PAGE, status=503, times=None)
    response = await client.get(PAGE, headers=AS_JSON)
    assert response.status == 502
    assert "503" in await response.text()
    assert fake.hits[UPSTREAM_PAGE] == 3  # one try and two retries, no more
    assert files_under(cache_dir) == []
    await assert_serves(client)

    fake.clear_faults()
    response = await client.get(PAGE, headers=AS_JSON)
    assert response.status == 200
    assert fake.hits[UPSTREAM_PAGE] == 4


async def test_one_503_then_recovery(start_proxy: StartProxy, fake: FakeIndex) -> None:
    client = await start_proxy(retries=2)
    fake.fail(UPSTREAM_PAGE, status=503, times=1)
    response = await client.get(PAGE, headers=AS_JSON)
    assert response.status == 200
    assert fake.hits[UPSTREAM_PAGE] == 2


async def test_upstream_4xx_is_not_retried(start_proxy: StartProxy, fake: FakeIndex) -> None:
    client = await start_proxy(retries=2)
    fake.fail(UPSTREAM_PAGE, status=403, times=None)
    response = await client.get(PAGE, headers=AS_JSON)
    assert response.status == 502
    assert fake.hits[UPSTREAM_PAGE] == 1


@pytest.mark.parametrize(
    ("path", "upstream"),
    [(PAGE, UPSTREAM_PAGE), (f"/pypi/{NAME}/json", f"/pypi/{NAME}/json")],
)
async def test_malformed_upstream_json_is_502(
    start_proxy: StartProxy, fake: FakeIndex, cache_dir: Path, path: str, upstream: str
) -> None:
    client = await start_proxy()
    fake.malformed(upstream, times=None)
    response = await client.get(path, headers=AS_JSON)
    assert response.status == 502
    assert (await response.text()).strip()
    assert files_under(cache_dir) == []
    await assert_serves(client)

    fake.clear_faults()
    hits = fake.hits[upstream]
    response = await client.get(path, headers=AS_JSON)
    assert response.status == 200
    assert fake.hits[upstream] == hits + 1


async def test_failed_page_is_not_cached_in_memory(
    start_proxy: StartProxy, fake: FakeIndex
) -> None:
    client = await start_proxy(cache_dir=None, retries=0, negative_ttl=0)
    fake.malformed(UPSTREAM_PAGE, times=1)
    assert (await client.get(PAGE, headers=AS_JSON)).status == 502
    response = await client.get(PAGE, headers=AS_JSON)
    assert response.status == 200
    assert fake.hits[UPSTREAM_PAGE] == 2


async def test_failure_is_remembered_for_the_negative_ttl_only(
    start_proxy: StartProxy, fake: FakeIndex
) -> None:
    now = [1000.0]
    client = await start_proxy(cache_dir=None, retries=0, negative_ttl=5)
    client.app[PROXY].upstream.failures.clock = lambda: now[0]
    fake.malformed(UPSTREAM_PAGE, times=1)
    assert (await client.get(PAGE, headers=AS_JSON)).status == 502
    again = await client.get(PAGE, headers=AS_JSON)
    assert again.status == 502
    assert "not asked again" in await again.text()
    assert fake.hits[UPSTREAM_PAGE] == 1  # answered from the negative cache
    now[0] += 5
    assert (await client.get(PAGE, headers=AS_JSON)).status == 200
    assert fake.hits[UPSTREAM_PAGE] == 2


async def test_file_upstream_5xx_is_502_and_not_stored(
    start_proxy: StartProxy, fake: FakeIndex, cache_dir: Path
) -> None:
    client = await start_proxy(retries=1)
    path = upstream_path(fake, WHEEL)
    fake.fail(path, status=502, times=None)
    response = await client.get(f"/files/{NAME}/{WHEEL.dist.filename}")
    assert response.status == 502
    assert fake.hits[path] == 2
    assert files_under(cache_dir / "files") == []

    fake.clear_faults()
    response = await client.get(f"/files/{NAME}/{WHEEL.dist.filename}")
    assert response.status == 200
    assert await response.read() == WHEEL.dist.content
    assert fake.hits[path] == 3


async def test_file_upstream_timeout_is_504(start_proxy: StartProxy, fake: FakeIndex) -> None:
    client = await start_proxy(timeout=0.2, retries=0)
    await client.get(PAGE, headers=AS_JSON)  # the page is cached; only the file is slow
    path = upstream_path(fake, WHEEL)
    fake.delay(path, 0.6, times=None)
    response = await client.get(f"/files/{NAME}/{WHEEL.dist.filename}")
    assert response.status == 504
    fake.clear_faults()
    response = await client.get(f"/files/{NAME}/{WHEEL.dist.filename}")
    assert response.status == 200
    assert await response.read() == WHEEL.dist.content


# ---- 404s that say why: no such project, or not yet at the cutoff --------------------------

FUTURE_WHY = (
    "project 'future' exists but had no file before 2021-05-01T00:00:00Z "
    "(first file: 2022-02-02T00:00:00Z); a later cutoff shows it"
)


def no_such_project(fake: FakeIndex, name: str) -> str:
    return f"no project named {name!r} on {fake.index_origin}; check the spelling"


async def not_found(client: Client, path: str, **kwargs: Any) -> str:
    response = await client.get(path, **kwargs)
    assert response.status == 404
    assert response.headers["Content-Type"].startswith("text/plain")
    return await response.text()


@pytest.mark.parametrize("headers", [AS_JSON, AS_HTML, {}])
async def test_a_project_upstream_lacks_is_named_as_such(
    proxy: Client, fake: FakeIndex, headers: dict[str, str]
) -> None:
    assert await not_found(proxy, "/simple/reqeusts/", headers=headers) == (
        no_such_project(fake, "reqeusts") + "\n"
    )


@pytest.mark.parametrize("headers", [AS_JSON, AS_HTML, {}])
async def test_a_project_after_the_cutoff_names_its_first_file(
    proxy: Client, headers: dict[str, str]
) -> None:
    assert await not_found(proxy, "/simple/future/", headers=headers) == FUTURE_WHY + "\n"


async def test_the_reason_phrase_says_it_too(proxy: Client, fake: FakeIndex) -> None:
    # pip and uv show no 404 body; pip -vv shows the reason phrase.
    response = await proxy.get("/simple/reqeusts/", headers=AS_JSON)
    assert response.reason == no_such_project(fake, "reqeusts")
    response = await proxy.get("/simple/future/", headers=AS_JSON)
    assert response.reason == FUTURE_WHY


async def test_a_tree_names_its_own_cutoff(proxy: Client) -> None:
    text = await not_found(proxy, f"/snapshot/{EARLY_TEXT}/simple/future/", headers=AS_JSON)
    assert "no file before 2020-01-01T00:00:00Z (first file: 2022-02-02T00:00:00Z)" in text


async def test_a_project_with_only_undated_files_says_so(proxy: Client) -> None:
    text = await not_found(proxy, "/simple/undated/", headers=AS_JSON)
    assert text == (
        "project 'undated' exists but had no file before 2021-05-01T00:00:00Z (none of its "
        "files has an upload time; --allow-undated shows them)\n"
    )


async def test_legacy_json_404s_say_which(proxy: Client, fake: FakeIndex) -> None:
    assert await not_found(proxy, "/pypi/reqeusts/json") == no_such_project(fake, "reqeusts") + "\n"
    assert await not_found(proxy, "/pypi/reqeusts/1.0/json") == (
        no_such_project(fake, "reqeusts") + "\n"
    )
    assert await not_found(proxy, "/pypi/future/json") == FUTURE_WHY + "\n"
    assert await not_found(proxy, "/pypi/future/1.0/json") == (
        "future 1.0 has no file uploaded before 2021-05-01T00:00:00Z\n"
    )


async def test_file_404s_say_which(proxy: Client, fake: FakeIndex) -> None:
    wheel = "future-1.0-py3-none-any.whl"
    assert await not_found(proxy, f"/files/reqeusts/{wheel}") == (
        no_such_project(fake, "reqeusts") + "\n"
    )
    assert await not_found(proxy, f"/files/future/{wheel}") == (
        f"{wheel} of future was uploaded at 2022-02-02T00:00:00Z, not before "
        "2021-05-01T00:00:00Z\n"
    )
    assert await not_found(proxy, "/files/future/future-9.9.tar.gz") == (
        f"future has no file named 'future-9.9.tar.gz' on {fake.index_origin}\n"
    )


async def test_the_proxy_remembers_why_for_the_fetcher(proxy: Client, fake: FakeIndex) -> None:
    await proxy.get("/simple/reqeusts/", headers=AS_JSON)
    await proxy.get("/simple/Future/", headers=AS_JSON)  # asked for by its normal form
    assert list(proxy.app[PROXY].missing) == [
        ("reqeusts", no_such_project(fake, "reqeusts")),
        ("future", FUTURE_WHY),
    ]
    for n in range(40):  # bounded: a server runs for long
        await proxy.get(f"/simple/nothing-{n}/", headers=AS_JSON)
    missing = proxy.app[PROXY].missing
    assert len(missing) < 40
    assert missing[-1] == ("nothing-39", no_such_project(fake, "nothing-39"))
