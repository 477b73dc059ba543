"""Stateful stream translators: `feed(upstream bytes) -> client bytes`, `close() -> final bytes`.

A translator is a parser (upstream dialect -> neutral events) plus an emitter (neutral
events -> the client's dialect). Output depends only on the sequence of SSE events, never
on how the upstream bytes were split. Nothing escapes: an internal error becomes the
dialect's error event, and after an error or the end everything else is ignored.
"""

from __future__ import annotations

from collections.abc import Callable

from gateway.exchange import Usage
from gateway.protocols import anthropic, gemini, openai_chat, responses
from gateway.protocols.common import Emitter, End, Event, Failed, Start, UsageSeen, loads_or_none, new_id
from gateway.protocols.emit_anthropic import AnthropicEmitter
from gateway.protocols.emit_chat import ChatEmitter
from gateway.protocols.emit_gemini import GeminiEmitter
from gateway.protocols.emit_responses import ResponsesEmitter
from gateway.protocols.parse_responses import ResponsesParser
from gateway.protocols.sse import SSEDecoder
from gateway.protocols.stream_parsers import CUT, AnthropicParser, ChatParser, Parser
from gateway.protocols.upstream_errors import error_object

PARSERS: dict[str, type[Parser]] = {
    "openai": ChatParser,
    "anthropic": AnthropicParser,
    "responses": ResponsesParser,
}
EMITTERS = {
    "anthropic": AnthropicEmitter,
    "openai": ChatEmitter,
    "responses": ResponsesEmitter,
    "gemini": GeminiEmitter,
}


class StreamTranslator:
    """What the proxy drives for a streamed answer: feed each upstream chunk, then close()."""

    def __init__(self, parser: Parser, emitter: Emitter) -> None:
        self._parser = parser
        self._emitter = emitter
        self.usage = Usage()
        self.started = False  # bytes were emitted: falling back to another model is no longer possible
        self.failed: str | None = None  # the error message, when the stream ended with an error event

    @property
    def done(self) -> bool:
        return self._emitter.done

    def feed(self, chunk: bytes) -> bytes:
        if self._emitter.done:
            return b""
        try:
            events = self._parser.feed(chunk)
        except Exception as exc:  # a parser bug must not kill the client's stream without an error event
            events = [Failed(f"gateway translation error: {type(exc).__name__}: {exc}")]
        return self._emit(events)

    def close(self, reason: str | None = None) -> bytes:
        """End of upstream. `reason`: why it stopped early (e.g. an idle timeout), for the error event."""
        if self._emitter.done:
            return b""
        try:
            events = self._parser.close(reason)
        except Exception as exc:
            events = [Failed(f"gateway translation error: {type(exc).__name__}: {exc}")]
        return self._emit(events)

    def _emit(self, events: list[Event]) -> bytes:
        out = bytearray()
        for event in events:
            if isinstance(event, Start | UsageSeen) and event.usage:
                self.usage.merge(event.usage)
            elif isinstance(event, Failed) and self.failed is None:
                self.failed = event.message
            try:
                out += self._emitter.handle(event)
            except Exception as exc:
                if self._emitter.done:
                    break
                self.failed = self.failed or str(exc)
                out += self._emitter.handle(Failed(f"gateway translation error: {type(exc).__name__}: {exc}"))
            if self._emitter.done:
                break
        if out:
            self.started = True
        return bytes(out)


_STREAM_ERRORS = {
    "anthropic": anthropic.stream_error,
    "openai": openai_chat.stream_error,
    "responses": responses.stream_error,
    "gemini": gemini.stream_error,
}
_USAGE = {
    "anthropic": anthropic.usage_from_event,
    "openai": openai_chat.usage_from_event,
    "responses": responses.usage_from_event,
    "gemini": gemini.usage_from_event,
}
_TERMINAL_DIALECTS = ("anthropic", "openai", "responses")  # gemini streams have no end marker
_TERMINAL = {
    "anthropic": ("message_stop", "error"),
    # not `error`: OpenAI follows it with `response.failed` (the error code, the SDK's end of stream)
    "responses": ("response.completed", "response.incomplete", "response.failed"),
}


