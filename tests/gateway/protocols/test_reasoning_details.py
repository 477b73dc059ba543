"""Chat reasoning that comes only in `reasoning_details` reaches clients of other dialects.

Snowflake Cortex (recorded: tests/fixtures/recordings/snowflake) sends Claude's reasoning as
`reasoning_details` pieces and no `reasoning` string; OpenRouter sends both. The details were kept
(for the round trip to the same model) but their text reached no Anthropic, Responses or Gemini
client, streamed or not.
"""

from __future__ import annotations

import json
from typing import Any

from support.replay_upstream import by_name

from gateway.protocols.anthropic_to_chat import messages
from gateway.protocols.common import counter_ids, details_text
from gateway.protocols.dispatch import translate_response
from gateway.protocols.sse import SSEDecoder
from gateway.protocols.streams import stream_translator
from gateway.protocols.thinking import read_signature

RECORDINGS = by_name()
STREAMED_THINKING = "15 * 27 = 405"  # the recording's reasoning_details text, in order


def events(name: str, dst: str) -> list[dict[str, Any]]:
    rec = RECORDINGS[name]
    t = stream_translator(rec.dialect, dst, requested_model="client", ids=counter_ids("t"), now=1)
    out = b"".join(t.feed(frame) for frame in rec.frames()) + t.close()
    dec = SSEDecoder()
    return [json.loads(ev.data) for ev in dec.feed(out) + dec.flush() if ev.data.strip() != "[DONE]"]


def test_streamed_details_text_reaches_anthropic_responses_and_gemini_clients() -> None:
    name = "snowflake/snowflake-thinking-stream"
    anth = events(name, "anthropic")
    assert "".join(e["delta"].get("thinking", "") for e in anth if e["type"] == "content_block_delta") == (
        STREAMED_THINKING
    )
    resp = events(name, "responses")
    assert "".join(e["delta"] for e in resp if e["type"].startswith("response.reasoning")
                   and e["type"].endswith(".delta")) == STREAMED_THINKING
    gem = events(name, "gemini")
    parts = [p for e in gem for c in e.get("candidates") or [] for p in c["content"]["parts"]]
    assert "".join(p.get("text", "") for p in parts if p.get("thought")) == STREAMED_THINKING


def test_json_details_text_reaches_the_thinking_block_and_details_go_back_once() -> None:
    body = RECORDINGS["snowflake/snowflake-thinking-tool-call.json"].body()
    msg = translate_response(body, "openai", "anthropic", requested_model="client")
    thinking = next(b for b in msg["content"] if b["type"] == "thinking")
    assert thinking["thinking"] == "Let me get the weather for Mexico City."
    assert [b["type"] for b in msg["content"]] == ["thinking", "text", "tool_use"]
    assert msg["stop_reason"] == "tool_use"  # Snowflake's finish_reason is ""
    # back to the same model: the details (with their signature) once, no invented `reasoning` field
    model = read_signature(thinking["signature"])["m"]
    back = messages({"messages": [{"role": "assistant", "content": msg["content"]}]}, model)[-1]
    assert "reasoning" not in back and "reasoning_content" not in back
    assert back["reasoning_details"] == body["choices"][0]["message"]["reasoning_details"]


def test_openrouter_reasoning_is_not_doubled_by_its_details() -> None:
    rec = RECORDINGS["openrouter/openrouter-streaming-reasoning"]
    anth = events(rec.name, "anthropic")
    got = "".join(e["delta"].get("thinking", "") for e in anth if e["type"] == "content_block_delta")
    want = "".join(ev["choices"][0]["delta"].get("reasoning") or "" for ev in rec.events()
                   if isinstance(ev, dict) and ev.get("choices"))
    assert got == want and want


def test_details_text_reads_text_and_summary_pieces_only() -> None:
    details = [{"type": "reasoning.text", "text": "a"}, {"type": "reasoning.summary", "summary": "b"},
               {"type": "reasoning.encrypted", "data": "zzz"}, "junk"]
    assert details_text(details) == "ab"
    assert details_text(None) == ""
