"""A cheap local token estimate, for `POST /v1/messages/count_tokens` and long-context routing.

Claude Code calls count_tokens often; answering it upstream would burn free-tier quota, so
the gateway answers from this estimate. It is deliberately simple and stable: about four
ASCII characters per token, one token per non-ASCII character (CJK is roughly that dense),
a fixed cost per image, and a small overhead per message and per tool.
"""

from __future__ import annotations

import json
from typing import Any

IMAGE_TOKENS = 1600
MESSAGE_OVERHEAD = 4
TOOL_OVERHEAD = 8

# the parts of a request that reach the model, per dialect
_PROMPT_KEYS = {
    "anthropic": ("system", "messages", "tools"),
    "openai": ("messages", "tools", "functions"),
    "responses": ("instructions", "input", "tools"),
    "gemini": ("systemInstruction", "system_instruction", "contents", "tools"),
}
_LIST_OVERHEAD = {
    "messages": MESSAGE_OVERHEAD,
    "input": MESSAGE_OVERHEAD,
    "contents": MESSAGE_OVERHEAD,
    "tools": TOOL_OVERHEAD,
    "functions": TOOL_OVERHEAD,
}
# values that never reach the model as text
_SKIP = frozenset(
    {
        "type",
        "role",
        "id",
        "tool_use_id",
        "tool_call_id",
        "call_id",
        "cache_control",
        "signature",
        "encrypted_content",
        "reasoning_details",
        "media_type",
        "mimeType",
        "mime_type",
        "status",
    }
)
_IMAGE_TYPES = frozenset({"image", "image_url", "input_image", "document", "input_file"})


def text_tokens(text: str) -> int:
    ascii_chars = sum(1 for ch in text if ord(ch) < 128)
    return (ascii_chars + 3) // 4 + (len(text) - ascii_chars)


def _walk(value: Any) -> int:
    if isinstance(value, str):
        return text_tokens(value)
    if isinstance(value, list):
        return sum(_walk(v) for v in value)
    if not isinstance(value, dict):
        return 1 if isinstance(value, int | float) and not isinstance(value, bool) else 0
    if value.get("type") in _IMAGE_TYPES or "inlineData" in value or "inline_data" in value:
        return IMAGE_TOKENS
    total = 0
    for key, item in value.items():
        if key in _SKIP:
            continue
        if key in ("input", "arguments", "args", "input_schema", "parameters") and not isinstance(item, str):
            total += text_tokens(json.dumps(item, ensure_ascii=False, separators=(",", ":")))
            continue
        total += _walk(item)
    return total


def estimate(body: dict[str, Any], dialect: str) -> int:
    """Prompt tokens of `body` (a request in `dialect`'s dialect): system, messages, tools."""
    if not isinstance(body, dict):
        return 0
    total = 0
    for key in _PROMPT_KEYS.get(dialect, _PROMPT_KEYS["anthropic"]):
        value = body.get(key)
        if value is None:
            continue
        total += _walk(value)
        if isinstance(value, list):
            total += _LIST_OVERHEAD.get(key, 0) * len(value)
    return total
