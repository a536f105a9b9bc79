"""One byte budget for everything the server keeps in memory.

Upstream documents (parsed), rendered responses and file indexes all live in one
:class:`ByteBudget`, a least-recently-used map whose entries carry a cost in bytes.  A
single budget, rather than one per structure, is what bounds the process: many projects,
many cutoffs or a few huge pages all compete for the same bytes and the oldest go first.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

__all__ = ["DEFAULT_BUDGET", "ByteBudget", "InvalidSize", "format_size", "parse_size"]

T = TypeVar("T")

DEFAULT_BUDGET = 64 * 1024 * 1024
# Python objects from json.loads take about 2.5 times the bytes of their JSON text (a
# PyPI project page measured 2.53); charged a little above, so the estimate errs high.
PARSED_JSON_FACTOR = 3

_UNITS = {"": 1, "b": 1, "k": 1024, "kib": 1024, "m": 1024**2, "mib": 1024**2}
_UNITS |= {"g": 1024**3, "gib": 1024**3, "kb": 1000, "mb": 1000**2, "gb": 1000**3}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$", re.IGNORECASE)


class InvalidSize(ValueError):
    """A size that is not a number of bytes with an optional unit."""


def parse_size(text: str) -> int:
    """``128MiB``, ``1.5GiB``, ``500MB``, ``65536``: a number of bytes (binary or SI units)."""
    match = _SIZE.match(text)
    unit = match.group(2).lower() if match else ""
    if match is None or unit not in _UNITS:
        raise InvalidSize(f"{text!r} is not a size; write bytes or a number with KiB, MiB or GiB")
    return int(float(match.group(1)) * _UNITS[unit])


def format_size(size: int) -> str:
    """``size`` in the largest binary unit that states it exactly (``64 MiB``)."""
    for unit, factor in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if size >= factor and size % factor == 0:
            return f"{size // factor} {unit}"
    return f"{size} bytes"


class ByteBudget:
    """An LRU map bounded by the summed cost of its entries.

    An entry costing more than the whole budget is not kept at all (the caller still has
    its value for the request at hand).
    """

    def __init__(self, limit: int = DEFAULT_BUDGET):
        self.limit = limit
        self.used = 0
        self._entries: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: Hashable) -> Any | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        self._entries.move_to_end(key)
        return entry[0]

    def put(self, key: Hashable, value: Any, cost: int) -> None:
        self.discard(key)
        if cost > self.limit:
            return
        self._entries[key] = (value, cost)
        self.used += cost
        while self.used > self.limit:
            _, (_, evicted) = self._entries.popitem(last=False)
            self.used -= evicted

    def discard(self, key: Hashable) -> None:
        old = self._entries.pop(key, None)
        if old is not None:
            self.used -= old[1]

    def get_or_build(self, key: Hashable, build: Callable[[], T], cost: Callable[[T], int]) -> T:
        value = self.get(key)
        if value is None:
            value = build()
            self.put(key, value, cost(value))
        result: T = value
        return result
