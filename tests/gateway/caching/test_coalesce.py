"""Coalescing through the real proxy: identical requests in flight share one upstream call.

Driven as agents drive it (concurrent HTTP requests with `x-xx-replay: 1` against a real
gateway and a scripted upstream), so the test follows the path production takes: the
leader's Flow resolves or releases its flight, followers replay or call upstream themselves.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
import orjson
import pytest
from support.scripted import Answer, ScriptedUpstream, two_model_config
from support.servers import free_port, wait_for

BODY = {"model": "claude-x", "max_tokens": 50, "messages": [{"role": "user", "content": "same question"}]}
JSON = orjson.dumps({"id": "msg_1", "type": "message", "role": "assistant", "model": "a-model",
                     "content": [{"type": "text", "text": "same answer"}], "stop_reason": "end_turn",
                     "usage": {"input_tokens": 3, "output_tokens": 2}})
SSE = [
    b'event: message_start\ndata: {"type":"message_start","message":{"id":"m","type":"message","role":"assistant",'
    b'"content":[],"model":"a-model","usage":{"input_tokens":3,"output_tokens":0}}}\n\n',
    b'event: content_block_start\ndata: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}\n\n'
    b'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"same"}}\n\n'
    b'event: content_block_stop\ndata: {"type":"content_block_stop","index":0}\n\n'
    b'event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":1}}\n\n'
    b'event: message_stop\ndata: {"type":"message_stop"}\n\n',
]
REPLAY = {"x-xx-replay": "1"}


@pytest.fixture
def gw(make_gateway):
    up = ScriptedUpstream(default=Answer(200, [JSON], "application/json")).start()
    gateway = make_gateway(two_model_config(free_port(), up.url, up.url, models=("a",)))
    yield gateway, up
    up.stop()


def fire(url: str, n: int, body: dict, timeout: float = 20) -> list[httpx.Response]:
    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(lambda _: httpx.post(url, json=body, headers=REPLAY, timeout=timeout), range(n)))


@pytest.mark.parametrize("stream", [False, True])
def test_identical_requests_in_flight_make_one_upstream_call(gw, stream: bool) -> None:
    gateway, up = gw
    up.queue(Answer(200, SSE, stall=0.6) if stream else Answer(200, [JSON], "application/json", stall=0.6))
    answers = fire(f"{gateway.url}/v1/messages", 8, {**BODY, "stream": stream})
    assert len(up.seen) == 1
    assert {r.status_code for r in answers} == {200}
    assert len({r.content for r in answers}) == 1
    assert sum(r.headers.get("x-xx-replay") == "1" for r in answers) == 7
    rows = gateway.rows(at_least=8)
    assert sorted(r["cache_class"] == "REPLAY" for r in rows) == [False] + [True] * 7
    assert len(gateway.rt.coalescer) == 0 and gateway.rt.in_flight == 0
    # and afterwards the stored answer replays without an upstream call
    assert httpx.post(f"{gateway.url}/v1/messages", json={**BODY, "stream": stream}, headers=REPLAY).content \
        == answers[0].content
    assert len(up.seen) == 1


def test_a_failing_leader_lets_each_follower_call_upstream(gw) -> None:
    gateway, up = gw
    up.queue(Answer(500, [b'{"type":"error","error":{"type":"api_error","message":"boom"}}'], "application/json",
                    stall=0.6))
    answers = fire(f"{gateway.url}/v1/messages", 5, BODY)
    assert sorted(r.status_code for r in answers) == [200, 200, 200, 200, 502]
    assert len(up.seen) == 5  # the leader, then each follower on its own
    assert len(gateway.rt.coalescer) == 0 and gateway.rt.in_flight == 0


def test_a_leader_whose_client_leaves_releases_its_followers(gw) -> None:
    gateway, up = gw
    up.queue(Answer(200, [JSON], "application/json", stall=3.0))
    url = f"{gateway.url}/v1/messages"
    with ThreadPoolExecutor(4) as pool:
        leader = pool.submit(httpx.post, url, json=BODY, headers=REPLAY, timeout=0.5)
        wait_for(lambda: len(up.seen) == 1, 3, "the leader's upstream call")
        followers = [pool.submit(httpx.post, url, json=BODY, headers=REPLAY, timeout=10) for _ in range(3)]
        with pytest.raises(httpx.ReadTimeout):
            leader.result()
        assert [f.result().status_code for f in followers] == [200, 200, 200]
    rows = gateway.rows(at_least=4)
    assert sorted(r["outcome"] for r in rows) == ["aborted", "ok", "ok", "ok"]
    assert len(gateway.rt.coalescer) == 0 and gateway.rt.in_flight == 0
