"""The six translation defects found by replaying real recordings (issue 18), one test each.

Every test feeds a byte-exact public recording (tests/fixtures/recordings) through the
sans-IO translators, framed the way the provider sends it.
"""

from __future__ import annotations

import json
from typing import Any

from support.replay_upstream import Recording, by_name

from gateway.protocols.common import counter_ids
from gateway.protocols.dispatch import translate_response
from gateway.protocols.sse import SSEDecoder
from gateway.protocols.streams import stream_translator

RECORDINGS = by_name()


def replay(rec: Recording, dst: str) -> list[tuple[str, Any]]:
    """(event, data) pairs a `dst` client receives for a streamed recording."""
    t = stream_translator(rec.dialect, dst, requested_model="client", ids=counter_ids("t"), now=1)
    out = b"".join(t.feed(frame) for frame in rec.frames()) + t.close()
    dec = SSEDecoder()
    events = []
    for ev in dec.feed(out) + dec.flush():
        data = ev.data if ev.data.strip() == "[DONE]" else json.loads(ev.data)
        events.append((ev.event if ev.event != "message" else (data.get("type", "") if isinstance(data, dict) else ""), data))
    return events


def anthropic_blocks(events: list[tuple[str, Any]]) -> dict[str, str]:
    """Text, thinking and tool input (as JSON text) accumulated from an Anthropic stream."""
    out = {"text": "", "thinking": "", "tool": ""}
    for name, data in events:
        if name == "content_block_delta":
            delta = data["delta"]
            out["text"] += delta.get("text", "")
            out["thinking"] += delta.get("thinking", "")
            out["tool"] += delta.get("partial_json", "")
    return out


def responses_text(events: list[tuple[str, Any]]) -> str:
    return "".join(d["delta"] for n, d in events if n == "response.output_text.delta")


# 1. Chat `delta.content` as a list of parts (Mistral Magistral)


def test_mistral_content_parts_reach_anthropic_and_responses_clients_streamed() -> None:
    rec = RECORDINGS["mistral/mistral-reasoning"]
    got = anthropic_blocks(replay(rec, "anthropic"))
    assert got["text"] == "2 + 2 = 4"
    assert got["thinking"] == "The user is asking for 2+2. This is basic arithmetic. 2+2=4."
    events = replay(rec, "responses")
    assert responses_text(events) == "2 + 2 = 4"
    assert "".join(d["delta"] for n, d in events if n == "response.reasoning_summary_text.delta").startswith(
        "The user is asking"
    )
    gem = [d for _, d in replay(rec, "gemini") if isinstance(d, dict)]
    parts = [p for d in gem for c in d.get("candidates") or [] for p in c["content"]["parts"]]
    assert "".join(p.get("text", "") for p in parts if not p.get("thought")) == "2 + 2 = 4"


def test_mistral_content_parts_keep_thinking_when_not_streamed() -> None:
    body = RECORDINGS["mistral/mistral-reasoning.json"].body()
    msg = translate_response(body, "openai", "anthropic", requested_model="client")
    kinds = {b["type"]: b for b in msg["content"]}
    assert kinds["text"]["text"] == "2 + 2 = 4"
    assert kinds["thinking"]["thinking"] == "The user is asking for 2+2. This is basic arithmetic. 2+2=4."


# 2. Responses function-call arguments only in `.done` events (LM Studio)


def test_lmstudio_arguments_only_in_done_events_reach_the_client() -> None:
    rec = RECORDINGS["lmstudio/lmstudio-tool-call.1"]
    got = anthropic_blocks(replay(rec, "anthropic"))
    assert json.loads(got["tool"]) == {"location": "San Francisco"}
    chat = replay(rec, "openai")
    args = "".join(
        call["function"].get("arguments") or ""
        for _, d in chat
        if isinstance(d, dict) and d.get("choices")
        for call in d["choices"][0]["delta"].get("tool_calls") or []
    )
    assert json.loads(args) == {"location": "San Francisco"}


