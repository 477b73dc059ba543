"""Prompt caches that hit through the gateway, measured on the simulator's real prefix-cache model.

A scripted 10-turn Claude-Code-shaped conversation (billing header block whose cch changes
every turn, 20 tools, growing messages) to a Chat-only model reads >= 90 % of its input
from cache from turn 3 with shaping on; the same run with shaping off shows the collapse.
Breakpoints are injected for an Anthropic model; the exact replay cache answers
byte-identical without calling upstream and coalesces concurrent twins.
"""

from __future__ import annotations

import concurrent.futures
import time

import httpx
import pytest
from support.servers import free_port

from gateway.config import parse
from gateway.simulator.config import sim_config_text

TOOLS = [{"name": f"Tool{i}", "description": f"Tool number {i}. " + "It does a careful thing with files. " * 12,
          "input_schema": {"type": "object", "properties": {"path": {"type": "string"}, "n": {"type": "integer"}}}}
         for i in range(20)]
SYSTEM_PROMPT = "You are Claude Code, Anthropic's official CLI for Claude. " + "Follow the repository conventions. " * 150


def claude_turn(turn: int, history: list[dict], *, breakpoints: bool = True) -> dict:
    system = [{"type": "text", "text": f"x-anthropic-billing-header: cc_version=2.1.197; cc_entrypoint=sdk-cli; cch={turn * 7919 % 99991:05x};"},
              {"type": "text", "text": SYSTEM_PROMPT}]
    if breakpoints:
        system[1]["cache_control"] = {"type": "ephemeral"}
    return {"model": "claude-sonnet-4-6", "max_tokens": 200, "system": system, "tools": TOOLS, "messages": history,
            "metadata": {"user_id": '{"device_id":"d1","session_id":"s-cache-test"}'}}


def converse(url: str, path: str, turns: int = 10, *, breakpoints: bool = True) -> list[float]:
    history: list[dict] = []
    ratios = []
    with httpx.Client(timeout=30, headers={"x-claude-code-session-id": "s-cache-test"}) as c:
        for turn in range(turns):
            history.append({"role": "user", "content": f"turn {turn}: please look at module {turn} and explain it " * 5})
            r = c.post(url + path, json=claude_turn(turn, history, breakpoints=breakpoints))
            assert r.status_code == 200, r.text
            u = r.json()["usage"]
            total = u["input_tokens"] + u.get("cache_read_input_tokens", 0) + u.get("cache_creation_input_tokens", 0)
            ratios.append(u.get("cache_read_input_tokens", 0) / total)
            history.append({"role": "assistant", "content": r.json()["content"][0]["text"]})
    return ratios


def config_text(sim_url: str, *, shaping_off: bool = False) -> str:
    text = sim_config_text(sim_url, port=free_port(), rpm=100_000, rpd=1_000_000)
    if shaping_off:
        for p in ("sim-openai", "sim-anthropic"):
            text = text.replace(f"[providers.{p}]\n", f"[providers.{p}]\nshaping = {{ strip_billing_header = false, inject_cache_control = false }}\n")
    return text


@pytest.fixture
def two_gateways(simulator_thread, make_gateway):
    on = make_gateway(parse(config_text(simulator_thread.url), env={}))
    off = make_gateway(parse(config_text(simulator_thread.url, shaping_off=True), env={}))
    return simulator_thread, on, off


