"""Gemini generateContent: request checks, error bodies, stream errors and usage.

The model is in the URL (`/v1beta/models/<m>:generateContent`), not the body, so the
validator does not ask for one. `promptTokenCount` includes `cachedContentTokenCount`;
thoughts are billed as output.
"""

from __future__ import annotations

from typing import Any

from gateway.exchange import Usage
from gateway.protocols import count_tokens, validate
from gateway.protocols.common import as_int, dumps
from gateway.protocols.errors import normalize_kind, status_for_kind
from gateway.protocols.sse import encode

_STATUS = {
    "invalid_request_error": "INVALID_ARGUMENT",
    "authentication_error": "UNAUTHENTICATED",
    "permission_error": "PERMISSION_DENIED",
    "not_found_error": "NOT_FOUND",
    "request_too_large": "INVALID_ARGUMENT",
    "rate_limit_error": "RESOURCE_EXHAUSTED",
    "api_error": "INTERNAL",
    "overloaded_error": "UNAVAILABLE",
    "timeout_error": "DEADLINE_EXCEEDED",
}


def validate_request(body: Any) -> str | None:
    """A human-actionable problem with a generateContent request, or None."""
    problem = validate.need_object(body)
    if problem:
        return problem
    problem = validate.need_list(body, "contents", required=True, non_empty=True)
    if problem:
        return problem
    for i, content in enumerate(body["contents"]):
        if not isinstance(content, dict):
            return f"contents[{i}] must be an object with `role` and `parts`"
        if content.get("role", "user") not in ("user", "model", "function"):
            return f'contents[{i}].role must be "user" or "model", got {content.get("role")!r}'
        parts = content.get("parts")
        if not isinstance(parts, list) or not all(isinstance(p, dict) for p in parts):
            return f"contents[{i}].parts must be an array of part objects"
    config = body.get("generationConfig")
    if config is not None:
        if not isinstance(config, dict):
            return "`generationConfig` must be an object"
        problem = validate.need_int(config, "maxOutputTokens")
        if problem:
            return problem.replace("`maxOutputTokens`", "`generationConfig.maxOutputTokens`")
    tools = body.get("tools")
    if tools is not None and not isinstance(tools, list):
        return "`tools` must be an array of {functionDeclarations: [...]} objects"
    return None


def error_body(status: int, message: str, kind: str | None = None) -> dict[str, Any]:
    kind = normalize_kind(kind, status)
    return {"error": {"code": status, "message": message, "status": _STATUS.get(kind, "INTERNAL")}}


def stream_error(message: str, kind: str | None = "api_error") -> bytes:
    """A `data: {"error": ...}` chunk: @google/genai throws an ApiError when a chunk carries one."""
    kind = normalize_kind(kind, 500)
    return encode(dumps(error_body(status_for_kind(kind), message, kind)))


def usage_from_dict(u: Any) -> Usage:
    if not isinstance(u, dict):
        return Usage()
    read = as_int(u.get("cachedContentTokenCount"))
    return Usage(
        input=max(as_int(u.get("promptTokenCount")), read),
        output=as_int(u.get("candidatesTokenCount")) + as_int(u.get("thoughtsTokenCount")),
        cache_read=read,
        reported=True,
    )


def usage_to_dict(usage: Usage) -> dict[str, int]:
    return {
        "promptTokenCount": usage.input,
        "candidatesTokenCount": usage.output,
        "totalTokenCount": usage.input + usage.output,
        "cachedContentTokenCount": usage.cache_read,
    }


def usage_from_body(body: Any) -> Usage:
    return usage_from_dict(body.get("usageMetadata")) if isinstance(body, dict) else Usage()


def usage_from_event(event_name: str, data: Any) -> Usage | None:
    if isinstance(data, dict) and isinstance(data.get("usageMetadata"), dict):
        return usage_from_dict(data["usageMetadata"])
    return None


def estimate_tokens(body: dict[str, Any]) -> int:
    return count_tokens.estimate(body, "gemini")
