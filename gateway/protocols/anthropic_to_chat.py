"""Anthropic Messages -> OpenAI Chat Completions: requests (to a Chat upstream) and responses
(an Anthropic upstream answering a Chat endpoint).

Chat requires the `role: tool` answers right after the assistant turn that called the tools,
so a user turn's tool_result blocks become tool messages first (in their original order) and
its other blocks follow as one user message.
"""

from __future__ import annotations

import json
import time
from typing import Any

from gateway.protocols import anthropic as anth
from gateway.protocols import openai_chat as chat
from gateway.protocols.common import dumps, new_id, text_of
from gateway.protocols.thinking import read_signature

ERROR_PREFIX = "ERROR: "  # how a tool_result's is_error survives Chat, which has no such flag

STOP_TO_FINISH = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}


def effort_for_budget(budget: int) -> str:
    return "low" if budget < 4096 else "medium" if budget < 16384 else "high"


def system_text(system: Any) -> str:
    """The system prompt as one string.

    Claude Code's per-turn billing header is kept here: removing it is cache shaping
    (gateway.shaping.strip_billing_header), switchable per provider, not translation.
    """
    if isinstance(system, str):
        return system
    if not isinstance(system, list):
        return ""
    texts = [
        b["text"]
        for b in system
        if isinstance(b, dict) and isinstance(b.get("text"), str)
    ]
    return "\n\n".join(t for t in texts if t)


def image_part(block: dict[str, Any]) -> dict[str, Any] | None:
    source = block.get("source") or {}
    if source.get("type") == "base64":
        url = f"data:{source.get('media_type', 'image/png')};base64,{source.get('data', '')}"
    elif source.get("type") == "url":
        url = source.get("url", "")
    else:
        return None
    if block.get("type") == "document":
        return {"type": "file", "file": {"filename": block.get("title") or "document.pdf", "file_data": url}}
    return {"type": "image_url", "image_url": {"url": url}}


