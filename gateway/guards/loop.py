"""Loop detection from the conversation itself: the same tool call, N times in a row.

Agents resend the whole history each turn, so the request already holds the evidence: walking
back from the end, count the assistant turns whose tool calls are identical (name and
arguments, key order ignored) to the last one. No per-session memory is needed, and nothing is
read unless the last message carries tool results (a fresh user prompt cannot be a loop).
At N the request gets a short steering note appended after the tool results (the prefix, and
so the provider's cache, stays intact); at 2N the gateway answers itself and stops the agent.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson

STEER = ("[xx gateway] You have made the same tool call ({tool}) {n} times in a row with the same arguments "
         "and the same result. Do not repeat it: change the arguments, try a different approach, or explain "
         "to the user what is blocking you.")
STOP = ("[xx] The agent made the same tool call ({tool}) {n} times in a row, so the gateway stopped it "
        "before it burned more quota. Look at what it is stuck on, then give it a new instruction.")


def _canon(name: Any, args: Any) -> str:
    if isinstance(args, str):
        try:
            args = orjson.loads(args)
        except orjson.JSONDecodeError:
            pass
    try:
        return f"{name}\0{orjson.dumps(args, option=orjson.OPT_SORT_KEYS).decode()}"
    except TypeError:
        return f"{name}\0{args!r}"


def _turns_anthropic(body: dict[str, Any]) -> Iterator[list[str] | None]:
    for msg in reversed(body.get("messages") or []):
        if not isinstance(msg, dict) or msg.get("role") != "assistant":
            continue
        content = msg.get("content")
        calls = [_canon(b.get("name"), b.get("input")) for b in content if isinstance(b, dict)
                 and b.get("type") == "tool_use"] if isinstance(content, list) else []
        yield calls or None


def _turns_chat(body: dict[str, Any]) -> Iterator[list[str] | None]:
    for msg in reversed(body.get("messages") or []):
        if not isinstance(msg, dict) or msg.get("role") != "assistant":
            continue
        calls = [_canon((c.get("function") or {}).get("name"), (c.get("function") or {}).get("arguments"))
                 for c in msg.get("tool_calls") or () if isinstance(c, dict)]
        yield calls or None


def _turns_responses(body: dict[str, Any]) -> Iterator[list[str] | None]:
    group: list[str] = []
    for item in reversed(body.get("input") if isinstance(body.get("input"), list) else []):
        if not isinstance(item, dict):
            continue
        kind = item.get("type", "message")
        if kind in ("function_call", "local_shell_call", "custom_tool_call"):
            args = item.get("arguments", item.get("action", item.get("input")))
            group.append(_canon(item.get("name") or kind, args))
        elif kind in ("function_call_output", "local_shell_call_output", "custom_tool_call_output", "reasoning"):
            if group and kind != "reasoning":
                yield group
                group = []
        elif item.get("role") == "assistant":
            if group:
                yield group
                group = []
            yield None
    if group:
        yield group


def _turns_gemini(body: dict[str, Any]) -> Iterator[list[str] | None]:
    for content in reversed(body.get("contents") or []):
        if not isinstance(content, dict) or content.get("role") != "model":
            continue
        calls = [_canon(p["functionCall"].get("name"), p["functionCall"].get("args")) for p in content.get("parts") or ()
                 if isinstance(p, dict) and isinstance(p.get("functionCall"), dict)]
        yield calls or None


_TURNS = {"anthropic": _turns_anthropic, "openai": _turns_chat, "responses": _turns_responses,
          "gemini": _turns_gemini}


def ends_with_tool_result(body: dict[str, Any], dialect: str) -> bool:
    """The cheap gate: only a request answering a tool call can be a loop."""
    if dialect == "responses":
        inp = body.get("input")
        last = inp[-1] if isinstance(inp, list) and inp else None
        return isinstance(last, dict) and str(last.get("type", "")).endswith("_output")
    key = "contents" if dialect == "gemini" else "messages"
    msgs = body.get(key)
    last = msgs[-1] if isinstance(msgs, list) and msgs else None
    if not isinstance(last, dict):
        return False
    if dialect == "openai":
        return last.get("role") == "tool"
    parts = last.get("parts" if dialect == "gemini" else "content")
    kind = "functionResponse" if dialect == "gemini" else "tool_result"
    return isinstance(parts, list) and any(isinstance(p, dict) and (p.get("type") == kind or kind in p) for p in parts)


def repeats(body: dict[str, Any], dialect: str, cap: int = 64) -> tuple[int, str]:
    """(how many assistant turns in a row ended with the same tool calls, the tool's name)."""
    if dialect not in _TURNS or not ends_with_tool_result(body, dialect):
        return 0, ""
    first: list[str] | None = None
    n = 0
    for calls in _TURNS[dialect](body):
        if calls is None or (first is not None and calls != first):
            break
        first = first or calls
        n += 1
        if n >= cap:
            break
    return n, (first[0].split("\0", 1)[0] if first else "")


def verdict(body: dict[str, Any], dialect: str, limit: int) -> tuple[str, int, str]:
    """("", n, tool) nothing to do · ("steer", n, tool) add a note · ("stop", n, tool) answer and stop."""
    if limit <= 0:
        return "", 0, ""
    n, tool = repeats(body, dialect, cap=2 * limit)
    if n >= 2 * limit:
        return "stop", n, tool
    if n >= limit:
        return "steer", n, tool
    return "", n, tool


def add_note(body: dict[str, Any], dialect: str, text: str) -> None:
    """The steering note after the last message, in the dialect's shape (mutates `body`)."""
    if dialect == "anthropic":
        last = body["messages"][-1]
        content = last.get("content")
        if isinstance(content, str):
            content = [{"type": "text", "text": content}]
        last["content"] = [*content, {"type": "text", "text": text}]
    elif dialect == "openai":
        body["messages"] = [*body["messages"], {"role": "user", "content": text}]
    elif dialect == "responses":
        body["input"] = [*body["input"], {"type": "message", "role": "user",
                                          "content": [{"type": "input_text", "text": text}]}]
    elif dialect == "gemini":
        last = body["contents"][-1]
        last["parts"] = [*last.get("parts", []), {"text": text}]
