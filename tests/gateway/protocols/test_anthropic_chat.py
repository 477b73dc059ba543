"""Anthropic Messages <-> Chat Completions, requests and response bodies."""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.protocols import anthropic_to_chat, chat_to_anthropic
from gateway.protocols.errors import UpstreamMalformed
from gateway.protocols.thinking import mint_signature, read_signature


def test_claude_code_request_to_chat(claude_code_request: dict[str, Any]) -> None:
    out = anthropic_to_chat.request(claude_code_request, model="moonshotai/kimi-k2.6:free")
    assert out["model"] == "moonshotai/kimi-k2.6:free"
    msgs = out["messages"]
    # every system block kept in order; the billing header is cache shaping's to strip, not translation's
    assert msgs[0]["role"] == "system"
    assert msgs[0]["content"].startswith("x-anthropic-billing-header")
    assert "You are Claude Code" in msgs[0]["content"] and "Working directory" in msgs[0]["content"]
    from gateway.caching.shaping import strip_billing_header

    assert strip_billing_header(out, "openai")
    assert out["messages"][0]["content"].startswith("You are Claude Code")
    assert [m["role"] for m in msgs[1:]] == ["user", "assistant", "tool", "tool", "user"]
    assert msgs[1]["content"] == [
        {"type": "text", "text": "<system-reminder>CLAUDE.md says: use uv</system-reminder>"},
        {"type": "text", "text": "list the files and read README"},
    ]
    assistant = msgs[2]
    assert assistant["content"] == "Looking."
    assert "reasoning_content" not in assistant  # Anthropic's own signature is useless to a Chat model
    assert [c["id"] for c in assistant["tool_calls"]] == ["toolu_01A", "toolu_01B"]
    assert json.loads(assistant["tool_calls"][0]["function"]["arguments"]) == {
        "command": "ls",
        "description": "list",
    }
    assert msgs[3] == {"role": "tool", "tool_call_id": "toolu_01A", "content": "README.md\nsrc\n"}
    assert msgs[4] == {"role": "tool", "tool_call_id": "toolu_01B", "content": "ERROR: File does not exist."}
    assert msgs[5]["content"] == "<system-reminder>todo list empty</system-reminder>"
    assert len(out["tools"]) == 24 and out["tools"][0]["function"]["name"] == "Bash"
    assert out["tools"][0]["function"]["parameters"]["properties"]["command"] == {"type": "string"}
    assert out["tool_choice"] == "auto"
    assert out["max_tokens"] == 32000 and out["temperature"] == 1
    assert out["user"].startswith('{"device_id"')
    assert out["reasoning_effort"] == "high"
    assert out["stream"] is True and out["stream_options"] == {"include_usage": True}


def test_openrouter_reasoning_style_and_tool_choice() -> None:
    body = {
        "model": "m",
        "max_tokens": 100,
        "messages": [{"role": "user", "content": "hi"}],
        "thinking": {"type": "enabled", "budget_tokens": 2000},
        "tools": [{"name": "f", "input_schema": {"type": "object"}}],
        "tool_choice": {"type": "tool", "name": "f", "disable_parallel_tool_use": True},
        "stop_sequences": ["END"],
    }
    out = anthropic_to_chat.request(body, model="x", reasoning_style="openrouter")
    assert out["reasoning"] == {"effort": "low"} and "reasoning_effort" not in out
    assert out["tool_choice"] == {"type": "function", "function": {"name": "f"}}
    assert out["parallel_tool_calls"] is False
    assert out["stop"] == ["END"]
    for kind, expected in (("any", "required"), ("none", "none"), ("auto", "auto")):
        assert anthropic_to_chat.tool_choice({"type": kind}) == expected


def test_images_and_tool_result_images_go_to_a_user_message() -> None:
    body = {
        "model": "m",
        "max_tokens": 10,
        "messages": [
            {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "Shot", "input": {}}]},
            {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": "t1",
                        "content": [
                            {"type": "text", "text": "here"},
                            {
                                "type": "image",
                                "source": {"type": "base64", "media_type": "image/png", "data": "iVBOR"},
                            },
                        ],
                    },
                    {"type": "image", "source": {"type": "url", "url": "https://x/y.jpg"}},
                ],
            },
        ],
    }
    msgs = anthropic_to_chat.request(body, model="m")["messages"]
    assert msgs[0]["content"] is None and msgs[0]["tool_calls"][0]["function"]["arguments"] == "{}"
    assert msgs[1] == {"role": "tool", "tool_call_id": "t1", "content": "here"}
    assert msgs[2]["content"] == [
        {"type": "image_url", "image_url": {"url": "https://x/y.jpg"}},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBOR"}},
    ]
    back, _ = chat_to_anthropic.messages(msgs)
    assert back[1]["content"][1]["source"] == {"type": "url", "url": "https://x/y.jpg"}
    assert back[1]["content"][2]["source"] == {"type": "base64", "media_type": "image/png", "data": "iVBOR"}