def _user_parts(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = []
    for block in blocks:
        kind = block.get("type")
        if kind == "text":
            parts.append({"type": "text", "text": block.get("text", "")})
        elif kind in ("image", "document"):
            part = image_part(block)
            if part:
                parts.append(part)
    return parts


def _content(parts: list[dict[str, Any]]) -> str | list[dict[str, Any]]:
    if len(parts) == 1 and parts[0]["type"] == "text":
        return parts[0]["text"]
    return parts


def _tool_message(block: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A tool_result as a tool message, plus any images it held (Chat tool messages carry text only)."""
    content = block.get("content")
    blocks = content if isinstance(content, list) else []
    text = content if isinstance(content, str) else text_of([b for b in blocks if b.get("type") == "text"])
    images = [p for p in _user_parts([b for b in blocks if b.get("type") in ("image", "document")]) if p]
    if block.get("is_error"):
        text = ERROR_PREFIX + text
    return {"role": "tool", "tool_call_id": block.get("tool_use_id", ""), "content": text}, images


def _assistant(blocks: list[dict[str, Any]], model: str) -> dict[str, Any]:
    texts: list[str] = []
    calls: list[dict[str, Any]] = []
    msg: dict[str, Any] = {"role": "assistant"}
    details: list[dict[str, Any]] = []
    for block in blocks:
        kind = block.get("type")
        if kind == "text":
            texts.append(block.get("text", ""))
        elif kind in ("tool_use", "server_tool_use"):
            args = block.get("input")
            calls.append(
                {
                    "id": block.get("id", ""),
                    "type": "function",
                    "function": {
                        "name": block.get("name", ""),
                        "arguments": dumps(args if args is not None else {}),
                    },
                }
            )
        elif kind == "thinking":
            payload = read_signature(block.get("signature"))
            if payload is None or payload["m"] != model:
                continue  # another model's reasoning, or Anthropic's signature: useless to this model
            if payload.get("rd"):
                details.extend(payload["rd"])
            if payload.get("f") in ("reasoning_content", "reasoning"):
                msg[payload["f"]] = block.get("thinking", "")
    msg["content"] = "".join(texts) if texts or not calls else None
    if calls:
        msg["tool_calls"] = calls
    if details:
        msg["reasoning_details"] = details
    return msg


def messages(body: dict[str, Any], model: str = "") -> list[dict[str, Any]]:
    """Chat messages for `model` (reasoning the gateway captured from `model` itself goes back to it)."""
    out: list[dict[str, Any]] = []
    system = system_text(body.get("system"))
    if system:
        out.append({"role": "system", "content": system})
    for msg in body.get("messages") or []:
        content = msg.get("content")
        if isinstance(content, str):
            out.append({"role": msg["role"], "content": content})
            continue
        blocks = [b for b in content or [] if isinstance(b, dict)]
        if msg.get("role") == "system":  # a mid-conversation system message stays one, where it was
            out.append({"role": "system", "content": system_text(blocks)})
            continue
        if msg.get("role") == "assistant":
            out.append(_assistant(blocks, model))
            continue
        extra: list[dict[str, Any]] = []
        for block in blocks:
            if block.get("type") == "tool_result":
                tool_msg, images = _tool_message(block)
                out.append(tool_msg)
                extra.extend(images)
        parts = _user_parts([b for b in blocks if b.get("type") != "tool_result"]) + extra
        if parts:
            out.append({"role": "user", "content": _content(parts)})
    return out


def tools(anthropic_tools: list[Any]) -> list[dict[str, Any]]:
    """Custom tools only: Anthropic server tools (web_search_…, bash_…) have no Chat equivalent."""
    out = []
    for tool in anthropic_tools:
        if not isinstance(tool, dict) or (
            "input_schema" not in tool and tool.get("type") not in (None, "custom")
        ):
            continue
        fn: dict[str, Any] = {"name": tool.get("name", "")}
        if tool.get("description"):
            fn["description"] = tool["description"]
        fn["parameters"] = tool.get("input_schema") or {"type": "object", "properties": {}}
        out.append({"type": "function", "function": fn})
    return out


def tool_choice(choice: Any) -> Any:
    if not isinstance(choice, dict):
        return None
    kind = choice.get("type")
    if kind == "tool":
        return {"type": "function", "function": {"name": choice.get("name", "")}}
    return {"auto": "auto", "any": "required", "none": "none"}.get(kind)


def request(body: dict[str, Any], *, model: str, reasoning_style: str = "effort") -> dict[str, Any]:
    """`reasoning_style`: "effort" (`reasoning_effort`, OpenAI/DeepSeek) or "openrouter" (`reasoning`)."""
    out: dict[str, Any] = {"model": model, "messages": messages(body, model)}
    if body.get("max_tokens") is not None:
        out["max_tokens"] = body["max_tokens"]
    for key in ("temperature", "top_p"):
        if body.get(key) is not None:
            out[key] = body[key]
    if body.get("stop_sequences"):
        out["stop"] = body["stop_sequences"]
    converted = tools(body.get("tools") or [])
    if converted:
        out["tools"] = converted
        choice = tool_choice(body.get("tool_choice"))
        if choice is not None:
            out["tool_choice"] = choice
        if isinstance(body.get("tool_choice"), dict) and body["tool_choice"].get("disable_parallel_tool_use"):
            out["parallel_tool_calls"] = False
    user = (body.get("metadata") or {}).get("user_id")
    if isinstance(user, str) and user:
        out["user"] = user[:256]
    thinking = body.get("thinking") if isinstance(body.get("thinking"), dict) else {}
    effort = (
        (body.get("output_config") or {}).get("effort")
        if isinstance(body.get("output_config"), dict)
        else None
    )
    if thinking.get("type") in ("enabled", "adaptive") or effort:
        budget = thinking.get("budget_tokens")
        level = (
            effort
            if effort in ("low", "medium", "high")
            else (effort_for_budget(budget) if isinstance(budget, int) else "medium")
        )
        if reasoning_style == "openrouter":
            # effort, not max_tokens: OpenRouter maps it for every model family, while Claude Code's
            # budget (31999 of 32000) would leave a non-Anthropic model no room to answer
            out["reasoning"] = {"effort": level}
        else:
            out["reasoning_effort"] = level
    if body.get("stream"):
        out["stream"] = True
        out["stream_options"] = {"include_usage": True}
    return out


def response(body: dict[str, Any], *, requested_model: str) -> dict[str, Any]:
    """An Anthropic message as a chat.completion (thinking becomes `reasoning_content`)."""
    texts: list[str] = []
    thinking: list[str] = []
    calls: list[dict[str, Any]] = []
    for block in body.get("content") or []:
        kind = block.get("type") if isinstance(block, dict) else None
        if kind == "text":
            texts.append(block.get("text", ""))
        elif kind == "thinking":
            thinking.append(block.get("thinking", ""))
        elif kind == "tool_use":
            calls.append(
                {
                    "id": block.get("id", ""),
                    "type": "function",
                    "function": {
                        "name": block.get("name", ""),
                        "arguments": json.dumps(block.get("input") or {}),
                    },
                }
            )
    message: dict[str, Any] = {"role": "assistant", "content": "".join(texts) if texts or not calls else None}
    if thinking:
        message["reasoning_content"] = "".join(thinking)
    if calls:
        message["tool_calls"] = calls
    finish = STOP_TO_FINISH.get(body.get("stop_reason") or "end_turn", "stop")
    if calls and finish == "stop":
        finish = "tool_calls"
    rid = str(body.get("id") or new_id("msg_"))
    return {
        "id": "chatcmpl-" + rid.removeprefix("msg_"),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": requested_model,
        "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": None}],
        "usage": chat.usage_to_dict(anth.usage_from_body(body)),
    }
