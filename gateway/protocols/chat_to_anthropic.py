"""OpenAI Chat Completions -> Anthropic Messages: responses (a Chat upstream answering Claude
Code) and requests (a Chat endpoint routed to an Anthropic upstream).

Anthropic needs strictly alternating roles and tool results inside a user turn, so tool
messages and the user text after them fold into one user message.
"""

from __future__ import annotations

from typing import Any

from gateway.protocols import anthropic as anth
from gateway.protocols import openai_chat as chat
from gateway.protocols.anthropic_to_chat import ERROR_PREFIX
from gateway.protocols.common import content_parts, details_text, new_id, parse_args, text_of
from gateway.protocols.errors import UpstreamMalformed
from gateway.protocols.thinking import mint_signature
from gateway.protocols.thought_signatures import fold, signature_of

FINISH_TO_STOP = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "content_filter": "refusal",
}
EFFORT_BUDGET = {"minimal": 1024, "low": 2048, "medium": 8192, "high": 24576}
DEFAULT_MAX_TOKENS = 8192


def reasoning_of(message: dict[str, Any]) -> tuple[str, str | None]:
    """The reasoning text of a Chat message and the field it came in (DeepSeek vs OpenRouter)."""
    for name in ("reasoning_content", "reasoning"):
        value = message.get(name)
        if isinstance(value, str) and value:
            return value, name
    return "", None


def thinking_block(model: str, text: str, field: str | None, details: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "type": "thinking",
        "thinking": text,
        "signature": mint_signature(model, field=field, details=details),
    }


def response(body: dict[str, Any], *, requested_model: str, upstream_model: str = "") -> dict[str, Any]:
    """A chat.completion as an Anthropic message; tool arguments that are not JSON raise UpstreamMalformed."""
    choices = body.get("choices") or []
    if not choices or not isinstance(choices[0], dict):
        raise UpstreamMalformed("the upstream answer has no choices")
    choice = choices[0]
    message = choice.get("message") or {}
    content: list[dict[str, Any]] = []
    reasoning, field = reasoning_of(message)
    text, part_thinking = content_parts(message.get("content"))  # Magistral: content is a list of parts
    reasoning = reasoning or part_thinking
    details = message.get("reasoning_details") if isinstance(message.get("reasoning_details"), list) else []
    reasoning = reasoning or details_text(details)  # Snowflake Cortex: the text only in the details
    if reasoning or details:
        origin = upstream_model or str(body.get("model") or requested_model)
        content.append(thinking_block(origin, reasoning, field, details))
    if text:
        content.append({"type": "text", "text": text})
    shared = signature_of(message)  # Gemini 2.5 (2025): the signature on the message; it belongs to the first call
    for n, call in enumerate(message.get("tool_calls") or []):
        fn = call.get("function") or {}
        args = parse_args(fn.get("arguments"))
        if args is None:
            raise UpstreamMalformed(f"tool call {fn.get('name')!r} has arguments that are not a JSON object")
        sig = signature_of(call) or (shared if n == 0 else None)
        content.append(
            {
                "type": "tool_use",
                "id": fold(call.get("id") or new_id("toolu_"), sig),  # Gemini's thought signature, if any
                "name": fn.get("name", ""),
                "input": args,
            }
        )
    stop = FINISH_TO_STOP.get(choice.get("finish_reason") or "stop", "end_turn")
    if any(b["type"] == "tool_use" for b in content):
        stop = "tool_use" if stop == "end_turn" else stop
    if not content:
        content.append({"type": "text", "text": ""})
    rid = str(body.get("id") or "")
    return {
        "id": "msg_" + (rid.removeprefix("chatcmpl-") or new_id("")),
        "type": "message",
        "role": "assistant",
        "model": requested_model,
        "content": content,
        "stop_reason": stop,
        "stop_sequence": None,
        "usage": anth.usage_to_dict(chat.usage_from_body(body)),
    }


# --- requests ---------------------------------------------------------------------------


def _image_block(url: str) -> dict[str, Any]:
    if url.startswith("data:") and ";base64," in url:
        head, data = url[5:].split(";base64,", 1)
        return {
            "type": "image",
            "source": {"type": "base64", "media_type": head or "image/png", "data": data},
        }
    return {"type": "image", "source": {"type": "url", "url": url}}


