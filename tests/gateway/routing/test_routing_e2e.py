"""Routing through the real gateway against the simulated provider, with an injected clock.

Cascade on 429 with Retry-After, breakers with exactly one half-open probe, pool quotas that
survive a restart, a clean 429 when everything is exhausted, streams that fail after their
first chunk, session affinity, and a load test with random upstream failures.
"""

from __future__ import annotations

import concurrent.futures
import random
import threading
import time

import anthropic
import httpx
import openai
import pytest
from support.servers import config_for, free_port

from gateway.simulator import ManualClock

DAY = 86400
START = 1_800_000_000 - 1_800_000_000 % DAY + 3600  # 01:00 UTC, so a day boundary is predictable
CHAT = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hello there"}]}


@pytest.fixture
def env(simulator_thread, make_gateway):
    def build(**kw):
        clock = ManualClock(START)
        cfg = config_for(simulator_thread.url, free_port(), **kw)
        gw = make_gateway(cfg, clock=clock)
        ids = {name: m.id for name, m in cfg.models.items()}
        return simulator_thread, gw, clock, cfg, ids

    return build


def chat(gw, tier: str = "free", **extra) -> httpx.Response:
    return httpx.post(f"{gw.url}/x/test/p/{tier}/v1/chat/completions", json={**CHAT, **extra}, timeout=30)


def test_429_with_retry_after_falls_back_and_skips_for_exactly_that_long(env) -> None:
    sim, gw, clock, cfg, ids = env()
    first, second = cfg.tiers["free"].roles["big"][:2]
    sim.fault(ids[first], {"kind": "rate_limit", "retry_after": 30})
    r = chat(gw)
    assert r.status_code == 200 and r.headers["x-xx-model"] == second
    row = gw.rows()[0]
    assert [(a["model"], a["status"]) for a in row["attempts"]] == [(first, 429), (second, 200)]
    assert sim.calls(ids[first]) == 1
    clock.advance(29)
    r = chat(gw)
    assert r.headers["x-xx-model"] == second
    assert sim.calls(ids[first]) == 1, "a cooling model must be skipped without calling it"
    assert any(s["model"] == first for s in gw.rows()[0]["skipped"])
    clock.advance(1.5)
    r = chat(gw)
    assert r.headers["x-xx-model"] == first and sim.calls(ids[first]) == 2


def test_breaker_opens_after_three_failures_and_sends_exactly_one_probe(env) -> None:
    sim, gw, clock, cfg, ids = env()
    first, second = cfg.tiers["free"].roles["big"][:2]
    sim.always(ids[first], {"kind": "status", "status": 503})
    for _ in range(3):
        assert chat(gw).headers["x-xx-model"] == second
    assert sim.calls(ids[first]) == 3
    chat(gw)
    assert sim.calls(ids[first]) == 3, "open breaker: not called"
    models = httpx.get(gw.url + "/xx/models", timeout=5).json()["models"]
    assert next(m for m in models if m["name"] == first)["state"] == "open"
    clock.advance(cfg.breaker.cooldown_s + 1)
    chat(gw)  # the half-open probe fails: re-opened
    assert sim.calls(ids[first]) == 4
    chat(gw)
    assert sim.calls(ids[first]) == 4
    clock.advance(cfg.breaker.cooldown_s + 1)
    sim.always(ids[first], None)
    assert chat(gw).headers["x-xx-model"] == first  # the probe succeeds and closes the breaker
    assert chat(gw).headers["x-xx-model"] == first
    assert sim.calls(ids[first]) == 6


def test_pool_rpm_skips_the_whole_pool_without_calling_it(env) -> None:
    sim, gw, clock, _cfg, _ids = env(rpm=2)
    assert chat(gw).status_code == 200
    assert chat(gw).status_code == 200
    before = sim.calls()
    r = chat(gw)
    assert sim.calls() == before, "over the pool's rpm: nothing may be called"
    assert r.status_code == 429
    err = r.json()["error"]
    assert "requests per minute" in err["message"] and err["type"]
    retry = int(r.headers["retry-after"])
    assert 1 <= retry <= 60
    clock.advance(61)
    assert chat(gw).status_code == 200


def test_all_exhausted_is_429_in_each_dialect_with_retry_after(env) -> None:
    _sim, gw, clock, _cfg, _ids = env(rpm=1)
    assert chat(gw).status_code == 200
    clock.advance(20)
    r = chat(gw)
    assert r.status_code == 429 and r.json()["error"]["message"]
    assert int(r.headers["retry-after"]) == 40
    msg = {"model": "claude-sonnet-4-6", "max_tokens": 50, "messages": [{"role": "user", "content": "hi"}]}
    a = httpx.post(f"{gw.url}/x/claude/p/free/v1/messages", json=msg, timeout=30)
    assert a.status_code == 429
    assert a.json()["type"] == "error" and a.json()["error"]["type"] == "rate_limit_error"
    assert int(a.headers["retry-after"]) == 40
    with pytest.raises(anthropic.RateLimitError):
        anthropic.Anthropic(base_url=f"{gw.url}/x/claude/p/free", api_key="x", max_retries=0).messages.create(**msg)
    with pytest.raises(openai.RateLimitError):
        openai.OpenAI(base_url=f"{gw.url}/x/qwen/p/free/v1", api_key="x", max_retries=0).chat.completions.create(**CHAT)


def test_rpd_survives_a_restart(env, make_gateway, tmp_path) -> None:
    sim, gw, clock, cfg, _ids = env(rpd=3)
    for _ in range(3):
        assert chat(gw).status_code == 200
        clock.advance(61)
    assert chat(gw).status_code == 429
    gw.stop()
    gw2 = make_gateway(cfg, clock=clock, ledger=gw.ledger_path)
    before = sim.calls()
    r = chat(gw2)
    assert r.status_code == 429 and "per UTC day" in r.json()["error"]["message"]
    assert sim.calls() == before
    clock.advance(DAY)  # a new UTC day
    assert chat(gw2).status_code == 200


