"""Anthropic Messages: parse a request, render the answer as JSON or as the real SSE sequence.

The stream follows the API exactly: message_start (usage with cache fields) →
content_block_start → ping → content_block_delta… → content_block_stop per block, with
consistent indices → message_delta (stop_reason, usage) → message_stop.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gateway.simulator.answers import (
    Prompt,
    Reply,
    pick_text,
    split_json,
    split_words,
    text_of,
    thinking_signature,
)
from gateway.simulator.errors import BadRequest
from gateway.simulator.wire import Rendered, Tokens, dumps, part, sse

MAX_BREAKPOINTS = 4
_ROLE = {"user": b"U:", "assistant": b"A:", "system": b"Y:"}  # system: the mid-conversation-system beta


def _required(body: Any) -> tuple[str, int, list[Any]]:
    """model, max_tokens, messages, refused with the API's own wording when missing or wrong."""
    if not isinstance(body, Mapping):
        raise BadRequest("body: Input should be a valid dictionary")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise BadRequest("model: Field required")
    max_tokens = body.get("max_tokens")
    if max_tokens is None:
        raise BadRequest("max_tokens: Field required")
    if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 1:
        raise BadRequest("max_tokens: Input should be a valid integer greater than or equal to 1")
    messages = body.get("messages")
    if not isinstance(messages, list):
        raise BadRequest("messages: Field required")
    if not messages:
        raise BadRequest("messages: at least one message is required")
    return model, max_tokens, messages


class _Segments:
    """Appends a prompt's cacheable pieces in order, noting each cache_control breakpoint."""

    def __init__(self, p: Prompt, default_ttl: float) -> None:
        self.p, self.default_ttl = p, default_ttl

    def add(self, obj: Any, prefix: bytes = b"") -> None:
        cc = obj.get("cache_control") if isinstance(obj, Mapping) else None
        if isinstance(cc, Mapping):
            self.p.breakpoints.append((len(self.p.segments), 3600.0 if cc.get("ttl") == "1h" else self.default_ttl))
        self.p.segments.append(prefix + part(obj))

    def system(self, system: Any) -> None:
        if isinstance(system, str):
            self.p.segments.append(b"S:" + dumps(system))
        elif isinstance(system, list):
            for block in system:
                self.add(block, b"S:")
        elif system is not None:
            raise BadRequest("system: Input should be a valid string or list of content blocks")

    def message(self, i: int, msg: Any, model: str) -> None:
        if not isinstance(msg, Mapping) or msg.get("role") not in _ROLE:
            raise BadRequest(f"messages.{i}.role: Input should be 'user', 'assistant' or 'system'")
        prefix = _ROLE[msg["role"]]
        content = msg.get("content")
        if isinstance(content, str):
            self.p.segments.append(prefix + dumps(content))
            return
        if not isinstance(content, list):
            raise BadRequest(f"messages.{i}.content: Field required")
        for j, block in enumerate(content):
            if not isinstance(block, Mapping) or not isinstance(block.get("type"), str):
                raise BadRequest(f"messages.{i}.content.{j}.type: Field required")
            if block["type"] == "thinking" and block.get("signature") != thinking_signature(
                model, str(block.get("thinking", ""))
            ):
                raise BadRequest(f"messages.{i}.content.{j}: Invalid `signature` in `thinking` block")
            self.add(block, prefix if j == 0 else b"")


def parse(body: Any, *, default_ttl: float = 300.0) -> Prompt:
    model, max_tokens, messages = _required(body)
    p = Prompt("anthropic", model, bool(body.get("stream")), max_tokens=max_tokens)
    thinking = body.get("thinking")
    p.thinking = isinstance(thinking, Mapping) and thinking.get("type") in ("enabled", "adaptive")
    segments = _Segments(p, default_ttl)
    tools = body.get("tools") or []
    if not isinstance(tools, list):
        raise BadRequest("tools: Input should be a valid list")
    for tool in tools:
        segments.add(tool)
    segments.system(body.get("system"))
    for i, msg in enumerate(messages):
        segments.message(i, msg, model)
    if len(p.breakpoints) > MAX_BREAKPOINTS:
        raise BadRequest(
            f"A maximum of {MAX_BREAKPOINTS} blocks with cache_control may be provided. Found {len(p.breakpoints)}."
        )
    _read_last(p, messages)
    return p


