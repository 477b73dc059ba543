"""A recorded error before any content falls back to the next model, whatever opened the stream.

OpenAI's recorded `insufficient_quota` arrives after `response.created` and
`response.in_progress` (a preamble that says nothing yet): the model served nothing, so the
cascade moves on and the client gets the next model's whole answer, never two models spliced.
"""

from __future__ import annotations

from collections.abc import Iterator

import anthropic
import openai
import pytest
from support.replay_expect import expected
from support.replay_upstream import ReplayUpstream, by_name
from support.servers import GatewayThread, free_port

from gateway.config import parse

QUOTA = by_name()["openai/openai-error.1"]
FALLBACK = by_name()["lmstudio/lmstudio-basic.1"]


@pytest.fixture
def gateway(tmp_path) -> Iterator[GatewayThread]:
    upstream = ReplayUpstream([QUOTA, FALLBACK]).start()
    cfg = parse(f"""
[gateway]
host = "127.0.0.1"
port = {free_port()}
default_tier = "t"
[providers.openai]
protocol = "responses"
base_url = "{upstream.url}/v1"
[models.quota]
provider = "openai"
id = "{QUOTA.name}"
[models.fallback]
provider = "openai"
id = "{FALLBACK.name}"
[tiers.t]
letter = "t"
big = ["quota", "fallback"]
""", source="<head>", env={})
    gw = GatewayThread(cfg, tmp_path / "ledger.sqlite3").start()
    yield gw
    gw.stop()
    upstream.stop()


def test_responses_client_gets_the_next_model_after_a_quota_error(gateway: GatewayThread) -> None:
    client = openai.OpenAI(base_url=f"{gateway.url}/x/head/p/t/v1", api_key="x", max_retries=0)
    raw = client.responses.with_raw_response.create(model="m", input="hi", stream=True)
    events = list(raw.parse())
    assert raw.headers["x-xx-model"] == "fallback"
    assert [e.type for e in events].count("response.created") == 1  # one model's stream, not two spliced
    assert "".join(e.delta for e in events if e.type == "response.output_text.delta") == expected(FALLBACK).text
    row = gateway.rows(1)[0]
    assert "You exceeded your current quota" in row["attempts"][0]["error"]


def test_anthropic_client_gets_the_next_model_after_a_quota_error(gateway: GatewayThread) -> None:
    client = anthropic.Anthropic(base_url=f"{gateway.url}/x/head/p/t", api_key="x", max_retries=0)
    with client.messages.stream(model="m", max_tokens=64, messages=[{"role": "user", "content": "hi"}]) as s:
        assert s.response.headers["x-xx-model"] == "fallback"
        text = "".join(b.text for b in s.get_final_message().content if b.type == "text")
    assert text == expected(FALLBACK).text
