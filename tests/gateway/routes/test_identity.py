"""`/health` says who the gateway is; `GET /xx/ready` says whether a tier can serve an agent now, and why not."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
from support.servers import free_port

from gateway.config import identity, load


def config_text(sim_url: str, port: int) -> str:
    return f"""
[gateway]
port = {port}
default_tier = "keyed"

[providers.or]
protocol = "openai"
base_url = "http://127.0.0.1:9/v1"
api_key = "$XX_TEST_UNSET_KEY"

[providers.sim]
protocol = "openai"
base_url = "{sim_url}/v1"

[pools.tiny]
rpm = 1

[models.paid]
provider = "or"
id = "vendor/paid"

[models.scarce]
provider = "sim"
id = "sim/kimi-k2.6:free"
pool = "tiny"

[models.plenty]
provider = "sim"
id = "sim/nemotron-3-super:free"

[tiers.keyed]
letter = "k"
big = ["paid"]

[tiers.busy]
letter = "b"
big = ["scarce"]
small = ["paid"]

[tiers.open]
letter = "o"
big = ["plenty"]
"""


def start(tmp_path: Path, sim_url: str, make_gateway, monkeypatch, **env: str):
    cfg = tmp_path / "config.toml"
    cfg.write_text(config_text(sim_url, free_port()))
    monkeypatch.delenv("XX_TEST_UNSET_KEY", raising=False)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    return cfg, make_gateway(load(cfg))


def test_health_names_config_hash_and_key_fingerprints_never_values(tmp_path, simulator_thread, make_gateway,
                                                                     monkeypatch) -> None:
    cfg, gw = start(tmp_path, simulator_thread.url, make_gateway, monkeypatch, XX_DEMO="1")
    doc = httpx.get(gw.url + "/health", timeout=5).json()
    assert doc["service"] == "xx-gateway" and doc["config"] == str(cfg.resolve())
    assert doc["config_hash"] == identity.config_hash(str(cfg)) and doc["demo"] is True
    assert doc["keys"] == {"XX_TEST_UNSET_KEY": None} and doc["in_flight"] == 0


def test_health_fingerprints_a_set_key(tmp_path, simulator_thread, make_gateway, monkeypatch) -> None:
    _, gw = start(tmp_path, simulator_thread.url, make_gateway, monkeypatch, XX_TEST_UNSET_KEY="sk-very-secret")
    text = httpx.get(gw.url + "/health", timeout=5).text
    assert "sk-very-secret" not in text
    assert httpx.get(gw.url + "/health", timeout=5).json()["keys"] == {
        "XX_TEST_UNSET_KEY": identity.fingerprint("sk-very-secret")}


def test_ready_names_the_missing_variable_and_tiers_with_capacity(tmp_path, simulator_thread, make_gateway,
                                                                  monkeypatch) -> None:
    _, gw = start(tmp_path, simulator_thread.url, make_gateway, monkeypatch)
    doc = httpx.get(gw.url + "/xx/ready", params={"agent": "claude"}, timeout=5).json()
    assert doc["ok"] is False and doc["tier"] == "keyed" and doc["status"] == 401
    assert "$XX_TEST_UNSET_KEY unset" in doc["reason"]
    assert "set XX_TEST_UNSET_KEY" in doc["fix"] and "open (o)" in doc["fix"]
    assert doc["roles"]["big"]["usable"] == [] and doc["roles"]["big"]["skipped"][0]["model"] == "paid"
    ok = httpx.get(gw.url + "/xx/ready", params={"agent": "codex", "tier": "o"}, timeout=5).json()
    assert ok["ok"] is True and ok["roles"]["big"]["usable"] == ["plenty"]
    # /ready tells the same truth about the default tier
    r = httpx.get(gw.url + "/ready", timeout=5)
    assert r.status_code == 503 and r.json()["ready"] is False
    assert any("default tier 'keyed' cannot serve" in p for p in r.json()["problems"])


def test_ready_says_how_long_to_wait_when_quota_is_spent(tmp_path, simulator_thread, make_gateway,
                                                         monkeypatch) -> None:
    _, gw = start(tmp_path, simulator_thread.url, make_gateway, monkeypatch)
    r = httpx.post(gw.url + "/x/codex/p/busy/v1/chat/completions", timeout=10,
                   json={"model": "m", "messages": [{"role": "user", "content": "hi"}]})
    assert r.status_code == 200
    t0 = time.monotonic()
    doc = httpx.get(gw.url + "/xx/ready", params={"agent": "codex", "tier": "busy"}, timeout=5).json()
    assert time.monotonic() - t0 < 1.0
    assert doc["ok"] is False and doc["status"] == 429 and doc["retry_after"] >= 1
    assert "wait " in doc["fix"] and "open (o)" in doc["fix"]
    assert doc["roles"]["big"]["skipped"][0]["until"] is not None


def test_ready_warns_about_an_empty_side_role_and_refuses_bad_queries(tmp_path, simulator_thread, make_gateway,
                                                                      monkeypatch) -> None:
    _, gw = start(tmp_path, simulator_thread.url, make_gateway, monkeypatch)
    doc = httpx.get(gw.url + "/xx/ready", params={"tier": "b"}, timeout=5).json()
    assert doc["ok"] is True and any(w.startswith("role small:") for w in doc["warnings"])
    r = httpx.get(gw.url + "/xx/ready", params={"tier": "nope"}, timeout=5)
    assert r.status_code == 404 and "unknown tier 'nope'" in r.json()["error"]["message"]
    r = httpx.get(gw.url + "/xx/ready", params={"route": "x"}, timeout=5)
    assert r.status_code == 400
    bypass = httpx.get(gw.url + "/xx/ready", params={"route": "b", "model": "sim/nemotron-3-super:free"}, timeout=5)
    assert bypass.json()["ok"] is True and bypass.json()["roles"]["big"]["usable"] == ["plenty"]
