"""The console script's start-up fast path for `snapproxy hash` (snapproxy.launcher).

The installed script (`.venv/bin/snapproxy`) runs a plain `hash` invocation without click;
anything else goes to click. Every case below runs both the script and the click path
(`snapproxy.cli.main` called directly) and wants the same stdout, stderr and exit status,
byte for byte; and the fast path must not import click at all.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from snapproxy.launcher import hash_request

REPO = Path(__file__).resolve().parents[2]
SNAPPROXY = REPO / ".venv" / "bin" / "snapproxy"
PYTHON = REPO / ".venv" / "bin" / "python"
# The click path, whatever the console script points at.
CLICK = [str(PYTHON), "-c", "from snapproxy.cli import main; main()"]
FORMATS = ("sri", "nix32", "base16")


@pytest.fixture(autouse=True)
def _no_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    """hash_request() reads the environment; the subprocesses get a scrubbed one (run)."""
    monkeypatch.delenv("SNAPPROXY_FORMAT", raising=False)
    monkeypatch.delenv("_SNAPPROXY_COMPLETE", raising=False)


def run(
    command: list[str], cwd: Path, stdout: int = subprocess.PIPE, **variables: str
) -> tuple[int, bytes, bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SNAPPROXY", "_SNAPPROXY"))}
    env.update(variables)
    proc = subprocess.run(
        command,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=stdout,
        stderr=subprocess.PIPE,
        timeout=60,
        check=False,
    )
    return proc.returncode, proc.stdout or b"", proc.stderr


def both(args: list[str], cwd: Path, **variables: str) -> tuple[int, bytes, bytes]:
    """The script's and click's answers, asserted equal; the common answer."""
    script = run([str(SNAPPROXY), *args], cwd, **variables)
    click = run([*CLICK, *args], cwd, **variables)
    assert script == click, f"snapproxy {args}: script {script!r} != click {click!r}"
    assert b"Traceback" not in script[2], script[2]
    return script


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A directory with a file, an executable, links (to a file, to a directory, dangling),
    a FIFO beside it, and a directory holding a FIFO under a name that is not UTF-8."""
    root = tmp_path / "root"
    (root / "dir").mkdir(parents=True)
    (root / "file").write_bytes(b"contents\n")
    (root / "dir" / "run").write_bytes(b"#!/bin/sh\n")
    (root / "dir" / "run").chmod(0o755)
    (root / "dir" / "link").symlink_to("../file")
    (tmp_path / "to-dir").symlink_to("root/dir")
    (tmp_path / "to-file").symlink_to("root/file")
    (tmp_path / "dangling").symlink_to("nowhere")
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "with-fifo").mkdir()
    os.mkfifo(tmp_path / "with-fifo" / os.fsdecode(b"pipe-\xff"))
    return tmp_path


# -- the fast path and click agree -----------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["root"],
        *(["root", "--format", fmt] for fmt in FORMATS),
        *(["--format", fmt, "root"] for fmt in FORMATS),
        *([f"--format={fmt}", "root"] for fmt in FORMATS),
        *(["root", f"--format={fmt}"] for fmt in FORMATS),
        ["root/file"],
        ["root/file", "--format", "nix32"],
        ["root/dir"],
        ["root/dir/"],
        ["./root//dir/../file"],
        ["to-file"],  # the link itself
        ["to-file/"],  # the file it points to (nix-hash refuses: "Not a directory")
        ["to-dir"],  # the link itself
        ["to-dir/"],  # what it points to
        ["to-dir/", "--format", "base16"],
        ["dangling"],  # a dangling link is hashed as a link
        ["dangling/"],
    ],
)
def test_hash_prints_the_same(args: list[str], tree: Path) -> None:
    status, out, err = both(["hash", *args], tree)
    if args[0] == "dangling/":
        assert status == 2
        assert b"does not exist" in err
    else:
        assert status == 0
        assert err == b""
        assert len(out.splitlines()) == 1


