"""Reads usage out of a response as it passes by, without holding the stream.

`UsageTap.feed(chunk)` runs each chunk through an incremental SSE decoder and keeps only
the usage numbers, so the proxy can forward bytes the moment they arrive.
"""

from __future__ import annotations

from typing import Any

import orjson

from gateway.exchange import Usage
from gateway.protocols.sse import SSEDecoder


def from_body(protocol: str, body: dict[str, Any]) -> Usage:
    u = body.get("usage") if isinstance(body, dict) else None
    if protocol == "gemini":
        u = body.get("usageMetadata")
    if not isinstance(u, dict):
        return Usage()
    return from_usage(protocol, u)


def from_usage(protocol: str, u: dict[str, Any]) -> Usage:
    def n(d: Any, key: str) -> int:
        v = d.get(key) if isinstance(d, dict) else None
        return v if isinstance(v, int) else 0

    if protocol == "anthropic":
        read, write = n(u, "cache_read_input_tokens"), n(u, "cache_creation_input_tokens")
        return Usage(n(u, "input_tokens") + read + write, n(u, "output_tokens"), read, write, True)
    if protocol == "responses":
        return Usage(n(u, "input_tokens"), n(u, "output_tokens"), n(u.get("input_tokens_details"), "cached_tokens"), 0, True)
    if protocol == "gemini":
        return Usage(n(u, "promptTokenCount"), n(u, "candidatesTokenCount"), n(u, "cachedContentTokenCount"), 0, True)
    details = u.get("prompt_tokens_details")
    return Usage(
        n(u, "prompt_tokens"),
        n(u, "completion_tokens"),
        n(details, "cached_tokens"),
        n(details, "cache_write_tokens"),
        True,
    )


def from_event(protocol: str, data: dict[str, Any]) -> Usage | None:
    if protocol == "anthropic":
        if data.get("type") == "message_start":
            u = (data.get("message") or {}).get("usage")
        elif data.get("type") == "message_delta":
            u = data.get("usage")
        else:
            return None
        if not isinstance(u, dict):
            return None
        got = from_usage("anthropic", u)
        if data.get("type") == "message_delta" and "input_tokens" not in u:
            got.input = 0  # output-only update: keep the input seen at message_start
        return got
    if protocol == "responses":
        resp = data.get("response")
        if isinstance(resp, dict) and isinstance(resp.get("usage"), dict):
            return from_usage("responses", resp["usage"])
        return None
    if protocol == "gemini":
        u = data.get("usageMetadata")
        return from_usage("gemini", u) if isinstance(u, dict) else None
    u = data.get("usage")
    return from_usage("openai", u) if isinstance(u, dict) else None


class UsageTap:
    """Feed every chunk of an SSE body; `usage` accumulates what the stream reported."""

    __slots__ = ("_decoder", "error", "finished", "protocol", "usage")

    def __init__(self, protocol: str) -> None:
        self.protocol = protocol
        self.usage = Usage()
        self._decoder = SSEDecoder()
        self.finished = False  # saw the protocol's final event
        self.error: str | None = None  # an error event the upstream sent in-stream

    def feed(self, chunk: bytes) -> None:
        for ev in self._decoder.feed(chunk):
            self._event(ev.event, ev.data)

    def close(self) -> None:
        for ev in self._decoder.flush():
            self._event(ev.event, ev.data)

    def _event(self, name: str, data: str) -> None:
        if data == "[DONE]":
            self.finished = True
            return
        if '"usage' not in data and "error" not in data and "stop" not in data and "completed" not in data:
            return  # the common case (a text delta): skip the JSON parse
        try:
            obj = orjson.loads(data)
        except orjson.JSONDecodeError:
            return
        if not isinstance(obj, dict):
            return
        kind = obj.get("type")
        if kind in ("message_stop", "response.completed") or name == "message_stop":
            self.finished = True
        if kind in ("error", "response.failed") or (self.protocol == "openai" and "error" in obj):
            err = obj.get("error") or (obj.get("response") or {}).get("error") or {}
            self.error = str(err.get("message") if isinstance(err, dict) else err)[:300]
        got = from_event(self.protocol, obj)
        if got is not None:
            self.usage.merge(got)
