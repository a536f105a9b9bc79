"""The snapshot of PyPI's legacy JSON API (``/pypi/<project>/json`` and ``.../<version>/json``).

The legacy API is not a PEP, but poetry, pip-tools helpers, renovate and many scripts
read it.  The same cutoff rule as the simple API applies, on ``upload_time_iso_8601``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from packaging.metadata import parse_email
from packaging.version import InvalidVersion, Version

from snapproxy.cutoff import upload_instant
from snapproxy.filenames import version_key
from snapproxy.snapshot import JSON, Snapshot

__all__ = [
    "info_from_metadata",
    "latest_version",
    "snapshot_project",
    "snapshot_version",
    "upload_instants",
    "visible_releases",
]

Releases = dict[str, list[JSON]]


def _apply_yanked(f: JSON, snapshot: Snapshot) -> JSON:
    if snapshot.yanked == "keep":
        return f
    return {**f, "yanked": False, "yanked_reason": None}


def visible_releases(doc: JSON, snapshot: Snapshot) -> Releases:
    """``releases`` with only the files uploaded before the cutoff, and only the versions
    that a visible file keeps alive.

    The rule of the simple API's PEP 700 ``versions`` (simple_page): a version stays when
    a visible file's version is equal to it under PEP 440.  Here a file's version is the
    release it is listed under, so a release with no visible file of its own stays, with
    no files, when an equal one has some (requests lists ``0.12.01`` with no files beside
    ``0.12.1`` with its sdist: ``==0.12.01`` installs that sdist); any other goes.
    """
    shown = {
        version: [
            _apply_yanked(f, snapshot)
            for f in files or []
            if snapshot.shows(f.get("upload_time_iso_8601"))
        ]
        for version, files in (doc.get("releases") or {}).items()
    }
    live = {version_key(version) for version, kept in shown.items() if kept}
    live.discard(None)  # a release whose version cannot be read keeps no other alive
    return {
        version: kept
        for version, kept in shown.items()
        if kept or version_key(version) in live
    }


def upload_instants(doc: JSON) -> list[str | None]:
    """The upload instant (:func:`~snapproxy.cutoff.upload_instant`) of every file of every
    release, ``None`` for an undated one."""
    return [
        upload_instant(f.get("upload_time_iso_8601"))
        for files in (doc.get("releases") or {}).values()
        for f in files or []
    ]


def _rank(version: str, files: list[JSON]) -> tuple[bool, bool, Version]:
    try:
        parsed = Version(version)
    except InvalidVersion:
        parsed = Version("0.dev0")
    yanked = all(f.get("yanked") for f in files)
    return (not yanked, not parsed.is_prerelease, parsed)


def latest_version(releases: Releases) -> str | None:
    """The version PyPI shows as latest: non-yanked, non-prerelease first, then highest.

    Only a release with files of its own can be it (its files are the document's ``urls``).
    """
    with_files = [v for v, files in releases.items() if files]
    if not with_files:
        return None
    return max(with_files, key=lambda v: _rank(v, releases[v]))


def _rewrite(files: list[JSON], url_for: Callable[[JSON], str] | None) -> list[JSON]:
    if url_for is None:
        return files
    return [{**f, "url": url_for(f)} for f in files]


def _version_info(info: JSON, snapshot: Snapshot) -> JSON:
    out = dict(info)
    if snapshot.yanked == "ignore":
        out["yanked"], out["yanked_reason"] = False, None
    return out


def snapshot_project(
    doc: JSON,
    releases: Releases,
    version_info: JSON,
    snapshot: Snapshot,
    url_for: Callable[[JSON], str] | None,
) -> JSON:
    """``/pypi/<project>/json`` at the cutoff.

    ``version_info`` is the ``info`` of the latest version at the cutoff (from the
    per-version document, or :func:`info_from_metadata`).  ``last_serial`` is dropped.
    """
    latest = latest_version(releases)
    assert latest is not None
    out = {k: v for k, v in doc.items() if k != "last_serial"}
    out["info"] = _version_info(version_info, snapshot)
    out["releases"] = {v: _rewrite(files, url_for) for v, files in releases.items()}
    out["urls"] = _rewrite(releases[latest], url_for)
    return out


def snapshot_version(
    doc: JSON,
    files: list[JSON],
    snapshot: Snapshot,
    url_for: Callable[[JSON], str] | None,
) -> JSON:
    """``/pypi/<project>/<version>/json`` at the cutoff, with its visible files only."""
    out = {k: v for k, v in doc.items() if k not in ("last_serial", "releases")}
    out["info"] = _version_info(doc.get("info") or {}, snapshot)
    out["urls"] = _rewrite(files, url_for)
    return out


# Core metadata field -> legacy ``info`` key, for fields with one value.
_SINGLE = {
    "name": "name",
    "summary": "summary",
    "description": "description",
    "description_content_type": "description_content_type",
    "author": "author",
    "author_email": "author_email",
    "maintainer": "maintainer",
    "maintainer_email": "maintainer_email",
    "license": "license",
    "license_expression": "license_expression",
    "home_page": "home_page",
    "download_url": "download_url",
    "keywords": "keywords",
    "requires_python": "requires_python",
}
_MULTI = {
    "classifiers": "classifiers",
    "requires_dist": "requires_dist",
    "provides_extra": "provides_extra",
    "platforms": "platform",
    "license_files": "license_files",
    "dynamic": "dynamic",
}


def info_from_metadata(project_info: JSON, version: str, metadata: bytes | None) -> JSON:
    """``info`` of one version, built from its core metadata (PEP 658 file).

    Used when upstream has no per-version document (some mirrors).  Without metadata only
    what the project document says of every version is kept; the rest is ``None`` rather
    than another version's data.
    """
    info: dict[str, Any] = {k: None for k in project_info}
    for key in ("package_url", "project_url", "bugtrack_url", "docs_url", "downloads"):
        if key in project_info:
            info[key] = project_info[key]
    info["name"] = project_info.get("name")
    info["version"] = version
    if project_info.get("project_url"):
        info["release_url"] = f"{str(project_info['project_url']).rstrip('/')}/{version}/"
    info["yanked"], info["yanked_reason"] = False, None
    if metadata is None:
        return info
    raw, _unparsed = parse_email(metadata)
    fields: dict[str, Any] = dict(raw)
    for field, key in _SINGLE.items():
        if field in fields:
            info[key] = fields[field]
    for field, key in _MULTI.items():
        if field in fields:
            info[key] = list(fields[field])
    if "keywords" in fields and isinstance(fields["keywords"], list):
        info["keywords"] = ",".join(fields["keywords"])
    if "project_urls" in fields:
        info["project_urls"] = dict(fields["project_urls"])
    return info
