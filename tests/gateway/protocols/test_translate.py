"""Responses and Gemini translations, the dispatch helper, thinking hygiene, token counts."""

from __future__ import annotations

import json
from typing import Any

import pytest

from gateway.protocols import count_tokens, gemini_translate
from gateway.protocols import responses_translate as rt
from gateway.protocols.dispatch import translate_request, translate_response
from gateway.protocols.errors import TranslationError
from gateway.protocols.thinking import drop_foreign_thinking, merge_details, mint_signature, read_signature


def test_codex_request_to_chat(codex_request: dict[str, Any]) -> None:
    out = translate_request(
        codex_request, "responses", "openai", model="qwen/qwen3-next-80b-a3b-instruct:free"
    )
    msgs = out["messages"]
    assert msgs[0] == {"role": "system", "content": codex_request["instructions"]}
    assert [m["role"] for m in msgs] == [
        "system",
        "system",
        "user",
        "user",
        "assistant",
        "tool",
        "assistant",
        "user",
    ]
    assert msgs[1]["content"].startswith("<permissions instructions>")  # developer -> system
    call = msgs[4]["tool_calls"][0]
    assert call == {
        "id": "call_Q1",
        "type": "function",
        "function": {"name": "shell", "arguments": '{"command":["pytest","-q"]}'},
    }
    assert "reasoning_details" not in msgs[4]  # OpenAI's encrypted reasoning is not ours to pass on
    assert msgs[5] == {"role": "tool", "tool_call_id": "call_Q1", "content": "3 passed in 0.1s"}
    assert msgs[6]["content"] == "All 3 tests pass."
    assert [t["function"]["name"] for t in out["tools"]] == [
        "shell",
        "update_plan",
    ]  # web_search has no Chat form
    assert out["tools"][0]["function"]["strict"] is False
    assert out["prompt_cache_key"] == codex_request["prompt_cache_key"]
    assert out["parallel_tool_calls"] is False and out["tool_choice"] == "auto"
    assert out["reasoning_effort"] == "medium"
    assert out["stream"] is True and out["stream_options"] == {"include_usage": True}


def test_codex_request_to_anthropic(codex_request: dict[str, Any]) -> None:
    out = translate_request(codex_request, "responses", "anthropic", model="claude-sonnet-4-5")
    assert out["system"].startswith("You are Codex") and "<permissions instructions>" in out["system"]
    assert [m["role"] for m in out["messages"]] == ["user", "assistant", "user", "assistant", "user"]
    assert out["messages"][0]["content"][1]["text"] == "run the tests"
    assert out["messages"][1]["content"] == [
        {"type": "tool_use", "id": "call_Q1", "name": "shell", "input": {"command": ["pytest", "-q"]}}
    ]
    assert out["messages"][2]["content"] == [
        {"type": "tool_result", "tool_use_id": "call_Q1", "content": "3 passed in 0.1s"}
    ]
    assert "prompt_cache_key" not in out
    assert out["thinking"] == {"type": "enabled", "budget_tokens": 8192} and out["stream"] is True


def test_previous_response_id_is_a_clear_400() -> None:
    with pytest.raises(TranslationError, match="previous_response_id") as info:
        translate_request(
            {"model": "m", "input": "hi", "previous_response_id": "resp_1"}, "responses", "openai", model="x"
        )
    assert info.value.status == 400


def test_our_reasoning_item_goes_back_as_reasoning_details() -> None:
    details = [{"type": "reasoning.encrypted", "data": "zzz", "index": 0}]
    body = {
        "model": "m",
        "input": [
            {"type": "message", "role": "user", "content": "q"},
            {
                "type": "reasoning",
                "summary": [{"type": "summary_text", "text": "plan"}],
                "encrypted_content": mint_signature("moonshotai/kimi", field="reasoning", details=details),
            },
            {"type": "function_call", "call_id": "c1", "name": "shell", "arguments": "{}"},
        ],
    }
    msgs = rt.request_to_chat(body, model="moonshotai/kimi")["messages"]
    assert msgs[1]["reasoning_details"] == details and msgs[1]["reasoning"] == "plan"
    assert msgs[1]["tool_calls"][0]["id"] == "c1"
    assert "reasoning_details" not in rt.request_to_chat(body, model="other")["messages"][1]


