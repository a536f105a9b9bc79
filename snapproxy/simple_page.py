"""The snapshot of one PEP 691 project page, as small composable transformations.

Each function takes a page (the JSON form of PEP 691, as upstream sent it or as an
earlier step left it) and returns a new page; none mutates its input or does I/O.
:func:`snapshot_page` composes them in the order the proxy needs.
"""

from __future__ import annotations

from collections.abc import Callable, Container, Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from itertools import compress
from operator import is_not
from typing import Any
from urllib.parse import urljoin

from packaging.version import Version

from snapproxy.cutoff import (
    format_cutoff,
    instant_text,
    is_visible,
    parse_upload_time,
    upload_instant,
    visible_count,
)
from snapproxy.filenames import VersionKey, version_key, version_text
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
    "visible_key",
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
    """No file of the project survives the cutoff: it did not exist yet.

    Upstream has the project, so the message says so and, to tell it from a misspelt
    name, when its first file came: ``uploaded`` are its files' upload instants
    (:func:`~snapproxy.cutoff.instant_text`, ``None`` for an undated file), as
    :class:`PageFacts` holds them.
    """

    def __init__(
        self,
        project: str,
        cutoff: datetime | None = None,
        uploaded: Iterable[str | None] = (),
        undated_option: str = "--allow-undated",
    ):
        times = list(uploaded)
        dated = [t for t in times if t is not None]
        self.project = project
        self.first_upload = min(dated, default=None)
        before = "" if cutoff is None else f" before {format_cutoff(cutoff)}"
        if self.first_upload is not None:
            first = parse_upload_time(self.first_upload)
            shown = self.first_upload if first is None else format_cutoff(first)
            why = f"(first file: {shown}); a later cutoff shows it"
        elif times:
            # Every file is undated (and undated files are hidden): none can be placed.
            why = f"(none of its files has an upload time; {undated_option} shows them)"
        else:
            why = "(it has no files at all)"
        super().__init__(f"project {project!r} exists but had no file{before} {why}")


def _with_files(page: JSON, files: Iterable[JSON]) -> JSON:
    return {**page, "files": list(files)}


# urljoin is the slow part of a large page; absolute URLs (PyPI's) need none.
_ABSOLUTE = ("https://", "http://")


def _absolute_url(page_url: str) -> FileStep:
    def step(f: JSON) -> JSON:
        url = f["url"]
        if url.startswith(_ABSOLUTE):
            return f
        return {**f, "url": urljoin(page_url, url)}

    return step


def absolutize_urls(page: JSON, page_url: str) -> JSON:
    """Resolve relative file URLs (allowed by PEP 503) against the page's own URL."""
    return _with_files(page, map(_absolute_url(page_url), page.get("files") or []))


@dataclass(frozen=True)
class PageFacts:
    """What filtering reads of a page's files, worked out once per upstream copy.

    Reading upload times and versions is most of the cost of a snapshot; a page served
    under many cutoffs (or formats) then only compares.  Both are kept in forms that
    compare without parsing: upload times as :func:`~snapproxy.cutoff.instant_text`,
    versions as :func:`~snapproxy.filenames.version_key`.
    """

    uploaded: tuple[str | None, ...]  # of page["files"], in order; None: undated
    ordered: tuple[str, ...]  # the dated ones of ``uploaded``, ascending
    versions: tuple[VersionKey | None, ...]  # read from each file's name; None: unreadable
    listed: tuple[VersionKey | None, ...]  # of page["versions"], in order; None: invalid
    cost: int  # bytes it takes beyond the page, roughly


# Rough sizes for PageFacts.cost: a tuple slot, a short str, a Version (with its parts).
_SLOT, _TEXT, _VERSION = 8, 80, 400


def _facts_cost(
    times: list[object],
    uploaded: tuple[str | None, ...],
    listed: list[object],
    keys: Iterable[VersionKey | None],
) -> int:
    """Bytes the facts hold beyond the page: their tuples, the upload times rewritten as
    instant texts, and the version keys that are not the page's own ``versions`` strings."""
    rewritten = sum(map(is_not, uploaded, times))  # an undated time counts too: rough
    own = set(map(id, listed))
    made = {id(k): k for k in keys if k is not None and id(k) not in own}
    held = sum(_VERSION if isinstance(k, Version) else _TEXT for k in made.values())
    return _SLOT * (3 * len(times) + len(listed)) + _TEXT * rewritten + held


def page_facts(page: JSON) -> PageFacts:
    """Each file's upload instant (PEP 700 ``upload-time``) and version key (read from its
    name, PEP 427/625), and the key of each listed version (PEP 700 ``versions``).

    A version text is keyed once however many files and entries spell it.
    """
    files = page.get("files") or []
    listed = page.get("versions")
    entries: list[object] = listed if isinstance(listed, list) else []
    listed_texts = [str(v) for v in entries]  # a str entry is its own text, not a copy
    file_texts = [version_text(f["filename"]) for f in files]
    # Listed texts first, so that a key which is its own text is the page's string.
    distinct = dict.fromkeys([*listed_texts, *file_texts])
    keys = {t: version_key(t) for t in distinct if t is not None}
    times = [f.get("upload-time") for f in files]
    uploaded = tuple(map(upload_instant, times))
    return PageFacts(
        uploaded,
        tuple(sorted(t for t in uploaded if t is not None)),
        tuple(None if t is None else keys[t] for t in file_texts),
        tuple(keys[t] for t in listed_texts),
        _facts_cost(times, uploaded, entries, keys.values()),
    )


