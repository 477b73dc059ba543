"""The guards through a real gateway and the simulator, with the official SDKs, streamed and not.

Each dialect is tried on a tier that passes its bytes through (guarded on the wire format) and
on one that translates (guarded on neutral events or on the upstream's whole body).
"""

from __future__ import annotations

import json
from typing import Any

import anthropic
import openai
import pytest
from support.servers import config_for, free_port

from gateway.routes import views

BASH = {"type": "object", "properties": {"command": {"type": "string"}}, "required": ["command"]}
DANGER = '[[tool:Bash {"command": "rm -rf ~"}]]'
BROKEN = "[[rawtool:Bash {command: 'ls -la'}]]"
STREAMS = [False, True]


@pytest.fixture
def gw(simulator_thread, make_gateway):
    cfg = config_for(simulator_thread.url, free_port(), "\n[guards]\nloop = 2\n")
    return simulator_thread, make_gateway(cfg)


def claude(gw_url: str, tier: str, agent: str = "claude") -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=f"{gw_url}/x/{agent}/p/{tier}", api_key="xx-local", max_retries=0)


def ask_anthropic(client: anthropic.Anthropic, messages: list[dict[str, Any]], stream: bool) -> Any:
    kw = {"model": "claude-sonnet-4-6", "max_tokens": 300, "messages": messages,
          "tools": [{"name": "Bash", "description": "run", "input_schema": BASH}]}
    if stream:
        with client.messages.stream(**kw) as s:
            return s.get_final_message()
    return client.messages.create(**kw)


def ask_chat(client: openai.OpenAI, prompt: str, stream: bool) -> tuple[str, list[tuple[str, str]], str]:
    kw = {"model": "any", "messages": [{"role": "user", "content": prompt}],
          "tools": [{"type": "function", "function": {"name": "Bash", "parameters": BASH}}]}
    if not stream:
        msg = client.chat.completions.create(**kw).choices[0]
        calls = [(c.function.name, c.function.arguments) for c in msg.message.tool_calls or []]
        return msg.message.content or "", calls, msg.finish_reason
    text, acc, finish = "", {}, ""
    for chunk in client.chat.completions.create(**kw, stream=True):
        for c in chunk.choices:
            text += c.delta.content or ""
            for tc in c.delta.tool_calls or []:
                slot = acc.setdefault(tc.index, ["", ""])
                slot[0] += (tc.function.name or "") if tc.function else ""
                slot[1] += (tc.function.arguments or "") if tc.function else ""
            finish = c.finish_reason or finish
    return text, [tuple(v) for v in acc.values()], finish


def ask_responses(client: openai.OpenAI, prompt: str, stream: bool) -> tuple[str, list[tuple[str, str]]]:
    kw = {"model": "any", "input": prompt, "tools": [{"type": "function", "name": "Bash", "parameters": BASH}]}
    if stream:
        with client.responses.stream(**kw) as s:
            resp = s.get_final_response()
    else:
        resp = client.responses.create(**kw)
    calls = [(o.name, o.arguments) for o in resp.output if o.type == "function_call"]
    return resp.output_text, calls


def last_row(gw: Any, n: int) -> dict[str, Any]:
    return gw.rows(at_least=n)[0]  # newest first


@pytest.mark.parametrize("stream", STREAMS)
@pytest.mark.parametrize("tier", ["c", "f"])  # c: Anthropic upstream (pass-through), f: Chat upstream (translated)
def test_anthropic_danger_and_repair(gw, tier: str, stream: bool) -> None:
    _, g = gw
    client = claude(g.url, tier)
    msg = ask_anthropic(client, [{"role": "user", "content": f"clean up {DANGER}"}], stream)
    assert [b.type for b in msg.content] == ["text"] and msg.stop_reason == "end_turn"
    assert "Blocked a dangerous Bash call" in msg.content[0].text and "rm-root" in msg.content[0].text
    row = last_row(g, 1)
    assert row["blocks"] == 1 and row["guards"][0]["rule"] == "rm-root" and "rm -rf" not in json.dumps(row)
    msg = ask_anthropic(client, [{"role": "user", "content": f"list {BROKEN}"}], stream)
    uses = [b for b in msg.content if b.type == "tool_use"]
    assert [(u.name, u.input) for u in uses] == [("Bash", {"command": "ls -la"})]
    assert last_row(g, 2)["repairs"] == 1
    stats = views.snapshot(g.rt)["requests"]
    assert stats["repairs"] == 1 and stats["blocks"] == 1


