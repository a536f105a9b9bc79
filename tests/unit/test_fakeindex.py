"""The fake PyPI and the distributions it serves must be right before anything is tested on them."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import subprocess
import tarfile
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from tests.support import clients
from tests.support.clients import base_python, clean_client_env, run_pip
from tests.support.distributions import Dist, make_sdist, make_wheel
from tests.support.fakeindex import SIMPLE_JSON, FakeFile, FakeIndex

T1 = "2021-03-01T10:00:00.123456Z"
T2 = "2022-06-15T08:30:00.000001Z"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


# No proxies (the fake is local) and no redirects (tests look at the 301 itself).
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect)


def get(url: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    try:
        with _OPENER.open(urllib.request.Request(url, headers=headers), timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def get_json(url: str) -> dict[str, object]:
    status, _, body = get(url)
    assert status == 200, (url, status, body)
    result: dict[str, object] = json.loads(body)
    return result


# ---- distributions ----------------------------------------------------------------------


def test_wheel_is_valid_and_reproducible() -> None:
    wheel = make_wheel("Foo.Bar-baz", "1.0", requires=["dep>=1"], requires_python=">=3.8")
    assert wheel.filename == "foo_bar_baz-1.0-py3-none-any.whl"
    assert (
        wheel.content
        == make_wheel("Foo.Bar-baz", "1.0", requires=["dep>=1"], requires_python=">=3.8").content
    )

    with zipfile.ZipFile(io.BytesIO(wheel.content)) as archive:
        info = "foo_bar_baz-1.0.dist-info"
        assert archive.read("foo_bar_baz/__init__.py") == b'__version__ = "1.0"\n'
        metadata = archive.read(f"{info}/METADATA").decode()
        assert archive.read(f"{info}/METADATA") == wheel.metadata
        assert "Tag: py3-none-any" in archive.read(f"{info}/WHEEL").decode()
        record = archive.read(f"{info}/RECORD").decode().splitlines()
        for line in record:
            path, digest, size = line.rsplit(",", 2)
            if path.endswith("RECORD"):
                continue
            data = archive.read(path)
            expected = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
            assert (digest, int(size)) == (f"sha256={expected.decode()}", len(data))
    assert "Name: Foo.Bar-baz" in metadata
    assert "Requires-Dist: dep>=1" in metadata
    assert "Requires-Python: >=3.8" in metadata
    assert wheel.sha256 == hashlib.sha256(wheel.content).hexdigest()
    assert wheel.metadata is not None
    assert wheel.metadata_sha256 == hashlib.sha256(wheel.metadata).hexdigest()


def test_compressed_tag_set_and_platform_wheel() -> None:
    wheel = make_wheel("x", "2", tag="cp311-cp311-manylinux_2_17_x86_64")
    assert wheel.filename == "x-2-cp311-cp311-manylinux_2_17_x86_64.whl"
    assert wheel.python_version == "cp311"
    with zipfile.ZipFile(io.BytesIO(wheel.content)) as archive:
        assert "Root-Is-Purelib: false" in archive.read("x-2.dist-info/WHEEL").decode()
    both = make_wheel("x", "2", tag="py2.py3-none-any")
    with zipfile.ZipFile(io.BytesIO(both.content)) as archive:
        text = archive.read("x-2.dist-info/WHEEL").decode()
    assert "Tag: py2-none-any" in text and "Tag: py3-none-any" in text


def test_sdist_is_reproducible() -> None:
    sdist = make_sdist("Foo.Bar", "1.0")
    assert sdist.filename == "foo_bar-1.0.tar.gz"
    assert sdist.content == make_sdist("Foo.Bar", "1.0").content
    assert sdist.metadata is None and sdist.metadata_sha256 is None
    assert (sdist.packagetype, sdist.python_version) == ("sdist", "source")
    with tarfile.open(fileobj=io.BytesIO(sdist.content)) as archive:
        names = archive.getnames()
        pkg_info = archive.extractfile("foo_bar-1.0/PKG-INFO")
        assert pkg_info is not None and b"Name: Foo.Bar" in pkg_info.read()
    assert "foo_bar-1.0/pyproject.toml" in names


# ---- real pip against the distributions and the fake --------------------------------------


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv from the default interpreter with its bundled pip: no network needed."""
    path = tmp_path_factory.mktemp("venv") / "v"
    subprocess.run([base_python(), "-m", "venv", str(path)], check=True, env=clean_client_env())
    return path


