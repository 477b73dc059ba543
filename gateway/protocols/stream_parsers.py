"""Upstream SSE -> neutral events (see common.py), one parser per upstream dialect.

Parsers never raise on bad input: a chunk that is not JSON, an event out of order or a
stream cut before its end marker becomes a `Failed` event, after which the parser is inert.
"""

from __future__ import annotations

from typing import Any

from gateway.protocols import anthropic as anth
from gateway.protocols import openai_chat as chat
from gateway.protocols.common import (
    End,
    Event,
    Failed,
    Finish,
    Start,
    Text,
    Thinking,
    ToolArgs,
    ToolStart,
    UsageSeen,
    content_parts,
    details_text,
    dumps,
    loads_or_none,
    new_id,
)
from gateway.protocols.sse import SSEDecoder, SSEEvent
from gateway.protocols.thought_signatures import fold, signature_of
from gateway.protocols.upstream_errors import failed

CHAT_FINISH = {
    "stop": "end",
    "length": "length",
    "tool_calls": "tool",
    "function_call": "tool",
    "content_filter": "filter",
}
ANTHROPIC_STOP = {
    "end_turn": "end",
    "tool_use": "tool",
    "max_tokens": "length",
    "stop_sequence": "stop_sequence",
    "refusal": "filter",
    "pause_turn": "end",
    "model_context_window_exceeded": "length",
}
CUT = "the upstream stream ended before it finished"


class Parser:
    """Common driver: SSE decoding, the done flag, and failure on a cut stream."""

    def __init__(self) -> None:
        self._decoder = SSEDecoder()
        self.done = False  # an End or Failed was produced
        self.finished = False  # the upstream said why it stopped (enough to end cleanly without a marker)

    def feed(self, chunk: bytes) -> list[Event]:
        return self._run(self._decoder.feed(chunk))

    def close(self, reason: str | None = None) -> list[Event]:
        message = reason or CUT
        events = self._run(self._decoder.flush())
        if events and isinstance(events[-1], Failed):  # an event cut in the middle is a cut stream
            events[-1] = Failed(message, "api_error")
        if not self.done:
            self.done = True
            events.append(End() if self._lenient_end() and not reason else Failed(message, "api_error"))
        return events

    def _lenient_end(self) -> bool:
        return False

    def _run(self, sses: list[SSEEvent]) -> list[Event]:
        out: list[Event] = []
        for sse in sses:
            if self.done:
                break
            try:
                self._on(sse, out)
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                out.append(Failed(f"malformed upstream event ({type(exc).__name__}: {exc})"))
            if out and isinstance(out[-1], End | Failed):
                self.done = True
        return out

    def _on(self, sse: SSEEvent, out: list[Event]) -> None:
        raise NotImplementedError


class ChatParser(Parser):
    """Chat Completions chunks. The usage chunk comes after finish_reason, so End waits for [DONE]."""

    def __init__(self) -> None:
        super().__init__()
        self._started = False
        self._names: dict[str, bool] = {}
        self._pending_args: dict[str, list[str]] = {}
        self._ids: dict[str, str] = {}  # tool key -> call id
        self._keys: dict[str, str] = {}  # upstream index -> the tool key it currently means
        self._sigs: dict[str, str] = {}  # tool key -> Gemini's thought signature, folded into the id

    def _lenient_end(self) -> bool:
        return self.finished and not self._pending_args  # some providers omit [DONE]

    def _on(self, sse: SSEEvent, out: list[Event]) -> None:
        if sse.data.strip() == "[DONE]":
            if self._pending_args:
                out.append(Failed("a tool call in the upstream stream never got a name"))
                return
            if not self.finished:
                out.append(Finish("end"))
            out.append(End())
            return
        data = loads_or_none(sse.data)
        if not isinstance(data, dict):
            out.append(Failed(f"the upstream sent a chunk that is not JSON: {sse.data[:80]!r}"))
            return
        if data.get("error"):
            out.append(failed(data["error"]))
            return
        if not self._started:
            self._started = True
            out.append(Start(id=str(data.get("id") or ""), model=str(data.get("model") or "")))
        choices = data.get("choices") or []
        choice = choices[0] if choices and isinstance(choices[0], dict) else {}
        delta = choice.get("delta") or {}
        self._delta(delta, out)
        reason = choice.get("finish_reason")
        if reason == "error":  # OpenRouter: the provider failed mid-stream
            out.append(Failed("upstream error: the provider failed mid-stream (finish_reason=error)"))
            return
        if reason and not self.finished:
            self.finished = True
            out.append(Finish(CHAT_FINISH.get(reason, "end")))
        if isinstance(data.get("usage"), dict):
            out.append(UsageSeen(chat.usage_from_dict(data["usage"])))

    def _delta(self, delta: dict[str, Any], out: list[Event]) -> None:
        has_content = any(delta.get(k) for k in ("content", "tool_calls", "reasoning_content", "reasoning"))
        if self.finished and has_content:
            out.append(Failed("the upstream sent content after its finish_reason (chunk out of order)"))
            return
        plain = ""
        for name in ("reasoning_content", "reasoning"):
            if isinstance(delta.get(name), str) and delta[name]:
                plain = delta[name]
                out.append(Thinking(text=plain, origin_field=name))
                break
        details = delta.get("reasoning_details")
        if isinstance(details, list) and details:
            pieces = [d for d in details if isinstance(d, dict)]
            out.append(Thinking(text="" if plain else details_text(pieces), details=pieces))
        text, thinking = content_parts(delta.get("content"))
        if thinking:
            out.append(Thinking(text=thinking))
        if text:
            out.append(Text(text))
        shared = delta.get("extra_content")  # Gemini 2.5 (2025): the signature on the message, for its first call
        for position, call in enumerate(delta.get("tool_calls") or []):
            if shared and position == 0 and isinstance(call, dict) and "extra_content" not in call:
                call = {**call, "extra_content": shared}
            self._tool(position, call, out)

    def _tool(self, position: int, call: dict[str, Any], out: list[Event]) -> None:
        index = str(call.get("index", position))
        key = self._keys.get(index, index)
        fn = call.get("function") or {}
        call_id = call.get("id")
        if call_id and key in self._ids and self._ids[key] != call_id:
            key = self._keys[index] = f"{index}:{call_id}"  # a new call reusing the index (no `index` sent)
        if call_id:
            self._ids.setdefault(key, call_id)
        if "extra_content" in call and (sig := signature_of(call)):
            self._sigs[key] = sig
        if key not in self._names:
            if not fn.get("name"):
                if fn.get("arguments"):
                    self._pending_args.setdefault(key, []).append(fn["arguments"])
                return
            self._names[key] = True
            tool_id = fold(self._ids.get(key) or new_id("call_"), self._sigs.get(key))
            out.append(ToolStart(key, tool_id, fn["name"]))
            for piece in self._pending_args.pop(key, []):
                out.append(ToolArgs(key, piece))
        if isinstance(fn.get("arguments"), str) and fn["arguments"]:
            out.append(ToolArgs(key, fn["arguments"]))


