"""--index, --route, --undated-index: which index each project comes from."""

from __future__ import annotations

import pytest

from snapproxy.credentials import Credentials
from snapproxy.index_routing import (
    IndexRouting,
    InvalidIndex,
    InvalidRoute,
    Route,
    parse_index,
    parse_route,
    routing_from,
)

CORP = "https://corp.example/simple/"


def routing(*routes: str, undated: tuple[str, ...] = ()) -> IndexRouting:
    return routing_from(
        [parse_index(f"corp={CORP}"), parse_index("team=https://u:pw@team.example/pypi/simple")],
        [parse_route(r) for r in routes],
        undated,
    )


def test_parse_index() -> None:
    name, url, found = parse_index("corp=https://alice:s3cret@corp.example/simple")
    assert (name, url, found) == ("corp", CORP, Credentials("alice", "s3cret"))


@pytest.mark.parametrize(
    "text",
    [
        "corp",
        "=https://x/simple/",
        "corp=ftp://alice:s3cret@x/",
        "corp=https:///x",
        "corp=https://alice:s3cret@x/s?q=1",
    ],
)
def test_invalid_index_never_shows_the_password(text: str) -> None:
    with pytest.raises(InvalidIndex) as info:
        parse_index(text)
    assert "s3cret" not in str(info.value)


def test_routes_are_normalised_and_exact_wins_over_glob() -> None:
    r = routing("Corp_*=corp", "corp-special=team", "team.*=team")
    assert r.index_for("corp-util").name == "corp"  # type: ignore[union-attr]
    assert r.index_for("corp-special").name == "team"  # type: ignore[union-attr]
    assert r.index_for("team-x").name == "team"  # type: ignore[union-attr]
    assert r.index_for("requests") is None


def test_first_glob_wins() -> None:
    r = routing("corp-*=team", "corp-*=corp")
    assert r.index_for("corp-util").name == "team"  # type: ignore[union-attr]


def test_no_routes_route_nothing() -> None:
    assert IndexRouting().index_for("anything") is None


def test_undated() -> None:
    r = routing("corp-*=corp", "team-*=team", undated=("corp",))
    assert r.index_for("corp-a").undated  # type: ignore[union-attr]
    assert not r.index_for("team-a").undated  # type: ignore[union-attr]


def test_credentials_go_only_to_their_index_host() -> None:
    r = routing("corp-*=corp", "team-*=team")
    assert r.credentials_for("https://team.example/pypi/simple/team-a/") == Credentials("u", "pw")
    assert r.credentials_for("https://team.example/packages/x.whl") == Credentials("u", "pw")
    assert r.credentials_for("https://corp.example/simple/corp-a/") is None
    assert r.credentials_for("https://files.example/team.example/x.whl") is None
    assert r.credentials_for("http://team.example/pypi/simple/") is None  # another origin


@pytest.mark.parametrize(
    ("routes", "undated", "message"),
    [
        (["x=nowhere"], (), "--route x=nowhere names no index; add --index nowhere=URL"),
        (["x=corp"], (), "--index team has no --route"),
        (["x=corp", "y=team"], ("other",), "--undated-index other names no index"),
    ],
)
def test_inconsistent_options(routes: list[str], undated: tuple[str, ...], message: str) -> None:
    with pytest.raises((InvalidIndex, InvalidRoute), match=message):
        routing(*routes, undated=undated)


def test_index_given_twice() -> None:
    with pytest.raises(InvalidIndex, match="given twice"):
        routing_from([parse_index(f"a={CORP}"), parse_index(f"a={CORP}")], [Route("x", "a")], ())


def test_bad_route() -> None:
    with pytest.raises(InvalidRoute, match="PATTERN=NAME"):
        parse_route("corp-*")


def test_describe_has_no_credentials() -> None:
    described = routing("corp-*=corp", "team-*=team", undated=("team",)).describe()
    assert described == {
        "indexes": {"corp": CORP, "team": "https://team.example/pypi/simple/"},
        "routes": {"corp-*": "corp", "team-*": "team"},
        "undated-indexes": ["team"],
    }
    assert "pw" not in repr(described)


def test_netrc_credentials_fill_indexes_without_their_own() -> None:
    r = routing_from(
        [parse_index(f"corp={CORP}")], [Route("c", "corp")], (), {"corp": Credentials("n", "m")}
    )
    assert r.credentials_for(CORP) == Credentials("n", "m")
