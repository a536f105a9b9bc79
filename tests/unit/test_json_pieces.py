"""Piecewise JSON: exactly ``json.loads`` and compact ``json.dumps``, a member at a time.

The module's promise is equality with :mod:`json` (documents.py switches between the two
by body size), so most tests here are properties against :mod:`json` itself.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from snapproxy import json_pieces

SPACE = " \t\n\r"  # exactly JSON's insignificant whitespace

scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)  # NaN != NaN; its text form is covered by the dumps test
    | st.text()
)
values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=5), children, max_size=5)
    ),
    max_leaves=30,
)
# The shape json_pieces takes apart: an object whose members are often arrays.
documents = st.dictionaries(st.text(max_size=8), st.lists(values, max_size=6) | values, max_size=6)
any_json = documents | values


def same(got: Any, want: Any) -> None:
    # == alone would take True for 1 and 1.0 for 1; the serialised forms differ for those.
    assert got == want
    assert json.dumps(got) == json.dumps(want)


def spaced(value: Any, space: st.DataObject) -> str:
    """``value`` as JSON text with random whitespace wherever JSON allows it."""

    def ws() -> str:
        return space.draw(st.text(alphabet=SPACE, max_size=3))

    if isinstance(value, dict):
        members = [
            f"{ws()}{json.dumps(k)}{ws()}:{ws()}{spaced(v, space)}" for k, v in value.items()
        ]
        return "{" + ",".join(members) + ws() + "}"
    if isinstance(value, list):
        return "[" + ",".join(ws() + spaced(v, space) for v in value) + ws() + "]"
    return json.dumps(value) + ws()


# --- loads ------------------------------------------------------------------------------


@given(any_json)
@example({"files": [{"a": 1}, [1, 2], "x", None]})
@example({"a": [], "b": {}, "": [[]]})
def test_loads_equals_json_loads(value: Any) -> None:
    text = json.dumps(value)
    same(json_pieces.loads(text), json.loads(text))
    same(json_pieces.loads(text.encode()), json.loads(text.encode()))


@given(any_json, st.data())
def test_loads_equals_json_loads_with_any_whitespace(value: Any, data: st.DataObject) -> None:
    lead = data.draw(st.text(alphabet=SPACE, max_size=3))
    text = lead + spaced(value, data)
    same(json_pieces.loads(text), json.loads(text))


@given(documents)
def test_each_replaces_every_member_of_top_level_arrays(doc: dict[str, Any]) -> None:
    text = json.dumps(doc)
    calls: list[tuple[str, Any]] = []

    def each(key: str, item: Any) -> Any:
        calls.append((key, item))
        return ("seen", key, item)

    got = json_pieces.loads(text, each)
    want = {
        k: [("seen", k, item) for item in v] if isinstance(v, list) else v
        for k, v in json.loads(text).items()
    }
    assert got == want
    # Called once per member, in document order.
    assert calls == [
        (k, item) for k, v in json.loads(text).items() if isinstance(v, list) for item in v
    ]


@pytest.mark.parametrize(
    "text",
    [
        "[1, [2, 3]]",  # a top-level array is not taken apart
        '{"a": {"b": [1, 2]}}',  # nor an array inside a member object
        '"text"',
        "42",
        "null",
    ],
)
def test_each_applies_only_to_top_level_object_members(text: str) -> None:
    def each(key: str, item: Any) -> Any:
        raise AssertionError(f"each called for {key!r}: {item!r}")

    assert json_pieces.loads(text, each) == json.loads(text)


def test_each_keeps_only_what_it_returns() -> None:
    # The project list's use: a million entries reduced to their names as they are read.
    text = json.dumps(
        {
            "meta": {"api-version": "1.1"},
            "projects": [{"name": "a", "_last-serial": 1}, {"name": "b"}],
        }
    )

    def name(key: str, item: Any) -> Any:
        return item["name"] if key == "projects" else item

    assert json_pieces.loads(text, name) == {"meta": {"api-version": "1.1"}, "projects": ["a", "b"]}


def test_an_error_from_each_propagates() -> None:
    def refuse(key: str, item: Any) -> Any:
        raise ValueError(f"bad {item}")

    with pytest.raises(ValueError, match="bad 2"):
        json_pieces.loads('{"a": [2]}', refuse)


def test_equal_keys_of_separate_members_are_one_object() -> None:
    # json.loads shares equal keys within its one call; decoding member by member must not
    # make a 100,000-file page hold 100,000 copies of "filename", "url", "hashes"...
    text = json.dumps({"files": [{"filename": f"f{i}", "hashes": {}} for i in range(3)]})
    first, *others = json_pieces.loads(text)["files"]
    for other in others:
        for a, b in zip(first, other, strict=True):
            assert a is b


@pytest.mark.parametrize(
    "text",
    [
        "",
        " ",
        "{",
        "}",
        "{,}",
        '{"a"}',
        '{"a" 1}',
        '{"a": }',
        '{"a": 1,}',
        '{"a": 1 "b": 2}',
        '{"a": [}',
        '{"a": [1,]}',
        '{"a": [,1]}',
        '{"a": [1 2]}',
        '{"a": [1]]}',
        '{"a": [1]',
        '{"a": [1]} x',
        '{"a": [1]}}',
        "{} {}",
        "{'a': 1}",
        "{a: 1}",
        "{1: 2}",
        '\ufeff{"a": [1]}',  # a BOM in text (not bytes) is refused by json too
        '\x0c{"a": [1]}',  # form feed: not JSON whitespace
        '{"a":\xa0[1]}',  # nor is a no-break space
        '{"a": [1]}\x0c',
        '{"a": "unterminated}',
        '{"a": [tru]}',
    ],
)
def test_malformed_raises_like_json(text: str) -> None:
    with pytest.raises(json.JSONDecodeError):
        json.loads(text)  # the case really is malformed
    with pytest.raises(json.JSONDecodeError):
        json_pieces.loads(text)


_MUTATION_CHARS = '{}[],:" 0a\\'


@settings(max_examples=300)
@given(documents, st.data())
def test_a_damaged_document_fails_exactly_when_json_fails(
    doc: dict[str, Any], data: st.DataObject
) -> None:
    text = json.dumps(doc)
    at = data.draw(st.integers(0, len(text)))
    kind = data.draw(st.sampled_from(["delete", "insert", "truncate"]))
    if kind == "delete":
        text = text[:at] + text[at + 1 :]
    elif kind == "insert":
        text = text[:at] + data.draw(st.sampled_from(_MUTATION_CHARS)) + text[at:]
    else:
        text = text[:at]
    try:
        want = json.loads(text)
    except json.JSONDecodeError:
        with pytest.raises(json.JSONDecodeError):
            json_pieces.loads(text)
    else:
        same(json_pieces.loads(text), want)


def test_duplicate_keys_behave_like_json() -> None:
    # The last value wins, at the first key's position.
    text = '{"a": [1], "b": 2, "a": [3]}'
    got = json_pieces.loads(text)
    assert got == json.loads(text) == {"a": [3], "b": 2}
    assert list(got) == list(json.loads(text))


@pytest.mark.parametrize(
    "body",
    [
        pytest.param('{"a": ["é", "😀"]}'.encode(), id="utf-8"),
        pytest.param(bytearray(b'{"a": [1]}'), id="bytearray"),
        # Not UTF-8: both refuse (UnicodeDecodeError, a ValueError).
        pytest.param(b'\xff{"a": [1]}', id="invalid-utf-8"),
        # json.loads detects UTF-8 with a BOM, UTF-16 and UTF-32 and passes lone surrogates;
        # documents._object uses one or the other by body size, so both must agree.
        pytest.param(b'\xef\xbb\xbf{"a": [1]}', id="utf-8-bom"),
        pytest.param('{"a": [1]}'.encode("utf-16"), id="utf-16"),
        pytest.param(b'{"a": ["\xed\xa0\x80"]}', id="lone-surrogate"),
    ],
)
def test_bytes_are_decoded_like_json(body: bytes) -> None:
    try:
        want = json.loads(body)
    except ValueError as exc:
        with pytest.raises(type(exc)):
            json_pieces.loads(body)
    else:
        same(json_pieces.loads(body), want)


# --- dumps ------------------------------------------------------------------------------


@given(any_json | st.floats() | st.lists(st.floats()) | st.dictionaries(st.text(), st.floats()))
@example({"k": [float("nan"), float("inf"), -0.0]})
@example({"é": ["\u2028", "\x00", "😀"]})
def test_dumps_equals_compact_json_dumps(value: Any) -> None:
    assert json_pieces.dumps(value) == json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def test_dumps_writes_iterators_as_arrays() -> None:
    # Beyond json.dumps (which refuses them): a lazily filtered page's files are written
    # as the array they yield, without a list of them all first.
    files = [{"filename": f"f{i}", "yanked": False} for i in range(3)]
    page = {"meta": {"api-version": "1.1"}, "files": iter(files)}
    want = {"meta": {"api-version": "1.1"}, "files": files}
    assert json_pieces.dumps(page) == json.dumps(want, separators=(",", ":"), ensure_ascii=False)
    assert json_pieces.dumps(x for x in [1, "é", None]) == '[1,"é",null]'
    assert json_pieces.dumps(iter([])) == "[]"


def test_dumps_writes_tuples_as_arrays() -> None:
    value = {"a": (1, (2, 3)), "b": [(4,)]}
    assert json_pieces.dumps(value) == json.dumps(value, separators=(",", ":"), ensure_ascii=False)


@pytest.mark.parametrize(
    "key",
    [
        pytest.param(1, id="int"),
        pytest.param(2.5, id="float"),
        # json.dumps writes true/false/null/Infinity for these keys; str() would not.
        pytest.param(True, id="bool"),
        pytest.param(None, id="None"),
        pytest.param(float("inf"), id="inf"),
    ],
)
def test_dumps_writes_non_string_keys_like_json(key: object) -> None:
    value = {key: [1]}
    assert json_pieces.dumps(value) == json.dumps(value, separators=(",", ":"), ensure_ascii=False)


@given(any_json)
def test_dumps_loads_round_trip(value: Any) -> None:
    same(json_pieces.loads(json_pieces.dumps(value)), value)


@pytest.mark.parametrize("count", [0, 1, 255, 256, 257, 511, 512, 513, 1000])
def test_long_arrays_are_written_whole_across_batches(count: int) -> None:
    # Arrays are encoded a batch of elements per C call; every boundary must vanish.
    items = [{"filename": f"f{i}", "n": i, "é": [i, None]} for i in range(count)]
    want = json.dumps(items, separators=(",", ":"), ensure_ascii=False)
    assert json_pieces.dumps(items) == want
    assert json_pieces.dumps(iter(items)) == want
    assert json_pieces.dumps({"files": iter(items)}) == '{"files":' + want + "}"
