"""The server's own page at ``/``: what it serves, and the lines that point a client at it.

A person who opens the URL ``snapproxy serve`` prints gets an HTML page (which upstream,
which cutoff, the exact pip, uv and pip-compile lines); a script that sends
``Accept: application/json`` gets the same facts as JSON.  The URLs are built from the
address the client used, so what the page says can be pasted as it is.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass, field

from snapproxy.negotiation import parse_accept
from snapproxy.snapshot import JSON

__all__ = ["Home", "home_json", "render_home", "wants_json"]

JSON_TYPE = "application/json"
HTML_TYPE = "text/html"


@dataclass(frozen=True)
class Home:
    """What the page says.

    ``origin`` is ``scheme://host[:port]`` as the client reached the server and ``tree``
    the path of the snapshot the page is for: ``""`` for the server's own cutoff,
    ``/snapshot/<cutoff>`` for one named in the URL.
    """

    cutoff: str | None  # the instant in force (cutoff.format_cutoff)
    upstream: str
    origin: str
    tree: str
    version: str
    # The duration, when the cutoff is one (rolling: ``cutoff`` is now minus it).
    rolling: str | None = None
    # --package-date: project -> its cutoff as written (cutoff_policy.describe).
    package_dates: Mapping[str, str] = field(default_factory=dict)

    @property
    def as_of(self) -> str:
        """The cutoff as a title says it: the instant, and the duration it rolls with."""
        if self.rolling:
            return f"{self.cutoff} ({self.rolling} before now, rolling)"
        return str(self.cutoff)

    @property
    def index_url(self) -> str:
        return f"{self.origin}{self.tree}/simple/"

    @property
    def health_url(self) -> str:
        return f"{self.origin}{self.tree}/-/health"

    def tree_index_url(self, cutoff: str) -> str:
        return f"{self.origin}/snapshot/{cutoff}/simple/"


def wants_json(accept: str | None) -> bool:
    """Whether ``Accept`` rates JSON above HTML (RFC 9110 section 12.5.1).

    Each type takes the q of the most specific range naming it.  A tie (``*/*``, no
    header) is HTML: the page is meant for a person first.
    """
    ranges = parse_accept(accept or "")

    def quality(media_type: str) -> float:
        named = [(spec, r.q) for r in ranges if (spec := r.specificity(media_type)) is not None]
        return max(named, default=(0, 0.0))[1]

    return quality(JSON_TYPE) > quality(HTML_TYPE)


def home_json(home: Home) -> JSON:
    return {
        "cutoff": home.cutoff,
        "date": home.rolling or home.cutoff,
        "package_dates": dict(sorted(home.package_dates.items())),
        "upstream": home.upstream,
        "index_url": home.index_url,
        "version": home.version,
    }


def render_home(home: Home) -> str:
    """The HTML page; every value is escaped (the origin comes from the request)."""
    e = html.escape
    index = e(home.index_url)
    title = f"{e(home.upstream)} as of {e(home.as_of)}"
    exceptions = ", ".join(
        f"{e(project)} with no cutoff" if date == "none" else f"{e(project)} as of {e(date)}"
        for project, date in sorted(home.package_dates.items())
    )
    commands = "\n".join(
        [
            f"pip install --index-url {index} PACKAGE...",
            f"uv pip install --index-url {index} PACKAGE...",
            f"UV_DEFAULT_INDEX={index} uv lock",
            f"pip-compile --index-url {index} --no-emit-index-url requirements.in",
        ]
    )
    template = e(home.tree_index_url("<cutoff>"))
    example = e(home.tree_index_url("2020-01-01"))
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en">',
            "  <head>",
            '    <meta charset="utf-8">',
            f"    <title>snapproxy: {title}</title>",
            "  </head>",
            "  <body>",
            f"    <h1>{title}</h1>",
            f"    <p>snapproxy {e(home.version)}: the Python package index at "
            f"{e(home.upstream)} as it was at {e(home.as_of)}. Its simple API (PEP 503 "
            "HTML, PEP 691 JSON), legacy JSON API and files are served with every file "
            "uploaded at or after that instant hidden, so a resolver pointed here chooses "
            "what it would have chosen then."
            + (f" Projects with a cutoff of their own: {exceptions}." if exceptions else "")
            + "</p>",
            f'    <p>The index URL: <a href="{index}"><code>{index}</code></a></p>',
            f"    <pre>{commands}</pre>",
            f"    <p>Another cutoff, from this same server: <code>{template}</code>, the "
            "cutoff a date (midnight UTC), an RFC 3339 datetime with a zone or a duration "
            "back from now (P7D, 7d), e.g. "
            f"<code>{example}</code>.</p>",
            "    <p>Settings a client reads besides its command line (pip.conf and "
            "<code>PIP_*</code> variables, uv.toml and <code>UV_*</code> variables) can "
            "mix another index or local files in without a word; see the Pitfalls "
            "section of snapproxy's README.</p>",
            "    <ul>",
            f'      <li><a href="{index}">{index}</a>: the project list</li>',
            f'      <li><a href="{e(home.health_url)}">{e(home.health_url)}</a>: health '
            "and settings, as JSON</li>",
            "    </ul>",
            "  </body>",
            "</html>",
            "",
        ]
    )