def installed_versions(venv: Path, *modules: str) -> list[str]:
    code = "; ".join(f"import {m}; print({m}.__version__)" for m in modules)
    out = subprocess.run(
        [str(venv / "bin" / "python"), "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env=clean_client_env(),
    )
    return out.stdout.split()


def write(directory: Path, *dists: Dist) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for dist in dists:
        (directory / dist.filename).write_bytes(dist.content)
    return directory


def test_wheels_install_offline_with_real_pip(venv: Path, tmp_path: Path) -> None:
    links = write(
        tmp_path / "links",
        make_wheel("app-one", "1.0", requires=["lib.two>=2"]),
        make_wheel("lib.two", "2.1"),
    )
    proc = run_pip(
        venv,
        "install",
        "--no-index",
        "--find-links",
        str(links),
        "--target",
        str(tmp_path / "t1"),
        "app-one",
    )
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in (tmp_path / "t1").glob("*.dist-info")) == [
        "app_one-1.0.dist-info",
        "lib_two-2.1.dist-info",
    ]


def test_pip_resolves_through_the_fake(venv: Path, tmp_path: Path) -> None:
    fake = FakeIndex()
    fake.add(
        "App-One",
        FakeFile(make_wheel("App-One", "1.0", requires=["lib.two"]), T1),
        FakeFile(make_wheel("App-One", "2.0"), T2, yanked="broken"),
    )
    fake.add(
        "lib.two",
        FakeFile(make_sdist("lib.two", "2.1"), T1),
        FakeFile(make_wheel("lib.two", "2.1"), T1, on_files_host=False),
    )
    with fake.running():
        proc = run_pip(
            venv,
            "install",
            "--index-url",
            fake.simple_url,
            "--only-binary",
            ":all:",
            "--target",
            str(tmp_path / "t"),
            "app-one",
        )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert sorted(p.name for p in (tmp_path / "t").glob("*.dist-info")) == [
        "app_one-1.0.dist-info",  # 2.0 is yanked
        "lib_two-2.1.dist-info",
    ]
    assert fake.hits["/simple/app-one/"] == 1
    assert "/simple/pip/" not in fake.hits  # no self-version check against the index
    assert any(path.startswith("/ext-files/") for path in fake.hits)
    assert any(path.startswith("/packages/") for path in fake.hits)
    assert any("pypi.simple.v1+json" in r.headers.get("Accept", "") for r in fake.requests)


def test_pip_rejects_a_corrupt_file(venv: Path, tmp_path: Path) -> None:
    fake = FakeIndex()
    fake.add("bad", FakeFile(make_wheel("bad", "1.0"), T1, corrupt=True))
    with fake.running():
        proc = run_pip(
            venv, "install", "--index-url", fake.simple_url, "--target", str(tmp_path), "bad"
        )
    assert proc.returncode != 0
    assert "HASH" in proc.stderr.upper()


# ---- the simple API ---------------------------------------------------------------------


@pytest.fixture
def fake() -> Iterator[FakeIndex]:
    index = FakeIndex()
    index.add(
        "Demo.Pkg",
        FakeFile(make_wheel("Demo.Pkg", "1.0", requires_python=">=3.8"), T1),
        FakeFile(make_sdist("Demo.Pkg", "1.0"), None),
        FakeFile(make_wheel("Demo.Pkg", "2.0b1"), T2, serve_metadata=False),
        FakeFile(make_wheel("Demo.Pkg", "1.5"), T2, yanked="bad build"),
        versions=["0.1"],
    )
    with index.running():
        yield index


