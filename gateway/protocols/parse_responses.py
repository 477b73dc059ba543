"""Responses SSE (an upstream speaking /responses) -> neutral events.

Real servers differ in which events carry the content:
- OpenAI streams `.delta` events and repeats the whole value in `.done` events;
- LM Studio sends function-call arguments only in `response.function_call_arguments.done`
  and `response.output_item.done` (no `.delta`);
- GitHub Copilot gives every event of one item a new `item_id`, so items are keyed by
  `output_index` (stable across an item's events) and only fall back to the id without it.
A `.done` value is used only when no `.delta` of that item came before, so nothing doubles.
"""

from __future__ import annotations

from typing import Any

from gateway.protocols import responses as resp
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
    loads_or_none,
    new_id,
    text_of,
)
from gateway.protocols.sse import SSEEvent
from gateway.protocols.stream_parsers import Parser
from gateway.protocols.upstream_errors import failed

TERMINAL = ("response.completed", "response.incomplete", "response.failed")
TEXT_DELTA = "response.output_text.delta"
THINK_DELTA = ("response.reasoning_summary_text.delta", "response.reasoning_text.delta")
THINK_DONE = ("response.reasoning_summary_text.done", "response.reasoning_text.done")


def _key(data: dict[str, Any], item: dict[str, Any] | None = None) -> str:
    if isinstance(data.get("output_index"), int):
        return f"o{data['output_index']}"
    return str((item or {}).get("id") or data.get("item_id"))


class ResponsesParser(Parser):
    def __init__(self) -> None:
        super().__init__()
        self._started = False
        self._tools: set[str] = set()
        self._args_seen: set[str] = set()  # tool keys whose arguments already streamed
        self._streamed: set[str] = set()  # item keys whose text or reasoning already streamed
        self._saw_tool = False

    def _on(self, sse: SSEEvent, out: list[Event]) -> None:
        data = loads_or_none(sse.data)
        if not isinstance(data, dict):
            out.append(Failed(f"the upstream sent an event that is not JSON: {sse.data[:80]!r}"))
            return
        name = data.get("type") or sse.event
        if name == "error":
            out.append(failed(data))
            return
        if name in ("response.created", "response.in_progress") and not self._started:
            self._started = True
            r = data.get("response") or {}
            out.append(Start(id=str(r.get("id") or ""), model=str(r.get("model") or "")))
            return
        if not self._started:
            out.append(Failed(f"the upstream sent {name!r} before response.created (event out of order)"))
            return
        if name in TERMINAL:
            self._terminal(name, data.get("response") or {}, out)
        elif name.startswith("response.output_item."):
            self._item(name, data, data.get("item") or {}, out)
        elif name.startswith("response.function_call_arguments."):
            self._args(name, data, out)
        else:
            self._content(name, data, out)

    def _content(self, name: str, data: dict[str, Any], out: list[Event]) -> None:
        key = _key(data)
        if name == TEXT_DELTA or name in THINK_DELTA:
            if data.get("delta"):
                self._streamed.add(key)
                out.append(Text(data["delta"]) if name == TEXT_DELTA else Thinking(text=data["delta"]))
        elif name == "response.output_text.done" and key not in self._streamed and data.get("text"):
            self._streamed.add(key)
            out.append(Text(data["text"]))
        elif name in THINK_DONE and key not in self._streamed and data.get("text"):
            self._streamed.add(key)
            out.append(Thinking(text=data["text"]))

    def _item(self, name: str, data: dict[str, Any], item: dict[str, Any], out: list[Event]) -> None:
        key = _key(data, item)
        kind = item.get("type")
        if kind == "function_call":
            if key not in self._tools:
                self._tools.add(key)
                self._saw_tool = True
                out.append(ToolStart(key, item.get("call_id") or new_id("call_"), item.get("name", "")))
            if item.get("arguments") and key not in self._args_seen:
                self._args_seen.add(key)
                out.append(ToolArgs(key, item["arguments"]))
        elif name == "response.output_item.done" and key not in self._streamed:
            self._streamed.add(key)
            if kind == "message":
                text = text_of([p for p in item.get("content") or [] if isinstance(p, dict)])
                if text:
                    out.append(Text(text))
            elif kind == "reasoning":
                thought = text_of(item.get("summary")) or text_of(item.get("content"))
                if thought:
                    out.append(Thinking(text=thought))

    def _args(self, name: str, data: dict[str, Any], out: list[Event]) -> None:
        key = _key(data)
        if key not in self._tools:
            out.append(Failed("arguments for an unknown function call (event out of order)"))
        elif name.endswith(".delta") and data.get("delta"):
            self._args_seen.add(key)
            out.append(ToolArgs(key, data["delta"]))
        elif name.endswith(".done") and data.get("arguments") and key not in self._args_seen:
            self._args_seen.add(key)
            out.append(ToolArgs(key, data["arguments"]))

    def _terminal(self, name: str, r: dict[str, Any], out: list[Event]) -> None:
        if isinstance(r.get("usage"), dict):
            out.append(UsageSeen(resp.usage_from_dict(r["usage"])))
        if name == "response.failed":
            out.append(failed(r.get("error") or "the upstream response failed"))
            return
        if name == "response.incomplete":
            reason = (r.get("incomplete_details") or {}).get("reason")
            out.append(Finish("filter" if reason == "content_filter" else "length"))
        else:
            out.append(Finish("tool" if self._saw_tool else "end"))
        out.append(End())