# 3. Moonshot/Kimi's top-level `usage.cached_tokens`


def test_moonshot_top_level_cached_tokens_are_cache_reads() -> None:
    body = RECORDINGS["moonshot/moonshotai-reasoning.json"].body()
    msg = translate_response(body, "openai", "anthropic", requested_model="client")
    assert msg["usage"]["cache_read_input_tokens"] == 10
    assert msg["usage"]["input_tokens"] == 10  # 20 prompt tokens, 10 of them read from the cache
    out = translate_response(body, "openai", "responses", requested_model="client")
    assert out["usage"]["input_tokens_details"]["cached_tokens"] == 10


# 4. A pass-through Responses stream cut at the `error` event


def test_passthrough_responses_stream_delivers_response_failed_after_error() -> None:
    rec = RECORDINGS["openai/openai-error.1"]
    t = stream_translator("responses", "responses", requested_model="client")
    out = b"".join(t.feed(frame) for frame in rec.frames()) + t.close()
    assert out == b"".join(rec.frames())  # every recorded event, byte for byte, nothing added
    assert t.failed and "You exceeded your current quota" in t.failed


# 5. Non-streamed Responses answers keep their reasoning items


def test_non_streamed_responses_reasoning_reaches_anthropic_and_chat() -> None:
    body = RECORDINGS["lmstudio/lmstudio-basic.1.json"].body()
    msg = translate_response(body, "responses", "anthropic", requested_model="client")
    assert [b["type"] for b in msg["content"]] == ["thinking", "text"]
    assert msg["content"][0]["thinking"] == "reasoning content"
    chat = translate_response(body, "responses", "openai", requested_model="client")
    assert chat["choices"][0]["message"]["reasoning_content"] == "reasoning content"


# 6. A Responses `error` event: the provider's message, the dialect's closest error type


def test_responses_error_event_keeps_the_message_and_maps_the_type() -> None:
    rec = RECORDINGS["openai/openai-error.1"]
    message = "You exceeded your current quota, please check your plan and billing details."
    anth = [d for n, d in replay(rec, "anthropic") if n == "error"]
    assert len(anth) == 1 and anth[0]["error"]["type"] == "rate_limit_error"
    assert anth[0]["error"]["message"].startswith("upstream error: " + message)
    assert '"type"' not in anth[0]["error"]["message"]
    chat = [d for _, d in replay(rec, "openai") if isinstance(d, dict) and "error" in d]
    assert chat[0]["error"]["code"] == "insufficient_quota" and chat[0]["error"]["type"] == "rate_limit_error"
    assert message in chat[0]["error"]["message"]
    gem = [d for _, d in replay(rec, "gemini") if isinstance(d, dict) and "error" in d]
    assert gem and message in gem[0]["error"]["message"] and gem[0]["error"]["code"] == 429


# Found with the corpus after the six: Anthropic's server tools leaked into translated streams


def test_anthropic_server_tools_are_not_client_tool_calls_streamed_or_not() -> None:
    """web_search/code execution ran at Anthropic: a Chat client must not be asked to run them."""
    for name in ("anthropic/anthropic-web-search-tool.1", "anthropic/anthropic-code-execution-20260120-prompt-cache.1"):
        rec = RECORDINGS[name]
        chat = replay(rec, "openai")
        calls = [c for _, d in chat if isinstance(d, dict) and d.get("choices")
                 for c in d["choices"][0]["delta"].get("tool_calls") or []]
        finish = [d["choices"][0]["finish_reason"] for _, d in chat if isinstance(d, dict) and d.get("choices")]
        assert calls == [] and finish[-1] == "stop", name
    body = RECORDINGS["anthropic/anthropic-web-search-tool.1.json"].body()
    out = translate_response(body, "anthropic", "openai", requested_model="client")
    assert "tool_calls" not in out["choices"][0]["message"] and out["choices"][0]["finish_reason"] == "stop"