def _cutoff_text(snapshot: Snapshot) -> str | None:
    return None if snapshot.cutoff is None else instant_text(snapshot.cutoff)


def visible_key(facts: PageFacts, snapshot: Snapshot) -> tuple[int, int]:
    """How many dated and undated files of the page ``snapshot`` shows.

    The dated ones it shows are always the earliest (cutoff.visible_count), so these two
    numbers say exactly which files it shows: two snapshots with the same key render the
    same page, whatever their instants.  ``(0, 0)``: none at all.
    """
    cutoff = _cutoff_text(snapshot)
    undated = len(facts.uploaded) - len(facts.ordered)
    shows_undated = is_visible(None, cutoff, allow_undated=snapshot.allow_undated)
    return visible_count(facts.ordered, cutoff), undated if shows_undated else 0


def _visible(page: JSON, snapshot: Snapshot, facts: PageFacts) -> tuple[list[JSON], set[object]]:
    """The files uploaded strictly before the cutoff, and the version keys they keep alive."""
    files = page.get("files") or []
    if len(files) != len(facts.uploaded):
        raise ValueError("facts of another page")
    rule = partial(is_visible, cutoff=_cutoff_text(snapshot), allow_undated=snapshot.allow_undated)
    shown = list(map(rule, facts.uploaded))
    live: set[object] = set(compress(facts.versions, shown))
    live.discard(None)  # an unreadable version keeps nothing alive
    return list(compress(files, shown)), live


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


def _with_live_versions(
    page: JSON, listed: tuple[VersionKey | None, ...], live: set[object]
) -> JSON:
    versions = page.get("versions")
    if not isinstance(versions, list):
        return page
    kept = [v for v, key in zip(versions, listed, strict=True) if key in live]
    return {**page, "versions": kept}


def keep_live_versions(page: JSON) -> JSON:
    """PEP 700 ``versions``: only the upstream versions that still have a visible file.

    A version counts as alive when some file's name reads as it; a file whose version
    cannot be read keeps no version alive.
    """
    facts = page_facts(page)
    live: set[object] = set(facts.versions)
    live.discard(None)
    return _with_live_versions(page, facts.listed, live)


# Older names of ``core-metadata``: PEP 691's JSON key, and the HTML attribute's name that
# some indexes also used in JSON.
_OLD_METADATA_KEYS = ("dist-info-metadata", "data-dist-info-metadata")


def _metadata(f: JSON) -> object:
    """A file's PEP 658 metadata under whichever name it has, the PEP 714 one first."""
    value = f.get("core-metadata")
    for key in _OLD_METADATA_KEYS:
        if value is None:
            value = f.get(key)
    return value


def _set_metadata(out: JSON, value: object) -> JSON:
    """``out`` (a fresh copy) advertising ``value`` under ``core-metadata`` only if any."""
    if value:
        out["core-metadata"] = value
    else:
        out.pop("core-metadata", None)
    return out


def _without(f: JSON, keys: Container[str]) -> JSON:
    return {k: v for k, v in f.items() if k not in keys}


def _new_metadata_key(f: JSON) -> JSON:
    return _set_metadata(_without(f, _OLD_METADATA_KEYS), _metadata(f))


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
    return _without(f, _UNSERVED_FILE_KEYS)


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
        raise ProjectNotAtCutoff(page.get("name", "?"), snapshot.cutoff, facts.uploaded)
    each = _served_file(page_url, snapshot.yanked == "ignore", url_for)
    out = _with_live_versions(_capped_page(page, ()), facts.listed, live)
    out["files"] = map(each, files)  # keeps the key's place in the page
    return out


# What a served file entry leaves out: the old names of core-metadata (PEP 714) and the
# data of API versions the proxy does not honour.
_NOT_SERVED = frozenset((*_OLD_METADATA_KEYS, *_UNSERVED_FILE_KEYS))


def _served_file(page_url: str, unyank: bool, url_for: Callable[[JSON], str] | None) -> FileStep:
    """The file steps of a snapshot in one copy of the entry, in the order of the page
    functions above: :func:`absolutize_urls`, :func:`apply_yanked_policy` (``unyank``),
    :func:`normalise_core_metadata`, :func:`rewrite_file_urls` (``url_for``) and the
    file part of :func:`cap_meta`.
    """

    def step(f: JSON) -> JSON:
        # A plain copy (one C call) where nothing is left out: most entries.
        out = f.copy() if _NOT_SERVED.isdisjoint(f) else _without(f, _NOT_SERVED)
        url = f["url"]
        if not url.startswith(_ABSOLUTE):
            out["url"] = urljoin(page_url, url)
        if unyank:
            out["yanked"] = False
        _set_metadata(out, _metadata(f))
        if url_for is not None:
            out["url"] = url_for(out)
        return out

    return step


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
