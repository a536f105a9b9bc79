"""The page at ``/`` (snapproxy.home_page): its facts, its lines for clients, its escaping."""

from __future__ import annotations

from dataclasses import replace
from html.parser import HTMLParser

import pytest

from snapproxy.home_page import Home, home_json, render_home, wants_json
from tests.unit.http_fixtures import parse_html

HOME = Home(
    cutoff="2021-05-01T00:00:00Z",
    upstream="https://pypi.org",
    origin="http://127.0.0.1:8080",
    tree="",
    version="1.2.3",
)
INDEX = "http://127.0.0.1:8080/simple/"


def test_the_page_names_the_snapshot_and_the_lines_to_use() -> None:
    text = render_home(HOME)
    assert "https://pypi.org as of 2021-05-01T00:00:00Z" in text
    assert "snapproxy 1.2.3" in text
    assert f"pip install --index-url {INDEX} " in text
    assert f"uv pip install --index-url {INDEX} " in text
    assert f"UV_DEFAULT_INDEX={INDEX} " in text
    assert f"pip-compile --index-url {INDEX} --no-emit-index-url" in text
    assert "http://127.0.0.1:8080/snapshot/&lt;cutoff&gt;/simple/" in text
    assert "http://127.0.0.1:8080/snapshot/2020-01-01/simple/" in text


def test_the_page_links_the_index_and_health() -> None:
    hrefs = {attrs["href"] for attrs, _ in parse_html(render_home(HOME)).anchors}
    assert hrefs == {INDEX, "http://127.0.0.1:8080/-/health"}


def test_a_tree_page_points_into_its_tree() -> None:
    tree = replace(HOME, tree="/snapshot/2020-01-01", cutoff="2020-01-01T00:00:00Z")
    text = render_home(tree)
    assert "pip install --index-url http://127.0.0.1:8080/snapshot/2020-01-01/simple/ " in text
    assert home_json(tree)["index_url"] == "http://127.0.0.1:8080/snapshot/2020-01-01/simple/"


def test_json_holds_the_same_facts() -> None:
    assert home_json(HOME) == {
        "cutoff": "2021-05-01T00:00:00Z",
        "date": "2021-05-01T00:00:00Z",
        "package_dates": {},
        "upstream": "https://pypi.org",
        "index_url": INDEX,
        "version": "1.2.3",
    }


PAGE_TAGS = {"html", "head", "meta", "title", "body", "h1", "p", "a", "code", "pre", "ul", "li"}


class Tags(HTMLParser):
    def __init__(self, text: str):
        super().__init__()
        self.seen: set[str] = set()
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: object) -> None:
        self.seen.add(tag)


def test_the_page_uses_only_its_own_elements() -> None:
    assert Tags(render_home(HOME)).seen == PAGE_TAGS


def test_every_value_is_escaped() -> None:
    hostile = Home(
        cutoff='<b>"2021"</b>',
        upstream="https://x.test/<script>alert(1)</script>",
        origin='http://h"><img src=x onerror=alert(1)>',
        tree="/snapshot/<i>",
        version="&amp;",
    )
    text = render_home(hostile)
    assert Tags(text).seen <= PAGE_TAGS  # no element came from a value
    for raw in ("<script>", "<img", "<b>", "<i>"):
        assert raw not in text
    assert "&amp;amp;" in text  # the version's own "&" escaped, not passed through
    for attrs, _ in parse_html(text).anchors:  # read back: the hostile text, inert
        assert str(attrs["href"]).startswith('http://h"><img')


@pytest.mark.parametrize(
    ("accept", "json"),
    [
        (None, False),
        ("", False),
        ("*/*", False),  # curl: a tie goes to the page
        ("application/json", True),
        ("application/*", True),
        ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", False),  # a browser
        ("application/json;q=0.5, text/html", False),
        ("application/json, text/html;q=0.5", True),
        ("text/plain", False),
        ("application/json;q=0", False),
        ("application/vnd.pypi.simple.v1+json", False),  # pip asks for the index, not this
    ],
)
def test_json_when_the_client_rates_it_above_html(accept: str | None, json: bool) -> None:
    assert wants_json(accept) is json


def test_a_rolling_cutoff_and_the_projects_own_are_shown() -> None:
    home = replace(
        HOME,
        cutoff="2026-11-02T15:40:00Z",
        rolling="P30D",
        package_dates={"six": "none", "certifi": "2024-01-01T00:00:00Z"},
    )
    text = render_home(home)
    assert "https://pypi.org as of 2026-11-02T15:40:00Z (P30D before now, rolling)" in text
    assert "certifi as of 2024-01-01T00:00:00Z, six with no cutoff" in text
    doc = home_json(home)
    assert (doc["cutoff"], doc["date"]) == ("2026-11-02T15:40:00Z", "P30D")
    assert doc["package_dates"] == {"certifi": "2024-01-01T00:00:00Z", "six": "none"}
