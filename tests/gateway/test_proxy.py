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


@pytest.mark.parametrize("odd", [b"null", b'{"choices": 5}', b'{"choices": [{"message": 5}]}', b"[1]"])
def test_a_200_answer_of_an_odd_shape_falls_back_to_the_next_model(make_gateway, odd: bytes) -> None:
    a, b = ScriptedUpstream().start(), ScriptedUpstream(default=OK_JSON).start()
    try:
        gw = make_gateway(two_model_config(free_port(), a.url, b.url, first_dialect="openai"))
        a.queue(Answer(200, [odd], "application/json"))
        r = httpx.post(f"{gw.url}/v1/messages", timeout=20, json={
            "model": "claude-x", "max_tokens": 50, "messages": [{"role": "user", "content": "hello"}]})
        assert r.status_code == 200 and r.json()["content"][0]["text"] == "hi", r.text
        assert len(a.seen) == 1 and len(b.seen) == 1
        row = gw.rows(at_least=1)[0]
        assert row["attempts"][0]["error"].startswith("unusable answer"), row["attempts"]
    finally:
        a.stop()
        b.stop()


def _too_long(window: int, tokens: int) -> Answer:
    """OpenAI's documented context-length error, as OpenAI-compatible providers send it."""
    return Answer(400, [orjson.dumps({"error": {
        "message": f"This model's maximum context length is {window} tokens. However, you requested {tokens} tokens "
                   f"({tokens - 10} in the messages, 10 in the completion). Please reduce the length of the messages "
                   "or completion.", "type": "invalid_request_error", "param": "messages",
        "code": "context_length_exceeded"}})], "application/json")


LONG = {"model": "claude-x", "max_tokens": 50, "messages": [{"role": "user", "content": "hello " * 40}]}


def test_a_context_length_400_falls_back_and_the_window_is_remembered(make_gateway) -> None:
    a, b = ScriptedUpstream().start(), ScriptedUpstream(default=OK_JSON).start()
    try:
        gw = make_gateway(two_model_config(free_port(), a.url, b.url, first_dialect="openai"))
        a.queue(_too_long(16, 80))
        r = httpx.post(f"{gw.url}/v1/messages", json=LONG, timeout=20)
        assert r.status_code == 200 and len(a.seen) == 1 and len(b.seen) == 1, r.text
        r = httpx.post(f"{gw.url}/v1/messages", json=LONG, timeout=20)
        assert r.status_code == 200 and len(a.seen) == 1 and len(b.seen) == 2, "a 16-token window was not remembered"
        skipped = gw.rows(at_least=2)[0]["skipped"]
        assert skipped and skipped[0]["model"] == "a" and "context window 16" in skipped[0]["reason"], skipped
    finally:
        a.stop()
        b.stop()


def test_when_no_model_fits_the_agent_gets_the_error_it_compacts_on(make_gateway) -> None:
    a, b = ScriptedUpstream(default=_too_long(32768, 40000)).start(), ScriptedUpstream(default=_too_long(32768, 40000)).start()
    try:
        gw = make_gateway(two_model_config(free_port(), a.url, b.url, first_dialect="openai", second_dialect="openai"))
        r = httpx.post(f"{gw.url}/v1/messages", json=LONG, timeout=20)
        assert r.status_code == 400, r.text
        err = r.json()["error"]
        assert err["type"] == "invalid_request_error" and err["message"].startswith("prompt is too long: 40000 tokens > 32768")
        chat = httpx.post(f"{gw.url}/v1/chat/completions", json={"model": "m", "messages": LONG["messages"]}, timeout=20)
        assert chat.status_code == 400 and chat.json()["error"]["code"] == "context_length_exceeded", chat.text
    finally:
        a.stop()
        b.stop()


def test_a_providers_whole_error_message_reaches_the_client(make_gateway) -> None:
    """Gemini's messages run past 300 characters and end with the docs URL that says what to do."""
    text = "Function call is missing a thought_signature in functionCall parts. " * 8 + "https://ai.google.dev/gemini-api/docs/thought-signatures"
    a = ScriptedUpstream(default=Answer(400, [orjson.dumps({"error": {"message": text, "code": 400}})], "application/json")).start()
    try:
        gw = make_gateway(two_model_config(free_port(), a.url, a.url, first_dialect="openai", models=("a",)))
        r = httpx.post(f"{gw.url}/v1/messages", timeout=20, json={
            "model": "claude-x", "max_tokens": 50, "messages": [{"role": "user", "content": "hello"}]})
        assert r.status_code == 400 and r.json()["error"]["message"].endswith("docs/thought-signatures"), r.text
    finally:
        a.stop()
