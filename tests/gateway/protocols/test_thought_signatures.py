"""Gemini's thought signatures survive a round trip through every client dialect's tool ids.

Gemini's OpenAI-compatible endpoint puts `extra_content.google.thought_signature` on each tool
call; Gemini 3 refuses the next request when a call comes back without it. The answer's
translation folds the signature into the id the client echoes (Anthropic `tool_use.id`,
Responses `call_id`; Gemini clients get the native `thoughtSignature`), and the next request's
translation splits it out again, for a Gemini model only.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from gateway.protocols import thought_signatures as ts
from gateway.protocols.dispatch import translate_request, translate_response
from gateway.protocols.sse import SSEDecoder
from gateway.protocols.streams import stream_translator

SIG = "CiQBjz1rX+abc/def/ghi+jkl=="  # standard base64, as Gemini sends it (+, / and padding)
GEMINI = "gemini-3-pro-preview"
ANTHROPIC_ID = re.compile(r"^[a-zA-Z0-9_-]+$")


def chat_answer(call_id: str = "function-call-1", sig: str | None = SIG) -> dict[str, Any]:
    call: dict[str, Any] = {"id": call_id, "type": "function",
                            "function": {"name": "read_file", "arguments": '{"path":"a.txt"}'}}
    if sig:
        call["extra_content"] = {"google": {"thought_signature": sig}}
    return {"id": "chatcmpl-1", "model": GEMINI, "usage": {"prompt_tokens": 3, "completion_tokens": 2},
            "choices": [{"index": 0, "finish_reason": "tool_calls",
                         "message": {"role": "assistant", "content": None, "tool_calls": [call]}}]}


def chat_stream(sig: str | None = SIG) -> bytes:
    call: dict[str, Any] = {"index": 0, "id": "function-call-1", "type": "function",
                            "function": {"name": "read_file", "arguments": '{"path":"a.txt"}'}}
    if sig:
        call["extra_content"] = {"google": {"thought_signature": sig}}
    chunks = [
        {"id": "c1", "model": GEMINI, "choices": [{"index": 0, "delta": {"role": "assistant", "tool_calls": [call]}}]},
        {"id": "c1", "model": GEMINI, "choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}],
         "usage": {"prompt_tokens": 3, "completion_tokens": 2}},
    ]
    return b"".join(b"data: " + json.dumps(c).encode() + b"\n\n" for c in chunks) + b"data: [DONE]\n\n"


def streamed(dst: str, raw: bytes) -> list[tuple[str, Any]]:
    """(event name, data) of the client stream the gateway makes of a Chat upstream's `raw`."""
    tr = stream_translator("openai", dst, requested_model="m")
    dec = SSEDecoder()
    return [(e.event, json.loads(e.data)) for e in dec.feed(tr.feed(raw) + tr.close()) + dec.flush()]


