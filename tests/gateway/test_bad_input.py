"""Malformed requests get a 4xx in the endpoint's own dialect; never a 500; the gateway keeps serving."""

from __future__ import annotations

import httpx
import pytest
from support.servers import GatewayThread, free_port

from gateway.config import parse

CONFIG = """
[gateway]
port = {port}
body_limit_mb = 1
[providers.a]
protocol = "anthropic"
base_url = "http://127.0.0.1:9"
[providers.o]
protocol = "openai"
base_url = "http://127.0.0.1:9/v1"
[models.ma]
provider = "a"
[models.mo]
provider = "o"
[tiers.free]
letter = "f"
big = ["ma", "mo"]
"""

MSG = {"model": "m", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}
CHAT = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}

# (method, path, body bytes or json, expected status, dialect)
CASES = [
    ("POST", "/v1/messages", b"{not json", 400, "anthropic"),
    ("POST", "/v1/messages", b"[1, 2]", 400, "anthropic"),
    ("POST", "/v1/messages", b"", 400, "anthropic"),
    ("POST", "/v1/messages", {**MSG, "model": 5}, 400, "anthropic"),
    ("POST", "/v1/messages", {k: v for k, v in MSG.items() if k != "model"}, 400, "anthropic"),
    ("POST", "/v1/messages", {**MSG, "messages": []}, 400, "anthropic"),
    ("POST", "/v1/messages", {**MSG, "messages": "hi"}, 400, "anthropic"),
    ("POST", "/v1/messages", {**MSG, "max_tokens": "ten"}, 400, "anthropic"),
    ("POST", "/v1/messages", {**MSG, "stream": "yes"}, 400, "anthropic"),
    ("POST", "/v1/messages", {**MSG, "messages": [5]}, 400, "anthropic"),
    ("POST", "/v1/chat/completions", b"\xff\xfe garbage", 400, "openai"),
    ("POST", "/v1/chat/completions", {"messages": CHAT["messages"]}, 400, "openai"),
    ("POST", "/v1/chat/completions", {**CHAT, "messages": None}, 400, "openai"),
    ("POST", "/v1/responses", {"model": "m"}, 400, "openai"),
    ("POST", "/v1/responses", {"model": "m", "input": 42}, 400, "openai"),
    ("POST", "/v1/messages", b'{"model": "m", "pad": "' + b"x" * (2 * 1024 * 1024) + b'"}', 413, "anthropic"),
    ("POST", "/v1/nothing/here", CHAT, 404, "openai"),
    ("GET", "/v1/messages", None, 405, "anthropic"),
    ("DELETE", "/v1/chat/completions", None, 405, "openai"),
    ("POST", "/x/claude/q/free/v1/messages", MSG, 404, "anthropic"),
    ("POST", "/x/claude/p/nosuchtier/v1/messages", MSG, 400, "anthropic"),
    ("POST", "/x/claude/b/free/v1/messages", {**MSG, "model": "not-configured"}, 404, "anthropic"),
]


@pytest.fixture(scope="module")
def gw(tmp_path_factory: pytest.TempPathFactory):
    port = free_port()
    g = GatewayThread(parse(CONFIG.format(port=port), env={}), tmp_path_factory.mktemp("l") / "l.db").start()
    yield g
    g.stop()


@pytest.mark.parametrize(("method", "path", "body", "status", "dialect"), CASES, ids=[f"{c[0]} {c[1]} {str(c[2])[:30]}" for c in CASES])
def test_bad_input_gets_dialect_4xx(gw, method: str, path: str, body, status: int, dialect: str) -> None:
    kw = {"content": body} if isinstance(body, bytes) else ({"json": body} if body is not None else {})
    r = httpx.request(method, gw.url + path, timeout=10, **kw)
    assert r.status_code == status, r.text
    err = r.json()
    if dialect == "anthropic":
        assert err["type"] == "error" and err["error"]["message"] and err["error"]["type"]
    else:
        assert err["error"]["message"] and err["error"]["type"]
    assert httpx.get(gw.url + "/health", timeout=5).status_code == 200