def test_chat_request_to_responses_upstream() -> None:
    body = {
        "model": "m",
        "max_tokens": 50,
        "stream": True,
        "prompt_cache_key": "k",
        "messages": [
            {"role": "system", "content": "sys"},
            {"role": "user", "content": "q"},
            {
                "role": "assistant",
                "content": "a",
                "tool_calls": [
                    {"id": "c1", "type": "function", "function": {"name": "f", "arguments": '{"x":1}'}}
                ],
            },
            {"role": "tool", "tool_call_id": "c1", "content": "r"},
        ],
        "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}],
        "tool_choice": {"type": "function", "function": {"name": "f"}},
    }
    out = translate_request(body, "openai", "responses", model="gpt-5")
    assert out["instructions"] == "sys" and out["max_output_tokens"] == 50 and out["store"] is False
    assert [i["type"] for i in out["input"]] == [
        "message",
        "message",
        "function_call",
        "function_call_output",
    ]
    assert out["tools"] == [{"type": "function", "name": "f", "parameters": {"type": "object"}}]
    assert out["tool_choice"] == {"type": "function", "name": "f"} and out["prompt_cache_key"] == "k"


def test_responses_bodies() -> None:
    chat = {
        "id": "gen-1",
        "model": "kimi",
        "choices": [
            {
                "finish_reason": "tool_calls",
                "message": {
                    "content": "ok",
                    "reasoning_content": "why",
                    "tool_calls": [
                        {"id": "c1", "function": {"name": "shell", "arguments": '{"command":["ls"]}'}}
                    ],
                },
            }
        ],
        "usage": {"prompt_tokens": 10, "completion_tokens": 2, "prompt_tokens_details": {"cached_tokens": 4}},
    }
    out = translate_response(chat, "openai", "responses", requested_model="gpt-5-codex")
    assert out["object"] == "response" and out["status"] == "completed" and out["model"] == "gpt-5-codex"
    assert [o["type"] for o in out["output"]] == ["reasoning", "message", "function_call"]
    assert out["output"][2]["call_id"] == "c1" and json.loads(out["output"][2]["arguments"]) == {
        "command": ["ls"]
    }
    assert read_signature(out["output"][0]["encrypted_content"]) == {"m": "kimi", "f": "reasoning_content"}
    assert out["usage"]["input_tokens"] == 10 and out["usage"]["input_tokens_details"]["cached_tokens"] == 4

    back = translate_response(out, "responses", "anthropic", requested_model="claude")
    kinds = [b["type"] for b in back["content"]]  # the reasoning item is kept (issue 18, defect 5)
    assert kinds == ["thinking", "text", "tool_use"] and back["stop_reason"] == "tool_use"
    assert back["usage"]["cache_read_input_tokens"] == 4 and back["usage"]["input_tokens"] == 6
    cut = translate_response(
        {"choices": [{"finish_reason": "length", "message": {"content": "x"}}]},
        "openai",
        "responses",
        requested_model="m",
    )
    assert cut["status"] == "incomplete" and cut["incomplete_details"] == {"reason": "max_output_tokens"}


GEMINI_ROUTER = {
    "contents": [{"role": "user", "parts": [{"text": "Classify: fix the typo in README"}]}],
    "systemInstruction": {"role": "user", "parts": [{"text": "You are a router."}]},
    "generationConfig": {
        "temperature": 0,
        "maxOutputTokens": 1024,
        "responseMimeType": "application/json",
        "responseJsonSchema": {
            "type": "object",
            "properties": {
                "reasoning": {"type": "string"},
                "model_choice": {"type": "string", "enum": ["flash", "pro"]},
            },
            "required": ["reasoning", "model_choice"],
        },
        "thinkingConfig": {"thinkingBudget": 512},
    },
}


def test_gemini_router_call_keeps_its_schema() -> None:
    out = translate_request(GEMINI_ROUTER, "gemini", "openai", model="nvidia/nemotron-nano:free")
    assert out["messages"] == [
        {"role": "system", "content": "You are a router."},
        {"role": "user", "content": "Classify: fix the typo in README"},
    ]
    assert out["response_format"]["type"] == "json_schema"
    assert out["response_format"]["json_schema"]["schema"]["required"] == ["reasoning", "model_choice"]
    assert out["max_tokens"] == 1024 and out["temperature"] == 0 and out["reasoning_effort"] == "low"
    assert "stream" not in out
    assert translate_request(GEMINI_ROUTER, "gemini", "openai", model="m", stream=True)["stream_options"] == {
        "include_usage": True
    }


