"""Which cutoff applies to which project, and the instant it names at a given moment.

``--date`` is an instant (:func:`~snapproxy.cutoff.parse_cutoff`) or a duration back from
now (:mod:`snapproxy.duration`), a *rolling* cutoff: at every moment it is that moment
minus the duration, to the second.  ``--package-date NAME=CUTOFF`` gives one project
(named as PEP 503 normalises it) a cutoff of its own, which wins over ``--date`` for that
project alone; its CUTOFF may also be ``none``, no cutoff at all.

As plain data a cutoff as written is a :class:`~datetime.datetime` (an instant), a
:class:`~datetime.timedelta` (an age: now minus it) or, for a project only, ``None``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from snapproxy.cutoff import (
    CutoffError,
    UnreadableCutoff,
    format_cutoff,
    is_recent,
    parse_cutoff,
)
from snapproxy.duration import (
    DURATION_FORMS,
    format_duration,
    looks_like_duration,
    parse_duration,
)
from snapproxy.names import InvalidProjectName, normalize
from snapproxy.snapshot import Snapshot, Snapshots, YankedPolicy

__all__ = [
    "DATE_FORMS",
    "NO_CUTOFF",
    "Cutoff",
    "CutoffPolicy",
    "InvalidPackageDate",
    "PackageCutoff",
    "RepeatedPackageDate",
    "cutoff_at",
    "describe",
    "is_final",
    "package_dates",
    "parse_date",
    "parse_package_date",
    "summary",
]

Cutoff = datetime | timedelta
PackageCutoff = datetime | timedelta | None

NO_CUTOFF = "none"
DATE_FORMS = (
    "YYYY-MM-DD (midnight UTC), an RFC 3339 datetime such as 2021-05-01T12:00:00Z, or a "
    f"duration back from now: {DURATION_FORMS}"
)
PACKAGE_DATE_FORMS = (
    "NAME=CUTOFF, e.g. certifi=2024-01-01, with CUTOFF a date, an RFC 3339 datetime, a "
    "duration such as P7D or 7d, or none (no cutoff)"
)
# The earliest instant a datetime holds: a duration longer than the time since then names it.
_EARLIEST = datetime.min.replace(tzinfo=timezone.utc)


class InvalidPackageDate(CutoffError):
    """A ``--package-date`` item that is not ``NAME=CUTOFF`` with a valid name and cutoff."""


class RepeatedPackageDate(InvalidPackageDate):
    """Two ``--package-date`` items give one project (after PEP 503 normalisation) two cutoffs."""


def parse_date(text: str) -> Cutoff:
    """``--date``: an instant (``2021-05-01``, RFC 3339) or a duration (``P7D``, ``7d``)."""
    if looks_like_duration(text):
        return parse_duration(text)
    try:
        return parse_cutoff(text)
    except UnreadableCutoff:
        raise UnreadableCutoff(f"invalid date {text!r}: write {DATE_FORMS}") from None


def parse_package_date(item: str) -> tuple[str, PackageCutoff]:
    """One ``--package-date`` item: the PEP 503 normal name and its cutoff (None: ``none``)."""
    name, equals, value = item.partition("=")
    if not equals:
        raise InvalidPackageDate(f"{item!r} has no '=': write {PACKAGE_DATE_FORMS}")
    try:
        project = normalize(name.strip())
    except InvalidProjectName as exc:
        raise InvalidPackageDate(f"{item!r}: {exc}") from None
    if value.strip().lower() == NO_CUTOFF:
        return project, None
    try:
        return project, parse_date(value)
    except CutoffError as exc:
        raise InvalidPackageDate(f"{item!r}: {exc}; or none for no cutoff") from None


def package_dates(items: Iterable[str]) -> dict[str, PackageCutoff]:
    """Every ``--package-date`` item, by normal name; one project given two cutoffs is refused."""
    found: dict[str, PackageCutoff] = {}
    spelled: dict[str, str] = {}
    for item in items:
        project, cutoff = parse_package_date(item)
        if project in found and found[project] != cutoff:
            raise RepeatedPackageDate(
                f"{spelled[project]!r} and {item!r} give {project} two cutoffs; keep one"
            )
        found[project], spelled[project] = cutoff, item
    return found


def cutoff_at(cutoff: PackageCutoff, now: datetime) -> datetime | None:
    """The instant a cutoff names at ``now``: itself, ``now`` minus an age, or None (no cutoff).

    ``now`` is taken to the whole second first, so a rolling cutoff is a whole second, as
    an instant printed or recorded for it is.
    """
    if not isinstance(cutoff, timedelta):
        return cutoff
    whole = now.astimezone(timezone.utc).replace(microsecond=0)
    if cutoff >= whole - _EARLIEST:
        return _EARLIEST
    return whole - cutoff


def describe(cutoff: PackageCutoff) -> str:
    """A cutoff as written, canonically: an instant, an ISO 8601 duration, or ``none``."""
    if cutoff is None:
        return NO_CUTOFF
    if isinstance(cutoff, timedelta):
        return format_duration(cutoff)
    return format_cutoff(cutoff)


def is_final(cutoff: PackageCutoff, now: datetime) -> bool:
    """Whether answers under ``cutoff`` can no longer change: an instant before which no
    upload can still land (:func:`~snapproxy.cutoff.is_recent`).  A rolling cutoff moves and
    ``none`` shows every new upload, so neither ever is."""
    return isinstance(cutoff, datetime) and not is_recent(cutoff, now)


@dataclass(frozen=True)
class CutoffPolicy:
    """The cutoff of every project: ``default`` (``--date``), unless ``packages`` names the
    project (``--package-date``, by PEP 503 normal name), whose own cutoff then wins."""

    default: Cutoff
    packages: Mapping[str, PackageCutoff] = field(default_factory=dict)

    def cutoff_for(self, project: str) -> PackageCutoff:
        """The cutoff of ``project`` (a normal name) as written."""
        return self.packages.get(project, self.default)

    @property
    def rolling_default(self) -> str | None:
        """The default cutoff's duration (ISO 8601) when it is one, so that it rolls."""
        return format_duration(self.default) if isinstance(self.default, timedelta) else None

    def with_default(self, default: Cutoff) -> CutoffPolicy:
        """The same exceptions around another default (a cutoff named in a URL)."""
        return CutoffPolicy(default, self.packages)

    def at(
        self,
        now: datetime,
        yanked: YankedPolicy,
        allow_undated: bool,
        undated: Callable[[str], bool] | None = None,
    ) -> Snapshots:
        """Every project's snapshot at ``now``: each cutoff as the instant it names then.

        ``undated``: whether a project's undated files are shown all the same (it comes
        from an index named with --undated-index)."""
        default = cutoff_at(self.default, now)
        assert default is not None  # a default cutoff is never ``none``
        return Snapshots(
            Snapshot(default, yanked, allow_undated),
            {
                project: Snapshot(cutoff_at(cutoff, now), yanked, allow_undated)
                for project, cutoff in sorted(self.packages.items())
            },
            undated,
        )


def summary(policy: CutoffPolicy, now: datetime) -> str:
    """The policy in one phrase for a start-up line: ``2021-05-01T00:00:00Z``, or ``P30D
    before now, rolling (2026-09-26T15:40:00Z at start)``, and the projects' own cutoffs."""
    default = cutoff_at(policy.default, now)
    assert default is not None
    text = format_cutoff(default)
    if isinstance(policy.default, timedelta):
        text = f"{format_duration(policy.default)} before now, rolling ({text} at start)"
    if policy.packages:
        own = "; ".join(
            f"{project}: {describe(cutoff)}" for project, cutoff in sorted(policy.packages.items())
        )
        text += f" (own cutoffs: {own})"
    return text
