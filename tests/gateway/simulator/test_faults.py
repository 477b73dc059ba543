"""Each fault kind as a client observes it, and the fault spec parser."""

from __future__ import annotations

import itertools
import json
import time

import anthropic
import httpx
import openai
import pytest

from gateway.protocols.sse import SSEDecoder
from gateway.simulator.faults import Fault, expand, parse_fault

MSG = {"model": "m", "max_tokens": 100, "messages": [{"role": "user", "content": "one two three four five six"}]}
# the anthropic SDK runs on httpx2, a fork whose errors are not httpx's
NET_ERRORS: tuple[type[Exception], ...] = (httpx.HTTPError, anthropic.APIConnectionError)
try:
    import httpx2

    NET_ERRORS += (httpx2.HTTPError,)
except ImportError:  # older SDKs use httpx itself
    pass
CHAT = {"model": "m", "messages": [{"role": "user", "content": "one two three four five six"}]}


def stream_chunks(url: str, body: dict) -> list[tuple[float, bytes]]:
    """(arrival time, bytes) of each read from a streamed POST."""
    out = []
    with httpx.stream("POST", url, json={**body, "stream": True}, timeout=30) as r:
        for chunk in r.iter_raw():
            out.append((time.monotonic(), chunk))
    return out


# -- the parser ---------------------------------------------------------------------------


def test_parse_kinds_and_raw_fields() -> None:
    assert parse_fault({"kind": "rate_limit"}) == Fault(status=429, retry_after=1)
    assert parse_fault({"status": 429, "retry_after": None}).retry_after is None
    assert parse_fault({"kind": "reset", "after_chunks": 3}).reset_after == 3
    assert parse_fault({"kind": "stall_mid", "after_chunks": 2, "seconds": 1.5}) == Fault(stall_after=2, stall_seconds=1.5)
    assert parse_fault({"delay": 0.1, "reset_after": 4}) == Fault(delay=0.1, reset_after=4)
    assert len(expand([{"kind": "overloaded", "times": 3}, {"status": 500}])) == 4


@pytest.mark.parametrize(
    "spec",
    [{"kind": "nope"}, {"kind": "status"}, {"status": 200}, {"bogus": 1}, {"kind": "reset", "after_chunks": -1},
     {"kind": "malformed", "mode": "weird"}, "429"],
)  # fmt: skip
def test_parse_rejects_bad_specs(spec) -> None:
    with pytest.raises(ValueError):
        parse_fault(spec)


# -- status faults ------------------------------------------------------------------------


def test_429_with_retry_after_in_both_dialects(simulator_thread) -> None:
    sim = simulator_thread
    sim.fault("m", status=429, retry_after=7, retry_after_ms=6500, reset_headers=True)
    a = anthropic.Anthropic(base_url=sim.url, api_key="k", max_retries=0)
    with pytest.raises(anthropic.RateLimitError) as err:
        a.messages.create(**MSG)
    h = err.value.response.headers
    assert h["retry-after"] == "7" and h["retry-after-ms"] == "6500"
    assert "anthropic-ratelimit-requests-reset" in h
    assert err.value.body["error"]["type"] == "rate_limit_error"
    assert a.messages.create(**MSG).content[0].text.startswith("SIM-ANSWER")  # one-shot: consumed

    sim.fault("m", {"kind": "rate_limit", "reset_headers": True})
    o = openai.OpenAI(base_url=sim.url + "/v1", api_key="k", max_retries=0)
    with pytest.raises(openai.RateLimitError) as oerr:
        o.chat.completions.create(**CHAT)
    assert oerr.value.response.headers["retry-after"] == "1"
    assert oerr.value.response.headers["x-ratelimit-reset-requests"] == "1s"
    assert oerr.value.code == "rate_limit_exceeded"


@pytest.mark.parametrize("status", [400, 401, 403, 500, 502, 503, 529])
def test_status_codes_in_dialect(simulator_thread, status: int) -> None:
    simulator_thread.fault("m", status=status)
    r = httpx.post(simulator_thread.url + "/v1/messages", json=MSG)
    assert r.status_code == status and r.json()["type"] == "error"
    if status == 529:
        assert r.json()["error"]["type"] == "overloaded_error"
    simulator_thread.fault("m", status=status, message="custom words")
    r = httpx.post(simulator_thread.url + "/v1/responses", json={"model": "m", "input": "x"})
    assert r.status_code == status and r.json()["error"]["message"] == "custom words"


def test_always_until_cleared_and_wildcard(simulator_thread) -> None:
    sim = simulator_thread
    url = sim.url + "/v1/chat/completions"
    sim.always("m", {"kind": "overloaded"})
    assert [httpx.post(url, json=CHAT).status_code for _ in range(3)] == [529, 529, 529]
    sim.always("m", None)
    assert httpx.post(url, json=CHAT).status_code == 200
    sim.fault("*", status=503)
    assert httpx.post(url, json={**CHAT, "model": "anything"}).status_code == 503
    assert sim.calls("m") == 4 and sim.calls("anything") == 1


