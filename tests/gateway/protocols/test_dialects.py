"""Per-API request checks, error bodies, stream errors and usage extraction."""

from __future__ import annotations

import json
from typing import Any

import pytest

from gateway.exchange import Usage
from gateway.protocols import anthropic, gemini, openai_chat, responses
from gateway.protocols.sse import SSEDecoder

MSG = [{"role": "user", "content": "hi"}]


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ([], "JSON object"),
        ({"max_tokens": 10, "messages": MSG}, "`model` is required"),
        ({"model": "", "max_tokens": 10, "messages": MSG}, "`model` must be a non-empty string"),
        ({"model": "m", "messages": MSG}, "`max_tokens` is required"),
        (
            {"model": "m", "max_tokens": "10", "messages": MSG},
            "`max_tokens` must be an integer, got a string",
        ),
        ({"model": "m", "max_tokens": True, "messages": MSG}, "`max_tokens` must be an integer"),
        ({"model": "m", "max_tokens": 0, "messages": MSG}, "`max_tokens` must be >= 1"),
        ({"model": "m", "max_tokens": 10, "messages": []}, "`messages` must not be empty"),
        ({"model": "m", "max_tokens": 10, "messages": "hi"}, "`messages` must be an array"),
        (
            {"model": "m", "max_tokens": 10, "messages": [{"role": "robot", "content": "x"}]},
            "messages[0].role",
        ),
        (
            {"model": "m", "max_tokens": 10, "messages": [{"role": "user", "content": 5}]},
            "messages[0].content",
        ),
        (
            {
                "model": "m",
                "max_tokens": 10,
                "messages": [{"role": "user", "content": [{"type": "tool_use"}]}],
            },
            "needs `name`",
        ),
        ({"model": "m", "max_tokens": 10, "messages": MSG, "system": 3}, "`system` must be a string"),
        ({"model": "m", "max_tokens": 10, "messages": MSG, "system": [{"type": "text"}]}, "system[0]"),
        (
            {"model": "m", "max_tokens": 10, "messages": MSG, "stream": "yes"},
            "`stream` must be true or false",
        ),
        ({"model": "m", "max_tokens": 10, "messages": MSG, "tools": [{"description": "x"}]}, "tools[0]"),
    ],
)
def test_anthropic_validation(body: Any, needle: str) -> None:
    problem = anthropic.validate_request(body)
    assert problem is not None and needle in problem


def test_anthropic_validation_accepts_claude_code(claude_code_request: dict[str, Any]) -> None:
    assert anthropic.validate_request(claude_code_request) is None


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"messages": MSG}, "`model` is required"),
        ({"model": "m"}, "`messages` is required"),
        ({"model": "m", "messages": [{"role": "robot", "content": "x"}]}, "messages[0].role"),
        ({"model": "m", "messages": [{"role": "tool", "content": "x"}]}, "tool_call_id"),
        ({"model": "m", "messages": MSG, "max_tokens": 1.5}, "`max_tokens` must be an integer"),
        ({"model": "m", "messages": MSG, "tools": [{"type": "function"}]}, "tools[0]"),
        ({"model": "m", "messages": MSG, "tools": ["x"]}, "tools[0]"),
        ({"model": "m", "messages": MSG, "temperature": "hot"}, "`temperature` must be a number"),
    ],
)
def test_chat_validation(body: Any, needle: str) -> None:
    problem = openai_chat.validate_request(body)
    assert problem is not None and needle in problem
    assert openai_chat.validate_request({"model": "m", "messages": MSG, "max_tokens": 5}) is None


def test_responses_validation(codex_request: dict[str, Any]) -> None:
    assert responses.validate_request(codex_request) is None
    assert responses.validate_request({"model": "m", "input": "hi"}) is None
    assert "`input` is required" in (responses.validate_request({"model": "m"}) or "")
    assert "call_id" in (
        responses.validate_request({"model": "m", "input": [{"type": "function_call"}]}) or ""
    )
    assert "max_output_tokens" in (
        responses.validate_request({"model": "m", "input": "x", "max_output_tokens": "9"}) or ""
    )


def test_gemini_validation() -> None:
    ok = {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}
    assert gemini.validate_request(ok) is None
    assert "`contents` is required" in (gemini.validate_request({}) or "")
    assert "contents[0].role" in (gemini.validate_request({"contents": [{"role": "bot", "parts": []}]}) or "")
    assert "parts" in (gemini.validate_request({"contents": [{"role": "user", "parts": "x"}]}) or "")
    bad = {**ok, "generationConfig": {"maxOutputTokens": "a"}}
    assert "`generationConfig.maxOutputTokens` must be an integer" in (gemini.validate_request(bad) or "")


