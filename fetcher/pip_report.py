"""Reading pip's installation report (``pip install --dry-run --report``).

The report format is pip's documented JSON (version "1"): each ``install`` item names
the distribution's metadata and where pip would download it from, with its hash.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from snapproxy.names import canonical

__all__ = ["ChosenFile", "InvalidReport", "parse_report", "report_environment"]


class InvalidReport(ValueError):
    """A report pip did not write as documented (or wrote for a direct URL requirement)."""


@dataclass(frozen=True, order=True)
class ChosenFile:
    """One distribution file a resolution chose."""

    name: str  # PEP 503 normal form
    version: str
    filename: str
    url: str
    sha256: str

    @property
    def is_sdist(self) -> bool:
        return not self.filename.endswith(".whl")


def parse_report(report: dict[str, Any]) -> list[ChosenFile]:
    """The files of a report's ``install`` list, sorted by name and version."""
    if str(report.get("version")) != "1" or not isinstance(report.get("install"), list):
        raise InvalidReport("not a pip installation report of version 1")
    chosen = []
    for item in report["install"]:
        try:
            name, version = item["metadata"]["name"], item["metadata"]["version"]
            url = item["download_info"]["url"]
            sha256 = item["download_info"]["archive_info"]["hashes"]["sha256"]
        except (KeyError, TypeError) as exc:
            raise InvalidReport(
                f"report item without a name, version or index file ({exc})"
            ) from None
        if item.get("is_direct"):
            # `name @ URL`: pip would fetch it from wherever the URL points, past the snapshot.
            raise InvalidReport(
                f"{name} is required by URL ({url}); requirements must come from the index"
            )
        filename = unquote(urlsplit(url).path.rsplit("/", 1)[-1])
        chosen.append(
            ChosenFile(
                name=canonical(str(name)),
                version=str(version),
                filename=filename,
                url=url,
                sha256=str(sha256).lower(),
            )
        )
    return sorted(chosen)


def report_environment(report: dict[str, Any]) -> dict[str, str]:
    """The PEP 508 marker environment pip resolved in (the report's ``environment``)."""
    environment = report.get("environment")
    if not isinstance(environment, dict):
        raise InvalidReport("the report has no environment")
    return {str(k): str(v) for k, v in environment.items()}