def user_blocks(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []  # Anthropic refuses empty text blocks
    blocks: list[dict[str, Any]] = []
    for part in content or []:
        if not isinstance(part, dict):
            continue
        if part.get("type") == "text" and part.get("text"):
            blocks.append({"type": "text", "text": part["text"]})
        elif part.get("type") == "image_url":
            url = part.get("image_url")
            blocks.append(_image_block(url.get("url", "") if isinstance(url, dict) else str(url or "")))
        elif part.get("type") == "file":
            data = (part.get("file") or {}).get("file_data", "")
            if data.startswith("data:") and ";base64," in data:
                head, raw = data[5:].split(";base64,", 1)
                blocks.append(
                    {"type": "document", "source": {"type": "base64", "media_type": head, "data": raw}}
                )
    return blocks


def _assistant_blocks(msg: dict[str, Any]) -> list[dict[str, Any]]:
    """Reasoning fields are not carried: an Anthropic upstream rejects thinking it did not sign."""
    blocks: list[dict[str, Any]] = []
    text = text_of(msg.get("content"))
    if text:
        blocks.append({"type": "text", "text": text})
    for call in msg.get("tool_calls") or []:
        fn = call.get("function") or {}
        args = parse_args(fn.get("arguments"))
        blocks.append(
            {
                "type": "tool_use",
                "id": call.get("id", ""),
                "name": fn.get("name", ""),
                "input": args if args is not None else {},
            }
        )
    return blocks


def _tool_result(msg: dict[str, Any]) -> dict[str, Any]:
    text = text_of(msg.get("content"))
    block: dict[str, Any] = {"type": "tool_result", "tool_use_id": msg.get("tool_call_id", "")}
    if text.startswith(ERROR_PREFIX):
        block["is_error"] = True
        text = text[len(ERROR_PREFIX) :]
    block["content"] = text
    return block


def messages(chat_messages: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[str]]:
    """(Anthropic messages, system texts)."""
    system: list[str] = []
    out: list[dict[str, Any]] = []
    for msg in chat_messages:
        role = msg.get("role")
        if role in ("system", "developer"):
            system.append(text_of(msg.get("content")))
            continue
        if role == "assistant":
            new_role, blocks = "assistant", _assistant_blocks(msg)
        elif role in ("tool", "function"):
            new_role, blocks = "user", [_tool_result(msg)]
        else:
            new_role, blocks = "user", user_blocks(msg.get("content"))
        if not blocks:
            continue
        if out and out[-1]["role"] == new_role:
            out[-1]["content"].extend(blocks)
        else:
            out.append({"role": new_role, "content": blocks})
    return out, system


def tool_choice(choice: Any, parallel: Any) -> dict[str, Any] | None:
    out: dict[str, Any] | None
    if isinstance(choice, dict):
        out = {"type": "tool", "name": (choice.get("function") or {}).get("name", "")}
    else:
        out = {"auto": {"type": "auto"}, "required": {"type": "any"}, "none": {"type": "none"}}.get(choice)
    if parallel is False:
        out = dict(out or {"type": "auto"})
        if out["type"] != "none":
            out["disable_parallel_tool_use"] = True
    return out


def _tools(tools: list[Any]) -> list[dict[str, Any]]:
    """Chat function tools as Anthropic tools (an empty object schema when none was given)."""
    out = []
    for tool in tools:
        fn = tool.get("function") if isinstance(tool, dict) else None
        if isinstance(fn, dict):
            t: dict[str, Any] = {"name": fn.get("name", "")}
            if fn.get("description"):
                t["description"] = fn["description"]
            t["input_schema"] = fn.get("parameters") or {"type": "object", "properties": {}}
            out.append(t)
    return out


def request(body: dict[str, Any], *, model: str) -> dict[str, Any]:
    msgs, system = messages(body.get("messages") or [])
    out: dict[str, Any] = {"model": model}
    if system:
        out["system"] = "\n\n".join(s for s in system if s)
    out["messages"] = msgs
    max_tokens = body.get("max_completion_tokens") or body.get("max_tokens") or DEFAULT_MAX_TOKENS
    effort = body.get("reasoning_effort")
    if isinstance(body.get("reasoning"), dict):
        effort = body["reasoning"].get("effort", effort)
    budget = EFFORT_BUDGET.get(effort) if isinstance(effort, str) else None
    if budget:
        out["thinking"] = {"type": "enabled", "budget_tokens": budget}
        max_tokens = max(max_tokens, budget + 1024)
    else:
        for key in ("temperature", "top_p"):
            if isinstance(body.get(key), int | float):
                out[key] = min(float(body[key]), 1.0) if key == "temperature" else body[key]
    out["max_tokens"] = max_tokens
    stop = body.get("stop")
    if stop:
        out["stop_sequences"] = [stop] if isinstance(stop, str) else list(stop)
    tools = _tools(body.get("tools") or [])
    if tools:
        out["tools"] = tools
        choice = tool_choice(body.get("tool_choice"), body.get("parallel_tool_calls"))
        if choice:
            out["tool_choice"] = choice
    if isinstance(body.get("user"), str):
        out["metadata"] = {"user_id": body["user"]}
    if body.get("stream"):
        out["stream"] = True
    return out
