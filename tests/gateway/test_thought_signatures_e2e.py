"""A two-turn tool loop with a Gemini 3 model through the gateway, from every client dialect.

The upstream below emulates Google's documented behaviour on its OpenAI-compatible endpoint
(ai.google.dev, "OpenAI compatibility" -> thought signatures; "Thought signatures"): each tool
call it makes carries `extra_content.google.thought_signature`, and a request whose earlier
assistant tool call comes back without its signature is refused with 400 "Function call is
missing a thought_signature in functionCall parts". The official SDKs (anthropic, openai
Responses and Chat, google-genai) run the loop over loopback, streamed and not.
"""

from __future__ import annotations

import json
from typing import Any

import anthropic
import openai
import pytest
from aiohttp import web
from support.loopback import LoopbackServer
from support.servers import free_port

from gateway.config import parse

GEMINI = "gemini-3-pro-preview"
SIG = "CiQBjz1rX+Zm9vYmFy/ZGVhZGJlZWY+c2lnbmF0dXJl/AAECAwQ="  # opaque standard base64, as Gemini sends it
CALL_ID = "function-call-4711"
ARGS = {"path": "/tmp/notes.txt"}
MISSING = ("Function call is missing a thought_signature in functionCall parts. This is required for tools to "
           "work correctly, and missing thought_signature may lead to degraded model performance. Additional "
           "data, function call `default_api:read_file` , position 2. Please refer to "
           "https://ai.google.dev/gemini-api/docs/thought-signatures for more details.")
