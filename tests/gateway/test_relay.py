"""Streams through the relay: checked whatever the dialects, bounded, and scrubbed on the way out."""

from __future__ import annotations

import time

import httpx
import orjson
import pytest
from support.scripted import Answer, ScriptedUpstream, two_model_config
from support.servers import free_port

from gateway.passthrough import CheckedPassThrough
from gateway.protocols.sse import MAX_EVENT, SSEDecoder

KEY = "sk-first-0123456789abcdef"
BODY = {"model": "claude-x", "max_tokens": 50, "stream": True, "messages": [{"role": "user", "content": "hello"}]}
START = (b'event: message_start\ndata: {"type":"message_start","message":{"id":"m","type":"message","role":"assistant",'
         b'"content":[],"model":"a-model","usage":{"input_tokens":3,"output_tokens":0}}}\n\n')
TEXT = (b'event: content_block_start\ndata: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}\n\n'
        b'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"hi"}}\n\n')
END = (b'event: content_block_stop\ndata: {"type":"content_block_stop","index":0}\n\n'
       b'event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":1}}\n\n'
       b'event: message_stop\ndata: {"type":"message_stop"}\n\n')
OK_STREAM = Answer(200, [START, TEXT + END])
CHAT_START = b'data: {"id":"c","object":"chat.completion.chunk","model":"a-model","choices":[{"index":0,"delta":{"role":"assistant","content":"hi"}}]}\n\n'


@pytest.fixture
def upstreams():
    a, b = ScriptedUpstream().start(), ScriptedUpstream().start()
    yield a, b
    a.stop()
    b.stop()


def post(gw, body=BODY) -> httpx.Response:
    return httpx.post(f"{gw.url}/v1/messages", json=body, timeout=20)


@pytest.mark.parametrize("garbage", [b"<html><body>502 Bad Gateway</body></html>\n\n", b"data: {not json\n\n"])
def test_garbage_before_the_first_byte_falls_back(upstreams, make_gateway, garbage: bytes) -> None:
    """Defect 5 (start): a pass-through stream that is not SSE/JSON never reaches the client."""
    a, b = upstreams
    gw = make_gateway(two_model_config(free_port(), a.url, b.url))
    a.queue(Answer(200, [garbage]))
    b.queue(OK_STREAM)
    r = post(gw)
    assert r.status_code == 200 and b"html" not in r.content and b"not json" not in r.content
    assert r.content.endswith(b'data: {"type":"message_stop"}\n\n')
    row = gw.rows(at_least=1)[0]
    assert row["model"] == "b" and [x["outcome"] for x in row["attempts"]] == ["error", "ok"]
    assert "malformed" in row["attempts"][0]["error"]


def test_malformed_event_mid_stream_ends_with_an_error_event(upstreams, make_gateway) -> None:
    """Defect 5 (middle): the bad event is not forwarded; an error event ends the stream; the row says error."""
    a, b = upstreams
    gw = make_gateway(two_model_config(free_port(), a.url, b.url))
    a.queue(Answer(200, [START, TEXT, b"event: content_block_delta\ndata: {\"type\": oops}\n\n", END], gap=0.05))
    r = post(gw)
    assert r.status_code == 200
    assert b'data: {"type": oops}' not in r.content and b"message_stop" not in r.content
    assert r.content.startswith(START + TEXT)
    assert b"event: error" in r.content
    row = gw.rows(at_least=1)[0]
    assert row["outcome"] == "error" and row["status"] == 502 and len(b.seen) == 0


def test_one_huge_event_is_refused_quickly_and_falls_back(upstreams, make_gateway) -> None:
    """Defect 8: 32 MB without a separator is refused at the limit, /health stays quick, memory stays flat."""
    a, b = upstreams
    gw = make_gateway(two_model_config(free_port(), a.url, b.url))
    a.queue(Answer(200, [b"data: " + b"a" * (64 * 1024)] * 512))  # 32 MB, no line end
    b.queue(OK_STREAM)
    t0 = time.monotonic()
    r = post(gw)
    leaked, finished = b"aaaa" in r.content, b"message_stop" in r.content  # no 32 MB repr in a failure
    assert r.status_code == 200 and not leaked and finished
    assert time.monotonic() - t0 < 5
    row = gw.rows(at_least=1)[0]
    assert "longer than" in row["attempts"][0]["error"] and row["model"] == "b"


