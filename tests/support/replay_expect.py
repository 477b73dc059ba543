"""What a recording says, read straight from its events (the matrix's oracle).

Deliberately written apart from gateway/protocols: if the gateway's parsers and this reader
disagree, the matrix fails. Stops are neutral (end | tool | length | filter | stop_sequence);
usage is `input` with cached tokens included, as OpenAI counts it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from support.replay_upstream import Recording

CHAT_STOP = {"stop": "end", "length": "length", "tool_calls": "tool", "content_filter": "filter"}
ANTHROPIC_STOP = {"end_turn": "end", "tool_use": "tool", "max_tokens": "length", "refusal": "filter",
                  "stop_sequence": "stop_sequence", "pause_turn": "end"}


@dataclass
class Answer:
    text: str = ""
    reasoning: str = ""
    tools: list[tuple[str, Any]] = field(default_factory=list)  # (name, parsed arguments)
    stop: str = "end"
    usage: dict[str, int] = field(default_factory=lambda: {"input": 0, "output": 0, "cache_read": 0})
    error: str | None = None  # the provider's message
    cache_write: int = 0  # tokens written to the prompt cache (Anthropic clients and the ledger carry it)
    tool_ids: list[str] = field(default_factory=list)  # as the client got them (parallel calls need distinct ids)


def _args(raw: Any) -> Any:
    if isinstance(raw, dict):
        return raw
    return json.loads(raw) if isinstance(raw, str) and raw.strip() else {}


def _merge_usage(a: Answer, **kw: int) -> None:
    for k, v in kw.items():
        a.usage[k] = max(a.usage.get(k, 0), int(v or 0))


def _chat_usage(a: Answer, u: Any) -> None:
    if not isinstance(u, dict):
        return
    details = u.get("prompt_tokens_details") or {}
    read = details.get("cached_tokens") or u.get("prompt_cache_hit_tokens") or u.get("cached_tokens") or 0
    _merge_usage(a, input=u.get("prompt_tokens") or 0, output=u.get("completion_tokens") or 0, cache_read=read)
    a.cache_write = max(a.cache_write, details.get("cache_write_tokens") or 0)  # OpenRouter


def _chat_content(a: Answer, content: Any) -> None:
    if isinstance(content, str):
        a.text += content
        return
    for part in content or []:
        if part.get("type") == "thinking":
            a.reasoning += "".join(p.get("text", "") for p in part.get("thinking") or [])
        elif isinstance(part.get("text"), str):
            a.text += part["text"]


def _chat_reasoning(part: dict[str, Any]) -> str:
    """A message's or delta's reasoning: `reasoning_content` (DeepSeek), `reasoning` (OpenRouter, Groq), else
    the text in `reasoning_details` (Snowflake Cortex sends only those)."""
    plain = part.get("reasoning_content") or part.get("reasoning")
    if isinstance(plain, str) and plain:
        return plain
    details = part.get("reasoning_details") if isinstance(part.get("reasoning_details"), list) else []
    return "".join(d.get("text") or d.get("summary") or "" for d in details if isinstance(d, dict))


def _finish(a: Answer) -> Answer:
    if a.tools and a.stop == "end":
        a.stop = "tool"
    return a


def chat(rec: Recording) -> Answer:
    a = Answer()
    if not rec.stream:
        body = rec.body()
        if "error" in body:
            return Answer(error=body["error"]["message"])
        msg = body["choices"][0]["message"]
        _chat_content(a, msg.get("content"))
        a.reasoning += _chat_reasoning(msg)
        a.tools = [(c["function"]["name"], _args(c["function"]["arguments"])) for c in msg.get("tool_calls") or []]
        a.stop = CHAT_STOP.get(body["choices"][0].get("finish_reason") or "stop", "end")
        _chat_usage(a, body.get("usage"))
        return _finish(a)
    calls: dict[str, dict[str, str]] = {}
    current: dict[Any, str] = {}
    for ev in rec.events():
        if isinstance(ev, str):
            continue
        if ev.get("error"):
            a.error = ev["error"].get("message")
            return a
        _chat_usage(a, ev.get("usage"))
        for choice in ev.get("choices") or []:
            delta = choice.get("delta") or {}
            _chat_content(a, delta.get("content"))
            a.reasoning += _chat_reasoning(delta)
            for pos, call in enumerate(delta.get("tool_calls") or []):
                index = call.get("index", pos)
                key = current.get(index)
                if key is None or (call.get("id") and call["id"] != calls[key]["id"] and calls[key]["id"]):
                    key = current[index] = f"{index}:{len(calls)}"
                    calls[key] = {"id": call.get("id") or "", "name": "", "args": ""}
                fn = call.get("function") or {}
                calls[key]["name"] += fn.get("name") or "" if not calls[key]["name"] else ""
                calls[key]["args"] += fn.get("arguments") or ""
            if choice.get("finish_reason"):
                a.stop = CHAT_STOP.get(choice["finish_reason"], "end")
    a.tools = [(c["name"], _args(c["args"])) for c in calls.values()]
    return _finish(a)


def _anthropic_usage(a: Answer, u: Any) -> None:
    if not isinstance(u, dict):
        return
    read, write = u.get("cache_read_input_tokens") or 0, u.get("cache_creation_input_tokens") or 0
    inp = (u.get("input_tokens") or 0) + read + write if "input_tokens" in u else 0
    _merge_usage(a, input=inp, output=u.get("output_tokens") or 0, cache_read=read)
    a.cache_write = max(a.cache_write, write)


def anthropic(rec: Recording) -> Answer:
    a = Answer()
    if not rec.stream:
        body = rec.body()
        for block in body["content"]:
            if block["type"] == "text":
                a.text += block["text"]
            elif block["type"] == "thinking":
                a.reasoning += block["thinking"]
            elif block["type"] == "tool_use":
                a.tools.append((block["name"], block["input"]))
        a.stop = ANTHROPIC_STOP.get(body.get("stop_reason") or "end_turn", "end")
        _anthropic_usage(a, body.get("usage"))
        return _finish(a)
    blocks: dict[int, dict[str, Any]] = {}
    for ev in rec.events():
        kind = ev.get("type")
        if kind == "error":
            a.error = ev["error"]["message"]
            return a
        if kind == "message_start":
            _anthropic_usage(a, ev["message"].get("usage"))
        elif kind == "content_block_start":
            blocks[ev["index"]] = {**ev["content_block"], "json": ""}
        elif kind == "content_block_delta":
            delta, block = ev["delta"], blocks[ev["index"]]
            a.text += delta.get("text", "") if delta["type"] == "text_delta" else ""
            a.reasoning += delta.get("thinking", "") if delta["type"] == "thinking_delta" else ""
            block["json"] += delta.get("partial_json", "") if delta["type"] == "input_json_delta" else ""
        elif kind == "message_delta":
            a.stop = ANTHROPIC_STOP.get(ev["delta"].get("stop_reason") or "end_turn", "end")
            _anthropic_usage(a, ev.get("usage"))
    for _, block in sorted(blocks.items()):
        if block["type"] == "tool_use":
            a.tools.append((block["name"], _args(block["json"]) if block["json"] else block.get("input") or {}))
    return _finish(a)


def _responses_usage(a: Answer, u: Any) -> None:
    if isinstance(u, dict):
        details = u.get("input_tokens_details") or {}
        read = details.get("cached_tokens") or 0
        _merge_usage(a, input=u.get("input_tokens") or 0, output=u.get("output_tokens") or 0, cache_read=read)
        a.cache_write = max(a.cache_write, details.get("cache_write_tokens") or 0)


def _responses_final(a: Answer, r: dict[str, Any]) -> None:
    _responses_usage(a, r.get("usage"))
    if r.get("status") == "incomplete":
        reason = (r.get("incomplete_details") or {}).get("reason")
        a.stop = "filter" if reason == "content_filter" else "length"


def responses(rec: Recording) -> Answer:
    a = Answer()
    if not rec.stream:
        body = rec.body()
        if "error" in body and isinstance(body["error"], dict) and body.get("object") != "response":
            return Answer(error=body["error"]["message"])
        for item in body["output"]:
            if item["type"] == "message":
                a.text += "".join(p.get("text", "") for p in item["content"])
            elif item["type"] == "reasoning":
                parts = item.get("summary") or item.get("content") or []
                a.reasoning += "".join(p.get("text", "") for p in parts)
            elif item["type"] == "function_call":
                a.tools.append((item["name"], _args(item["arguments"])))
        _responses_final(a, body)
        return _finish(a)
    for ev in rec.events():
        if isinstance(ev, str):  # OpenRouter ends its Responses stream with `data: [DONE]`
            continue
        kind = ev["type"]
        if kind == "error":
            a.error = ev["error"]["message"] if "error" in ev else ev.get("message")
            return a
        if kind == "response.output_text.delta":
            a.text += ev["delta"]
        elif kind in ("response.reasoning_summary_text.delta", "response.reasoning_text.delta"):
            a.reasoning += ev["delta"]
        elif kind == "response.output_item.done" and ev["item"]["type"] == "function_call":
            a.tools.append((ev["item"]["name"], _args(ev["item"]["arguments"])))
        elif kind == "response.failed":
            a.error = ev["response"]["error"]["message"]
            return a
        elif kind in ("response.completed", "response.incomplete"):
            _responses_final(a, ev["response"])
    return _finish(a)


def recorded_finish(rec: Recording) -> str | None:
    """A Chat recording's last non-null finish_reason as sent ("" from Snowflake, None when never sent)."""
    if rec.dialect != "openai":
        return "n/a"
    events = [rec.body()] if not rec.stream else [e for e in rec.events() if isinstance(e, dict)]
    reasons = [c.get("finish_reason") for e in events for c in e.get("choices") or [] if c.get("finish_reason") is not None]
    return reasons[-1] if reasons else ("n/a" if not rec.stream and "error" in rec.body() else None)


def expected(rec: Recording) -> Answer:
    return {"openai": chat, "anthropic": anthropic, "responses": responses}[rec.dialect](rec)
