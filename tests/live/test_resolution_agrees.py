"""Resolving `requests` at 2021-05-01: through the proxy and by the clients' own date filters.

Five independent routes must land on the same, known set of pins:
pip 26.3 (PEP 691 JSON) and pip 22.0.4 (PEP 503 HTML only) and `uv pip compile` through
the proxy; pip's `--uploaded-prior-to` and uv's `--exclude-newer` straight against PyPI.
Every client runs isolated from this machine's pip/uv configuration (see
`tests.support.clients`).
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterable
from pathlib import Path

from packaging.utils import canonicalize_name, parse_sdist_filename, parse_wheel_filename

from tests.live.truth import PIP_STYLE_CUTOFF, PYPI
from tests.support.clients import base_python, pip_venv, run_pip, run_uv
from tests.support.proxyproc import SnapproxyServer

EXPECTED = {
    ("requests", "2.25.1"),
    ("urllib3", "1.26.4"),
    ("idna", "2.10"),
    ("chardet", "4.0.0"),
    ("certifi", "2020.12.5"),
}
PIP_NEW = "26.3"
PIP_OLD = "22.0.4"  # predates PEP 691: speaks HTML only
PYPI_SIMPLE = f"{PYPI}/simple/"


def _pins(pairs: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
    return {(str(canonicalize_name(name)), version) for name, version in pairs}


def _ok(proc: subprocess.CompletedProcess[str]) -> str:
    """stdout+stderr of a finished client run, asserting it succeeded."""
    out = f"{proc.stdout}\n{proc.stderr}"
    assert proc.returncode == 0, f"{proc.args} failed ({proc.returncode}):\n{out}"
    return out


def _pip_report_pins(report: Path) -> set[tuple[str, str]]:
    doc = json.loads(report.read_text())
    return _pins((item["metadata"]["name"], item["metadata"]["version"]) for item in doc["install"])


def _pip_report_urls(report: Path) -> list[str]:
    return [item["download_info"]["url"] for item in json.loads(report.read_text())["install"]]


def _uv_pins(output: str) -> set[tuple[str, str]]:
    pins = []
    for line in output.splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, sep, version = line.partition("==")
            assert sep, f"unexpected line in uv pip compile output: {line!r}"
            pins.append((name, version))
    return _pins(pins)


def _uv_compile(tmp_path: Path, *index_args: str) -> set[tuple[str, str]]:
    requirements = tmp_path / "requirements.in"
    requirements.write_text("requests\n")
    proc = run_uv(
        "pip", "compile", str(requirements), "--no-header", "--no-annotate",
        "--python-version", "3.11", "--python", base_python(), *index_args,
        cwd=tmp_path,
    )
    _ok(proc)
    return _uv_pins(proc.stdout)


def test_pip_26_through_proxy_uses_json_and_resolves_the_snapshot(
    live_proxy: SnapproxyServer, tmp_path: Path
) -> None:
    report = tmp_path / "report.json"
    out = _ok(
        run_pip(
            pip_venv(PIP_NEW), "install", "--dry-run", "--ignore-installed", "--report",
            str(report), "--index-url", live_proxy.index_url, "-vv", "requests",
        )
    )
    assert _pip_report_pins(report) == EXPECTED
    # pip logs the media type of every index page it parsed: PEP 691 JSON, from the proxy.
    for name, _ in EXPECTED:
        page = f"{live_proxy.index_url}{name}/"
        assert f"Fetched page {page} as application/vnd.pypi.simple.v1+json" in out
    # The files pip chose are the proxy's (cached, verified, date-checked), not PyPI's.
    for url in _pip_report_urls(report):
        assert url.startswith(f"{live_proxy.base}/files/"), url


def test_pip_22_through_proxy_uses_html_and_downloads_the_snapshot(
    live_proxy: SnapproxyServer, tmp_path: Path
) -> None:
    # pip 22.0.4 has neither --dry-run nor --report; it accepts only text/html index pages
    # (anything else is skipped with a warning), so a resolution here is the HTML route's.
    dest = tmp_path / "downloads"
    out = _ok(
        run_pip(
            pip_venv(PIP_OLD), "download", "-d", str(dest), "--index-url",
            live_proxy.index_url, "requests",
        )
    )
    pins = set()
    for path in dest.iterdir():
        if path.name.endswith(".whl"):
            name, version, _, _ = parse_wheel_filename(path.name)
        else:
            name, version = parse_sdist_filename(path.name)
        pins.add((str(name), str(version)))
    assert pins == EXPECTED, out


def test_uv_compile_through_proxy_resolves_the_snapshot(
    live_proxy: SnapproxyServer, tmp_path: Path
) -> None:
    assert _uv_compile(tmp_path, "--index-url", live_proxy.index_url) == EXPECTED


def test_pip_26_uploaded_prior_to_without_proxy_agrees(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    _ok(
        run_pip(
            pip_venv(PIP_NEW), "install", "--dry-run", "--ignore-installed", "--report",
            str(report), "--index-url", PYPI_SIMPLE, "--uploaded-prior-to",
            PIP_STYLE_CUTOFF, "requests",
        )
    )
    assert _pip_report_pins(report) == EXPECTED


def test_uv_exclude_newer_without_proxy_agrees(tmp_path: Path) -> None:
    pins = _uv_compile(tmp_path, "--index-url", PYPI_SIMPLE, "--exclude-newer", PIP_STYLE_CUTOFF)
    assert pins == EXPECTED
