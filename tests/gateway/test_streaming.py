"""Streams pass through as they arrive, a client disconnect cancels the upstream, and the ledger says so."""

from __future__ import annotations

import asyncio
import json
import threading
import time

import aiohttp
import httpx
import pytest
from aiohttp import web
from support.servers import config_for, free_port

from gateway.config import parse

BODY = {"model": "x", "max_tokens": 300, "stream": True,
        "messages": [{"role": "user", "content": "one two three four five six seven eight nine ten"}]}


@pytest.fixture
def setup(simulator_thread, make_gateway):
    cfg = config_for(simulator_thread.url, free_port())
    tier = next(t for t in cfg.tiers.values() if t.roles.get("big")
                and cfg.providers[cfg.models[t.roles["big"][0]].provider].dialect == "anthropic")
    model = cfg.models[tier.roles["big"][0]]
    return simulator_thread, make_gateway(cfg), tier.name, model


def test_stream_is_not_buffered(setup) -> None:
    sim, gw, tier, model = setup
    sim.always(model.id, {"kind": "slow", "delay": 0.25})
    arrivals: list[float] = []
    t0 = time.monotonic()
    with httpx.stream("POST", f"{gw.url}/x/t/p/{tier}/v1/messages", json=BODY, timeout=30) as r:
        assert r.status_code == 200
        for chunk in r.iter_raw():
            if chunk:
                arrivals.append(time.monotonic() - t0)
    assert len(arrivals) >= 5, arrivals
    # the provider paused 0.25 s between chunks: had the gateway buffered, everything would land at the end
    assert arrivals[-1] - arrivals[0] > 0.25 * 4, arrivals
    assert arrivals[0] < arrivals[-1] - 0.75


class SlowUpstream:
    """An Anthropic-speaking upstream that streams forever and notes when its peer hangs up."""

    def __init__(self) -> None:
        self.hung_up_at: float | None = None
        self.sent = 0
        self.url = ""
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None

    async def handler(self, request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"content-type": "text/event-stream"})
        await resp.prepare(request)
        start = {"type": "message_start", "message": {"id": "m", "type": "message", "role": "assistant", "content": [],
                 "model": "slow", "usage": {"input_tokens": 5, "output_tokens": 0}}}
        try:
            await resp.write(f"event: message_start\ndata: {json.dumps(start)}\n\n".encode())
            while True:
                await asyncio.sleep(0.1)
                await resp.write(b"event: ping\ndata: {\"type\": \"ping\"}\n\n")
                self.sent += 1
        except (ConnectionResetError, asyncio.CancelledError, aiohttp.ClientConnectionResetError):
            self.hung_up_at = time.monotonic()
            raise

    def _run(self) -> None:
        async def main() -> None:
            app = web.Application()
            app.router.add_post("/v1/messages", self.handler)
            runner = web.AppRunner(app, handler_cancellation=True)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
            self.url = f"http://127.0.0.1:{port}"
            self._stop = asyncio.Event()
            self._ready.set()
            await self._stop.wait()
            await runner.cleanup()

        asyncio.run(main())

    def start(self) -> SlowUpstream:
        self._thread.start()
        self._ready.wait(10)
        return self


def test_client_disconnect_cancels_upstream_and_ledger_says_aborted(make_gateway) -> None:
    up = SlowUpstream().start()
    cfg = parse(f"""
[gateway]
port = {free_port()}
[providers.slow]
protocol = "anthropic"
base_url = "{up.url}"
[models.slow]
provider = "slow"
[tiers.t]
letter = "t"
big = ["slow"]
""", env={})
    gw = make_gateway(cfg)
    with httpx.Client(timeout=30) as client, client.stream("POST", f"{gw.url}/x/t/p/t/v1/messages", json=BODY) as r:
        chunks = r.iter_raw()  # keep a reference: a collected iterator closes the response
        assert next(chunks)
        time.sleep(0.35)
        assert up.hung_up_at is None and up.sent >= 2
        closed_at = time.monotonic()
    # the client hung up; within a second the gateway drops its upstream request and records the abort
    deadline = closed_at + 1.0
    while time.monotonic() < deadline and (up.hung_up_at is None or not gw.rows()):
        time.sleep(0.02)
    assert up.hung_up_at is not None, "upstream still streaming a second after the client left"
    assert up.hung_up_at - closed_at < 1.0
    rows = gw.rows()
    assert len(rows) == 1
    assert rows[0]["outcome"] == "aborted" and rows[0]["attempts"][0]["outcome"] == "aborted"
    assert gw.rt.in_flight == 0


def test_reset_mid_stream_ends_with_an_error_event(setup) -> None:
    sim, gw, tier, model = setup
    sim.fault(model.id, {"kind": "reset", "after_chunks": 2})
    with httpx.stream("POST", f"{gw.url}/x/t/p/{tier}/v1/messages", json=BODY, timeout=30) as r:
        text = r.read().decode()
    assert "event: error" in text
    rows = gw.rows()
    assert rows[0]["outcome"] == "error" and rows[0]["status"] == 502


def test_stall_before_first_byte_times_out_cleanly(simulator_thread, make_gateway) -> None:
    cfg = config_for(simulator_thread.url, free_port(), extra="")
    from gateway.config import Timeouts
    from gateway.config.record import replace

    cfg = replace(cfg, gateway=replace(cfg.gateway, timeouts=Timeouts(connect=2, first_byte=0.5, idle=0.5)))
    gw = make_gateway(cfg)
    tier = next(t for t in cfg.tiers.values() if t.roles.get("big")
                and cfg.providers[cfg.models[t.roles["big"][0]].provider].dialect == "anthropic")
    for name in tier.roles["big"]:
        simulator_thread.always(cfg.models[name].id, {"kind": "stall", "seconds": 3})
    t0 = time.monotonic()
    r = httpx.post(f"{gw.url}/x/t/p/{tier.name}/v1/messages", json={**BODY, "stream": False}, timeout=30)
    assert r.status_code == 504, r.text
    assert r.json()["type"] == "error"
    assert time.monotonic() - t0 < 0.5 * len(tier.roles["big"]) + 1.5
