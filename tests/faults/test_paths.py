"""Guarantee 5: path tricks never reach the file system or an upstream document other than the
one the route names (issue 8.12).

Each trick is sent byte for byte (a raw socket: no client normalises it first); plain
`./` and `../` that RFC 3986 would resolve to another legitimate route are left out, as
a server may rightly resolve them. The
hostile upstream's request log must then hold only documents of the project the route
names, in their plain shape: no `.`/`..` segment, no encoded slash, and the project
document of a version route only as the documented fallback after the version's own
document was asked for.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote

import pytest

from tests.faults.conftest import Serve
from tests.faults.hostile_upstream import HostileUpstream, Seen, blob_entry
from tests.faults.probes import BEFORE, get

SECRET = b"TOP SECRET: outside the cache directory\n"
ALPHA_10 = blob_entry("alpha", "1.0", b"alpha 1.0\n", BEFORE)
ALPHA_20 = blob_entry("alpha", "2.0", b"alpha 2.0\n", BEFORE)
BETA_10 = blob_entry("beta", "1.0", b"beta 1.0\n", BEFORE)
UP = "..%2F" * 6

# (request path as sent, the version a /pypi/<p>/<v>/json route names, decoded, or None)
TRICKS: list[tuple[str, str | None]] = [
    ("/pypi/alpha/%2e/json", "."),
    ("/pypi/alpha/%2E/json", "."),
    ("/pypi/alpha/../json", ".."),
    ("/pypi/alpha/%2e%2e/json", ".."),
    ("/pypi/alpha/.%2e/json", ".."),
    ("/pypi/alpha/%2e%2e/%2e%2e/beta/json", None),
    ("/pypi/alpha/1.0%2F..%2F..%2Fbeta/json", "1.0/../../beta"),
    ("/pypi/alpha/..%2F..%2Fsimple%2Fbeta/json", "../../simple/beta"),
    ("/pypi/alpha/%2e%2e%2fbeta/json", "../beta"),
    ("/pypi/alpha/1.0%5C..%5C..%5Cbeta/json", "1.0\\..\\..\\beta"),
    ("/pypi/alpha%2F..%2Fbeta/json", None),
    ("/pypi/%2e%2e/json", None),
    ("/pypi/alpha/1.0/%2e%2e/json", None),
    ("/simple/%2e%2e/", None),
    ("/simple/alpha/%2e%2e/", None),
    ("/simple/alpha%2F..%2Fbeta/", None),
    (f"/files/alpha/{UP}secret", None),
    ("/files/alpha/%2e%2e", None),
    ("/files/alpha/..", None),
    (f"/files/alpha/{UP}secret.metadata", None),
    (f"/files/alpha/%2e%2e%2F{ALPHA_10.filename}", None),
    (f"/snapshot/{UP}/simple/alpha/", None),
    ("/snapshot/%2e%2e/simple/alpha/", None),
    ("/snapshot/2023-06-01/pypi/alpha/%2e%2e/json", ".."),
]


def _violations(seen: list[Seen], version: str | None) -> list[str]:
    """Requests in `seen` that are not a document the trick's route names."""
    bad = []
    asked_version = False
    for s in seen:
        if s.origin != "index":
            bad.append(f"{s.origin} host asked {s.target}")
            continue
        raw = s.path.split("/")
        decoded = [unquote(p) for p in raw]
        if any(d in (".", "..") or "/" in d or "\\" in d for d in decoded):
            bad.append(f"dot segment or encoded slash: {s.path}")
            continue
        if decoded == ["", "simple", "alpha", ""]:
            continue  # the project's page: file routes and metadata look-ups need it
        named = version is not None and decoded == ["", "pypi", "alpha", version, "json"]
        if named:
            asked_version = True
            continue
        if decoded == ["", "pypi", "alpha", "json"] and version is not None and asked_version:
            continue  # the fallback for mirrors without per-version documents
        bad.append(f"not the document the route names: {s.path}")
    return bad


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    (tmp_path / "secret").write_bytes(SECRET)
    return tmp_path / "a" / "b" / "cache"


def _listing(root: Path, skip: tuple[Path, ...]) -> set[Path]:
    return {p for p in root.rglob("*") if not any(p.is_relative_to(s) for s in skip)}


def test_path_tricks_reach_only_the_named_document(
    upstream: HostileUpstream, serve: Serve, cache: Path, tmp_path: Path
) -> None:
    upstream.add(ALPHA_10, ALPHA_20, BETA_10)
    proxy = serve(cache_dir=cache)
    # Cached documents are what a trick would otherwise be answered from.
    assert get(proxy.port, "/pypi/alpha/json").status == 200
    assert get(proxy.port, "/simple/beta/").status == 200
    outside = _listing(tmp_path, (cache, tmp_path / "logs"))

    problems = []
    for path, version in TRICKS:
        mark = len(upstream.requests())
        answer = get(proxy.port, path)
        seen = upstream.requests()[mark:]
        if answer.status == 200 or answer.status >= 500:
            problems.append(f"{path}: {answer.status} {answer.body[:120]!r}")
        if SECRET.strip() in answer.body:
            problems.append(f"{path}: served a file outside the cache")
        problems += [f"{path}: {v}" for v in _violations(seen, version)]
    assert not problems, "\n".join(problems)
    assert _listing(tmp_path, (cache, tmp_path / "logs")) == outside, "wrote outside the cache"
    assert (tmp_path / "secret").read_bytes() == SECRET