def test_unknown_tier_names_the_tiers(gw) -> None:
    r = httpx.post(gw.url + "/x/claude/p/zz/v1/messages", json=MSG, timeout=10)
    assert "free f" in r.json()["error"]["message"]


def test_unreachable_upstream_is_a_clean_502(gw) -> None:
    r = httpx.post(gw.url + "/v1/messages", json=MSG, timeout=10)
    assert r.status_code == 502
    assert "every candidate failed" in r.json()["error"]["message"]


ODD_SHAPES = [  # pass validation, then used to crash a translator into a 500 (found by fuzzing)
    ("/v1/messages", {**MSG, "messages": [{"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": "a", "content": [5]}]}]}),
    ("/v1beta/models/m:generateContent", {"contents": [{"role": "user", "parts": [{"inlineData": 1}]}]}),
]


@pytest.mark.parametrize(("path", "body"), ODD_SHAPES, ids=[p for p, _ in ODD_SHAPES])
def test_a_body_of_an_odd_shape_is_a_400_not_a_500(gw, path: str, body: dict) -> None:
    r = httpx.post(gw.url + path, json=body, timeout=10)
    assert r.status_code == 400 and "malformed request: a field has an unexpected shape" in r.text, r.text
    assert httpx.get(gw.url + "/health", timeout=5).status_code == 200


@pytest.mark.parametrize(("path", "status"), [("/v1/nothing/here", 404), ("/x/claude/p/nosuchtier/v1/messages", 400)])
def test_an_early_answer_leaves_the_connection_usable(gw, path: str, status: int) -> None:
    """Answered before the body arrived, the connection used to be dropped without a word, so the client's next
    request on it (SDKs pool connections) failed with "Server disconnected"."""
    import http.client
    import json
    import time

    host, port = gw.url.split("//")[1].split(":")
    body = json.dumps(MSG).encode()
    failed = 0
    for _ in range(10):
        conn = http.client.HTTPConnection(host, int(port), timeout=5)
        conn.putrequest("POST", path)
        conn.putheader("content-type", "application/json")
        conn.putheader("content-length", str(len(body)))
        conn.endheaders()
        time.sleep(0.005)  # the body comes a moment after the headers, as over a real network
        conn.send(body)
        first = conn.getresponse()
        first.read()
        assert first.status == status
        try:
            conn.request("GET", "/health")
            second = conn.getresponse()
            second.read()
            failed += second.status != 200
        except (OSError, http.client.HTTPException):
            failed += 1
        conn.close()
    assert failed == 0, f"{failed} of 10 connections were dropped after a {status}"


def test_only_a_missing_model_is_model_not_found(gw) -> None:
    """OpenAI clients branch on the code: an unknown endpoint is not an unknown model."""
    nowhere = httpx.post(gw.url + "/v1/nothing/here", json=CHAT, timeout=10).json()["error"]
    assert nowhere["type"] == "not_found_error" and nowhere["code"] != "model_not_found", nowhere
    model = httpx.post(gw.url + "/x/test/b/free/v1/chat/completions", json={**CHAT, "model": "nope"}, timeout=10)
    assert model.status_code == 404 and model.json()["error"]["code"] == "model_not_found", model.text


NOTHING_TO_CARRY = [  # every part of an unknown type: translation used to send `messages: []` upstream
    ("/v1/responses", {"model": "m", "input": [{"type": "item_reference", "id": "msg_1"}]}),
    ("/v1/responses", {"model": "m", "input": [{"type": "nope"}]}),
    ("/v1beta/models/m:generateContent", {"contents": [{"role": "user", "parts": [{"nope": 1}]}]}),
    ("/v1/messages", {**MSG, "messages": [{"role": "user", "content": [{"type": "nope"}]}]}),
]


@pytest.mark.parametrize(("path", "body"), NOTHING_TO_CARRY, ids=[str(b)[:40] for _, b in NOTHING_TO_CARRY])
def test_a_request_with_nothing_translatable_is_refused_here(gw, path: str, body: dict) -> None:
    r = httpx.post(gw.url + path, json=body, timeout=10)
    assert r.status_code == 400 and "nothing in this request can be carried" in r.text, r.text
