"""The one memory budget: an LRU bounded by summed cost, and the sizes the CLI accepts."""

from __future__ import annotations

import pytest

from snapproxy.memory_budget import ByteBudget, InvalidSize, format_size, parse_size

KiB, MiB, GiB = 1024, 1024**2, 1024**3

# --- ByteBudget -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("limit", "steps", "present", "absent"),
    [
        # Fits exactly: nothing evicted.
        (12, [("put", "a", 4), ("put", "b", 4), ("put", "c", 4)], "abc", ""),
        # One byte over: the least recently used goes.
        (11, [("put", "a", 4), ("put", "b", 4), ("put", "c", 4)], "bc", "a"),
        # A get makes an entry recently used.
        (11, [("put", "a", 4), ("put", "b", 4), ("get", "a", 0), ("put", "c", 4)], "ac", "b"),
        # A re-put makes it recently used too, and counts its cost once.
        (11, [("put", "a", 4), ("put", "b", 4), ("put", "a", 4), ("put", "c", 4)], "ac", "b"),
        # A big entry evicts as many as needed, oldest first.
        (10, [("put", "a", 3), ("put", "b", 3), ("put", "c", 3), ("put", "d", 9)], "d", "abc"),
        (10, [("put", "a", 3), ("put", "b", 3), ("put", "c", 3), ("put", "d", 5)], "cd", "ab"),
        # An entry costing more than the whole budget is not kept, and evicts nothing.
        (10, [("put", "a", 4), ("put", "big", 11)], "a", "big"),
        # ... and an oversized replacement drops the old value (it is no longer current).
        (10, [("put", "a", 4), ("put", "a", 11)], "", "a"),
        # Costing exactly the budget is allowed; it pushes out everything else.
        (10, [("put", "a", 4), ("put", "b", 10)], "b", "a"),
        # Replacing an entry by a cheaper one frees room.
        (10, [("put", "a", 8), ("put", "a", 2), ("put", "b", 8)], "ab", ""),
        # A discarded entry frees its cost.
        (10, [("put", "a", 8), ("discard", "a", 0), ("put", "b", 8)], "b", "a"),
        # Eviction is by cost, not by count.
        (100, [("put", k, 1) for k in "abcdefghij"], "abcdefghij", ""),
        # Zero-cost entries are kept whatever the budget.
        (0, [("put", "a", 0), ("put", "b", 0)], "ab", ""),
    ],
)
def test_lru_by_cost(
    limit: int, steps: list[tuple[str, str, int]], present: str, absent: str
) -> None:
    budget = ByteBudget(limit)
    last_cost: dict[str, int] = {}
    for op, key, cost in steps:
        if op == "put":
            budget.put(key, f"value of {key}", cost)
            last_cost[key] = cost
        elif op == "get":
            budget.get(key)
        else:
            budget.discard(key)
    # The accounting matches what is kept (a leak here would shrink the budget for good).
    assert len(budget) == len(present)
    assert budget.used == sum(last_cost[k] for k in present) <= limit
    for key in present:
        assert budget.get(key) == f"value of {key}", key
    for key in absent:
        assert budget.get(key) is None, key


def test_replacing_keeps_the_newest_value() -> None:
    budget = ByteBudget(100)
    budget.put("k", "old", 5)
    budget.put("k", "new", 6)
    assert budget.get("k") == "new"
    assert (len(budget), budget.used) == (1, 6)


def test_many_replacements_do_not_leak_budget() -> None:
    budget = ByteBudget(10)
    for _ in range(50):
        budget.put("a", "A", 5)
    budget.put("b", "B", 5)
    assert (budget.get("a"), budget.get("b"), budget.used) == ("A", "B", 10)


def test_discard_of_a_missing_key_changes_nothing() -> None:
    budget = ByteBudget(10)
    budget.put("a", "A", 3)
    budget.discard("zzz")
    assert (len(budget), budget.used, budget.get("a")) == (1, 3, "A")


