"""The guard on whole answers, in the upstream's dialect before translation."""

from __future__ import annotations

import json

import pytest

from gateway.guards.body import Broken, guard_body
from gateway.guards.policy import OFF, GuardSettings, Tally
from gateway.protocols.dispatch import translate_response

ON = GuardSettings()


def anthropic(args: object) -> dict:
    return {"id": "msg_1", "type": "message", "role": "assistant", "model": "m", "stop_reason": "tool_use",
            "content": [{"type": "text", "text": "ok"}, {"type": "tool_use", "id": "t1", "name": "Bash", "input": args}],
            "usage": {"input_tokens": 1, "output_tokens": 1}}


def chat(args: str) -> dict:
    return {"id": "c1", "object": "chat.completion", "model": "m", "choices": [{"index": 0, "finish_reason": "tool_calls",
            "message": {"role": "assistant", "content": None, "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "Bash", "arguments": args}}]}}]}


def responses(args: str) -> dict:
    return {"id": "r1", "object": "response", "status": "completed", "model": "m", "output": [
        {"id": "fc_1", "type": "function_call", "call_id": "call_1", "name": "Bash", "arguments": args}]}


def test_untouched_when_fine() -> None:
    for dialect, body in (("anthropic", anthropic({"command": "ls"})), ("openai", chat('{"command":"ls"}')),
                          ("responses", responses('{"command":"ls"}'))):
        before = json.dumps(body)
        assert not guard_body(body, dialect, {}, ON, Tally())
        assert json.dumps(body) == before


def test_repair_then_translate() -> None:
    body = chat("{command: 'ls'")
    tally = Tally()
    assert guard_body(body, "openai", {}, ON, tally)
    out = translate_response(body, "openai", "anthropic", requested_model="m")  # would raise before the repair
    assert out["content"][-1]["input"] == {"command": "ls"} and tally.repairs == 1
    body = anthropic("{'command': 'ls'}")  # a string where an object belongs
    assert guard_body(body, "anthropic", {}, ON, Tally())
    assert body["content"][1]["input"] == {"command": "ls"}
    body = responses('{"command": "ls"')
    assert guard_body(body, "responses", {}, ON, Tally()) and json.loads(body["output"][0]["arguments"]) == {"command": "ls"}


@pytest.mark.parametrize("dialect,body", [("anthropic", anthropic({"command": "rm -rf ~"})),
                                          ("openai", chat('{"command":"rm -rf ~"}')),
                                          ("responses", responses('{"command":"rm -rf ~"}'))])
def test_blocked(dialect: str, body: dict) -> None:
    tally = Tally()
    assert guard_body(body, dialect, {}, ON, tally)
    text = json.dumps(body)
    assert "Blocked a dangerous Bash call" in text and tally.blocks == 1
    if dialect == "anthropic":
        assert body["stop_reason"] == "end_turn" and all(b["type"] == "text" for b in body["content"])
    if dialect == "openai":
        assert body["choices"][0]["finish_reason"] == "stop" and "tool_calls" not in body["choices"][0]["message"]
    if dialect == "responses":
        assert body["output"][0]["type"] == "message"


def test_broken_raises_and_off_does_nothing() -> None:
    with pytest.raises(Broken):
        guard_body(chat("garbage"), "openai", {}, ON, Tally())
    assert not guard_body(chat('{"command":"rm -rf ~"}'), "openai", {}, OFF, Tally())
