"""The snapshot of one PEP 691 project page, as small composable transformations.

Each function takes a page (the JSON form of PEP 691, as upstream sent it or as an
earlier step left it) and returns a new page; none mutates its input or does I/O.
:func:`snapshot_page` composes them in the order the proxy needs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urljoin

from packaging.version import InvalidVersion, Version

from snapproxy.cutoff import is_visible, parse_upload_time
from snapproxy.filenames import version_of
from snapproxy.snapshot import JSON, Snapshot, YankedPolicy

__all__ = [
    "HONOURED_API_VERSION",
    "PageFacts",
    "ProjectNotAtCutoff",
    "absolutize_urls",
    "apply_yanked_policy",
    "cap_meta",
    "capped_meta",
    "drop_invisible_files",
    "find_file",
    "keep_live_versions",
    "normalise_core_metadata",
    "page_facts",
    "rewrite_file_urls",
    "snapshot_page",
    "snapshot_stream",
]

# PEP 700 (1.1: versions, size, upload-time) is the newest part of the simple API this
# proxy honours.  PEP 708 (1.2) and PEP 740 (1.3) data are dropped: the proxy does not
# serve them, so it must not claim to.
HONOURED_API_VERSION = "1.1"

# Keys of a file entry that point at data the proxy does not serve.
_UNSERVED_FILE_KEYS = ("provenance", "alternate-locations")
_UNSERVED_PAGE_KEYS = ("alternate-locations", "tracks")


FileStep = Callable[[JSON], JSON]


class ProjectNotAtCutoff(LookupError):
    """No file of the project survives the cutoff: it did not exist yet."""


def _with_files(page: JSON, files: Iterable[JSON]) -> JSON:
    return {**page, "files": list(files)}


def _absolute_url(page_url: str) -> FileStep:
    def step(f: JSON) -> JSON:
        url = f["url"]
        # urljoin is the slow part of a large page; absolute URLs (PyPI's) need none.
        if url.startswith(("https://", "http://")):
            return f
        return {**f, "url": urljoin(page_url, url)}

    return step


def absolutize_urls(page: JSON, page_url: str) -> JSON:
    """Resolve relative file URLs (allowed by PEP 503) against the page's own URL."""
    return _with_files(page, map(_absolute_url(page_url), page.get("files") or []))


@dataclass(frozen=True)
class PageFacts:
    """What filtering reads of a page's files, worked out once per upstream copy.

    Parsing upload times and versions is most of the cost of a snapshot; a page served
    under many cutoffs (or formats) then only compares.
    """

    upload_times: tuple[datetime | None, ...]  # of page["files"], in order
    versions: tuple[Version | None, ...]  # read from each file's name
    listed: tuple[Version | None, ...]  # of page["versions"], in order

    @property
    def cost(self) -> int:
        """Bytes it takes, roughly (a datetime and a Version per file)."""
        return 300 * (len(self.upload_times) + len(self.listed))


def _parsed_version(text: object) -> Version | None:
    try:
        return Version(str(text))
    except InvalidVersion:
        return None  # no file's version reads as an invalid version


def page_facts(page: JSON) -> PageFacts:
    files = page.get("files") or []
    listed = page.get("versions")
    return PageFacts(
        tuple(parse_upload_time(f.get("upload-time")) for f in files),
        tuple(version_of(f["filename"]) for f in files),
        tuple(_parsed_version(v) for v in listed) if isinstance(listed, list) else (),
    )


def _visible(page: JSON, snapshot: Snapshot, facts: PageFacts) -> tuple[list[JSON], set[Version]]:
    """The files uploaded strictly before the cutoff, and the versions they keep alive."""
    files: list[JSON] = []
    live: set[Version] = set()
    times, versions = facts.upload_times, facts.versions
    for f, uploaded, version in zip(page.get("files") or [], times, versions, strict=True):
        if is_visible(uploaded, snapshot.cutoff, allow_undated=snapshot.allow_undated):
            files.append(f)
            if version is not None:
                live.add(version)
    return files, live


def drop_invisible_files(page: JSON, snapshot: Snapshot) -> JSON:
    """Keep only the files uploaded strictly before the cutoff (PEP 700 ``upload-time``)."""
    return _with_files(page, _visible(page, snapshot, page_facts(page))[0])


def _unyanked(f: JSON) -> JSON:
    return {**f, "yanked": False}


def apply_yanked_policy(page: JSON, policy: YankedPolicy) -> JSON:
    """PEP 592 yank marks: passed through (``keep``) or cleared (``ignore``)."""
    if policy == "keep":
        return page
    return _with_files(page, map(_unyanked, page["files"]))


def _with_live_versions(page: JSON, listed: tuple[Version | None, ...], live: set[Version]) -> JSON:
    versions = page.get("versions")
    if not isinstance(versions, list):
        return page
    kept = [v for v, parsed in zip(versions, listed, strict=True) if parsed in live]
    return {**page, "versions": kept}


