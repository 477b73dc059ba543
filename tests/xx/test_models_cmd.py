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
    elsewhere = run(env, "--url", f"http://127.0.0.1:{free_port()}")  # asked about a gateway that is not there
    assert elsewhere.returncode == 1 and "no gateway answers at" in elsewhere.stderr, elsewhere
    assert "token" in subprocess.run([sys.executable, "-m", "xx", "gateway", "--help"], env=env, capture_output=True,
                                     text=True, timeout=60).stdout.split("positional arguments")[0]
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
        pool = next(p for p in out["pools"] if p["name"] == "sim-free")  # live pools: the gateway's counts
        assert pool["keys"][0]["rpd"]["used"] >= 1 and pool["keys"][0]["rpd"]["limit"] == 10000
        assert "POOL" in text and "sim-free" in text.split("POOL", 1)[1]
    finally:
        subprocess.run([sys.executable, "-m", "xx", "gateway", "down"], env=env, capture_output=True, timeout=60)


def test_pools_and_keys_rendered_from_the_gateway_view() -> None:
    from xx.models_cmd import render_pools

    now = 1_800_000_000.0
    pools = [{"name": "openrouter-free", "max_concurrency": 4, "keys": [
        {"ref": "$OR_1", "key": "1a2b3c4d", "rpm": {"used": 3, "limit": 20}, "rpd": {"used": 50, "limit": 50,
         "reset_at": now + 3 * 3600 + 120}, "in_flight": 2, "skip": "pool 'openrouter-free' key 1a2b3c4d: 50 requests per UTC day used"},
        {"ref": "$OR_2", "key": "9f8e7d6c", "rpm": {"used": 0, "limit": 20}, "rpd": {"used": 7, "limit": 50,
         "reset_at": now + 3 * 3600 + 120}, "in_flight": 0, "skip": None, "cooling_until": now + 30},
    ]}]
    lines = render_pools(pools, now)
    assert lines[0].split() == ["POOL", "KEY", "RPM", "TODAY", "RESETS", "IN", "FLIGHT", "SKIPPED", "BECAUSE"]
    assert "$OR_1 1a2b3c4d" in lines[1] and "3/20" in lines[1] and "50/50" in lines[1] and "in 3h02m" in lines[1]
    assert "2/4" in lines[1] and "50 requests per UTC day used" in lines[1]
    assert "cooling 30s" in lines[2]


def test_pools_offline_show_each_key_by_fingerprint_never_the_value(tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text('[providers.or]\nprotocol = "openai"\nbase_url = "https://openrouter.ai/api/v1"\n'
                   'api_keys = ["$OR_1", "$OR_2"]\npool = "free"\n[pools.free]\nrpd = 50\nmax_concurrency = 4\n'
                   '[models.a]\nprovider = "or"\nid = "a:free"\n[tiers.free]\nletter = "f"\nbig = ["a"]\n'
                   f'[gateway]\nport = {free_port()}\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "XX_"))}
    env.update(XX_CONFIG=str(cfg), XDG_STATE_HOME=str(tmp_path / "state"), HOME=str(tmp_path),
               OR_1="sk-or-v1-secret-one")
    r = run(env, "--json")
    assert r.returncode == 0, r.stderr
    pool = json.loads(r.stdout)["pools"][0]
    assert [(k["ref"], k["skip"]) for k in pool["keys"]] == [("$OR_1", None), ("$OR_2", "$OR_2 unset")]
    text = run(env).stdout
    assert "POOL" in text and "-/50" in text and "$OR_2 unset" in text
    assert "sk-or-v1-secret-one" not in r.stdout + text
