"""OpenAI Responses API: request checks, error bodies, stream errors and usage.

`input_tokens` already includes `input_tokens_details.cached_tokens`.
"""

from __future__ import annotations

import time
from typing import Any

from gateway.exchange import Usage
from gateway.protocols import count_tokens, validate
from gateway.protocols.common import as_int, dumps, new_id
from gateway.protocols.errors import normalize_kind
from gateway.protocols.openai_chat import error_body as _chat_error_body
from gateway.protocols.sse import encode

ITEM_TYPES = ("message", "function_call", "function_call_output", "reasoning")


def validate_request(body: Any) -> str | None:
    """A human-actionable problem with a Responses request, or None."""
    problem = validate.need_object(body)
    if problem:
        return problem
    problem = validate.first(
        validate.need_model(body),
        validate.need_int(body, "max_output_tokens"),
        validate.need_bool(body, "stream"),
        validate.need_number(body, "temperature"),
        validate.need_number(body, "top_p"),
        validate.need_list(body, "tools"),
    )
    if problem:
        return problem
    inp = body.get("input")
    if inp is None:
        return "`input` is required (a string or an array of input items)"
    if isinstance(inp, str):
        return None if inp else "`input` must not be empty"
    if not isinstance(inp, list) or not inp:
        return "`input` must be a string or a non-empty array of input items"
    for i, item in enumerate(inp):
        if not isinstance(item, dict):
            return f"input[{i}] must be an object"
        kind = item.get("type", "message")
        if kind == "message" and item.get("role") not in ("user", "assistant", "system", "developer"):
            return f"input[{i}].role must be user, assistant, system or developer"
        if kind in ("function_call", "function_call_output") and not isinstance(item.get("call_id"), str):
            return f"input[{i}] ({kind}) needs a string `call_id`"
    if not isinstance(body.get("instructions"), str | None):
        return "`instructions` must be a string"
    return None


def error_body(status: int, message: str, kind: str | None = None) -> dict[str, Any]:
    return _chat_error_body(status, message, kind)


def stream_error(
    message: str,
    kind: str | None = "api_error",
    *,
    response_id: str | None = None,
    model: str = "",
    sequence_number: int = 0,
    code: str | None = None,
) -> bytes:
    """`response.failed` with the error: Codex reports its message, the openai SDK ends the stream.

    Pass the `response_id` of the stream's `response.created`, since SDKs check it stays the same;
    `code` is the provider's own error code when the upstream gave one.
    """
    code = code or error_body(500, message, kind)["error"]["code"] or normalize_kind(kind, 500)
    response = response_object(response_id or new_id("resp_"), model, status="failed")
    response["error"] = {"code": code, "message": message}
    data = {"type": "response.failed", "sequence_number": sequence_number, "response": response}
    return encode(dumps(data), "response.failed")


def response_object(rid: str, model: str, *, status: str, created: int | None = None) -> dict[str, Any]:
    return {
        "id": rid,
        "object": "response",
        "created_at": created if created is not None else int(time.time()),
        "status": status,
        "error": None,
        "incomplete_details": None,
        "model": model,
        "output": [],
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
        "usage": None,
    }


def usage_from_dict(u: Any) -> Usage:
    if not isinstance(u, dict):
        return Usage()
    details = u.get("input_tokens_details") if isinstance(u.get("input_tokens_details"), dict) else {}
    read = as_int(details.get("cached_tokens"))
    return Usage(
        input=max(as_int(u.get("input_tokens")), read),
        output=as_int(u.get("output_tokens")),
        cache_read=read,
        cache_write=as_int(details.get("cache_write_tokens")),
        reported=True,
    )


def usage_to_dict(usage: Usage, reasoning: int = 0) -> dict[str, Any]:
    return {
        "input_tokens": usage.input,
        "input_tokens_details": {"cached_tokens": usage.cache_read},
        "output_tokens": usage.output,
        "output_tokens_details": {"reasoning_tokens": reasoning},
        "total_tokens": usage.input + usage.output,
    }


def usage_from_body(body: Any) -> Usage:
    return usage_from_dict(body.get("usage")) if isinstance(body, dict) else Usage()


def usage_from_event(event_name: str, data: Any) -> Usage | None:
    """The terminal events (completed, incomplete, failed) carry the response with its usage."""
    if not isinstance(data, dict):
        return None
    name = event_name if event_name != "message" else str(data.get("type", ""))
    if name in ("response.completed", "response.incomplete", "response.failed"):
        resp = data.get("response")
        if isinstance(resp, dict) and isinstance(resp.get("usage"), dict):
            return usage_from_dict(resp["usage"])
    return None


def estimate_tokens(body: dict[str, Any]) -> int:
    return count_tokens.estimate(body, "responses")
