"""Loop detection reads the replayed history: N same calls steer, 2N stop, anything else resets."""

from __future__ import annotations

from typing import Any

from gateway.guards.loop import add_note, repeats, verdict


def anthropic(calls: list[dict[str, Any]]) -> dict[str, Any]:
    msgs: list[dict[str, Any]] = [{"role": "user", "content": "fix it"}]
    for i, args in enumerate(calls):
        msgs.append({"role": "assistant", "content": [{"type": "tool_use", "id": f"t{i}", "name": "Bash", "input": args}]})
        msgs.append({"role": "user", "content": [{"type": "tool_result", "tool_use_id": f"t{i}", "content": "err"}]})
    return {"messages": msgs}


def chat(calls: list[str]) -> dict[str, Any]:
    msgs: list[dict[str, Any]] = [{"role": "user", "content": "fix it"}]
    for i, args in enumerate(calls):
        msgs.append({"role": "assistant", "content": None, "tool_calls": [
            {"id": f"c{i}", "type": "function", "function": {"name": "bash", "arguments": args}}]})
        msgs.append({"role": "tool", "tool_call_id": f"c{i}", "content": "err"})
    return {"messages": msgs}


def responses(calls: list[str]) -> dict[str, Any]:
    items: list[dict[str, Any]] = [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "go"}]}]
    for i, args in enumerate(calls):
        items.append({"type": "reasoning", "summary": []})
        items.append({"type": "function_call", "call_id": f"c{i}", "name": "exec_command", "arguments": args})
        items.append({"type": "function_call_output", "call_id": f"c{i}", "output": "err"})
    return {"input": items}


def test_anthropic_counts_and_thresholds() -> None:
    same = {"command": "make", "timeout": 5}
    reordered = {"timeout": 5, "command": "make"}
    assert repeats(anthropic([same, reordered, same]), "anthropic") == (3, "Bash")
    assert verdict(anthropic([same] * 3), "anthropic", 4)[0] == ""
    assert verdict(anthropic([same] * 4), "anthropic", 4)[0] == "steer"
    assert verdict(anthropic([same] * 8), "anthropic", 4)[0] == "stop"
    assert verdict(anthropic([{"command": "ls"}, *[same] * 3]), "anthropic", 4)[0] == ""
    assert verdict(anthropic([same] * 8), "anthropic", 0)[0] == ""  # off


def test_a_different_call_breaks_the_run() -> None:
    body = anthropic([{"command": "make"}] * 5 + [{"command": "ls"}])
    assert repeats(body, "anthropic")[0] == 1


def test_a_fresh_user_prompt_is_never_a_loop() -> None:
    body = anthropic([{"command": "make"}] * 9)
    body["messages"].append({"role": "assistant", "content": "done"})
    body["messages"].append({"role": "user", "content": "thanks"})
    assert repeats(body, "anthropic")[0] == 0


def test_chat_and_responses() -> None:
    assert repeats(chat(['{"command":"ls"}'] * 5), "openai") == (5, "bash")
    assert repeats(chat(['{"command":"ls"}', '{"command": "ls"}']), "openai")[0] == 2  # spacing ignored
    assert repeats(responses(['{"cmd":"ls"}'] * 4), "responses") == (4, "exec_command")


def test_gemini() -> None:
    contents = [{"role": "user", "parts": [{"text": "go"}]}]
    for _ in range(4):
        contents.append({"role": "model", "parts": [{"functionCall": {"name": "run_shell_command", "args": {"command": "ls"}}}]})
        contents.append({"role": "user", "parts": [{"functionResponse": {"name": "run_shell_command", "response": {}}}]})
    assert repeats({"contents": contents}, "gemini") == (4, "run_shell_command")


def test_steering_note_is_appended_after_the_prefix() -> None:
    body = anthropic([{"command": "make"}] * 4)
    before = [dict(m) for m in body["messages"][:-1]]
    add_note(body, "anthropic", "stop looping")
    assert body["messages"][:-1] == before
    assert body["messages"][-1]["content"][-1] == {"type": "text", "text": "stop looping"}
    body = chat(['{}'] * 4)
    add_note(body, "openai", "note")
    assert body["messages"][-1] == {"role": "user", "content": "note"}
    body = responses(['{}'] * 4)
    add_note(body, "responses", "note")
    assert body["input"][-1]["content"][0]["text"] == "note"
