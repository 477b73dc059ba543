"""Anthropic Messages: request checks, error bodies, stream errors and usage.

Usage normalisation: Anthropic's `input_tokens` excludes cache reads and writes, so
`Usage.input` adds them back (the gateway counts every prompt token in `input`).
"""

from __future__ import annotations

from typing import Any

from gateway.exchange import Usage
from gateway.protocols import count_tokens, validate
from gateway.protocols.common import as_int, dumps
from gateway.protocols.errors import normalize_kind
from gateway.protocols.sse import encode

ROLES = ("user", "assistant", "system")  # "system" mid-conversation: Claude Code's mid-conversation-system beta
BLOCK_TYPES_NEEDING = {
    "text": ("text", str),
    "tool_use": ("name", str),
    "tool_result": ("tool_use_id", str),
    "image": ("source", dict),
    "document": ("source", dict),
    "thinking": ("thinking", str),
    "redacted_thinking": ("data", str),
}


def validate_request(body: Any) -> str | None:
    """A human-actionable problem with a Messages request, or None when its shape is fine."""
    problem = validate.need_object(body)
    if problem:
        return problem
    problem = validate.first(
        validate.need_model(body),
        validate.need_int(body, "max_tokens", required=True),
        validate.need_list(body, "messages", required=True, non_empty=True),
        validate.need_bool(body, "stream"),
        validate.need_number(body, "temperature"),
        validate.need_number(body, "top_p"),
        validate.need_list(body, "tools"),
        validate.need_list(body, "stop_sequences"),
        _check_system(body.get("system")),
    )
    if problem:
        return problem
    for i, msg in enumerate(body["messages"]):
        problem = _check_message(i, msg)
        if problem:
            return problem
    for i, tool in enumerate(body.get("tools") or []):
        if not isinstance(tool, dict) or not isinstance(tool.get("name"), str):
            return f"tools[{i}] must be an object with a string `name`"
    return None


def _check_system(system: Any) -> str | None:
    if system is None or isinstance(system, str):
        return None
    if not isinstance(system, list):
        return f"`system` must be a string or an array of text blocks, got {validate.type_name(system)}"
    for i, block in enumerate(system):
        if not isinstance(block, dict) or not isinstance(block.get("text"), str):
            return f'system[{i}] must be a text block like {{"type": "text", "text": "..."}}'
    return None


def _check_message(i: int, msg: Any) -> str | None:
    if not isinstance(msg, dict):
        return f"messages[{i}] must be an object with `role` and `content`"
    if msg.get("role") not in ROLES:
        return f'messages[{i}].role must be "user", "assistant" or "system", got {msg.get("role")!r}'
    content = msg.get("content")
    if isinstance(content, str):
        return None
    if not isinstance(content, list):
        return f"messages[{i}].content must be a string or an array of content blocks"
    for j, block in enumerate(content):
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            return f"messages[{i}].content[{j}] must be an object with a string `type`"
        need = BLOCK_TYPES_NEEDING.get(block["type"])
        if need and not isinstance(block.get(need[0]), need[1]):
            return f"messages[{i}].content[{j}] ({block['type']}) needs `{need[0]}`"
    return None


def error_body(status: int, message: str, kind: str | None = None) -> dict[str, Any]:
    kind = normalize_kind(kind, status)
    return {"type": "error", "error": {"type": kind, "message": message}}


def stream_error(message: str, kind: str | None = "api_error") -> bytes:
    """`event: error`: the anthropic SDKs raise an APIStatusError on it, Claude Code shows the message."""
    return encode(dumps(error_body(500, message, kind)), "error")


def usage_from_dict(u: Any) -> Usage:
    if not isinstance(u, dict):
        return Usage()
    read = as_int(u.get("cache_read_input_tokens"))
    write = as_int(u.get("cache_creation_input_tokens"))
    return Usage(
        input=as_int(u.get("input_tokens")) + read + write,
        output=as_int(u.get("output_tokens")),
        cache_read=read,
        cache_write=write,
        reported=True,
    )


def usage_to_dict(usage: Usage) -> dict[str, int]:
    return {
        "input_tokens": max(usage.input - usage.cache_read - usage.cache_write, 0),
        "cache_creation_input_tokens": usage.cache_write,
        "cache_read_input_tokens": usage.cache_read,
        "output_tokens": usage.output,
    }


def usage_from_body(body: Any) -> Usage:
    return usage_from_dict(body.get("usage")) if isinstance(body, dict) else Usage()


def usage_from_event(event_name: str, data: Any) -> Usage | None:
    """message_start carries input (and cache) usage, message_delta the output count."""
    if not isinstance(data, dict):
        return None
    if event_name == "message_start" and isinstance(data.get("message"), dict):
        u = data["message"].get("usage")
        return usage_from_dict(u) if isinstance(u, dict) else None
    if event_name == "message_delta" and isinstance(data.get("usage"), dict):
        u = data["usage"]
        usage = usage_from_dict(u)
        # message_delta often carries only output_tokens: no input info is not "0 input"
        if not any(
            k in u for k in ("input_tokens", "cache_read_input_tokens", "cache_creation_input_tokens")
        ):
            usage.input = 0
        return usage
    return None


def estimate_tokens(body: dict[str, Any]) -> int:
    return count_tokens.estimate(body, "anthropic")