class PassThrough:
    """Same dialect on both sides: bytes go out unchanged, but only whole events.

    Holding back a trailing partial event means an error appended at close() never lands in
    the middle of one. Usage and the end marker are read on the side.
    """

    def __init__(self, dialect: str) -> None:
        self.dialect = dialect
        self.usage = Usage()
        self.started = False
        self.failed: str | None = None
        self.done = False
        self._decoder = SSEDecoder()
        self._held = bytearray()
        self._ended = False
        self._response_id: str | None = None  # Responses streams: the id and last sequence number seen
        self._seq = 0

    def feed(self, chunk: bytes) -> bytes:
        if self.done:
            return b""
        self._watch(self._decoder.feed(chunk))
        self._held += chunk
        cut = max(
            (i + len(sep) for sep in (b"\n\n", b"\r\n\r\n", b"\r\r") if (i := self._held.rfind(sep)) >= 0),
            default=0,
        )
        if not cut:
            return b""
        out = bytes(self._held[:cut])
        del self._held[:cut]
        self.started = True
        if self._ended and not self._held and self.dialect in _TERMINAL_DIALECTS:
            self.done = True  # the end marker went out: nothing more to send, even at close()
        return out

    def close(self, reason: str | None = None) -> bytes:
        """`reason`: why the upstream stopped early (e.g. an idle timeout), for the error event."""
        if self.done:
            return b""
        self.done = True
        self._watch(self._decoder.flush())
        if self._ended:
            out = bytes(self._held) + (b"\n\n" if self._held.strip() else b"")  # blank lines need no end
        elif self.failed and not reason and self.dialect == "openai":
            out = bytes(self._held) + b"data: [DONE]\n\n"  # the error chunk went out; end it as OpenAI does
        else:
            message = self.failed if self.failed and not reason else reason or CUT
            self.failed = self.failed or message
            if self.dialect == "responses":  # SDKs check the failed response is the one created
                out = responses.stream_error(
                    message, response_id=self._response_id, sequence_number=self._seq + 1
                )
            else:
                out = _STREAM_ERRORS[self.dialect](message, "api_error")
        if out:
            self.started = True
        return out

    def _watch(self, events: list) -> None:
        for sse in events:
            if self.dialect == "openai" and sse.data.strip() == "[DONE]":
                self._ended = True
                continue
            data = loads_or_none(sse.data)
            name = sse.event
            if name == "message" and isinstance(data, dict) and isinstance(data.get("type"), str):
                name = data["type"]
            if self.dialect == "responses" and isinstance(data, dict):
                self._seq = max(self._seq, data.get("sequence_number") or 0)
                if isinstance(data.get("response"), dict) and self._response_id is None:
                    self._response_id = data["response"].get("id")
            usage = _USAGE[self.dialect](name, data)
            if usage:
                self.usage.merge(usage)
            if name in _TERMINAL.get(self.dialect, ()):
                self._ended = True
            if self.dialect == "gemini" and isinstance(data, dict):
                cands = data.get("candidates") or []
                if any(isinstance(c, dict) and c.get("finishReason") for c in cands):
                    self._ended = True
            err = _error_in(self.dialect, name, data)
            if err is not None:
                self._ended = self._ended or self.dialect not in ("openai", "responses")
                self.failed = self.failed or str(err.get("message") if isinstance(err, dict) else err)


def _error_in(dialect: str, name: str, data: object) -> object | None:
    """The error object an event carries, if any. Chat and Responses streams go on after it
    (`[DONE]`, `response.failed`), so only the other dialects end at the error itself."""
    if not isinstance(data, dict):
        return None
    if name == "error":
        return error_object(data)
    if dialect == "responses" and name == "response.failed" and isinstance(data.get("response"), dict):
        return data["response"].get("error") or "the upstream response failed"
    return data.get("error") or None


def stream_translator(
    src: str,
    dst: str,
    *,
    requested_model: str,
    ids: Callable[[str], str] = new_id,
    now: int | None = None,
    upstream_model: str = "",
) -> StreamTranslator | PassThrough:
    """`src` is the upstream's dialect, `dst` the client's.

    `upstream_model`: the configured upstream id (Model.id) that signs captured reasoning (see
    translate_response). `ids` and `now` pin ids and timestamps, for reproducible output in tests.
    """
    if src == dst:
        return PassThrough(src)
    if src not in PARSERS:
        raise ValueError(f"cannot translate streams from {src!r} (known: {', '.join(PARSERS)})")
    if dst not in EMITTERS:
        raise ValueError(f"cannot translate streams to {dst!r} (known: {', '.join(EMITTERS)})")
    return StreamTranslator(
        PARSERS[src](), EMITTERS[dst](requested_model, ids=ids, now=now, upstream_model=upstream_model)
    )


__all__ = ["End", "PassThrough", "StreamTranslator", "stream_translator"]
