"""`xx models` in a subprocess: config-only when the gateway is down, live health when it runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
from support.servers import free_port

from gateway.simulator.config import sim_config_text


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "xx", "models", *args], env=env, capture_output=True, text=True, timeout=60)


def test_models_offline_then_live(simulator_thread, tmp_path: Path) -> None:
    port = free_port()
    cfg = tmp_path / "config.toml"
    cfg.write_text(sim_config_text(simulator_thread.url, port=port, rpm=1000, rpd=10000))
    env = {**os.environ, "XX_CONFIG": str(cfg), "XDG_STATE_HOME": str(tmp_path / "state"), "HOME": str(tmp_path)}
    r = run(env, "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["live"] is False and {m["name"] for m in out["models"]} >= {"sim-kimi", "sim-claude"}
    kimi = next(m for m in out["models"] if m["name"] == "sim-kimi")
    assert kimi["tiers"]["free"] == ["big", "middle"] and kimi["pool"] == "sim-free"
    assert "config only" in run(env).stdout
    up = subprocess.run([sys.executable, "-m", "xx", "gateway", "up"], env=env, capture_output=True, text=True, timeout=60)
    assert up.returncode == 0, up.stderr
    try:
        simulator_thread.fault("sim/kimi-k2.6:free", {"kind": "rate_limit", "retry_after": 120})
        httpx.post(f"http://127.0.0.1:{port}/x/t/p/free/v1/chat/completions", timeout=30,
                   json={"model": "m", "messages": [{"role": "user", "content": "hi"}]})
        out = json.loads(run(env, "--json").stdout)
        assert out["live"] is True
        kimi = next(m for m in out["models"] if m["name"] == "sim-kimi")
        assert kimi["state"] == "cooling" and kimi["until"]
        text = run(env).stdout
        assert "sim-kimi" in text and "cooling" in text and "last error" in text
    finally:
        subprocess.run([sys.executable, "-m", "xx", "gateway", "down"], env=env, capture_output=True, timeout=60)
