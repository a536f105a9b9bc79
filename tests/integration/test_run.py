"""`snapproxy run`: the real CLI running commands against a throwaway proxy of a fake upstream.

What the command sees (a live proxy at the cutoff, and only it), its exit status passed
through, signals passed on, one line when it cannot be started, and nothing left behind.
Each signal is sent at a moment the test can see (the command has written its marker), so
the timing needs no sleep.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from tests.conftest import StartSnapproxy
from tests.support.clients import clean_client_env, hostile_client_env, pip_venv
from tests.support.distributions import make_wheel
from tests.support.fakeindex import FakeFile, FakeIndex
from tests.support.proxyproc import snapproxy_executable

# Only a guard against a hang: every wait below ends as soon as its event happens.
HANG_GUARD = 300.0
CUTOFF = "2021-05-01"
BEFORE, AFTER = "2021-01-10T10:00:00.000000Z", "2021-07-10T10:00:00.000000Z"
PYTHON = sys.executable


@pytest.fixture
def upstream() -> Iterator[FakeIndex]:
    """alpha 1.0 before the cutoff, alpha 2.0 after it."""
    index = FakeIndex()
    index.add(
        "alpha",
        FakeFile(make_wheel("alpha", "1.0"), BEFORE),
        FakeFile(make_wheel("alpha", "2.0"), AFTER),
    )
    with index.running():
        yield index


def run_args(upstream: FakeIndex, *options: str | Path) -> list[str]:
    assert upstream.index_origin and upstream.files_origin
    return [snapproxy_executable(), "run", "--date", CUTOFF, "--upstream",
            upstream.index_origin, "--files-host", upstream.files_origin,
            *map(str, options)]  # fmt: skip


def snapproxy_run(
    upstream: FakeIndex,
    *options: str | Path,
    command: list[str],
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*run_args(upstream, *options), "--", *command],
        env=dict(env if env is not None else clean_client_env()),
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=HANG_GUARD,
        check=False,
    )


def python(code: str) -> list[str]:
    return [PYTHON, "-c", code]


# The command reports what it was given and what the index it was given serves.
REPORT = """
import json, os, urllib.request
url = os.environ["PIP_INDEX_URL"]
accept = {"Accept": "application/vnd.pypi.simple.v1+json"}
request = urllib.request.Request(url + "alpha/", headers=accept)
with urllib.request.urlopen(request, timeout=60) as response:
    page = json.load(response)
names = ("PIP_", "UV_", "PDM_", "NO_PROXY", "no_proxy")
print(json.dumps({
    "env": {k: v for k, v in os.environ.items() if k.startswith(names)},
    "files": sorted(f["filename"] for f in page["files"]),
}))
"""


def test_the_command_sees_a_live_proxy_at_the_cutoff_as_its_only_index(
    upstream: FakeIndex, tmp_path: Path
) -> None:
    hostile = dict(clean_client_env(), PIP_FIND_LINKS="/wheels", UV_INDEX="https://x.example/")
    done = snapproxy_run(upstream, "--cache-dir", tmp_path / "cache", command=python(REPORT),
                         env=hostile)  # fmt: skip
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    assert seen["files"] == ["alpha-1.0-py3-none-any.whl"]  # 2.0 came after the cutoff
    env = seen["env"]
    url = env["PIP_INDEX_URL"]
    assert url.startswith("http://127.0.0.1:") and url.endswith("/simple/")
    assert env["UV_DEFAULT_INDEX"] == env["UV_INDEX_URL"] == env["PDM_PYPI_URL"] == url
    assert env["PIP_CONFIG_FILE"] == env["PDM_CONFIG_FILE"] == "/dev/null"
    assert env["UV_NO_CONFIG"] == "1"
    assert "PIP_FIND_LINKS" not in env and "UV_INDEX" not in env
    assert "127.0.0.1" in env["NO_PROXY"].split(",")
    # One line names the cutoff and the index; the proxy said nothing else.
    assert done.stderr == (
        f"snapproxy: {upstream.index_origin} as of 2021-05-01T00:00:00Z at {url} for {PYTHON}\n"
    )
    # The proxy is gone with the command.
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(url, timeout=30)


def test_quiet_prints_nothing_of_its_own(upstream: FakeIndex, tmp_path: Path) -> None:
    done = snapproxy_run(upstream, "-q", "--cache-dir", tmp_path / "cache",
                         command=python("print('hello')"))  # fmt: skip
    assert (done.returncode, done.stdout, done.stderr) == (0, "hello\n", "")


@pytest.mark.parametrize(
    ("code", "status"),
    [
        pytest.param("pass", 0, id="0"),
        pytest.param("import sys; sys.exit(3)", 3, id="3"),
        pytest.param("import os, signal; os.kill(os.getpid(), signal.SIGKILL)", 137, id="SIGKILL"),
        pytest.param("import os, signal; os.kill(os.getpid(), signal.SIGTERM)", 143, id="SIGTERM"),
    ],
)
def test_the_exit_status_is_the_commands(
    upstream: FakeIndex, tmp_path: Path, code: str, status: int
) -> None:
    done = snapproxy_run(upstream, "-q", "--cache-dir", tmp_path / "cache", command=python(code))
    assert done.returncode == status, done.stderr
    assert done.stderr == ""


# Writes its marker once its handlers are in place, then waits for a signal.
WAITER = """
import signal, sys, time
from pathlib import Path
def caught(signum, frame):
    print("caught", signal.Signals(signum).name, flush=True)
    sys.exit(7)
