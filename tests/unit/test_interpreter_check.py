"""``--python`` is checked before any work, and a wrapper is replaced by its interpreter."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from fetcher.interpreter_check import UnusableInterpreter, check_python

REAL = os.path.realpath(sys.executable)


def _script(path: Path, body: str) -> Path:
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)
    return path


def test_a_real_interpreter_is_kept_as_given() -> None:
    assert check_python(sys.executable) == os.path.abspath(sys.executable)


def test_a_link_to_the_interpreter_keeps_its_own_name(tmp_path: Path) -> None:
    # A venv's bin/python is such a link; its name is what makes it that venv's.
    link = tmp_path / "python"
    link.symlink_to(REAL)
    assert check_python(str(link)) == str(link)


def test_a_shim_is_replaced_by_the_interpreter_it_runs(tmp_path: Path) -> None:
    shim = _script(tmp_path / "python3", f'exec "{REAL}" "$@"')
    assert os.path.realpath(check_python(str(shim))) == REAL


def test_a_name_is_looked_up_on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "mypython").symlink_to(REAL)
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    assert check_python("mypython") == str(tmp_path / "bin" / "mypython")


@pytest.mark.parametrize(
    ("make", "says"),
    [
        (lambda d: "python9", "no such command on PATH"),
        (lambda d: str(d / "missing"), "no such file"),
        (lambda d: str(_script(d / "junk", "echo hello")), "is not a working Python"),
        (lambda d: str(_script(d / "fails", "echo boom >&2; exit 3")), "(boom)"),
        (lambda d: str(_script(d / "py2", "echo /usr/bin/python2; echo 2")), "is Python 2, not 3"),
        (lambda d: str(d), "cannot run"),
    ],
)
def test_what_cannot_run_pip_is_one_line_with_the_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, make: object, says: str
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    assert callable(make)
    given = make(tmp_path)
    with pytest.raises(UnusableInterpreter) as caught:
        check_python(given)
    message = str(caught.value)
    assert says in message and f"--python {given}" in message
    assert "sys.executable" in message and "\n" not in message
