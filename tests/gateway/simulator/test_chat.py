"""OpenAI Chat Completions as the official SDK sees it."""

from __future__ import annotations

import json

import httpx
import openai
import pytest

TOOLS = [{"type": "function", "function": {"name": "read_file", "parameters": {"type": "object"}}}]


def client(sim) -> openai.OpenAI:
    return openai.OpenAI(base_url=sim.url + "/v1", api_key="sk-test", max_retries=0)


def test_json_answer_and_usage(simulator_thread) -> None:
    r = client(simulator_thread).chat.completions.create(
        model="sim/kimi", messages=[{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi there"}]
    )
    assert r.choices[0].message.content == "SIM-ANSWER(sim/kimi): hi there"
    assert r.choices[0].finish_reason == "stop"
    assert r.usage.completion_tokens == 3
    assert r.usage.prompt_tokens_details.cached_tokens == 0


def test_stream_with_tool_calls_assembles(simulator_thread) -> None:
    stream = client(simulator_thread).chat.completions.create(
        model="sim/kimi",
        tools=TOOLS,
        stream=True,
        stream_options={"include_usage": True},
        messages=[{"role": "user", "content": 'go [[tool:read_file {"path": "a.py", "lines": [1, 2]}]]'}],
    )
    chunks = list(stream)
    assert chunks[0].choices[0].delta.role == "assistant"
    name, args, call_id, finish = "", "", None, None
    for ch in chunks:
        if not ch.choices:
            continue
        for tc in ch.choices[0].delta.tool_calls or []:
            assert tc.index == 0
            call_id = tc.id or call_id
            name += (tc.function.name or "") if tc.function else ""
            args += (tc.function.arguments or "") if tc.function else ""
        finish = ch.choices[0].finish_reason or finish
    assert (name, json.loads(args), finish) == ("read_file", {"path": "a.py", "lines": [1, 2]}, "tool_calls")
    assert call_id and call_id.startswith("call_")
    assert sum(1 for c in chunks if c.choices and c.choices[0].delta.tool_calls) > 2  # arguments arrive in pieces
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens > 0


def test_tool_message_is_answered(simulator_thread) -> None:
    r = client(simulator_thread).chat.completions.create(
        model="m",
        messages=[
            {"role": "user", "content": "[[tool:read_file {}]]"},
            {"role": "assistant", "content": None, "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "read_file", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "call_1", "content": [{"type": "text", "text": "print('hi')"}]},
        ],
    )  # fmt: skip
    assert r.choices[0].message.content == "SIM-ANSWER(m): tool result: print('hi')"


def test_usage_chunk_only_when_asked(simulator_thread) -> None:
    url = simulator_thread.url + "/v1/chat/completions"
    body = {"model": "m", "stream": True, "messages": [{"role": "user", "content": "x"}]}
    plain = httpx.post(url, json=body).text
    assert '"usage"' not in plain and plain.endswith("data: [DONE]\n\n")
    forced = httpx.post(url, json=body, headers={"x-sim-usage": "always"}).text
    assert '"prompt_tokens"' in forced and forced.endswith("data: [DONE]\n\n")


def test_text_stream_deltas_join_to_the_answer(simulator_thread) -> None:
    stream = client(simulator_thread).chat.completions.create(
        model="m", stream=True, messages=[{"role": "user", "content": "alpha beta gamma"}]
    )
    parts = [c.choices[0].delta.content or "" for c in stream if c.choices]
    assert len([p for p in parts if p]) == 4
    assert "".join(parts) == "SIM-ANSWER(m): alpha beta gamma"


def test_max_tokens_gives_length(simulator_thread) -> None:
    r = client(simulator_thread).chat.completions.create(
        model="m", max_tokens=1, messages=[{"role": "user", "content": "a b c"}]
    )
    assert r.choices[0].finish_reason == "length"


@pytest.mark.parametrize(
    ("body", "param"),
    [({"messages": [{"role": "user", "content": "x"}]}, "model"), ({"model": "m"}, "messages"),
     ({"model": "m", "messages": []}, "messages")],
)  # fmt: skip
def test_invalid_bodies_get_an_openai_400(simulator_thread, body: dict, param: str) -> None:
    r = httpx.post(simulator_thread.url + "/v1/chat/completions", json=body)
    assert r.status_code == 400
    err = r.json()["error"]
    assert err["type"] == "invalid_request_error" and err["param"] == param


def test_sdk_raises_bad_request_on_invalid_json(simulator_thread) -> None:
    r = httpx.post(simulator_thread.url + "/v1/chat/completions", content=b"[1,")
    assert r.status_code == 400 and "error" in r.json()


def test_models_list_serves_both_sdks(simulator_thread) -> None:
    ids = [m.id for m in client(simulator_thread).models.list()]
    assert "claude-sim-sonnet" in ids and "sim/kimi-k2.6:free" in ids
    import anthropic

    a = anthropic.Anthropic(base_url=simulator_thread.url, api_key="k", max_retries=0)
    assert "claude-sim-haiku" in [m.id for m in a.models.list()]
