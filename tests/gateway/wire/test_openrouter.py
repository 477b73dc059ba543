"""OpenRouter's stream head, through the gateway: keep-alive comments are not content.

The shapes follow OpenRouter's documentation (openrouter.ai/docs, "Streaming": `: OPENROUTER
PROCESSING` comment lines while a request is queued; "Errors": an error object inside a 200
stream's chunk, with `finish_reason: "error"`); the free tier's 429 arrives that way after the
comments. Until the first real event the cascade may still move on, and the first-byte timeout
waits for real content, not for a keep-alive. The answer that follows is a real recording.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import anthropic
import openai
import pytest
from support.replay_expect import expected
from support.replay_upstream import ReplayUpstream, by_name
from support.servers import GatewayThread, free_port

from gateway.config import parse

COMMENT = b": OPENROUTER PROCESSING\n\n"
RATE_LIMITED = (
    b'data: {"id":"gen-1","object":"chat.completion.chunk","created":1,"model":"moonshotai/kimi-k2:free",'
    b'"provider":"Chutes","error":{"code":429,"message":"Rate limit exceeded: free-models-per-min."},'
    b'"choices":[{"index":0,"delta":{"content":""},"finish_reason":"error"}]}\n\n'
)
REASONING = [  # docs: "Reasoning Tokens" (reasoning + reasoning_details), "Usage Accounting" (final usage chunk)
    b'data: {"id":"gen-3","object":"chat.completion.chunk","model":"deepseek/deepseek-r1","choices":[{"index":0,'
    b'"delta":{"role":"assistant","content":"","reasoning":"Think.","reasoning_details":[{"type":"reasoning.text",'
    b'"text":"Think.","format":"unknown","index":0}]},"finish_reason":null}]}\n\n',
    b'data: {"id":"gen-3","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"Hello"},'
    b'"finish_reason":null}]}\n\n',
    b'data: {"id":"gen-3","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":""},'
    b'"finish_reason":"stop","native_finish_reason":"stop"}]}\n\n',
    b'data: {"id":"gen-3","object":"chat.completion.chunk","choices":[],"usage":{"prompt_tokens":12,'
    b'"completion_tokens":5,"total_tokens":17,"cost":0.0001,"prompt_tokens_details":{"cached_tokens":8},'
    b'"completion_tokens_details":{"reasoning_tokens":2}}}\n\n',
    b"data: [DONE]\n\n",
]
FALLBACK = by_name()["mistral/mistral-text"]
SCRIPTS = {
    "or/queued-429": [COMMENT, 0.05, COMMENT, 0.05, RATE_LIMITED],
    "or/comments-only": [COMMENT, 0.2] * 20,  # 4 s of keep-alives, far longer than first_byte (1 s)
    "or/queued-then-content": [COMMENT, 0.05, COMMENT, *FALLBACK.frames()],
    "or/reasoning": [COMMENT, *REASONING],
}


def config_text(url: str, port: int) -> str:
    tiers = "".join(
        f'[tiers.{name}]\nletter = "{letter}"\nbig = ["{first}", "fallback"]\n'
        for name, letter, first in (("queued", "q", "queued"), ("comments", "c", "comments"), ("late", "l", "late"), ("think", "r", "reasoning"))
    )
    return f"""
[gateway]
host = "127.0.0.1"
port = {port}
default_tier = "queued"
[gateway.timeouts]
connect = 2
first_byte = 1
idle = 5
[providers.openrouter]
protocol = "openai"
base_url = "{url}/v1"
[models.queued]
provider = "openrouter"
id = "or/queued-429"
[models.comments]
provider = "openrouter"
id = "or/comments-only"
[models.late]
provider = "openrouter"
id = "or/queued-then-content"
[models.reasoning]
provider = "openrouter"
id = "or/reasoning"
[models.fallback]
provider = "openrouter"
id = "{FALLBACK.name}"
{tiers}
[breaker]
failures = 1000
cooldown_s = 1
"""


@pytest.fixture
def gateway(tmp_path) -> Iterator[GatewayThread]:
    upstream = ReplayUpstream([FALLBACK], extra=SCRIPTS).start()
    gw = GatewayThread(parse(config_text(upstream.url, free_port()), source="<or>", env={}),
                       tmp_path / "ledger.sqlite3").start()
    yield gw
    gw.stop()
    upstream.stop()


def ask_chat(gw: GatewayThread, tier: str) -> tuple[str, str]:
    client = openai.OpenAI(base_url=f"{gw.url}/x/or/p/{tier}/v1", api_key="x", max_retries=0)
    raw = client.chat.completions.with_raw_response.create(
        model="m", messages=[{"role": "user", "content": "hi"}], stream=True)
    text = "".join(c.delta.content or "" for chunk in raw.parse() for c in chunk.choices)
    return raw.headers["x-xx-model"], text


def ask_claude(gw: GatewayThread, tier: str) -> tuple[str, str]:
    client = anthropic.Anthropic(base_url=f"{gw.url}/x/or/p/{tier}", api_key="x", max_retries=0)
    with client.messages.stream(model="m", max_tokens=64, messages=[{"role": "user", "content": "hi"}]) as s:
        model = s.response.headers["x-xx-model"]
        return model, "".join(b.text for b in s.get_final_message().content if b.type == "text")


@pytest.mark.parametrize("ask", [ask_chat, ask_claude], ids=["chat-passthrough", "anthropic-translated"])
def test_rate_limit_error_after_comments_falls_back(gateway: GatewayThread, ask) -> None:
    model, text = ask(gateway, "queued")
    assert (model, text) == ("fallback", expected(FALLBACK).text)


@pytest.mark.parametrize("ask", [ask_chat, ask_claude], ids=["chat-passthrough", "anthropic-translated"])
def test_comments_only_trips_the_first_byte_timeout(gateway: GatewayThread, ask) -> None:
    started = time.monotonic()
    model, text = ask(gateway, "comments")
    assert (model, text) == ("fallback", expected(FALLBACK).text)
    assert time.monotonic() - started < 3.5  # first_byte is 1 s; the keep-alives went on for 4 s


@pytest.mark.parametrize("ask", [ask_chat, ask_claude], ids=["chat-passthrough", "anthropic-translated"])
def test_comments_then_content_is_delivered_whole(gateway: GatewayThread, ask) -> None:
    model, text = ask(gateway, "late")
    assert (model, text) == ("late", expected(FALLBACK).text)


def test_reasoning_details_and_final_usage_reach_an_anthropic_client(gateway: GatewayThread) -> None:
    client = anthropic.Anthropic(base_url=f"{gateway.url}/x/or/p/think", api_key="x", max_retries=0)
    with client.messages.stream(model="m", max_tokens=64, messages=[{"role": "user", "content": "hi"}]) as s:
        msg = s.get_final_message()
    assert [(b.type, getattr(b, "thinking", None) or getattr(b, "text", None)) for b in msg.content] == [
        ("thinking", "Think."), ("text", "Hello")]
    u = msg.usage
    assert (u.input_tokens, u.cache_read_input_tokens, u.output_tokens) == (4, 8, 5)
