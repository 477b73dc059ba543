from __future__ import annotations

import json

import pytest

from gateway.routing.affinity import Affinity, session_key

CLAUDE_SID = "5f0c9c1e-7d3a-4b8e-9a51-2f6d1c0e8b77"
CODEX_SID = "019a7c2e-5b1f-7e30-8c4d-6a2b9e1f0d35"


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def claude_body(user_id: str | None) -> dict:
    body: dict = {"model": "xx-big", "max_tokens": 32000, "messages": [{"role": "user", "content": "hi"}]}
    if user_id is not None:
        body["metadata"] = {"user_id": user_id}
    return body


def test_claude_code_header() -> None:
    k = session_key({"X-Claude-Code-Session-Id": CLAUDE_SID, "x-app": "cli"}, claude_body(None), "anthropic")
    assert k is not None and len(k) == 16
    assert CLAUDE_SID not in k
    assert k == session_key({"x-claude-code-session-id": CLAUDE_SID}, {}, "anthropic")


def test_claude_code_metadata_user_id_json_matches_the_header() -> None:
    uid = json.dumps({"device_id": "d" * 64, "account_uuid": "", "session_id": CLAUDE_SID})
    from_body = session_key({}, claude_body(uid), "anthropic")
    assert from_body == session_key({"x-claude-code-session-id": CLAUDE_SID}, {}, "anthropic")


def test_claude_code_metadata_user_id_legacy_form() -> None:
    uid = f"user_{'a' * 64}_account__session_{CLAUDE_SID}"
    assert session_key({}, claude_body(uid), "anthropic") == session_key(
        {"x-claude-code-session-id": CLAUDE_SID}, {}, "anthropic"
    )
    assert session_key({}, claude_body("user_abc"), "anthropic") is None
    assert session_key({}, claude_body("{not json"), "anthropic") is None


def test_codex_header_and_prompt_cache_key_name_the_same_conversation() -> None:
    h = {"originator": "codex_exec", "session-id": CODEX_SID, "thread-id": CODEX_SID}
    body = {"model": "xx-big", "input": [], "prompt_cache_key": CODEX_SID}
    assert session_key(h, body, "responses") == session_key({}, body, "responses")


@pytest.mark.parametrize(
    ("headers", "endpoint"),
    [
        ({"x-session-affinity": "ses_4d2a9f0c1b7e", "x-session-id": "ses_4d2a9f0c1b7e"}, "openai"),
        ({"x-session-id": "ses_4d2a9f0c1b7e"}, "openai"),
        ({"session_id": "8c1f2a7e-0d9b-4c3e-a6f5-1b2d3e4f5a6b", "x-client-request-id": "r1"}, "responses"),
        ({"x-xx-session": "launcher-given"}, "openai"),
    ],
)
def test_other_agents(headers: dict[str, str], endpoint: str) -> None:
    k = session_key(headers, {"model": "m"}, endpoint)
    assert k is not None
    assert all(v not in k for v in headers.values())


def test_none_when_no_id() -> None:
    assert session_key({"user-agent": "OpenAI/Python 2.24.0"}, {"model": "m", "messages": []}, "openai") is None
    assert session_key({}, {"contents": []}, "gemini") is None


def test_different_conversations_differ() -> None:
    a = session_key({"x-claude-code-session-id": "one"}, {}, "anthropic")
    b = session_key({"x-claude-code-session-id": "two"}, {}, "anthropic")
    assert a != b


def test_lookup_remember_per_role() -> None:
    aff = Affinity(clock=Clock())
    aff.remember("s", "big", "kimi")
    aff.remember("s", "small", "nano")
    assert aff.lookup("s", "big") == "kimi"
    assert aff.lookup("s", "small") == "nano"
    assert aff.lookup("s", "middle") is None
    assert aff.lookup(None, "big") is None
    aff.remember(None, "big", "kimi")  # no session: nothing stored
    assert len(aff) == 2


def test_ttl_expires() -> None:
    clock = Clock()
    aff = Affinity(ttl_s=3600, clock=clock)
    aff.remember("s", "big", "kimi")
    clock.t += 3600
    assert aff.lookup("s", "big") == "kimi"
    clock.t += 0.001
    assert aff.lookup("s", "big") is None
    assert len(aff) == 0


def test_lru_bound_evicts_least_recently_served() -> None:
    aff = Affinity(max_sessions=3, clock=Clock())
    for s in ("a", "b", "c"):
        aff.remember(s, "big", "m")
    aff.remember("a", "big", "m2")  # a is fresh again
    aff.remember("d", "big", "m")
    assert len(aff) == 3
    assert aff.lookup("b", "big") is None
    assert aff.lookup("a", "big") == "m2"


def test_forget_model() -> None:
    aff = Affinity(clock=Clock())
    aff.remember("a", "big", "gone")
    aff.remember("b", "big", "kept")
    aff.forget_model("gone")
    assert aff.lookup("a", "big") is None and aff.lookup("b", "big") == "kept"
