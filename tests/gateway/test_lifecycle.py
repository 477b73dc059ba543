"""Graceful drain on SIGTERM, the events broker's bounds, idle-gap timeouts, and admin access off loopback."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from support.servers import config_for, free_port

from gateway.accounting.events import Broker
from gateway.config import Timeouts, parse
from gateway.config.record import replace
from gateway.simulator.config import sim_config_text

BODY = {"model": "m", "max_tokens": 100, "stream": True,
        "messages": [{"role": "user", "content": "one two three four five six seven eight"}]}


def test_sigterm_drains_an_in_flight_stream_before_exit(simulator_thread, tmp_path: Path) -> None:
    port = free_port()
    cfg = tmp_path / "config.toml"
    cfg.write_text(sim_config_text(simulator_thread.url, port=port, rpm=1000))
    env = {**os.environ, "XX_CONFIG": str(cfg), "XDG_STATE_HOME": str(tmp_path / "state")}
    proc = subprocess.Popen([sys.executable, "-m", "gateway"], env=env, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(150):
        try:
            if httpx.get(url + "/health", timeout=0.3).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.05)
    simulator_thread.always("claude-sim-sonnet", {"kind": "slow", "delay": 0.25})
    events: list[str] = []  # an /xx/events subscriber must not hold the shutdown up

    def listen() -> None:
        try:
            with httpx.stream("GET", url + "/xx/events", timeout=None) as ev:
                events.extend(ev.iter_lines())
        except httpx.HTTPError:
            pass

    threading.Thread(target=listen, daemon=True).start()
    with httpx.stream("POST", f"{url}/x/t/p/claude/v1/messages", json=BODY, timeout=30) as r:
        chunks = r.iter_raw()
        assert next(chunks)
        proc.send_signal(signal.SIGTERM)
        rest = b"".join(chunks).decode()
    assert "message_stop" in rest, "the stream in flight was cut instead of drained"
    assert proc.wait(15) == 0
    with pytest.raises(httpx.ConnectError):
        httpx.get(url + "/health", timeout=1)


def test_a_slow_event_subscriber_is_dropped_not_waited_for() -> None:
    async def run() -> None:
        broker = Broker(queue_size=5)
        stream = broker.stream({"hello": 1}, heartbeat=60)
        assert b"hello" in await anext(stream)
        for i in range(50):  # never read: the queue overflows
            broker.publish("exchange", {"i": i})
        assert broker.dropped == 1 and broker.subscribers == 0
        rest = [frame async for frame in stream]
        assert len(rest) <= 5  # what was queued before the drop, then the stream ends

    asyncio.run(run())


def test_an_idle_gap_mid_stream_ends_it_with_an_error_event(simulator_thread, make_gateway) -> None:
    cfg = config_for(simulator_thread.url, free_port())
    cfg = replace(cfg, gateway=replace(cfg.gateway, timeouts=Timeouts(connect=2, first_byte=5, idle=0.5)))
    gw = make_gateway(cfg)
    simulator_thread.fault("claude-sim-sonnet", {"kind": "stall_mid", "after_chunks": 2, "seconds": 5})
    t0 = time.monotonic()
    with httpx.stream("POST", f"{gw.url}/x/t/p/claude/v1/messages", json=BODY, timeout=30) as r:
        text = r.read().decode()
    assert time.monotonic() - t0 < 3
    assert "event: error" in text and "no data from upstream" in text
    row = gw.rows(at_least=1)[0]
    assert row["outcome"] == "error" and "no data" in row["error"]


def _public_ip() -> str | None:
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("192.0.2.1", 9))  # no packet is sent; this picks the outbound interface
            ip = s.getsockname()[0]
        return None if ip.startswith("127.") else ip
    except OSError:
        return None


def test_admin_and_proxy_routes_need_the_token_off_loopback(simulator_thread, make_gateway) -> None:
    ip = _public_ip()
    if ip is None:
        pytest.skip("this machine has no non-loopback IPv4 address to connect from")
    text = sim_config_text(simulator_thread.url, port=free_port(), rpm=1000).replace(
        'host = "127.0.0.1"', 'host = "0.0.0.0"\ntoken = "$XX_TEST_TOKEN"')
    gw = make_gateway(parse(text, env={"XX_TEST_TOKEN": "s3cret-token"}))
    port = gw.config.gateway.port
    outside = f"http://{ip}:{port}"
    assert httpx.get(f"http://127.0.0.1:{port}/xx/stats", timeout=5).status_code == 200
    assert httpx.get(outside + "/health", timeout=5).status_code == 200  # liveness stays open
    assert httpx.get(outside + "/xx/stats", timeout=5).status_code == 401
    assert httpx.get(outside + "/xx/stats", headers={"x-xx-token": "wrong"}, timeout=5).status_code == 401
    assert httpx.get(outside + "/xx/stats", headers={"x-xx-token": "s3cret-token"}, timeout=5).status_code == 200
    chat = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    assert httpx.post(outside + "/x/t/p/free/v1/chat/completions", json=chat, timeout=10).status_code == 401
    ok = httpx.post(outside + "/x/t/p/free/v1/chat/completions", json=chat, timeout=10,
                    headers={"authorization": "Bearer s3cret-token"})
    assert ok.status_code == 200
