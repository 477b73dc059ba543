"""Responses API <-> Chat Completions requests, and Responses <-> Anthropic response bodies.

Requests from Codex (and Pi or Hermes in responses mode) carry the whole conversation as
`input` items. `previous_response_id` asks the server to remember an earlier turn, which a
translated upstream cannot do, so it is refused with a clear 400. Reasoning items the gateway
produced carry its signature in `encrypted_content`; it goes back to the provider as the
reasoning fields it wants (see thinking.py).
"""

from __future__ import annotations

import time
from typing import Any

from gateway.protocols import anthropic as anth
from gateway.protocols import responses as resp
from gateway.protocols.common import dumps, new_id, parse_args, text_of
from gateway.protocols.errors import TranslationError
from gateway.protocols.thinking import mint_signature, read_signature

EFFORTS = ("minimal", "low", "medium", "high")


def _parts(content: Any) -> str | list[dict[str, Any]]:
    if isinstance(content, str):
        return content
    parts: list[dict[str, Any]] = []
    for part in content or []:
        if not isinstance(part, dict):
            continue
        kind = part.get("type")
        if kind in ("input_text", "output_text", "text", "refusal"):
            parts.append({"type": "text", "text": part.get("text") or part.get("refusal") or ""})
        elif kind == "input_image" and isinstance(part.get("image_url"), str):
            parts.append({"type": "image_url", "image_url": {"url": part["image_url"]}})
        elif kind == "input_file" and isinstance(part.get("file_data"), str):
            parts.append(
                {
                    "type": "file",
                    "file": {"filename": part.get("filename") or "file", "file_data": part["file_data"]},
                }
            )
    if all(p["type"] == "text" for p in parts):
        return "".join(p["text"] for p in parts)
    return parts


def _output_text(output: Any) -> str:
    return (
        output if isinstance(output, str) else text_of(output) if isinstance(output, list) else dumps(output)
    )


class _Transcript:
    """Responses input items to Chat messages; a reasoning item waits for its assistant turn."""

    def __init__(self, model: str) -> None:
        self.model = model
        self.out: list[dict[str, Any]] = []
        self.reasoning: dict[str, Any] | None = None

    def assistant(self) -> dict[str, Any]:
        out = self.out
        if out and out[-1]["role"] == "assistant" and self.reasoning is None:
            return out[-1]
        msg: dict[str, Any] = {"role": "assistant", "content": None}
        if self.reasoning:
            msg.update(self.reasoning)
            self.reasoning = None
        out.append(msg)
        return msg

    def message(self, item: dict[str, Any]) -> None:
        role = item.get("role", "user")
        if role == "assistant":
            msg = self.assistant()
            text = _parts(item.get("content"))
            msg["content"] = (msg["content"] or "") + (text if isinstance(text, str) else text_of(text))
        else:
            self.out.append({"role": "system" if role == "developer" else role, "content": _parts(item.get("content"))})

    def call(self, item: dict[str, Any], kind: str) -> None:
        arguments = item.get("arguments") or "{}" if kind == "function_call" else dumps({"input": item.get("input", "")})
        self.assistant().setdefault("tool_calls", []).append(
            {
                "id": item.get("call_id", ""),
                "type": "function",
                "function": {"name": item.get("name", ""), "arguments": arguments},
            }
        )

    def thought(self, item: dict[str, Any]) -> None:
        payload = read_signature(item.get("encrypted_content"))
        if payload and payload["m"] == self.model:  # only the model that reasoned gets its reasoning back
            self.reasoning = {}
            if payload.get("rd"):
                self.reasoning["reasoning_details"] = payload["rd"]
            if payload.get("f"):
                self.reasoning[payload["f"]] = text_of(item.get("summary"))


def input_to_messages(items: list[Any], model: str = "") -> list[dict[str, Any]]:
    t = _Transcript(model)
    for item in items:
        if not isinstance(item, dict):
            continue
        kind = item.get("type", "message")
        if kind == "message":
            t.message(item)
        elif kind in ("function_call", "custom_tool_call"):
            t.call(item, kind)
        elif kind in ("function_call_output", "custom_tool_call_output"):
            t.out.append({"role": "tool", "tool_call_id": item.get("call_id", ""),
                          "content": _output_text(item.get("output"))})
        elif kind == "reasoning":
            t.thought(item)
    return t.out


TOOL_TYPES = ("function", "custom")
CUSTOM_PARAMETERS = {
    "type": "object",
    "properties": {
        "input": {"type": "string", "description": "The raw input, in the format the description gives."}
    },
    "required": ["input"],
}