def test_error_bodies() -> None:
    assert anthropic.error_body(429, "slow down") == {
        "type": "error",
        "error": {"type": "rate_limit_error", "message": "slow down"},
    }
    assert anthropic.error_body(529, "busy")["error"]["type"] == "overloaded_error"
    assert anthropic.error_body(413, "big")["error"]["type"] == "request_too_large"
    assert anthropic.error_body(400, "x", "not_found_error")["error"]["type"] == "not_found_error"
    assert openai_chat.error_body(401, "bad key") == {
        "error": {
            "message": "bad key",
            "type": "authentication_error",
            "code": "invalid_api_key",
            "param": None,
        }
    }
    assert openai_chat.error_body(429, "x")["error"]["code"] == "rate_limit_exceeded"
    assert responses.error_body(500, "x")["error"]["type"] == "server_error"
    assert gemini.error_body(429, "quota") == {
        "error": {"code": 429, "message": "quota", "status": "RESOURCE_EXHAUSTED"}
    }
    assert gemini.error_body(404, "x")["error"]["status"] == "NOT_FOUND"


def _events(raw: bytes) -> list[Any]:
    dec = SSEDecoder()
    return dec.feed(raw) + dec.flush()


def test_stream_errors() -> None:
    [ev] = _events(anthropic.stream_error("boom", "overloaded_error"))
    assert ev.event == "error"
    assert json.loads(ev.data) == {"type": "error", "error": {"type": "overloaded_error", "message": "boom"}}
    evs = _events(openai_chat.stream_error("boom"))
    assert json.loads(evs[0].data)["error"]["message"] == "boom" and evs[1].data == "[DONE]"
    [ev] = _events(responses.stream_error("boom", response_id="resp_1", sequence_number=7))
    data = json.loads(ev.data)
    assert ev.event == "response.failed" and data["sequence_number"] == 7
    assert data["response"]["id"] == "resp_1" and data["response"]["error"]["message"] == "boom"
    [ev] = _events(gemini.stream_error("boom", "rate_limit_error"))
    assert json.loads(ev.data)["error"] == {"code": 429, "message": "boom", "status": "RESOURCE_EXHAUSTED"}


def test_usage_extraction() -> None:
    body = {
        "usage": {
            "input_tokens": 10,
            "cache_read_input_tokens": 1000,
            "cache_creation_input_tokens": 50,
            "output_tokens": 7,
        }
    }
    assert anthropic.usage_from_body(body) == Usage(1060, 7, 1000, 50, True)
    assert not anthropic.usage_from_body({}).reported
    start = {
        "type": "message_start",
        "message": {"usage": {"input_tokens": 3, "cache_read_input_tokens": 5, "output_tokens": 1}},
    }
    assert anthropic.usage_from_event("message_start", start) == Usage(8, 1, 5, 0, True)
    delta = anthropic.usage_from_event("message_delta", {"usage": {"output_tokens": 99}})
    assert delta is not None and (delta.input, delta.output) == (0, 99)
    assert anthropic.usage_from_event("content_block_delta", {}) is None

    chat = {
        "usage": {
            "prompt_tokens": 100,
            "completion_tokens": 9,
            "prompt_tokens_details": {"cached_tokens": 64},
        }
    }
    assert openai_chat.usage_from_body(chat) == Usage(100, 9, 64, 0, True)
    deepseek = {"usage": {"prompt_tokens": 100, "completion_tokens": 9, "prompt_cache_hit_tokens": 80}}
    assert openai_chat.usage_from_body(deepseek).cache_read == 80
    assert openai_chat.usage_from_event("message", {"choices": []}) is None
    assert openai_chat.usage_from_body({"usage": {"prompt_tokens": None}}).input == 0

    r = {"usage": {"input_tokens": 50, "input_tokens_details": {"cached_tokens": 40}, "output_tokens": 5}}
    assert responses.usage_from_body(r) == Usage(50, 5, 40, 0, True)
    assert responses.usage_from_event("response.completed", {"response": r}) == Usage(50, 5, 40, 0, True)
    assert responses.usage_from_event("response.output_text.delta", {"delta": "x"}) is None

    g = {
        "usageMetadata": {
            "promptTokenCount": 30,
            "candidatesTokenCount": 4,
            "thoughtsTokenCount": 6,
            "cachedContentTokenCount": 20,
        }
    }
    assert gemini.usage_from_body(g) == Usage(30, 10, 20, 0, True)
    assert gemini.usage_from_event("message", g) == Usage(30, 10, 20, 0, True)


def test_with_stream_usage() -> None:
    body = {"model": "m", "messages": MSG, "stream": True}
    assert openai_chat.with_stream_usage(body)["stream_options"] == {"include_usage": True}
    assert openai_chat.with_stream_usage({"model": "m", "messages": MSG}) == {"model": "m", "messages": MSG}


def test_token_estimates(claude_code_request: dict[str, Any], codex_request: dict[str, Any]) -> None:
    n = anthropic.estimate_tokens(claude_code_request)
    assert 2000 < n < 20000
    assert responses.estimate_tokens(codex_request) > 50
    assert openai_chat.estimate_tokens({"messages": [{"role": "user", "content": "x" * 400}]}) >= 100
    assert gemini.estimate_tokens({"contents": [{"parts": [{"text": "日本語のテキスト"}]}]}) >= 8
