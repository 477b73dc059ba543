"""The admin API client: the dashboard's only network code.

Plain async functions over one `httpx.AsyncClient`; the app decides when to call them and
what a failure means. `/xx/events` is read as raw bytes through the same incremental SSE
decoder the gateway uses, so a chunk boundary anywhere is harmless.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson

from gateway.protocols.sse import SSEDecoder, SSEEvent
from xx.dash.state import FEED_KINDS, Event

TOKEN_HEADER = "x-xx-token"


class AdminError(Exception):
    """The gateway answered, but not with what the admin contract promises."""


def backoff(failures: int, base: float = 0.5, cap: float = 10.0) -> float:
    """Seconds to wait after `failures` consecutive failures: base, 2·base, 4·base … capped."""
    if failures <= 0:
        return 0.0
    return min(cap, base * (2 ** min(failures - 1, 20)))


def parse_event(ev: SSEEvent, at: float | None = None) -> Event | None:
    """An SSE event from /xx/events as a state Event; unknown kinds and bad JSON are dropped."""
    if ev.event not in FEED_KINDS:
        return None
    try:
        data = orjson.loads(ev.data)
    except orjson.JSONDecodeError:
        return None
    return Event(ev.event, data, time.time() if at is None else at)


class AdminClient:
    """GET/POST the admin endpoints of one gateway; owns its httpx client unless given one."""

    def __init__(
        self,
        url: str,
        token: str | None = None,
        client: httpx.AsyncClient | None = None,
        timeout: float = 3.0,
    ) -> None:
        self.url = url.rstrip("/")
        self.headers = {TOKEN_HEADER: token} if token else {}
        self._own = client is None
        self.client = client or httpx.AsyncClient(timeout=timeout, trust_env=False)

    async def get(self, path: str, **params: Any) -> Any:
        r = await self.client.get(self.url + path, params=params or None, headers=self.headers)
        r.raise_for_status()
        try:
            return r.json()
        except ValueError as e:
            raise AdminError(f"{path}: not JSON") from e

    async def health(self) -> dict[str, Any]:
        data = await self.get("/health")
        if not isinstance(data, dict) or data.get("service") != "xx-gateway":
            raise AdminError("/health: not an xx gateway")
        return data

    async def stats(self) -> dict[str, Any]:
        return await self.get("/xx/stats")

    async def models(self) -> dict[str, Any]:
        return await self.get("/xx/models")

    async def requests(self, limit: int = 200) -> dict[str, Any]:
        return await self.get("/xx/requests", limit=limit)

    async def reset(self, model: str) -> dict[str, Any]:
        r = await self.client.post(f"{self.url}/xx/models/{model}/reset", headers=self.headers)
        r.raise_for_status()
        return r.json()

    async def events(self) -> AsyncIterator[Event]:
        """Yield events until the stream ends; a clean end is reported as an error (the gateway went away)."""
        timeout = httpx.Timeout(5.0, read=None)
        decoder = SSEDecoder()
        async with self.client.stream(
            "GET", self.url + "/xx/events", headers=self.headers, timeout=timeout
        ) as r:
            r.raise_for_status()
            async for chunk in r.aiter_raw():
                now = time.time()
                for raw in decoder.feed(chunk):
                    ev = parse_event(raw, now)
                    if ev is not None:
                        yield ev
        raise httpx.RemoteProtocolError("event stream closed by the gateway")

    async def aclose(self) -> None:
        if self._own:
            await self.client.aclose()


def describe(exc: BaseException) -> str:
    """A short reason for the down banner."""
    if isinstance(exc, httpx.ConnectError):
        return "connection refused"
    if isinstance(exc, httpx.TimeoutException):
        return "timed out"
    if isinstance(exc, httpx.HTTPStatusError):
        return f"HTTP {exc.response.status_code}"
    return str(exc) or type(exc).__name__
