"""The proxy's three calls into the guards, on parsed requests (no server)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import orjson

from gateway.config import parse
from gateway.exchange import Exchange
from gateway.guards.hooks import Guards, local_answer
from gateway.identify import Ident
from gateway.protocols.streams import PassThrough, stream_translator

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
big = ["alpha"]
[tiers.other]
letter = "o"
big = ["beta"]
guards = { loop = 2 }
"""


def inc(body: dict[str, Any], endpoint: str = "anthropic", path: str = "/x/claude/p/f/v1/messages") -> Any:
    return SimpleNamespace(dialect=endpoint, ident=Ident("claude", "p", "f"), path=path, raw=orjson.dumps(body),
                           body=body, headers={}, stream=False, model=str(body.get("model", "")))


def guards() -> Guards:
    cfg = parse(CONFIG)
    return Guards(lambda: cfg, lambda: 0.0)


def test_command_then_override_then_stripped() -> None:
    g = guards()
    ex = Exchange(session="s1")
    req = inc({"model": "claude-x", "messages": [{"role": "user", "content": "!/model beta"}]})
    text = g.before(req, ex)
    assert text is not None and "beta" in text and ex.guards[0]["action"] == "command"
    later = inc({"model": "claude-x", "messages": [
        {"role": "user", "content": "!/model beta"}, {"role": "assistant", "content": text},
        {"role": "user", "content": "hello"}]})
    assert g.before(later, Exchange(session="s1")) is None
    assert later.ident.route == "b" and later.model == "beta"
    assert b"!/model" not in later.raw and len(later.body["messages"]) == 1
    other = inc({"model": "claude-x", "messages": [{"role": "user", "content": "hello"}]})
    assert g.before(other, Exchange(session="s2")) is None and other.ident.route == "p"  # per session


def test_tier_override_and_its_loop_setting() -> None:
    g = guards()
    assert "other" in g.before(inc({"messages": [{"role": "user", "content": "!/tier o"}]}), Exchange(session="s"))
    msgs: list[dict[str, Any]] = [{"role": "user", "content": "go"}]
    for i in range(4):
        msgs += [{"role": "assistant", "content": [{"type": "tool_use", "id": f"t{i}", "name": "Bash", "input": {"command": "make"}}]},
                 {"role": "user", "content": [{"type": "tool_result", "tool_use_id": f"t{i}", "content": "fail"}]}]
    req = inc({"messages": msgs})
    stop = g.before(req, Exchange(session="s"))  # tier "other" stops at 2 x 2
    assert req.ident.tier == "other" and stop is not None and "same tool call (Bash) 4 times" in stop
    req = inc({"messages": msgs[:-2]})
    ex = Exchange(session="s")
    assert g.before(req, ex) is None and ex.guards[0]["action"] == "steer"
    assert b"same tool call (Bash) 3 times" in req.raw  # noted after the prefix


def test_unguarded_turns_tool_guards_off_but_keeps_commands() -> None:
    g = guards()
    path = "/x/claude+unguarded/p/f/v1/messages"
    assert not g.settings("f", path).tools_on
    assert g.before(inc({"messages": [{"role": "user", "content": "!/help"}]}, path=path), Exchange()) is not None
    body = {"tools": [{"name": "Bash", "input_schema": {}}], "messages": []}
    tr = PassThrough("anthropic")
    assert g.stream(tr, inc(body, path=path), Exchange()) is tr
    assert g.stream(tr, inc(body), Exchange()) is not tr


def test_no_tools_no_wrapping() -> None:
    g = guards()
    tr = stream_translator("openai", "anthropic", requested_model="m")
    assert g.stream(tr, inc({"messages": []}), Exchange()) is tr


def test_body_guard_counts_on_the_exchange() -> None:
    g = guards()
    ex = Exchange()
    body = {"choices": [{"index": 0, "finish_reason": "tool_calls", "message": {"role": "assistant", "tool_calls": [
        {"id": "c", "type": "function", "function": {"name": "Bash", "arguments": '{"command": "rm -rf ~"}'}}]}}]}
    assert g.body(body, "openai", inc({"tools": [{"name": "Bash"}], "messages": []}), ex)
    assert ex.blocks == 1 and ex.guards[0]["rule"] == "rm-root"


def test_local_answer() -> None:
    data, ctype = local_answer("[xx] hi", "openai", False, "m")
    assert ctype == "application/json" and orjson.loads(data)["choices"][0]["message"]["content"] == "[xx] hi"
    data, ctype = local_answer("[xx] hi", "anthropic", True, "m")
    assert ctype == "text/event-stream" and b"message_stop" in data


def _replayed(command: str, answer: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": command}, {"role": "assistant", "content": answer},
            {"role": "user", "content": "hello"}]


def test_answered_commands_stripped_without_memory_and_override_recovered() -> None:
    """A gateway that never saw the session (restarted, evicted, another instance) decides from the body."""
    g = guards()
    req = inc({"model": "claude-x", "messages": _replayed("!/model beta", "[xx] From the next turn on, beta")})
    assert g.before(req, Exchange(session="restarted")) is None
    assert orjson.loads(req.raw)["messages"] == [{"role": "user", "content": "hello"}]
    assert (req.ident.route, req.model) == ("b", "beta")
    later = inc({"model": "claude-x", "messages": _replayed("!/model beta", "[xx] ok")})
    assert g.before(later, Exchange(session="restarted")) is None and later.model == "beta"  # now from memory
    tiered = inc({"messages": _replayed("//tier o", "[xx] From the next turn on, tier other")})
    assert g.before(tiered, Exchange(session="t")) is None and tiered.ident.tier == "other"


def test_command_text_a_model_answered_is_kept() -> None:
    """No `[xx]` answer after it: the gateway did not answer that turn (commands were off), so it is the model's."""
    g = guards()
    body = {"messages": _replayed("!/model beta", "Sure, switching models is not something I can do.")}
    req = inc(body)
    raw = req.raw
    assert g.before(req, Exchange(session="s")) is None
    assert req.raw == raw and req.ident.route == "p"


def test_gateway_answers_are_recorded_as_such() -> None:
    g = guards()
    ex = Exchange(session="s", tier="f")
    assert g.before(inc({"messages": [{"role": "user", "content": "!/help"}]}), ex) is not None
    assert (ex.tier, ex.model, ex.provider, ex.outcome) == ("free", "xx", "xx", "command")
    msgs: list[dict[str, Any]] = [{"role": "user", "content": "go"}]
    for i in range(4):
        msgs += [{"role": "assistant", "content": [{"type": "tool_use", "id": f"t{i}", "name": "Bash",
                                                   "input": {"command": "make"}}]},
                 {"role": "user", "content": [{"type": "tool_result", "tool_use_id": f"t{i}", "content": "x"}]}]
    ex = Exchange(session="s", tier="o")
    req = inc({"messages": msgs})
    req.ident = Ident("claude", "p", "o")
    assert g.before(req, ex) is not None and (ex.outcome, ex.model, ex.tier) == ("loop", "xx", "other")
    g.remember(ex)
    assert g.state.recent("s") == []  # `!/why` keeps explaining the last model's turn
