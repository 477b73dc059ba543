"""The official SDKs talk to the simulated provider through the gateway and get what they get directly.

Each request leaves exactly one ledger row with its usage and cache fields.
"""

from __future__ import annotations

import anthropic
import openai
import pytest
from support.servers import config_for, free_port

from gateway.config import Config

PROMPT = "say hello from the gateway test " + "padding words " * 400  # > 1024 tokens so caching applies


@pytest.fixture
def setup(simulator_thread, make_gateway):
    cfg = config_for(simulator_thread.url, free_port())
    return simulator_thread, make_gateway(cfg), cfg


def first_big(cfg: Config, tier: str) -> tuple[str, str]:
    t = cfg.tier_named(tier)
    assert t is not None
    name = next(n for n in t.models_for("big"))
    return name, cfg.models[name].id


def anthropic_tier(cfg: Config) -> str:
    return next(t.name for t in cfg.tiers.values()
                if cfg.providers[cfg.models[t.models_for("big")[0]].provider].dialect == "anthropic")


def tier_speaking(cfg: Config, protocol: str) -> str:
    return next(t.name for t in cfg.tiers.values()
                if t.roles.get("big") and cfg.providers[cfg.models[t.models_for("big")[0]].provider].dialect == protocol)


def test_anthropic_sdk_json_and_stream(setup) -> None:
    sim, gw, cfg = setup
    tier = tier_speaking(cfg, "anthropic")
    name, upstream_id = first_big(cfg, tier)
    via = anthropic.Anthropic(base_url=f"{gw.url}/x/claude/p/{tier}", api_key="xx-local", max_retries=0)
    direct = anthropic.Anthropic(base_url=sim.url, api_key="x", max_retries=0)
    kw = {"max_tokens": 200, "messages": [{"role": "user", "content": PROMPT}]}
    got = via.messages.create(model="claude-sonnet-4-6", **kw)
    want = direct.messages.create(model=upstream_id, **kw)
    assert got.content[0].text == want.content[0].text
    assert got.stop_reason == want.stop_reason == "end_turn"
    with via.messages.stream(model="claude-sonnet-4-6", **kw) as s:
        final = s.get_final_message()
    assert final.content[0].text == want.content[0].text
    assert final.usage.output_tokens == want.usage.output_tokens
    rows = gw.rows()
    assert len(rows) == 2
    for row in rows:
        assert row["agent"] == "claude" and row["model"] == name and row["outcome"] == "ok" and row["status"] == 200
        assert row["usage"]["reported"] and row["usage"]["input"] > 1000 and row["usage"]["output"] > 0
    assert {r["stream"] for r in rows} == {True, False}


def test_openai_chat_json_and_stream(setup) -> None:
    sim, gw, cfg = setup
    tier = tier_speaking(cfg, "openai")
    name, upstream_id = first_big(cfg, tier)
    via = openai.OpenAI(base_url=f"{gw.url}/x/qwen/p/{tier}/v1", api_key="xx-local", max_retries=0)
    direct = openai.OpenAI(base_url=sim.url + "/v1", api_key="x", max_retries=0)
    msgs = [{"role": "user", "content": PROMPT}]
    want = direct.chat.completions.create(model=upstream_id, messages=msgs)
    got = via.chat.completions.create(model="anything", messages=msgs)
    assert got.choices[0].message.content == want.choices[0].message.content
    stream = via.chat.completions.create(model="anything", messages=msgs, stream=True, stream_options={"include_usage": True})
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert text == want.choices[0].message.content
    rows = gw.rows()
    assert len(rows) == 2 and all(r["model"] == name and r["usage"]["input"] > 1000 for r in rows)
    # the second identical prefix reads from the simulated provider's cache, and the ledger says so
    assert max(r["usage"]["cache_read"] for r in rows) > 0


def test_openai_responses_json_and_stream(setup) -> None:
    sim, gw, cfg = setup
    tier = tier_speaking(cfg, "responses")
    name, upstream_id = first_big(cfg, tier)
    via = openai.OpenAI(base_url=f"{gw.url}/x/codex/p/{tier}/v1", api_key="xx-local", max_retries=0)
    direct = openai.OpenAI(base_url=sim.url + "/v1", api_key="x", max_retries=0)
    want = direct.responses.create(model=upstream_id, input=PROMPT)
    got = via.responses.create(model="gpt-5", input=PROMPT)
    assert got.output_text == want.output_text
    with via.responses.stream(model="gpt-5", input=PROMPT) as s:
        final = s.get_final_response()
    assert final.output_text == want.output_text
    rows = gw.rows()
    assert len(rows) == 2 and all(r["agent"] == "codex" and r["model"] == name for r in rows)
    assert all(r["usage"]["input"] > 1000 for r in rows)
