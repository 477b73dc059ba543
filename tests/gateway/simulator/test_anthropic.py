"""Anthropic Messages as the official SDK sees it, plus the raw SSE sequence."""

from __future__ import annotations

import anthropic
import httpx
import pytest

from gateway.protocols.sse import SSEDecoder
from gateway.simulator.answers import thinking_signature

TOOLS = [{"name": "Bash", "description": "run a command", "input_schema": {"type": "object"}}]


def client(sim) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=sim.url, api_key="sk-test", max_retries=0)


def test_json_answer_quotes_the_last_user_text(simulator_thread) -> None:
    msg = client(simulator_thread).messages.create(
        model="claude-sim", max_tokens=100, messages=[{"role": "user", "content": "hello there world"}]
    )
    assert msg.content[0].type == "text"
    assert msg.content[0].text == "SIM-ANSWER(claude-sim): hello there world"
    assert msg.stop_reason == "end_turn"
    assert msg.usage.output_tokens == 4
    assert msg.usage.input_tokens > 0
    assert msg.usage.cache_read_input_tokens == 0 and msg.usage.cache_creation_input_tokens == 0


def test_stream_final_message_matches_json(simulator_thread) -> None:
    c = client(simulator_thread)
    kwargs = {"model": "claude-sim", "max_tokens": 100, "messages": [{"role": "user", "content": "one two three four"}]}
    with c.messages.stream(**kwargs) as s:
        deltas = list(s.text_stream)
        final = s.get_final_message()
    assert len(deltas) >= 4  # split by words
    assert final.content[0].text == "".join(deltas) == "SIM-ANSWER(claude-sim): one two three four"
    plain = c.messages.create(**kwargs)
    assert final.usage.input_tokens == plain.usage.input_tokens
    assert final.usage.output_tokens == plain.usage.output_tokens


def test_tool_directive_streams_tool_use_with_thinking_first(simulator_thread) -> None:
    with client(simulator_thread).messages.stream(
        model="claude-sim",
        max_tokens=2000,
        thinking={"type": "enabled", "budget_tokens": 1024},
        tools=TOOLS,
        messages=[{"role": "user", "content": 'please [[tool:Bash {"command": "ls -la", "opts": {"n": 1}}]]'}],
    ) as s:
        final = s.get_final_message()
    kinds = [b.type for b in final.content]
    assert kinds == ["thinking", "tool_use"]
    assert final.content[0].signature == thinking_signature("claude-sim", final.content[0].thinking)
    assert final.content[1].name == "Bash"
    assert final.content[1].input == {"command": "ls -la", "opts": {"n": 1}}
    assert final.stop_reason == "tool_use"


def test_tool_result_is_answered_and_thinking_signature_checked(simulator_thread) -> None:
    c = client(simulator_thread)
    first = c.messages.create(
        model="claude-sim", max_tokens=2000, thinking={"type": "enabled", "budget_tokens": 1024}, tools=TOOLS,
        messages=[{"role": "user", "content": '[[tool:Bash {"command": "pwd"}]]'}],
    )  # fmt: skip
    tool = first.content[1]
    history = [
        {"role": "user", "content": '[[tool:Bash {"command": "pwd"}]]'},
        {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in first.content]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": tool.id, "content": "/home/sim\n"}]},
    ]
    second = c.messages.create(model="claude-sim", max_tokens=2000, tools=TOOLS, messages=history)
    assert second.content[-1].text == "SIM-ANSWER(claude-sim): tool result: /home/sim\n"
    # the same thinking replayed to another model is rejected, as Anthropic does
    with pytest.raises(anthropic.BadRequestError, match="signature"):
        c.messages.create(model="claude-other", max_tokens=2000, tools=TOOLS, messages=history)


