"""Refusing an unusable -o before any work, naming the path and the fix.

An unwritable directory is tested in tests/integration/test_fetch_output_path.py, with
the CLI run without root's right to write anywhere.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from fetcher.output_path import UnusableOutput, check_new_directory, check_writable_file


def test_a_new_directory_in_an_existing_one_is_fine(tmp_path: Path) -> None:
    check_new_directory(tmp_path / "wheels")
    check_writable_file(tmp_path / "pylock.toml")
    assert list(tmp_path.iterdir()) == []  # nothing made by asking


def test_a_bare_name_is_in_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    check_new_directory(Path("wheels"))
    check_writable_file(Path("pylock.toml"))


@pytest.mark.parametrize("kind", ["directory", "file", "dangling symlink"])
def test_a_new_directory_must_not_exist(tmp_path: Path, kind: str) -> None:
    out = tmp_path / "wheels"
    if kind == "directory":
        out.mkdir()
    elif kind == "file":
        out.write_text("")
    else:
        out.symlink_to(tmp_path / "nowhere")
    with pytest.raises(UnusableOutput, match=rf"^output {out} already exists; remove it"):
        check_new_directory(out)


def test_a_file_may_be_replaced_but_a_directory_not(tmp_path: Path) -> None:
    (tmp_path / "pylock.toml").write_text("old")
    check_writable_file(tmp_path / "pylock.toml")
    (tmp_path / "dir").mkdir()
    with pytest.raises(UnusableOutput, match=rf"^output {tmp_path / 'dir'} is a directory"):
        check_writable_file(tmp_path / "dir")


@pytest.mark.parametrize("check", [check_new_directory, check_writable_file])
def test_the_directory_must_exist(tmp_path: Path, check: Callable[[Path], None]) -> None:
    out = tmp_path / "missing" / "out"
    with pytest.raises(UnusableOutput) as info:
        check(out)
    assert str(info.value) == (
        f"cannot write {out}: directory {tmp_path / 'missing'} does not exist; "
        "create it or choose another -o"
    )


@pytest.mark.parametrize("check", [check_new_directory, check_writable_file])
def test_the_parent_must_be_a_directory(tmp_path: Path, check: Callable[[Path], None]) -> None:
    (tmp_path / "file").write_text("")
    out = tmp_path / "file" / "out"
    with pytest.raises(UnusableOutput, match=r"is not a directory; choose another -o$"):
        check(out)