class AnthropicParser(Parser):
    def __init__(self) -> None:
        super().__init__()
        self._started = False
        self._blocks: dict[int, str] = {}

    def _on(self, sse: SSEEvent, out: list[Event]) -> None:
        data = loads_or_none(sse.data) if sse.data else None
        name = sse.event if sse.event != "message" else (data or {}).get("type", "")
        if name == "ping" or not sse.data:
            return
        if not isinstance(data, dict):
            out.append(Failed(f"the upstream sent an event that is not JSON: {sse.data[:80]!r}"))
            return
        if name == "error":
            out.append(failed(data.get("error")))
            return
        if name == "message_start":
            self._started = True
            msg = data.get("message") or {}
            usage = anth.usage_from_event(name, data)
            out.append(Start(id=str(msg.get("id") or ""), model=str(msg.get("model") or ""), usage=usage))
            return
        if not self._started:
            out.append(Failed(f"the upstream sent {name!r} before message_start (event out of order)"))
            return
        if name == "content_block_start":
            self._block_start(int(data["index"]), data.get("content_block") or {}, out)
        elif name == "content_block_delta":
            self._block_delta(int(data["index"]), data.get("delta") or {}, out)
        elif name == "message_delta":
            self._message_delta(data, out)
        elif name == "message_stop":
            if not self.finished:
                out.append(Finish("end"))
            out.append(End())

    def _message_delta(self, data: dict[str, Any], out: list[Event]) -> None:
        delta = data.get("delta") or {}
        if delta.get("stop_reason"):
            self.finished = True
            out.append(Finish(ANTHROPIC_STOP.get(delta["stop_reason"], "end"), delta.get("stop_sequence")))
        usage = anth.usage_from_event("message_delta", data)
        if usage:
            out.append(UsageSeen(usage))

    def _block_start(self, index: int, block: dict[str, Any], out: list[Event]) -> None:
        kind = block.get("type", "")
        self._blocks[index] = kind
        if kind == "text" and block.get("text"):
            out.append(Text(block["text"]))
        elif kind == "thinking" and (block.get("thinking") or block.get("signature")):
            out.append(Thinking(text=block.get("thinking", ""), signature=block.get("signature", "")))
        elif kind == "redacted_thinking":
            out.append(Thinking(redacted=block.get("data", "")))
        elif kind == "tool_use":  # not server_tool_use: Anthropic ran that tool itself (web search, code)
            out.append(ToolStart(str(index), block.get("id") or new_id("toolu_"), block.get("name", "")))
            if block.get("input"):
                out.append(ToolArgs(str(index), dumps(block["input"])))

    def _block_delta(self, index: int, delta: dict[str, Any], out: list[Event]) -> None:
        if index not in self._blocks:
            out.append(Failed(f"the upstream sent a delta for block {index} before its start (out of order)"))
            return
        kind = delta.get("type")
        if kind == "text_delta" and delta.get("text"):
            out.append(Text(delta["text"]))
        elif kind == "thinking_delta" and delta.get("thinking"):
            out.append(Thinking(text=delta["thinking"]))
        elif kind == "signature_delta" and delta.get("signature"):
            out.append(Thinking(signature=delta["signature"]))
        elif kind == "input_json_delta" and delta.get("partial_json") and self._blocks[index] == "tool_use":
            out.append(ToolArgs(str(index), delta["partial_json"]))
