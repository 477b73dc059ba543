"""A real admin API on a loopback port, serving recorded fixtures (for Pilot tests, bench, screenshot).

Not a mock of httpx: the dashboard talks HTTP to this aiohttp server exactly as it would to the
gateway. Stopping it is "the gateway went down"; starting it again on the same port is "it came back".
"""

from __future__ import annotations

import asyncio
import copy
import json
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web
from support.servers import free_port

from gateway.protocols.sse import encode
from xx.dash import scene
from xx.dash.scene import T0, shift_times  # noqa: F401  (re-exported for the tests and the bench)


def load_fixtures(now: float | None = None) -> dict[str, Any]:
    """The recorded scene (xx/dash/scene), rebased so that the recording's 'now' is `now`."""
    return scene.load(now)


class AdminServer:
    """Serves `data` (as from `load_fixtures`) and broadcasts pushed SSE events to every subscriber."""

    def __init__(
        self, data: dict[str, Any], *, port: int | None = None, token: str | None = None, hello: bool = True
    ) -> None:
        self.data = copy.deepcopy(data)
        self.port = port or free_port()
        self.token = token
        self.hello = hello
        self.resets: list[str] = []
        self.hits: dict[str, int] = {}
        self._subscribers: set[asyncio.Queue[bytes | None]] = set()
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    def _app(self) -> web.Application:
        app = web.Application(middlewares=[self._auth])
        app.router.add_get("/health", self._json(lambda: self.data["health"]))
        app.router.add_get("/xx/stats", self._json(lambda: self.data["stats"]))
        app.router.add_get("/xx/models", self._json(lambda: self.data["models"]))
        app.router.add_get("/xx/requests", self._requests)
        app.router.add_get("/xx/events", self._events)
        app.router.add_post("/xx/models/{name}/reset", self._reset)
        return app

    @web.middleware
    async def _auth(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self.hits[request.path] = self.hits.get(request.path, 0) + 1
        if self.token and request.headers.get("x-xx-token") != self.token:
            return web.json_response({"error": "token required"}, status=401)
        return await handler(request)

    def _json(self, get: Any) -> Any:
        async def handler(_: web.Request) -> web.Response:
            return web.json_response(get())

        return handler

    async def _requests(self, request: web.Request) -> web.Response:
        limit = int(request.query.get("limit", "100"))
        return web.json_response({"requests": self.data["requests"]["requests"][:limit]})

    async def _reset(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        rows = self.data["models"]["models"]
        row = next((r for r in rows if r["name"] == name), None)
        if row is None:
            return web.json_response({"error": f"no model {name}"}, status=404)
        self.resets.append(name)
        row.update(state="healthy", detail=None, until=None)
        return web.json_response({"ok": True, "model": row})

    async def _events(self, request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"content-type": "text/event-stream", "cache-control": "no-cache"})
        await resp.prepare(request)
        queue: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._subscribers.add(queue)
        try:
            if self.hello:
                await resp.write(
                    encode(
                        json.dumps({"version": "0.1.0", "started": self.data["health"]["started"]}), "hello"
                    )
                )
            while (chunk := await queue.get()) is not None:
                await resp.write(chunk)
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            self._subscribers.discard(queue)
        return resp

    def push(self, event: str, data: Any) -> None:
        """Send one SSE event to every connected dashboard (and keep the REST views consistent)."""
        if event == "exchange":
            self.data["requests"]["requests"].insert(0, data)
            del self.data["requests"]["requests"][1000:]
        elif event == "model":
            rows = self.data["models"]["models"]
            self.data["models"]["models"] = [data if r["name"] == data["name"] else r for r in rows]
        chunk = encode(json.dumps(data), event)
        for q in self._subscribers:
            q.put_nowait(chunk)

    def push_raw(self, chunk: bytes) -> None:
        for q in self._subscribers:
            q.put_nowait(chunk)

    async def start(self) -> AdminServer:
        self._runner = web.AppRunner(self._app(), shutdown_timeout=0.2, handle_signals=False)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        return self

    async def stop(self) -> None:
        for q in list(self._subscribers):
            q.put_nowait(None)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> AdminServer:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


async def wait_until(
    pilot: Any, cond: Callable[[], bool], within: float = 5.0, what: str = "condition"
) -> None:
    """Let the app run until `cond()` holds; fail with `what` after `within` seconds."""
    deadline = time.monotonic() + within
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.02)
    await asyncio.sleep(0)
