"""The attempt scope through the real proxy: every way an attempt ends releases what it claimed.

Each test here reproduces one leak of issue 11 against a real gateway and a scripted
loopback upstream (tests/support/scripted.py): the client really disconnects, the upstream
really stalls, redirects or answers an empty stream.
"""

from __future__ import annotations

import time

import httpx
import orjson
import pytest
from support.scripted import Answer, ScriptedUpstream, two_model_config
from support.servers import free_port, wait_for

BILLING = "x-anthropic-billing-header: cc_version=2.1.0; cc_entrypoint=cli; cch=1f2e3;"
BODY = {"model": "claude-x", "max_tokens": 50, "messages": [{"role": "user", "content": "hello there"}]}
OK_JSON = Answer(200, [orjson.dumps({
    "id": "msg_1", "type": "message", "role": "assistant", "model": "b-model",
    "content": [{"type": "text", "text": "hi"}], "stop_reason": "end_turn",
    "usage": {"input_tokens": 3, "output_tokens": 1}})], "application/json")
OK_STREAM = Answer(200, [
    b'event: message_start\ndata: {"type":"message_start","message":{"id":"m","type":"message","role":"assistant",'
    b'"content":[],"model":"b-model","usage":{"input_tokens":3,"output_tokens":0}}}\n\n',
    b'event: content_block_start\ndata: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}\n\n'
    b'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"hi"}}\n\n'
    b'event: content_block_stop\ndata: {"type":"content_block_stop","index":0}\n\n'
    b'event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":1}}\n\n'
    b'event: message_stop\ndata: {"type":"message_stop"}\n\n',
])
FAIL_500 = Answer(500, [b'{"type":"error","error":{"type":"api_error","message":"boom"}}'], "application/json")


@pytest.fixture
def upstreams():
    a, b = ScriptedUpstream().start(), ScriptedUpstream().start()
    yield a, b
    a.stop()
    b.stop()


def probe_state(gw, model: str) -> dict:
    return gw.rt.routing.health.row(model)


@pytest.mark.parametrize("stream", [False, True])
def test_client_leaving_during_the_probe_releases_it(upstreams, make_gateway, stream: bool) -> None:
    """Defect 1: the half-open probe is released when its client disconnects before the first byte."""
    a, b = upstreams
    gw = make_gateway(two_model_config(free_port(), a.url, b.url, models=("a",), breaker="failures = 1\ncooldown_s = 0.3"))
    a.queue(FAIL_500, Answer(200, OK_STREAM.chunks if stream else OK_JSON.chunks, stall=5.0))
    assert httpx.post(f"{gw.url}/v1/messages", json=BODY, timeout=10).status_code == 502
    assert probe_state(gw, "a")["state"] == "open"
    time.sleep(0.35)  # past the cooldown: the next request is the probe
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(f"{gw.url}/v1/messages", json={**BODY, "stream": stream}, timeout=0.6)
    wait_for(lambda: len(a.seen) == 2, 3, "the probe to reach the upstream")
    row = wait_for(lambda: (r := probe_state(gw, "a"))["detail"] != "half-open probe in flight" and r, 3,
                   "the abandoned probe to be released")
    assert row["state"] == "half_open" and row["detail"] == "half-open: next request probes"
    a.queue(Answer(200, OK_STREAM.chunks if stream else OK_JSON.chunks))
    r = httpx.post(f"{gw.url}/v1/messages", json={**BODY, "stream": stream}, timeout=10)
    assert r.status_code == 200, r.text
    assert probe_state(gw, "a")["state"] == "healthy"


def test_each_attempt_gets_its_own_body(upstreams, make_gateway) -> None:
    """Defect 2: shaping for the first candidate (billing block stripped) never reaches the second."""
    a, b = upstreams
    cfg = two_model_config(free_port(), a.url, b.url,
                           extra="[providers.second.shaping]\nstrip_billing_header = false\ninject_cache_control = false\n")
    gw = make_gateway(cfg)
    a.queue(FAIL_500)
    b.queue(OK_JSON)
    body = {**BODY, "system": [{"type": "text", "text": BILLING}, {"type": "text", "text": "You are terse."}]}
    r = httpx.post(f"{gw.url}/v1/messages", json=body, timeout=10)
    assert r.status_code == 200, r.text
    first, second = orjson.loads(a.seen[0].body), orjson.loads(b.seen[0].body)
    assert BILLING not in orjson.dumps(first).decode()  # shaped for the first candidate
    assert second["system"] == body["system"]  # the second got the client's system, untouched