def test_simple_page_is_shaped_like_pypi(fake: FakeIndex) -> None:
    status, headers, body = get(f"{fake.simple_url}demo-pkg/", Accept=SIMPLE_JSON)
    assert status == 200
    assert headers["Content-Type"] == SIMPLE_JSON
    page = json.loads(body)
    assert page["meta"] == {"api-version": "1.4", "_last-serial": page["meta"]["_last-serial"]}
    assert page["name"] == "demo-pkg"
    assert page["versions"] == ["0.1", "1.0", "1.5", "2.0b1"]
    assert page["project-status"] == {"status": "active"}
    wheel, sdist, pre, yanked = page["files"]
    dist = make_wheel("Demo.Pkg", "1.0", requires_python=">=3.8")
    assert wheel == {
        "filename": "demo_pkg-1.0-py3-none-any.whl",
        "url": f"{fake.files_origin}/packages/{dist.sha256[:2]}/{dist.sha256[2:4]}/"
        "demo_pkg-1.0-py3-none-any.whl",
        "hashes": {"sha256": dist.sha256},
        "requires-python": ">=3.8",
        "yanked": False,
        "upload-time": T1,
        "size": len(dist.content),
        "core-metadata": {"sha256": dist.metadata_sha256},
        "data-dist-info-metadata": {"sha256": dist.metadata_sha256},
        "provenance": None,
    }
    assert "upload-time" not in sdist
    assert sdist["core-metadata"] is False and sdist["requires-python"] is None
    assert pre["core-metadata"] is False and pre["data-dist-info-metadata"] is False
    assert yanked["yanked"] == "bad build"


def test_simple_project_list_redirects_and_404(fake: FakeIndex) -> None:
    listing = get_json(fake.simple_url)
    assert listing["projects"] == [{"name": "Demo.Pkg", "_last-serial": 1001}]
    status, headers, _ = get(f"{fake.simple_url}Demo.Pkg/")
    assert (status, headers["Location"]) == (301, "/simple/demo-pkg/")
    status, headers, _ = get(f"{fake.simple_url}demo-pkg")
    assert (status, headers["Location"]) == (301, "/simple/demo-pkg/")
    assert get(f"{fake.simple_url}nope/")[0] == 404


def test_etag_revalidation(fake: FakeIndex) -> None:
    status, headers, _ = get(f"{fake.simple_url}demo-pkg/")
    assert status == 200
    assert get(f"{fake.simple_url}demo-pkg/", **{"If-None-Match": headers["ETag"]})[0] == 304


# ---- the legacy JSON API ----------------------------------------------------------------


def test_legacy_project_json(fake: FakeIndex) -> None:
    doc = get_json(f"{fake.index_origin}/pypi/Demo.Pkg/json")
    info = doc["info"]
    assert isinstance(info, dict)
    # 2.0b1 is a prerelease and 1.5 is yanked: PyPI shows 1.0.
    assert (info["name"], info["version"], info["requires_python"]) == ("Demo.Pkg", "1.0", ">=3.8")
    assert info["yanked"] is False and info["yanked_reason"] is None
    releases = doc["releases"]
    assert isinstance(releases, dict)
    assert list(releases) == ["0.1", "1.0", "1.5", "2.0b1"]
    assert releases["0.1"] == []
    wheel, sdist = releases["1.0"]
    assert set(wheel) >= {
        "filename",
        "url",
        "digests",
        "packagetype",
        "python_version",
        "requires_python",
        "size",
        "upload_time",
        "upload_time_iso_8601",
        "yanked",
        "yanked_reason",
    }
    assert wheel["upload_time"] == "2021-03-01T10:00:00"
    assert wheel["upload_time_iso_8601"] == T1
    assert set(wheel["digests"]) == {"md5", "sha256", "blake2b_256"}
    assert (wheel["packagetype"], sdist["packagetype"]) == ("bdist_wheel", "sdist")
    assert sdist["upload_time"] is None and sdist["upload_time_iso_8601"] is None
    assert releases["1.5"][0]["yanked"] is True
    assert releases["1.5"][0]["yanked_reason"] == "bad build"
    assert doc["urls"] == releases["1.0"]
    assert doc["vulnerabilities"] == []
    assert "last_serial" in doc


def test_legacy_version_json(fake: FakeIndex) -> None:
    doc = get_json(f"{fake.index_origin}/pypi/demo-pkg/1.5/json")
    assert "releases" not in doc
    info = doc["info"]
    assert isinstance(info, dict)
    assert (info["version"], info["yanked"], info["yanked_reason"]) == ("1.5", True, "bad build")
    assert get(f"{fake.index_origin}/pypi/demo-pkg/9.9/json")[0] == 404
    assert get(f"{fake.index_origin}/pypi/nope/json")[0] == 404