def test_stream_failing_after_its_first_chunk_ends_with_an_error_the_sdk_raises(env) -> None:
    sim, gw, _clock, cfg, ids = env()
    first, second = cfg.tiers["claude"].roles["big"][:2]
    sim.fault(ids[first], {"kind": "reset", "after_chunks": 3})
    client = anthropic.Anthropic(base_url=f"{gw.url}/x/claude/p/claude", api_key="x", max_retries=0)
    text = []
    with pytest.raises((anthropic.APIError, httpx.HTTPError)), client.messages.stream(
            model="claude-sonnet-4-6", max_tokens=100,
            messages=[{"role": "user", "content": "tell me a long story please"}]) as s:
        for t in s.text_stream:
            text.append(t)
    assert f"({cfg.models[second].id})" not in "".join(text), "a second model's text was spliced in"
    assert sim.calls(ids[second]) == 0
    row = gw.rows(at_least=1)[0]
    assert row["outcome"] == "error" and len(row["attempts"]) == 1
    # the same through the OpenAI dialect, translated from an Anthropic model
    sim.fault(ids[first], {"kind": "reset", "after_chunks": 3})
    oc = openai.OpenAI(base_url=f"{gw.url}/x/qwen/p/claude/v1", api_key="x", max_retries=0)
    with pytest.raises((openai.APIError, httpx.HTTPError)):
        for _ in oc.chat.completions.create(model="m", messages=[{"role": "user", "content": "a long story"}], stream=True):
            pass


def test_a_conversation_stays_on_its_model_and_moves_only_when_it_must(env) -> None:
    sim, gw, _clock, cfg, ids = env()
    first, second = cfg.tiers["claude"].roles["big"][:2]
    sim.fault(ids[first], {"kind": "status", "status": 503})  # turn 1 lands on the second model
    messages: list[dict] = []
    served = []
    headers = {"x-claude-code-session-id": "5f0c3d0e-aaaa-bbbb-cccc-000000000001", "user-agent": "claude-cli/2.1.197"}
    for turn in range(10):
        if turn == 6:
            sim.fault(ids[second], {"kind": "rate_limit", "retry_after": 600})
        messages.append({"role": "user", "content": f"turn {turn}: keep going"})
        r = httpx.post(f"{gw.url}/x/claude/p/claude/v1/messages", headers=headers, timeout=30,
                       json={"model": "claude-sonnet-4-6", "max_tokens": 64, "messages": messages})
        assert r.status_code == 200
        served.append(r.headers["x-xx-model"])
        messages.append({"role": "assistant", "content": r.json()["content"][0]["text"]})
    assert served[:6] == [second] * 6, served  # sticky although the first model was healthy again
    assert served[6:] == [first] * 4, served  # moved when rate-limited, then stayed


def test_load_with_random_upstream_failures_never_500s_and_accounts_for_every_attempt(env) -> None:
    sim, gw, _clock, cfg, ids = env()
    for name in cfg.models:
        sim.fail_rate(ids[name], 0.2, seed=hash(name) % 1000)
    rnd = random.Random(7)

    def one(i: int) -> int:
        tier = rnd.choice(["free", "claude", "mixed"])
        if i % 2:
            r = httpx.post(f"{gw.url}/x/load/p/{tier}/v1/messages", timeout=30,
                           json={"model": "m", "max_tokens": 20, "stream": i % 4 == 1, "messages": [{"role": "user", "content": f"q{i}"}]})
        else:
            r = httpx.post(f"{gw.url}/x/load/p/{tier}/v1/chat/completions", timeout=30,
                           json={"model": "m", "stream": i % 4 == 0, "messages": [{"role": "user", "content": f"q{i}"}]})
        if r.status_code >= 400:
            body = r.json()
            assert "error" in body, body
        return r.status_code

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        statuses = list(pool.map(one, range(200)))
    assert 500 not in statuses
    assert statuses.count(200) > 150, statuses
    rows = gw.rows()
    assert len(rows) == 200
    called = sum(1 for r in rows for a in r["attempts"])
    assert called == sim.calls(), "every upstream call is an attempt in the ledger"


def test_model_state_changes_are_pushed_and_a_reset_closes_the_breaker(env) -> None:
    sim, gw, _clock, cfg, ids = env()
    first = cfg.tiers["free"].roles["big"][0]
    events: list[str] = []

    def listen() -> None:
        try:
            with httpx.stream("GET", gw.url + "/xx/events", timeout=None) as r:
                for line in r.iter_lines():
                    events.append(line)
        except httpx.HTTPError:
            pass

    threading.Thread(target=listen, daemon=True).start()
    sim.always(ids[first], {"kind": "status", "status": 500})
    for _ in range(3):
        chat(gw)
    deadline = time.monotonic() + 3
    while not any('"state":"open"' in e for e in events) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert any(e.startswith("event: model") for e in events)
    assert any('"state":"open"' in e and f'"name":"{first}"' in e for e in events)
    assert any(e.startswith("event: exchange") for e in events)
    r = httpx.post(f"{gw.url}/xx/models/{first}/reset", timeout=5)
    assert r.status_code == 200 and r.json()["model"]["state"] == "healthy"
    sim.always(ids[first], None)
    assert chat(gw).headers["x-xx-model"] == first
    assert httpx.post(f"{gw.url}/xx/models/nope/reset", timeout=5).status_code == 404
