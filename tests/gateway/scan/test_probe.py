"""Probes: the pure stream folding per dialect, and real probes against the simulator in all three dialects."""

from __future__ import annotations

import asyncio
import json

import pytest

from gateway.config import Provider, Timeouts
from gateway.scan.probe import Budget, Collector, check_arguments, probe


def chat_events(args_parts: list[str], name: str = "read_file") -> list[str]:
    head = {"choices": [{"delta": {"tool_calls": [{"index": 0, "id": "c", "function": {"name": name, "arguments": ""}}]}}]}
    parts = [{"choices": [{"delta": {"tool_calls": [{"index": 0, "function": {"arguments": a}}]}}]} for a in args_parts]
    return [json.dumps(e) for e in (head, *parts, {"choices": [], "usage": {"completion_tokens": 9}})] + ["[DONE]"]


def fold(protocol: str, events: list[str]):
    c = Collector(protocol, 0.0)
    for i, e in enumerate(events):
        c.event(e, 0.1 * (i + 1))
    return c.result(1.0, 200)


@pytest.mark.parametrize(("parts", "ok", "says"), [
    (['{"pa', 'th": "READ', 'ME.md"}'], True, None),
    (['{"path": "README.md"'], False, "not valid JSON"),
    (["{}"], False, "miss the required string `path`"),
    (['["README.md"]'], False, "miss the required"),
])  # fmt: skip
def test_chat_tool_arguments_split_anywhere(parts: list[str], ok: bool, says: str | None) -> None:
    r = fold("openai", chat_events(parts))
    assert r.ok is ok and (says is None or says in r.reason)
    assert r.output_tokens == 9 and r.ttft_ms == 100.0


def test_anthropic_and_responses_streams() -> None:
    anth = [json.dumps(e) for e in (
        {"type": "message_start", "message": {"usage": {"input_tokens": 5}}},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "tool_use", "name": "read_file", "input": {}}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": '{"path":'}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": '"a.md"}'}},
        {"type": "message_delta", "usage": {"output_tokens": 7}},
    )]  # fmt: skip
    assert fold("anthropic", anth).ok
    resp = [json.dumps(e) for e in (
        {"type": "response.output_item.added", "item": {"type": "function_call", "name": "read_file"}},
        {"type": "response.function_call_arguments.delta", "delta": '{"path": "a'},
        {"type": "response.completed", "response": {"usage": {"output_tokens": 4}}},
    )]  # fmt: skip
    r = fold("responses", resp)
    assert not r.ok and "not valid JSON" in r.reason and r.tool_json_ok is False


def test_text_instead_of_a_tool_call_an_error_event_and_garbage() -> None:
    text = [json.dumps({"choices": [{"delta": {"content": "Sure, I will read it."}}]}), "[DONE]"]
    assert "without calling the tool" in fold("openai", text).reason
    err = [json.dumps({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})]
    assert "Overloaded" in fold("anthropic", err).reason
    assert "unreadable stream event" in fold("openai", ["{not json"]).reason
    assert check_arguments("write_file", '{"path": "x"}') == (False, "called an unknown tool 'write_file'")


def test_the_budget_is_hard() -> None:
    b = Budget(2)
    assert [b.take() for _ in range(4)] == [True, True, False, False] and b.spent == 2
    assert Budget(-3).take() is False


@pytest.mark.parametrize("protocol", ["openai", "anthropic", "responses"])
def test_real_probes_against_the_simulator(simulator_thread, protocol: str) -> None:
    base = simulator_thread.url + ("" if protocol == "anthropic" else "/v1")
    provider = Provider(name="sim", dialect=protocol, base_url=base)
    budget = Budget(3)

    async def run() -> list:
        import aiohttp

        async with aiohttp.ClientSession() as s:
            t = Timeouts(2, 2, 2)
            return [await probe(s, provider, m, budget, t) for m in
                    ("deepseek/deepseek-v4-flash:free", "openai/gpt-oss-120b:free", "minimax/minimax-m2:free",
                     "moonshotai/kimi-k2.6:free")]

    good, broken, text, over = asyncio.run(run())
    assert good.ok and good.ttft_ms is not None, good
    assert not broken.ok and "not valid JSON" in broken.reason, broken
    assert not text.ok and "without calling the tool" in text.reason, text
    assert not over.ok and over.reason == "probe budget spent" and not over.reached
    assert simulator_thread.calls() == 3
