"""Requests the real CLIs send beside their main turn, found by running them (tests/agents)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
from support.servers import GatewayThread, config_for, free_port

# What Claude Code 2.1.197 sends for a model it does not know (e.g. xx-big): a role "system"
# message inside `messages`, with anthropic-beta mid-conversation-system-2026-04-07.
CLAUDE_MID_CONVERSATION_SYSTEM = {
    "model": "xx-big", "max_tokens": 64, "stream": False,
    "messages": [
        {"role": "user", "content": [{"type": "text", "text": "<system-reminder>ctx</system-reminder>"}]},
        {"role": "system", "content": "Available agent types for the Agent tool:\n- claude: catch-all"},
        {"role": "user", "content": [{"type": "text", "text": "say hi"}]},
    ],
}


def _claude_would_fall_back(message: str) -> bool:
    """Claude Code's own test (2.1.197) for 'this server rejects role system: retry without it'."""
    return ("Unexpected role" in message and "input message role" in message) or (
        "not supported" in message and re.search(r"role .{0,2}system", message, re.I) is not None
    )


def test_mid_conversation_system_message(simulator_thread: Any, tmp_path: Path) -> None:
    gw = GatewayThread(config_for(simulator_thread.url, free_port()), tmp_path / "ledger.sqlite").start()
    try:
        r = httpx.post(gw.url + "/x/claude/p/free/v1/messages", json=CLAUDE_MID_CONVERSATION_SYSTEM,
                       headers={"anthropic-beta": "mid-conversation-system-2026-04-07", "anthropic-version": "2023-06-01"},
                       timeout=30)
    finally:
        gw.stop()
    ok = r.status_code == 200 or (r.status_code == 400 and _claude_would_fall_back(r.json()["error"]["message"]))
    assert ok, (r.status_code, r.text)


def test_hermes_model_probe(simulator_thread: Any, tmp_path: Path) -> None:
    gw = GatewayThread(config_for(simulator_thread.url, free_port()), tmp_path / "ledger.sqlite").start()
    try:
        r = httpx.get(gw.url + "/x/hermes/p/claude/v1/models/xx-big", timeout=10)
    finally:
        gw.stop()
    assert r.status_code == 200, (r.status_code, r.text)
    assert r.json()["id"] == "xx-big"


def test_a_missing_provider_key_is_a_401_that_names_the_variable(tmp_path: Path) -> None:
    from gateway.config import parse

    cfg = parse(f"""
[gateway]
port = {free_port()}
[providers.or]
protocol = "openai"
base_url = "http://127.0.0.1:9/v1"
api_key = "$XX_TEST_MISSING_KEY"
[models.m]
provider = "or"
[tiers.free]
letter = "f"
big = ["m"]
""", env={})
    gw = GatewayThread(cfg, tmp_path / "ledger.sqlite").start()
    try:
        r = httpx.post(gw.url + "/x/claude/p/free/v1/messages", timeout=10,
                       json={"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]})
        ready = httpx.get(gw.url + "/ready", timeout=5).json()
    finally:
        gw.stop()
    assert r.status_code == 401 and r.json()["error"]["type"] == "authentication_error"
    assert "$XX_TEST_MISSING_KEY" in r.json()["error"]["message"]
    assert any("$XX_TEST_MISSING_KEY" in p for p in ready["problems"])
