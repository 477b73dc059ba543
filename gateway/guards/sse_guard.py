"""The guard on a pass-through stream: whole SSE events of the client's own dialect in, events out.

Same-dialect streams go to the client byte for byte (prefix caches and signatures depend on it),
so the guard works on the wire format: events that cannot concern a tool call pass untouched
(one substring test per chunk), a tool call's events are held until its arguments are complete,
then released unchanged, re-sent with repaired arguments, or replaced by a text block saying
what was blocked. Holding is bounded: past MAX_HELD_BYTES the call is released unjudged.

`wrap(translator, ...)` puts the guard in front of a `PassThrough` with the same interface the
relay drives (feed / close / done / failed / usage / started).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gateway.guards.policy import Decision, GuardSettings, Tally, judge
from gateway.protocols.common import dumps, loads_or_none
from gateway.protocols.sse import encode

MAX_HELD_BYTES = 4 * 1024 * 1024


def split_events(data: bytes) -> list[bytes]:
    """Whole SSE events (separator included); PassThrough only ever emits whole events."""
    data = data.replace(b"\r\n", b"\n")
    parts = data.split(b"\n\n")
    out = [p + b"\n\n" for p in parts[:-1] if p.strip()]
    if parts[-1].strip():
        out.append(parts[-1] + b"\n\n")
    return out


def event_type(name: str, text: str) -> str:
    """The SSE event name, or the JSON `type` when the stream names no events."""
    if name != "message":
        return name
    obj = loads_or_none(text)
    return str(obj.get("type", "")) if isinstance(obj, dict) else ""


def parse_event(raw: bytes) -> tuple[str, str]:
    name, data = "message", []
    for line in raw.decode("utf-8", "replace").split("\n"):
        if line.startswith("event:"):
            name = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].removeprefix(" "))
    return name, "\n".join(data)


class SSEGuard:
    MARKERS: tuple[bytes, ...] = ()
    DIALECT = ""

    def __init__(self, inner: Any, schemas: Mapping[str, Mapping[str, Any]], cfg: GuardSettings, tally: Tally) -> None:
        self.inner = inner
        self.schemas = schemas
        self.cfg = cfg
        self.tally = tally
        self.holding = False
        self.dirty = False  # a rewrite happened: later events may need rewriting too
        self.over = False  # a broken call ended the stream
        self.local_failure: str | None = None
        self.held: list[bytes] = []
        self.size = 0
        self.pre: list[bytes] | None = []  # opening events, held until the first content event (see first)

    # -- the translator interface the relay drives ---------------------------------------------
    @property
    def usage(self) -> Any:
        return self.inner.usage

    @property
    def started(self) -> bool:
        return self.inner.started

    @property
    def failed(self) -> str | None:
        return self.local_failure or self.inner.failed

    @failed.setter
    def failed(self, value: str | None) -> None:
        self.inner.failed = value

    @property
    def done(self) -> bool:
        return self.over or self.inner.done

    def feed(self, chunk: bytes) -> bytes:
        return self.filter(self.inner.feed(chunk))

    def close(self, reason: str | None = None) -> bytes:
        out = self.filter(self.inner.close(reason)) if not self.over else b""
        if self.held and not self.over:  # the stream ended inside a tool call: send what came
            out = b"".join(self.held) + out
            self.held = []
        if self.pre and not self.over:  # a stream of nothing but its opening events
            out = b"".join(self.pre) + out
        self.pre = None
        return out

    # -- filtering -------------------------------------------------------------------------
    def filter(self, data: bytes) -> bytes:
        if not data or self.over:
            return b""
        if self.pre is None and not self.holding and not self.dirty and not any(m in data for m in self.MARKERS):
            return data
        out = bytearray()
        for raw in split_events(data):
            if self.over:
                break
            name, text = parse_event(raw)
            if self.pre is None:
                out += self.on_event(raw, name, text)
            elif not text.strip() or self.opening(name, text):  # comments and keep-alives wait too
                self.pre.append(raw)
            else:
                out += self.first(raw, name, text)
        return bytes(out)

    def first(self, raw: bytes, name: str, text: str) -> bytes:
        """The first event with content: the opening events go out with it, unless it starts a held tool call.

        Holding the opening events (message_start, response.created, Chat's role chunk) until then
        means a tool call the answer starts with is judged before any byte reached the client, so an
        unrepairable one still lets the next model answer instead of ending in an error.
        """
        piece = self.on_event(raw, name, text)
        if self.over:
            self.pre = None
            return piece
        if not piece and self.holding:
            return b""
        pre, self.pre = self.pre or [], None
        return b"".join(pre) + piece

    def opening(self, name: str, text: str) -> bool:
        """An event that opens the answer without content of its own (per dialect)."""
        return False

    def hold(self, raw: bytes) -> bool:
        """Keep `raw`; False when the bound is passed (the caller releases unjudged)."""
        self.held.append(raw)
        self.size += len(raw)
        return self.size <= MAX_HELD_BYTES

    def release(self) -> bytes:
        out = b"".join(self.held)
        self.held, self.size, self.holding = [], 0, False
        return out

    def broken(self, d: Decision) -> bytes:
        from gateway.config.dialects import stream_error

        self.held, self.holding, self.over = [], False, True
        self.local_failure = d.explanation
        return stream_error(self.DIALECT, d.explanation)

    def on_event(self, raw: bytes, name: str, text: str) -> bytes:
        raise NotImplementedError


class AnthropicGuard(SSEGuard):
    MARKERS = (b'"tool_use"',)
    DIALECT = "anthropic"

    def opening(self, name: str, text: str) -> bool:
        return event_type(name, text) in ("message_start", "ping")

    def __init__(self, *a: Any) -> None:
        super().__init__(*a)
        self.cur: dict[str, Any] | None = None
        self.kept = 0
        self.blocked = 0

    def on_event(self, raw: bytes, name: str, text: str) -> bytes:
        obj = loads_or_none(text)
        if not isinstance(obj, dict):
            return self.release() + raw if self.holding else raw
        kind = obj.get("type")
        if self.cur is not None:
            if kind == "content_block_delta" and obj.get("index") == self.cur["index"]:
                self.cur["args"].append((obj.get("delta") or {}).get("partial_json") or "")
            if not self.hold(raw):
                self.cur = None
                return self.release()
            if kind == "content_block_stop" and obj.get("index") == self.cur["index"]:
                return self.resolve()
            return b""
        block = obj.get("content_block")
        if kind == "content_block_start" and isinstance(block, dict) and block.get("type") == "tool_use":
            self.cur = {"index": obj.get("index"), "block": block, "args": []}
            self.holding = True
            self.hold(raw)
            return b""
        if kind == "message_delta" and self.blocked and not self.kept:
            delta = obj.get("delta") or {}
            if delta.get("stop_reason") == "tool_use":
                obj["delta"] = {**delta, "stop_reason": "end_turn"}
                return encode(dumps(obj), name)
        return raw

    def resolve(self) -> bytes:
        cur, self.cur = self.cur, None
        assert cur is not None
        block, index = cur["block"], cur["index"]
        args = "".join(cur["args"])
        if not args.strip() and block.get("input"):
            args = dumps(block["input"])
        d = judge(str(block.get("name")), args, self.schemas, self.cfg)
        self.tally.add(str(block.get("name")), d)
        if d.action == "pass":
            self.kept += 1
            return self.release()
        if d.action == "broken":
            return self.broken(d)
        self.release()
        self.dirty = True
        if d.action == "repair":
            self.kept += 1
            start = {**block, "input": {}}
            delta = {"type": "input_json_delta", "partial_json": d.arguments}
        else:
            self.blocked += 1
            start = {"type": "text", "text": ""}
            delta = {"type": "text_delta", "text": d.explanation}
        return (encode(dumps({"type": "content_block_start", "index": index, "content_block": start}), "content_block_start")
                + encode(dumps({"type": "content_block_delta", "index": index, "delta": delta}), "content_block_delta")
                + encode(dumps({"type": "content_block_stop", "index": index}), "content_block_stop"))


class ChatGuard(SSEGuard):
    MARKERS = (b'"tool_calls"',)
    DIALECT = "openai"

    def opening(self, name: str, text: str) -> bool:
        obj = loads_or_none(text)
        choices = obj.get("choices") if isinstance(obj, dict) else None
        if not isinstance(choices, list) or len(choices) != 1 or not isinstance(choices[0], dict) or obj.get("usage"):
            return False
        delta = choices[0].get("delta")
        return not choices[0].get("finish_reason") and isinstance(delta, dict) and not any(
            v for k, v in delta.items() if k != "role")

    def __init__(self, *a: Any) -> None:
        super().__init__(*a)
        self.objs: list[dict[str, Any]] = []
        self.calls: dict[int, dict[str, Any]] = {}

    def on_event(self, raw: bytes, name: str, text: str) -> bytes:
        if text.strip() == "[DONE]":
            return (self.resolve() if self.holding else b"") + raw
        obj = loads_or_none(text)
        choices = obj.get("choices") if isinstance(obj, dict) else None
        choice = choices[0] if isinstance(choices, list) and choices and isinstance(choices[0], dict) else None
        delta = choice.get("delta") if choice else None
        tools = delta.get("tool_calls") if isinstance(delta, dict) else None
        if not self.holding and not tools:
            return raw
        self.holding = True
        assert isinstance(obj, dict)
        self.objs.append(obj)
        for tc in tools or ():
            if not isinstance(tc, dict):
                continue
            call = self.calls.setdefault(int(tc.get("index") or 0), {"id": None, "name": "", "args": []})
            fn = tc.get("function") or {}
            call["id"] = call["id"] or tc.get("id")
            call["name"] = call["name"] or fn.get("name") or ""
            call["args"].append(fn.get("arguments") or "")
            if tc.get("extra_content"):  # Gemini's thought signature: the next request needs it back
                call["extra"] = tc["extra_content"]
        if not self.hold(raw):
            self.objs, self.calls = [], {}
            return self.release()
        if choice and choice.get("finish_reason"):
            return self.resolve()
        return b""

    def resolve(self) -> bytes:
        decisions = []
        for call in self.calls.values():
            d = judge(call["name"], "".join(call["args"]), self.schemas, self.cfg)
            self.tally.add(call["name"], d)
            decisions.append((call, d))
        objs, self.objs, self.calls = self.objs, [], {}
        if all(d.action == "pass" for _, d in decisions):
            return self.release()
        broken = next((d for _, d in decisions if d.action == "broken"), None)
        if broken is not None:
            return self.broken(broken)
        self.release()
        return self.rebuild(objs, decisions)

    def rebuild(self, objs: list[dict[str, Any]], decisions: list[tuple[dict[str, Any], Decision]]) -> bytes:
        """The held chunks again: their text as it was, one chunk per kept call, text for blocked ones."""
        out = bytearray()
        base = {k: v for k, v in objs[0].items() if k not in ("choices", "usage")}
        last = objs[-1]
        for obj in objs[:-1]:
            delta = {k: v for k, v in obj["choices"][0].get("delta", {}).items() if k != "tool_calls"}
            if any(v for k, v in delta.items() if k != "role"):
                out += encode(dumps({**obj, "choices": [{**obj["choices"][0], "delta": delta}]}))
        kept = 0
        for call, d in decisions:
            if d.action == "block":
                piece: dict[str, Any] = {"content": d.explanation + "\n"}
            else:
                tool = {"index": kept, "id": call["id"], "type": "function",
                        "function": {"name": call["name"], "arguments": d.arguments}}
                piece = {"tool_calls": [{**tool, "extra_content": call["extra"]} if "extra" in call else tool]}
                kept += 1
            out += encode(dumps({**base, "choices": [{"index": 0, "delta": piece, "finish_reason": None}]}))
        choice = dict(last["choices"][0]) if last.get("choices") else {"index": 0}
        choice["delta"] = {k: v for k, v in (choice.get("delta") or {}).items() if k != "tool_calls"}
        if choice.get("finish_reason") == "tool_calls" and not kept:
            choice["finish_reason"] = "stop"
        out += encode(dumps({**last, "choices": [choice]}))
        return bytes(out)


def wrap(inner: Any, dialect: str, schemas: Mapping[str, Mapping[str, Any]], cfg: GuardSettings, tally: Tally) -> Any:
    """`inner` guarded for `dialect`, or `inner` itself when there is nothing to guard.

    A translating stream is guarded on its neutral events (its parser is wrapped); a
    pass-through one on the wire format of `dialect`.
    """
    from gateway.guards.events import EventGuard, GuardedParser
    from gateway.guards.sse_responses import ResponsesGuard
    from gateway.protocols.streams import StreamTranslator

    if not cfg.tools_on:
        return inner
    if isinstance(inner, StreamTranslator):
        inner._parser = GuardedParser(inner._parser, EventGuard(schemas, cfg, tally))
        return inner
    kinds = {"anthropic": AnthropicGuard, "openai": ChatGuard, "responses": ResponsesGuard}
    if dialect not in kinds:
        return inner
    return kinds[dialect](inner, schemas, cfg, tally)
