"""In-chat commands: found as typed, answered in every dialect, stripped from later history."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from gateway.config import parse
from gateway.exchange import Attempt, Exchange
from gateway.guards.answers import answer, recover
from gateway.guards.commands import ANSWER_MARK, find_command, has_answer, strip_commands
from gateway.guards.commands import parse as parse_command
from gateway.guards.reply import json_answer, stream_answer
from gateway.guards.session import GuardState

CONFIG = """
[providers.sim]
protocol = "openai"
base_url = "http://127.0.0.1:9/v1"
[models.alpha]
provider = "sim"
id = "sim/alpha"
[models.beta]
provider = "sim"
id = "sim/beta"
[tiers.free]
letter = "f"
big = ["alpha", "beta"]
[tiers.other]
letter = "o"
big = ["beta"]
"""


def test_parse() -> None:
    assert parse_command("!/model beta") == parse_command("!/model beta")
    c = parse_command("!/model beta")
    assert (c.name, c.arg) == ("model", "beta")
    assert parse_command("!/model(beta)").arg == "beta"
    assert parse_command("!/frobnicate").name == ""
    assert parse_command("hello !/model x") is None
    assert parse_command("!/STATUS").name == "status"


def test_found_behind_agent_reminders() -> None:
    body = {"messages": [{"role": "user", "content": [
        {"type": "text", "text": "<system-reminder>\nstuff\n</system-reminder>"},
        {"type": "text", "text": "!/tier o"}]}]}
    assert find_command(body, "anthropic").name == "tier"
    body = {"input": [{"type": "message", "role": "user", "content": [
        {"type": "input_text", "text": "<environment_context>cwd</environment_context>"}]},
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "!/why"}]}]}
    assert find_command(body, "responses").name == "why"
    assert find_command({"input": "!/help"}, "responses").name == "help"
    assert find_command({"messages": [{"role": "user", "content": "!/model x"},
                                      {"role": "assistant", "content": "ok"}]}, "openai") is None


def _history(endpoint: str) -> dict[str, Any]:
    if endpoint == "responses":
        def u(t: str) -> dict[str, Any]:
            return {"type": "message", "role": "user", "content": [{"type": "input_text", "text": t}]}

        def a(t: str) -> dict[str, Any]:
            return {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": t}]}
        return {"input": [u("hi"), a("hello"), u("!/model beta"), a(f"{ANSWER_MARK} switched"), u("go on")]}
    msgs = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"},
            {"role": "user", "content": [{"type": "text", "text": "!/model beta"}]},
            {"role": "assistant", "content": [{"type": "text", "text": f"{ANSWER_MARK} switched"}]},
            {"role": "user", "content": "go on"}]
    return {"messages": msgs}


@pytest.mark.parametrize("endpoint", ["anthropic", "openai", "responses"])
def test_strip_removes_command_and_answer(endpoint: str) -> None:
    body = _history(endpoint)
    assert strip_commands(body, endpoint)
    turns = body["input" if endpoint == "responses" else "messages"]
    assert len(turns) == 3
    assert b"!/model" not in orjson.dumps(body) and ANSWER_MARK.encode() not in orjson.dumps(body)
    assert not strip_commands(body, endpoint)  # nothing left to strip


def test_answers() -> None:
    cfg = parse(CONFIG)
    state = GuardState()
    assert "beta" in answer(parse_command("!/model beta"), "k", state, cfg)
    assert state.get("k").model == "beta"
    assert "sim/alpha" in answer(parse_command("!/model sim/alpha"), "k", state, cfg)
    assert state.get("k").model == "alpha"
    assert "No configured model" in answer(parse_command("!/model nope"), "k", state, cfg)
    answer(parse_command("!/model auto"), "k", state, cfg)
    assert state.get("k").model is None
    assert "other" in answer(parse_command("!/tier o"), "k", state, cfg) and state.get("k").tier == "other"
    assert "No tier" in answer(parse_command("!/tier z"), "k", state, cfg)
    ex = Exchange(model="beta", role="big", tier="other", status=200, outcome="ok",
                  attempts=[Attempt("alpha", "sim", "error", 429, 3.0, "HTTP 429"), Attempt("beta", "sim", "ok", 200)],
                  skipped=[{"model": "gamma", "reason": "cooling down"}])
    ex.usage.input, ex.usage.cache_read = 1000, 750
    state.remember(ex, "k")
    why = answer(parse_command("!/why"), "k", state, cfg)
    assert "tried alpha: error HTTP 429" in why and "skipped gamma: cooling down" in why
    status = answer(parse_command("!/status"), "k", state, cfg, lambda m: {"rpm": {"used": 1, "limit": 20}})
    assert "beta" in status and "75%" in status and "rpm 1/20" in status
    assert "!/model NAME" in answer(parse_command("!/help"), "k", state, cfg)
    assert "Unknown command" in answer(parse_command("!/nope"), "k", state, cfg)
    assert all(answer(parse_command(c), "k", state, cfg).startswith(ANSWER_MARK)
               for c in ("!/help", "!/why", "!/status", "!/x", "!/model beta", "!/tier f"))


@pytest.mark.parametrize("dialect", ["anthropic", "openai", "responses", "gemini"])
def test_replies_carry_the_text(dialect: str) -> None:
    body = json_answer(f"{ANSWER_MARK} hi", dialect, "m")
    assert f"{ANSWER_MARK} hi" in orjson.dumps(body).decode()
    assert b"[xx] hi" in stream_answer(f"{ANSWER_MARK} hi", dialect, "m")


def test_claude_code_spelling() -> None:
    """Claude Code eats a leading `!` (shell mode), so `//model` is accepted too, but only for known names."""
    c = parse_command("//model beta")
    assert c is not None and (c.name, c.arg) == ("model", "beta")
    assert parse_command("// TODO: fix the model") is None
    assert parse_command("//frobnicate") is None
    body = {"messages": [{"role": "user", "content": "//status"}]}
    assert find_command(body, "anthropic").name == "status"



def test_model_and_tier_without_argument_show_and_keep() -> None:
    cfg = parse(CONFIG)
    state = GuardState()
    assert "No model override" in answer(parse_command("!/model"), "k", state, cfg)
    answer(parse_command("!/model beta"), "k", state, cfg)
    shown = answer(parse_command("!/model"), "k", state, cfg)
    assert "beta" in shown and "!/model auto" in shown and state.get("k").model == "beta"
    assert "No tier override" in answer(parse_command("!/tier"), "k", state, cfg)
    answer(parse_command("!/tier o"), "k", state, cfg)
    assert "other" in answer(parse_command("!/tier"), "k", state, cfg) and state.get("k").tier == "other"


def test_recover_override_from_history() -> None:
    cfg = parse(CONFIG)
    cmds = [parse_command(t) for t in ("!/model beta", "!/tier o", "!/model nope", "!/model", "!/status")]
    assert recover(cmds, cfg) == ("beta", "other")
    assert recover([*cmds, parse_command("!/model auto"), parse_command("!/tier off")], cfg) == (None, None)
    assert recover([parse_command("!/model sim/alpha")], cfg) == ("alpha", None)


def test_strip_needs_the_gateway_answer_and_keeps_the_last_turn() -> None:
    body = {"messages": [{"role": "user", "content": "!/help"}, {"role": "assistant", "content": "no idea"},
                         {"role": "user", "content": "!/model beta"}, {"role": "assistant", "content": "[xx] ok"}]}
    assert strip_commands(body, "anthropic") == [] and len(body["messages"]) == 4
    gem = {"contents": [{"role": "user", "parts": [{"text": "!/tier o"}]},
                        {"role": "model", "parts": [{"text": f"{ANSWER_MARK} tier other"}]},
                        {"role": "user", "parts": [{"text": "go"}]}]}
    assert [c.name for c in strip_commands(gem, "gemini")] == ["tier"] and len(gem["contents"]) == 1


@pytest.mark.parametrize("endpoint", ["anthropic", "openai", "responses"])
def test_has_answer_is_the_cheap_test(endpoint: str) -> None:
    body = _history(endpoint)
    assert has_answer(body, endpoint)
    strip_commands(body, endpoint)
    assert not has_answer(body, endpoint)
    thinking_first = {"messages": [{"role": "user", "content": "!/help"}, {"role": "assistant", "content": [
        {"type": "thinking", "thinking": "hm"}, {"type": "text", "text": f"{ANSWER_MARK} help"}]}]}
    assert has_answer(thinking_first, "anthropic")
    assert not has_answer({"messages": [{"role": "user", "content": f"{ANSWER_MARK} quoted by the user"}]}, "openai")
    assert has_answer({"contents": [{"role": "model", "parts": [{"text": f"{ANSWER_MARK} x"}]}]}, "gemini")
