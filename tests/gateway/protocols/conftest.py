"""Fixtures: request bodies shaped like the ones real agents send."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gateway.protocols.sse import SSEDecoder

STREAMS = Path(__file__).parent / "streams"


def stream_bytes(name: str) -> bytes:
    return (STREAMS / name).read_bytes()


def sse_events(raw: bytes) -> list[tuple[str, Any]]:
    """(event name, parsed data) for every event; data stays a string when it is not JSON."""
    dec = SSEDecoder()
    out = []
    for ev in dec.feed(raw) + dec.flush():
        try:
            data = json.loads(ev.data)
        except ValueError:
            data = ev.data
        out.append((ev.event, data))
    return out


def claude_code_tools(n: int = 24) -> list[dict[str, Any]]:
    named = [
        (
            "Bash",
            {"command": {"type": "string"}, "description": {"type": "string"}, "timeout": {"type": "number"}},
        ),
        (
            "Read",
            {"file_path": {"type": "string"}, "offset": {"type": "number"}, "limit": {"type": "number"}},
        ),
        (
            "Edit",
            {
                "file_path": {"type": "string"},
                "old_string": {"type": "string"},
                "new_string": {"type": "string"},
            },
        ),
        ("Write", {"file_path": {"type": "string"}, "content": {"type": "string"}}),
        ("Glob", {"pattern": {"type": "string"}, "path": {"type": "string"}}),
        ("Grep", {"pattern": {"type": "string"}, "path": {"type": "string"}}),
        ("TodoWrite", {"todos": {"type": "array", "items": {"type": "object"}}}),
        ("Task", {"description": {"type": "string"}, "prompt": {"type": "string"}}),
    ]
    tools = []
    for i in range(n):
        name, props = named[i] if i < len(named) else (f"mcp__srv__tool_{i}", {"q": {"type": "string"}})
        tools.append(
            {
                "name": name,
                "description": f"{name}: does its job. " * 20,
                "input_schema": {
                    "type": "object",
                    "properties": props,
                    "required": [next(iter(props))],
                    "additionalProperties": False,
                    "$schema": "http://json-schema.org/draft-07/schema#",
                },
            }
        )
    tools[-1]["cache_control"] = {"type": "ephemeral"}
    return tools


@pytest.fixture(name="stream_bytes")
def stream_bytes_fixture() -> Any:
    return stream_bytes


@pytest.fixture(name="sse_events")
def sse_events_fixture() -> Any:
    return sse_events


@pytest.fixture
def claude_code_request() -> dict[str, Any]:
    """Shaped like `claude -p` 2.1.x: system blocks with the billing header and cache_control,
    24 tools, metadata.user_id as a JSON string, thinking, a tool round-trip with an error result."""
    return {
        "model": "claude-opus-4-8",
        "max_tokens": 32000,
        "stream": True,
        "system": [
            {"type": "text", "text": "x-anthropic-billing-header: cc_version=2.1.197; cch=8f3a1;"},
            {
                "type": "text",
                "text": "You are Claude Code, Anthropic's official CLI for Claude.",
                "cache_control": {"type": "ephemeral"},
            },
            {
                "type": "text",
                "text": "# Environment\nWorking directory: /repo\nPlatform: linux",
                "cache_control": {"type": "ephemeral"},
            },
        ],
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "<system-reminder>CLAUDE.md says: use uv</system-reminder>"},
                    {
                        "type": "text",
                        "text": "list the files and read README",
                        "cache_control": {"type": "ephemeral"},
                    },
                ],
            },
            {
                "role": "assistant",
                "content": [
                    {"type": "thinking", "thinking": "Need to look.", "signature": "EqQBCgIYAhIMabc=="},
                    {"type": "text", "text": "Looking."},
                    {
                        "type": "tool_use",
                        "id": "toolu_01A",
                        "name": "Bash",
                        "input": {"command": "ls", "description": "list"},
                    },
                    {
                        "type": "tool_use",
                        "id": "toolu_01B",
                        "name": "Read",
                        "input": {"file_path": "/repo/README.md"},
                    },
                ],
            },
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": "toolu_01A", "content": "README.md\nsrc\n"},
                    {
                        "type": "tool_result",
                        "tool_use_id": "toolu_01B",
                        "is_error": True,
                        "content": [{"type": "text", "text": "File does not exist."}],
                    },
                    {"type": "text", "text": "<system-reminder>todo list empty</system-reminder>"},
                ],
            },
        ],
        "tools": claude_code_tools(),
        "tool_choice": {"type": "auto"},
        "metadata": {
            "user_id": json.dumps(
                {"device_id": "d" * 64, "session_id": "5f0c7a34-3f3e-4a8e-9d1c-1b2c3d4e5f60"}
            )
        },
        "thinking": {"type": "enabled", "budget_tokens": 31999},
        "temperature": 1,
    }


@pytest.fixture
def codex_request() -> dict[str, Any]:
    """Shaped like `codex exec` 0.169: instructions, input items (with a reasoning item and a
    tool round-trip), function tools, prompt_cache_key, store=false, stream=true."""
    return {
        "model": "gpt-5-codex",
        "instructions": "You are Codex, a coding agent based on GPT-5. You and the user share the same workspace.",
        "input": [
            {
                "type": "message",
                "role": "developer",
                "content": [
                    {"type": "input_text", "text": "<permissions instructions>sandbox: danger-full-access"}
                ],
            },
            {
                "type": "message",
                "role": "user",
                "content": [
                    {
                        "type": "input_text",
                        "text": "<environment_context><cwd>/repo</cwd></environment_context>",
                    }
                ],
            },
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "run the tests"}]},
            {
                "type": "reasoning",
                "id": "rs_1",
                "summary": [{"type": "summary_text", "text": "Run pytest."}],
                "encrypted_content": "gAAAAABopaque==",
            },
            {
                "type": "function_call",
                "name": "shell",
                "arguments": '{"command":["pytest","-q"]}',
                "call_id": "call_Q1",
            },
            {"type": "function_call_output", "call_id": "call_Q1", "output": "3 passed in 0.1s"},
            {
                "type": "message",
                "role": "assistant",
                "content": [{"type": "output_text", "text": "All 3 tests pass."}],
            },
            {
                "type": "message",
                "role": "user",
                "content": [{"type": "input_text", "text": "thanks, now lint"}],
            },
        ],
        "tools": [
            {
                "type": "function",
                "name": "shell",
                "description": "Runs a shell command and returns its output.",
                "strict": False,
                "parameters": {
                    "type": "object",
                    "properties": {
                        "command": {"type": "array", "items": {"type": "string"}},
                        "workdir": {"type": "string"},
                    },
                    "required": ["command"],
                    "additionalProperties": False,
                },
            },
            {
                "type": "function",
                "name": "update_plan",
                "description": "Updates the task plan.",
                "strict": False,
                "parameters": {
                    "type": "object",
                    "properties": {"plan": {"type": "array"}},
                    "required": ["plan"],
                },
            },
            {"type": "web_search"},
        ],
        "tool_choice": "auto",
        "parallel_tool_calls": False,
        "reasoning": {"effort": "medium", "summary": "auto"},
        "store": False,
        "stream": True,
        "include": ["reasoning.encrypted_content"],
        "prompt_cache_key": "0199f3a4-7b2c-7d10-9a51-3c2b1a0f9e8d",
        "client_metadata": {"x-codex-installation-id": "abc"},
    }
