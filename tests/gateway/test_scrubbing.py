"""Scrubbing replaces whole secret values long enough to be secrets, and nothing else."""

from __future__ import annotations

import httpx
import pytest
from support.scripted import Answer, ScriptedUpstream, two_model_config
from support.servers import free_port

from gateway.scrubbing import MIN_SECRET_LEN, maskable, scrub, scrub_bytes

START = (b'event: message_start\ndata: {"type":"message_start","message":{"id":"m","type":"message","role":"assistant",'
         b'"content":[],"model":"a-model","usage":{"input_tokens":3,"output_tokens":0}}}\n\n')
TEXT = (b'event: content_block_start\ndata: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}\n\n'
        b'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"x claude"}}\n\n')
END = (b'event: content_block_stop\ndata: {"type":"content_block_stop","index":0}\n\n'
       b'event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":1}}\n\n'
       b'event: message_stop\ndata: {"type":"message_stop"}\n\n')
BODY = {"model": "claude-x", "max_tokens": 50, "stream": True, "messages": [{"role": "user", "content": "hello"}]}


def test_short_values_are_not_searched_for() -> None:
    assert scrub("http://127.0.0.1:8082/x/claude/p/free", ["x", "claude"]) == "http://127.0.0.1:8082/x/claude/p/free"
    assert maskable(["x", "a" * (MIN_SECRET_LEN - 1), None, ""]) == []


def test_long_values_are_replaced_whole_longest_first() -> None:
    assert scrub("key sk-abcdefgh-ijk end", ["sk-abcdefgh", "sk-abcdefgh-ijk"]) == "key *** end"
    assert scrub_bytes(b"a sk-0123456789 b", [s.encode() for s in maskable(["sk-0123456789"])]) == b"a *** b"


@pytest.mark.parametrize("key", ["x", "claude"])
def test_a_short_key_does_not_corrupt_a_relayed_stream(make_gateway, key: str) -> None:
    a, b = ScriptedUpstream().start(), ScriptedUpstream().start()
    try:
        gw = make_gateway(two_model_config(free_port(), a.url, b.url, models=("a",), env={"FIRST_KEY": key}))
        a.queue(Answer(200, [START, TEXT + END]))
        r = httpx.post(f"{gw.url}/v1/messages", json=BODY, timeout=20)
        assert r.status_code == 200
        assert b'"text_delta","text":"x claude"' in r.content and b"***" not in r.content, r.content
    finally:
        a.stop()
        b.stop()
