"""Error bodies and headers in each API's own dialect.

The gateway must pass these through (or translate them) so agents see the errors they
know; making the simulator speak them exactly is what lets tests catch a dialect mix-up.
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from gateway.simulator.faults import Fault

_ANTHROPIC_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    529: "overloaded_error",
}
_OPENAI_TYPES = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("invalid_request_error", "permission_denied"),
    404: ("invalid_request_error", "model_not_found"),
    429: ("requests", "rate_limit_exceeded"),
    503: ("server_error", "service_unavailable"),
    529: ("server_error", "overloaded"),
}
_MESSAGES = {
    400: "Invalid request.",
    401: "invalid x-api-key",
    403: "Your API key does not have permission to use the specified resource.",
    404: "The requested model was not found.",
    429: "This request would exceed your account's rate limit. Please try again later.",
    500: "Internal server error",
    502: "Bad gateway",
    503: "Service unavailable",
    529: "Overloaded",
}


class BadRequest(ValueError):
    """An obviously invalid body: answered 400 in the endpoint's dialect."""

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param


def default_message(status: int) -> str:
    return _MESSAGES.get(status, "Internal server error" if status >= 500 else "Request failed.")


def anthropic_error(status: int, message: str) -> dict[str, Any]:
    kind = _ANTHROPIC_TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")
    return {"type": "error", "error": {"type": kind, "message": message}, "request_id": _request_id()}


def openai_error(status: int, message: str, param: str | None = None) -> dict[str, Any]:
    kind, code = _OPENAI_TYPES.get(status, ("server_error" if status >= 500 else "invalid_request_error", None))
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


def error_body(dialect: str, status: int, message: str, param: str | None = None) -> dict[str, Any]:
    if dialect == "anthropic":
        return anthropic_error(status, message)
    return openai_error(status, message, param)


def fault_headers(dialect: str, fault: Fault, now: float | None = None) -> dict[str, str]:
    """Retry-After and the rate-limit reset headers each API really sends with a 429."""
    out: dict[str, str] = {}
    if fault.retry_after is not None:
        ra = fault.retry_after
        out["Retry-After"] = str(int(ra)) if float(ra).is_integer() else str(ra)
    if fault.retry_after_ms is not None:
        out["retry-after-ms"] = str(fault.retry_after_ms)
    if fault.reset_headers:
        wait = fault.retry_after if fault.retry_after is not None else 1.0
        if dialect == "anthropic":
            at = datetime.fromtimestamp(now if now is not None else time.time(), UTC) + timedelta(seconds=wait)
            stamp = at.strftime("%Y-%m-%dT%H:%M:%SZ")
            out.update({
                "anthropic-ratelimit-requests-limit": "50",
                "anthropic-ratelimit-requests-remaining": "0",
                "anthropic-ratelimit-requests-reset": stamp,
                "anthropic-ratelimit-tokens-reset": stamp,
            })
        else:
            out.update({
                "x-ratelimit-limit-requests": "20",
                "x-ratelimit-remaining-requests": "0",
                "x-ratelimit-reset-requests": f"{wait:g}s",
                "x-ratelimit-reset-tokens": f"{wait:g}s",
            })
    return out


def stream_error_event(dialect: str, status: int, message: str, seq: int = 0) -> bytes:
    """The in-stream error each API sends when it fails after the 200 went out."""
    if dialect == "anthropic":
        body = anthropic_error(status, message)
        body.pop("request_id", None)
        return b"event: error\ndata: " + orjson.dumps(body) + b"\n\n"
    if dialect == "responses":
        kind, code = _OPENAI_TYPES.get(status, ("server_error", None))
        ev = {"type": "error", "code": code or kind, "message": message, "param": None, "sequence_number": seq}
        return b"event: error\ndata: " + orjson.dumps(ev) + b"\n\n"
    return b"data: " + orjson.dumps(openai_error(status, message)) + b"\n\n"


def _request_id() -> str:
    return "req_sim" + os.urandom(9).hex()