def anthropic_next(tool_id: str) -> dict[str, Any]:
    return {"model": "claude", "max_tokens": 100, "messages": [
        {"role": "user", "content": "read a.txt"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": tool_id, "name": "read_file",
                                           "input": {"path": "a.txt"}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": tool_id, "content": "42"}]}]}


def responses_next(call_id: str) -> dict[str, Any]:
    return {"model": "gpt-5", "input": [
        {"type": "message", "role": "user", "content": "read a.txt"},
        {"type": "function_call", "id": "fc_1", "call_id": call_id, "name": "read_file",
         "arguments": '{"path":"a.txt"}'},
        {"type": "function_call_output", "call_id": call_id, "output": "42"}]}


def calls_and_results(chat: dict[str, Any]) -> tuple[list[dict[str, Any]], list[str]]:
    calls = [c for m in chat["messages"] if m["role"] == "assistant" for c in m.get("tool_calls") or []]
    return calls, [m["tool_call_id"] for m in chat["messages"] if m["role"] == "tool"]


@pytest.mark.parametrize("sig", [SIG, "x", "é/+=", "a" * 3000, "__xxsig__"])
def test_fold_and_split_are_exact_and_anthropic_safe(sig: str) -> None:
    folded = ts.fold("function-call-7", sig)
    assert ANTHROPIC_ID.match(folded)
    assert ts.split(folded) == ("function-call-7", sig)


@pytest.mark.parametrize("plain", ["toolu_01abc", "call_x", "", "a__xxsig__!!!", None])
def test_ids_without_a_signature_pass_unchanged(plain: Any) -> None:
    assert ts.split(plain) == (plain, None)
    assert ts.fold("call_1", None) == "call_1"


def test_json_answer_to_anthropic_folds_and_the_next_request_splits() -> None:
    msg = translate_response(chat_answer(), "openai", "anthropic", requested_model="m")
    tool_id = next(b["id"] for b in msg["content"] if b["type"] == "tool_use")
    assert ANTHROPIC_ID.match(tool_id) and tool_id.startswith("function-call-1" + ts.SEP)
    chat = translate_request(anthropic_next(tool_id), "anthropic", "openai", model=GEMINI)
    calls, results = calls_and_results(chat)
    assert calls[0]["id"] == "function-call-1" and results == ["function-call-1"]
    assert calls[0]["extra_content"] == {"google": {"thought_signature": SIG}}


def test_json_answer_to_responses_folds_and_the_next_request_splits() -> None:
    r = translate_response(chat_answer(), "openai", "responses", requested_model="m")
    call_id = next(o["call_id"] for o in r["output"] if o["type"] == "function_call")
    chat = translate_request(responses_next(call_id), "responses", "openai", model=GEMINI)
    calls, results = calls_and_results(chat)
    assert calls[0]["id"] == "function-call-1" and results == ["function-call-1"]
    assert ts.signature_of(calls[0]) == SIG


def test_json_answer_to_gemini_uses_the_native_field_and_comes_back() -> None:
    g = translate_response(chat_answer(), "openai", "gemini", requested_model="m")
    part = g["candidates"][0]["content"]["parts"][0]
    assert part == {"functionCall": {"id": "function-call-1", "name": "read_file", "args": {"path": "a.txt"}},
                    "thoughtSignature": SIG}
    body = {"contents": [{"role": "user", "parts": [{"text": "read a.txt"}]},
                         {"role": "model", "parts": [part]},
                         {"role": "user", "parts": [{"functionResponse": {"id": "function-call-1", "name": "read_file",
                                                                          "response": {"text": "42"}}}]}]}
    chat = translate_request(body, "gemini", "openai", model=GEMINI, stream=False)
    calls, results = calls_and_results(chat)
    assert calls[0]["id"] == "function-call-1" and results == ["function-call-1"]
    assert ts.signature_of(calls[0]) == SIG


@pytest.mark.parametrize("dst", ["anthropic", "responses"])
def test_streamed_answer_folds_the_signature_into_the_echoed_id(dst: str) -> None:
    events = streamed(dst, chat_stream())
    if dst == "anthropic":
        ids = [d["content_block"]["id"] for n, d in events if n == "content_block_start"
               and d["content_block"]["type"] == "tool_use"]
    else:
        ids = [d["item"]["call_id"] for n, d in events if n == "response.output_item.done"
               and d["item"]["type"] == "function_call"]
    assert len(ids) == 1 and ANTHROPIC_ID.match(ids[0])
    assert ts.split(ids[0]) == ("function-call-1", SIG)


def test_streamed_answer_to_gemini_carries_thought_signature() -> None:
    parts = [p for _, d in streamed("gemini", chat_stream()) for p in d["candidates"][0]["content"]["parts"]]
    calls = [p for p in parts if "functionCall" in p]
    assert calls == [{"functionCall": {"id": "function-call-1", "name": "read_file", "args": {"path": "a.txt"}},
                      "thoughtSignature": SIG}]


@pytest.mark.parametrize("dst", ["anthropic", "responses", "gemini"])
def test_no_signature_changes_nothing(dst: str) -> None:
    body = json.dumps(translate_response(chat_answer(sig=None), "openai", dst, requested_model="m"))
    raw = json.dumps(streamed(dst, chat_stream(sig=None)))
    for text in (body, raw):
        assert ts.SEP not in text and "thoughtSignature" not in text and "function-call-1" in text


@pytest.mark.parametrize("model", ["deepseek-chat", "moonshotai/kimi-k2.6:free"])
def test_a_non_gemini_chat_model_gets_clean_ids_and_no_extra_content(model: str) -> None:
    folded = ts.fold("function-call-1", SIG)
    for src, body in (("anthropic", anthropic_next(folded)), ("responses", responses_next(folded))):
        chat = translate_request(body, src, "openai", model=model)
        calls, results = calls_and_results(chat)
        assert calls[0]["id"] == "function-call-1" and results == ["function-call-1"]
        assert "extra_content" not in calls[0] and SIG not in json.dumps(chat)


def test_a_gemini_clients_signature_reaches_no_other_provider() -> None:
    body = {"contents": [{"role": "model", "parts": [{"functionCall": {"name": "f", "args": {}},
                                                      "thoughtSignature": SIG}]}]}
    chat = translate_request(body, "gemini", "openai", model="deepseek-chat", stream=False)
    assert "extra_content" not in chat["messages"][0]["tool_calls"][0]


@pytest.mark.parametrize("dst", ["anthropic", "responses"])
def test_anthropic_and_responses_upstreams_get_the_original_ids(dst: str) -> None:
    folded = ts.fold("function-call-1", SIG)
    out = json.dumps(translate_request(anthropic_next(folded), "anthropic", dst, model="m")
                     if dst == "responses" else
                     translate_request(responses_next(folded), "responses", dst, model="m"))
    assert ts.SEP not in out and "extra_content" not in out and "function-call-1" in out


def test_a_gemini_clients_url_safe_signature_goes_back_in_standard_base64() -> None:
    """google-genai holds the signature as bytes and sends it back URL-safe; Gemini's Chat endpoint sent it standard."""
    url_safe = SIG.replace("+", "-").replace("/", "_")
    body = {"contents": [{"role": "model", "parts": [{"functionCall": {"id": "c1", "name": "f", "args": {}},
                                                      "thoughtSignature": url_safe}]}]}
    chat = translate_request(body, "gemini", "openai", model=GEMINI, stream=False)
    assert ts.signature_of(chat["messages"][0]["tool_calls"][0]) == SIG


RECORDINGS = Path(__file__).parents[2] / "fixtures" / "recordings" / "gemini"


def test_recorded_gemini_2_5_message_level_signature_goes_with_the_first_call() -> None:
    """The recorded gemini-2.5-pro answer (pydantic-ai's cassette) has the signature on the message and a call id ""."""
    body = json.loads((RECORDINGS / "gemini-compat-tool-call-empty-id.json").read_text())
    recorded = body["choices"][0]["message"]["extra_content"]["google"]["thought_signature"]
    msg = translate_response(body, "openai", "anthropic", requested_model="m")
    tool_id = next(b["id"] for b in msg["content"] if b["type"] == "tool_use")
    original, sig = ts.split(tool_id)
    assert sig == recorded and original.startswith("toolu_") and ANTHROPIC_ID.match(tool_id)
    chat = translate_request(anthropic_next(tool_id), "anthropic", "openai", model="gemini-2.5-pro")
    calls, results = calls_and_results(chat)
    assert calls[0]["id"] == original == results[0] and ts.signature_of(calls[0]) == recorded


def test_streamed_message_level_signature_goes_with_the_first_call() -> None:
    raw = chat_stream(sig=None).replace(b'"role": "assistant"', b'"role": "assistant", "extra_content": '
                                        + json.dumps(ts.extra_content(SIG)).encode(), 1)
    ids = [d["content_block"]["id"] for n, d in streamed("anthropic", raw) if n == "content_block_start"]
    assert [ts.split(i) for i in ids] == [("function-call-1", SIG)]