def test_minted_thinking_round_trips_reasoning_details() -> None:
    details = [{"type": "reasoning.encrypted", "data": "opaque", "index": 0}]
    sig = mint_signature("moonshotai/kimi", field="reasoning", details=details)
    body = {
        "model": "m",
        "max_tokens": 10,
        "messages": [
            {"role": "user", "content": "q"},
            {
                "role": "assistant",
                "content": [
                    {"type": "thinking", "thinking": "hmm", "signature": sig},
                    {"type": "text", "text": "a"},
                ],
            },
        ],
    }
    assistant = anthropic_to_chat.request(body, model="moonshotai/kimi")["messages"][1]
    assert assistant["reasoning_details"] == details
    assert assistant["reasoning"] == "hmm"
    other = anthropic_to_chat.request(body, model="deepseek/deepseek-v4")["messages"][1]
    assert other == {"role": "assistant", "content": "a"}  # another model's reasoning stays behind
    assert read_signature("EqQBCg==") is None


def test_chat_response_to_anthropic() -> None:
    body = {
        "id": "gen-123",
        "model": "deepseek/deepseek-v4-flash",
        "object": "chat.completion",
        "choices": [
            {
                "index": 0,
                "finish_reason": "tool_calls",
                "message": {
                    "role": "assistant",
                    "content": "Reading.",
                    "reasoning": "think",
                    "reasoning_details": [{"type": "reasoning.text", "text": "think", "index": 0}],
                    "tool_calls": [
                        {
                            "id": "call_1",
                            "type": "function",
                            "function": {"name": "Read", "arguments": '{"file_path":"/a"}'},
                        }
                    ],
                },
            }
        ],
        "usage": {
            "prompt_tokens": 1000,
            "completion_tokens": 50,
            "prompt_tokens_details": {"cached_tokens": 800, "cache_write_tokens": 100},
        },
    }
    out = chat_to_anthropic.response(body, requested_model="claude-opus-4-8")
    assert out["model"] == "claude-opus-4-8" and out["stop_reason"] == "tool_use"
    assert [b["type"] for b in out["content"]] == ["thinking", "text", "tool_use"]
    payload = read_signature(out["content"][0]["signature"])
    assert payload == {
        "m": "deepseek/deepseek-v4-flash",
        "f": "reasoning",
        "rd": [{"type": "reasoning.text", "text": "think", "index": 0}],
    }
    assert out["content"][2] == {
        "type": "tool_use",
        "id": "call_1",
        "name": "Read",
        "input": {"file_path": "/a"},
    }
    assert out["usage"] == {
        "input_tokens": 100,
        "cache_creation_input_tokens": 100,
        "cache_read_input_tokens": 800,
        "output_tokens": 50,
    }


@pytest.mark.parametrize(
    ("finish", "stop"),
    [("stop", "end_turn"), ("length", "max_tokens"), ("content_filter", "refusal"), (None, "end_turn")],
)
def test_finish_reasons(finish: str | None, stop: str) -> None:
    body = {"choices": [{"message": {"content": "x"}, "finish_reason": finish}]}
    assert chat_to_anthropic.response(body, requested_model="m")["stop_reason"] == stop


def test_bad_tool_arguments_raise_before_any_byte() -> None:
    body = {
        "choices": [
            {
                "finish_reason": "tool_calls",
                "message": {
                    "tool_calls": [{"id": "c", "function": {"name": "Bash", "arguments": '{"command": "ls'}}]
                },
            }
        ]
    }
    with pytest.raises(UpstreamMalformed, match="Bash"):
        chat_to_anthropic.response(body, requested_model="m")
    with pytest.raises(UpstreamMalformed):
        chat_to_anthropic.response({"choices": []}, requested_model="m")


def test_anthropic_response_to_chat() -> None:
    body = {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-5",
        "content": [
            {"type": "thinking", "thinking": "t", "signature": "s"},
            {"type": "text", "text": "hi"},
            {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {"a": 1}},
        ],
        "stop_reason": "tool_use",
        "usage": {
            "input_tokens": 10,
            "cache_read_input_tokens": 90,
            "cache_creation_input_tokens": 5,
            "output_tokens": 7,
        },
    }
    out = anthropic_to_chat.response(body, requested_model="gpt-x")
    msg = out["choices"][0]["message"]
    assert msg["content"] == "hi" and msg["reasoning_content"] == "t"
    assert msg["tool_calls"][0]["id"] == "toolu_1" and json.loads(
        msg["tool_calls"][0]["function"]["arguments"]
    ) == {"a": 1}
    assert out["choices"][0]["finish_reason"] == "tool_calls"
    assert out["usage"]["prompt_tokens"] == 105
    assert out["usage"]["prompt_tokens_details"] == {"cached_tokens": 90, "cache_write_tokens": 5}


