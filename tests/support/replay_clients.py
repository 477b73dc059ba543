"""Ask the gateway through each official SDK and read the answer back as an `Answer`.

One function per client dialect and mode; an SDK exception becomes `Answer(error=...)`, so a
recorded error must surface as an error, never as an empty "success".
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import anthropic
import openai
from support.replay_expect import ANTHROPIC_STOP, CHAT_STOP, Answer

ASK = "hi"
GEMINI_STOP = {"STOP": "end", "MAX_TOKENS": "length", "SAFETY": "filter"}


def _args(raw: Any) -> Any:
    if isinstance(raw, dict):
        return raw
    return json.loads(raw) if raw and str(raw).strip() else {}


@cache
def _anthropic(base: str) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=base, api_key="x", max_retries=0)


@cache
def _openai(base: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=base + "/v1", api_key="x", max_retries=0)


@cache
def _genai(base: str) -> Any:
    from google import genai
    from google.genai import types

    return genai.Client(api_key="x", http_options=types.HttpOptions(base_url=base, api_version="v1beta",
                                                                     retry_options=None))


def ask_anthropic(base: str, model: str, stream: bool) -> Answer:
    client = _anthropic(base)
    kw: dict[str, Any] = {"model": model, "max_tokens": 256, "messages": [{"role": "user", "content": ASK}]}
    try:
        if stream:
            with client.messages.stream(**kw) as s:
                msg = s.get_final_message()
        else:
            msg = client.messages.create(**kw)
    except anthropic.APIError as exc:
        return Answer(error=str(exc))
    a = Answer(stop=ANTHROPIC_STOP.get(msg.stop_reason or "end_turn", "end"))
    for block in msg.content:
        if block.type == "text":
            a.text += block.text
        elif block.type == "thinking":
            a.reasoning += block.thinking
        elif block.type == "tool_use":
            a.tools.append((block.name, block.input))
            a.tool_ids.append(block.id)
    u = msg.usage
    read, write = u.cache_read_input_tokens or 0, u.cache_creation_input_tokens or 0
    a.usage = {"input": u.input_tokens + read + write, "output": u.output_tokens, "cache_read": read}
    a.cache_write = write
    return a


def _chat_content(a: Answer, content: Any) -> None:
    """Chat content as sent; a pass-through keeps Magistral's list of parts as the provider sent it."""
    if isinstance(content, str):
        a.text += content
        return
    for part in content or []:
        if part.get("type") == "thinking":
            a.reasoning += "".join(p.get("text", "") for p in part.get("thinking") or [])
        elif isinstance(part.get("text"), str):
            a.text += part["text"]


def _chat_usage(u: Any) -> dict[str, int]:
    raw = u.model_dump() if u is not None else {}
    details = raw.get("prompt_tokens_details") or {}
    read = details.get("cached_tokens") or raw.get("prompt_cache_hit_tokens") or raw.get("cached_tokens") or 0
    return {"input": raw.get("prompt_tokens") or 0, "output": raw.get("completion_tokens") or 0, "cache_read": read}


def _reasoning(obj: Any) -> str:
    """`reasoning_content` or `reasoning`, else the text of `reasoning_details` (as a Chat client reads it)."""
    extra = obj.model_extra or {}
    value = extra.get("reasoning_content") or extra.get("reasoning")
    if isinstance(value, str) and value:
        return value
    details = extra.get("reasoning_details") if isinstance(extra.get("reasoning_details"), list) else []
    return "".join(d.get("text") or d.get("summary") or "" for d in details if isinstance(d, dict))