def test_non_streamed_disconnect_is_recorded(upstreams, make_gateway) -> None:
    """Defect 4: a non-streamed request whose client leaves still gets its ledger row (aborted)."""
    a, b = upstreams
    gw = make_gateway(two_model_config(free_port(), a.url, b.url, models=("a",)))
    a.queue(Answer(200, OK_JSON.chunks, "application/json", stall=5.0))
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(f"{gw.url}/v1/messages", json=BODY, timeout=0.5)
    rows = gw.rows(at_least=1)
    assert len(rows) == 1, rows
    assert rows[0]["outcome"] == "aborted" and rows[0]["status"] == 499
    assert rows[0]["attempts"][0]["outcome"] == "aborted"
    assert gw.rt.in_flight == 0
    assert probe_state(gw, "a")["failures"] == 0  # the model did nothing wrong


def test_empty_stream_falls_back(upstreams, make_gateway) -> None:
    """Defect 6: a 200 with an empty stream body falls back to the next candidate."""
    a, b = upstreams
    gw = make_gateway(two_model_config(free_port(), a.url, b.url))
    a.queue(Answer(200, []))
    b.queue(OK_STREAM)
    r = httpx.post(f"{gw.url}/v1/messages", json={**BODY, "stream": True}, timeout=10)
    assert r.status_code == 200
    assert "message_stop" in r.text and "event: error" not in r.text
    row = gw.rows(at_least=1)[0]
    assert row["model"] == "b" and row["outcome"] == "ok"
    assert [x["outcome"] for x in row["attempts"]] == ["error", "ok"]


@pytest.mark.parametrize("stream", [True, False])
def test_redirect_is_a_failed_attempt_not_an_answer(upstreams, make_gateway, stream: bool) -> None:
    """Defect 7: an upstream 3xx (http:// for an https API) falls back; a client never sees a 301."""
    a, b = upstreams
    gw = make_gateway(two_model_config(free_port(), a.url, b.url))
    a.queue(Answer(301, [b"moved"], "text/html", headers={"location": "https://example.invalid/v1/messages"}))
    b.queue(OK_STREAM if stream else OK_JSON)
    r = httpx.post(f"{gw.url}/v1/messages", json={**BODY, "stream": stream}, timeout=10)
    assert r.status_code == 200, r.text
    row = gw.rows(at_least=1)[0]
    assert row["attempts"][0]["status"] == 301 and "base_url" in row["attempts"][0]["error"]
    # with no other candidate the client gets a 502 in its dialect, never the redirect
    a.queue(Answer(301, [b"moved"], "text/html", headers={"location": "https://example.invalid/"}))
    gw2 = make_gateway(two_model_config(free_port(), a.url, b.url, models=("a",)))
    r = httpx.post(f"{gw2.url}/v1/messages", json={**BODY, "stream": stream}, timeout=10)
    assert r.status_code == 502 and r.json()["type"] == "error"


def test_quota_is_spent_only_by_attempts_that_reached_the_provider(upstreams, make_gateway, tmp_path) -> None:
    """A refused connection spends no rpm/rpd, in memory and when rebuilt from the ledger at restart."""
    _, b = upstreams
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens: connection refused
    cfg = two_model_config(free_port(), dead, b.url)
    ledger = tmp_path / "quota.sqlite3"
    gw = make_gateway(cfg, ledger=ledger)
    b.queue(FAIL_500, OK_JSON)
    assert httpx.post(f"{gw.url}/v1/messages", json=BODY, timeout=10).status_code == 502  # a refused, b 500
    assert httpx.post(f"{gw.url}/v1/messages", json=BODY, timeout=10).status_code == 200  # a refused, b ok
    rows = gw.rows(at_least=2)
    assert [x["reached"] for r in rows for x in r["attempts"]] == [False, True, False, True]

    def used(g, name: str) -> tuple[int, int]:
        snap = g.rt.routing.quotas.snapshot(g.rt.config.models[name])
        return snap["rpm"]["used"], snap["rpd"]["used"]

    assert used(gw, "a") == (0, 0) and used(gw, "b") == (2, 2)
    gw.stop()
    again = make_gateway(two_model_config(free_port(), dead, b.url), ledger=ledger)
    assert used(again, "a") == (0, 0) and used(again, "b") == (2, 2)
