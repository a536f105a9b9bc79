"""A GET that follows redirects by hand, each hop checked and given its own headers.

aiohttp's own redirect following sends every hop the first request's headers, so the
credentials of a private index would follow a redirect to any other host; and it would
follow one off the hosts the proxy may contact.
"""

from __future__ import annotations

from collections.abc import Callable

import aiohttp
import yarl

__all__ = ["MAX_REQUESTS", "get_following", "is_redirect"]

# Requests one GET may take, redirects included.
MAX_REQUESTS = 5
_REDIRECTS = (301, 302, 303, 307, 308)


def is_redirect(response: aiohttp.ClientResponse) -> bool:
    return response.status in _REDIRECTS and bool(response.headers.get("Location"))


async def get_following(
    session: aiohttp.ClientSession,
    url: str,
    headers_for: Callable[[str], dict[str, str]],
    check: Callable[[str], None] | None = None,
) -> aiohttp.ClientResponse:
    """The response to a GET of ``url``, redirects followed for up to MAX_REQUESTS
    requests.  ``headers_for(target)`` gives each hop's headers; ``check(target)`` may
    refuse a hop by raising.  A response still redirecting after that is returned as it is
    (:func:`is_redirect`): the caller's to refuse."""
    target = url
    for n in range(MAX_REQUESTS):
        if check is not None:
            check(target)
        response = await session.get(target, allow_redirects=False, headers=headers_for(target))
        if not is_redirect(response) or n == MAX_REQUESTS - 1:
            return response
        response.release()
        target = str(response.url.join(yarl.URL(response.headers["Location"])))
    raise AssertionError("unreachable: the last request returns")
