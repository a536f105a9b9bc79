"""The domain errors route handlers raise; app maps each to a status (one line, no traceback)."""

from __future__ import annotations

from snapproxy.upstream import UpstreamNotFound

__all__ = ["InvalidVersionText", "NoSuchProject", "NotInSnapshot"]


class NotInSnapshot(LookupError):
    """A version or file that exists upstream but not at the requested cutoff."""


class NoSuchProject(UpstreamNotFound):
    """Upstream has no project of that name (its page is a 404): often a misspelling.

    The other 404 of a project, one that exists but had no file yet at the cutoff, is
    :class:`~snapproxy.simple_page.ProjectNotAtCutoff`.
    """

    def __init__(self, project: str, upstream: str):
        self.project = project
        super().__init__(f"no project named {project!r} on {upstream}; check the spelling")


class InvalidVersionText(ValueError):
    """A version in a URL that could name another document (``.``, ``..``, a slash)."""