def test_gemini_tool_turns() -> None:
    body = {
        "contents": [
            {
                "role": "user",
                "parts": [{"text": "list"}, {"inlineData": {"mimeType": "image/png", "data": "AAA"}}],
            },
            {
                "role": "model",
                "parts": [
                    {"text": "thinking", "thought": True},
                    {"functionCall": {"name": "run_shell_command", "args": {"command": "ls"}}},
                    {"functionCall": {"name": "read_file", "args": {"path": "a"}}},
                ],
            },
            {
                "role": "user",
                "parts": [
                    {"functionResponse": {"name": "run_shell_command", "response": {"output": "a b"}}},
                    {"functionResponse": {"name": "read_file", "response": {"output": "text"}}},
                ],
            },
        ],
        "tools": [
            {
                "functionDeclarations": [
                    {
                        "name": "run_shell_command",
                        "description": "Runs",
                        "parameters": {"type": "OBJECT", "properties": {"command": {"type": "STRING"}}},
                    },
                    {
                        "name": "read_file",
                        "parametersJsonSchema": {
                            "type": "object",
                            "properties": {"path": {"type": "string"}},
                        },
                    },
                ]
            }
        ],
        "toolConfig": {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["read_file"]}},
    }
    out = gemini_translate.request_to_chat(body, model="m")
    msgs = out["messages"]
    assert msgs[0]["content"][1] == {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAA"}}
    assert msgs[1]["content"] is None and [c["id"] for c in msgs[1]["tool_calls"]] == ["call_1_0", "call_1_1"]
    assert msgs[2] == {"role": "tool", "tool_call_id": "call_1_0", "content": '{"output":"a b"}'}
    assert msgs[3]["tool_call_id"] == "call_1_1"
    assert out["tools"][0]["function"]["parameters"] == {
        "type": "object",
        "properties": {"command": {"type": "string"}},
    }
    assert out["tool_choice"] == {"type": "function", "function": {"name": "read_file"}}
    to_anthropic = translate_request(body, "gemini", "anthropic", model="claude")
    assert [m["role"] for m in to_anthropic["messages"]] == ["user", "assistant", "user"]


def test_gemini_response_body() -> None:
    chat = {
        "choices": [{"finish_reason": "stop", "message": {"content": '{"model_choice":"flash"}'}}],
        "usage": {
            "prompt_tokens": 40,
            "completion_tokens": 8,
            "prompt_tokens_details": {"cached_tokens": 32},
        },
    }
    out = translate_response(chat, "openai", "gemini", requested_model="gemini-3.5-flash-lite")
    cand = out["candidates"][0]
    assert cand["content"] == {"role": "model", "parts": [{"text": '{"model_choice":"flash"}'}]}
    assert cand["finishReason"] == "STOP" and out["modelVersion"] == "gemini-3.5-flash-lite"
    assert out["usageMetadata"] == {
        "promptTokenCount": 40,
        "candidatesTokenCount": 8,
        "totalTokenCount": 48,
        "cachedContentTokenCount": 32,
    }


def test_identity_and_unknown_protocols() -> None:
    body = {"model": "a", "messages": []}
    assert translate_request(body, "openai", "openai", model="a") is body
    assert translate_request(body, "openai", "openai", model="b")["model"] == "b"
    assert translate_response(body, "anthropic", "anthropic", requested_model="x") is body
    with pytest.raises(TranslationError):
        translate_request(body, "openai", "gemini", model="x")
    with pytest.raises(TranslationError):
        translate_response(body, "gemini", "openai", requested_model="x")


def _thinking_body(signature: str) -> dict[str, Any]:
    return {
        "model": "m",
        "max_tokens": 5,
        "messages": [
            {"role": "user", "content": "q"},
            {
                "role": "assistant",
                "content": [
                    {"type": "thinking", "thinking": "t", "signature": signature},
                    {"type": "redacted_thinking", "data": "xyz"},
                    {"type": "text", "text": "a"},
                ],
            },
        ],
    }


def test_drop_foreign_thinking() -> None:
    ours = mint_signature("moonshotai/kimi")
    same = _thinking_body(ours)
    drop_foreign_thinking(same, "anthropic", "moonshotai/kimi", target="openai")
    assert [b["type"] for b in same["messages"][1]["content"]] == [
        "thinking",
        "text",
    ]  # redacted: Anthropic's
    same = _thinking_body(ours)
    assert drop_foreign_thinking(
        same, "anthropic", "moonshotai/kimi", target="anthropic"
    )  # no real API takes it
    other = _thinking_body(ours)
    assert drop_foreign_thinking(other, "anthropic", "claude-sonnet-4-5")
    assert [b["type"] for b in other["messages"][1]["content"]] == ["redacted_thinking", "text"]
    genuine = _thinking_body("EqQBCgIYAhIM")
    assert not drop_foreign_thinking(genuine, "anthropic", "claude-sonnet-4-5")  # Anthropic judges its own
    assert drop_foreign_thinking(genuine, "anthropic", "kimi", target="openai")
    assert [b["type"] for b in genuine["messages"][1]["content"]] == ["text"]
    chat = {
        "messages": [
            {"role": "assistant", "content": "a", "reasoning_details": [{}], "reasoning_content": "r"}
        ]
    }
    assert drop_foreign_thinking(chat, "openai", "x", target="anthropic")
    assert chat["messages"][0] == {"role": "assistant", "content": "a"}
    resp = {"input": [{"type": "reasoning", "encrypted_content": "e"}, {"type": "message", "role": "user"}]}
    assert drop_foreign_thinking(resp, "responses", "x", target="openai") and len(resp["input"]) == 1


def test_signature_and_details_helpers() -> None:
    assert read_signature("xx1.!!!") is None and read_signature(None) is None
    merged = merge_details(
        [
            {"type": "reasoning.text", "text": "a", "index": 0},
            {"type": "reasoning.text", "text": "b", "index": 0, "signature": "s"},
            {"type": "reasoning.encrypted", "data": "d", "index": 1},
        ]
    )
    assert merged == [
        {"type": "reasoning.text", "text": "ab", "index": 0, "signature": "s"},
        {"type": "reasoning.encrypted", "data": "d", "index": 1},
    ]


def test_count_tokens(claude_code_request: dict[str, Any]) -> None:
    base = count_tokens.estimate(claude_code_request, "anthropic")
    bigger = {
        **claude_code_request,
        "messages": [*claude_code_request["messages"], {"role": "assistant", "content": "word " * 400}],
    }
    assert count_tokens.estimate(bigger, "anthropic") - base in range(480, 530)
    no_tools = {**claude_code_request, "tools": []}
    assert base - count_tokens.estimate(no_tools, "anthropic") > 24 * 100
    image = {
        "messages": [
            {
                "role": "user",
                "content": [
                    {
                        "type": "image",
                        "source": {"type": "base64", "media_type": "image/png", "data": "A" * 100000},
                    }
                ],
            }
        ]
    }
    assert (
        count_tokens.estimate(image, "anthropic") == count_tokens.IMAGE_TOKENS + count_tokens.MESSAGE_OVERHEAD
    )
    assert count_tokens.estimate({"messages": [{"role": "user", "content": "你好世界"}]}, "openai") == 4 + 4
    assert count_tokens.estimate("junk", "anthropic") == 0  # type: ignore[arg-type]


def test_codex_custom_tools_become_functions_with_an_input_string() -> None:
    body = {
        "model": "m",
        "input": [
            {"type": "message", "role": "user", "content": "patch it"},
            {
                "type": "custom_tool_call",
                "call_id": "c9",
                "name": "apply_patch",
                "input": "*** Begin Patch\n*** End Patch",
            },
            {"type": "custom_tool_call_output", "call_id": "c9", "output": "Done!"},
        ],
        "tools": [
            {
                "type": "custom",
                "name": "apply_patch",
                "description": "Apply a patch.",
                "format": {"type": "grammar", "syntax": "lark", "definition": "start: begin_patch"},
            }
        ],
    }
    out = rt.request_to_chat(body, model="m")
    fn = out["tools"][0]["function"]
    assert fn["name"] == "apply_patch" and fn["parameters"]["required"] == ["input"]
    assert "start: begin_patch" in fn["description"]
    call = out["messages"][1]["tool_calls"][0]
    assert json.loads(call["function"]["arguments"]) == {"input": "*** Begin Patch\n*** End Patch"}
    assert out["messages"][2] == {"role": "tool", "tool_call_id": "c9", "content": "Done!"}
