"""The guard on a whole (non-streamed) answer, in the upstream's dialect, before any translation.

Judging the upstream's body (not the client's) means the translators downstream only ever see
repaired arguments: a Chat answer with broken arguments would otherwise fail translation to an
Anthropic message. Mutates the parsed body in place; returns whether anything changed, so the
untouched answer can still go out as the upstream's own bytes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gateway.guards.policy import Decision, GuardSettings, Tally, judge
from gateway.protocols.common import dumps


class Broken(ValueError):
    """A tool call whose arguments cannot be repaired: the answer is unusable."""


def guard_body(body: Any, dialect: str, schemas: Mapping[str, Mapping[str, Any]], cfg: GuardSettings,
               tally: Tally) -> bool:
    if not cfg.tools_on or not isinstance(body, dict):
        return False
    if dialect == "anthropic":
        return _anthropic(body, schemas, cfg, tally)
    if dialect == "openai":
        return _chat(body, schemas, cfg, tally)
    if dialect == "responses":
        return _responses(body, schemas, cfg, tally)
    return False


def _decide(name: str, args: str, schemas: Mapping[str, Mapping[str, Any]], cfg: GuardSettings,
            tally: Tally) -> Decision:
    d = judge(name, args, schemas, cfg)
    tally.add(name, d)
    if d.action == "broken":
        raise Broken(d.explanation)
    return d


def _anthropic(body: dict[str, Any], schemas: Mapping[str, Mapping[str, Any]], cfg: GuardSettings,
               tally: Tally) -> bool:
    content = body.get("content")
    if not isinstance(content, list) or not any(isinstance(b, dict) and b.get("type") == "tool_use" for b in content):
        return False
    changed, kept = False, 0
    for i, block in enumerate(content):
        if not isinstance(block, dict) or block.get("type") != "tool_use":
            continue
        raw = block.get("input")
        d = _decide(str(block.get("name")), raw if isinstance(raw, str) else dumps(raw or {}), schemas, cfg, tally)
        if d.action == "block":
            content[i] = {"type": "text", "text": d.explanation}
            changed = True
            continue
        kept += 1
        if d.action == "repair" or isinstance(raw, str):
            block["input"] = _obj(d.arguments)
            changed = True
    if changed and not kept and body.get("stop_reason") == "tool_use":
        body["stop_reason"] = "end_turn"
    return changed


def _chat(body: dict[str, Any], schemas: Mapping[str, Mapping[str, Any]], cfg: GuardSettings, tally: Tally) -> bool:
    changed = False
    for choice in body.get("choices") or ():
        msg = choice.get("message") if isinstance(choice, dict) else None
        calls = msg.get("tool_calls") if isinstance(msg, dict) else None
        if not isinstance(calls, list) or not calls:
            continue
        kept, notes = [], []
        for call in calls:
            fn = call.get("function") if isinstance(call, dict) else None
            if not isinstance(fn, dict):
                kept.append(call)
                continue
            args = fn.get("arguments")
            d = _decide(str(fn.get("name")), args if isinstance(args, str) else dumps(args or {}), schemas, cfg, tally)
            if d.action == "block":
                notes.append(d.explanation)
                changed = True
                continue
            if d.action == "repair" or not isinstance(args, str):
                fn["arguments"] = d.arguments
                changed = True
            kept.append(call)
        if notes:
            msg["content"] = "\n".join(filter(None, [msg.get("content") if isinstance(msg.get("content"), str) else "",
                                                     *notes]))
            if kept:
                msg["tool_calls"] = kept
            else:
                msg.pop("tool_calls", None)
                if choice.get("finish_reason") == "tool_calls":
                    choice["finish_reason"] = "stop"
    return changed


def _responses(body: dict[str, Any], schemas: Mapping[str, Mapping[str, Any]], cfg: GuardSettings,
               tally: Tally) -> bool:
    output = body.get("output")
    if not isinstance(output, list):
        return False
    changed = False
    for i, item in enumerate(output):
        if not isinstance(item, dict) or item.get("type") not in ("function_call", "local_shell_call"):
            continue
        if item["type"] == "local_shell_call":
            name, args = "local_shell", dumps(item.get("action") or {})
        else:
            name, args = str(item.get("name")), item.get("arguments") if isinstance(item.get("arguments"), str) else ""
        d = _decide(name, args, schemas, cfg, tally)
        if d.action == "block":
            output[i] = {"id": f"msg_xx{item.get('id') or ''}", "type": "message", "role": "assistant",
                         "status": "completed",
                         "content": [{"type": "output_text", "text": d.explanation, "annotations": []}]}
            changed = True
        elif d.action == "repair" and item["type"] == "function_call":
            item["arguments"] = d.arguments
            changed = True
    return changed


def _obj(text: str) -> dict[str, Any]:
    import orjson

    value = orjson.loads(text) if text.strip() else {}
    return value if isinstance(value, dict) else {}
