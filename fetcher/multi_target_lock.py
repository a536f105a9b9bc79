"""One PEP 751 lock of several targets' resolutions (``snapproxy lock --target ...``).

Each target (:mod:`fetcher.lock_target`) was resolved on its own, at the same cutoff;
this merges what they chose into one ``pylock.toml``, over plain data, with no pip:

- ``environments`` holds each target's PEP 508 marker, in the targets' own order
  (:attr:`LockTarget.sort_key`), whatever order they were given in;
- a package (project and version) every target chose has no marker; one that only some
  chose carries the OR of their markers (``(m1) or (m2)``, in the same order), so a
  project the targets resolve to different versions has one entry per version, each with
  its targets' markers, which exclude each other because the targets' do
  (:func:`fetcher.lock_target.distinct_targets` refuses targets that overlap);
- each package lists every file any target chose of it (its wheels sorted), so an
  installer finds its own among them by its PEP 425 tags;
- ``requires-python`` admits exactly the targets' Python versions;
- ``[tool.snapproxy]`` records the cutoffs as a single-target lock does, and the
  ``targets`` (as ``PYVER:PLATFORM[:IMPL[:ABI]]``).  ``requirements-lock``, the
  ``requirements.lock.txt`` of a wheelhouse made from the lock, is one environment's:
  it is recorded for one target, as in any single-environment lock, and left out for
  several, where it follows from what each target selects (fetcher.pylock_selection).

Packages are written as :func:`fetcher.pylock_writer.pylock_for` writes them (the same
keys, index and file entries as a single-environment lock); only markers, environments,
``requires-python`` and the tool table are this module's.  The same resolutions give the
same bytes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from packaging.markers import Marker
from packaging.specifiers import SpecifierSet

from fetcher.lock_target import LockTarget, distinct_targets
from fetcher.pylock_writer import TOOL, LockedFile, Pylock, pylock_for
from snapproxy.cutoff_policy import CutoffPolicy

__all__ = ["TargetResolution", "merged_pylock", "requires_python_of"]


@dataclass(frozen=True)
class TargetResolution:
    """What one target's resolution chose, as a lock records it."""

    target: LockTarget
    files: Sequence[LockedFile]
    # Its requirements.lock.txt (fetcher.requirements_lock), recorded for a lone target.
    requirements_lock: str


def requires_python_of(targets: Sequence[LockTarget]) -> SpecifierSet:
    """The PEP 440 specifier of exactly the targets' Python versions: ``==3.11.*`` for
    one, ``>=3.10,<3.13`` for a run of them, with ``!=3.11.*`` for each gap in the run."""
    minors = sorted({int(t.python_version.split(".")[1]) for t in targets})
    if not minors:
        raise ValueError("no targets")
    if len(minors) == 1:
        return SpecifierSet(f"==3.{minors[0]}.*")
    gaps = [f"!=3.{m}.*" for m in range(minors[0] + 1, minors[-1]) if m not in minors]
    return SpecifierSet(",".join([f">=3.{minors[0]}", f"<3.{minors[-1] + 1}", *gaps]))


def _any_of(targets: Sequence[LockTarget]) -> str:
    return str(Marker(" or ".join(f"({target.marker()})" for target in targets)))


def _files_of(package: Mapping[str, Any]) -> list[str]:
    archives = [*(package.get("wheels") or []), *filter(None, [package.get("sdist")])]
    return [str(archive["name"]) for archive in archives]


def _with_marker(package: Mapping[str, Any], marker: str) -> dict[str, Any]:
    """``package`` with ``marker`` where PEP 751 lists it, right after the version."""
    out: dict[str, Any] = {}
    for key, value in package.items():
        out[key] = value
        if key == "version":
            out["marker"] = marker
    return out


def merged_pylock(
    resolutions: Sequence[TargetResolution],
    *,
    cutoff: datetime,
    index: str,
    pip_version: str,
    package_cutoffs: Mapping[str, datetime | None] | None = None,
    given: CutoffPolicy | None = None,
    index_of: Callable[[str], str] | None = None,
    routing: Mapping[str, object] | None = None,
) -> Pylock:
    """The lock of every target's choice (see the module's rules); ValueError for input
    no resolution gives (a target twice, build-only files, one file name with two
    hashes), InvalidTarget for targets whose markers overlap.  The keyword arguments are
    :func:`~fetcher.pylock_writer.pylock_for`'s, less what differs per target."""
    by_target = {r.target: r for r in resolutions}
    if len(by_target) != len(resolutions):
        raise ValueError("a target is resolved twice")
    ordered = [by_target[target] for target in distinct_targets(by_target)]
    files: dict[str, LockedFile] = {}
    chosen_by: dict[str, list[LockTarget]] = {}
    for resolution in ordered:
        for f in resolution.files:
            if f.build_only:
                # Targets resolve wheels only: no sdist, so nothing to build.
                raise ValueError(f"{f.filename}: a multi-target lock holds no build requirements")
            if files.setdefault(f.filename, f) != f:
                raise ValueError(f"{f.filename} differs between targets")
            chosen_by.setdefault(f.filename, []).append(resolution.target)
    targets = [r.target for r in ordered]
    single = pylock_for(
        files.values(),
        cutoff=cutoff,
        index=index,
        environment=Marker(targets[0].marker()),
        requires_python=requires_python_of(targets),
        pip_version=pip_version,
        requirements_lock="",
        package_cutoffs=package_cutoffs,
        given=given,
        index_of=index_of,
        routing=routing,
    ).to_dict()

    packages = []
    for package in single["packages"]:
        chosen = {target for name in _files_of(package) for target in chosen_by[name]}
        if len(chosen) == len(targets):
            packages.append(dict(package))
        else:
            marker = _any_of([target for target in targets if target in chosen])
            packages.append(_with_marker(package, marker))

    tool = dict(single["tool"][TOOL])
    del tool["requirements-lock"]
    tool["targets"] = [target.text for target in targets]
    if len(ordered) == 1:
        tool["requirements-lock"] = ordered[0].requirements_lock
    document = {
        **single,
        "environments": [str(Marker(target.marker())) for target in targets],
        "packages": packages,
        "tool": {TOOL: dict(sorted(tool.items()))},
    }
    return Pylock.from_dict(document)
