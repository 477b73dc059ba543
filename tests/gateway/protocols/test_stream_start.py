"""The head of a stream: comments are not content; an error before content means fall back.

OpenRouter's shapes below follow its documentation (openrouter.ai/docs: "Streaming" for the
`: OPENROUTER PROCESSING` comments, "Errors" for an error object inside a 200 stream's chunk
with `finish_reason: "error"`); no public recording of them exists in the corpus.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st
from support.replay_upstream import by_name, load_index

from gateway.protocols.sse import SSEDecoder
from gateway.protocols.stream_start import FirstEvent, describe

COMMENT = b": OPENROUTER PROCESSING\n\n"
RATE_LIMITED = (
    b'data: {"id":"gen-1","object":"chat.completion.chunk","created":1,"model":"moonshotai/kimi-k2:free",'
    b'"provider":"Chutes","error":{"code":429,"message":"Rate limit exceeded: free-models-per-min.",'
    b'"metadata":{"headers":{"X-RateLimit-Limit":"20"}}},"choices":[{"index":0,"delta":{"content":""},'
    b'"finish_reason":"error"}]}\n\n'
)
CONTENT = b'data: {"id":"gen-2","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"Hi"}}]}\n\n'


def verdict_of(protocol: str, pieces: list[bytes]):
    watch = FirstEvent(protocol)
    for piece in pieces:
        if watch.feed(piece) is not None:
            break
    return watch.verdict or watch.close(), watch


def test_comments_are_counted_apart_and_never_events() -> None:
    dec = SSEDecoder()
    assert dec.feed(COMMENT * 3) == []
    assert dec.comments == 3 and dec.last_comment == "OPENROUTER PROCESSING"


def test_comments_only_is_no_verdict_yet() -> None:
    watch = FirstEvent("openai")
    assert watch.feed(COMMENT) is None and watch.feed(COMMENT) is None
    assert watch.close() is None and watch.comments == 2
    assert "2 keep-alive comment(s)" in describe(None, watch.comments)


def test_openrouter_rate_limit_after_comments_is_an_error_verdict() -> None:
    verdict, _ = verdict_of("openai", [COMMENT, COMMENT, RATE_LIMITED, CONTENT])
    assert verdict.kind == "error" and verdict.status == 429
    assert verdict.error.message == "upstream error: Rate limit exceeded: free-models-per-min."
    assert verdict.error.kind == "rate_limit_error"


def test_content_after_comments_is_content() -> None:
    verdict, _ = verdict_of("openai", [COMMENT, CONTENT, RATE_LIMITED])
    assert verdict.kind == "content"


@given(st.lists(st.integers(min_value=0, max_value=400), max_size=6))
def test_the_verdict_does_not_depend_on_how_bytes_are_split(cuts: list[int]) -> None:
    raw = COMMENT * 2 + RATE_LIMITED + CONTENT
    points = sorted({c % (len(raw) + 1) for c in cuts})
    pieces = [raw[a:b] for a, b in zip([0, *points], [*points, len(raw)], strict=True) if raw[a:b]]
    verdict, _ = verdict_of("openai", pieces)
    assert verdict.kind == "error" and verdict.status == 429


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("azure/azure-model-router.1", "content"),  # after a prompt-filter chunk and a role-only chunk
        ("anthropic/anthropic-text", "content"),
        ("mistral/mistral-reasoning", "content"),
    ],
)
def test_recorded_streams_start_with_content(name: str, kind: str) -> None:
    rec = by_name()[name]
    verdict, _ = verdict_of(rec.dialect, rec.frames())
    assert verdict.kind == kind


@pytest.mark.parametrize(
    ("protocol", "raw", "status"),
    [
        ("anthropic", b'event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}\n\n', 529),
        ("responses", b'event: error\ndata: {"type":"error","sequence_number":0,"error":{"type":"insufficient_quota",'
                      b'"code":"insufficient_quota","message":"quota"}}\n\n', 429),
        ("anthropic", b'event: message_start\ndata: {"type":"message_start","message":{"id":"m","usage":{}}}\n\n'
                      b'event: error\ndata: {"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}\n\n',
         429),
    ],
)
def test_error_first_in_each_dialect(protocol: str, raw: bytes, status: int) -> None:
    verdict, _ = verdict_of(protocol, [raw])
    assert verdict.kind == "error" and verdict.status == status


def test_a_mid_stream_provider_failure_is_an_error() -> None:
    chunk = {"choices": [{"index": 0, "delta": {"content": ""}, "finish_reason": "error"}]}
    verdict, _ = verdict_of("openai", [COMMENT, f"data: {json.dumps(chunk)}\n\n".encode()])
    assert verdict.kind == "error" and "finish_reason=error" in verdict.error.message


def test_an_error_after_the_preamble_is_an_error_verdict() -> None:
    """OpenAI's insufficient_quota comes after `response.created` and `in_progress`: nothing was served."""
    rec = by_name()["openai/openai-error.1"]
    verdict, _ = verdict_of(rec.dialect, rec.frames())
    assert verdict.kind == "error" and verdict.status == 429 and verdict.error.code == "insufficient_quota"


def test_every_recorded_stream_without_an_error_starts_with_content() -> None:
    for rec in load_index():
        if rec.stream and rec.name != "openai/openai-error.1":
            verdict, _ = verdict_of(rec.dialect, rec.frames())
            assert verdict is not None and verdict.kind == "content", rec.name


def test_role_only_and_filter_chunks_are_preamble() -> None:
    role = b'data: {"choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}\n\n'
    filters = b'data: {"choices":[],"prompt_filter_results":[{"prompt_index":0}]}\n\n'
    watch = FirstEvent("openai")
    assert watch.feed(filters + role) is None
    assert watch.feed(RATE_LIMITED).kind == "error"