def test_formats_and_paths_give_the_right_digests(tree: Path) -> None:
    digests = {fmt: both(["hash", "root", "--format", fmt], tree)[1].strip() for fmt in FORMATS}
    assert digests["sri"].startswith(b"sha256-")
    assert len(digests["nix32"]) == 52
    assert len(digests["base16"]) == 64
    assert both(["hash", "root"], tree)[1].strip() == digests["sri"]
    # A trailing slash follows the link; without it the link itself is hashed.
    assert both(["hash", "to-dir/"], tree)[1] == both(["hash", "root/dir"], tree)[1]
    assert both(["hash", "to-dir"], tree)[1] != both(["hash", "root/dir"], tree)[1]


@pytest.mark.parametrize(
    "args",
    [
        ["missing"],
        ["missing", "--format", "nix32"],
        [""],
        ["fifo"],  # neither file, directory nor symlink: exit 1
        ["with-fifo"],  # the same deeper down, under a name that is not UTF-8
        ["with-fifo", "--format=base16"],
        [],
        ["--help"],
        ["-h"],
        ["root", "--help"],
        ["root", "--format", "bad"],
        ["root", "--format=SRI"],
        ["root", "--format="],
        ["root", "--format"],
        ["--format", "nix32"],
        ["root", "root"],
        ["root", "extra", "--format", "sri"],
        ["root", "--bogus"],
        ["root", "--form", "nix32"],
        ["-"],
        ["--", "root"],
        ["--", "--format"],
        ["root", "--format", "sri", "--format", "base16"],
    ],
)
def test_errors_help_and_odd_forms_are_the_same(args: list[str], tree: Path) -> None:
    status, _, err = both(["hash", *args], tree)
    if args and args[0] in ("missing", ""):
        assert status == 2
        assert err.startswith(b"snapproxy: error: Invalid value for 'PATH': ")
    if args and args[0] in ("fifo", "with-fifo"):
        assert status == 1
        assert err.startswith(b"snapproxy: error: ")
        assert b"is neither a file, a directory nor a symlink" in err


@pytest.mark.parametrize(
    ("value", "args", "status"),
    [
        ("nix32", ["root"], 0),  # the variable when the command line has no --format
        ("base16", ["root/dir/"], 0),
        ("nix32", ["root", "--format", "base16"], 0),  # the command line wins
        ("", ["root"], 0),  # empty: as if unset
        ("bad", ["root"], 2),
        ("SRI", ["root"], 2),
        ("bad", ["root", "--format=sri"], 0),
        ("nix32", ["missing"], 2),
    ],
)
def test_format_from_the_environment_is_the_same(
    value: str, args: list[str], status: int, tree: Path
) -> None:
    got, out, err = both(["hash", *args], tree, SNAPPROXY_FORMAT=value)
    assert got == status, err
    if value == "nix32" and status == 0 and "--format" not in args:
        assert len(out.strip()) == 52


def test_the_format_variable_is_clicks() -> None:
    from fetcher.nix_commands import hash_command
    from snapproxy.cli import cli  # noqa: F401  (gives every option its variable)
    from snapproxy.launcher import FORMAT_VARIABLE

    (option,) = [p for p in hash_command.params if p.name == "fmt"]
    assert option.envvar == FORMAT_VARIABLE


@pytest.mark.parametrize("args", [["--help"], ["--version"], [], ["serve", "--help"]])
def test_other_commands_go_to_click(args: list[str], tree: Path) -> None:
    status, out, _ = both(args, tree)
    assert status == 0
    assert out


def test_closed_stdout_is_the_same(tree: Path) -> None:
    # A reader that has gone: EPIPE on writing the digest.
    results = []
    for command in ([str(SNAPPROXY)], CLICK):
        read, write = os.pipe()
        os.close(read)
        try:
            results.append(run([*command, "hash", "root"], tree, stdout=write))
        finally:
            os.close(write)
    assert results[0][0] == results[1][0] == 1
    assert results[0][2] == results[1][2]


# -- the fast path stays fast ----------------------------------------------------------------


