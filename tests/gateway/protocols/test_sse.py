"""The incremental SSE decoder gives the same events for every split of the input."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.protocols.sse import SSEDecoder, SSEEvent, encode

ANTHROPIC = (
    b"event: message_start\n"
    b'data: {"type":"message_start","message":{"usage":{"input_tokens":12,"cache_read_input_tokens":1000}}}\n\n'
    b": a comment line\n"
    b"event: content_block_delta\n"
    b'data: {"type":"content_block_delta","delta":{"type":"text_delta","text":"h\xc3\xa9llo \xe2\x9c\x93"}}\n\n'
    b"event: message_stop\r\n"
    b'data: {"type":"message_stop"}\r\n\r\n'
)
CHAT = b'data: {"choices":[{"delta":{"content":"a"}}]}\r\rdata: {"usage":{"prompt_tokens":3}}\n\ndata: [DONE]\n\n'
MULTILINE = b"id: 7\nevent: x\ndata: line one\ndata: line two\ndata\n\n"


def decode_split(raw: bytes, cuts: list[int]) -> list[SSEEvent]:
    d = SSEDecoder()
    out: list[SSEEvent] = []
    prev = 0
    for cut in [*sorted(cuts), len(raw)]:
        out += d.feed(raw[prev:cut])
        prev = cut
    return out + d.flush()


@pytest.mark.parametrize("raw", [ANTHROPIC, CHAT, MULTILINE], ids=["anthropic", "chat-cr", "multiline"])
def test_every_single_split_gives_the_same_events(raw: bytes) -> None:
    whole = decode_split(raw, [])
    assert whole
    for i in range(len(raw) + 1):
        assert decode_split(raw, [i]) == whole, f"split at byte {i}"
    d = SSEDecoder()
    bytewise = [e for i in range(len(raw)) for e in d.feed(raw[i : i + 1])] + d.flush()
    assert bytewise == whole


@given(st.lists(st.integers(min_value=0, max_value=len(ANTHROPIC)), max_size=12))
def test_any_set_of_splits(cuts: list[int]) -> None:
    assert decode_split(ANTHROPIC, cuts) == decode_split(ANTHROPIC, [])


def test_fields() -> None:
    events = decode_split(ANTHROPIC + MULTILINE, [])
    assert [e.event for e in events] == ["message_start", "content_block_delta", "message_stop", "x"]
    assert "héllo ✓" in events[1].data
    assert events[-1].data == "line one\nline two\n" and events[-1].id == "7"
    chat = decode_split(CHAT, [])
    assert [e.event for e in chat] == ["message", "message", "message"] and chat[-1].data == "[DONE]"


def test_unterminated_last_event_is_flushed() -> None:
    d = SSEDecoder()
    assert d.feed(b"data: tail") == []
    assert d.flush() == [SSEEvent("message", "tail")]


def test_encode_roundtrip() -> None:
    raw = encode('{"a": 1}\nsecond', event="ev")
    assert decode_split(raw, []) == [SSEEvent("ev", '{"a": 1}\nsecond')]