# ---- files --------------------------------------------------------------------------------


def test_files_metadata_and_corruption() -> None:
    good = FakeFile(make_wheel("f", "1"), T1)
    bad = FakeFile(make_wheel("f", "2"), T1, corrupt=True)
    outside = FakeFile(make_wheel("f", "3"), T1, on_files_host=False)
    index = FakeIndex()
    index.add("f", good, bad, outside)
    with index.running():
        status, _, body = get(index.file_url(good))
        assert (status, body) == (200, good.dist.content)
        assert get(index.file_url(good) + ".metadata")[2] == good.dist.metadata
        body = get(index.file_url(bad))[2]
        assert len(body) == len(bad.dist.content)
        assert hashlib.sha256(body).hexdigest() != bad.dist.sha256
        assert index.file_url(outside).startswith(f"{index.index_origin}/ext-files/")
        assert get(index.file_url(outside))[2] == outside.dist.content
        # Each file is served from its own origin only, and only under its hash path.
        assert get(f"{index.files_origin}/packages/{outside.path}")[0] == 404
        assert get(f"{index.files_origin}/packages/00/00/{good.dist.filename}")[0] == 404


# ---- faults and accounting ----------------------------------------------------------------


def test_fail_then_recover_and_counters(fake: FakeIndex) -> None:
    url = f"{fake.simple_url}demo-pkg/"
    fake.fail("/simple/demo-pkg/", status=503, times=2)
    assert [get(url)[0] for _ in range(3)] == [503, 503, 200]
    get(f"{fake.index_origin}/pypi/demo-pkg/json")
    assert fake.hits["/simple/demo-pkg/"] == 3
    assert fake.hits["/pypi/demo-pkg/json"] == 1
    assert fake.total_hits() == 4


def test_malformed_and_delay(fake: FakeIndex) -> None:
    fake.malformed("/pypi/demo-pkg/json", times=1)
    status, _, body = get(f"{fake.index_origin}/pypi/demo-pkg/json")
    assert status == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(body)
    assert get_json(f"{fake.index_origin}/pypi/demo-pkg/json")["info"]

    fake.delay("/simple/demo-pkg/", 0.3)
    start = time.monotonic()
    assert get(f"{fake.simple_url}demo-pkg/")[0] == 200
    assert time.monotonic() - start >= 0.3


async def test_running_on_the_current_loop() -> None:
    index = FakeIndex()
    index.add("a", FakeFile(make_wheel("a", "1"), T1))
    async with index.running_async() as (origin, files), aiohttp.ClientSession() as session:
        async with session.get(f"{origin}/simple/a/") as response:
            page = await response.json(content_type=SIMPLE_JSON)
        assert page["files"][0]["url"].startswith(f"{files}/packages/")
        async with session.get(page["files"][0]["url"]) as response:
            assert await response.read() == make_wheel("a", "1").content


# ---- client isolation -------------------------------------------------------------------


def test_clean_client_env_drops_machine_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIP_INDEX_URL", "http://elsewhere.invalid/simple/")
    monkeypatch.setenv("UV_INDEX_URL", "http://elsewhere.invalid/simple/")
    monkeypatch.setenv("VIRTUAL_ENV", "/somewhere")
    env = clean_client_env(UV_CACHE_DIR="/tmp/c")
    assert not {"PIP_INDEX_URL", "UV_INDEX_URL", "VIRTUAL_ENV"} & set(env)
    assert env["PIP_CONFIG_FILE"] == "/dev/null" and env["UV_NO_CONFIG"] == "1"
    assert env["UV_CACHE_DIR"] == "/tmp/c"
    assert "127.0.0.1" in env["NO_PROXY"]


def test_require_network_skips_or_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(clients, "network_available", lambda: False)
    monkeypatch.delenv("SNAPPROXY_REQUIRE_NETWORK", raising=False)
    with pytest.raises(pytest.skip.Exception):
        clients.require_network("offline")
    monkeypatch.setenv("SNAPPROXY_REQUIRE_NETWORK", "1")
    with pytest.raises(pytest.fail.Exception):
        clients.require_network("offline")