@pytest.mark.parametrize("stream", STREAMS)
@pytest.mark.parametrize("tier", ["f", "c"])  # f: pass-through, c: translated from Anthropic
def test_chat_danger_and_repair(gw, tier: str, stream: bool) -> None:
    _, g = gw
    client = openai.OpenAI(base_url=f"{g.url}/x/qwen/p/{tier}/v1", api_key="xx-local", max_retries=0)
    text, calls, finish = ask_chat(client, f"clean {DANGER}", stream)
    assert calls == [] and "Blocked a dangerous Bash call" in text and finish == "stop"
    text, calls, finish = ask_chat(client, f"list {BROKEN}", stream)
    assert [(n, json.loads(a)) for n, a in calls] == [("Bash", {"command": "ls -la"})] and finish == "tool_calls"


@pytest.mark.parametrize("stream", STREAMS)
@pytest.mark.parametrize("tier", ["g", "f"])  # g: Responses upstream (pass-through), f: translated
def test_responses_danger_and_repair(gw, tier: str, stream: bool) -> None:
    _, g = gw
    client = openai.OpenAI(base_url=f"{g.url}/x/codex/p/{tier}/v1", api_key="xx-local", max_retries=0)
    text, calls = ask_responses(client, f"clean {DANGER}", stream)
    assert calls == [] and "Blocked a dangerous Bash call" in text
    text, calls = ask_responses(client, f"list {BROKEN}", stream)
    assert [(n, json.loads(a)) for n, a in calls] == [("Bash", {"command": "ls -la"})]


@pytest.mark.parametrize("stream", STREAMS)
def test_unguarded_lets_it_through(gw, stream: bool) -> None:
    _, g = gw
    msg = ask_anthropic(claude(g.url, "c", "claude+unguarded"), [{"role": "user", "content": DANGER}], stream)
    assert [(b.name, b.input) for b in msg.content if b.type == "tool_use"] == [("Bash", {"command": "rm -rf ~"})]
    assert last_row(g, 1)["agent"] == "claude"


@pytest.mark.parametrize("stream", STREAMS)
def test_model_command_switches_and_never_reaches_upstream(gw, stream: bool) -> None:
    sim, g = gw
    client = claude(g.url, "f")
    before = len(sim.requests())
    sid = {"x-claude-code-session-id": f"s-{stream}"}
    client = client.with_options(default_headers=sid)
    first = ask_anthropic(client, [{"role": "user", "content": "!/model sim-nemotron"}], stream)
    answer = first.content[0].text
    assert answer.startswith("[xx]") and "sim-nemotron" in answer
    assert len(sim.requests()) == before  # answered by the gateway itself
    history = [{"role": "user", "content": "!/model sim-nemotron"}, {"role": "assistant", "content": answer},
               {"role": "user", "content": "hello there"}]
    second = ask_anthropic(client, history, stream)
    assert "SIM-ANSWER(sim/nemotron-3-super:free)" in second.content[0].text
    sent = sim.requests()[before:]
    assert len(sent) == 1 and "!/model" not in json.dumps(sent[0]["body"]) and "[xx]" not in json.dumps(sent[0]["body"])
    other = ask_anthropic(claude(g.url, "f"), [{"role": "user", "content": "hello"}], stream)  # another session
    assert "SIM-ANSWER(sim/kimi-k2.6:free)" in other.content[0].text
    help_text = ask_anthropic(client, [{"role": "user", "content": "!/nonsense"}], stream).content[0].text
    assert "Unknown command" in help_text and "!/status" in help_text


def test_why_and_status(gw) -> None:
    _, g = gw
    client = openai.OpenAI(base_url=f"{g.url}/x/qwen/p/f/v1", api_key="xx-local", max_retries=0,
                           default_headers={"x-xx-session": "why-1"})
    client.chat.completions.create(model="any", messages=[{"role": "user", "content": "hi"}])
    why = client.chat.completions.create(model="any", messages=[{"role": "user", "content": "!/why"}])
    assert "tried sim-kimi: ok" in why.choices[0].message.content
    status = client.chat.completions.create(model="any", messages=[{"role": "user", "content": "!/status"}])
    assert "sim-kimi" in status.choices[0].message.content


