"""The /_sim/ control API, driven over HTTP as the demo and subprocess tests do."""

from __future__ import annotations

import httpx

CHAT = {"model": "m", "messages": [{"role": "user", "content": "hello"}]}


def test_faults_queue_always_and_rate_over_http(simulator_thread) -> None:
    base = simulator_thread.url
    url = base + "/v1/chat/completions"
    r = httpx.post(base + "/_sim/faults", json={"model": "m", "faults": [{"kind": "rate_limit"}, {"status": 500}]})
    assert r.json() == {"ok": True, "model": "m", "queued": 2}
    assert [httpx.post(url, json=CHAT).status_code for _ in range(3)] == [429, 500, 200]
    httpx.post(base + "/_sim/faults", json={"model": "m", "always": {"kind": "overloaded"}})
    assert httpx.post(url, json=CHAT).status_code == 529
    httpx.post(base + "/_sim/faults", json={"model": "m", "always": None})
    assert httpx.post(url, json=CHAT).status_code == 200
    httpx.post(base + "/_sim/faults", json={"model": "m", "fail_rate": 1.0, "seed": 1})
    assert httpx.post(url, json=CHAT).status_code == 500
    state = httpx.get(base + "/_sim/state").json()
    assert state["faults"]["m"]["fail_rate"] == 1.0


def test_control_rejects_bad_input(simulator_thread) -> None:
    base = simulator_thread.url
    assert httpx.post(base + "/_sim/faults", json={"faults": []}).status_code == 400
    assert httpx.post(base + "/_sim/faults", json={"model": "m"}).status_code == 400
    r = httpx.post(base + "/_sim/faults", json={"model": "m", "faults": [{"kind": "explode"}]})
    assert r.status_code == 400 and "explode" in r.json()["error"]["message"]
    assert httpx.post(base + "/_sim/faults", content=b"{").status_code == 400
    assert httpx.post(base + "/_sim/script", json={"model": "m", "responses": [{"nothing": 1}]}).status_code == 400
    assert httpx.post(base + "/_sim/faults", json={"model": "m", "fail_rate": 2}).status_code == 400


def test_script_overrides_answers_in_order(simulator_thread) -> None:
    base = simulator_thread.url
    httpx.post(base + "/_sim/script", json={"model": "m", "responses": [
        {"text": "first scripted"}, {"tool": {"name": "grep", "arguments": {"q": "x"}}}]})  # fmt: skip
    url = base + "/v1/chat/completions"
    assert httpx.post(url, json=CHAT).json()["choices"][0]["message"]["content"] == "first scripted"
    choice = httpx.post(url, json=CHAT).json()["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"]["tool_calls"][0]["function"] == {"name": "grep", "arguments": '{"q": "x"}'}
    assert httpx.post(url, json=CHAT).json()["choices"][0]["message"]["content"] == "SIM-ANSWER(m): hello"


def test_calls_log_redacts_auth_and_reset_clears(simulator_thread) -> None:
    base = simulator_thread.url
    httpx.post(base + "/v1/messages", json={"model": "a", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]},
               headers={"x-api-key": "sk-secret-123", "X-Custom": "Yes"})  # fmt: skip
    httpx.post(base + "/v1/chat/completions?beta=true", json=CHAT, headers={"Authorization": "Bearer sk-zzz"})
    data = httpx.get(base + "/_sim/calls").json()
    assert data["counts"] == {"a": 1, "m": 1}
    first, second = data["requests"]
    assert first["path"] == "/v1/messages" and first["model"] == "a" and first["stream"] is False
    assert first["headers"]["x-api-key"] == "<redacted:13>" and first["headers"]["x-custom"] == "Yes"
    assert second["headers"]["authorization"] == "<redacted:13>"  # len("Bearer sk-zzz")
    assert "sk-" not in str(data)
    assert second["body"] == CHAT
    assert len(httpx.get(base + "/_sim/calls", params={"model": "a"}).json()["requests"]) == 1
    assert simulator_thread.calls() == 2
    httpx.post(base + "/_sim/reset")
    assert httpx.get(base + "/_sim/calls").json() == {"counts": {}, "requests": []}


def test_log_is_bounded(simulator_thread) -> None:
    url = simulator_thread.url + "/v1/chat/completions"
    with httpx.Client() as c:
        for _ in range(520):
            c.post(url, json=CHAT)
    assert len(simulator_thread.requests()) == 500
    assert simulator_thread.calls("m") == 520


def test_cache_stats_over_http(simulator_thread) -> None:
    body = {"model": "m", "messages": [{"role": "system", "content": "z" * 6000}, {"role": "user", "content": "q"}]}
    for _ in range(2):
        httpx.post(simulator_thread.url + "/v1/chat/completions", json=body)
    stats = httpx.get(simulator_thread.url + "/_sim/cache").json()
    assert stats["min_tokens"] == 1024
    assert stats["models"]["m"]["hits"] == 1 and stats["models"]["m"]["read_tokens"] >= 1024
