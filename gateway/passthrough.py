"""A checked pass-through: same dialect on both sides, original bytes out, but only good ones.

`PassThrough` (protocols/streams.py) forwards whole events and reads usage and the end marker
on the side; this adds what the relay needs to treat a pass-through stream like a translated one:

- every event is checked as it passes: data that is not JSON (`[DONE]` aside) or a
  line that is no SSE field at all (an HTML page, garbage) fails the stream. Before anything
  reached the client that means fallback; after, the stream ends with an error event in the
  dialect and nothing of the bad event is forwarded;
- linear and bounded: where whole events end comes from the decoder's `boundary` (no search
  over held bytes per chunk), and a line or event past the decoder's limit fails the stream
  instead of being buffered.

Sans-IO like `protocols`: bytes in, bytes out. It lives beside the relay, its only user.
"""

from __future__ import annotations

import orjson

from gateway.errors import StreamTooLarge
from gateway.protocols.sse import MAX_EVENT, SSEDecoder, SSEEvent
from gateway.protocols.streams import PassThrough

TERMINAL_DIALECTS = ("anthropic", "openai", "responses")  # gemini streams have no end marker
# Chat ends with `data: [DONE]`; OpenRouter's Responses endpoint sends one after `response.completed`
# too (recorded: tests/fixtures/recordings/openrouter/openrouter-responses-reasoning.sse).
DONE_DIALECTS = ("openai", "responses")


class CheckedPassThrough(PassThrough):
    """`feed(upstream bytes) -> client bytes` (whole events, unchanged); `close()` at the end."""

    def __init__(self, dialect: str, limit: int = MAX_EVENT) -> None:
        super().__init__(dialect)
        self._decoder = SSEDecoder(limit)
        self._held_at = 0  # stream offset of _held[0]

    def feed(self, chunk: bytes) -> bytes:
        if self.done:
            return b""
        try:
            events = self._decoder.feed(chunk)
        except StreamTooLarge as exc:
            return self._refuse(str(exc))
        if self._decoder.junk is not None:
            return self._refuse(f"the upstream stream is not SSE: {self._decoder.junk!r}")
        bad = self._malformed(events)
        if bad is not None:
            return self._refuse(bad)
        self._watch(events)
        self._held += chunk
        cut = self._decoder.boundary - self._held_at
        if cut <= 0:
            return b""
        out = bytes(self._held[:cut])
        del self._held[:cut]
        self._held_at += cut
        self.started = True
        if self._ended and not self._held and self.dialect in TERMINAL_DIALECTS:
            self.done = True  # the end marker went out: nothing more to send, even at close()
        return out

    def close(self, reason: str | None = None) -> bytes:
        if not self.done:
            try:
                tail = self._decoder.flush()
            except StreamTooLarge as exc:
                return self._refuse(str(exc))
            if self._decoder.junk is not None:
                return self._refuse(f"the upstream stream is not SSE: {self._decoder.junk!r}")
            bad = self._malformed(tail)
            if bad is not None:
                return self._refuse(bad)
            self._watch(tail)
        return super().close(reason)

    def _refuse(self, why: str) -> bytes:
        """Drop what is held (part of the bad event) and end with an error event."""
        self._held.clear()
        self.failed = self.failed or f"malformed upstream stream: {why}"
        self._decoder = SSEDecoder(self._decoder.limit)  # the end-of-stream flush must not see the bad bytes
        return super().close(self.failed)

    def _malformed(self, events: list[SSEEvent]) -> str | None:
        for ev in events:
            data = ev.data
            if not data or (self.dialect in DONE_DIALECTS and data.strip() == "[DONE]"):
                continue
            try:
                orjson.loads(data)
            except orjson.JSONDecodeError:
                return f"event data is not JSON: {data[:120]!r}"
        return None
