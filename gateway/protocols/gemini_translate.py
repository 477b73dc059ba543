"""Gemini generateContent <-> Chat Completions (requests) and Anthropic message -> Gemini (responses).

Gemini function calls often carry no id, and function responses are matched by name; Chat
needs ids that pair calls with results, so ids are made up deterministically (by position)
and responses take the oldest unanswered id of the same name. Gemini CLI's router side-call
asks for JSON output with `responseJsonSchema`: it becomes a Chat `response_format`.
"""

from __future__ import annotations

from typing import Any

from gateway.protocols import gemini
from gateway.protocols.anthropic import usage_from_body as anthropic_usage
from gateway.protocols.common import dumps, new_id
from gateway.protocols.thought_signatures import extra_content, split

MODES = {"AUTO": "auto", "ANY": "required", "NONE": "none", "VALIDATED": "auto"}
FINISH = {
    "end_turn": "STOP",
    "tool_use": "STOP",
    "stop_sequence": "STOP",
    "pause_turn": "STOP",
    "max_tokens": "MAX_TOKENS",
    "refusal": "SAFETY",
}


def lower_types(schema: Any) -> Any:
    """Gemini's OpenAPI-style schemas spell types in capitals ("OBJECT"); JSON Schema wants lowercase."""
    if isinstance(schema, list):
        return [lower_types(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {}
    for key, value in schema.items():
        if key == "type" and isinstance(value, str):
            out[key] = value.lower()
        elif key in ("properties", "$defs", "definitions") and isinstance(value, dict):
            out[key] = {k: lower_types(v) for k, v in value.items()}
        else:
            out[key] = lower_types(value) if isinstance(value, dict | list) else value
    return out


def _text(parts: Any) -> str:
    return "".join(p.get("text", "") for p in parts or [] if isinstance(p, dict) and not p.get("thought"))


def _model_turn(turn: int, parts: list[dict[str, Any]], open_calls: dict[str, list[str]]) -> dict[str, Any] | None:
    """A model turn as an assistant message; its function calls wait in `open_calls` for their responses.

    A part's `thoughtSignature` (bytes in Google's SDKs, which send them back as URL-safe base64)
    goes to Gemini's Chat endpoint in the standard base64 that endpoint sent.
    """
    msg: dict[str, Any] = {"role": "assistant", "content": _text(parts) or None}
    calls = []
    for n, part in enumerate(p for p in parts if "functionCall" in p):
        call = part["functionCall"] or {}
        call_id = call.get("id") or f"call_{turn}_{n}"
        open_calls.setdefault(call.get("name", ""), []).append(call_id)
        calls.append({"id": call_id, "type": "function",
                      "function": {"name": call.get("name", ""), "arguments": dumps(call.get("args") or {})}})
        sig = part.get("thoughtSignature")
        if isinstance(sig, str) and sig:  # dispatch keeps it for a Gemini model only
            calls[-1]["extra_content"] = extra_content(sig.replace("-", "+").replace("_", "/"))
    if calls:
        msg["tool_calls"] = calls
    return msg if msg["content"] is not None or calls else None


def _tool_message(fr: dict[str, Any], open_calls: dict[str, list[str]]) -> dict[str, Any]:
    """A functionResponse, answering the oldest open call of that name when it carries no id."""
    waiting = open_calls.get(fr.get("name", ""), [])
    call_id = fr.get("id") or (waiting[0] if waiting else new_id("call_"))
    if call_id in waiting:
        waiting.remove(call_id)
    response = fr.get("response")
    return {"role": "tool", "tool_call_id": call_id,
            "content": response if isinstance(response, str) else dumps(response or {})}


def _user_turn(parts: list[dict[str, Any]], open_calls: dict[str, list[str]], out: list[dict[str, Any]]) -> None:
    user_parts: list[dict[str, Any]] = []
    for part in parts:
        if "functionResponse" in part:
            out.append(_tool_message(part["functionResponse"] or {}, open_calls))
        elif "inlineData" in part:
            data = part["inlineData"] or {}
            url = f"data:{data.get('mimeType', 'image/png')};base64,{data.get('data', '')}"
            user_parts.append({"type": "image_url", "image_url": {"url": url}})
        elif isinstance(part.get("text"), str) and not part.get("thought"):
            user_parts.append({"type": "text", "text": part["text"]})
    if user_parts:
        only_text = all(p["type"] == "text" for p in user_parts)
        out.append({"role": "user", "content": "".join(p["text"] for p in user_parts) if only_text else user_parts})


def contents_to_messages(contents: list[Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    open_calls: dict[str, list[str]] = {}  # name -> ids waiting for a response
    for turn, content in enumerate(contents):
        if not isinstance(content, dict):
            continue
        parts = [p for p in content.get("parts") or [] if isinstance(p, dict)]
        if content.get("role") == "model":
            if (msg := _model_turn(turn, parts, open_calls)) is not None:
                out.append(msg)
        else:
            _user_turn(parts, open_calls, out)
    return out


def _tools(body: dict[str, Any]) -> list[dict[str, Any]]:
    tools = []
    for group in body.get("tools") or []:
        for decl in (group or {}).get("functionDeclarations") or []:
            params = (
                decl.get("parametersJsonSchema")
                or lower_types(decl.get("parameters"))
                or {"type": "object", "properties": {}}
            )
            fn = {"name": decl.get("name", ""), "parameters": params}
            if decl.get("description"):
                fn["description"] = decl["description"]
            tools.append({"type": "function", "function": fn})
    return tools


def _generation(config: dict[str, Any], out: dict[str, Any]) -> None:
    """generationConfig in Chat's names: sampling, output format, thinking budget as an effort."""
    for src, dst in (
        ("temperature", "temperature"),
        ("topP", "top_p"),
        ("maxOutputTokens", "max_tokens"),
        ("stopSequences", "stop"),
        ("seed", "seed"),
        ("presencePenalty", "presence_penalty"),
        ("frequencyPenalty", "frequency_penalty"),
    ):
        if config.get(src) is not None:
            out[dst] = config[src]
    schema = config.get("responseJsonSchema") or config.get("responseSchema")
    if schema is not None:
        out["response_format"] = {
            "type": "json_schema",
            "json_schema": {"name": "response", "schema": lower_types(schema)},
        }
    elif config.get("responseMimeType") == "application/json":
        out["response_format"] = {"type": "json_object"}
    thinking = config.get("thinkingConfig") if isinstance(config.get("thinkingConfig"), dict) else {}
    budget = thinking.get("thinkingBudget")
    if isinstance(budget, int) and budget > 0:
        out["reasoning_effort"] = "low" if budget < 4096 else "medium" if budget < 16384 else "high"


def request_to_chat(body: dict[str, Any], *, model: str, stream: bool = False) -> dict[str, Any]:
    messages: list[dict[str, Any]] = []
    system = body.get("systemInstruction") or body.get("system_instruction")
    if isinstance(system, dict) and _text(system.get("parts")):
        messages.append({"role": "system", "content": _text(system.get("parts"))})
    elif isinstance(system, str) and system:
        messages.append({"role": "system", "content": system})
    messages.extend(contents_to_messages(body.get("contents") or []))
    out: dict[str, Any] = {"model": model, "messages": messages}
    config = body.get("generationConfig") if isinstance(body.get("generationConfig"), dict) else {}
    _generation(config, out)
    tools = _tools(body)
    if tools:
        out["tools"] = tools
        fcc = (body.get("toolConfig") or {}).get("functionCallingConfig") or {}
        mode = MODES.get(str(fcc.get("mode", "")).upper())
        allowed = fcc.get("allowedFunctionNames") or []
        if mode == "required" and len(allowed) == 1:
            out["tool_choice"] = {"type": "function", "function": {"name": allowed[0]}}
        elif mode:
            out["tool_choice"] = mode
    if stream or body.get("stream"):
        out["stream"] = True
        out["stream_options"] = {"include_usage": True}
    return out


def function_call_part(call_id: str, name: str, args: dict[str, Any]) -> dict[str, Any]:
    """A functionCall part; a Gemini thought signature folded into the id becomes the part's `thoughtSignature`."""
    original, sig = split(call_id)
    part: dict[str, Any] = {"functionCall": {"id": original, "name": name, "args": args}}
    if sig:
        part["thoughtSignature"] = sig
    return part


def anthropic_to_gemini(msg: dict[str, Any], *, requested_model: str) -> dict[str, Any]:
    """An Anthropic message (the response hub) as a generateContent answer."""
    parts: list[dict[str, Any]] = []
    for block in msg.get("content") or []:
        kind = block.get("type") if isinstance(block, dict) else None
        if kind == "thinking" and block.get("thinking"):
            parts.append({"text": block["thinking"], "thought": True})
        elif kind == "text" and block.get("text"):
            parts.append({"text": block["text"]})
        elif kind == "tool_use":
            parts.append(function_call_part(block.get("id", ""), block.get("name", ""), block.get("input") or {}))
    candidate = {
        "content": {"role": "model", "parts": parts or [{"text": ""}]},
        "finishReason": FINISH.get(msg.get("stop_reason") or "end_turn", "STOP"),
        "index": 0,
    }
    return {
        "candidates": [candidate],
        "usageMetadata": gemini.usage_to_dict(anthropic_usage(msg)),
        "modelVersion": requested_model,
        "responseId": str(msg.get("id") or new_id("")),
    }
