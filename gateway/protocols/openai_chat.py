"""OpenAI Chat Completions: request checks, error bodies, stream errors and usage.

Usage: `prompt_tokens` already includes cached tokens. Cache reads come as
`prompt_tokens_details.cached_tokens` (OpenAI, OpenRouter), `prompt_cache_hit_tokens` (DeepSeek)
or a top-level `cached_tokens` (Moonshot/Kimi); cache writes as
`prompt_tokens_details.cache_write_tokens` (OpenRouter).
"""

from __future__ import annotations

from typing import Any

from gateway.exchange import Usage
from gateway.protocols import count_tokens, validate
from gateway.protocols.common import as_int, dumps
from gateway.protocols.errors import normalize_kind
from gateway.protocols.sse import encode

ROLES = ("system", "developer", "user", "assistant", "tool", "function")

_TYPES = {
    "invalid_request_error": ("invalid_request_error", None),
    "authentication_error": ("authentication_error", "invalid_api_key"),
    "permission_error": ("permission_error", None),
    "not_found_error": ("not_found_error", None),  # `model_not_found` only where a model was not found (below)
    "request_too_large": ("invalid_request_error", "request_too_large"),
    "rate_limit_error": ("rate_limit_error", "rate_limit_exceeded"),
    "api_error": ("server_error", None),
    "overloaded_error": ("server_error", "overloaded"),
    "timeout_error": ("server_error", "timeout"),
}


def validate_request(body: Any) -> str | None:
    """A human-actionable problem with a Chat Completions request, or None."""
    problem = validate.need_object(body)
    if problem:
        return problem
    problem = validate.first(
        validate.need_model(body),
        validate.need_list(body, "messages", required=True, non_empty=True),
        validate.need_int(body, "max_tokens"),
        validate.need_int(body, "max_completion_tokens"),
        validate.need_bool(body, "stream"),
        validate.need_number(body, "temperature"),
        validate.need_number(body, "top_p"),
        validate.need_list(body, "tools"),
    )
    if problem:
        return problem
    for i, msg in enumerate(body["messages"]):
        if not isinstance(msg, dict):
            return f"messages[{i}] must be an object with `role` and `content`"
        if msg.get("role") not in ROLES:
            return f"messages[{i}].role must be one of {', '.join(ROLES)}; got {msg.get('role')!r}"
        content = msg.get("content")
        if content is not None and not isinstance(content, str | list):
            return f"messages[{i}].content must be a string, an array of parts, or null"
        if msg["role"] == "tool" and not isinstance(msg.get("tool_call_id"), str):
            return f"messages[{i}] (role tool) needs a string `tool_call_id`"
    for i, tool in enumerate(body.get("tools") or []):
        if not isinstance(tool, dict):
            return f"tools[{i}] must be an object"
        fn = tool.get("function")
        if tool.get("type", "function") == "function" and not (
            isinstance(fn, dict) and isinstance(fn.get("name"), str)
        ):
            return f'tools[{i}] must look like {{"type": "function", "function": {{"name": ...}}}}'
    return None


def error_body(status: int, message: str, kind: str | None = None) -> dict[str, Any]:
    kind = normalize_kind(kind, status)
    type_, code = _TYPES.get(kind, ("server_error", None))
    return {"error": {"message": message, "type": type_, "code": code, "param": None}}


def stream_error(message: str, kind: str | None = "api_error", code: str | None = None) -> bytes:
    """A `data: {"error": ...}` chunk (the openai SDKs raise APIError on it), then `[DONE]`.

    `code`: the provider's own code (e.g. `insufficient_quota`), kept when the upstream gave one.
    """
    body = error_body(500, message, kind)
    if code:
        body["error"]["code"] = code
    return encode(dumps(body)) + encode("[DONE]")


def usage_from_dict(u: Any) -> Usage:
    if not isinstance(u, dict):
        return Usage()
    details = u.get("prompt_tokens_details") if isinstance(u.get("prompt_tokens_details"), dict) else {}
    read = (
        as_int(details.get("cached_tokens"))
        or as_int(u.get("prompt_cache_hit_tokens"))  # DeepSeek
        or as_int(u.get("cached_tokens"))  # Moonshot/Kimi: at the top level of usage
    )
    write = as_int(details.get("cache_write_tokens")) or as_int(u.get("cache_creation_input_tokens"))
    prompt = as_int(u.get("prompt_tokens"))
    return Usage(
        input=max(prompt, read + write),
        output=as_int(u.get("completion_tokens")),
        cache_read=read,
        cache_write=write,
        reported=True,
    )


def usage_to_dict(usage: Usage) -> dict[str, Any]:
    out: dict[str, Any] = {
        "prompt_tokens": usage.input,
        "completion_tokens": usage.output,
        "total_tokens": usage.input + usage.output,
        "prompt_tokens_details": {"cached_tokens": usage.cache_read},
    }
    if usage.cache_write:
        out["prompt_tokens_details"]["cache_write_tokens"] = usage.cache_write
    return out


def usage_from_body(body: Any) -> Usage:
    return usage_from_dict(body.get("usage")) if isinstance(body, dict) else Usage()


def usage_from_event(event_name: str, data: Any) -> Usage | None:
    """Chat streams send usage on the last chunk (with `stream_options.include_usage`)."""
    if isinstance(data, dict) and isinstance(data.get("usage"), dict):
        return usage_from_dict(data["usage"])
    return None


def with_stream_usage(body: dict[str, Any]) -> dict[str, Any]:
    """A streamed Chat request that asks for the usage chunk (without it the gateway sees no usage)."""
    if not body.get("stream") or (body.get("stream_options") or {}).get("include_usage"):
        return body
    return {**body, "stream_options": {**(body.get("stream_options") or {}), "include_usage": True}}


def estimate_tokens(body: dict[str, Any]) -> int:
    return count_tokens.estimate(body, "openai")
