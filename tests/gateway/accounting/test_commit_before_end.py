"""A client that saw a stream's terminal event finds its ledger row committed.

SDKs stop reading at `[DONE]` / `message_stop`, not at the end of the HTTP body, so the row
must be committed before that event leaves the gateway. A slowed ledger makes the race certain.
"""

from __future__ import annotations

import asyncio

import anthropic
import openai
import pytest
from support.servers import config_for, free_port

from gateway.config import Config

PROMPT = "the row is committed before the stream ends " * 20


def slow_ledger(gw, delay: float = 0.4) -> None:
    write = gw.rt.ledger.write

    async def slowed(ex) -> None:
        await asyncio.sleep(delay)
        await write(ex)

    gw.rt.ledger.write = slowed


def tier_speaking(cfg: Config, dialect: str) -> str:
    return next(t.name for t in cfg.tiers.values()
                if t.roles.get("big") and cfg.providers[cfg.models[t.models_for("big")[0]].provider].dialect == dialect)


@pytest.fixture
def gw(simulator_thread, make_gateway):
    cfg = config_for(simulator_thread.url, free_port())
    g = make_gateway(cfg)
    slow_ledger(g)
    return g, cfg


@pytest.mark.parametrize("upstream", ["openai", "anthropic"])
def test_openai_stream_row_is_committed_when_the_client_sees_done(gw, upstream: str) -> None:
    g, cfg = gw
    client = openai.OpenAI(base_url=f"{g.url}/x/qwen/p/{tier_speaking(cfg, upstream)}/v1", api_key="xx-local",
                           max_retries=0)
    stream = client.chat.completions.create(model="m", messages=[{"role": "user", "content": PROMPT}], stream=True)
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert text
    rows = g.rows(timeout=0)
    assert len(rows) == 1 and rows[0]["outcome"] == "ok"


@pytest.mark.parametrize("upstream", ["anthropic", "openai"])
def test_anthropic_stream_row_is_committed_when_the_client_sees_message_stop(gw, upstream: str) -> None:
    g, cfg = gw
    client = anthropic.Anthropic(base_url=f"{g.url}/x/claude/p/{tier_speaking(cfg, upstream)}", api_key="xx-local",
                                 max_retries=0)
    with client.messages.stream(model="claude-sonnet-4-6", max_tokens=100,
                                messages=[{"role": "user", "content": PROMPT}]) as s:
        final = s.get_final_message()
    assert final.content
    rows = g.rows(timeout=0)
    assert len(rows) == 1 and rows[0]["outcome"] == "ok"