if sys.argv[1] == "catch":
    signal.signal(signal.SIGTERM, caught)
    signal.signal(signal.SIGINT, caught)
Path(sys.argv[2]).write_text("ready")
time.sleep(float(sys.argv[3]))
sys.exit(99)
"""


@pytest.mark.parametrize(
    ("signum", "mode", "status", "stdout", "stderr_end"),
    [
        pytest.param(signal.SIGTERM, "catch", 7, "caught SIGTERM\n", "", id="SIGTERM-caught"),
        pytest.param(signal.SIGTERM, "default", 143, "", "", id="SIGTERM-default"),
        pytest.param(signal.SIGINT, "catch", 7, "caught SIGINT\n", "", id="SIGINT-caught"),
        # Python's own SIGINT handler: KeyboardInterrupt, then death by SIGINT.
        pytest.param(signal.SIGINT, "default", 130, "", "KeyboardInterrupt\n", id="SIGINT-default"),
    ],
)
def test_a_signal_to_run_goes_on_to_the_command(
    upstream: FakeIndex,
    tmp_path: Path,
    signum: signal.Signals,
    mode: str,
    status: int,
    stdout: str,
    stderr_end: str,
) -> None:
    marker = tmp_path / "ready"
    # A session of its own, so the signal reaches run alone (not as a terminal's would).
    proc = subprocess.Popen(
        [*run_args(upstream, "-q", "--cache-dir", tmp_path / "cache"), "--",
         PYTHON, "-c", WAITER, mode, str(marker), str(HANG_GUARD)],
        env=clean_client_env(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + HANG_GUARD
        while not marker.exists():
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "hang guard: the command never got ready"
            time.sleep(0.02)
        proc.send_signal(signum)
        out, err = proc.communicate(timeout=HANG_GUARD)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert (proc.returncode, out) == (status, stdout), err
    # Only the command's own words (Python's traceback of KeyboardInterrupt), none of run's.
    assert err.endswith(stderr_end) and (stderr_end or err == "")
    assert "snapproxy" not in err


def test_a_command_that_is_not_there_is_one_line_and_127(
    upstream: FakeIndex, tmp_path: Path
) -> None:
    done = snapproxy_run(upstream, "--cache-dir", tmp_path / "cache",
                         command=["no-such-command-snapproxy", "install"])  # fmt: skip
    assert done.returncode == 127
    assert done.stderr == (
        "snapproxy: error: command 'no-such-command-snapproxy' not found on PATH; "
        "check its spelling, or give its path\n"
    )
    assert done.stdout == ""
    assert upstream.total_hits() == 0
    assert not (tmp_path / "cache").exists()  # checked before anything was made


def test_a_file_that_cannot_be_executed_is_one_line_and_126(
    upstream: FakeIndex, tmp_path: Path
) -> None:
    script = tmp_path / "script.sh"
    script.write_text("echo hi\n")
    done = snapproxy_run(upstream, "--cache-dir", tmp_path / "cache", command=[str(script)])
    assert done.returncode == 126
    assert done.stderr == (
        f"snapproxy: error: command '{script}' is not executable; chmod +x it or run it "
        "with its interpreter\n"
    )


@pytest.mark.parametrize(
    ("words", "message"),
    [
        pytest.param(
            ["pip", "install", "-q", "requests"],
            "snapproxy: error: put -- before the command 'pip', e.g. snapproxy run --date "
            "2021-05-01 -- pip install requests (see 'snapproxy run --help')\n",
            id="no-dashes",
        ),
        pytest.param(
            ["--"],
            "snapproxy: error: no command to run: give one after --, e.g. snapproxy run --date "
            "2021-05-01 -- pip install requests (see 'snapproxy run --help')\n",
            id="nothing-after-dashes",
        ),
        pytest.param(
            [],
            "snapproxy: error: no command to run: give one after --, e.g. snapproxy run --date "
            "2021-05-01 -- pip install requests (see 'snapproxy run --help')\n",
            id="no-command",
        ),
    ],
)
def test_a_command_line_without_dashes_and_a_command_is_a_usage_error(
    upstream: FakeIndex, tmp_path: Path, words: list[str], message: str
) -> None:
    done = subprocess.run(
        [*run_args(upstream, "--cache-dir", tmp_path / "cache"), *words],
        env=clean_client_env(), capture_output=True, text=True, timeout=HANG_GUARD, check=False,
    )  # fmt: skip
    assert (done.returncode, done.stdout, done.stderr) == (2, "", message)


FETCH_FILE = """
import json, os, urllib.parse, urllib.request
url = os.environ["PIP_INDEX_URL"] + "alpha/"
request = urllib.request.Request(url, headers={"Accept": "application/vnd.pypi.simple.v1+json"})
with urllib.request.urlopen(request, timeout=60) as response:
    page = json.load(response)
