"""Error bodies in the dialect of the endpoint that was called.

An agent's SDK only understands its own API's error shape; a 4xx in the wrong dialect
shows up as an unreadable crash in the agent.
"""

from __future__ import annotations

from typing import Any

ANTHROPIC_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    405: "invalid_request_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    502: "api_error",
    503: "overloaded_error",
    504: "api_error",
    529: "overloaded_error",
}
OPENAI_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    405: "invalid_request_error",
    413: "invalid_request_error",
    429: "rate_limit_exceeded",
    500: "server_error",
    502: "server_error",
    503: "server_error",
    504: "server_error",
    529: "server_error",
}
GEMINI_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    413: "INVALID_ARGUMENT",
    429: "RESOURCE_EXHAUSTED",
    503: "UNAVAILABLE",
}


def error_body(dialect: str, status: int, message: str, kind: str | None = None) -> dict[str, Any]:
    if dialect == "anthropic":
        return {"type": "error", "error": {"type": kind or ANTHROPIC_TYPES.get(status, "api_error"), "message": message}}
    if dialect == "gemini":
        return {"error": {"code": status, "message": message, "status": GEMINI_STATUS.get(status, "INTERNAL")}}
    return {"error": {"message": message, "type": kind or OPENAI_TYPES.get(status, "server_error"), "param": None, "code": None}}
