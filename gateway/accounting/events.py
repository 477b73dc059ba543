"""The broker behind `/xx/events`: one bounded queue per subscriber.

Publishing never waits. A subscriber whose queue is full is dropped (its stream ends and
the dashboard reconnects) rather than slowing the gateway or growing memory. Each event
is encoded once, whatever the number of subscribers.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import orjson

from gateway.protocols.sse import encode

QUEUE_SIZE = 1000
_CLOSED = b""


class Broker:
    def __init__(self, queue_size: int = QUEUE_SIZE) -> None:
        self.queue_size = queue_size
        self._subs: set[asyncio.Queue[bytes]] = set()
        self.dropped = 0
        self.published = 0

    @property
    def subscribers(self) -> int:
        return len(self._subs)

    def publish(self, kind: str, payload: Any) -> None:
        if not self._subs:
            return
        self.published += 1
        frame = encode(orjson.dumps(payload).decode(), event=kind)
        for q in list(self._subs):
            try:
                q.put_nowait(frame)
            except asyncio.QueueFull:
                self._drop(q)

    def _drop(self, q: asyncio.Queue[bytes]) -> None:
        self._subs.discard(q)
        self.dropped += 1
        while not q.empty():
            q.get_nowait()
        q.put_nowait(_CLOSED)

    async def stream(self, hello: dict[str, Any], heartbeat: float = 15.0) -> AsyncIterator[bytes]:
        q: asyncio.Queue[bytes] = asyncio.Queue(self.queue_size)
        self._subs.add(q)
        try:
            yield encode(orjson.dumps(hello).decode(), event="hello")
            while True:
                try:
                    async with asyncio.timeout(heartbeat):
                        frame = await q.get()
                except TimeoutError:
                    yield b": keepalive\n\n"
                    continue
                if not frame:
                    return
                yield frame
        finally:
            self._subs.discard(q)

    def close(self) -> None:
        for q in list(self._subs):
            self._drop(q)
