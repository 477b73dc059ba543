"""Neutral events -> Gemini `streamGenerateContent?alt=sse` chunks (what Gemini CLI reads).

Gemini streams have no end marker: the last chunk carries `finishReason` and `usageMetadata`.
Function calls are whole parts with `args` as an object, so they are held until the end.
"""

from __future__ import annotations

from typing import Any

from gateway.protocols import gemini
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
from gateway.protocols.gemini_translate import function_call_part
from gateway.protocols.sse import encode

FINISH = {"end": "STOP", "tool": "STOP", "stop_sequence": "STOP", "length": "MAX_TOKENS", "filter": "SAFETY"}


class GeminiEmitter(Emitter):
    ID_PREFIX = ""

    def __init__(self, requested_model: str, **kw: Any) -> None:
        super().__init__(requested_model, **kw)
        self._tools: dict[str, Tool] = {}

    def _chunk(self, parts: list[dict[str, Any]], finish: str | None = None) -> bytes:
        candidate: dict[str, Any] = {"content": {"role": "model", "parts": parts}, "index": 0}
        if finish:
            candidate["finishReason"] = finish
        data: dict[str, Any] = {"candidates": [candidate], "modelVersion": self.model, "responseId": self._id}
        if finish:
            data["usageMetadata"] = gemini.usage_to_dict(self.usage)
        return encode(dumps(data))

    def handle(self, event: Event) -> bytes:
        if self.done:
            return b""
        if isinstance(event, Failed):
            self.done = True
            return gemini.stream_error(event.message, event.kind)
        if isinstance(event, Start):
            if event.usage:
                self.usage.merge(event.usage)
        elif isinstance(event, UsageSeen):
            self.usage.merge(event.usage)
        elif isinstance(event, Text):
            return self._chunk([{"text": event.text}])
        elif isinstance(event, Thinking) and event.text:
            return self._chunk([{"text": event.text, "thought": True}])
        elif isinstance(event, ToolStart | ToolArgs):
            return self._tool(event)
        elif isinstance(event, Finish):
            self._finish = self._finish or event
        elif isinstance(event, End):
            return self._end()
        return b""

    def _tool(self, event: ToolStart | ToolArgs) -> bytes:
        """Tool calls go out whole at the end, as one functionCall part each."""
        if isinstance(event, ToolStart):
            self._tools.setdefault(event.key, Tool(event.id, event.name))
        elif event.key not in self._tools:
            return self.handle(Failed("tool arguments arrived before the tool call (chunk out of order)"))
        else:
            self._tools[event.key].args.append(event.delta)
        return b""

    def _end(self) -> bytes:
        parts = []
        for tool in self._tools.values():
            args = parse_args("".join(tool.args))
            if args is None:
                return self.handle(
                    Failed(f"the model's call to tool {tool.name!r} has arguments that are not a JSON object")
                )
            parts.append(function_call_part(tool.id, tool.name, args))
        self.done = True
        return self._chunk(
            parts or [{"text": ""}], FINISH.get((self._finish or Finish("end")).reason, "STOP")
        )
