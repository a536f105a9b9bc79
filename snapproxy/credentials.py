"""Credentials for private indexes, and the one rule that keeps them out of every output.

Credentials come from ``user:password@`` in an index URL (as pip's ``--index-url`` takes
them) or from a netrc file (``--netrc``, else ``NETRC``, else ``~/.netrc``, as pip, curl
and Nix read it), looked up by host.  Once read they live only in :class:`Credentials`
(whose repr hides the password) and in the ``Authorization`` header of a request to their
own index: URLs are kept without them, and :class:`Redactor` removes any that slips into
a log line or message anyway.
"""

from __future__ import annotations

import base64
import logging
import netrc
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit, urlunsplit

__all__ = [
    "Credentials",
    "NetrcUnreadable",
    "RedactingFilter",
    "Redactor",
    "default_netrc",
    "read_netrc",
    "redact_url",
    "split_credentials",
]

MASK = "****"


@dataclass(frozen=True)
class Credentials:
    """HTTP basic credentials (RFC 7617); never shown whole."""

    user: str
    password: str = field(repr=False)

    def header(self) -> str:
        """The ``Authorization`` header value."""
        pair = f"{self.user}:{self.password}".encode()
        return "Basic " + base64.b64encode(pair).decode("ascii")

    def secrets(self) -> list[str]:
        """Every form the password may take in a text: as is, percent-encoded, in the header."""
        if not self.password:
            return [self.header().removeprefix("Basic ")]
        return [self.password, quote(self.password, safe=""), self.header().removeprefix("Basic ")]


class NetrcUnreadable(ValueError):
    """A netrc file that exists but cannot be read or parsed; names the file, never a token."""


def split_credentials(url: str) -> tuple[str, Credentials | None]:
    """``url`` without its ``user:password@`` part, and those credentials (percent-decoded)."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url, None
    userinfo, _, hostport = parts.netloc.rpartition("@")
    user, _, password = userinfo.partition(":")
    bare = urlunsplit((parts.scheme, hostport, parts.path, parts.query, parts.fragment))
    return bare, Credentials(unquote(user), unquote(password))


def redact_url(url: str) -> str:
    """``url`` with any userinfo replaced by ``****@``: fit for a message."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    hostport = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, f"{MASK}@{hostport}", parts.path, parts.query, ""))


def default_netrc() -> Path | None:
    """``NETRC``, else ``~/.netrc`` (the files pip, curl and Nix read); None when absent."""
    named = os.environ.get("NETRC")
    path = Path(named) if named else Path.home() / ".netrc"
    return path if path.is_file() else None


def read_netrc(path: Path | None) -> Callable[[str], Credentials | None]:
    """The netrc file at ``path``, read once, as a lookup of the login and password it
    gives a host (or its ``default``); None as the path gives nothing for any host."""
    if path is None:
        return lambda host: None
    try:
        parsed = netrc.netrc(str(path))
    except netrc.NetrcParseError as exc:
        # The parser's own message may quote a token (a password): only the line is named.
        raise NetrcUnreadable(f"netrc file {path} is malformed at line {exc.lineno}") from None
    except OSError as exc:
        raise NetrcUnreadable(f"cannot read netrc file {path} ({exc.strerror})") from None

    def lookup(host: str) -> Credentials | None:
        # The hostname without a port: netrc names machines, as curl looks them up.
        found = parsed.authenticators(host)
        if found is None:
            return None
        login, _account, password = found
        return Credentials(login or "", password or "")

    return lookup


class Redactor:
    """Replaces every known secret in a text by ``****``."""

    def __init__(self, credentials: Iterable[Credentials | None] = ()):
        secrets = {s for c in credentials if c is not None for s in c.secrets() if s}
        # Longest first, so a secret containing another is masked whole.
        self.secrets = sorted(secrets, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        return text


class RedactingFilter(logging.Filter):
    """A logging filter that renders each record and masks every secret in it."""

    def __init__(self, redact: Redactor):
        super().__init__()
        self.redact = redact

    def filter(self, record: logging.LogRecord) -> bool:
        if self.redact.secrets:
            message = record.getMessage()
            masked = self.redact(message)
            if masked != message:
                record.msg, record.args = masked, ()
            if record.exc_info and record.exc_info[1] is not None:
                text = self.redact(str(record.exc_info[1]))
                if text != str(record.exc_info[1]):
                    # A traceback would print the secret again: keep the masked line only.
                    record.msg, record.args = f"{masked} ({text})", ()
                    record.exc_info, record.exc_text = None, None
        return True