def _chat_tool(tool: dict[str, Any]) -> dict[str, Any]:
    """A function tool; a freeform `custom` tool (Codex's apply_patch) takes its text as `{"input": ...}`,
    the same shape as Codex's own JSON variant of that tool, so the call it gets back is one it handles."""
    if tool.get("type") == "custom":
        params: dict[str, Any] = CUSTOM_PARAMETERS
        description = tool.get("description") or ""
        fmt = tool.get("format") if isinstance(tool.get("format"), dict) else {}
        if fmt.get("type") == "grammar" and isinstance(fmt.get("definition"), str):
            description += (
                f"\n\nThe input must follow this {fmt.get('syntax', '')} grammar:\n{fmt['definition']}"
            )
        fn: dict[str, Any] = {"name": tool.get("name", ""), "description": description, "parameters": params}
        return {"type": "function", "function": fn}
    fn = {
        k: v
        for k, v in (
            ("name", tool.get("name", "")),
            ("description", tool.get("description")),
            ("parameters", tool.get("parameters") or {"type": "object", "properties": {}}),
            ("strict", tool.get("strict")),
        )
        if v is not None
    }
    return {"type": "function", "function": fn}


def _tool_choice(choice: Any) -> Any:
    if isinstance(choice, dict):
        if choice.get("type") == "function":
            return {"type": "function", "function": {"name": choice.get("name", "")}}
        return None
    return choice if choice in ("auto", "required", "none") else None


def _reasoning_and_format(body: dict[str, Any], out: dict[str, Any]) -> None:
    """Responses' `reasoning.effort` and `text.format` in their Chat spellings."""
    effort = (body.get("reasoning") or {}).get("effort") if isinstance(body.get("reasoning"), dict) else None
    if effort in EFFORTS:
        out["reasoning_effort"] = effort
    fmt = (body.get("text") or {}).get("format") if isinstance(body.get("text"), dict) else None
    if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
        out["response_format"] = {
            "type": "json_schema",
            "json_schema": {k: fmt[k] for k in ("name", "schema", "strict", "description") if k in fmt},
        }
    elif isinstance(fmt, dict) and fmt.get("type") == "json_object":
        out["response_format"] = {"type": "json_object"}


def _chat_to_items(messages: list[Any]) -> tuple[list[str], list[dict[str, Any]]]:
    """Chat messages as Responses input items; system and developer text becomes instructions."""
    instructions: list[str] = []
    items: list[dict[str, Any]] = []
    for msg in messages:
        role = msg.get("role")
        if role in ("system", "developer"):
            instructions.append(text_of(msg.get("content")))
        elif role == "tool":
            items.append({"type": "function_call_output", "call_id": msg.get("tool_call_id", ""),
                          "output": text_of(msg.get("content"))})
        elif role == "assistant":
            items.extend(_assistant_items(msg))
        else:
            items.append({"type": "message", "role": "user", "content": _user_parts(msg.get("content"))})
    return instructions, items


def _assistant_items(msg: dict[str, Any]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    text = text_of(msg.get("content"))
    if text:
        items.append({"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": text}]})
    for call in msg.get("tool_calls") or []:
        fn = call.get("function") or {}
        items.append({"type": "function_call", "call_id": call.get("id", ""), "name": fn.get("name", ""),
                      "arguments": fn.get("arguments") or "{}"})
    return items


def _user_parts(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "input_text", "text": content}]
    return [
        {"type": "input_text", "text": p.get("text", "")}
        if p.get("type") == "text"
        else {"type": "input_image", "image_url": (p.get("image_url") or {}).get("url", "")}
        for p in content or []
        if isinstance(p, dict) and p.get("type") in ("text", "image_url")
    ]


def request_to_chat(body: dict[str, Any], *, model: str) -> dict[str, Any]:
    if body.get("previous_response_id"):
        raise TranslationError(
            "previous_response_id is not supported when the gateway translates to a Chat or Anthropic "
            "provider: send the whole conversation in `input` (for Codex: keep store=false, the default)"
        )
    messages: list[dict[str, Any]] = []
    if isinstance(body.get("instructions"), str) and body["instructions"]:
        messages.append({"role": "system", "content": body["instructions"]})
    inp = body.get("input")
    if isinstance(inp, str):
        messages.append({"role": "user", "content": inp})
    else:
        messages.extend(input_to_messages(inp or [], model))
    out: dict[str, Any] = {"model": model, "messages": messages}
    if body.get("max_output_tokens") is not None:
        out["max_tokens"] = body["max_output_tokens"]
    for key in ("temperature", "top_p", "parallel_tool_calls", "prompt_cache_key"):
        if body.get(key) is not None:
            out[key] = body[key]
    tools = [
        _chat_tool(t) for t in body.get("tools") or [] if isinstance(t, dict) and t.get("type") in TOOL_TYPES
    ]
    if tools:
        out["tools"] = tools
        choice = _tool_choice(body.get("tool_choice"))
        if choice is not None:
            out["tool_choice"] = choice
    _reasoning_and_format(body, out)
    user = body.get("safety_identifier") or body.get("user")
    if isinstance(user, str):
        out["user"] = user
    if body.get("stream"):
        out["stream"] = True
        out["stream_options"] = {"include_usage": True}
    return out


