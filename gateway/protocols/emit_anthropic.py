"""Neutral events -> Anthropic Messages SSE.

Text and thinking stream live. Tool calls are held until the upstream finishes and then sent
as whole blocks (start, one `input_json_delta`, stop): only then can the arguments be checked
as JSON, and a partial object the SDKs cannot parse never reaches the client. `message_start`
always carries `usage` (zeros when the upstream reports it only at the end) and
`message_delta` carries the full usage, which is what Claude Code accounts from.
"""

from __future__ import annotations

from typing import Any

from gateway.protocols import anthropic as anth
from gateway.protocols.common import (
    Emitter,
    End,
    Event,
    Failed,
    Finish,
    Start,
    Text,
    Thinking,
    Tool,
    ToolArgs,
    ToolStart,
    UsageSeen,
    dumps,
    parse_args,
)
from gateway.protocols.sse import encode
from gateway.protocols.thinking import merge_details, mint_signature

STOP = {
    "end": "end_turn",
    "tool": "tool_use",
    "length": "max_tokens",
    "stop_sequence": "stop_sequence",
    "filter": "refusal",
}



class AnthropicEmitter(Emitter):
    ID_PREFIX = "msg_"

    def __init__(self, requested_model: str, **kw: Any) -> None:
        super().__init__(requested_model, **kw)
        self._index = -1
        self._open: str | None = None  # type of the open block
        self._sig: list[str] = []
        self._details: list[dict[str, Any]] = []
        self._field: str | None = None
        self._tools: dict[str, Tool] = {}

    def _ev(self, name: str, data: dict[str, Any]) -> bytes:
        return encode(dumps({"type": name, **data}), name)

    def _start(self, event: Start | None = None) -> bytes:
        if self._started:
            return b""
        self._started = True
        if event and event.id:
            self._id = (
                event.id if event.id.startswith("msg_") else "msg_" + event.id.removeprefix("chatcmpl-")
            )
        message = {
            "id": self._id,
            "type": "message",
            "role": "assistant",
            "model": self.model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": anth.usage_to_dict(self.usage),
        }
        return self._ev("message_start", {"message": message})

    def _open_block(self, kind: str, block: dict[str, Any]) -> bytes:
        out = self._close_block()
        self._index += 1
        self._open = kind
        return out + self._ev("content_block_start", {"index": self._index, "content_block": block})

    def _close_block(self) -> bytes:
        if self._open is None:
            return b""
        out = b""
        if self._open == "thinking":
            signature = "".join(self._sig)
            if not signature:
                signature = mint_signature(
                    self._upstream_model or self.model,
                    field=self._field,
                    details=merge_details(self._details),
                )
            out += self._ev(
                "content_block_delta",
                {"index": self._index, "delta": {"type": "signature_delta", "signature": signature}},
            )
            self._sig, self._details, self._field = [], [], None
        self._open = None
        return out + self._ev("content_block_stop", {"index": self._index})

    def handle(self, event: Event) -> bytes:
        if self.done:
            return b""
        if isinstance(event, Failed):
            self.done = True
            return anth.stream_error(event.message, event.kind)
        if isinstance(event, Start):
            self._upstream_model = self._upstream_model or event.model
            if event.usage:
                self.usage.merge(event.usage)
            return self._start(event)
        if isinstance(event, UsageSeen):
            self.usage.merge(event.usage)
            return b""
        out = self._start()
        if isinstance(event, Text):
            if self._open != "text":
                out += self._open_block("text", {"type": "text", "text": ""})
            return out + self._ev(
                "content_block_delta",
                {"index": self._index, "delta": {"type": "text_delta", "text": event.text}},
            )
        if isinstance(event, Thinking):
            return out + self._thinking(event)
        if isinstance(event, ToolStart | ToolArgs):
            return out + self._tool(event)
        if isinstance(event, Finish):
            self._finish = self._finish or event
            return out
        if isinstance(event, End):
            return out + self._end()
        return out

    def _tool(self, event: ToolStart | ToolArgs) -> bytes:
        """Tool calls are collected and sent whole at the end (their arguments must parse first)."""
        if isinstance(event, ToolStart):
            self._tools.setdefault(event.key, Tool(event.id, event.name))
            return b""
        tool = self._tools.get(event.key)
        if tool is None:
            return self.handle(Failed("tool arguments arrived before the tool call (chunk out of order)"))
        tool.args.append(event.delta)
        return b""

    def _thinking(self, event: Thinking) -> bytes:
        if event.redacted is not None:
            out = self._open_block("redacted_thinking", {"type": "redacted_thinking", "data": event.redacted})
            return out + self._close_block()
        out = b""
        if self._open != "thinking":
            out += self._open_block("thinking", {"type": "thinking", "thinking": "", "signature": ""})
        if event.origin_field:
            self._field = event.origin_field
        self._details.extend(event.details)
        if event.signature:
            self._sig.append(event.signature)
        if event.text:
            out += self._ev(
                "content_block_delta",
                {"index": self._index, "delta": {"type": "thinking_delta", "thinking": event.text}},
            )
        return out

    def _end(self) -> bytes:
        tools = []
        for tool in self._tools.values():
            raw = "".join(tool.args)
            if parse_args(raw) is None:
                return self.handle(
                    Failed(
                        f"the model's call to tool {tool.name!r} has arguments that are not a "
                        f"JSON object; the turn was cut off"
                    )
                )
            tools.append((tool, raw if raw.strip() else "{}"))
        out = self._close_block()
        for tool, raw in tools:
            out += self._open_block(
                "tool_use", {"type": "tool_use", "id": tool.id, "name": tool.name, "input": {}}
            )
            out += self._ev(
                "content_block_delta",
                {"index": self._index, "delta": {"type": "input_json_delta", "partial_json": raw}},
            )
            out += self._close_block()
        finish = self._finish or Finish("end")
        stop = STOP.get(finish.reason, "end_turn")
        if tools and stop == "end_turn":
            stop = "tool_use"
        delta = {
            "stop_reason": stop,
            "stop_sequence": finish.stop_sequence if stop == "stop_sequence" else None,
        }
        out += self._ev("message_delta", {"delta": delta, "usage": anth.usage_to_dict(self.usage)})
        out += self._ev("message_stop", {})
        self.done = True
        return out