def test_claude_code_conversation_hits_the_cache_on_a_chat_model_with_shaping(two_gateways) -> None:
    _sim, on, off = two_gateways
    shaped = converse(on.url, "/x/claude/p/free/v1/messages")
    unshaped = converse(off.url, "/x/claude/p/free/v1/messages")
    print("cached share per turn, shaping on :", [f"{r:.0%}" for r in shaped])
    print("cached share per turn, shaping off:", [f"{r:.0%}" for r in unshaped])
    assert all(r >= 0.90 for r in shaped[2:]), shaped
    # without shaping only the tool list (serialised before the system prompt) can match: the billing header
    # changes at the head of the system prompt every turn, so the prompt and the whole history miss
    assert max(unshaped[2:]) < 0.75 and sum(shaped[2:]) - sum(unshaped[2:]) > 0.3 * 8, unshaped
    # the gateway's own view agrees: HIT classes and savings in /xx/stats and /metrics
    stats = httpx.get(on.url + "/xx/stats", timeout=5).json()
    assert stats["cache"]["classes"]["HIT"] >= 8
    assert stats["cache"]["hit_ratio"] > 0.7
    metrics = httpx.get(on.url + "/metrics", timeout=5).text
    assert 'xx_cache_requests_total{class="HIT"' in metrics
    off_stats = httpx.get(off.url + "/xx/stats", timeout=5).json()
    assert off_stats["cache"]["hit_ratio"] < stats["cache"]["hit_ratio"] - 0.25


def test_breakpoints_are_injected_for_an_anthropic_model(two_gateways) -> None:
    sim, on, off = two_gateways
    unshaped = converse(off.url, "/x/claude/p/claude/v1/messages", breakpoints=False)
    shaped = converse(on.url, "/x/claude/p/claude/v1/messages", breakpoints=False)
    assert all(r >= 0.90 for r in shaped[2:]), shaped
    assert max(unshaped) == 0, unshaped
    upstream = [r for r in sim.requests() if r["path"].endswith("/v1/messages")]
    sent = upstream[-1]["body"]  # the last request of the shaped run
    marks = [b for b in sent["system"] if isinstance(b, dict) and "cache_control" in b]
    assert marks and len(str(sent).split("cache_control")) - 1 <= 4
    stats = httpx.get(on.url + "/xx/stats", timeout=5).json()
    assert stats["by_model"]["sim-claude"]["saved_usd"] > 0


def test_a_request_with_four_breakpoints_is_left_alone(two_gateways) -> None:
    sim, on, _ = two_gateways
    body = claude_turn(0, [{"role": "user", "content": [
        {"type": "text", "text": "a " * 50, "cache_control": {"type": "ephemeral"}},
        {"type": "text", "text": "b " * 50, "cache_control": {"type": "ephemeral"}},
        {"type": "text", "text": "c " * 50, "cache_control": {"type": "ephemeral"}}]}])
    r = httpx.post(on.url + "/x/claude/p/claude/v1/messages", json=body, timeout=30)
    assert r.status_code == 200, r.text
    sent = sim.requests()[-1]["body"]
    assert sent["messages"] == body["messages"]
    assert sum(1 for b in sent["system"] if "cache_control" in b) == 1


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
def test_replay_is_byte_identical_and_coalesces(simulator_thread, make_gateway, stream: bool) -> None:
    g = make_gateway(parse(config_text(simulator_thread.url), env={}))
    body = {"model": "m", "stream": stream, "messages": [{"role": "user", "content": f"replay me {stream}"}]}
    url = g.url + "/x/ci/p/free/v1/chat/completions"
    h = {"x-xx-replay": "1"}
    first = httpx.post(url, json=body, headers=h, timeout=30)
    calls = simulator_thread.calls()
    second = httpx.post(url, json=body, headers=h, timeout=30)
    assert second.content == first.content and second.headers["x-xx-replay"] == "1"
    assert simulator_thread.calls() == calls
    assert g.rows()[0]["cache_class"] == "REPLAY"
    twin = {**body, "messages": [{"role": "user", "content": f"twenty at once {stream}"}]}
    with concurrent.futures.ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(lambda _: httpx.post(url, json=twin, headers=h, timeout=30), range(20)))
    assert {a.status_code for a in answers} == {200}
    assert len({a.content for a in answers}) == 1
    assert simulator_thread.calls() == calls + 1, "20 identical requests in flight share one upstream call"
    stats = httpx.get(g.url + "/xx/stats", timeout=5).json()
    assert stats["cache"]["classes"]["REPLAY"] >= 20
    deadline = time.monotonic() + 3
    while g.rt.in_flight and time.monotonic() < deadline:
        time.sleep(0.02)
    assert g.rt.in_flight == 0, "a replay leader's request was never counted out"
