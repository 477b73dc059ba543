"""Test support: a real gateway on a loopback port, served by Hypercorn in a background thread."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from hypercorn.asyncio import serve
from hypercorn.config import Config as HyperConfig
from support.loopback import LoopbackServer

from gateway.app import create_app
from gateway.config import Config, parse


def wait_for(check: Callable[[], Any], timeout: float, what: str, interval: float = 0.1) -> Any:
    """Poll `check` until it returns something truthy; fail naming `what` and the last value seen."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}; last:\n{last!r}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class GatewayThread:
    """Runs create_app(config) under Hypercorn in its own thread and event loop."""

    def __init__(self, config: Config, ledger: Path, clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self.ledger_path = ledger
        self.app = create_app(config, ledger_path=ledger, clock=clock)
        self.rt = self.app.extensions["xx"]
        self.url = f"http://127.0.0.1:{config.gateway.port}"
        self._loop = asyncio.new_event_loop()
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._stop = asyncio.Event()
        hc = HyperConfig()
        hc.bind = [f"{self.config.gateway.host}:{self.config.gateway.port}"]
        hc.graceful_timeout = 5
        hc.accesslog = None
        self._loop.run_until_complete(serve(self.app, hc, shutdown_trigger=self._stop.wait))

    def start(self) -> GatewayThread:
        self._thread.start()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/health", timeout=0.5).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.02)
        raise RuntimeError("gateway did not start")

    def stop(self) -> None:
        if self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=15)

    def rows(self, at_least: int = 0, timeout: float = 3.0) -> list[dict]:
        """Ledger rows, newest first; waits for `at_least` rows (a client can finish before the row commits)."""
        assert self.rt.ledger is not None
        deadline = time.monotonic() + timeout
        rows = self.rt.ledger.recent(1000)
        while len(rows) < at_least and time.monotonic() < deadline:
            time.sleep(0.02)
            rows = self.rt.ledger.recent(1000)
        return rows


def config_for(sim_url: str, port: int, extra: str = "", *, rpm: int = 100_000, rpd: int = 1_000_000) -> Config:
    """The simulator's config with quotas out of the way (tests of quotas pass their own)."""
    from gateway.simulator.config import sim_config_text

    return parse(sim_config_text(sim_url, port=port, rpm=rpm, rpd=rpd) + extra, source="<test>", env={})


class CannedUpstream(LoopbackServer):
    """A loopback provider that answers every POST with the same canned bytes (for malformed-output tests)."""

    def __init__(self, body: bytes, content_type: str = "application/json", status: int = 200) -> None:
        self.body, self.content_type, self.status = body, content_type, status
        self.calls = 0
        super().__init__()

    async def handle(self, request: Any) -> Any:
        from aiohttp import web

        self.calls += 1
        await request.read()
        return web.Response(body=self.body, status=self.status, content_type=self.content_type.split(";")[0])
