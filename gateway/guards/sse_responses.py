"""The pass-through guard for OpenAI Responses streams (Codex, Pi's responses transport).

A function call arrives as output_item.added → function_call_arguments.delta… → .done →
output_item.done; the whole group is held and judged on output_item.done. A repaired call is
re-sent as the same four events with the fixed arguments; a blocked one as an assistant message
item. Once the stream was rewritten, later events get consecutive sequence numbers and the
final `response.completed` lists the replaced items, so SDKs that check either stay happy.
"""

from __future__ import annotations

from typing import Any

from gateway.guards.policy import Decision, judge
from gateway.guards.sse_guard import SSEGuard, event_type, parse_event, split_events
from gateway.protocols.common import dumps, loads_or_none
from gateway.protocols.sse import encode

TOOL_ITEMS = ("function_call", "local_shell_call")


class ResponsesGuard(SSEGuard):
    MARKERS = (b'"function_call"', b'"local_shell_call"')
    DIALECT = "responses"

    def __init__(self, *a: Any) -> None:
        super().__init__(*a)
        self.cur: dict[str, Any] | None = None
        self.seq: int | None = None  # the next sequence number to give, once rewriting
        self.replaced: dict[str, dict[str, Any]] = {}  # item id -> the item the client got instead

    def opening(self, name: str, text: str) -> bool:
        return event_type(name, text) in ("response.created", "response.in_progress", "response.queued")

    def on_event(self, raw: bytes, name: str, text: str) -> bytes:
        obj = loads_or_none(text)
        if not isinstance(obj, dict):
            return self.release() + raw if self.holding else raw
        kind = obj.get("type")
        if self.cur is not None:
            if kind == "response.function_call_arguments.delta":
                self.cur["args"].append(obj.get("delta") or "")
            if not self.hold(raw):
                self.cur = None
                return self.release()
            if kind == "response.output_item.done" and obj.get("output_index") == self.cur["index"]:
                return self.resolve(obj)
            return b""
        item = obj.get("item")
        if kind == "response.output_item.added" and isinstance(item, dict) and item.get("type") in TOOL_ITEMS:
            self.cur = {"index": obj.get("output_index"), "item": item, "args": [], "seq": obj.get("sequence_number")}
            self.holding = True
            self.hold(raw)
            return b""
        if not self.dirty:
            return raw
        if kind in ("response.completed", "response.incomplete", "response.failed") and self.replaced:
            resp = obj.get("response")
            if isinstance(resp, dict) and isinstance(resp.get("output"), list):
                resp["output"] = [self.replaced.get(i.get("id"), i) if isinstance(i, dict) else i
                                  for i in resp["output"]]
        return self.emit(obj, name)

    def emit(self, obj: dict[str, Any], name: str) -> bytes:
        if self.seq is not None and "sequence_number" in obj:
            obj["sequence_number"] = self.seq
            self.seq += 1
        return encode(dumps(obj), name if name != "message" else None)

    def resolve(self, done: dict[str, Any]) -> bytes:
        cur, self.cur = self.cur, None
        assert cur is not None
        item = done.get("item") if isinstance(done.get("item"), dict) else cur["item"]
        if item.get("type") == "local_shell_call":
            tool, args = "local_shell", dumps(item.get("action") or {})
        else:
            tool = str(item.get("name") or "")
            args = item.get("arguments") if isinstance(item.get("arguments"), str) else "".join(cur["args"])
        d = judge_call(self, tool, args)
        if d.action == "pass" or (d.action == "repair" and item.get("type") != "function_call"):
            return self.release() if not self.dirty else self.reemit()
        if d.action == "broken":
            return self.broken(d)
        self.release()
        self.dirty = True
        if self.seq is None:
            self.seq = cur["seq"] if isinstance(cur["seq"], int) else 0
        index = cur["index"]
        if d.action == "repair":
            fixed = {**item, "arguments": d.arguments}
            self.replaced[str(item.get("id"))] = fixed
            return self.repaired(index, fixed)
        message = {"id": f"msg_xx{item.get('id') or ''}", "type": "message", "role": "assistant",
                   "status": "completed",
                   "content": [{"type": "output_text", "text": d.explanation, "annotations": []}]}
        self.replaced[str(item.get("id"))] = message
        return self.blocked(index, message)

    def reemit(self) -> bytes:
        held = self.release()
        out = bytearray()
        for raw in split_events(held):
            name, text = parse_event(raw)
            obj = loads_or_none(text)
            out += self.emit(obj, name) if isinstance(obj, dict) else raw
        return bytes(out)

    def repaired(self, index: Any, item: dict[str, Any]) -> bytes:
        iid = item.get("id")
        return (self.emit({"type": "response.output_item.added", "sequence_number": 0, "output_index": index,
                           "item": {**item, "status": "in_progress", "arguments": ""}}, "response.output_item.added")
                + self.emit({"type": "response.function_call_arguments.delta", "sequence_number": 0, "item_id": iid,
                             "output_index": index, "delta": item["arguments"]},
                            "response.function_call_arguments.delta")
                + self.emit({"type": "response.function_call_arguments.done", "sequence_number": 0, "item_id": iid,
                             "output_index": index, "arguments": item["arguments"]},
                            "response.function_call_arguments.done")
                + self.emit({"type": "response.output_item.done", "sequence_number": 0, "output_index": index,
                             "item": item}, "response.output_item.done"))

    def blocked(self, index: Any, message: dict[str, Any]) -> bytes:
        iid, part = message["id"], message["content"][0]
        where = {"item_id": iid, "output_index": index, "content_index": 0}
        events = [
            ("response.output_item.added", {"output_index": index,
                                            "item": {**message, "status": "in_progress", "content": []}}),
            ("response.content_part.added", {**where, "part": {**part, "text": ""}}),
            ("response.output_text.delta", {**where, "delta": part["text"]}),
            ("response.output_text.done", {**where, "text": part["text"]}),
            ("response.content_part.done", {**where, "part": part}),
            ("response.output_item.done", {"output_index": index, "item": message}),
        ]
        return b"".join(self.emit({"type": k, "sequence_number": 0, **v}, k) for k, v in events)


def judge_call(guard: SSEGuard, tool: str, args: str) -> Decision:
    d = judge(tool, args, guard.schemas, guard.cfg)
    guard.tally.add(tool, d)
    return d