def test_chat_request_to_anthropic_merges_roles_and_maps_options() -> None:
    body = {
        "model": "m",
        "max_completion_tokens": 500,
        "reasoning_effort": "low",
        "temperature": 1.5,
        "stop": "###",
        "user": "u1",
        "parallel_tool_calls": False,
        "tool_choice": "required",
        "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}],
        "messages": [
            {"role": "system", "content": "sys"},
            {"role": "developer", "content": "dev"},
            {"role": "user", "content": "q"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}},
                    {"id": "c2", "type": "function", "function": {"name": "f", "arguments": ""}},
                ],
            },
            {"role": "tool", "tool_call_id": "c1", "content": "r1"},
            {"role": "tool", "tool_call_id": "c2", "content": "ERROR: boom"},
            {"role": "user", "content": [{"type": "text", "text": "next"}]},
        ],
    }
    out = chat_to_anthropic.request(body, model="claude-sonnet-4-5")
    assert out["system"] == "sys\n\ndev"
    assert [m["role"] for m in out["messages"]] == ["user", "assistant", "user"]
    last = out["messages"][2]["content"]
    assert last[0] == {"type": "tool_result", "tool_use_id": "c1", "content": "r1"}
    assert last[1] == {"type": "tool_result", "tool_use_id": "c2", "is_error": True, "content": "boom"}
    assert last[2] == {"type": "text", "text": "next"}
    assert out["thinking"] == {"type": "enabled", "budget_tokens": 2048}
    assert "temperature" not in out  # Anthropic refuses temperature with thinking
    assert out["max_tokens"] == 2048 + 1024
    assert out["stop_sequences"] == ["###"] and out["metadata"] == {"user_id": "u1"}
    assert out["tool_choice"] == {"type": "any", "disable_parallel_tool_use": True}


# --- property: Anthropic -> Chat -> Anthropic keeps the meaning -------------------------

text = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=30)
ident = st.from_regex(r"[A-Za-z][A-Za-z0-9_]{0,15}", fullmatch=True)
json_value = st.recursive(
    st.none() | st.booleans() | st.integers(-1000, 1000) | text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(ident, inner, max_size=3),
    max_leaves=8,
)


@st.composite
def conversations(draw: st.DrawFn) -> dict[str, Any]:
    messages: list[dict[str, Any]] = []
    n = 0
    for _ in range(draw(st.integers(1, 4))):
        messages.append(
            {
                "role": "user",
                "content": draw(
                    st.lists(st.builds(lambda t: {"type": "text", "text": t}, text), min_size=1, max_size=3)
                ),
            }
        )
        blocks: list[dict[str, Any]] = []
        if draw(st.booleans()):
            blocks.append({"type": "text", "text": draw(text)})
        calls = []
        for _ in range(draw(st.integers(0, 3))):
            n += 1
            calls.append(
                {
                    "type": "tool_use",
                    "id": f"toolu_{n:04d}",
                    "name": draw(ident),
                    "input": draw(st.dictionaries(ident, json_value, max_size=4)),
                }
            )
        blocks.extend(calls)
        if not blocks:
            blocks.append({"type": "text", "text": draw(text)})
        messages.append({"role": "assistant", "content": blocks})
        if calls:
            messages.append(
                {
                    "role": "user",
                    "content": [
                        {
                            "type": "tool_result",
                            "tool_use_id": c["id"],
                            "content": draw(text),
                            "is_error": draw(st.booleans()),
                        }
                        for c in calls
                    ],
                }
            )
    if messages[-1]["role"] == "assistant":
        messages.append({"role": "user", "content": [{"type": "text", "text": draw(text)}]})
    return {"model": "m", "max_tokens": 100, "system": draw(text), "messages": messages}


def _meaning(messages: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    out: list[tuple[Any, ...]] = []
    for msg in messages:
        content = (
            msg["content"] if isinstance(msg["content"], list) else [{"type": "text", "text": msg["content"]}]
        )
        for b in content:
            if b["type"] == "text":
                out.append((msg["role"], "text", b["text"]))
            elif b["type"] == "tool_use":
                out.append((msg["role"], "tool_use", b["id"], b["name"], b["input"]))
            elif b["type"] == "tool_result":
                out.append(
                    (msg["role"], "tool_result", b["tool_use_id"], b["content"], bool(b.get("is_error")))
                )
    return out


@settings(max_examples=60, deadline=None)
@given(conversations())
def test_round_trip_keeps_meaning(body: dict[str, Any]) -> None:
    chat = anthropic_to_chat.request(body, model="m")
    back = chat_to_anthropic.request(chat, model="m")
    assert back["system"] == body["system"]
    # Chat has no tool_result+text in one turn: tool results come first, then the text, as sent
    assert _meaning(back["messages"]) == _meaning(body["messages"])
    roles = [m["role"] for m in back["messages"]]
    assert all(a != b for a, b in itertools.pairwise(roles))
