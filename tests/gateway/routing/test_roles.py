"""The role table, from the request shapes real agents send (reference/agents.md §3, §4, §5.10)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from gateway.config import Tier
from gateway.routing.roles import classify, launcher_role

PLAIN = Tier("free", "f", {"big": ("a",), "middle": ("b",), "small": ("c",)})
FULL = Tier("all", "a", {r: ("a",) for r in ("big", "middle", "small", "long", "think", "web")})
LONG = 20_000

# -- Claude Code (Anthropic Messages, POST /v1/messages?beta=true) ----------------------

CC_HEADERS = {
    "user-agent": "claude-cli/2.1.197 (external, sdk-cli)",
    "x-app": "cli",
    "x-claude-code-session-id": "5f0c9c1e-7d3a-4b8e-9a51-2f6d1c0e8b77",
    "anthropic-beta": "claude-code-20250219,interleaved-thinking-2025-05-14,fine-grained-tool-streaming-2025-05-14",
    "anthropic-version": "2023-06-01",
}
CC_SYSTEM = [
    {"type": "text", "text": "x-anthropic-billing-header: cc_version=2.1.197.a1b; cc_entrypoint=sdk-cli; cch=9f3e1;"},
    {"type": "text", "text": "You are Claude Code, Anthropic's official CLI for Claude.", "cache_control": {"type": "ephemeral"}},
    {"type": "text", "text": "You are an interactive agent that helps users with software engineering tasks..."},
]
CC_TOOLS = [
    {"name": "Bash", "description": "Executes a given bash command...", "input_schema": {"type": "object", "properties": {"command": {"type": "string"}}, "required": ["command"]}},
    {"name": "Read", "description": "Reads a file from the local filesystem.", "input_schema": {"type": "object", "properties": {"file_path": {"type": "string"}}}},
    {"name": "WebSearch", "description": "Allows Claude to search the web...", "input_schema": {"type": "object", "properties": {"query": {"type": "string"}}}},
]
CC_META = {"user_id": json.dumps({"device_id": "3b" * 32, "account_uuid": "", "session_id": "5f0c9c1e-7d3a-4b8e-9a51-2f6d1c0e8b77"})}


def cc(model: str, messages: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    body = {"model": model, "max_tokens": 32000, "stream": True, "system": CC_SYSTEM, "messages": messages, "tools": CC_TOOLS, "metadata": CC_META}
    body.update(extra)
    return body


CC_USER = [{"role": "user", "content": [{"type": "text", "text": "<system-reminder>\nAs you answer the user's questions, you can use the following context...\n</system-reminder>"}, {"type": "text", "text": "fix the failing test in tests/test_api.py", "cache_control": {"type": "ephemeral"}}]}]
CC_TOOL_TURN = [
    *CC_USER,
    {"role": "assistant", "content": [{"type": "text", "text": "Let me run the tests."}, {"type": "tool_use", "id": "toolu_01A", "name": "Bash", "input": {"command": "pytest -q"}}]},
    {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_01A", "content": "1 failed, 12 passed"}]},
]
CC_HAIKU = {
    "model": "claude-haiku-4-5-20251001",
    "max_tokens": 512,
    "system": [{"type": "text", "text": "Summarize this coding conversation in under 50 characters.\nCapture the main task, key files, problems addressed, and current status."}],
    "messages": [{"role": "user", "content": "Please write a 5-10 word title for the following conversation: ..."}],
    "metadata": CC_META,
    "stream": True,
}
CC_WEBSEARCH = {
    "model": "claude-sonnet-4-6",
    "max_tokens": 32000,
    "system": CC_SYSTEM[:2],
    "messages": [{"role": "user", "content": "Perform a web search for the query: python 3.14 release date"}],
    "tools": [{"type": "web_search_20250305", "name": "web_search", "max_uses": 8}],
    "stream": True,
}
CC_THINKING = {"thinking": {"type": "enabled", "budget_tokens": 31999}}

# -- Codex (Responses, POST /v1/responses) -----------------------------------------------

CODEX_HEADERS = {"user-agent": "codex_exec/0.169.0 (Debian 12.0.0; x86_64) dumb (codex_exec; 0.169.0)", "originator": "codex_exec", "session-id": "019a7c2e-5b1f-7e30-8c4d-6a2b9e1f0d35"}
CODEX_INPUT = [
    {"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "<permissions instructions>\nFilesystem sandboxing defines which files can be read or written..."}]},
    {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "<environment_context>\n  <cwd>/work/app</cwd>\n  <shell>bash</shell>\n</environment_context>"}]},
    {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "say hi"}]},
]
CODEX_TOOLS = [
    {"type": "function", "name": "shell", "description": "Runs a shell command and returns its output.", "strict": False, "parameters": {"type": "object", "properties": {"command": {"type": "array", "items": {"type": "string"}}}, "required": ["command"]}},
    {"type": "function", "name": "update_plan", "description": "Updates the task plan.", "strict": False, "parameters": {"type": "object", "properties": {}}},
]


def codex(model: str, input_: list[dict[str, Any]], effort: str = "medium", **extra: Any) -> dict[str, Any]:
    body = {
        "model": model,
        "instructions": "You are Codex, based on GPT-5. You are running as a coding agent in the Codex CLI on a user's computer.",
        "input": input_,
        "tools": CODEX_TOOLS,
        "tool_choice": "auto",
        "parallel_tool_calls": False,
        "reasoning": {"effort": effort, "summary": "auto"},
        "store": False,
        "stream": True,
        "include": ["reasoning.encrypted_content"],
        "prompt_cache_key": "019a7c2e-5b1f-7e30-8c4d-6a2b9e1f0d35",
    }
    body.update(extra)
    return body


CODEX_TOOL_TURN = [
    *CODEX_INPUT,
    {"type": "function_call", "name": "shell", "arguments": '{"command":["ls"]}', "call_id": "call_9"},
    {"type": "function_call_output", "call_id": "call_9", "output": '{"output":"README.md\\nsrc\\n","metadata":{"exit_code":0}}'},
]

# -- Chat Completions agents: Qwen Code, OpenCode, Pi, Hermes -----------------------------

QWEN_HEADERS = {"user-agent": "QwenCode/0.15.10 (linux; x64)", "x-stainless-lang": "js"}
QWEN_TOOLS = [{"type": "function", "function": {"name": "read_file", "description": "Reads a file", "parameters": {"type": "object", "properties": {"absolute_path": {"type": "string"}}}}}]
QWEN_MAIN = {
    "model": "xx-big",
    "messages": [
        {"role": "system", "content": "You are Qwen Code, an interactive CLI agent developed by Alibaba Group, specializing in software engineering tasks."},
        {"role": "user", "content": [{"type": "text", "text": "say hi"}]},
    ],
    "tools": QWEN_TOOLS,
    "stream": True,
    "stream_options": {"include_usage": True},
    "temperature": 0,
    "top_p": 1,
}
QWEN_TOOL_TURN = {
    **QWEN_MAIN,
    "messages": [
        *QWEN_MAIN["messages"],
        {"role": "assistant", "content": None, "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "read_file", "arguments": '{"absolute_path":"/w/README.md"}'}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "# project"},
    ],
}
QWEN_MEMORY = {
    "model": "xx-big",
    "messages": [
        {"role": "system", "content": "You are a background memory extraction agent for an AI coding assistant.\n\nYour job is to read the provided transcript slice..."},
        {"role": "user", "content": 'Return a JSON object that matches this schema:\n{"type":"object"}\n\nTranscript slice:\n- offset=0 role=user text=say hi'},
    ],
    "temperature": 0,
    "stream": True,
}
OPENCODE_HEADERS = {"user-agent": "opencode/1.18.33 ai-sdk/provider-utils/4.0.x runtime/bun/1.3.14", "x-session-affinity": "ses_4d2a9f0c1b7e"}
OPENCODE_TITLE = {
    "model": "fake-model",
    "max_tokens": 32000,
    "messages": [
        {"role": "system", "content": "You are a title generator. You output ONLY a thread title. Nothing else.\n\n<task>\nGenerate a brief title..."},
        {"role": "user", "content": "Generate a title for this conversation:\n"},
        {"role": "user", "content": "say hi"},
    ],
    "stream": True,
}
OPENCODE_MAIN = {
    "model": "fake-model",
    "max_tokens": 32000,
    "messages": [
        {"role": "system", "content": "You are opencode, an interactive CLI tool that helps users with software engineering tasks."},
        {"role": "user", "content": "say hi"},
    ],
    "tools": [{"type": "function", "function": {"name": n, "parameters": {"type": "object"}}} for n in ("bash", "read", "edit", "write", "glob", "grep", "list", "task", "todowrite", "webfetch")],
    "stream": True,
}
PI_CHAT = {
    "model": "xx-big",
    "messages": [{"role": "developer", "content": "You are an expert coding assistant operating inside pi, a coding agent harness."}, {"role": "user", "content": "say hi"}],
    "tools": [{"type": "function", "function": {"name": "bash", "parameters": {"type": "object"}}}],
    "stream": True,
    "store": False,
    "reasoning_effort": "high",
}
PI_RESPONSES = {
    "model": "xx-big",
    "instructions": "You are an expert coding assistant operating inside pi, a coding agent harness.",
    "input": [{"role": "user", "content": [{"type": "input_text", "text": "say hi"}]}],
    "tools": [{"type": "function", "name": "bash", "parameters": {"type": "object"}}],
    "reasoning": {"effort": "low"},
    "stream": True,
}
HERMES_MAIN = {
    "model": "fake-model",
    "messages": [{"role": "system", "content": "You are Hermes Agent, an intelligent AI assistant created by Nous Research."}, {"role": "user", "content": "say hi"}],
    "tools": [{"type": "function", "function": {"name": "terminal", "parameters": {"type": "object"}}}, {"type": "function", "function": {"name": "web_search", "parameters": {"type": "object"}}}],
    "stream": True,
}
HERMES_TOOL_TURN = {
    **HERMES_MAIN,
    "messages": [
        *HERMES_MAIN["messages"],
        {"role": "assistant", "content": "", "tool_calls": [{"id": "call_a", "type": "function", "function": {"name": "terminal", "arguments": '{"command":"ls"}'}}]},
        {"role": "tool", "tool_call_id": "call_a", "content": '{"output": "README.md"}'},
    ],
}
OPENAI_WEB = {"model": "gpt-4o-search-preview", "messages": [{"role": "user", "content": "latest pytest release?"}], "web_search_options": {}}
RESPONSES_WEB = {"model": "xx-big", "input": "latest pytest release?", "tools": [{"type": "web_search_preview"}]}

# -- Gemini CLI (POST /v1beta/models/<m>:generateContent; the model is in the URL) --------

GEMINI_ROUTER = {
    "contents": [{"role": "user", "parts": [{"text": "<history>...</history>\nsay hi"}]}],
    "systemInstruction": {"role": "user", "parts": [{"text": "You are a specialized Task Routing AI. Your sole function is to analyze the user's request and classify its complexity."}]},
    "generationConfig": {"temperature": 0, "responseMimeType": "application/json", "responseJsonSchema": {"type": "object", "properties": {"reasoning": {"type": "string"}, "model_choice": {"type": "string", "enum": ["flash", "pro"]}}}},
}
GEMINI_MAIN = {
    "contents": [{"role": "user", "parts": [{"text": "This is the Gemini CLI. We are setting up the context for our chat."}]}, {"role": "model", "parts": [{"text": "Got it. Thanks for the context!"}]}, {"role": "user", "parts": [{"text": "say hi"}]}],
    "systemInstruction": {"role": "user", "parts": [{"text": "You are an interactive CLI agent specializing in software engineering tasks."}]},
    "tools": [{"functionDeclarations": [{"name": "read_file", "parameters": {"type": "object"}}]}],
    "generationConfig": {"temperature": 0, "topP": 1, "thinkingConfig": {"includeThoughts": True, "thinkingLevel": "HIGH"}},
}
GEMINI_TOOL_TURN = {
    **GEMINI_MAIN,
    "contents": [*GEMINI_MAIN["contents"], {"role": "model", "parts": [{"functionCall": {"name": "read_file", "args": {"path": "a"}}}]}, {"role": "user", "parts": [{"functionResponse": {"name": "read_file", "response": {"output": "x"}}}]}],
}
GEMINI_HEADERS = {"user-agent": "GeminiCLI-tui/0.61.0/gemini-3-pro-preview (linux; x64; terminal)", "x-goog-api-client": "google-genai-sdk/1.30.0 gl-node/v20.20.2"}

BIG_TEXT = "def f():\n    return 1\n" * 5000  # ~110k chars ≈ 27k tokens

CASES: list[tuple[str, dict[str, Any], str, dict[str, str], str | None, str, str]] = [
    # id, body, endpoint, headers, url model, role in a plain tier, role in a tier listing every role
    ("claude first turn", cc("claude-opus-4-8", CC_USER), "anthropic", CC_HEADERS, None, "big", "big"),
    ("claude launcher big", cc("xx-big", CC_USER), "anthropic", CC_HEADERS, None, "big", "big"),
    ("claude thinking", cc("xx-big", CC_USER, **CC_THINKING), "anthropic", CC_HEADERS, None, "big", "think"),
    ("claude tool result", cc("xx-big", CC_TOOL_TURN), "anthropic", CC_HEADERS, None, "middle", "middle"),
    ("claude tool result + thinking", cc("xx-big", CC_TOOL_TURN, **CC_THINKING), "anthropic", CC_HEADERS, None, "middle", "think"),
    ("claude haiku by name", CC_HAIKU, "anthropic", CC_HEADERS, None, "small", "small"),
    ("claude haiku via launcher", {**CC_HAIKU, "model": "xx-small"}, "anthropic", CC_HEADERS, None, "small", "small"),
    ("claude launcher middle", cc("xx-middle", CC_USER), "anthropic", CC_HEADERS, None, "middle", "middle"),
    ("claude launcher web in plain tier", cc("xx-web", CC_USER), "anthropic", CC_HEADERS, None, "big", "web"),
    ("claude web search", CC_WEBSEARCH, "anthropic", CC_HEADERS, None, "big", "web"),
    ("claude long", cc("xx-big", [{"role": "user", "content": BIG_TEXT}]), "anthropic", CC_HEADERS, None, "big", "long"),
    ("claude long tool result", cc("xx-big", [*CC_TOOL_TURN[:-1], {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_01A", "content": BIG_TEXT}]}]), "anthropic", CC_HEADERS, None, "middle", "long"),
    ("codex first turn", codex("xx-big", CODEX_INPUT), "responses", CODEX_HEADERS, None, "big", "big"),
    ("codex tool output", codex("xx-big", CODEX_TOOL_TURN), "responses", CODEX_HEADERS, None, "middle", "middle"),
    ("codex high effort", codex("gpt-5.1-codex", CODEX_INPUT, effort="high"), "responses", CODEX_HEADERS, None, "big", "think"),
    ("codex mini model", codex("gpt-5.1-codex-mini", CODEX_INPUT), "responses", CODEX_HEADERS, None, "small", "small"),
    ("qwen main", QWEN_MAIN, "openai", QWEN_HEADERS, None, "big", "big"),
    ("qwen tool result", QWEN_TOOL_TURN, "openai", QWEN_HEADERS, None, "middle", "middle"),
    ("qwen memory extractor", QWEN_MEMORY, "openai", QWEN_HEADERS, None, "small", "small"),
    ("opencode title", OPENCODE_TITLE, "openai", OPENCODE_HEADERS, None, "small", "small"),
    ("opencode main", OPENCODE_MAIN, "openai", OPENCODE_HEADERS, None, "big", "big"),
    ("pi chat high effort", PI_CHAT, "openai", {"user-agent": "OpenAI/JS 6.26.0"}, None, "big", "think"),
    ("pi responses", PI_RESPONSES, "responses", {"user-agent": "OpenAI/JS 6.26.0", "session_id": "8c1f"}, None, "big", "big"),
    ("pi provider-prefixed small", {**PI_CHAT, "model": "xx/xx-small"}, "openai", {}, None, "small", "small"),
    ("hermes main", HERMES_MAIN, "openai", {"user-agent": "OpenAI/Python 2.24.0"}, None, "big", "big"),
    ("hermes tool result", HERMES_TOOL_TURN, "openai", {"user-agent": "OpenAI/Python 2.24.0"}, None, "middle", "middle"),
    ("openai web_search_options", OPENAI_WEB, "openai", {}, None, "big", "web"),
    ("responses web_search_preview", RESPONSES_WEB, "responses", {}, None, "big", "web"),
    ("gemini router", GEMINI_ROUTER, "gemini", GEMINI_HEADERS, "gemini-3.5-flash-lite", "small", "small"),
    ("gemini main", GEMINI_MAIN, "gemini", GEMINI_HEADERS, "gemini-3-pro-preview", "big", "think"),
    ("gemini function response", GEMINI_TOOL_TURN, "gemini", GEMINI_HEADERS, "gemini-3-pro-preview", "middle", "think"),
    ("gemini search grounding", {**GEMINI_MAIN, "tools": [{"googleSearch": {}}], "generationConfig": {}}, "gemini", GEMINI_HEADERS, "gemini-2.5-flash", "big", "web"),
]


@pytest.mark.parametrize(("body", "endpoint", "headers", "url_model", "plain", "full"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_role_table(body: dict[str, Any], endpoint: str, headers: dict[str, str], url_model: str | None, plain: str, full: str) -> None:
    assert classify(body, endpoint, headers, PLAIN, long_threshold=LONG, model=url_model) == plain
    assert classify(body, endpoint, headers, FULL, long_threshold=LONG, model=url_model) == full


@pytest.mark.parametrize(
    ("model", "small"),
    [
        ("claude-3-5-haiku-20241022", True),
        ("anthropic/claude-haiku-4.5", True),
        ("gpt-4o-mini", True),
        ("gpt-5-nano", True),
        ("gemini-2.5-flash-lite", True),
        ("gemini-2.5-pro", False),  # "gemini" contains "mini": not a small model
        ("minimax/minimax-m2", False),
        ("claude-sonnet-4-6", False),
        ("deepseek/deepseek-v4-flash:free", False),
    ],
)
def test_small_model_names(model: str, small: bool) -> None:
    body = {"model": model, "messages": [{"role": "user", "content": "hi"}]}
    assert (classify(body, "openai", {}, PLAIN, long_threshold=LONG) == "small") is small


def test_a_side_prompt_with_tools_is_not_a_side_call() -> None:
    body = {**OPENCODE_TITLE, "tools": OPENCODE_MAIN["tools"]}
    assert classify(body, "openai", {}, PLAIN, long_threshold=LONG) == "big"


def test_launcher_role() -> None:
    assert launcher_role("xx-small") == "small"
    assert launcher_role("xx/xx-think") == "think"
    assert launcher_role("xx-big[1m]") == "big"
    assert launcher_role("xx-huge") is None
    assert launcher_role("kimi-free") is None


def test_long_uses_the_callers_estimate_when_given() -> None:
    body = cc("xx-big", CC_USER)
    assert classify(body, "anthropic", CC_HEADERS, FULL, long_threshold=LONG, tokens=LONG + 1) == "long"
    assert classify(body, "anthropic", CC_HEADERS, FULL, long_threshold=LONG, tokens=LONG) == "big"
    big = cc("xx-big", [{"role": "user", "content": BIG_TEXT}])
    assert classify(big, "anthropic", CC_HEADERS, FULL, long_threshold=LONG) == "long"
    assert classify(big, "anthropic", CC_HEADERS, FULL, long_threshold=10 * LONG) == "big"


def test_qwen_memory_extractor_with_tools_is_small() -> None:
    """Qwen 0.15's managed memory extractor runs with tools after the turn: housekeeping, so `small`."""
    from gateway.config import Tier
    from gateway.routing.roles import classify

    body = {"model": "m", "tools": [{"type": "function", "function": {"name": "save_memory", "parameters": {}}}],
            "messages": [{"role": "system", "content": "You are now acting as the managed memory extraction subagent for this session."},
                         {"role": "user", "content": "extract"}]}
    tier = Tier("free", "f", {"big": ("a",), "small": ("b",)})
    assert classify(body, "openai", {}, tier, long_threshold=100_000) == "small"
