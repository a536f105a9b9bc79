"""Which index each project comes from: the default upstream, or a named private index.

``--index corp=https://host/simple/`` names an index by its simple root (PEP 503), and
``--route corp-*=corp`` sends the projects whose PEP 503 normal name matches to it: their
pages and files come from that index and only from there, and every other project comes
only from the default upstream.  Clients see one index, so neither a private upload nor a
public one can shadow the other (the dependency confusion that ``--extra-index-url``
invites, where pip takes the highest version from any index).

A route by exact name wins over a glob; among globs the first given wins.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from functools import cached_property
from urllib.parse import urlsplit

from snapproxy.credentials import Credentials, redact_url, split_credentials
from snapproxy.names import canonical

__all__ = [
    "Index",
    "IndexRouting",
    "InvalidIndex",
    "InvalidRoute",
    "Route",
    "origin_of",
    "parse_index",
    "parse_route",
    "routing_from",
]

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_GLOB = re.compile(r"[*?\[]")


class InvalidIndex(ValueError):
    """An ``--index`` or ``--undated-index`` value that names no usable index."""


class InvalidRoute(ValueError):
    """A ``--route`` value that is malformed or names no ``--index``."""


@dataclass(frozen=True)
class Index:
    """A named index: its simple root URL (ending in ``/``, without credentials)."""

    name: str
    url: str
    credentials: Credentials | None = field(default=None, repr=False)
    undated: bool = False  # files without an upload time are shown (--undated-index)

    @property
    def origin(self) -> str:
        return origin_of(self.url)

    def page_url(self, project: str) -> str:
        return f"{self.url}{project}/"

    def legacy_url(self, project: str) -> str | None:
        """Its legacy JSON document (``/pypi/<project>/json``) when its simple root is the
        conventional ``.../simple/``; None: no legacy JSON API is known for it."""
        if not self.url.endswith("/simple/"):
            return None
        return f"{self.url.removesuffix('simple/')}pypi/{project}/json"


@dataclass(frozen=True)
class Route:
    pattern: str  # a PEP 503 normal name, or a glob over normal names
    index: str

    @property
    def is_glob(self) -> bool:
        return _GLOB.search(self.pattern) is not None

    def matches(self, project: str) -> bool:
        return fnmatchcase(project, self.pattern) if self.is_glob else project == self.pattern


@dataclass(frozen=True)
class IndexRouting:
    """The named indexes and the routes to them; empty: everything from the default."""

    indexes: tuple[Index, ...] = ()
    routes: tuple[Route, ...] = ()

    @cached_property
    def _by_name(self) -> dict[str, Index]:
        return {index.name: index for index in self.indexes}

    @cached_property
    def _exact(self) -> dict[str, str]:
        exact: dict[str, str] = {}
        for route in self.routes:
            if not route.is_glob:
                exact.setdefault(route.pattern, route.index)
        return exact

    @cached_property
    def _globs(self) -> tuple[Route, ...]:
        return tuple(route for route in self.routes if route.is_glob)

    def index_for(self, project: str) -> Index | None:
        """The index ``project`` (a normal name) comes from; None: the default upstream."""
        if not self.routes:
            return None
        name = self._exact.get(project)
        if name is None:
            name = next((r.index for r in self._globs if r.matches(project)), None)
        return None if name is None else self._by_name[name]

    def credentials_for(self, url: str) -> Credentials | None:
        """The credentials to send with a request for ``url``: those of an index on its
        host (none for any other host)."""
        index = self._serving(url, [i for i in self.indexes if i.credentials])
        return None if index is None else index.credentials

    def index_named_for(self, url: str) -> Index | None:
        """The named index whose host serves ``url`` (for messages); None: another host."""
        return self._serving(url, self.indexes)

    @staticmethod
    def _serving(url: str, indexes: Iterable[Index]) -> Index | None:
        """Which of ``indexes`` on ``url``'s host it belongs to: the one whose root it is
        under, the longest root first (two indexes on one host)."""
        origin = origin_of(url)
        found = [i for i in indexes if i.origin == origin]
        found.sort(key=lambda i: (not url.startswith(i.url), -len(i.url)))
        return found[0] if found else None

    @property
    def origins(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(index.origin for index in self.indexes))

    def describe(self) -> dict[str, object]:
        """The routing as plain data without credentials (a memo key, a lock's record)."""
        return {
            "indexes": {i.name: i.url for i in self.indexes},
            "routes": {r.pattern: r.index for r in self.routes},
            "undated-indexes": sorted(i.name for i in self.indexes if i.undated),
        }


def origin_of(url: str) -> str:
    """``scheme://host[:port]`` of ``url``, lower case: what a URL is compared by."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def parse_index(text: str) -> tuple[str, str, Credentials | None]:
    """``NAME=URL`` of ``--index``: the name, the simple root (ending in ``/``, without
    credentials) and the credentials the URL carried.  Messages never show a password."""
    name, sep, url = text.partition("=")
    shown = f"{name}{sep}{redact_url(url)}"
    example = "e.g. --index corp=https://pypi.corp.example/simple/"
    if not sep or not _NAME.fullmatch(name):
        raise InvalidIndex(f"{shown!r} is not NAME=URL; {example}")
    parts = urlsplit(url)
    if any(c.isspace() for c in url) or parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidIndex(f"{shown!r}: the URL is not an http(s) URL; {example}")
    if parts.query or parts.fragment:
        raise InvalidIndex(f"{shown!r}: give the index's simple root without ?query or #fragment")
    bare, credentials = split_credentials(url)
    if not bare.endswith("/"):
        bare += "/"
    return name, bare, credentials


def parse_route(text: str) -> Route:
    """``PATTERN=NAME`` of ``--route``: a project name or glob, normalised (PEP 503)."""
    pattern, sep, index = text.partition("=")
    if not sep or not pattern.strip() or not _NAME.fullmatch(index):
        raise InvalidRoute(f"{text!r} is not PATTERN=NAME; e.g. --route 'corp-*=corp'")
    return Route(str(canonical(pattern.strip())), index)


def routing_from(
    indexes: Iterable[tuple[str, str, Credentials | None]],
    routes: Sequence[Route],
    undated: Iterable[str],
    netrc_lookup: Mapping[str, Credentials | None] | None = None,
) -> IndexRouting:
    """The routing of ``--index``, ``--route`` and ``--undated-index`` values, checked
    against each other.  ``netrc_lookup``: credentials by index name for the indexes
    whose URL has none (from a netrc file)."""
    named: dict[str, Index] = {}
    for name, url, credentials in indexes:
        if name in named:
            raise InvalidIndex(f"--index {name}= is given twice; give each index one URL")
        if credentials is None and netrc_lookup is not None:
            credentials = netrc_lookup.get(name)
        named[name] = Index(name, url, credentials)
    undated_names = list(dict.fromkeys(undated))
    for name in undated_names:
        if name not in named:
            raise InvalidIndex(
                f"--undated-index {name} names no index; add --index {name}=URL or drop it"
            )
        named[name] = Index(name, named[name].url, named[name].credentials, undated=True)
    for route in routes:
        if route.index not in named:
            raise InvalidRoute(
                f"--route {route.pattern}={route.index} names no index; add "
                f"--index {route.index}=URL"
            )
    unused = [name for name in named if not any(r.index == name for r in routes)]
    if unused:
        raise InvalidRoute(
            f"--index {unused[0]} has no --route to it, so it would serve nothing; add "
            f"--route PATTERN={unused[0]}"
        )
    return IndexRouting(tuple(named.values()), tuple(routes))