def imported(args: list[str], cwd: Path) -> tuple[set[str], bytes]:
    """The modules the console script imports for ``args``, and its stdout.

    From ``-X importtime``, whose lines come in the order imports finish: those after the
    ``site`` line are the script's own, not the interpreter's start-up (``site`` runs the
    editable install's finder, which imports pathlib and re on its own).
    """
    proc = subprocess.run(
        [str(PYTHON), "-X", "importtime", str(SNAPPROXY), *args],
        cwd=cwd,
        capture_output=True,
        timeout=60,
        check=False,
    )
    names = [
        line.rsplit(b"|", 1)[1].decode()
        for line in proc.stderr.splitlines()
        if line.startswith(b"import time:") and line.count(b"|") == 2
    ]
    assert " site" in names, proc.stderr.decode(errors="replace")[-2000:]
    after_site = names[names.index(" site") + 1 :]
    return {name.strip() for name in after_site}, proc.stdout


HEAVY = {
    "click", "snapproxy.cli", "fetcher.commands", "fetcher.nix_commands", "aiohttp", "packaging",
    "asyncio",
}


@pytest.mark.parametrize("args", [["root"], ["root/dir/", "--format", "nix32"]])
def test_fast_path_imports_no_click(args: list[str], tree: Path) -> None:
    modules, out = imported(["hash", *args], tree)
    assert "fetcher.hash_path" in modules, "no -X importtime output?"
    assert out.strip()
    assert not modules & HEAVY, sorted(modules & HEAVY)
    # Nor anything else that costs milliseconds and the hash does not need.
    assert not modules & {"typing", "dataclasses", "pathlib", "threading", "base64"}


def test_errors_do_import_click(tree: Path) -> None:
    # The other half of the check above: the same detection sees click when it is used.
    modules, _ = imported(["hash", "missing"], tree)
    assert {"click", "snapproxy.cli"} <= modules


def test_large_files_import_nothing_more(tmp_path: Path) -> None:
    from fetcher.nar import CHUNK

    (tmp_path / "big").write_bytes(bytes(3 * CHUNK + 1))
    modules, out = imported(["hash", "big"], tmp_path)
    assert out.strip()
    assert not modules & (HEAVY | {"threading", "queue", "mmap"})


# -- what the fast path takes on ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["hash", "p"], ("p", "sri")),
        (["hash", "p", "--format", "nix32"], ("p", "nix32")),
        (["hash", "--format", "base16", "p"], ("p", "base16")),
        (["hash", "--format=sri", "p"], ("p", "sri")),
        (["hash", "p", "--format=base16"], ("p", "base16")),
        (["hash", "p/"], ("p/", "sri")),
        (["hash", ""], ("", "sri")),  # missing: found by hash_path, then click reports
        (["hash", "a b"], ("a b", "sri")),
    ],
)
def test_hash_request_takes(args: list[str], expected: tuple[str, str]) -> None:
    assert hash_request(args) == expected


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["serve"],
        ["--help"],
        ["hash"],
        ["hash", "--help"],
        ["hash", "-h"],
        ["hash", "p", "q"],
        ["hash", "p", "--format"],
        ["hash", "p", "--format", "bad"],
        ["hash", "p", "--format="],
        ["hash", "p", "--format", "SRI"],
        ["hash", "p", "--format", "sri", "--format", "sri"],
        ["hash", "--", "p"],
        ["hash", "-"],
        ["hash", "-p"],
        ["hash", "p", "--formats=sri"],
        ["--version", "hash", "p"],
        ["hashes", "p"],
    ],
)
def test_hash_request_leaves_to_click(args: list[str]) -> None:
    assert hash_request(args) is None


def test_shell_completion_goes_to_click(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("_SNAPPROXY_COMPLETE", "bash_complete")
    assert hash_request(["hash", "p"]) is None


def test_hash_request_reads_the_format_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SNAPPROXY_FORMAT", "nix32")
    assert hash_request(["hash", "p"]) == ("p", "nix32")
    assert hash_request(["hash", "p", "--format", "base16"]) == ("p", "base16")
    monkeypatch.setenv("SNAPPROXY_FORMAT", "bad")
    assert hash_request(["hash", "p"]) is None
    assert hash_request(["hash", "p", "--format=sri"]) == ("p", "sri")


def test_the_script_is_the_launcher() -> None:
    # pyproject's [project.scripts] after a reinstall of the venv (./dev does it).
    assert "snapproxy.launcher" in SNAPPROXY.read_text(), "reinstall: ./dev check"
