"""The launcher that makes pip evaluate markers in a target's PEP 508 environment.

A stand-in ``pip`` package (with the real ``packaging`` as its vendored copy) shows what
pip's code sees; the real pips are run by tests/integration/test_lock_targets.py.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

import packaging
import pytest

from fetcher.lock_target import parse_target
from fetcher.pip_runner import Target, pip_resolve_command
from fetcher.target_pip import MarkedTarget, pip_target

WINDOWS = parse_target("3.11:win_amd64")
LINUX = parse_target("3.11:manylinux_2_17_x86_64")

# What pip's own modules do: one binds default_environment when it is imported (as
# pip._internal.models.installation_report does), __main__ evaluates a marker.
_PIP_INIT = "from pip._vendor.packaging.markers import default_environment\n"
_PIP_MAIN = """\
import json, os, sys
if not __spec__ or __spec__.parent == "":  # run as `python WHEEL/pip`: as pip's own does
    sys.path.insert(0, os.path.dirname(os.path.dirname(__file__)))
import pip
from pip._vendor.packaging.markers import Marker, default_environment
print(json.dumps({
    "argv": sys.argv[1:],
    "environment": default_environment(),
    "bound_before": pip.default_environment(),
    "windows": Marker('sys_platform == "win32"').evaluate(),
}))
"""
# A packaging that evaluates markers with a reference it took before the launcher ran.
_STALE_MARKERS = """\
import sys
def default_environment():
    return {"sys_platform": sys.platform}
class Marker:
    _environment = staticmethod(default_environment)
    def __init__(self, text):
        self.text = text
    def evaluate(self, environment=None):
        return self.text in str(self._environment())
"""


def _fake_pip(root: Path, markers: str | None = None) -> Path:
    package = root / "pip"
    vendored = package / "_vendor" / "packaging"
    if markers is None:
        shutil.copytree(Path(packaging.__file__).parent, vendored)
    else:
        vendored.mkdir(parents=True)
        (vendored / "__init__.py").write_text("")
        (vendored / "markers.py").write_text(markers)
    (package / "_vendor" / "__init__.py").write_text("")
    (package / "__init__.py").write_text(_PIP_INIT)
    (package / "__main__.py").write_text(_PIP_MAIN)
    return root


def _run(command: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, cwd=cwd, check=False)


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    # pip runs in a work directory; a `pip` there must never be what is imported.
    cwd = tmp_path / "work"
    (cwd / "pip").mkdir(parents=True)
    (cwd / "pip" / "__init__.py").write_text("raise SystemExit('imported from the cwd')\n")
    (cwd / "json.py").write_text("raise SystemExit('imported from the cwd')\n")
    return cwd


def test_pip_sees_the_targets_environment_everywhere(tmp_path: Path, workdir: Path) -> None:
    pip = _fake_pip(tmp_path / "wheel")
    for target, windows in ((WINDOWS, True), (LINUX, False)):
        marked = pip_target(target, sys.executable)
        done = _run([*marked.pip_command(pip), "install", "--", "x"], workdir)
        assert done.returncode == 0, done.stderr
        seen = json.loads(done.stdout)
        assert seen["argv"] == ["install", "--", "x"]
        assert seen["environment"] == target.marker_environment()
        assert seen["bound_before"] == target.marker_environment()
        assert seen["windows"] is windows


def test_without_the_launcher_pip_sees_this_machine(tmp_path: Path, workdir: Path) -> None:
    """The control: pip's target options alone leave markers to the running interpreter."""
    pip = _fake_pip(tmp_path / "wheel")
    plain = Target(sys.executable, True, ("win_amd64",), "3.11", "cp", ("cp311",))
    done = _run([*plain.pip_command(pip), "install"], tmp_path)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    assert seen["environment"] != WINDOWS.marker_environment()
    assert seen["windows"] is (sys.platform == "win32")


def test_a_pip_that_ignores_the_patch_stops_before_resolving(
    tmp_path: Path, workdir: Path
) -> None:
    pip = _fake_pip(tmp_path / "wheel", markers=_STALE_MARKERS)
    done = _run([*pip_target(WINDOWS, sys.executable).pip_command(pip), "install"], workdir)
    assert done.returncode != 0
    assert done.stdout == ""  # pip's __main__ never ran
    assert done.stderr.strip().startswith("ERROR: snapproxy cannot make this pip evaluate markers")


def test_marked_target_is_wheels_only_for_its_tags_and_keys_its_memo() -> None:
    marked = pip_target(WINDOWS, "/usr/bin/python3")
    # Its environment is the target's, whatever the interpreter reports of itself.
    assert marked.environment({"sys_platform": "linux", "extra": "x"}) == (
        WINDOWS.marker_environment()
    )
    plain = Target(
        marked.python, True, marked.platforms, "3.11", "cp", marked.abis
    )
    assert marked.pip_options() == plain.pip_options()
    assert set(WINDOWS.pip_options()) == set(marked.pip_options())
    # A resolution remembered for the plain options (markers of the machine) is not this.
    assert asdict(marked) != asdict(plain)
    assert isinstance(marked, MarkedTarget)
    command = pip_resolve_command(
        marked, Path("/pip.whl"), "http://127.0.0.1:1/simple/", Path("/r.json"), (), ["x"]
    )
    assert command[:3] == ["/usr/bin/python3", "-c", marked.pip_command(Path("/pip.whl"))[2]]
    assert command[3:5] == ["/pip.whl", json.dumps(WINDOWS.marker_environment(), sort_keys=True)]
    assert command[5] == "install" and command[-2:] == ["--", "x"]


def test_only_the_pinned_pip_runs(tmp_path: Path, workdir: Path) -> None:
    """A pip location that holds no pip (a relative path from elsewhere) is refused, not
    replaced by whichever pip the interpreter can import."""
    missing = tmp_path / "gone" / "pip-26.3-py3-none-any.whl"
    done = _run([*pip_target(WINDOWS, sys.executable).pip_command(missing), "install"], workdir)
    assert done.returncode != 0 and done.stdout == ""
    assert done.stderr.startswith(f"ERROR: snapproxy found no pip in {missing}")
    # Relative paths are made absolute where snapproxy runs, not where pip does.
    relative = pip_target(WINDOWS, sys.executable).pip_command(Path("cache/pip.whl"))[3]
    assert relative == str(Path.cwd() / "cache" / "pip.whl")
