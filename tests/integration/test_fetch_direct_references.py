"""Requirements pip would take from a URL or a path are refused before pip runs.

A third local server, named in the URLs, stands for a host outside the snapshot: it must
see no request at all.  Nor may the fake upstream: the refusal comes before any work.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiohttp import web

from tests.support.distributions import Dist, make_wheel
from tests.support.fakeindex import FakeIndex
from tests.support.fetching import fetch_upstream
from tests.support.proxyproc import snapproxy_executable
from tests.support.servers import serve_in_thread

ALPHA = make_wheel("alpha", "1.0")


@pytest.fixture
def upstream(pip_wheel: Dist) -> Iterator[FakeIndex]:
    # Beside the refused requirement, requirements pip could resolve from the snapshot.
    others = [make_wheel(name, "1.0") for name in ("beta", "gamma")]
    index = fetch_upstream(pip_wheel, ALPHA, *others)
    with index.running():
        yield index


class Witness:
    """A host outside the snapshot that serves alpha's wheel, recording every request."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        self.origin = ""

    def app(self) -> web.Application:
        async def handler(request: web.Request) -> web.Response:
            self.requests.append(request.path_qs)
            if request.path.endswith(".whl"):
                return web.Response(body=ALPHA.content)
            raise web.HTTPNotFound()

        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", handler)
        return app


@pytest.fixture
def witness() -> Iterator[Witness]:
    host = Witness()
    with serve_in_thread(host.app()) as origin:
        host.origin = origin
        yield host


@pytest.fixture
def place(tmp_path: Path) -> Path:
    """A working directory with alpha's wheel and an installable project beside it."""
    (tmp_path / ALPHA.filename).write_bytes(ALPHA.content)
    (tmp_path / "proj").mkdir()
    (tmp_path / "proj" / "pyproject.toml").write_text('[project]\nname = "alpha"\n')
    return tmp_path


# {w}: the witness's origin, {place}: the working directory.
REQUIREMENTS = [
    pytest.param("alpha @ {w}/alpha-1.0-py3-none-any.whl", id="name @ URL"),
    pytest.param("{w}/alpha-1.0-py3-none-any.whl", id="bare URL"),
    pytest.param("git+{w}/alpha.git#egg=alpha", id="VCS URL"),
    pytest.param("alpha @ git+{w}/alpha.git", id="name @ VCS URL"),
    pytest.param("alpha @ file://{place}/alpha-1.0-py3-none-any.whl", id="name @ file URL"),
    pytest.param("{place}/alpha-1.0-py3-none-any.whl", id="absolute archive"),
    pytest.param("alpha-1.0-py3-none-any.whl", id="archive in the working directory"),
    pytest.param("./proj", id="project directory"),
]


def run(
    command: str, args: list[str], upstream: FakeIndex, place: Path
) -> subprocess.CompletedProcess[str]:
    assert upstream.index_origin and upstream.files_origin
    out = place / ("wheels" if command == "fetch" else "pylock.toml")
    return subprocess.run(
        [snapproxy_executable(), command, "--quiet", "-o", str(out),
         "--date", "2021-05-01", "--upstream", upstream.index_origin,
         "--files-host", upstream.files_origin, "--cache-dir", str(place / "cache"), *args],
        cwd=place, env=dict(os.environ, HOME=str(place / "home")),
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip


def assert_refused_untouched(
    result: subprocess.CompletedProcess[str],
    named: str,
    witness: Witness,
    upstream: FakeIndex,
) -> None:
    assert result.returncode == 1, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("snapproxy: error: "), lines[0]
    assert named in lines[0]
    assert "snapproxy resolves from the snapshot only" in lines[0]
    assert witness.requests == []
    assert upstream.total_hits() == 0  # not even pip itself was fetched


@pytest.mark.parametrize("command", ["fetch", "lock"])
@pytest.mark.parametrize("requirement", REQUIREMENTS)
def test_an_argument(
    upstream: FakeIndex, witness: Witness, place: Path, command: str, requirement: str
) -> None:
    text = requirement.format(w=witness.origin, place=place)
    result = run(command, ["--", "beta", text], upstream, place)
    assert_refused_untouched(result, repr(text), witness, upstream)


@pytest.mark.parametrize(
    "requirement",
    [
        *REQUIREMENTS,
        pytest.param("-e ./proj", id="editable directory"),
        pytest.param("-e git+{w}/alpha.git#egg=alpha", id="editable VCS URL"),
    ],
)
@pytest.mark.parametrize("how", ["file", "included file", "constraints file"])
def test_a_line_of_a_requirements_file(
    upstream: FakeIndex, witness: Witness, place: Path, requirement: str, how: str
) -> None:
    line = requirement.format(w=witness.origin, place=place)
    top = place / "requirements.txt"
    if how == "file":
        top.write_text(f"beta\n{line}\n")
    else:
        option = "-r" if how == "included file" else "-c"
        top.write_text(f"beta\n{option} more/other.txt\n")
        (place / "more").mkdir()
        (place / "more" / "other.txt").write_text(f"gamma\n{line}\n")
    result = run("fetch", ["-r", str(top)], upstream, place)
    # The line's requirement, or its --editable value, is named.
    assert_refused_untouched(result, line.removeprefix("-e "), witness, upstream)
