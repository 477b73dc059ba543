"""The proxy loop: bytes it need not change go upstream untouched; the loop falls back by policy."""

from __future__ import annotations

import json

import httpx
import orjson
import pytest
from support.scripted import Answer, ScriptedUpstream, two_model_config
from support.servers import free_port

from gateway.errors import UpstreamKind
from gateway.fallback import client_status, falls_back, status_for_kind

OK_JSON = Answer(200, [orjson.dumps({
    "id": "msg_1", "type": "message", "role": "assistant", "model": "a-model",
    "content": [{"type": "text", "text": "hi"}], "stop_reason": "end_turn",
    "usage": {"input_tokens": 3, "output_tokens": 1}})], "application/json")
NO_SHAPING = "[providers.first.shaping]\ninject_cache_control = false\nstrip_billing_header = false\n"


@pytest.fixture
def upstream():
    up = ScriptedUpstream(default=OK_JSON).start()
    yield up
    up.stop()


def test_a_body_nothing_changes_goes_upstream_byte_for_byte(upstream, make_gateway) -> None:
    """Re-serialising would reorder/reformat and break prefix caches and thinking signatures."""
    gw = make_gateway(two_model_config(free_port(), upstream.url, upstream.url, models=("a",), extra=NO_SHAPING))
    body = {"max_tokens": 20, "model": "a-model", "messages": [{"role": "user", "content": "héllo  ✓"}],
            "system": [{"type": "text", "text": "be brief"}], "metadata": {"user_id": "u"}}
    raw = json.dumps(body, indent=1, ensure_ascii=True).encode()  # odd spacing and escapes a serialiser would change
    r = httpx.post(f"{gw.url}/v1/messages", content=raw, headers={"content-type": "application/json"}, timeout=10)
    assert r.status_code == 200, r.text
    assert upstream.seen[0].body == raw


def test_a_body_that_needs_the_model_id_is_serialised_once(upstream, make_gateway) -> None:
    gw = make_gateway(two_model_config(free_port(), upstream.url, upstream.url, models=("a",), extra=NO_SHAPING))
    body = {"model": "claude-x", "max_tokens": 20, "messages": [{"role": "user", "content": "hi"}]}
    r = httpx.post(f"{gw.url}/v1/messages", json=body, timeout=10)
    assert r.status_code == 200
    sent = orjson.loads(upstream.seen[0].body)
    assert sent == {**body, "model": "a-model"} and list(sent) == list(body)


def test_fallback_policy_is_pure() -> None:
    assert falls_back(301, "") and falls_back(429, "") and falls_back(529, "")
    assert falls_back(404, "No endpoints found for this model") and not falls_back(400, "max_tokens too big")
    assert status_for_kind(UpstreamKind.FIRST_BYTE_TIMEOUT) == 504 and status_for_kind(UpstreamKind.CONNECT) == 502
    assert client_status(529) == 502 and client_status(301) == 502 and client_status(429) == 429
    assert not UpstreamKind.CONNECT.reached and UpstreamKind.RESET.reached
