"""Neutral events -> Responses API SSE (what Codex reads).

Output items are opened and closed in order: a reasoning item (its text as a summary, the
gateway's signature in `encrypted_content` so the reasoning can go back to the provider next
turn), a message item, then the function calls, sent whole once the upstream finishes and
their arguments are known to be JSON. Every event carries a rising `sequence_number`.
"""

from __future__ import annotations

from typing import Any

from gateway.protocols import responses as resp
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


class ResponsesEmitter(Emitter):
    ID_PREFIX = "resp_"

    def __init__(self, requested_model: str, **kw: Any) -> None:
        super().__init__(requested_model, **kw)
        self._seq = 0
        self._output: list[dict[str, Any]] = []
        self._item: dict[str, Any] | None = None  # the open item
        self._text: list[str] = []
        self._sig: list[str] = []
        self._details: list[dict[str, Any]] = []
        self._field: str | None = None
        self._tools: dict[str, Tool] = {}

    def _ev(self, name: str, data: dict[str, Any]) -> bytes:
        payload = {"type": name, "sequence_number": self._seq, **data}
        self._seq += 1
        return encode(dumps(payload), name)

    def _response(self, status: str) -> dict[str, Any]:
        r = resp.response_object(self._id, self.model, status=status, created=self._created)
        r["output"] = list(self._output) if status != "in_progress" else []
        return r

    def _start(self) -> bytes:
        if self._started:
            return b""
        self._started = True
        return self._ev("response.created", {"response": self._response("in_progress")}) + self._ev(
            "response.in_progress", {"response": self._response("in_progress")}
        )

    def _where(self) -> dict[str, Any]:
        assert self._item is not None
        return {"item_id": self._item["id"], "output_index": len(self._output)}

    def _open(self, item: dict[str, Any]) -> bytes:
        out = self._close()
        self._item = item
        out += self._ev("response.output_item.added", {"output_index": len(self._output), "item": item})
        if item["type"] == "message":
            part = {"type": "output_text", "text": "", "annotations": []}
            out += self._ev(
                "response.content_part.added", {**self._where(), "content_index": 0, "part": part}
            )
        elif item["type"] == "reasoning":
            part = {"type": "summary_text", "text": ""}
            out += self._ev(
                "response.reasoning_summary_part.added", {**self._where(), "summary_index": 0, "part": part}
            )
        return out

    def _close(self) -> bytes:
        item = self._item
        if item is None:
            return b""
        text = "".join(self._text)
        where = self._where()
        out = b""
        if item["type"] == "message":
            part = {"type": "output_text", "text": text, "annotations": []}
            out += self._ev(
                "response.output_text.done", {**where, "content_index": 0, "text": text, "logprobs": []}
            )
            out += self._ev("response.content_part.done", {**where, "content_index": 0, "part": part})
            item = {**item, "status": "completed", "content": [part]}
        elif item["type"] == "reasoning":
            part = {"type": "summary_text", "text": text}
            out += self._ev(
                "response.reasoning_summary_text.done", {**where, "summary_index": 0, "text": text}
            )
            out += self._ev(
                "response.reasoning_summary_part.done", {**where, "summary_index": 0, "part": part}
            )
            sig = "".join(self._sig) or mint_signature(
                self._upstream_model or self.model, field=self._field, details=merge_details(self._details)
            )
            item = {**item, "summary": [part], "encrypted_content": sig}
            self._sig, self._details, self._field = [], [], None
        out += self._ev("response.output_item.done", {"output_index": where["output_index"], "item": item})
        self._output.append(item)
        self._item, self._text = None, []
        return out

    def handle(self, event: Event) -> bytes:
        if self.done:
            return b""
        if isinstance(event, Failed):
            self.done = True
            return self._start() + resp.stream_error(
                event.message,
                event.kind,
                response_id=self._id,
                model=self.model,
                sequence_number=self._seq,
                code=event.code,
            )
        if isinstance(event, Start | UsageSeen) and event.usage:
            self.usage.merge(event.usage)
        if isinstance(event, Start):
            self._upstream_model = self._upstream_model or event.model
        out = self._start()
        if isinstance(event, Text):
            return out + self._on_text(event)
        if isinstance(event, Thinking):
            return out + self._on_thinking(event)
        if isinstance(event, ToolStart):
            self._tools.setdefault(event.key, Tool(event.id, event.name))
        elif isinstance(event, ToolArgs):
            if event.key not in self._tools:
                return self.handle(Failed("tool arguments arrived before the tool call (chunk out of order)"))
            self._tools[event.key].args.append(event.delta)
        elif isinstance(event, Finish):
            self._finish = self._finish or event
        elif isinstance(event, End):
            return out + self._end()
        return out

    def _on_text(self, event: Text) -> bytes:
        out = b""
        if self._item is None or self._item["type"] != "message":
            out += self._open(
                {
                    "id": self._ids("msg_"),
                    "type": "message",
                    "status": "in_progress",
                    "role": "assistant",
                    "content": [],
                }
            )
        self._text.append(event.text)
        return out + self._ev(
            "response.output_text.delta",
            {**self._where(), "content_index": 0, "delta": event.text, "logprobs": []},
        )

    def _on_thinking(self, event: Thinking) -> bytes:
        if event.redacted is not None:
            return b""
        out = b""
        if self._item is None or self._item["type"] != "reasoning":
            out += self._open({"id": self._ids("rs_"), "type": "reasoning", "summary": []})
        self._field = event.origin_field or self._field
        self._details.extend(event.details)
        if event.signature:
            self._sig.append(event.signature)
        if event.text:
            self._text.append(event.text)
            out += self._ev(
                "response.reasoning_summary_text.delta",
                {**self._where(), "summary_index": 0, "delta": event.text},
            )
        return out

    def _end(self) -> bytes:
        calls = []
        for tool in self._tools.values():
            raw = "".join(tool.args)
            if parse_args(raw) is None:
                return self.handle(
                    Failed(f"the model's call to tool {tool.name!r} has arguments that are not a JSON object")
                )
            calls.append((tool, raw if raw.strip() else "{}"))
        out = self._close()
        for tool, raw in calls:
            item = {
                "id": self._ids("fc_"),
                "type": "function_call",
                "status": "in_progress",
                "arguments": "",
                "call_id": tool.id,
                "name": tool.name,
            }
            out += self._open(item)
            where = self._where()
            out += self._ev("response.function_call_arguments.delta", {**where, "delta": raw})
            out += self._ev("response.function_call_arguments.done", {**where, "arguments": raw})
            done = {**item, "status": "completed", "arguments": raw}
            out += self._ev(
                "response.output_item.done", {"output_index": where["output_index"], "item": done}
            )
            self._output.append(done)
            self._item = None
        incomplete = (self._finish or Finish("end")).reason in ("length", "filter")
        r = self._response("incomplete" if incomplete else "completed")
        if incomplete:
            reason = (
                "content_filter" if self._finish and self._finish.reason == "filter" else "max_output_tokens"
            )
            r["incomplete_details"] = {"reason": reason}
        r["usage"] = resp.usage_to_dict(self.usage)
        out += self._ev("response.incomplete" if incomplete else "response.completed", {"response": r})
        self.done = True
        return out
