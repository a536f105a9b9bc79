"""The remembered resolution: its key, its file form, and when it still holds."""

from __future__ import annotations

from pathlib import Path

import pytest

from fetcher import resolution_memo
from fetcher.pip_report import ChosenFile
from fetcher.resolution import Resolution
from fetcher.resolution_memo import Memo, decode, encode, memo_key, recall, remember, still_valid
from snapproxy.page_cache import StoredCopy
from snapproxy.page_log import PageLog

BASE = resolution_memo.BASE
DIGEST = "a" * 64


def _file(name: str, version: str = "1.0", base: str = BASE) -> ChosenFile:
    filename = f"{name}-{version}-py3-none-any.whl"
    return ChosenFile(name, version, filename, f"{base}/files/{name}/{filename}", "0" * 64)


def _memo(pages: dict[str, str] | None = None) -> Memo:
    resolution = Resolution([_file("alpha"), _file("beta")], [_file("setuptools", "56.0")],
                            {"python_version": "3.11"})
    return Memo(resolution, {"k1": DIGEST, "k2": "b" * 64} if pages is None else pages)


INPUTS = {"cutoff": "2021-05-01T00:00:00+00:00", "pip": "26.3", "requirements": ["alpha"],
          "target": {"python": "/usr/bin/python3", "platforms": []}}


def test_the_key_is_the_same_for_the_same_inputs_in_any_order() -> None:
    assert memo_key(INPUTS) == memo_key(dict(reversed(list(INPUTS.items()))))


@pytest.mark.parametrize(
    "change",
    [
        {"cutoff": "2021-05-01T00:00:01+00:00"},
        {"pip": "26.2"},
        {"requirements": ["alpha", "beta"]},
        {"requirements": ["alpha[x]"]},
        {"target": {"python": "/usr/bin/python3", "platforms": ["win_amd64"]}},
        {"files_read": ["c" * 64]},
    ],
)
def test_any_changed_input_is_another_key(change: dict[str, object]) -> None:
    assert memo_key({**INPUTS, **change}) != memo_key(INPUTS)


def test_a_memo_reads_back_as_written() -> None:
    memo = _memo()
    assert decode(encode(memo)) == memo


@pytest.mark.parametrize(
    "damage",
    [
        lambda raw: raw[:-1],  # truncated
        lambda raw: raw.replace(b'"alpha"', b'"alphb"'),  # a changed byte, same length
        lambda raw: raw.replace(b'"schema": 1', b'"schema": 0'),  # another layout
        lambda raw: raw.partition(b"\n")[2],  # no header
        lambda raw: b"",
        lambda raw: b"\xff\xfe" + raw,
    ],
)
def test_a_damaged_memo_reads_as_none(damage: object) -> None:
    assert callable(damage)
    assert decode(damage(encode(_memo()))) is None


def _stored(copies: dict[str, StoredCopy]) -> object:
    return copies.get


def test_it_holds_while_every_page_is_the_same_fresh_copy() -> None:
    copies = {"k1": StoredCopy(DIGEST, 1000.0), "k2": StoredCopy("b" * 64, 1000.0)}
    assert still_valid(_memo(), copies.get, now=1500.0, max_age=600.0)


@pytest.mark.parametrize(
    "copies",
    [
        {"k1": StoredCopy(DIGEST, 1000.0)},  # a page gone from the cache
        {"k1": StoredCopy(DIGEST, 1000.0), "k2": StoredCopy("c" * 64, 1000.0)},  # changed
        {"k1": StoredCopy(DIGEST, 1000.0), "k2": StoredCopy("b" * 64, 800.0)},  # stale
    ],
)
def test_it_does_not_hold_when_a_page_is_not_the_same_fresh_copy(
    copies: dict[str, StoredCopy],
) -> None:
    assert not still_valid(_memo(), copies.get, now=1500.0, max_age=600.0)


def test_a_memo_of_no_pages_never_holds() -> None:
    assert not still_valid(_memo({}), {}.get, now=0.0, max_age=600.0)


def test_recall_finds_what_remember_stored_only_while_it_holds(tmp_path: Path) -> None:
    memo = _memo()
    remember(tmp_path, "f" * 64, memo)
    fresh = {"k1": StoredCopy(DIGEST, 1000.0), "k2": StoredCopy("b" * 64, 1000.0)}
    assert recall(tmp_path, "f" * 64, fresh.get, 1500.0, 600.0) == memo
    assert recall(tmp_path, "f" * 64, fresh.get, 1700.0, 600.0) is None
    assert recall(tmp_path, "e" * 64, fresh.get, 1500.0, 600.0) is None


def test_remember_on_an_unwritable_cache_costs_nothing_but_the_memo(tmp_path: Path) -> None:
    (tmp_path / "resolutions").write_text("not a directory")
    remember(tmp_path, "f" * 64, _memo())  # does not raise
    assert recall(tmp_path, "f" * 64, {}.get, 0.0, 600.0) is None


def test_a_resolution_moves_to_another_base_and_back() -> None:
    memo = _memo()
    moved = memo.resolution.moved(BASE, "http://127.0.0.1:4321")
    assert moved.runtime[0].url == "http://127.0.0.1:4321/files/alpha/alpha-1.0-py3-none-any.whl"
    assert moved.moved("http://127.0.0.1:4321", BASE) == memo.resolution


def test_a_file_from_elsewhere_does_not_move() -> None:
    stray = Resolution([_file("alpha", base="http://elsewhere")], [], {})
    with pytest.raises(ValueError, match="elsewhere"):
        stray.moved(BASE, "http://127.0.0.1:1")


def test_the_page_log_is_incomplete_when_one_page_was_two_copies_or_failed() -> None:
    log = PageLog()
    log.served("k1", DIGEST)
    log.served("k1", DIGEST)
    assert not log.incomplete and log.copies == {"k1": DIGEST}
    log.served("k1", "b" * 64)
    assert log.incomplete
    other = PageLog()
    other.failed()
    assert other.incomplete


def test_the_code_identity_names_this_code() -> None:
    assert resolution_memo.code_identity() == resolution_memo.code_identity()
    assert len(resolution_memo.code_identity()) == 64
