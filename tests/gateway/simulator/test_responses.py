"""OpenAI Responses as the official SDK sees it, plus the raw event sequence."""

from __future__ import annotations

import json

import httpx
import openai

from gateway.protocols.sse import SSEDecoder


def client(sim) -> openai.OpenAI:
    return openai.OpenAI(base_url=sim.url + "/v1", api_key="sk-test", max_retries=0)


def test_json_text_answer(simulator_thread) -> None:
    r = client(simulator_thread).responses.create(model="gpt-sim", input="what is up")
    assert r.output_text == "SIM-ANSWER(gpt-sim): what is up"
    assert r.status == "completed"
    assert r.usage.output_tokens == 4 and r.usage.input_tokens_details.cached_tokens == 0


def test_stream_text_and_final_response(simulator_thread) -> None:
    deltas = []
    with client(simulator_thread).responses.stream(
        model="gpt-sim", instructions="be nice",
        input=[{"role": "user", "content": [{"type": "input_text", "text": "stream me please"}]}],
    ) as s:  # fmt: skip
        for ev in s:
            if ev.type == "response.output_text.delta":
                deltas.append(ev.delta)
        final = s.get_final_response()
    assert len(deltas) == 4
    assert "".join(deltas) == final.output_text == "SIM-ANSWER(gpt-sim): stream me please"


def test_stream_function_call(simulator_thread) -> None:
    tools = [{"type": "function", "name": "shell", "parameters": {"type": "object"}}]
    with client(simulator_thread).responses.stream(
        model="gpt-sim", tools=tools, input='[[tool:shell {"cmd": ["ls", "-la"]}]]'
    ) as s:
        kinds = [ev.type for ev in s]
        final = s.get_final_response()
    call = final.output[0]
    assert call.type == "function_call" and call.name == "shell"
    assert json.loads(call.arguments) == {"cmd": ["ls", "-la"]}
    assert "response.function_call_arguments.delta" in kinds
    assert kinds[:3] == ["response.created", "response.in_progress", "response.output_item.added"]
    assert kinds[-1] == "response.completed"


def test_function_call_output_is_answered(simulator_thread) -> None:
    r = client(simulator_thread).responses.create(
        model="gpt-sim",
        input=[
            {"role": "user", "content": "[[tool:shell {}]]"},
            {"type": "function_call", "call_id": "c1", "name": "shell", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "c1", "output": "total 0"},
        ],
    )
    assert r.output_text == "SIM-ANSWER(gpt-sim): tool result: total 0"


def test_raw_sequence_numbers_are_consecutive(simulator_thread) -> None:
    r = httpx.post(simulator_thread.url + "/v1/responses", json={"model": "g", "input": "a b", "stream": True})
    events = SSEDecoder().feed(r.content)
    seq = [json.loads(e.data)["sequence_number"] for e in events]
    assert seq == list(range(len(events)))
    assert [e.event for e in events][-4:] == [
        "response.output_text.done", "response.content_part.done", "response.output_item.done", "response.completed",
    ]  # fmt: skip
    assert all(e.event == json.loads(e.data)["type"] for e in events)


def test_missing_input_is_a_400(simulator_thread) -> None:
    r = httpx.post(simulator_thread.url + "/v1/responses", json={"model": "g"})
    assert r.status_code == 400 and r.json()["error"]["param"] == "input"
