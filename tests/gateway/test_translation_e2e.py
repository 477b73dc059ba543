"""Any agent on any model: the official SDKs through the gateway to a simulated model of the other protocol.

Text, a tool call, the tool-result turn and the final answer, streamed and not; malformed
upstream output ends in a clean protocol error, never a hang or a 500.
"""

from __future__ import annotations

import json

import anthropic
import httpx
import openai
import pytest
from support.servers import config_for, free_port

TOOL = {"name": "read_file", "description": "Read a file", "input_schema": {
    "type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]}}
OAI_TOOL = {"type": "function", "function": {"name": "read_file", "description": "Read a file",
                                             "parameters": TOOL["input_schema"]}}
ASK = 'Please read it [[tool:read_file {"path": "/tmp/notes.txt"}]]'


@pytest.fixture
def gw(simulator_thread, make_gateway):
    cfg = config_for(simulator_thread.url, free_port())
    return simulator_thread, make_gateway(cfg), cfg


def test_anthropic_client_on_a_chat_model_tool_round_trip(gw) -> None:
    sim, g, _cfg = gw
    client = anthropic.Anthropic(base_url=f"{g.url}/x/claude/p/free", api_key="x", max_retries=0)
    kw = {"model": "claude-sonnet-4-6", "max_tokens": 300, "tools": [TOOL]}
    msgs = [{"role": "user", "content": ASK}]
    for stream in (False, True):
        if stream:
            with client.messages.stream(messages=msgs, **kw) as s:
                first = s.get_final_message()
        else:
            first = client.messages.create(messages=msgs, **kw)
        assert first.stop_reason == "tool_use"
        use = next(b for b in first.content if b.type == "tool_use")
        assert use.name == "read_file" and use.input == {"path": "/tmp/notes.txt"} and use.id
        assert first.usage.input_tokens > 0 and first.usage.output_tokens > 0
        follow = [*msgs, {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in first.content]},
                  {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use.id, "content": "the notes say 42"}]}]
        if stream:
            with client.messages.stream(messages=follow, **kw) as s:
                final = s.get_final_message()
        else:
            final = client.messages.create(messages=follow, **kw)
        assert final.stop_reason == "end_turn"
        assert "tool result: the notes say 42" in final.content[0].text
    upstream = sim.requests()[-1]
    assert upstream["path"].endswith("/chat/completions")
    tool_msg = [m for m in upstream["body"]["messages"] if m["role"] == "tool"]
    assert tool_msg and tool_msg[0]["tool_call_id"] == use.id
    roles = [r["role"] for r in g.rows()]
    assert roles.count("middle") == 2  # the tool-result turns


def test_openai_chat_client_on_an_anthropic_model_tool_round_trip(gw) -> None:
    sim, g, _cfg = gw
    client = openai.OpenAI(base_url=f"{g.url}/x/qwen/p/claude/v1", api_key="x", max_retries=0)
    msgs = [{"role": "user", "content": ASK}]
    for stream in (False, True):
        if stream:
            with client.chat.completions.stream(model="m", messages=msgs, tools=[OAI_TOOL]) as s:
                first = s.get_final_completion()
        else:
            first = client.chat.completions.create(model="m", messages=msgs, tools=[OAI_TOOL])
        choice = first.choices[0]
        assert choice.finish_reason == "tool_calls"
        call = choice.message.tool_calls[0]
        assert call.function.name == "read_file" and json.loads(call.function.arguments) == {"path": "/tmp/notes.txt"}
        follow = [*msgs, choice.message.model_dump(exclude_none=True),
                  {"role": "tool", "tool_call_id": call.id, "content": "the notes say 42"}]
        final = client.chat.completions.create(model="m", messages=follow, tools=[OAI_TOOL])
        assert final.choices[0].finish_reason == "stop"
        assert "tool result: the notes say 42" in final.choices[0].message.content
        assert final.usage.prompt_tokens > 0
    upstream = sim.requests()[-1]
    assert upstream["path"].endswith("/v1/messages")
    blocks = [b for m in upstream["body"]["messages"] for b in (m["content"] if isinstance(m["content"], list) else [])]
    assert any(b.get("type") == "tool_result" and b.get("tool_use_id") == call.id for b in blocks)


def test_openai_responses_client_on_a_chat_model(gw) -> None:
    sim, g, _cfg = gw
    client = openai.OpenAI(base_url=f"{g.url}/x/codex/p/free/v1", api_key="x", max_retries=0)
    r = client.responses.create(model="gpt-5", input="hello responses")
    assert "hello responses" in r.output_text and r.usage.input_tokens > 0
    with client.responses.stream(model="gpt-5", input="hello stream") as s:
        assert "hello stream" in s.get_final_response().output_text
    tools = [{"type": "function", "name": "read_file", "parameters": TOOL["input_schema"]}]
    for stream in (False, True):
        if stream:
            with client.responses.stream(model="gpt-5", input=ASK, tools=tools) as s:
                resp = s.get_final_response()
        else:
            resp = client.responses.create(model="gpt-5", input=ASK, tools=tools)
        call = next(o for o in resp.output if o.type == "function_call")
        assert call.name == "read_file" and json.loads(call.arguments) == {"path": "/tmp/notes.txt"}
    assert sim.requests()[-1]["path"].endswith("/chat/completions")


