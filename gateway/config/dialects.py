"""The four API dialects the gateway speaks to agents, by name, and error responses in each.

An agent's SDK only understands its own API's error shape; a 4xx in the wrong dialect
shows up as an unreadable crash in the agent.
"""

from __future__ import annotations

from types import ModuleType

import orjson
from quart import Response

from gateway.protocols import anthropic, gemini, openai_chat, responses

DIALECTS: dict[str, ModuleType] = {
    "anthropic": anthropic,
    "openai": openai_chat,
    "responses": responses,
    "gemini": gemini,
}


def error_body(dialect: str, status: int, message: str, kind: str | None = None) -> dict:
    return DIALECTS.get(dialect, openai_chat).error_body(status, message, kind)


def json_error(dialect: str, status: int, message: str, headers: dict[str, str] | None = None,
               code: str | None = None) -> Response:
    """`code` fills the error's `code` where the dialect has one (OpenAI's `context_length_exceeded`)."""
    obj = error_body(dialect, status, message)
    if code and isinstance(obj.get("error"), dict) and "code" in obj["error"]:
        obj["error"]["code"] = code
    return Response(orjson.dumps(obj), status=status, content_type="application/json", headers=headers or {})


def stream_error(dialect: str, message: str) -> bytes:
    return DIALECTS.get(dialect, openai_chat).stream_error(message, "api_error")


def validate(dialect: str, body: object) -> str | None:
    return DIALECTS[dialect].validate_request(body)


def dialect_for_path(path: str) -> str:
    if "/messages" in path:
        return "anthropic"
    if "/v1beta/" in path:
        return "gemini"
    if path.endswith("/responses"):
        return "responses"
    return "openai"
