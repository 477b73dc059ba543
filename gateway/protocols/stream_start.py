"""Is this upstream event real content, an in-stream error, or nothing yet? (sans-IO)

OpenRouter answers 200 at once and then, while a request waits in its queue, sends only SSE
comments (`: OPENROUTER PROCESSING`); its free-tier 429 then arrives as a `data:` chunk with
`{"error": {"code": 429, ...}}` inside that 200 stream. Comments are not content: until the
first real event the cascade may still move on to the next model (comments already forwarded
are harmless to every SSE client), and a first-byte timeout waits for real content, not for a
keep-alive. Nor is a preamble that says nothing yet (`message_start`, `response.created`, a
Chat chunk with only a role): an error right after it (OpenAI's `insufficient_quota` follows
`response.created`) still means the model served nothing. `FirstEvent` watches the head of a
stream and says whether its first real event is content or an error.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.protocols.common import Failed, loads_or_none
from gateway.protocols.errors import status_for_kind
from gateway.protocols.sse import SSEDecoder, SSEEvent
from gateway.protocols.upstream_errors import error_object, failed


def in_stream_error(dialect: str, event: SSEEvent) -> Failed | None:
    """The error an upstream event carries, or None when it is an ordinary event.

    Chat: a chunk with an `error` object (OpenRouter, vLLM) or `finish_reason: "error"`
    (OpenRouter: the provider failed mid-stream). Anthropic: `event: error`. Responses: `error`
    and `response.failed`. Gemini: a chunk with an `error` object.
    """
    if event.data.strip() == "[DONE]":
        return None
    data = loads_or_none(event.data)
    if not isinstance(data, dict):
        return None
    name = event.event if event.event != "message" else str(data.get("type") or "")
    if name == "error":
        return failed(error_object(data))
    if dialect == "responses" and name == "response.failed":
        response = data.get("response") if isinstance(data.get("response"), dict) else {}
        return failed(response.get("error") or "the upstream response failed")
    if isinstance(data.get("error"), dict | str) and data["error"]:
        return failed(data["error"])
    choices = data.get("choices") if dialect == "openai" else None
    first = choices[0] if isinstance(choices, list) and choices and isinstance(choices[0], dict) else {}
    if first.get("finish_reason") == "error":
        return Failed("upstream error: the provider failed mid-stream (finish_reason=error)")
    return None


@dataclass(frozen=True)
class Verdict:
    """What the head of a stream turned out to be: `content` (commit to it) or `error` (fall back)."""

    kind: str  # content | error
    error: Failed | None = None

    @property
    def status(self) -> int:
        """The HTTP status the in-stream error stands for (429 for OpenRouter's rate limit), for health."""
        return status_for_kind(self.error.kind) if self.error else 200


class FirstEvent:
    """Feed the first upstream chunks; `feed` answers None while only comments (or half an event) came.

    It decodes on the side and keeps nothing but its decoder, so the caller holds the bytes.
    """

    def __init__(self, dialect: str) -> None:
        self.dialect = dialect
        self._decoder = SSEDecoder()
        self.verdict: Verdict | None = None

    @property
    def comments(self) -> int:
        return self._decoder.comments

    def feed(self, chunk: bytes) -> Verdict | None:
        if self.verdict is None:
            self._judge(self._decoder.feed(chunk))
        return self.verdict

    def close(self) -> Verdict | None:
        """End of stream: an event cut without its blank line still counts."""
        if self.verdict is None:
            self._judge(self._decoder.flush())
        return self.verdict

    def _judge(self, events: list[SSEEvent]) -> None:
        for event in events:
            error = in_stream_error(self.dialect, event)
            if error is not None:
                self.verdict = Verdict("error", error)
                return
            if not preamble(self.dialect, event):
                self.verdict = Verdict("content")
                return


PREAMBLE = {
    "anthropic": ("message_start",),  # a `ping` after it commits: a slow first token may ping for long
    "responses": ("response.created", "response.in_progress", "response.queued"),
}
_CHAT_CONTENT = ("content", "tool_calls", "reasoning_content", "reasoning", "reasoning_details", "refusal",
                 "function_call")


def preamble(dialect: str, event: SSEEvent) -> bool:
    """An event that opens a stream but says nothing yet: Anthropic's `message_start`,
    Responses' `response.created`/`in_progress`, a Chat chunk with only a role (or Azure's prompt
    filter results). An error after it still means the model served nothing, so fall back."""
    if not event.data.strip():
        return True
    data = loads_or_none(event.data)
    if not isinstance(data, dict):
        return False  # garbage is for the translator to refuse
    name = event.event if event.event != "message" else str(data.get("type") or "")
    if dialect in PREAMBLE:
        return name in PREAMBLE[dialect]
    if dialect != "openai" or data.get("usage"):
        return False
    choices = data.get("choices") or []
    for choice in choices if isinstance(choices, list) else []:
        delta = choice.get("delta") if isinstance(choice, dict) else None
        if not isinstance(delta, dict) or choice.get("finish_reason"):
            return False
        if any(delta.get(k) for k in _CHAT_CONTENT):
            return False
    return True


def describe(verdict: Verdict | None, comments: int) -> str:
    """Why a stream's head was refused, for the attempt's error."""
    if verdict is not None and verdict.error is not None:
        return f"error in the stream before any content: {verdict.error.message}"
    return f"the stream ended before any content ({comments} keep-alive comment(s))" if comments else (
        "the stream ended before any content"
    )


__all__ = ["FirstEvent", "Verdict", "describe", "in_stream_error"]