def test_count_tokens_is_answered_locally(gw) -> None:
    sim, g, _cfg = gw
    client = anthropic.Anthropic(base_url=f"{g.url}/x/claude/p/free", api_key="x", max_retries=0)
    small = client.messages.count_tokens(model="m", messages=[{"role": "user", "content": "hi"}])
    big = client.messages.count_tokens(model="m", system="you are helpful " * 200, tools=[TOOL],
                                       messages=[{"role": "user", "content": "hi " * 500}])
    assert 0 < small.input_tokens < big.input_tokens
    assert sim.calls() == 0 and g.rows() == []


@pytest.mark.parametrize("fault", [
    {"kind": "malformed", "after_chunks": 2, "mode": "json"},
    {"kind": "malformed", "after_chunks": 2, "mode": "garbage"},
    {"kind": "truncate"},
    {"kind": "reset", "after_chunks": 2},
])
def test_malformed_upstream_streams_end_cleanly(gw, fault: dict) -> None:
    sim, g, cfg = gw
    for name in cfg.tiers["free"].roles["big"]:
        sim.fault(cfg.models[name].id, fault)
    with httpx.stream("POST", f"{g.url}/x/claude/p/free/v1/messages", timeout=20,
                      json={"model": "m", "max_tokens": 50, "stream": True,
                            "messages": [{"role": "user", "content": "one two three four five six"}]}) as r:
        body = r.read().decode()
    assert r.status_code in (200, 502), body
    if r.status_code == 200:
        assert "event: error" in body or "message_stop" in body
    rows = g.rows()
    assert rows and rows[0]["status"] != 500


BAD_ARGS = {"id": "c1", "object": "chat.completion", "model": "m", "choices": [{"index": 0, "finish_reason": "tool_calls",
            "message": {"role": "assistant", "content": None, "tool_calls": [{"id": "call_1", "type": "function",
                        "function": {"name": "read_file", "arguments": "{not json"}}]}}],
            "usage": {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7}}
BAD_STREAM = (b'data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"role":"assistant"}}]}\n\n'
              b'data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"read_file","arguments":"{not"}}]}}]}\n\n'
              b'data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}\n\n'
              b"data: [DONE]\n\n")
OUT_OF_ORDER = (b'data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"tool_calls":[{"index":3,"function":{"arguments":"}"}}]}}]}\n\n'
                b'data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"hi"}}]}\n\n'
                b"data: [DONE]\n\n")


@pytest.mark.parametrize(("body", "ctype", "stream"), [
    (json.dumps(BAD_ARGS).encode(), "application/json", False),
    (BAD_STREAM, "text/event-stream", True),
    (OUT_OF_ORDER, "text/event-stream", True),
], ids=["json-invalid-args", "stream-invalid-args", "stream-out-of-order"])
def test_malformed_tool_output_is_a_clean_protocol_error(make_gateway, body: bytes, ctype: str, stream: bool) -> None:
    from support.servers import CannedUpstream

    from gateway.config import parse

    up = CannedUpstream(body, ctype).start()
    try:
        cfg = parse(f"""
[gateway]
port = {free_port()}
[providers.bad]
protocol = "openai"
base_url = "{up.url}/v1"
[models.bad]
provider = "bad"
[tiers.t]
letter = "t"
big = ["bad"]
""", env={})
        g = make_gateway(cfg)
        with httpx.stream("POST", f"{g.url}/x/claude/p/t/v1/messages", timeout=15, json={
                "model": "m", "max_tokens": 50, "stream": stream, "tools": [TOOL],
                "messages": [{"role": "user", "content": "go"}]}) as r:
            text = r.read().decode()
        assert r.status_code != 500, text
        if r.status_code >= 400:
            assert json.loads(text)["type"] == "error"
        elif stream:
            assert "event: error" in text or "message_stop" in text, text
        rows = g.rows()
        assert rows and rows[0]["status"] != 500
    finally:
        up.stop()


def test_mid_conversation_system_messages_from_claude_code(gw) -> None:
    """Claude Code 2.1.x (beta mid-conversation-system) puts `role: system` messages among the turns."""
    sim, g, _cfg = gw
    body = {"model": "xx-big", "max_tokens": 50, "messages": [
        {"role": "user", "content": "hello"},
        {"role": "system", "content": [{"type": "text", "text": "Available agent types for the Agent tool: general"}]},
        {"role": "user", "content": "go on"}]}
    headers = {"anthropic-beta": "claude-code-20250219,mid-conversation-system-2026-04-07"}
    for tier in ("free", "claude"):
        r = httpx.post(f"{g.url}/x/claude/p/{tier}/v1/messages", json=body, headers=headers, timeout=20)
        assert r.status_code == 200, r.text
    chat = [r for r in sim.requests() if r["path"].endswith("/chat/completions")][-1]["body"]
    assert [m["role"] for m in chat["messages"]] == ["user", "system", "user"]