TOOL = {"name": "read_file", "description": "Read a file", "input_schema": {
    "type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]}}


class GeminiLike(LoopbackServer):
    """Gemini's OpenAI-compatible endpoint as documented for Gemini 3 and tool calls (see the module docstring)."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        super().__init__()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = json.loads(await request.read())
        self.bodies.append(body)
        calls = [c for m in body["messages"] if m.get("role") == "assistant" for c in m.get("tool_calls") or []]
        if any((c.get("extra_content") or {}).get("google", {}).get("thought_signature") != SIG for c in calls):
            error = {"error": {"code": 400, "message": MISSING, "status": "INVALID_ARGUMENT"}}
            return web.json_response(error, status=400)
        answered = [m.get("tool_call_id") for m in body["messages"] if m.get("role") == "tool"]
        if calls and answered != [CALL_ID]:
            return web.json_response({"error": {"code": 400, "message": f"unknown tool call ids {answered}",
                                                "status": "INVALID_ARGUMENT"}}, status=400)
        message: dict[str, Any] = {"role": "assistant", "content": "the notes say 42"} if calls else {
            "role": "assistant", "content": None, "tool_calls": [{
                "id": CALL_ID, "type": "function",
                "function": {"name": "read_file", "arguments": json.dumps(ARGS)},
                "extra_content": {"google": {"thought_signature": SIG}}}]}
        finish = "stop" if calls else "tool_calls"
        usage = {"prompt_tokens": 20, "completion_tokens": 5, "total_tokens": 25}
        if not body.get("stream"):
            return web.json_response({"id": "g-1", "object": "chat.completion", "created": 1, "model": GEMINI,
                                      "choices": [{"index": 0, "message": message, "finish_reason": finish}],
                                      "usage": usage})
        delta = {**message, "tool_calls": [{"index": 0, **message["tool_calls"][0]}]} if not calls else message
        chunks = [{"choices": [{"index": 0, "delta": delta}]},
                  {"choices": [{"index": 0, "delta": {}, "finish_reason": finish}], "usage": usage}]
        resp = web.StreamResponse(headers={"content-type": "text/event-stream"})
        await resp.prepare(request)
        for chunk in chunks:
            event = {"id": "g-1", "object": "chat.completion.chunk", "created": 1, "model": GEMINI, **chunk}
            await resp.write(b"data: " + json.dumps(event).encode() + b"\n\n")
        await resp.write(b"data: [DONE]\n\n")
        await resp.write_eof()
        return resp


@pytest.fixture
def gemini_gateway(make_gateway):
    up = GeminiLike().start()
    cfg = parse(f"""
[gateway]
host = "127.0.0.1"
port = {free_port()}
default_tier = "g"

[providers.google]
dialect = "openai"
base_url = "{up.url}/v1"

[models.g3]
provider = "google"
id = "{GEMINI}"

[tiers.g]
letter = "g"
big = ["g3"]
middle = ["g3"]
small = ["g3"]
""", source="<test>", env={})
    yield up, make_gateway(cfg)
    up.stop()


def assert_signature_went_back(up: GeminiLike) -> None:
    """The second request carried the signature and the original id (the emulator answered 200 to it)."""
    last = up.bodies[-1]["messages"]
    call = next(m for m in last if m["role"] == "assistant")["tool_calls"][0]
    assert call["id"] == CALL_ID and call["extra_content"] == {"google": {"thought_signature": SIG}}
    assert [m["tool_call_id"] for m in last if m["role"] == "tool"] == [CALL_ID]


@pytest.mark.parametrize("stream", [False, True])
def test_anthropic_sdk_two_turn_tool_loop_on_gemini_3(gemini_gateway, stream: bool) -> None:
    up, gw = gemini_gateway
    client = anthropic.Anthropic(base_url=f"{gw.url}/x/claude/p/g", api_key="x", max_retries=0)
    kw: dict[str, Any] = {"model": "claude-sonnet-4-6", "max_tokens": 300, "tools": [TOOL]}

    def ask(messages: list[dict[str, Any]]) -> Any:
        if not stream:
            return client.messages.create(messages=messages, **kw)
        with client.messages.stream(messages=messages, **kw) as s:
            return s.get_final_message()

    msgs: list[dict[str, Any]] = [{"role": "user", "content": "read /tmp/notes.txt"}]
    first = ask(msgs)
    use = next(b for b in first.content if b.type == "tool_use")
    assert first.stop_reason == "tool_use" and use.name == "read_file" and use.input == ARGS
    msgs += [{"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in first.content]},
             {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use.id, "content": "42"}]}]
    final = ask(msgs)
    assert final.stop_reason == "end_turn" and final.content[0].text == "the notes say 42"
    assert_signature_went_back(up)


@pytest.mark.parametrize("stream", [False, True])
def test_openai_responses_two_turn_tool_loop_on_gemini_3(gemini_gateway, stream: bool) -> None:
    up, gw = gemini_gateway
    client = openai.OpenAI(base_url=f"{gw.url}/x/codex/p/g/v1", api_key="x", max_retries=0)
    tools = [{"type": "function", "name": "read_file", "parameters": TOOL["input_schema"]}]

    def ask(items: list[Any]) -> Any:
        if not stream:
            return client.responses.create(model="gpt-5", input=items, tools=tools)
        with client.responses.stream(model="gpt-5", input=items, tools=tools) as s:
            return s.get_final_response()

    items: list[Any] = [{"role": "user", "content": "read /tmp/notes.txt"}]
    first = ask(items)
    call = next(o for o in first.output if o.type == "function_call")
    assert call.name == "read_file" and json.loads(call.arguments) == ARGS
    items += [o.model_dump(exclude_none=True) for o in first.output]
    items.append({"type": "function_call_output", "call_id": call.call_id, "output": "42"})
    final = ask(items)
    assert final.output_text == "the notes say 42"
    assert_signature_went_back(up)


@pytest.mark.parametrize("stream", [False, True])
def test_openai_chat_pass_through_keeps_the_signature(gemini_gateway, stream: bool) -> None:
    """Same dialect: the Chat client gets `extra_content` as Gemini sent it and sends it back itself."""
    up, gw = gemini_gateway
    client = openai.OpenAI(base_url=f"{gw.url}/x/qwen/p/g/v1", api_key="x", max_retries=0)
    tools = [{"type": "function", "function": {"name": "read_file", "parameters": TOOL["input_schema"]}}]
    msgs: list[Any] = [{"role": "user", "content": "read /tmp/notes.txt"}]
    if stream:
        with client.chat.completions.stream(model="m", messages=msgs, tools=tools) as s:
            first = s.get_final_completion()
    else:
        first = client.chat.completions.create(model="m", messages=msgs, tools=tools)
    message = first.choices[0].message.model_dump(exclude_none=True)
    call = message["tool_calls"][0]
    assert call["id"] == CALL_ID and call["extra_content"] == {"google": {"thought_signature": SIG}}
    msgs += [message, {"role": "tool", "tool_call_id": call["id"], "content": "42"}]
    final = client.chat.completions.create(model="m", messages=msgs, tools=tools)
    assert final.choices[0].message.content == "the notes say 42"
    assert_signature_went_back(up)


@pytest.mark.parametrize("stream", [False, True])
def test_google_genai_two_turn_tool_loop_on_gemini_3(gemini_gateway, stream: bool) -> None:
    from google import genai
    from google.genai import types

    up, gw = gemini_gateway
    client = genai.Client(api_key="x", http_options=types.HttpOptions(base_url=f"{gw.url}/x/gemini/p/g",
                                                                       api_version="v1beta"))
    decl = types.FunctionDeclaration(name="read_file", parameters_json_schema=TOOL["input_schema"])
    config = types.GenerateContentConfig(tools=[types.Tool(function_declarations=[decl])],
                                         automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True))

    def ask(contents: list[Any]) -> list[types.Part]:
        if stream:
            chunks = list(client.models.generate_content_stream(model=GEMINI, contents=contents, config=config))
        else:
            chunks = [client.models.generate_content(model=GEMINI, contents=contents, config=config)]
        return [p for c in chunks for p in (c.candidates[0].content.parts or [])]

    contents: list[Any] = [types.Content(role="user", parts=[types.Part(text="read /tmp/notes.txt")])]
    part = next(p for p in ask(contents) if p.function_call)
    assert part.function_call.name == "read_file" and part.function_call.args == ARGS
    assert part.thought_signature  # bytes in the SDK; base64 on the wire
    reply = types.Part.from_function_response(name="read_file", response={"text": "42"})
    reply.function_response.id = part.function_call.id
    contents += [types.Content(role="model", parts=[part]), types.Content(role="user", parts=[reply])]
    assert "".join(p.text or "" for p in ask(contents)) == "the notes say 42"
    assert_signature_went_back(up)