@pytest.mark.parametrize("stream", STREAMS)
def test_loop_steers_then_stops(gw, stream: bool) -> None:
    sim, g = gw  # [guards] loop = 2 in this config

    def history(n: int) -> list[dict[str, Any]]:
        msgs: list[dict[str, Any]] = [{"role": "user", "content": "build it"}]
        for i in range(n):
            msgs += [{"role": "assistant", "content": [{"type": "tool_use", "id": f"t{i}", "name": "Bash",
                                                        "input": {"command": "make"}}]},
                     {"role": "user", "content": [{"type": "tool_result", "tool_use_id": f"t{i}", "content": "error"}]}]
        return msgs

    client = claude(g.url, "c")
    before = len(sim.requests())
    ask_anthropic(client, history(2), stream)
    sent = sim.requests()[before:]
    assert "same tool call (Bash) 2 times" in json.dumps(sent[-1]["body"])
    stop = ask_anthropic(client, history(4), stream)
    assert "stopped it" in stop.content[0].text and len(sim.requests()) == before + 1


@pytest.mark.parametrize("stream", STREAMS)
def test_unrepairable_arguments_ask_again_then_fall_back(gw, stream: bool) -> None:
    """Nothing reached the client yet (the call is held from the stream's first chunk): the same model is asked
    once more; when it fails again, the next model answers."""
    sim, g = gw
    garbage = {"tool": {"name": "Bash", "raw_arguments": "@@@ not json at all"}}
    client = openai.OpenAI(base_url=f"{g.url}/x/qwen/p/f/v1", api_key="xx-local", max_retries=0)
    sim.script("sim/kimi-k2.6:free", garbage)
    text, calls, _ = ask_chat(client, "list files", stream)
    assert calls == [] and "SIM-ANSWER(sim/kimi-k2.6:free)" in text
    row = last_row(g, 1)
    assert [(a["model"], a["outcome"]) for a in row["attempts"]] == [("sim-kimi", "error"), ("sim-kimi", "ok")]
    assert "could not be repaired" in row["attempts"][0]["error"]
    sim.script("sim/kimi-k2.6:free", garbage, garbage)
    text, calls, _ = ask_chat(client, "list files", stream)
    assert "SIM-ANSWER(sim/nemotron-3-super:free)" in text
    assert [a["model"] for a in last_row(g, 2)["attempts"]] == ["sim-kimi", "sim-kimi", "sim-nemotron"]


def test_unrepairable_everywhere_is_a_clean_error(gw) -> None:
    """Every model of the tier sends an unrepairable call (after some text), twice each: then an error event."""
    sim, g = gw
    broken = {"text": "Let me look.", "tool": {"name": "Bash", "raw_arguments": "@@@"}}
    for model in ("claude-sim-sonnet", "claude-sim-haiku"):
        sim.script(model, broken, broken)  # each model is asked twice
    client = claude(g.url, "c")
    with pytest.raises(anthropic.APIStatusError, match="could not be repaired"):
        ask_anthropic(client, [{"role": "user", "content": "look"}], True)
    row = last_row(g, 1)
    assert row["outcome"] == "error"
    assert [a["model"] for a in row["attempts"]] == ["sim-claude", "sim-claude", "sim-haiku", "sim-haiku"]
    assert all("could not be repaired" in a["error"] for a in row["attempts"])