def keep_live_versions(page: JSON) -> JSON:
    """PEP 700 ``versions``: only the upstream versions that still have a visible file.

    A version counts as alive when some file's name reads as it; a file whose version
    cannot be read keeps no version alive.
    """
    facts = page_facts(page)
    live = {v for v in facts.versions if v is not None}
    return _with_live_versions(page, facts.listed, live)


# Older names of ``core-metadata``: PEP 691's JSON key, and the HTML attribute's name that
# some indexes also used in JSON.
_OLD_METADATA_KEYS = ("dist-info-metadata", "data-dist-info-metadata")


def _new_metadata_key(f: JSON) -> JSON:
    out = {k: v for k, v in f.items() if k not in _OLD_METADATA_KEYS}
    value = f.get("core-metadata")
    for key in _OLD_METADATA_KEYS:
        if value is None:
            value = f.get(key)
    if value:
        out["core-metadata"] = value
    else:
        out.pop("core-metadata", None)
    return out


def normalise_core_metadata(page: JSON) -> JSON:
    """PEP 658/714: advertise metadata under ``core-metadata`` only.

    PEP 714 renamed the key because the old one crashed pip 22.3 to 23.1; the JSON form
    keeps only the new key (HTML renders both attributes).
    """
    return _with_files(page, map(_new_metadata_key, page["files"]))


def _url_from(url_for: Callable[[JSON], str]) -> FileStep:
    return lambda f: {**f, "url": url_for(f)}


def rewrite_file_urls(page: JSON, url_for: Callable[[JSON], str]) -> JSON:
    """Point every file at the URL ``url_for`` gives it (the proxy's own file route)."""
    return _with_files(page, map(_url_from(url_for), page["files"]))


def _api_version_tuple(text: object) -> tuple[int, int]:
    try:
        major, minor = str(text).split(".", 1)
        return int(major), int(minor)
    except ValueError:
        return (1, 0)


def capped_meta(meta: object) -> JSON:
    """PEP 629 ``meta`` of a response: upstream's API version, capped at what the proxy
    honours, and nothing else (``_last-serial`` is upstream's state today, which a
    snapshot must not leak; it would also change the body with every unrelated upload).
    """
    given = meta.get("api-version", "1.0") if isinstance(meta, dict) else "1.0"
    honoured = min(_api_version_tuple(given), _api_version_tuple(HONOURED_API_VERSION))
    return {"api-version": f"{honoured[0]}.{honoured[1]}"}


def _served_keys(f: JSON) -> JSON:
    return {k: v for k, v in f.items() if k not in _UNSERVED_FILE_KEYS}


def _capped_page(page: JSON, files: Iterable[JSON]) -> JSON:
    out = {k: v for k, v in page.items() if k not in _UNSERVED_PAGE_KEYS}
    out["meta"] = capped_meta(page.get("meta"))
    out["files"] = list(files)
    return out


def cap_meta(page: JSON) -> JSON:
    """Cap ``meta`` (:func:`capped_meta`) and drop the data of API versions not honoured."""
    return _capped_page(page, map(_served_keys, page["files"]))


def snapshot_stream(
    page: JSON,
    snapshot: Snapshot,
    *,
    page_url: str,
    url_for: Callable[[JSON], str] | None,
    facts: PageFacts | None = None,
) -> JSON:
    """:func:`snapshot_page`, with ``files`` an iterator made file by file as it is read.

    A renderer that writes each file as it comes never holds the filtered page whole:
    for a page of 100,000 files that is tens of megabytes less at once.  ``facts`` are
    the page's :func:`page_facts`, when the caller keeps them between snapshots.
    """
    facts = facts or page_facts(page)
    files, live = _visible(page, snapshot, facts)
    if not files:
        raise ProjectNotAtCutoff(page.get("name", "?"))
    steps: list[FileStep] = [_absolute_url(page_url)]
    if snapshot.yanked == "ignore":
        steps.append(_unyanked)
    steps.append(_new_metadata_key)
    if url_for is not None:
        steps.append(_url_from(url_for))
    steps.append(_served_keys)

    def each(f: JSON) -> JSON:
        for step in steps:
            f = step(f)
        return f

    out = _with_live_versions(_capped_page(page, ()), facts.listed, live)
    out["files"] = map(each, files)  # keeps the key's place in the page
    return out


def snapshot_page(
    page: JSON,
    snapshot: Snapshot,
    *,
    page_url: str,
    url_for: Callable[[JSON], str] | None,
) -> JSON:
    """The page as it was at the cutoff; ``url_for=None`` keeps upstream file URLs.

    Raises :class:`ProjectNotAtCutoff` when no file survives (the proxy answers 404).
    The same steps as the page functions above, applied file by file in one pass.
    """
    out = snapshot_stream(page, snapshot, page_url=page_url, url_for=url_for)
    out["files"] = list(out["files"])
    return out


def find_file(page: JSON, filename: str) -> JSON | None:
    """The entry for ``filename`` on a page, if it lists it."""
    for f in page.get("files") or []:
        if f.get("filename") == filename:
            result: dict[str, Any] = f
            return result
    return None