def ask_chat(base: str, model: str, stream: bool) -> Answer:
    client = _openai(base)
    kw: dict[str, Any] = {"model": model, "messages": [{"role": "user", "content": ASK}]}
    a = Answer()
    try:
        if not stream:
            done = client.chat.completions.create(**kw)
            msg = done.choices[0].message
            _chat_content(a, msg.content)
            a.reasoning += _reasoning(msg)
            a.tools = [(c.function.name, _args(c.function.arguments)) for c in msg.tool_calls or []]
            a.tool_ids = [c.id for c in msg.tool_calls or []]
            a.stop = CHAT_STOP.get(done.choices[0].finish_reason or "stop", "end")
            a.usage = _chat_usage(done.usage)
            return a
        calls: dict[int, list[str]] = {}  # index -> [name, arguments, id]
        for chunk in client.chat.completions.create(stream=True, stream_options={"include_usage": True}, **kw):
            if chunk.usage is not None:
                a.usage = _chat_usage(chunk.usage)
            for choice in chunk.choices:
                _chat_content(a, choice.delta.content)
                a.reasoning += _reasoning(choice.delta)
                for call in choice.delta.tool_calls or []:
                    slot = calls.setdefault(call.index, ["", "", ""])
                    slot[2] = slot[2] or call.id or ""
                    slot[0] += (call.function.name or "") if call.function and not slot[0] else ""
                    slot[1] += (call.function.arguments or "") if call.function else ""
                if choice.finish_reason:
                    a.stop = CHAT_STOP.get(choice.finish_reason, "end")
    except openai.APIError as exc:
        return Answer(error=str(exc))
    a.tools = [(name, _args(args)) for _, (name, args, _) in sorted(calls.items())]
    a.tool_ids = [call_id for _, (_, _, call_id) in sorted(calls.items())]
    return a


def _responses_final(a: Answer, r: Any) -> None:
    for item in r.output:
        if item.type == "function_call":
            a.tools.append((item.name, _args(item.arguments)))
            a.tool_ids.append(item.call_id)
    if r.usage is not None:
        read = r.usage.input_tokens_details.cached_tokens if r.usage.input_tokens_details else 0
        a.usage = {"input": r.usage.input_tokens, "output": r.usage.output_tokens, "cache_read": read or 0}
    if r.status == "incomplete":
        reason = r.incomplete_details.reason if r.incomplete_details else None
        a.stop = "filter" if reason == "content_filter" else "length"
    elif a.tools:
        a.stop = "tool"


def ask_responses(base: str, model: str, stream: bool) -> Answer:
    client = _openai(base)
    a = Answer()
    try:
        if not stream:
            r = client.responses.create(model=model, input=ASK)
            for item in r.output:
                if item.type == "message":
                    a.text += "".join(getattr(p, "text", "") or "" for p in item.content)
                elif item.type == "reasoning":
                    a.reasoning += "".join(p.text for p in item.summary or [])
                    a.reasoning += "".join(p.text for p in item.content or [])
            _responses_final(a, r)
            return a
        for ev in client.responses.create(model=model, input=ASK, stream=True):
            if ev.type == "response.output_text.delta":
                a.text += ev.delta
            elif ev.type in ("response.reasoning_summary_text.delta", "response.reasoning_text.delta"):
                a.reasoning += ev.delta
            elif ev.type in ("response.completed", "response.incomplete"):
                _responses_final(a, ev.response)
            elif ev.type == "response.failed":
                return Answer(error=ev.response.error.message if ev.response.error else "failed")
            elif ev.type == "error":
                return Answer(error=ev.message)
    except openai.APIError as exc:
        return Answer(error=str(exc))
    return a


def ask_gemini(base: str, model: str, stream: bool) -> Answer:
    from google.genai import errors

    client = _genai(base)
    a = Answer()
    try:
        if stream:
            chunks = list(client.models.generate_content_stream(model=model, contents=ASK))
        else:
            chunks = [client.models.generate_content(model=model, contents=ASK)]
    except errors.APIError as exc:
        return Answer(error=str(exc))
    for chunk in chunks:
        for cand in chunk.candidates or []:
            for part in (cand.content.parts if cand.content else None) or []:
                if part.function_call is not None:
                    a.tools.append((part.function_call.name, dict(part.function_call.args or {})))
                elif part.text and part.thought:
                    a.reasoning += part.text
                elif part.text:
                    a.text += part.text
            if cand.finish_reason is not None:
                a.stop = GEMINI_STOP.get(cand.finish_reason.value, "end")
        if chunk.usage_metadata is not None:
            m = chunk.usage_metadata
            a.usage = {"input": m.prompt_token_count or 0, "output": m.candidates_token_count or 0,
                       "cache_read": m.cached_content_token_count or 0}
    if a.tools and a.stop == "end":
        a.stop = "tool"  # Gemini has no "tool" finish reason: STOP with a functionCall part
    return a


ASK_BY_DIALECT = {"anthropic": ask_anthropic, "openai": ask_chat, "responses": ask_responses, "gemini": ask_gemini}
