"""OpenAI Responses: parse a request, render the answer as JSON or as the real SSE event sequence.

response.created → response.in_progress → per output item: output_item.added, then for a
message content_part.added, output_text.delta…, output_text.done, content_part.done, or for
a function call function_call_arguments.delta…/done → output_item.done → response.completed
(usage with input_tokens_details.cached_tokens). Every event carries a sequence_number.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gateway.simulator.answers import Prompt, Reply, pick_text, split_json, split_words, text_of
from gateway.simulator.errors import BadRequest
from gateway.simulator.wire import Rendered, Tokens, dumps, part, sse


def parse(body: Any) -> Prompt:
    if not isinstance(body, Mapping):
        raise BadRequest("The request body must be a JSON object.")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise BadRequest("Missing required parameter: 'model'.", "model")
    inp = body.get("input")
    if inp is None:
        raise BadRequest("Missing required parameter: 'input'.", "input")
    if not isinstance(inp, str | list) or not inp:
        raise BadRequest("Invalid 'input': expected a non-empty string or array of input items.", "input")
    max_tokens = body.get("max_output_tokens")
    p = Prompt(
        "responses",
        model,
        bool(body.get("stream")),
        max_tokens=max_tokens if isinstance(max_tokens, int) and not isinstance(max_tokens, bool) else None,
    )
    tools = body.get("tools") or []
    if not isinstance(tools, list):
        raise BadRequest("Invalid type for 'tools': expected an array.", "tools")
    p.segments.extend(part(t) for t in tools)
    if isinstance(body.get("instructions"), str):
        p.segments.append(b"I:" + dumps(body["instructions"]))
    if isinstance(inp, str):
        p.segments.append(dumps(inp))
        p.user_text = p.directive_text = inp
        return p
    for i, item in enumerate(inp):
        if not isinstance(item, Mapping):
            raise BadRequest(f"Invalid type for 'input[{i}]': expected an object.", f"input[{i}]")
        p.segments.append(part(item))
    _read_last(p, inp)
    return p


def _read_last(p: Prompt, inp: list[Any]) -> None:
    """The tool result the last item carries, and the text of the last user message."""
    last = inp[-1]
    if last.get("type") == "function_call_output":
        p.tool_result = text_of(last.get("output"))
    for item in reversed(inp):
        if item.get("role") != "user" or item.get("type", "message") != "message":
            continue
        content = item.get("content")
        texts = [content] if isinstance(content, str) else [
            c["text"] for c in content or [] if isinstance(c, Mapping) and isinstance(c.get("text"), str)
        ]
        if texts:
            p.user_text = pick_text(texts)
            p.directive_text = "\n".join(texts)
            return


def usage(t: Tokens) -> dict[str, Any]:
    return {
        "input_tokens": t.input,
        "input_tokens_details": {"cached_tokens": t.cache.read},
        "output_tokens": t.output,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": t.input + t.output,
    }


def items(reply: Reply, rid: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    if reply.text is not None:
        out.append({
            "id": f"msg_{rid}", "type": "message", "status": "completed", "role": "assistant",
            "content": [{"type": "output_text", "text": reply.text, "annotations": [], "logprobs": []}],
        })  # fmt: skip
    if reply.tool is not None:
        out.append({
            "id": f"fc_{rid}", "type": "function_call", "status": "completed", "call_id": f"call_{rid}",
            "name": reply.tool.name, "arguments": reply.tool.arguments_json,
        })  # fmt: skip
    return out


def response(p: Prompt, reply: Reply | None, t: Tokens | None, rid: str, created: int) -> dict[str, Any]:
    """The response object; without a reply it is the in-progress shell of response.created."""
    done = reply is not None
    status = ("incomplete" if reply.truncated else "completed") if reply is not None else "in_progress"
    return {
        "id": f"resp_{rid}", "object": "response", "created_at": created, "status": status,
        "background": False, "error": None,
        "incomplete_details": {"reason": "max_output_tokens"} if status == "incomplete" else None,
        "instructions": None, "max_output_tokens": p.max_tokens, "model": p.model,
        "output": items(reply, rid) if reply is not None else [],
        "parallel_tool_calls": True, "previous_response_id": None,
        "reasoning": {"effort": None, "summary": None}, "store": False, "temperature": 1.0,
        "text": {"format": {"type": "text"}}, "tool_choice": "auto", "tools": [], "top_p": 1.0,
        "truncation": "disabled", "usage": usage(t) if done and t is not None else None,
        "user": None, "metadata": {},
    }  # fmt: skip


def render_json(p: Prompt, reply: Reply, t: Tokens, rid: str, created: int) -> dict[str, Any]:
    return response(p, reply, t, rid, created)


def render_events(p: Prompt, reply: Reply, t: Tokens, rid: str, created: int) -> Rendered:
    ev: list[bytes] = []

    def emit(kind: str, **fields: Any) -> None:
        ev.append(sse(kind, {"type": kind, "sequence_number": len(ev), **fields}))

    shell = response(p, None, None, rid, created)
    emit("response.created", response=shell)
    emit("response.in_progress", response=shell)
    for index, item in enumerate(items(reply, rid)):
        if item["type"] == "message":
            emit("response.output_item.added", output_index=index, item={**item, "status": "in_progress", "content": []})
            empty = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
            emit("response.content_part.added", item_id=item["id"], output_index=index, content_index=0, part=empty)
            text = item["content"][0]["text"]
            for w in split_words(text):
                emit("response.output_text.delta", item_id=item["id"], output_index=index, content_index=0,
                     delta=w, logprobs=[])  # fmt: skip
            emit("response.output_text.done", item_id=item["id"], output_index=index, content_index=0,
                 text=text, logprobs=[])  # fmt: skip
            emit("response.content_part.done", item_id=item["id"], output_index=index, content_index=0,
                 part=item["content"][0])  # fmt: skip
        else:
            emit("response.output_item.added", output_index=index, item={**item, "status": "in_progress", "arguments": ""})
            for s in split_json(item["arguments"]):
                emit("response.function_call_arguments.delta", item_id=item["id"], output_index=index, delta=s)
            emit("response.function_call_arguments.done", item_id=item["id"], output_index=index,
                 arguments=item["arguments"])  # fmt: skip
        emit("response.output_item.done", output_index=index, item=item)
    final = response(p, reply, t, rid, created)
    emit("response.incomplete" if reply.truncated else "response.completed", response=final)
    return Rendered(ev, final=1)