def test_fail_rate_is_seeded(simulator_thread) -> None:
    url = simulator_thread.url + "/v1/chat/completions"

    def run() -> list[int]:
        simulator_thread.fail_rate("m", 0.5, seed=42, fault={"status": 502})
        return [httpx.post(url, json=CHAT).status_code for _ in range(20)]

    first, second = run(), run()
    assert first == second
    assert set(first) == {200, 502}


# -- stream faults ------------------------------------------------------------------------


def test_reset_mid_stream_raises_in_the_client(simulator_thread) -> None:
    simulator_thread.fault("m", kind="reset", after_chunks=3)
    a = anthropic.Anthropic(base_url=simulator_thread.url, api_key="k", max_retries=0)
    with pytest.raises(NET_ERRORS), a.messages.stream(**MSG) as s:
        for _ in s:
            pass
    simulator_thread.fault("m", kind="reset", after_chunks=2)
    with pytest.raises(httpx.HTTPError):
        stream_chunks(simulator_thread.url + "/v1/chat/completions", CHAT)


def test_reset_before_anything_and_on_json(simulator_thread) -> None:
    url = simulator_thread.url + "/v1/chat/completions"
    simulator_thread.fault("m", kind="reset", after_chunks=0)
    with pytest.raises(httpx.HTTPError):
        httpx.post(url, json=CHAT)
    simulator_thread.fault("m", kind="reset", after_chunks=1)
    with pytest.raises(httpx.HTTPError):
        httpx.post(url, json=CHAT)
    assert httpx.post(url, json=CHAT).status_code == 200


def test_slow_chunks_arrive_spaced(simulator_thread) -> None:
    simulator_thread.fault("m", kind="slow", delay=0.12)
    chunks = stream_chunks(simulator_thread.url + "/v1/messages", MSG)
    assert len(chunks) >= 8  # not buffered into one read
    gaps = [b[0] - a[0] for a, b in itertools.pairwise(chunks)]
    assert sum(g > 0.08 for g in gaps) >= len(chunks) - 2
    events = SSEDecoder().feed(b"".join(c for _, c in chunks))
    assert events[-1].event == "message_stop"


def test_stall_before_first_byte_and_mid_stream(simulator_thread) -> None:
    url = simulator_thread.url + "/v1/chat/completions"
    simulator_thread.fault("m", kind="stall", seconds=0.5)
    t0 = time.monotonic()
    chunks = stream_chunks(url, CHAT)
    assert chunks[0][0] - t0 >= 0.45
    simulator_thread.fault("m", kind="stall_mid", after_chunks=2, seconds=0.5)
    chunks = stream_chunks(url, CHAT)
    gaps = [b[0] - a[0] for a, b in itertools.pairwise(chunks)]
    assert max(gaps) >= 0.45
    assert b"".join(c for _, c in chunks).endswith(b"data: [DONE]\n\n")


def test_malformed_sse(simulator_thread) -> None:
    simulator_thread.fault("m", kind="malformed", after_chunks=2)
    body = b"".join(c for _, c in stream_chunks(simulator_thread.url + "/v1/messages", MSG))
    bad = []
    for ev in SSEDecoder().feed(body):
        try:
            json.loads(ev.data)
        except ValueError:
            bad.append(ev)
    assert len(bad) == 1
    simulator_thread.fault("m", kind="malformed", mode="garbage", after_chunks=1)
    body = b"".join(c for _, c in stream_chunks(simulator_thread.url + "/v1/chat/completions", CHAT))
    assert b"%%SIM-GARBAGE%%" in body


def test_truncated_stream_lacks_the_final_events(simulator_thread) -> None:
    simulator_thread.fault("m", kind="truncate")
    body = b"".join(c for _, c in stream_chunks(simulator_thread.url + "/v1/messages", MSG))
    names = [e.event for e in SSEDecoder().feed(body)]
    assert "content_block_stop" in names and "message_delta" not in names and "message_stop" not in names
    simulator_thread.fault("m", kind="truncate")
    body = b"".join(c for _, c in stream_chunks(simulator_thread.url + "/v1/responses", {"model": "m", "input": "x"}))
    assert b"response.output_item.done" in body and b"response.completed" not in body
    simulator_thread.fault("m", kind="truncate", after_chunks=1)
    body = b"".join(c for _, c in stream_chunks(simulator_thread.url + "/v1/chat/completions", CHAT))
    assert body.count(b"data: ") == 1


def test_error_event_mid_stream(simulator_thread) -> None:
    simulator_thread.fault("m", kind="error_event", after_chunks=3)
    a = anthropic.Anthropic(base_url=simulator_thread.url, api_key="k", max_retries=0)
    with pytest.raises(anthropic.APIStatusError, match="Overloaded"), a.messages.stream(**MSG) as s:
        s.get_final_message()


def test_json_requests_see_stream_faults_in_their_own_form(simulator_thread) -> None:
    url = simulator_thread.url + "/v1/messages"
    simulator_thread.fault("m", kind="error_event")
    assert httpx.post(url, json=MSG).status_code == 529
    simulator_thread.fault("m", kind="malformed")
    with pytest.raises(ValueError):
        httpx.post(url, json=MSG).json()
    simulator_thread.fault("m", kind="truncate")
    with pytest.raises(httpx.HTTPError):
        httpx.post(url, json=MSG)
