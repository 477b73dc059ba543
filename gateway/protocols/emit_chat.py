"""Neutral events -> Chat Completions SSE.

The first chunk carries the role; tool calls stream by index with id, type and name on their
first delta (what the openai SDKs' accumulators expect); the finish chunk is followed by a
usage chunk with empty `choices` and `[DONE]`. Thinking goes out as `reasoning_content`.
"""

from __future__ import annotations

from typing import Any

from gateway.protocols import openai_chat as chat
from gateway.protocols.common import (
    Emitter,
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
    dumps,
    parse_args,
)
from gateway.protocols.sse import encode

FINISH = {
    "end": "stop",
    "stop_sequence": "stop",
    "tool": "tool_calls",
    "length": "length",
    "filter": "content_filter",
}


class ChatEmitter(Emitter):
    ID_PREFIX = "chatcmpl-"

    def __init__(self, requested_model: str, **kw: Any) -> None:
        super().__init__(requested_model, **kw)
        self._tools: dict[str, int] = {}
        self._args: dict[str, list[str]] = {}
        self._names: dict[str, str] = {}

    def _chunk(self, delta: dict[str, Any], finish: str | None = None) -> bytes:
        data = {
            "id": self._id,
            "object": "chat.completion.chunk",
            "created": self._created,
            "model": self.model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}],
        }
        return encode(dumps(data))

    def _start(self, event: Start | None = None) -> bytes:
        if self._started:
            return b""
        self._started = True
        if event and event.id:
            self._id = (
                event.id if event.id.startswith("chatcmpl-") else "chatcmpl-" + event.id.removeprefix("msg_")
            )
        return self._chunk({"role": "assistant", "content": ""})

    def handle(self, event: Event) -> bytes:
        if self.done:
            return b""
        if isinstance(event, Failed):
            self.done = True
            return chat.stream_error(event.message, event.kind, event.code)
        if isinstance(event, Start):
            if event.usage:
                self.usage.merge(event.usage)
            return self._start(event)
        if isinstance(event, UsageSeen):
            self.usage.merge(event.usage)
            return b""
        out = self._start()
        if isinstance(event, Text):
            return out + self._chunk({"content": event.text})
        if isinstance(event, Thinking):
            return out + (self._chunk({"reasoning_content": event.text}) if event.text else b"")
        if isinstance(event, ToolStart):
            return out + self._tool_start(event)
        if isinstance(event, ToolArgs):
            return out + self._tool_args(event)
        if isinstance(event, Finish):
            self._finish = self._finish or event
            return out
        if isinstance(event, End):
            return out + self._end()
        return out

    def _tool_start(self, event: ToolStart) -> bytes:
        if event.key in self._tools:
            return b""
        index = self._tools[event.key] = len(self._tools)
        self._args[event.key] = []
        self._names[event.key] = event.name
        call = {
            "index": index,
            "id": event.id,
            "type": "function",
            "function": {"name": event.name, "arguments": ""},
        }
        return self._chunk({"tool_calls": [call]})

    def _tool_args(self, event: ToolArgs) -> bytes:
        if event.key not in self._tools:
            return self.handle(Failed("tool arguments arrived before the tool call (chunk out of order)"))
        self._args[event.key].append(event.delta)
        return self._chunk({"tool_calls": [{"index": self._tools[event.key], "function": {"arguments": event.delta}}]})

    def _end(self) -> bytes:
        for key, pieces in self._args.items():
            if parse_args("".join(pieces)) is None:
                return self.handle(
                    Failed(
                        f"the model's call to tool {self._names[key]!r} has arguments that are "
                        f"not a JSON object"
                    )
                )
        reason = FINISH.get((self._finish or Finish("end")).reason, "stop")
        if self._tools and reason == "stop":
            reason = "tool_calls"
        out = self._chunk({}, reason)
        usage = {
            "id": self._id,
            "object": "chat.completion.chunk",
            "created": self._created,
            "model": self.model,
            "choices": [],
            "usage": chat.usage_to_dict(self.usage),
        }
        out += encode(dumps(usage)) + encode("[DONE]")
        self.done = True
        return out
