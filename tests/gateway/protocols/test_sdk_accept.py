"""The official SDKs accept translated streams: a loopback server replays translator output to
`anthropic` and `openai` clients, which accumulate it (or raise cleanly on an error event)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import anthropic
import openai
import pytest

from gateway.protocols.common import counter_ids
from gateway.protocols.dispatch import translate_response
from gateway.protocols.streams import stream_translator


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        body = self.server.payload
        self.send_response(200)
        self.send_header("content-type", "application/json" if body.startswith(b"{") else "text/event-stream")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


class _Server(ThreadingHTTPServer):
    payload = b""


@pytest.fixture(scope="module")
def server() -> Iterator[_Server]:
    srv = _Server(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()
    thread.join()


def translate(src: str, dst: str, raw: bytes) -> bytes:
    t = stream_translator(src, dst, requested_model="client-model", ids=counter_ids("s"))
    return b"".join(t.feed(raw[i : i + 5]) for i in range(0, len(raw), 5)) + t.close()


def _anthropic(srv: _Server) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=f"http://127.0.0.1:{srv.server_port}", api_key="k", max_retries=0)


def _openai(srv: _Server) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"http://127.0.0.1:{srv.server_port}/v1", api_key="k", max_retries=0)


ASK = {"model": "m", "max_tokens": 100, "messages": [{"role": "user", "content": "hi"}]}


@pytest.mark.parametrize(
    ("fixture", "src"), [("openrouter_kimi_tools.sse", "openai"), ("responses_codex.sse", "responses")]
)
def test_anthropic_sdk_accumulates_translated_stream(
    server: _Server, stream_bytes: Any, fixture: str, src: str
) -> None:
    server.payload = translate(src, "anthropic", stream_bytes(fixture))
    with _anthropic(server).messages.stream(**ASK) as stream:
        message = stream.get_final_message()
    tool_uses = [b for b in message.content if b.type == "tool_use"]
    assert message.stop_reason == "tool_use" and message.model == "client-model"
    assert tool_uses and all(isinstance(b.input, dict) and b.input for b in tool_uses)
    if src == "openai":
        assert [b.type for b in message.content] == ["thinking", "text", "tool_use", "tool_use"]
        assert tool_uses[0].input == {"command": "ls -la", "description": "List files"}
        assert message.usage.cache_read_input_tokens == 16384 and message.usage.output_tokens == 96


def test_anthropic_sdk_raises_on_translated_error(server: _Server, stream_bytes: Any) -> None:
    raw = stream_bytes("openrouter_kimi_tools.sse")
    server.payload = translate("openai", "anthropic", raw[: len(raw) // 2])
    with (
        pytest.raises(anthropic.APIStatusError, match="ended before it finished"),
        _anthropic(server).messages.stream(**ASK) as stream,
    ):
        stream.get_final_message()


def test_openai_sdk_accumulates_translated_chat_stream(server: _Server, stream_bytes: Any) -> None:
    server.payload = translate("anthropic", "openai", stream_bytes("anthropic_thinking_tool.sse"))
    client = _openai(server)
    with client.chat.completions.stream(model="m", messages=[{"role": "user", "content": "hi"}]) as stream:
        completion = stream.get_final_completion()
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content == "Let me read the config."
    call = choice.message.tool_calls[0]
    assert call.id == "toolu_01T1x1fJ34qAmk2tNTrN7Up6" and call.function.name == "Read"
    assert json.loads(call.function.arguments) == {"file_path": "/repo/pyproject.toml"}
    assert completion.usage is not None and completion.usage.prompt_tokens == 32060


def test_openai_sdk_raises_on_translated_chat_error(server: _Server, stream_bytes: Any) -> None:
    raw = stream_bytes("anthropic_thinking_tool.sse")
    server.payload = translate("anthropic", "openai", raw[: len(raw) // 2])
    with pytest.raises(openai.APIError, match="ended before it finished"):
        for _ in _openai(server).chat.completions.create(
            model="m", messages=[{"role": "user", "content": "x"}], stream=True
        ):
            pass


@pytest.mark.parametrize(
    ("fixture", "src"),
    [("openrouter_kimi_tools.sse", "openai"), ("anthropic_thinking_tool.sse", "anthropic")],
)
def test_openai_sdk_accumulates_translated_responses_stream(
    server: _Server, stream_bytes: Any, fixture: str, src: str
) -> None:
    server.payload = translate(src, "responses", stream_bytes(fixture))
    with _openai(server).responses.stream(model="m", input="hi") as stream:
        response = stream.get_final_response()
    kinds = [o.type for o in response.output]
    assert kinds[:2] == ["reasoning", "message"] and "function_call" in kinds
    calls = [o for o in response.output if o.type == "function_call"]
    assert all(json.loads(c.arguments) for c in calls)
    assert response.output_text and response.usage is not None and response.usage.input_tokens > 0


def test_openai_sdk_sees_response_failed(server: _Server, stream_bytes: Any) -> None:
    raw = stream_bytes("openrouter_kimi_tools.sse")
    server.payload = translate("openai", "responses", raw[: len(raw) // 2])
    failed = []
    with _openai(server).responses.stream(model="m", input="hi") as stream:
        for event in stream:
            if event.type == "response.failed":
                failed.append(event.response.error.message)
    assert failed and "ended before it finished" in failed[0]


CHAT_BODY = {
    "id": "gen-9",
    "object": "chat.completion",
    "created": 1,
    "model": "deepseek/deepseek-v4-flash",
    "choices": [
        {
            "index": 0,
            "finish_reason": "tool_calls",
            "message": {
                "role": "assistant",
                "content": "Checking.",
                "reasoning_content": "plan",
                "tool_calls": [
                    {
                        "id": "call_7",
                        "type": "function",
                        "function": {"name": "Grep", "arguments": '{"pattern":"TODO"}'},
                    }
                ],
            },
        }
    ],
    "usage": {"prompt_tokens": 300, "completion_tokens": 20, "prompt_tokens_details": {"cached_tokens": 256}},
}


def test_sdks_parse_translated_bodies(server: _Server) -> None:
    server.payload = json.dumps(
        translate_response(CHAT_BODY, "openai", "anthropic", requested_model="claude-opus-4-8")
    ).encode()
    message = _anthropic(server).messages.create(**ASK)
    assert [b.type for b in message.content] == ["thinking", "text", "tool_use"]
    assert message.content[2].input == {"pattern": "TODO"} and message.usage.cache_read_input_tokens == 256

    server.payload = json.dumps(
        translate_response(CHAT_BODY, "openai", "responses", requested_model="gpt-5-codex")
    ).encode()
    response = _openai(server).responses.create(model="m", input="hi")
    assert response.output_text == "Checking." and response.usage is not None
    call = next(o for o in response.output if o.type == "function_call")
    assert call.call_id == "call_7" and json.loads(call.arguments) == {"pattern": "TODO"}

    anthropic_body = translate_response(CHAT_BODY, "openai", "anthropic", requested_model="x")
    server.payload = json.dumps(
        translate_response(anthropic_body, "anthropic", "openai", requested_model="gpt-x")
    ).encode()
    completion = _openai(server).chat.completions.create(
        model="m", messages=[{"role": "user", "content": "x"}]
    )
    assert completion.choices[0].message.tool_calls[0].function.name == "Grep"
    assert completion.usage is not None and completion.usage.prompt_tokens == 300
