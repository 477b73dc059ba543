"""Shared wire helpers of the three protocol modules: serialization, SSE framing, usage."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from gateway.simulator.cache import CacheResult


@dataclass(frozen=True, slots=True)
class Rendered:
    """A streamed answer: its SSE events in order; the last `final` of them are the closing ones."""

    events: list[bytes]
    final: int


@dataclass(frozen=True, slots=True)
class Tokens:
    input: int  # every prompt token, cached ones included
    output: int
    cache: CacheResult

    @property
    def uncached(self) -> int:
        return max(self.input - self.cache.read - self.cache.write, 0)


def dumps(obj: Any) -> bytes:
    return orjson.dumps(obj)


def part(obj: Any) -> bytes:
    """One prompt part as the cache sees it: its JSON, without `cache_control` markers.

    The marker is not prompt text (moving a breakpoint must not change the prefix), so it is
    dropped at the top level of the part and of its content parts.
    """
    if isinstance(obj, Mapping) and ("cache_control" in obj or isinstance(obj.get("content"), list)):
        obj = {k: _strip_list(v) if k == "content" else v for k, v in obj.items() if k != "cache_control"}
    return orjson.dumps(obj)


def _strip_list(value: Any) -> Any:
    if not isinstance(value, list):
        return value
    return [
        {k: v for k, v in p.items() if k != "cache_control"} if isinstance(p, Mapping) and "cache_control" in p else p
        for p in value
    ]


def sse(event: str | None, obj: Any) -> bytes:
    head = b"event: " + event.encode() + b"\n" if event else b""
    return head + b"data: " + orjson.dumps(obj) + b"\n\n"
