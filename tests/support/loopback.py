"""One threaded aiohttp server on a loopback port: the base of the tests' stand-in upstreams.

Each stand-in (canned, scripted, replayed recordings) only says how it answers a POST; where
it listens, how it starts and how it stops live here once.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any, Self


class LoopbackServer:
    """Serves `handle(request)` for every POST path from its own thread and event loop."""

    client_max_size = 64 * 1024 * 1024

    def __init__(self) -> None:
        self.url = ""
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)

    async def handle(self, request: Any) -> Any:
        raise NotImplementedError

    async def _main(self) -> None:
        from aiohttp import web

        app = web.Application(client_max_size=self.client_max_size)
        app.router.add_route("POST", "/{tail:.*}", self.handle)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"  # type: ignore[union-attr]
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        self._ready.set()
        await self._stop.wait()
        await runner.cleanup()

    def start(self) -> Self:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError(f"{type(self).__name__} did not start")
        return self

    def stop(self) -> None:
        if self._loop and self._stop:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)