def test_keys_are_any_hashable() -> None:
    # Documents and rendered responses share one budget under tuple keys.
    budget = ByteBudget(10)
    budget.put(("document", "k"), "doc", 1)
    budget.put(("response", "k"), "resp", 1)
    assert budget.get(("document", "k")) == "doc"
    assert budget.get(("response", "k")) == "resp"


def test_get_or_build_builds_once_and_charges_its_cost() -> None:
    budget = ByteBudget(100)
    built: list[str] = []

    def build() -> str:
        built.append("x")
        return "x" * 7

    assert budget.get_or_build("k", build, len) == "x" * 7
    assert budget.get_or_build("k", build, len) == "x" * 7
    assert built == ["x"]
    assert budget.used == 7


def test_get_or_build_of_an_oversized_value_returns_it_without_keeping_it() -> None:
    # The request at hand gets its value; the budget stays within its limit.
    budget = ByteBudget(5)
    budget.put("small", "s", 1)
    calls = []

    def build() -> str:
        calls.append(1)
        return "too big"

    assert budget.get_or_build("big", build, len) == "too big"
    assert budget.get_or_build("big", build, len) == "too big"
    assert len(calls) == 2  # not kept, so built again
    assert (budget.get("small"), budget.used) == ("s", 1)


# --- parse_size / format_size -----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("65536", 65536),
        ("0", 0),
        ("128MiB", 128 * MiB),
        ("128 MiB", 128 * MiB),
        ("  128mib \n", 128 * MiB),
        ("128M", 128 * MiB),
        ("1.5GiB", 3 * GiB // 2),
        ("1.5 g", 3 * GiB // 2),
        ("64k", 64 * KiB),
        ("64 KiB", 64 * KiB),
        ("10b", 10),
        ("10 B", 10),
        # SI units are powers of ten.
        ("500MB", 500_000_000),
        ("1kb", 1000),
        ("2GB", 2_000_000_000),
    ],
)
def test_parse_size(text: str, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize(
    "text",
    ["", " ", "MiB", "-1MiB", "1 TiB", "1e6", "1,5MiB", "1.MiB", ".5MiB", "0x10", "1 2", "lots"],
)
def test_parse_size_refuses(text: str) -> None:
    with pytest.raises(InvalidSize, match="is not a size"):
        parse_size(text)


def test_invalid_size_is_a_value_error() -> None:
    assert issubclass(InvalidSize, ValueError)


@pytest.mark.parametrize(
    ("size", "text"),
    [
        (0, "0 bytes"),
        (1023, "1023 bytes"),
        (1024, "1 KiB"),
        (1025, "1025 bytes"),  # not a round number of KiB: exact bytes instead
        (1536, "1536 bytes"),  # the largest unit that states it exactly
        (64 * MiB, "64 MiB"),
        (128 * MiB, "128 MiB"),
        (3 * GiB // 2, "1536 MiB"),
        (GiB + 64 * MiB, "1088 MiB"),
        (GiB + 1, f"{GiB + 1} bytes"),
        (4 * GiB, "4 GiB"),
    ],
)
def test_format_size(size: int, text: str) -> None:
    assert format_size(size) == text


_FACTORS = {"bytes": 1, "KiB": KiB, "MiB": MiB, "GiB": GiB}


@pytest.mark.parametrize(
    "option",
    [
        "64MiB",
        "1.5GiB",
        "100KiB",
        "65537",
        # SI sizes are not round binary units: stated in the unit that holds them exactly
        # (a "{:g}" rendering once showed 10**9 as "976562 KiB" and 1.5e9 as "1.46484e+06").
        "1GB",
        "1.5GB",
        "3000000",
    ],
)
def test_format_size_states_a_parsed_size_exactly(option: str) -> None:
    # What the user configured is what a message reports (format_size's only use is the
    # "larger than the limit of ..." message for --max-page-size).
    size = parse_size(option)
    number, unit = format_size(size).split(" ")
    assert "e" not in number
    assert float(number) * _FACTORS[unit] == size
