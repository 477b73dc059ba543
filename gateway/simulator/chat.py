"""OpenAI Chat Completions: parse a request, render the answer as JSON or as SSE chunks.

The stream is what OpenAI (and OpenRouter) send: a role chunk, content deltas, tool_calls
deltas by index (id and name first, then argument pieces), a chunk with finish_reason, a
usage chunk with empty choices when asked for, then `data: [DONE]`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gateway.simulator.answers import Prompt, Reply, pick_text, split_json, split_words, text_of
from gateway.simulator.errors import BadRequest
from gateway.simulator.wire import Rendered, Tokens, part, sse

_ROLES = ("system", "developer", "user", "assistant", "tool", "function")
DONE = b"data: [DONE]\n\n"


def parse(body: Any) -> Prompt:
    if not isinstance(body, Mapping):
        raise BadRequest("The request body must be a JSON object.")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise BadRequest("you must provide a model parameter", "model")
    messages = body.get("messages")
    if not isinstance(messages, list):
        raise BadRequest("Missing required parameter: 'messages'.", "messages")
    if not messages:
        raise BadRequest("[] is too short - 'messages'", "messages")
    opts = body.get("stream_options")
    max_tokens = body.get("max_completion_tokens", body.get("max_tokens"))
    p = Prompt(
        "chat",
        model,
        bool(body.get("stream")),
        max_tokens=max_tokens if isinstance(max_tokens, int) and not isinstance(max_tokens, bool) else None,
        include_usage=isinstance(opts, Mapping) and bool(opts.get("include_usage")),
    )
    tools = body.get("tools") or []
    if not isinstance(tools, list):
        raise BadRequest("Invalid type for 'tools': expected an array.", "tools")
    p.segments.extend(part(t) for t in tools)
    for i, msg in enumerate(messages):
        if not isinstance(msg, Mapping) or msg.get("role") not in _ROLES:
            raise BadRequest(f"Invalid value for 'messages[{i}].role'.", f"messages.[{i}].role")
        p.segments.append(part(msg))
    last = messages[-1]
    if last["role"] in ("tool", "function"):
        p.tool_result = text_of(last.get("content"))
    for msg in reversed(messages):
        if msg["role"] != "user":
            continue
        content = msg.get("content")
        texts = [content] if isinstance(content, str) else [
            c["text"] for c in content or [] if isinstance(c, Mapping) and isinstance(c.get("text"), str)
        ]
        if texts:
            p.user_text = pick_text(texts)
            p.directive_text = "\n".join(texts)
            break
    return p


def finish_reason(reply: Reply) -> str:
    if reply.tool is not None:
        return "tool_calls"
    return "length" if reply.truncated else "stop"


def usage(t: Tokens) -> dict[str, Any]:
    return {
        "prompt_tokens": t.input,
        "completion_tokens": t.output,
        "total_tokens": t.input + t.output,
        "prompt_tokens_details": {"cached_tokens": t.cache.read, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 0, "audio_tokens": 0, "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0,
        },
    }  # fmt: skip


def _tool_call(reply: Reply, rid: str) -> dict[str, Any]:
    assert reply.tool is not None
    return {"id": f"call_{rid}", "type": "function", "function": {"name": reply.tool.name, "arguments": reply.tool.arguments_json}}


def render_json(p: Prompt, reply: Reply, t: Tokens, rid: str, created: int) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": reply.text, "refusal": None}
    if reply.thinking is not None:
        message["reasoning"] = reply.thinking
    if reply.tool is not None:
        message["tool_calls"] = [_tool_call(reply, rid)]
    return {
        "id": f"chatcmpl-{rid}",
        "object": "chat.completion",
        "created": created,
        "model": p.model,
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish_reason(reply)}],
        "usage": usage(t),
        "system_fingerprint": "fp_sim",
    }


def render_events(p: Prompt, reply: Reply, t: Tokens, rid: str, created: int, *, with_usage: bool) -> Rendered:
    base = {"id": f"chatcmpl-{rid}", "object": "chat.completion.chunk", "created": created, "model": p.model,
            "system_fingerprint": "fp_sim"}  # fmt: skip

    def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
        c: dict[str, Any] = {**base, "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]}
        if with_usage:
            c["usage"] = None
        return sse(None, c)

    ev = [chunk({"role": "assistant", "content": "" if reply.text is not None else None})]
    if reply.thinking is not None:
        ev.extend(chunk({"reasoning": w}) for w in split_words(reply.thinking))
    if reply.text is not None:
        ev.extend(chunk({"content": w}) for w in split_words(reply.text))
    if reply.tool is not None:
        call = _tool_call(reply, rid)
        head = {"index": 0, "id": call["id"], "type": "function", "function": {"name": reply.tool.name, "arguments": ""}}
        ev.append(chunk({"tool_calls": [head]}))
        ev.extend(chunk({"tool_calls": [{"index": 0, "function": {"arguments": s}}]})
                  for s in split_json(reply.tool.arguments_json))  # fmt: skip
    ev.append(chunk({}, finish_reason(reply)))
    final = 2
    if with_usage:
        ev.append(sse(None, {**base, "choices": [], "usage": usage(t)}))
        final = 3
    ev.append(DONE)
    return Rendered(ev, final)