@pytest.mark.parametrize("stream", STREAMS)
def test_gemini_client(gw, stream: bool) -> None:
    """Gemini CLI's dialect is always translated: the guard works on neutral events (streamed) or the upstream body."""
    from google import genai
    from google.genai import types

    _, g = gw
    client = genai.Client(api_key="x", http_options=types.HttpOptions(base_url=f"{g.url}/x/gemini/p/f",
                                                                       api_version="v1beta", retry_options=None))
    tool = types.Tool(function_declarations=[types.FunctionDeclaration(
        name="run_shell_command", parameters_json_schema={"type": "object", "properties": {"command": {"type": "string"}}})])
    cfg = types.GenerateContentConfig(tools=[tool], automatic_function_calling=types.AutomaticFunctionCallingConfig(
        disable=True))

    def ask(prompt: str) -> tuple[str, list[tuple[str, dict]]]:
        call = client.models.generate_content_stream if stream else client.models.generate_content
        out = call(model="gemini-2.5-pro", contents=prompt, config=cfg)
        chunks = list(out) if stream else [out]
        text, calls = "", []
        for chunk in chunks:
            for cand in chunk.candidates or []:
                for part in (cand.content.parts if cand.content else None) or []:
                    if part.function_call is not None:
                        calls.append((part.function_call.name, dict(part.function_call.args or {})))
                    elif part.text:
                        text += part.text
        return text, calls

    text, calls = ask('go [[tool:run_shell_command {"command": "rm -rf ~"}]]')
    assert calls == [] and "Blocked a dangerous run_shell_command call" in text
    text, calls = ask("go [[rawtool:run_shell_command {command: 'ls'}]]")
    assert calls == [("run_shell_command", {"command": "ls"})]
    text, _ = ask("!/help")
    assert text.startswith("[xx] Commands")


@pytest.mark.parametrize("stream", STREAMS)
def test_command_turns_stripped_without_memory_of_the_session(gw, stream: bool) -> None:
    """A history the gateway never saw (a restart, another instance): the answered `!/model` pair never goes
    upstream, and its override is rebuilt from the history itself."""
    sim, g = gw
    client = claude(g.url, "f").with_options(default_headers={"x-claude-code-session-id": f"fresh-{stream}"})
    before = len(sim.requests())
    history = [{"role": "user", "content": "!/model sim-nemotron"},
               {"role": "assistant", "content": "[xx] From the next turn on, this conversation uses sim-nemotron."},
               {"role": "user", "content": "hello"}]
    msg = ask_anthropic(client, history, stream)
    assert "SIM-ANSWER(sim/nemotron-3-super:free)" in msg.content[0].text  # the override, recovered
    sent = sim.requests()[before:]
    assert len(sent) == 1
    assert "!/model" not in json.dumps(sent[0]["body"]) and "[xx]" not in json.dumps(sent[0]["body"])
    shown = ask_anthropic(client, [*history, {"role": "assistant", "content": "hi"},
                                   {"role": "user", "content": "!/model"}], stream).content[0].text
    assert "sim-nemotron" in shown and "!/model auto" in shown  # a question: shows, does not clear
    assert len(sim.requests()) == before + 1


def test_command_rows_say_the_gateway_answered(gw) -> None:
    """`!/help` is recorded as answered by xx: the tier's name, outcome `command`, no model, no cache class."""
    import httpx

    sim, g = gw
    before = len(sim.requests())
    ask_anthropic(claude(g.url, "c"), [{"role": "user", "content": "!/help"}], False)
    row = last_row(g, 1)
    assert (row["tier"], row["outcome"], row["status"]) == ("claude", "command", 200)
    assert (row["model"], row["provider"], row["cache_class"], row["attempts"]) == ("xx", "xx", "-", [])
    listed = httpx.get(f"{g.url}/xx/requests").json()
    listed = listed.get("requests", listed) if isinstance(listed, dict) else listed
    assert listed[0]["outcome"] == "command" and listed[0]["tier"] == "claude"
    assert len(sim.requests()) == before


def test_responses_history_without_memory_strips_the_pair(gw) -> None:
    """Codex's dialect: the replayed `//status` pair (Claude Code's spelling works anywhere) never goes upstream."""
    sim, g = gw
    client = openai.OpenAI(base_url=f"{g.url}/x/codex/p/g/v1", api_key="xx-local", max_retries=0,
                           default_headers={"x-xx-session": "codex-fresh"})
    before = len(sim.requests())
    history = [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "//status"}]},
               {"type": "message", "role": "assistant",
                "content": [{"type": "output_text", "text": "[xx] Status of this conversation"}]},
               {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hello"}]}]
    resp = client.responses.create(model="gpt-5-codex", input=history)
    assert "SIM-ANSWER" in resp.output_text
    sent = json.dumps(sim.requests()[before:][0]["body"])
    assert "//status" not in sent and "[xx]" not in sent and "hello" in sent