def test_decoder_and_passthrough_are_linear() -> None:
    """Defect 8: one event just under the limit, fed 128 bytes at a time (a rescan per chunk: ~64 GB searched)."""
    payload = b"data: " + b"x" * (MAX_EVENT - 1024) + b"\n\n"
    t0 = time.perf_counter()
    d = SSEDecoder()
    events = [e for i in range(0, len(payload), 128) for e in d.feed(payload[i:i + 128])]
    assert len(events) == 1 and len(events[0].data) == MAX_EVENT - 1024
    pt = CheckedPassThrough("openai")
    quoted = b'data: "' + payload[6:-2] + b'"\n\n'  # a JSON string
    out = b"".join(pt.feed(quoted[i:i + 128]) for i in range(0, len(quoted), 128))
    assert out == quoted and not pt.failed
    assert time.perf_counter() - t0 < 2.0


def test_decoder_boundary_marks_whole_events() -> None:
    d = SSEDecoder()
    d.feed(b"data: 1\r")
    assert d.boundary == 0
    d.feed(b"\n\r")
    assert d.boundary == 10  # "data: 1\r\n\r" then a pending LF
    d.feed(b"\ndata: 2")
    assert d.boundary == 11


@pytest.mark.parametrize("protocol", ["anthropic", "openai"])
def test_a_key_echoed_mid_stream_never_reaches_the_client(upstreams, make_gateway, protocol: str) -> None:
    """Defect 9: pass-through bytes and translated error text are scrubbed of the provider key."""
    a, b = upstreams
    gw = make_gateway(two_model_config(free_port(), a.url, b.url, first_dialect=protocol, models=("a",)))
    echo = f"invalid key {KEY} for this model".encode()
    if protocol == "anthropic":
        bad = b'event: error\ndata: {"type":"error","error":{"type":"invalid_request_error","message":"' + echo + b'"}}\n\n'
        a.queue(Answer(200, [START, TEXT, bad], gap=0.05))
    else:
        bad = b'data: {"error":{"message":"' + echo + b'","code":400}}\n\n'
        a.queue(Answer(200, [CHAT_START, bad], gap=0.05))
    r = post(gw)
    assert r.status_code == 200 and b"invalid key ***" in r.content, r.content
    assert KEY.encode() not in r.content
    row = gw.rows(at_least=1)[0]
    assert KEY not in orjson.dumps(row).decode()


def test_a_key_echoed_in_an_error_body_never_reaches_the_client(upstreams, make_gateway) -> None:
    a, b = upstreams
    gw = make_gateway(two_model_config(free_port(), a.url, b.url, models=("a",)))
    a.queue(Answer(401, [b'{"type":"error","error":{"type":"authentication_error","message":"bad key ' + KEY.encode()
                         + b'"}}'], "application/json"))
    r = post(gw, {**BODY, "stream": False})
    assert r.status_code == 401 and KEY not in r.text and "***" in r.text


def test_a_key_the_config_never_named_is_masked_in_errors_ledger_and_log(upstreams, make_gateway, caplog) -> None:
    """An upstream error may quote some other key (a user's second account, a provider echoing a wrong one)."""
    other = "sk-or-v1-" + "f0" * 32
    a, b = upstreams
    gw = make_gateway(two_model_config(free_port(), a.url, b.url, models=("a",)))
    a.queue(Answer(401, [b'{"error":{"message":"no such key: ' + other.encode() + b'","code":401}}'], "application/json"))
    with caplog.at_level("DEBUG"):
        r = post(gw, {**BODY, "stream": False})
        row = gw.rows(at_least=1)[0]
    assert r.status_code == 401 and "no such key: ***" in r.text, r.text
    assert other not in orjson.dumps(row).decode() and other not in caplog.text


def test_a_key_in_a_middle_event_of_a_pass_through_stream_is_masked(upstreams, make_gateway) -> None:
    """The key in a chunk that is neither the head nor the terminal piece (those are scrubbed on their own paths)."""
    a, b = upstreams
    gw = make_gateway(two_model_config(free_port(), a.url, b.url, models=("a",)))
    leak = TEXT.replace(b'"text":"hi"', b'"text":"your key is ' + KEY.encode() + b'"')
    a.queue(Answer(200, [START, TEXT, leak, END], gap=0.05))
    r = post(gw)
    assert r.status_code == 200 and b"your key is ***" in r.content, r.content
    assert KEY.encode() not in r.content and b"message_stop" in r.content