def _read_last(p: Prompt, messages: list[Any]) -> None:
    last = messages[-1]
    if last.get("role") == "user" and isinstance(last.get("content"), list):
        results = [b for b in last["content"] if b.get("type") == "tool_result"]
        if results:
            p.tool_result = text_of(results[-1].get("content"))
    for msg in reversed(messages):
        if msg.get("role") != "user":
            continue
        content = msg.get("content")
        texts = [content] if isinstance(content, str) else [
            b["text"] for b in content if b.get("type") == "text" and isinstance(b.get("text"), str)
        ]
        if texts:
            p.user_text = pick_text(texts)
            p.directive_text = "\n".join(texts)
            return


def stop_reason(reply: Reply) -> str:
    if reply.tool is not None:
        return "tool_use"
    return "max_tokens" if reply.truncated else "end_turn"


def usage(t: Tokens) -> dict[str, Any]:
    return {
        "input_tokens": t.uncached,
        "cache_creation_input_tokens": t.cache.write,
        "cache_read_input_tokens": t.cache.read,
        "cache_creation": {
            "ephemeral_5m_input_tokens": t.cache.write - t.cache.write_1h,
            "ephemeral_1h_input_tokens": t.cache.write_1h,
        },
        "output_tokens": t.output,
        "service_tier": "standard",
    }


def blocks(reply: Reply, model: str, rid: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    if reply.thinking is not None:
        out.append({"type": "thinking", "thinking": reply.thinking, "signature": thinking_signature(model, reply.thinking)})
    if reply.text is not None:
        out.append({"type": "text", "text": reply.text})
    if reply.tool is not None:
        args = reply.tool.raw if reply.tool.raw is not None else dict(reply.tool.arguments)  # raw: see rawtool.py
        out.append({"type": "tool_use", "id": f"toolu_{rid}", "name": reply.tool.name, "input": args})
    return out


def render_json(p: Prompt, reply: Reply, t: Tokens, rid: str) -> dict[str, Any]:
    return {
        "id": f"msg_{rid}",
        "type": "message",
        "role": "assistant",
        "model": p.model,
        "content": blocks(reply, p.model, rid),
        "stop_reason": stop_reason(reply),
        "stop_sequence": None,
        "usage": usage(t),
    }


def render_events(p: Prompt, reply: Reply, t: Tokens, rid: str) -> Rendered:
    start_usage = usage(Tokens(t.input, 1, t.cache))
    message = {
        "id": f"msg_{rid}", "type": "message", "role": "assistant", "model": p.model, "content": [],
        "stop_reason": None, "stop_sequence": None, "usage": start_usage,
    }  # fmt: skip
    ev = [sse("message_start", {"type": "message_start", "message": message})]
    for index, block in enumerate(blocks(reply, p.model, rid)):
        kind = block["type"]
        if kind == "thinking":
            start = {"type": "thinking", "thinking": "", "signature": ""}
            deltas = [{"type": "thinking_delta", "thinking": w} for w in split_words(block["thinking"])]
            deltas.append({"type": "signature_delta", "signature": block["signature"]})
        elif kind == "text":
            start = {"type": "text", "text": ""}
            deltas = [{"type": "text_delta", "text": w} for w in split_words(block["text"])]
        else:
            start = {"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}
            deltas = [{"type": "input_json_delta", "partial_json": s} for s in split_json(block["input"] if isinstance(block["input"], str) else dumps(block["input"]).decode())]
        ev.append(sse("content_block_start", {"type": "content_block_start", "index": index, "content_block": start}))
        if index == 0:
            ev.append(sse("ping", {"type": "ping"}))
        ev.extend(sse("content_block_delta", {"type": "content_block_delta", "index": index, "delta": d}) for d in deltas)
        ev.append(sse("content_block_stop", {"type": "content_block_stop", "index": index}))
    final_usage = {k: v for k, v in usage(t).items() if k not in ("cache_creation", "service_tier")}
    ev.append(sse("message_delta", {
        "type": "message_delta",
        "delta": {"stop_reason": stop_reason(reply), "stop_sequence": None},
        "usage": final_usage,
    }))  # fmt: skip
    ev.append(sse("message_stop", {"type": "message_stop"}))
    return Rendered(ev, final=2)
