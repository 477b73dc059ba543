"""A real gateway process: kill -9 loses no completed request; planted keys appear nowhere."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from support.servers import free_port

FAKE_KEY = "sk-or-v1-PLANTED0123456789abcdefSECRET"


def start_gateway(cfg_path: Path, state: Path, extra_env: dict[str, str] | None = None) -> tuple[subprocess.Popen, str]:
    env = {**os.environ, "XX_CONFIG": str(cfg_path), "XDG_STATE_HOME": str(state), **(extra_env or {})}
    log = (state / "stdout.log").open("ab")
    proc = subprocess.Popen([sys.executable, "-m", "gateway"], env=env, stdout=log, stderr=log)
    port = int(cfg_path.read_text().split("port = ", 1)[1].split()[0])
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/health", timeout=0.3).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError((state / "stdout.log").read_text())


def write_config(tmp_path: Path, sim_url: str, key_ref: str | None = None) -> Path:
    from gateway.simulator.config import sim_config_text

    text = sim_config_text(sim_url, port=free_port(), rpm=100_000, rpd=1_000_000)
    if key_ref:
        for proto in ("anthropic", "openai", "responses"):
            text = text.replace(f'dialect = "{proto}"', f'dialect = "{proto}"\napi_key = "{key_ref}"')
    cfg = tmp_path / "config.toml"
    cfg.write_text(text)
    return cfg


def chat_tier(cfg_path: Path):
    from gateway.config import parse

    cfg = parse(cfg_path.read_text(), env={"SIM_KEY": FAKE_KEY})
    tier = next(t for t in cfg.tiers.values() if t.roles.get("big")
                and cfg.providers[cfg.models[t.roles["big"][0]].provider].dialect == "openai")
    return cfg, tier


def test_kill_9_during_a_burst_loses_no_completed_request(simulator_thread, tmp_path: Path) -> None:
    cfg_path = write_config(tmp_path, simulator_thread.url)
    state = tmp_path / "state"
    state.mkdir()
    proc, url = start_gateway(cfg_path, state)
    _, tier = chat_tier(cfg_path)
    completed: list[str] = []
    stop = threading.Event()

    def client(i: int) -> None:
        with httpx.Client(timeout=5) as c:
            n = 0
            while not stop.is_set():
                n += 1
                body = {"model": "m", "stream": n % 2 == 0, "messages": [{"role": "user", "content": f"burst {i} {n}"}]}
                try:
                    r = c.post(f"{url}/x/burst/p/{tier.name}/v1/chat/completions", json=body)
                    r.read()
                except httpx.HTTPError:
                    return
                if r.status_code == 200:
                    completed.append(r.headers["x-xx-exchange"])

    threads = [threading.Thread(target=client, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    time.sleep(1.5)
    proc.send_signal(signal.SIGKILL)
    proc.wait(5)
    stop.set()
    for t in threads:
        t.join(10)
    assert len(completed) > 20, "the burst did not get going"
    db = state / "xx" / "ledger.sqlite3"
    ids = {row[0] for row in sqlite3.connect(db).execute("SELECT id FROM exchanges")}
    missing = [i for i in completed if i not in ids]
    assert not missing, f"{len(missing)} of {len(completed)} completed requests missing from the ledger"
    # and the gateway starts again on the same ledger
    proc2, url2 = start_gateway(cfg_path, state)
    try:
        rows = httpx.get(url2 + "/xx/requests?limit=1000", timeout=5).json()["requests"]
        assert {r["id"] for r in rows} >= set(completed[-100:])
    finally:
        proc2.terminate()
        proc2.wait(10)


def test_planted_key_never_leaks(simulator_thread, tmp_path: Path) -> None:
    cfg_path = write_config(tmp_path, simulator_thread.url, key_ref="$SIM_KEY")
    state = tmp_path / "state"
    state.mkdir()
    proc, url = start_gateway(cfg_path, state, {"SIM_KEY": FAKE_KEY})
    cfg, tier = chat_tier(cfg_path)
    events: list[str] = []

    def listen() -> None:
        try:
            with httpx.stream("GET", url + "/xx/events", timeout=httpx.Timeout(5, read=None)) as r:
                for line in r.iter_lines():
                    events.append(line)
        except httpx.HTTPError:
            pass

    threading.Thread(target=listen, daemon=True).start()
    time.sleep(0.3)
    try:
        # the provider echoes the key in its error (real providers do: "Incorrect API key provided: sk-…")
        first = cfg.models[tier.roles["big"][0]].id
        simulator_thread.fault(first, {"kind": "status", "status": 401, "message": f"Incorrect API key provided: {FAKE_KEY}"})
        bad = httpx.post(f"{url}/x/leak/p/{tier.name}/v1/chat/completions",
                         json={"model": "m", "messages": [{"role": "user", "content": "hi"}]}, timeout=10)
        ok = httpx.post(f"{url}/x/leak/p/{tier.name}/v1/chat/completions",
                        json={"model": "m", "messages": [{"role": "user", "content": "hi"}]}, timeout=10)
        assert ok.status_code == 200
        # the upstream really received the key (so the test would see a leak if there were one)
        seen = simulator_thread.requests()
        assert seen and all("authorization" in r["headers"] for r in seen)
        assert bad.status_code >= 400
        assert FAKE_KEY not in bad.text and FAKE_KEY[-12:] not in bad.text
        stats = httpx.get(url + "/xx/stats", timeout=5).text + httpx.get(url + "/metrics", timeout=5).text
        requests = httpx.get(url + "/xx/requests", timeout=5).text
        assert "Incorrect API key" in requests  # the error is recorded, scrubbed
        time.sleep(0.3)
    finally:
        proc.terminate()
        proc.wait(15)
    ledger = (state / "xx" / "ledger.sqlite3").read_bytes()
    wal = state / "xx" / "ledger.sqlite3-wal"
    if wal.exists():
        ledger += wal.read_bytes()
    logs = "".join(p.read_text(errors="replace") for p in state.rglob("*.log"))
    for where, text in (("error body", bad.text), ("stats/metrics", stats), ("requests", requests),
                        ("events", "\n".join(events)), ("logs", logs), ("ledger", ledger.decode(errors="replace"))):
        assert FAKE_KEY not in text, f"key leaked into {where}"
    assert any("exchange" in e for e in events), "the event stream carried no exchange"
    assert json.loads(requests)["requests"]


@pytest.mark.parametrize("host", ["0.0.0.0"])
def test_public_bind_without_token_is_refused(tmp_path: Path, host: str) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[gateway]\nhost = "{host}"\nport = {free_port()}\n')
    env = {**os.environ, "XX_CONFIG": str(cfg), "XDG_STATE_HOME": str(tmp_path)}
    r = subprocess.run([sys.executable, "-m", "gateway"], env=env, capture_output=True, text=True, timeout=30)
    assert r.returncode == 2
    assert "not loopback" in r.stderr and "token" in r.stderr
