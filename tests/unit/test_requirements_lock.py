"""requirements.lock.txt: pip's hash-checking format, sorted, nothing that varies."""

from __future__ import annotations

import pytest

from fetcher.pip_report import ChosenFile
from fetcher.requirements_lock import ConflictingVersions, render_lock

H1 = "1" * 64
H2 = "2" * 64
H3 = "3" * 64
HA = "a" * 64


def chosen(name: str, version: str, filename: str, sha256: str) -> ChosenFile:
    return ChosenFile(name, version, filename, f"http://127.0.0.1/files/{filename}", sha256)


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        pytest.param([], "", id="empty"),
        pytest.param(
            [chosen("requests", "2.31.0", "requests-2.31.0-py3-none-any.whl", H1)],
            f"requests==2.31.0 \\\n    --hash=sha256:{H1}\n",
            id="one",
        ),
        pytest.param(
            [
                chosen("urllib3", "2.0.0", "urllib3-2.0.0-py3-none-any.whl", H3),
                chosen("certifi", "2023.5.7", "certifi-2023.5.7-py3-none-any.whl", H1),
                chosen("idna", "3.4", "idna-3.4-py3-none-any.whl", H2),
            ],
            f"certifi==2023.5.7 \\\n    --hash=sha256:{H1}\n"
            f"idna==3.4 \\\n    --hash=sha256:{H2}\n"
            f"urllib3==2.0.0 \\\n    --hash=sha256:{H3}\n",
            id="sorted-by-name",
        ),
        pytest.param(
            [
                chosen("foo", "1.0", "foo-1.0.tar.gz", HA),
                chosen("foo", "1.0", "foo-1.0-py3-none-any.whl", H3),
                chosen("foo", "1.0", "foo-1.0-cp311-cp311-linux_x86_64.whl", H1),
            ],
            f"foo==1.0 \\\n    --hash=sha256:{H1} \\\n    --hash=sha256:{H3} \\\n"
            f"    --hash=sha256:{HA}\n",
            id="hashes-sorted",
        ),
        pytest.param(
            [
                chosen("foo", "1.0", "foo-1.0.tar.gz", H2),
                chosen("foo", "1.0", "foo-1.0.tar.gz", H2),
            ],
            f"foo==1.0 \\\n    --hash=sha256:{H2}\n",
            id="duplicate-file-once",
        ),
        pytest.param(
            [
                chosen("zope-interface", "6.0", "zope.interface-6.0.tar.gz", H1),
                chosen("a", "0.1", "a-0.1.tar.gz", H2),
                chosen("z", "1", "z-1.tar.gz", H3),
            ],
            f"a==0.1 \\\n    --hash=sha256:{H2}\n"
            f"z==1 \\\n    --hash=sha256:{H3}\n"
            f"zope-interface==6.0 \\\n    --hash=sha256:{H1}\n",
            id="normalised-names",
        ),
        pytest.param(
            [chosen("torch", "2.0.0+cpu", "torch-2.0.0+cpu-cp311-cp311-linux_x86_64.whl", H1)],
            f"torch==2.0.0+cpu \\\n    --hash=sha256:{H1}\n",
            id="local-version",
        ),
    ],
)
def test_render_lock(files: list[ChosenFile], expected: str) -> None:
    assert render_lock(files) == expected


def test_input_order_does_not_matter() -> None:
    files = [
        chosen("b", "1", "b-1.tar.gz", H2),
        chosen("a", "1", "a-1-py3-none-any.whl", H3),
        chosen("a", "1", "a-1.tar.gz", H1),
    ]
    assert render_lock(files) == render_lock(reversed(files)) == render_lock(sorted(files))


def test_lock_is_parseable_line_structure() -> None:
    text = render_lock(
        [chosen("a", "1", "a-1.tar.gz", H1), chosen("a", "1", "a-1-py3-none-any.whl", H2)]
    )
    lines = text.splitlines()
    assert lines[0] == "a==1 \\"
    assert lines[1] == f"    --hash=sha256:{H1} \\"
    assert lines[2] == f"    --hash=sha256:{H2}"
    assert text.endswith("\n") and not text.endswith("\n\n")
    assert "#" not in text  # no comment, date or tool version


@pytest.mark.parametrize(
    "files",
    [
        [chosen("foo", "1.0", "foo-1.0.tar.gz", H1), chosen("foo", "2.0", "foo-2.0.tar.gz", H2)],
        [
            chosen("foo", "1.0", "foo-1.0.tar.gz", H1),
            chosen("bar", "1.0", "bar-1.0.tar.gz", H3),
            chosen("foo", "1.0.1", "foo-1.0.1-py3-none-any.whl", H2),
        ],
    ],
)
def test_conflicting_versions_raise(files: list[ChosenFile]) -> None:
    with pytest.raises(ConflictingVersions, match="foo"):
        render_lock(files)
    assert issubclass(ConflictingVersions, ValueError)
