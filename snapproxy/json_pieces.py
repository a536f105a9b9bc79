"""JSON that is read and written a member at a time, for documents of many megabytes.

``json.loads`` and ``json.dumps`` are single C calls that hold the GIL until they finish:
on a 40 MB page that is a few hundred milliseconds in which no other thread (the event
loop included) runs.  These functions do the same work element by element (:func:`dumps`
a few hundred elements at a time), so a worker thread yields the GIL between them, a
fraction of a millisecond apart.  Their results are exactly those of ``json``:
:func:`loads` equals ``json.loads`` and :func:`dumps` equals ``json.dumps`` with compact
separators and ``ensure_ascii=False``.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Iterator
from functools import partial
from itertools import islice
from typing import Any

__all__ = ["dumps", "loads"]

# json.loads shares equal keys within one call; element by element it cannot, and a page
# of 100,000 files would hold 100,000 copies of "filename", "url", "hashes"...  Interning
# keys gives them back one copy each (a quarter less memory, a quarter more time).
_DECODER = json.JSONDecoder(object_pairs_hook=lambda pairs: {sys.intern(k): v for k, v in pairs})
_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)
_SPACE = re.compile(r"[ \t\n\r]*")


def _same(key: str, item: Any) -> Any:
    return item


def loads(body: bytes | str, each: Callable[[str, Any], Any] = _same) -> Any:
    """``json.loads(body)``, decoding a top-level object's array members one by one.

    ``each(key, item)`` replaces every member of the top-level array under ``key`` as it
    is decoded, so a caller that keeps a little of each (a project list's names) never
    holds them all whole.
    """
    if isinstance(body, (bytes, bytearray)):
        # As json.loads does: UTF-8, -16 or -32 by the first bytes, a UTF-8 BOM allowed.
        text = body.decode(json.detect_encoding(body), "surrogatepass")
    else:
        text = body
    i = _SPACE.match(text, 0).end()  # type: ignore[union-attr]
    if not text.startswith("{", i):
        return json.loads(text)
    result: dict[str, Any] = {}
    i = _skip(text, i + 1)
    if text.startswith("}", i):
        return _end(text, i + 1, result)
    while True:
        if not text.startswith('"', i):
            raise json.JSONDecodeError("Expecting property name enclosed in double quotes", text, i)
        key, i = _DECODER.raw_decode(text, i)
        i = _skip(text, i)
        if not text.startswith(":", i):
            raise json.JSONDecodeError("Expecting ':' delimiter", text, i)
        i = _skip(text, i + 1)
        if text.startswith("[", i):
            value, i = _array(text, i, partial(each, key))
        else:
            value, i = _DECODER.raw_decode(text, i)
        result[key] = value
        i = _skip(text, i)
        if text.startswith(",", i):
            i = _skip(text, i + 1)
        elif text.startswith("}", i):
            return _end(text, i + 1, result)
        else:
            raise json.JSONDecodeError("Expecting ',' delimiter", text, i)


def _skip(text: str, i: int) -> int:
    return _SPACE.match(text, i).end()  # type: ignore[union-attr]


def _end(text: str, i: int, result: dict[str, Any]) -> dict[str, Any]:
    if _skip(text, i) != len(text):
        raise json.JSONDecodeError("Extra data", text, i)
    return result


def _array(text: str, i: int, each: Callable[[Any], Any]) -> tuple[list[Any], int]:
    items: list[Any] = []
    i = _skip(text, i + 1)
    if text.startswith("]", i):
        return items, i + 1
    while True:
        item, i = _DECODER.raw_decode(text, i)
        items.append(each(item))
        i = _skip(text, i)
        if text.startswith(",", i):
            i = _skip(text, i + 1)
        elif text.startswith("]", i):
            return items, i + 1
        else:
            raise json.JSONDecodeError("Expecting ',' delimiter", text, i)


def dumps(value: Any) -> str:
    """``json.dumps(value, separators=(",", ":"), ensure_ascii=False)``, a member at a time
    (array elements a batch at a time).

    Iterators are written as arrays, consumed as they are written.
    """
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        members = (f"{_ENCODER.encode(str(k))}:{dumps(v)}" for k, v in value.items())
        return "{" + ",".join(members) + "}"
    if isinstance(value, (list, Iterator)):
        # An iterator (a lazily filtered page's files) is written as the array it yields.
        return "[" + ",".join(_batches(iter(value))) + "]"
    return _ENCODER.encode(value)


# Elements encoded per C call: each call sets up an encoder (about as long as encoding
# a file entry), and a few hundred entries hold the GIL for well under a millisecond.
_BATCH = 256


def _batches(items: Iterator[Any]) -> Iterator[str]:
    """The JSON of ``items``, comma-separated, a batch at a time (none when empty)."""
    while batch := list(islice(items, _BATCH)):
        yield _ENCODER.encode(batch)[1:-1]