def test_raw_event_sequence_and_indices(simulator_thread) -> None:
    body = {
        "model": "claude-sim", "max_tokens": 100, "stream": True, "thinking": {"type": "enabled", "budget_tokens": 1024},
        "messages": [{"role": "user", "content": "tell me"}],
    }  # fmt: skip
    r = httpx.post(simulator_thread.url + "/v1/messages?beta=true", json=body)
    assert r.headers["content-type"].startswith("text/event-stream")
    events = SSEDecoder().feed(r.content)
    names = [e.event for e in events]
    assert names[0] == "message_start" and names[-2:] == ["message_delta", "message_stop"]
    assert names[1:3] == ["content_block_start", "ping"]
    import json

    start = json.loads(events[0].data)["message"]
    assert {"input_tokens", "cache_read_input_tokens", "cache_creation_input_tokens"} <= start["usage"].keys()
    opened: list[int] = []
    for e in events:
        d = json.loads(e.data)
        if e.event == "content_block_start":
            assert d["index"] == len(opened)
            opened.append(d["index"])
        elif e.event in ("content_block_delta", "content_block_stop"):
            assert d["index"] == opened[-1]
    assert len(opened) == 2
    delta = json.loads(events[-2].data)
    assert delta["delta"]["stop_reason"] == "end_turn" and delta["usage"]["output_tokens"] > 0


def test_max_tokens_cuts_the_answer(simulator_thread) -> None:
    msg = client(simulator_thread).messages.create(
        model="claude-sim", max_tokens=2, messages=[{"role": "user", "content": "a b c d e f"}]
    )
    assert msg.stop_reason == "max_tokens"
    assert msg.content[0].text == "SIM-ANSWER(claude-sim): a"


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"max_tokens": 10, "messages": [{"role": "user", "content": "x"}]}, "model"),
        ({"model": "m", "max_tokens": 10}, "messages"),
        ({"model": "m", "max_tokens": 10, "messages": []}, "messages"),
        ({"model": "m", "messages": [{"role": "user", "content": "x"}]}, "max_tokens"),
        ({"model": "m", "max_tokens": 10, "messages": [{"role": "robot", "content": "x"}]}, "role"),
    ],
)
def test_invalid_bodies_get_an_anthropic_400(simulator_thread, body: dict, needle: str) -> None:
    r = httpx.post(simulator_thread.url + "/v1/messages", json=body)
    assert r.status_code == 400
    err = r.json()
    assert err["type"] == "error" and err["error"]["type"] == "invalid_request_error"
    assert needle in err["error"]["message"]


def test_invalid_json_and_too_many_breakpoints(simulator_thread) -> None:
    r = httpx.post(simulator_thread.url + "/v1/messages", content=b"{nope", headers={"content-type": "application/json"})
    assert r.status_code == 400 and r.json()["error"]["type"] == "invalid_request_error"
    cc = {"type": "ephemeral"}
    blocks = [{"type": "text", "text": f"b{i}", "cache_control": cc} for i in range(5)]
    r = httpx.post(simulator_thread.url + "/v1/messages",
                   json={"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": blocks}]})  # fmt: skip
    assert r.status_code == 400 and "maximum of 4" in r.json()["error"]["message"]


def test_count_tokens_is_answered_but_not_counted_as_a_call(simulator_thread) -> None:
    c = client(simulator_thread)
    n = c.messages.count_tokens(model="claude-sim", messages=[{"role": "user", "content": "x" * 400}])
    assert n.input_tokens >= 100
    assert simulator_thread.calls("claude-sim") == 0
    assert simulator_thread.requests("claude-sim")[0]["path"] == "/v1/messages/count_tokens"


async def test_async_client_against_in_process_simulator(simulator) -> None:
    c = anthropic.AsyncAnthropic(base_url=simulator.url, api_key="k", max_retries=0)
    async with c.messages.stream(model="m", max_tokens=50, messages=[{"role": "user", "content": "hi"}]) as s:
        final = await s.get_final_message()
    assert final.content[0].text == "SIM-ANSWER(m): hi"
    assert simulator.calls("m") == 1
