"""Streams with one tool call in each pass-through dialect, and readers for what a client gets."""

from __future__ import annotations

import json
from typing import Any

from gateway.guards.sse_guard import parse_event, split_events
from gateway.protocols.sse import encode


def _ev(name: str | None, obj: Any) -> bytes:
    return encode(json.dumps(obj), name)


def anthropic_stream(tool: str, args: str, text: str = "Let me check.") -> bytes:
    pieces = [args[i:i + 7] for i in range(0, len(args), 7)] or [""]
    out = [_ev("message_start", {"type": "message_start", "message": {
        "id": "msg_1", "type": "message", "role": "assistant", "model": "m", "content": [], "stop_reason": None,
        "stop_sequence": None, "usage": {"input_tokens": 10, "output_tokens": 1}}}), _ev("ping", {"type": "ping"})]
    if text:  # no text: the answer starts with the call
        out += [_ev("content_block_start", {"type": "content_block_start", "index": 0,
                                             "content_block": {"type": "text", "text": ""}}),
                _ev("content_block_delta", {"type": "content_block_delta", "index": 0,
                                             "delta": {"type": "text_delta", "text": text}}),
                _ev("content_block_stop", {"type": "content_block_stop", "index": 0})]
    i = 1 if text else 0
    out += [_ev("content_block_start", {"type": "content_block_start", "index": i, "content_block": {
        "type": "tool_use", "id": "toolu_1", "name": tool, "input": {}}})]
    out += [_ev("content_block_delta", {"type": "content_block_delta", "index": i,
                                         "delta": {"type": "input_json_delta", "partial_json": p}}) for p in pieces]
    out += [_ev("content_block_stop", {"type": "content_block_stop", "index": i}),
            _ev("message_delta", {"type": "message_delta", "delta": {"stop_reason": "tool_use", "stop_sequence": None},
                                  "usage": {"output_tokens": 9}}),
            _ev("message_stop", {"type": "message_stop"})]
    return b"".join(out)


def chat_stream(tool: str, args: str, text: str = "Let me check.") -> bytes:
    base = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "m"}

    def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
        return _ev(None, {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
    pieces = [args[i:i + 7] for i in range(0, len(args), 7)] or [""]
    out = [chunk({"role": "assistant", "content": ""}), *([chunk({"content": text})] if text else []),
           chunk({"tool_calls": [{"index": 0, "id": "call_1", "type": "function",
                                  "function": {"name": tool, "arguments": pieces[0]}}]})]
    out += [chunk({"tool_calls": [{"index": 0, "function": {"arguments": p}}]}) for p in pieces[1:]]
    out += [chunk({}, "tool_calls"),
            _ev(None, {**base, "choices": [], "usage": {"prompt_tokens": 10, "completion_tokens": 9, "total_tokens": 19}}),
            b"data: [DONE]\n\n"]
    return b"".join(out)


def responses_stream(tool: str, args: str) -> bytes:
    seq = iter(range(100))
    resp = {"id": "resp_1", "object": "response", "status": "in_progress", "model": "m", "output": []}
    item = {"id": "fc_1", "type": "function_call", "status": "completed", "call_id": "call_1", "name": tool,
            "arguments": args}
    pieces = [args[i:i + 7] for i in range(0, len(args), 7)] or [""]

    def ev(kind: str, **fields: Any) -> bytes:
        return _ev(kind, {"type": kind, "sequence_number": next(seq), **fields})
    out = [ev("response.created", response=resp), ev("response.in_progress", response=resp),
           ev("response.output_item.added", output_index=0, item={**item, "status": "in_progress", "arguments": ""})]
    out += [ev("response.function_call_arguments.delta", item_id="fc_1", output_index=0, delta=p) for p in pieces]
    out += [ev("response.function_call_arguments.done", item_id="fc_1", output_index=0, arguments=args),
            ev("response.output_item.done", output_index=0, item=item),
            ev("response.completed", response={**resp, "status": "completed", "output": [item],
                                               "usage": {"input_tokens": 10, "output_tokens": 9, "total_tokens": 19}})]
    return b"".join(out)


STREAMS = {"anthropic": anthropic_stream, "openai": chat_stream, "responses": responses_stream}


def events(data: bytes) -> list[dict[str, Any]]:
    out = []
    for raw in split_events(data):
        _, text = parse_event(raw)
        if text.strip() != "[DONE]":
            out.append(json.loads(text))
    return out


def read(dialect: str, data: bytes) -> dict[str, Any]:
    """{"text", "calls": [(name, args text)], "stop"} as a client would assemble them."""
    text, calls, stop = "", [], None
    evs = events(data)
    if dialect == "anthropic":
        cur: dict[int, list[Any]] = {}
        for e in evs:
            if e["type"] == "content_block_start" and e["content_block"]["type"] == "tool_use":
                cur[e["index"]] = [e["content_block"]["name"], ""]
            elif e["type"] == "content_block_delta":
                d = e["delta"]
                if d["type"] == "text_delta":
                    text += d["text"]
                elif d["type"] == "input_json_delta":
                    cur[e["index"]][1] += d["partial_json"]
            elif e["type"] == "message_delta":
                stop = e["delta"]["stop_reason"]
        calls = [tuple(v) for v in cur.values()]
    elif dialect == "openai":
        acc: dict[int, list[str]] = {}
        for e in evs:
            for c in e.get("choices") or []:
                d = c.get("delta") or {}
                text += d.get("content") or ""
                for tc in d.get("tool_calls") or []:
                    slot = acc.setdefault(tc["index"], ["", ""])
                    slot[0] += tc.get("function", {}).get("name") or ""
                    slot[1] += tc.get("function", {}).get("arguments") or ""
                stop = c.get("finish_reason") or stop
        calls = [tuple(v) for v in acc.values()]
    else:
        seqs = [e["sequence_number"] for e in evs]
        assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs), seqs
        for e in evs:
            if e["type"] == "response.output_item.done":
                item = e["item"]
                if item["type"] == "function_call":
                    calls.append((item["name"], item["arguments"]))
                elif item["type"] == "message":
                    text += "".join(p["text"] for p in item["content"])
            if e["type"] == "response.completed":
                stop = [i["type"] for i in e["response"]["output"]]
    return {"text": text, "calls": calls, "stop": stop}


def sent_before_failure(tr: Any, data: bytes) -> bytes:
    """What a guarded stream lets out, event by event, until it fails (or the stream ends)."""
    sent = b""
    for raw in split_events(data):
        out = tr.feed(raw)
        if tr.failed:
            break
        sent += out
    return sent