def chat_request_to_responses(body: dict[str, Any], *, model: str) -> dict[str, Any]:
    """For a provider that speaks only Responses: messages become input items, system becomes instructions."""
    instructions, items = _chat_to_items(body.get("messages") or [])
    out: dict[str, Any] = {"model": model, "input": items, "store": False}
    if instructions:
        out["instructions"] = "\n\n".join(instructions)
    if body.get("max_tokens") or body.get("max_completion_tokens"):
        out["max_output_tokens"] = body.get("max_completion_tokens") or body.get("max_tokens")
    for key in ("temperature", "top_p", "parallel_tool_calls", "prompt_cache_key", "user"):
        if body.get(key) is not None:
            out[key] = body[key]
    tools = [
        {"type": "function", **t["function"]}
        for t in body.get("tools") or []
        if isinstance(t, dict) and isinstance(t.get("function"), dict)
    ]
    if tools:
        out["tools"] = tools
        choice = body.get("tool_choice")
        if isinstance(choice, dict):
            choice = {"type": "function", "name": (choice.get("function") or {}).get("name", "")}
        if isinstance(choice, dict) or choice in ("auto", "required", "none"):
            out["tool_choice"] = choice
    if body.get("reasoning_effort"):
        out["reasoning"] = {"effort": body["reasoning_effort"]}
    if body.get("stream"):
        out["stream"] = True
    return out


# --- response bodies (Anthropic message is the hub) -------------------------------------


def anthropic_to_responses(msg: dict[str, Any], *, requested_model: str) -> dict[str, Any]:
    output: list[dict[str, Any]] = []
    texts: list[str] = []
    for block in msg.get("content") or []:
        kind = block.get("type") if isinstance(block, dict) else None
        if kind == "thinking":
            output.append(
                {
                    "id": new_id("rs_"),
                    "type": "reasoning",
                    "summary": [{"type": "summary_text", "text": block.get("thinking", "")}],
                    "encrypted_content": block.get("signature") or None,
                }
            )
        elif kind == "text":
            texts.append(block.get("text", ""))
        elif kind == "tool_use":
            output.append(
                {
                    "id": new_id("fc_"),
                    "type": "function_call",
                    "status": "completed",
                    "call_id": block.get("id", ""),
                    "name": block.get("name", ""),
                    "arguments": dumps(block.get("input") or {}),
                }
            )
    if texts:
        first_call = next((i for i, o in enumerate(output) if o["type"] == "function_call"), len(output))
        output.insert(
            first_call,
            {
                "id": new_id("msg_"),
                "type": "message",
                "status": "completed",
                "role": "assistant",
                "content": [{"type": "output_text", "text": "".join(texts), "annotations": []}],
            },
        )
    stop = msg.get("stop_reason")
    status = "incomplete" if stop in ("max_tokens", "refusal") else "completed"
    r = resp.response_object(new_id("resp_"), requested_model, status=status, created=int(time.time()))
    r["output"] = output
    if status == "incomplete":
        r["incomplete_details"] = {
            "reason": "max_output_tokens" if stop == "max_tokens" else "content_filter"
        }
    r["usage"] = resp.usage_to_dict(anth.usage_from_body(msg))
    return r


def responses_to_anthropic(
    body: dict[str, Any], *, requested_model: str, upstream_model: str = ""
) -> dict[str, Any]:
    """Reasoning items become thinking blocks signed like the streamed path signs them."""
    content: list[dict[str, Any]] = []
    for item in body.get("output") or []:
        kind = item.get("type") if isinstance(item, dict) else None
        if kind == "reasoning":
            thought = text_of(item.get("summary")) or text_of(item.get("content"))
            if thought:
                origin = upstream_model or str(body.get("model") or requested_model)
                content.append({"type": "thinking", "thinking": thought, "signature": mint_signature(origin)})
        elif kind == "message":
            text = text_of([p for p in item.get("content") or [] if isinstance(p, dict)])
            if text:
                content.append({"type": "text", "text": text})
        elif kind == "function_call":
            args = parse_args(item.get("arguments"))
            content.append(
                {
                    "type": "tool_use",
                    "id": item.get("call_id", ""),
                    "name": item.get("name", ""),
                    "input": args if args is not None else {},
                }
            )
    calls = any(b["type"] == "tool_use" for b in content)
    if body.get("status") == "incomplete":
        reason = (body.get("incomplete_details") or {}).get("reason")
        stop = "refusal" if reason == "content_filter" else "max_tokens"
    else:
        stop = "tool_use" if calls else "end_turn"
    return {
        "id": "msg_" + str(body.get("id") or new_id("")).removeprefix("resp_"),
        "type": "message",
        "role": "assistant",
        "model": requested_model,
        "content": content or [{"type": "text", "text": ""}],
        "stop_reason": stop,
        "stop_sequence": None,
        "usage": anth.usage_to_dict(resp.usage_from_body(body)),
    }