with urllib.request.urlopen(urllib.parse.urljoin(url, page["files"][0]["url"])) as response:
    print(len(response.read()))
"""


@pytest.mark.parametrize("cache", ["--no-cache", "--cache-dir"])
def test_nothing_is_left_behind(upstream: FakeIndex, tmp_path: Path, cache: str) -> None:
    tmpdir, home, cache_dir = tmp_path / "tmpdir", tmp_path / "home", tmp_path / "cache"
    tmpdir.mkdir()
    home.mkdir()
    options = [cache] if cache == "--no-cache" else [cache, cache_dir]
    env = clean_client_env(TMPDIR=str(tmpdir), HOME=str(home))
    env.pop("XDG_CACHE_HOME", None)
    done = snapproxy_run(upstream, "-q", *options, command=python(FETCH_FILE), env=env)
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) == len(make_wheel("alpha", "1.0").content)
    assert list(tmpdir.iterdir()) == []
    assert list(home.iterdir()) == []  # no default cache either
    if cache == "--cache-dir":
        assert not [p for p in cache_dir.rglob("*") if p.name.startswith(".tmp-")]
    else:
        assert not cache_dir.exists()


def test_pip_through_run_ignores_a_hostile_configuration(
    upstream: FakeIndex, tmp_path: Path, snapproxy_server: StartSnapproxy
) -> None:
    """Offline twin of the live test: pip.conf, PIP_CONFIG_FILE, PIP_* and uv settings all
    add the raw upstream (alpha 2.0) and a directory holding alpha 99.0; run gets 1.0."""
    links = tmp_path / "links"
    links.mkdir()
    tempting = make_wheel("alpha", "99.0")
    (links / tempting.filename).write_bytes(tempting.content)
    env = hostile_client_env(tmp_path, extra_index=upstream.simple_url, links=links)
    pip = [str(pip_venv("26.3") / "bin" / "python"), "-m", "pip", "install", "--dry-run",
           "--quiet", "--report", "-", "alpha"]  # fmt: skip

    def resolved(done: subprocess.CompletedProcess[str]) -> dict[str, str]:
        assert done.returncode == 0, done.stderr
        report = json.loads(done.stdout)
        return {i["metadata"]["name"]: i["metadata"]["version"] for i in report["install"]}

    through_run = snapproxy_run(upstream, "-q", "--cache-dir", tmp_path / "cache",
                                command=pip, env=env, cwd=tmp_path)  # fmt: skip
    assert resolved(through_run) == {"alpha": "1.0"}
    # The same pip given a snapshot's index by hand (README's first example) takes the
    # tempting wheel: the configuration is hostile indeed.
    server = snapproxy_server(CUTOFF, upstream=upstream, cache_dir=tmp_path / "serve-cache")
    by_hand = subprocess.run(
        [*pip, "--index-url", server.index_url], env=env, cwd=tmp_path, capture_output=True,
        text=True, timeout=HANG_GUARD, check=False,
    )  # fmt: skip
    assert resolved(by_hand) == {"alpha": "99.0"}
