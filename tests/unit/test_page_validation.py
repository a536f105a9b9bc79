"""parse_project_page's column-wise check of PyPI-form pages against the entry-by-entry
check it shortcuts (PEP 691 ``files``, ``hashes``; PEP 658/714 ``core-metadata``).

The shortcut may only ever say "certainly valid"; every other page must get the same
answer, and the same message, as the full check.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from snapproxy.documents import _plainly_valid, parse_project_page
from snapproxy.hashes import DIGEST_SIZES, is_hex_digest

HEX = re.compile(r"[0-9a-fA-F]+")
SHA = "0123456789abcdef" * 4


def reference_check(doc: dict[str, Any]) -> None:
    """The checks of parse_project_page, entry by entry, as they were written first."""
    items = doc.get("files")
    if not isinstance(items, list):
        raise ValueError("'files' is not a list")
    for item in items:
        if not isinstance(item, dict) or any(
            not isinstance(item.get(k), str) for k in ("filename", "url")
        ):
            raise ValueError("an entry of 'files' lacks filename or url")
    for f in items:
        hashes = f.get("hashes")
        if not isinstance(hashes, dict):
            raise ValueError(f"file {f['filename']!r} has no 'hashes' object")
        metadata = f.get("core-metadata")
        digests = [*hashes.items(), *(metadata.items() if isinstance(metadata, dict) else ())]
        for name, digest in digests:
            if name in DIGEST_SIZES:
                valid = is_hex_digest(name, digest)
            else:
                valid = isinstance(digest, str) and HEX.fullmatch(digest) is not None
            if not valid:
                raise ValueError(f"file {f['filename']!r} has a {name} hash that is not hex")


def outcome(check: Any, doc: Any) -> str:
    try:
        check(doc)
    except ValueError as exc:
        return f"refused: {exc}"
    return "accepted"


def entry(i: int) -> dict[str, Any]:
    return {
        "filename": f"foo-1.{i}.tar.gz",
        "hashes": {"sha256": SHA},
        "url": f"https://files.example/foo-1.{i}.tar.gz",
        "upload-time": "2021-01-01T00:00:00.000000Z",
        "core-metadata": False,
    }


# Ways one entry can differ from PyPI's form, valid or not.
MUTATIONS: list[tuple[str, Any]] = [
    ("hashes", {}),
    ("hashes", {"sha256": SHA.upper()}),
    ("hashes", {"sha256": SHA[:-1]}),
    ("hashes", {"sha256": SHA + "0"}),
    ("hashes", {"sha256": SHA[:-1] + "g"}),
    ("hashes", {"sha256": SHA[:-1] + "\n"}),
    ("hashes", {"sha256": SHA[:-1] + "٣"}),  # a non-ASCII digit
    ("hashes", {"sha256": 5}),
    ("hashes", {"sha256": None}),
    ("hashes", {"sha256": ""}),
    ("hashes", {"md5": "0" * 32}),
    ("hashes", {"sha256": SHA, "md5": "0" * 32}),
    ("hashes", {"sha256": SHA, "md5": "0" * 31}),
    ("hashes", {"blake2b": "abc"}),
    ("hashes", {"blake2b": "xyz"}),
    ("hashes", {"blake2b": ""}),
    ("hashes", None),
    ("hashes", [SHA]),
    ("hashes", SHA),
    ("core-metadata", {"sha256": SHA}),
    ("core-metadata", {"sha256": SHA[:-1] + "z"}),
    ("core-metadata", {"sha256": SHA[:10]}),
    ("core-metadata", {"md5": "0" * 32}),
    ("core-metadata", {}),
    ("core-metadata", True),
    ("core-metadata", "yes"),
    ("data-dist-info-metadata", {"sha256": "not hex"}),  # not checked: renamed later
    ("filename", None),
    ("filename", 5),
    ("url", None),
    ("url", ["https://x"]),
]


def mutated(i: int, mutation: tuple[str, Any] | None, drop: str | None) -> Any:
    f = entry(i)
    if mutation is not None:
        key, value = mutation
        f[key] = value
    if drop is not None:
        f.pop(drop, None)
    return f


@pytest.mark.parametrize(("key", "value"), MUTATIONS)
def test_one_differing_entry_gets_the_full_checks_answer(key: str, value: Any) -> None:
    files = [entry(i) for i in range(5)]
    files[3] = mutated(3, (key, value), None)
    doc = {"meta": {"api-version": "1.1"}, "name": "foo", "files": files}
    want = outcome(reference_check, doc)
    assert outcome(lambda d: parse_project_page(json.dumps(d).encode()), doc) == want
    if _plainly_valid(doc["files"]):
        assert want == "accepted"


@pytest.mark.parametrize("files", [None, {}, "x", [1], [None], [[]], [{"filename": "a"}]])
def test_shapes_that_are_not_a_list_of_entries(files: Any) -> None:
    doc = {"files": files}
    assert not _plainly_valid(files)
    assert outcome(lambda d: parse_project_page(json.dumps(d).encode()), doc) == outcome(
        reference_check, doc
    )


def test_a_page_in_pypi_form_takes_the_shortcut() -> None:
    files = [entry(i) for i in range(300)]
    files[7]["core-metadata"] = {"sha256": SHA}
    assert _plainly_valid(files)


@settings(max_examples=600)
@given(
    st.lists(
        st.tuples(
            st.one_of(st.none(), st.sampled_from(MUTATIONS)),
            st.sampled_from([None, None, None, "hashes", "filename", "url", "core-metadata"]),
        ),
        max_size=8,
    )
)
def test_the_shortcut_never_accepts_what_the_full_check_refuses(
    changes: list[tuple[tuple[str, Any] | None, str | None]],
) -> None:
    doc = {"files": [mutated(i, m, drop) for i, (m, drop) in enumerate(changes)]}
    want = outcome(reference_check, doc)
    if _plainly_valid(doc["files"]):
        assert want == "accepted"
    assert outcome(lambda d: parse_project_page(json.dumps(d).encode()), doc) == want
