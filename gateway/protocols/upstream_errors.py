"""Provider error objects -> a neutral `Failed`, keeping the provider's message and code.

Providers put errors in streams in several shapes: Anthropic's `event: error` with
`{"error": {"type", "message"}}`, OpenAI Responses' `{"type": "error", "error": {...}}` (older
servers put `code`/`message` at the top level), a Chat chunk with `{"error": {...}}` (OpenRouter,
with a numeric `code` that is an HTTP status) and `response.failed` with `response.error`.
The message a person can act on is the provider's own; the kind is the client dialect's closest
error type (OpenAI's `insufficient_quota` comes with HTTP 429, so it is a rate-limit kind).
"""

from __future__ import annotations

from typing import Any

from gateway.protocols.common import Failed, dumps
from gateway.protocols.errors import KINDS, kind_for_status

# provider `code` / `type` strings -> neutral kinds (errors.KINDS)
CODE_KINDS = {
    "insufficient_quota": "rate_limit_error",
    "rate_limit_exceeded": "rate_limit_error",
    "rate_limit": "rate_limit_error",
    "tokens": "rate_limit_error",
    "requests": "rate_limit_error",
    "server_error": "api_error",
    "internal_error": "api_error",
    "internal_server_error": "api_error",
    "overloaded": "overloaded_error",
    "server_is_overloaded": "overloaded_error",
    "service_unavailable": "overloaded_error",
    "slow_down": "overloaded_error",
    "invalid_prompt": "invalid_request_error",
    "context_length_exceeded": "invalid_request_error",
    "bad_request": "invalid_request_error",
    "invalid_request": "invalid_request_error",
    "model_not_found": "not_found_error",
    "invalid_api_key": "authentication_error",
    "unauthorized": "authentication_error",
    "permission_denied": "permission_error",
    "billing_error": "permission_error",
    "timeout": "timeout_error",
}


def _kind(code: Any, type_: Any, default: str) -> str:
    if isinstance(code, int) and not isinstance(code, bool):
        return kind_for_status(code)
    if isinstance(code, str) and code.isdigit():
        return kind_for_status(int(code))
    for value in (code, type_):
        if isinstance(value, str):
            if value in KINDS:
                return value
            if value in CODE_KINDS:
                return CODE_KINDS[value]
    return default


def error_object(data: Any) -> Any:
    """The error object inside an event's data, whatever the shape (see the module docstring)."""
    if isinstance(data, dict) and isinstance(data.get("error"), dict):
        return data["error"]
    if isinstance(data, dict) and data.get("type") == "error":
        return {k: v for k, v in data.items() if k not in ("type", "sequence_number")}
    return data


def failed(err: Any, default_kind: str = "api_error") -> Failed:
    """A `Failed` with the provider's message, the closest neutral kind and the provider's code."""
    err = error_object(err)
    if not isinstance(err, dict):
        return Failed(f"upstream error: {err}", default_kind)
    message = err.get("message")
    if not isinstance(message, str) or not message:
        message = dumps(err)
    code, type_ = err.get("code"), err.get("type")
    kind = _kind(code, type_, default_kind)
    provider_code = next((v for v in (code, type_) if isinstance(v, str) and v and not v.isdigit()), None)
    return Failed(f"upstream error: {message}", kind, provider_code)
