"""How the current request's upstream document or file was obtained, for its log line:
``hit``, ``miss``, ``revalidated``, ``stale``, ``aborted`` (a transfer cut), or ``-``.

A context variable, not request storage: each request runs in its own task, and the
code that knows (the upstream client, the downloads) need not see the request.
"""

from __future__ import annotations

from contextvars import ContextVar

__all__ = ["CACHE_STATUS"]

CACHE_STATUS: ContextVar[str] = ContextVar("snapproxy_cache_status", default="-")
