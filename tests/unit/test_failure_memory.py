"""The negative cache: an upstream failure is answered again at once, for ``ttl`` seconds."""

from __future__ import annotations

import pytest

from snapproxy.upstream import (
    DocumentTooLarge,
    FailureMemory,
    UpstreamBadResponse,
    UpstreamError,
    UpstreamTimeout,
    UpstreamUnreachable,
)


class Clock:
    """An injectable clock the test moves by hand (no sleeping, no wall time)."""

    def __init__(self, now: float = 1000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


def remembers(memory: FailureMemory, key: str) -> bool:
    try:
        memory.check(key)
    except UpstreamError:
        return True
    return False


@pytest.mark.parametrize(
    ("ttl", "later", "remembered"),
    [
        (5.0, 0.0, True),
        (5.0, 4.999, True),
        (5.0, 5.0, False),  # ttl seconds is the most a failure is remembered
        (5.0, 3600.0, False),
        (0.5, 0.25, True),
        (0.0, 0.0, False),  # ttl 0 remembers nothing
        (-1.0, 0.0, False),
    ],
)
def test_a_failure_is_remembered_for_ttl_seconds(
    ttl: float, later: float, remembered: bool
) -> None:
    clock = Clock()
    memory = FailureMemory(ttl, clock)
    memory.remember("k", UpstreamUnreachable("upstream unreachable: u"))
    clock.now += later
    assert remembers(memory, "k") is remembered


@pytest.mark.parametrize(
    "error",
    [
        UpstreamUnreachable("upstream unreachable: https://pypi.org/simple/foo/ (refused)"),
        UpstreamTimeout("upstream timed out: https://pypi.org/simple/foo/"),
        UpstreamBadResponse("upstream answered 503 for https://pypi.org/simple/foo/"),
        DocumentTooLarge("upstream document is larger than the limit"),
    ],
)
def test_the_error_raised_again_is_of_the_same_class_and_says_so(error: UpstreamError) -> None:
    memory = FailureMemory(5.0, Clock())
    memory.remember("k", error)
    with pytest.raises(UpstreamError) as info:
        memory.check("k")
    again = info.value
    # Same class, so the same HTTP status reaches the client (504 for a time-out).
    assert type(again) is type(error)
    assert again.status == error.status
    # The original reason, and that upstream was not asked this time.
    assert str(error) in str(again)
    assert "not asked again" in str(again)
    assert "5 s" in str(again)


def test_keys_are_independent() -> None:
    memory = FailureMemory(5.0, Clock())
    memory.remember("https://pypi.org", UpstreamTimeout("t"))
    assert remembers(memory, "https://pypi.org")
    assert not remembers(memory, "https://files.pythonhosted.org")
    assert not remembers(memory, "never failed")


def test_a_new_failure_restarts_the_ttl() -> None:
    clock = Clock()
    memory = FailureMemory(5.0, clock)
    memory.remember("k", UpstreamTimeout("first"))
    clock.now += 4
    memory.remember("k", UpstreamUnreachable("second"))
    clock.now += 4
    with pytest.raises(UpstreamUnreachable, match="second"):
        memory.check("k")


def test_an_expired_failure_is_forgotten_for_good() -> None:
    clock = Clock()
    memory = FailureMemory(5.0, clock)
    memory.remember("k", UpstreamTimeout("t"))
    clock.now += 5
    assert not remembers(memory, "k")
    # Even a clock stepped back (NTP) does not bring it back: it was dropped, not hidden.
    clock.now -= 5
    assert not remembers(memory, "k")


def test_memory_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(FailureMemory, "_LIMIT", 3)
    clock = Clock()
    memory = FailureMemory(5.0, clock)
    for key in "abc":
        memory.remember(key, UpstreamTimeout(key))
    # Full of live failures: a new one is not kept (the old ones are not dropped early).
    memory.remember("d", UpstreamTimeout("d"))
    assert [remembers(memory, k) for k in "abcd"] == [True, True, True, False]
    # Once they expire, they make room.
    clock.now += 5
    memory.remember("e", UpstreamTimeout("e"))
    assert [remembers(memory, k) for k in "abce"] == [False, False, False, True]
    # The bound itself (what keeps a flood of failing URLs from growing the process).
    assert len(memory._until) <= 3
