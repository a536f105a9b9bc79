"""Reading pip's installation report (pip's documented format, version "1").

The item shape is copied from what pip 26.3 writes for `pip install --dry-run --report`:
`download_info` (PEP 610 direct URL data: `url` plus `archive_info.hashes`), `is_direct`,
`is_yanked`, `requested`, `metadata` (PEP 566 JSON). Note that pip fills
`archive_info.hashes` for a direct URL archive too (`name @ https://...`): it hashes what
it downloaded.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from fetcher.pip_report import ChosenFile, InvalidReport, parse_report

FILES = "http://127.0.0.1:4321/files/packages"
SHA_A = "dcb684c9d55c203bf62cee9fb2aebf163c0896d9109374316efc4e8c039f4231"
SHA_B = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
SHA_C = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


def item(
    name: str,
    version: str,
    url: str,
    sha256: str,
    *,
    is_direct: bool = False,
    requested: bool = True,
) -> dict[str, Any]:
    return {
        "download_info": {
            "url": url,
            "archive_info": {"hashes": {"sha256": sha256}, "hash": f"sha256={sha256}"},
        },
        "is_direct": is_direct,
        "is_yanked": False,
        "requested": requested,
        "metadata": {"metadata_version": "2.1", "name": name, "version": version},
    }


def report(*items: dict[str, Any]) -> dict[str, Any]:
    return {
        "version": "1",
        "pip_version": "26.3",
        "install": list(items),
        "environment": {
            "implementation_name": "cpython",
            "python_version": "3.11",
            "sys_platform": "linux",
        },
    }


def test_real_pip_26_report_item() -> None:
    url = f"{FILES}/ab/cd/Tiny_Pkg-1.0%2Blocal-py3-none-any.whl"
    chosen = parse_report(report(item("Tiny_Pkg", "1.0+local", url, SHA_A)))
    assert chosen == [
        ChosenFile(
            name="tiny-pkg",
            version="1.0+local",
            filename="Tiny_Pkg-1.0+local-py3-none-any.whl",
            url=url,
            sha256=SHA_A,
        )
    ]
    assert not chosen[0].is_sdist


@pytest.mark.parametrize(
    ("metadata_name", "normal"),
    [
        ("requests", "requests"),
        ("Requests", "requests"),
        ("zope.interface", "zope-interface"),
        ("typing_extensions", "typing-extensions"),
        ("Foo.Bar_baz", "foo-bar-baz"),
        ("foo--bar", "foo-bar"),
    ],
)
def test_names_are_pep503_normalised(metadata_name: str, normal: str) -> None:
    (chosen,) = parse_report(report(item(metadata_name, "1.0", f"{FILES}/x-1.0.tar.gz", SHA_A)))
    assert chosen.name == normal


@pytest.mark.parametrize(
    ("url", "filename", "sdist"),
    [
        (f"{FILES}/ab/requests-2.31.0-py3-none-any.whl", "requests-2.31.0-py3-none-any.whl", False),
        (f"{FILES}/ab/requests-2.31.0.tar.gz", "requests-2.31.0.tar.gz", True),
        (f"{FILES}/ab/Foo-1.0.zip", "Foo-1.0.zip", True),
        (
            f"{FILES}/ab/torch-2.0.0%2Bcpu-cp311-cp311-linux_x86_64.whl",
            "torch-2.0.0+cpu-cp311-cp311-linux_x86_64.whl",
            False,
        ),
        (f"{FILES}/ab/a%20b-1.0.tar.gz", "a b-1.0.tar.gz", True),
        (f"{FILES}/ab/pkg-1.0.tar.gz?token=1", "pkg-1.0.tar.gz", True),
        (f"{FILES}/ab/pkg-1.0.tar.gz#sha256={SHA_A}", "pkg-1.0.tar.gz", True),
        (
            "https://files.pythonhosted.org/packages/a4/0c/x-1.0-py3-none-any.whl",
            "x-1.0-py3-none-any.whl",
            False,
        ),
    ],
)
def test_filename_from_url(url: str, filename: str, sdist: bool) -> None:
    (chosen,) = parse_report(report(item("x", "1.0", url, SHA_A)))
    assert chosen.filename == filename
    assert chosen.url == url
    assert chosen.is_sdist is sdist


def test_sorted_by_name_whatever_pip_wrote() -> None:
    chosen = parse_report(
        report(
            item("urllib3", "2.0.0", f"{FILES}/urllib3-2.0.0-py3-none-any.whl", SHA_A),
            item("Certifi", "2023.5.7", f"{FILES}/certifi-2023.5.7-py3-none-any.whl", SHA_B),
            item("idna", "3.4", f"{FILES}/idna-3.4-py3-none-any.whl", SHA_C, requested=False),
        )
    )
    assert [c.name for c in chosen] == ["certifi", "idna", "urllib3"]


def test_hash_is_lower_cased() -> None:
    (chosen,) = parse_report(report(item("x", "1.0", f"{FILES}/x-1.0.tar.gz", SHA_A.upper())))
    assert chosen.sha256 == SHA_A


def test_empty_install_list() -> None:
    assert parse_report(report()) == []


@pytest.mark.parametrize(
    "mutate",
    [
        pytest.param(lambda r: r.update(version="2"), id="version-2"),
        pytest.param(lambda r: r.pop("version"), id="no-version"),
        pytest.param(lambda r: r.pop("install"), id="no-install"),
        pytest.param(lambda r: r.update(install=None), id="install-null"),
        pytest.param(lambda r: r.update(install={"a": 1}), id="install-object"),
    ],
)
def test_not_a_version_1_report(mutate: Any) -> None:
    value = report(item("x", "1.0", f"{FILES}/x-1.0.tar.gz", SHA_A))
    mutate(value)
    with pytest.raises(InvalidReport):
        parse_report(value)


def _editable_item() -> dict[str, Any]:
    # pip 26.3 for `-e ./src/pkg`
    value = item("pkg", "0.1", "", SHA_A, is_direct=True)
    value["download_info"] = {"url": "file:///src/pkg", "dir_info": {"editable": True}}
    return value


def _local_dir_item() -> dict[str, Any]:
    value = item("pkg", "0.1", "", SHA_A, is_direct=True)
    value["download_info"] = {"url": "file:///src/pkg", "dir_info": {}}
    return value


def _vcs_item() -> dict[str, Any]:
    value = item("pkg", "0.1", "", SHA_A, is_direct=True)
    value["download_info"] = {
        "url": "https://github.com/o/pkg.git",
        "vcs_info": {"vcs": "git", "commit_id": "0" * 40, "requested_revision": "main"},
    }
    return value


def _archive_without_hashes() -> dict[str, Any]:
    value = item("pkg", "0.1", f"{FILES}/pkg-0.1.tar.gz", SHA_A)
    value["download_info"]["archive_info"] = {}
    return value


def _no_sha256() -> dict[str, Any]:
    value = item("pkg", "0.1", f"{FILES}/pkg-0.1.tar.gz", SHA_A)
    value["download_info"]["archive_info"] = {"hashes": {"sha512": "ab" * 64}}
    return value


def _no_metadata() -> dict[str, Any]:
    value = item("pkg", "0.1", f"{FILES}/pkg-0.1.tar.gz", SHA_A)
    del value["metadata"]
    return value


def _metadata_without_name() -> dict[str, Any]:
    value = item("pkg", "0.1", f"{FILES}/pkg-0.1.tar.gz", SHA_A)
    del value["metadata"]["name"]
    return value


def _metadata_without_version() -> dict[str, Any]:
    value = item("pkg", "0.1", f"{FILES}/pkg-0.1.tar.gz", SHA_A)
    del value["metadata"]["version"]
    return value


@pytest.mark.parametrize(
    "bad",
    [
        pytest.param(_editable_item(), id="editable"),
        pytest.param(_local_dir_item(), id="local-directory"),
        pytest.param(_vcs_item(), id="vcs"),
        pytest.param(_archive_without_hashes(), id="archive-without-hashes"),
        pytest.param(_no_sha256(), id="no-sha256"),
        pytest.param(_no_metadata(), id="no-metadata"),
        pytest.param(_metadata_without_name(), id="metadata-without-name"),
        pytest.param(_metadata_without_version(), id="metadata-without-version"),
        pytest.param("not an object", id="string-item"),
    ],
)
def test_items_that_are_not_index_files_are_refused(bad: Any) -> None:
    good = item("ok", "1.0", f"{FILES}/ok-1.0.tar.gz", SHA_B)
    with pytest.raises(InvalidReport):
        parse_report(report(good, copy.deepcopy(bad)))


@pytest.mark.parametrize(
    "url",
    [
        # Exactly what pip 26.3 writes for `tiny-pkg @ file:///.../Tiny_Pkg-1.0%2Blocal-...whl`:
        # `is_direct` true, and archive_info.hashes.sha256 present (pip computed it).
        "file:///tmp/wh/Tiny_Pkg-1.0%2Blocal-py3-none-any.whl",
        "https://example.com/dist/Tiny_Pkg-1.0%2Blocal-py3-none-any.whl",
    ],
)
def test_direct_url_archives_are_refused(url: str) -> None:
    # A `name @ URL` requirement bypasses the snapshot (and the proxy): the fetcher would
    # download it from wherever it points. Only index files may be chosen.
    direct = item("Tiny_Pkg", "1.0+local", url, SHA_A, is_direct=True)
    with pytest.raises(InvalidReport):
        parse_report(report(direct))


def test_chosen_file_is_sdist() -> None:
    for filename, sdist in [
        ("a-1.0-py3-none-any.whl", False),
        ("a-1.0.tar.gz", True),
        ("a-1.0.zip", True),
        ("a-1.0.tar.bz2", True),
    ]:
        assert ChosenFile("a", "1.0", filename, "u", SHA_A).is_sdist is sdist
