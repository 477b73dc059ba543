"""One probe: a streamed turn that must come back as a tool call with valid JSON arguments.

That is the agent's hardest everyday demand on a model (a wrong tool call stalls the agent),
and it measures time to first token and throughput on the way. Every probe takes one unit of
a hard `Budget` before anything is sent: a scan never sends more requests than its budget.
The request and the stream parsing are per dialect (Chat Completions, Anthropic Messages,
Responses); the parsing is pure (`Collector.event`), the I/O is `probe()`.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import asdict, dataclass
from typing import Any

import aiohttp

from gateway.config import Provider, Timeouts
from gateway.protocols.sse import SSEDecoder
from gateway.scrubbing import scrub
from gateway.upstream import UpstreamError, auth_headers, open_stream

TOOL = {"name": "read_file", "description": "Read a text file of the current project and return its content.",
        "parameters": {"type": "object", "properties": {"path": {"type": "string", "description": "relative path"}},
                       "required": ["path"]}}
PROMPT = "Read the project's README.md with the read_file tool. Call the tool now; do not answer in text."
SUFFIX = {"openai": "/chat/completions", "anthropic": "/v1/messages", "responses": "/responses"}
MAX_TOKENS = 1024  # reasoning models think before they call: 256 cut some off before the tool call


class Budget:
    """A hard cap on probe requests, shared by every probe of one scan."""

    def __init__(self, limit: int) -> None:
        self.limit = max(0, limit)
        self.spent = 0

    def take(self) -> bool:
        if self.spent >= self.limit:
            return False
        self.spent += 1
        return True


@dataclass
class ProbeResult:
    ok: bool
    reason: str | None = None
    status: int | None = None
    ttft_ms: float | None = None
    total_ms: float | None = None
    output_tokens: int | None = None
    tokens_per_s: float | None = None
    tool_json_ok: bool | None = None  # None: no tool call came back at all
    reached: bool = True  # the request reached the provider (so it spent quota there)

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None and k != "reached"}


def request_body(dialect: str, model_id: str) -> dict[str, Any]:
    if dialect == "anthropic":
        return {"model": model_id, "max_tokens": MAX_TOKENS, "stream": True,
                "tools": [{"name": TOOL["name"], "description": TOOL["description"], "input_schema": TOOL["parameters"]}],
                "messages": [{"role": "user", "content": PROMPT}]}
    if dialect == "responses":
        return {"model": model_id, "max_output_tokens": MAX_TOKENS, "stream": True, "input": PROMPT,
                "tools": [{"type": "function", **TOOL}]}
    return {"model": model_id, "max_tokens": MAX_TOKENS, "stream": True, "stream_options": {"include_usage": True},
            "tools": [{"type": "function", "function": TOOL}], "messages": [{"role": "user", "content": PROMPT}]}


class Collector:
    """Folds a probe's SSE events (any dialect) into: first-token time, tool name, argument text, usage."""

    def __init__(self, dialect: str, started: float) -> None:
        self.dialect = dialect
        self.started = started
        self.first: float | None = None
        self.tool: str | None = None
        self.arguments = ""
        self.text = ""
        self.output_tokens: int | None = None
        self.error: str | None = None

    def event(self, data: str, now: float) -> None:
        if data.strip() == "[DONE]":
            return
        try:
            obj = json.loads(data)
        except ValueError:
            self.error = f"unreadable stream event: {data[:60]!r}"
            return
        if not isinstance(obj, dict):
            return
        before = (self.tool, len(self.arguments), len(self.text))
        if isinstance(obj.get("error"), dict) or obj.get("type") in ("error", "response.failed"):
            err = obj.get("error") if isinstance(obj.get("error"), dict) else obj.get("response", {}).get("error") or {}
            self.error = f"error event: {str(err.get('message') or err)[:200]}"
        elif self.dialect == "anthropic":
            self._anthropic(obj)
        elif self.dialect == "responses":
            self._responses(obj)
        else:
            self._chat(obj)
        if self.first is None and (self.tool, len(self.arguments), len(self.text)) != before:
            self.first = now

    def _chat(self, obj: dict[str, Any]) -> None:
        usage = obj.get("usage")
        if isinstance(usage, dict) and isinstance(usage.get("completion_tokens"), int):
            self.output_tokens = usage["completion_tokens"]
        for choice in obj.get("choices") or []:
            delta = (choice.get("delta") or {}) if isinstance(choice, dict) else {}
            if isinstance(delta.get("content"), str):
                self.text += delta["content"]
            for call in delta.get("tool_calls") or []:
                fn = (call.get("function") or {}) if isinstance(call, dict) else {}
                if fn.get("name"):
                    self.tool = self.tool or fn["name"]
                if isinstance(fn.get("arguments"), str):
                    self.arguments += fn["arguments"]

    def _anthropic(self, obj: dict[str, Any]) -> None:
        kind = obj.get("type")
        if kind == "content_block_start" and (obj.get("content_block") or {}).get("type") == "tool_use":
            self.tool = self.tool or obj["content_block"].get("name")
        elif kind == "content_block_delta":
            delta = obj.get("delta") or {}
            if delta.get("type") == "input_json_delta":
                self.arguments += delta.get("partial_json") or ""
            elif delta.get("type") == "text_delta":
                self.text += delta.get("text") or ""
        elif kind == "message_delta" and isinstance((obj.get("usage") or {}).get("output_tokens"), int):
            self.output_tokens = obj["usage"]["output_tokens"]

    def _responses(self, obj: dict[str, Any]) -> None:
        kind = obj.get("type")
        item = obj.get("item") or {}
        if kind == "response.output_item.added" and item.get("type") == "function_call":
            self.tool = self.tool or item.get("name")
        elif kind == "response.function_call_arguments.delta":
            self.arguments += obj.get("delta") or ""
        elif kind == "response.output_text.delta":
            self.text += obj.get("delta") or ""
        elif kind == "response.completed":
            usage = (obj.get("response") or {}).get("usage") or {}
            if isinstance(usage.get("output_tokens"), int):
                self.output_tokens = usage["output_tokens"]

    def result(self, now: float, status: int) -> ProbeResult:
        total = (now - self.started) * 1000
        ttft = (self.first - self.started) * 1000 if self.first is not None else None
        tokens = self.output_tokens or max(1, (len(self.arguments) + len(self.text)) // 4)
        gen_s = (now - self.first) if self.first is not None else 0.0
        tps = round(tokens / gen_s, 1) if gen_s > 0.001 else None
        base = {"status": status, "ttft_ms": _r(ttft), "total_ms": _r(total), "output_tokens": tokens, "tokens_per_s": tps}
        if self.error:
            return ProbeResult(False, self.error, **base)
        if self.tool is None:
            said = f": {self.text.strip()[:60]!r}" if self.text.strip() else ""
            return ProbeResult(False, f"answered without calling the tool{said}", **base)
        return ProbeResult(*check_arguments(self.tool, self.arguments), tool_json_ok=_json_ok(self.arguments), **base)


def _r(v: float | None) -> float | None:
    return None if v is None else round(v, 1)


def _json_ok(text: str) -> bool:
    try:
        return isinstance(json.loads(text or "{}"), dict)
    except ValueError:
        return False


def check_arguments(tool: str, text: str) -> tuple[bool, str | None]:
    """Pure: did the model call our tool with arguments an agent could run?"""
    if tool != TOOL["name"]:
        return False, f"called an unknown tool {tool!r}"
    try:
        args = json.loads(text or "{}")
    except ValueError as exc:
        return False, f"tool arguments are not valid JSON ({exc.msg}): {text[:60]!r}"
    if not isinstance(args, dict) or not isinstance(args.get("path"), str) or not args["path"]:
        return False, f"tool arguments miss the required string `path`: {text[:60]!r}"
    return True, None


async def probe(session: aiohttp.ClientSession, provider: Provider, model_id: str, budget: Budget,
                timeouts: Timeouts, secrets: list[str] | tuple[str, ...] = ()) -> ProbeResult:
    """Send one probe (after taking one unit of budget) and judge it; never raises for upstream trouble."""
    if provider.dialect not in SUFFIX:
        return ProbeResult(False, f"no probe for dialect {provider.dialect!r}", reached=False)
    if not budget.take():
        return ProbeResult(False, "probe budget spent", reached=False)
    url = provider.base_url + SUFFIX[provider.dialect]
    headers = {"content-type": "application/json", "accept": "text/event-stream", **auth_headers(provider)}
    if provider.dialect == "anthropic":
        headers["anthropic-version"] = "2023-06-01"
    body = json.dumps(request_body(provider.dialect, model_id)).encode()
    started = time.monotonic()
    total_s = timeouts.first_byte + timeouts.idle
    try:
        async with asyncio.timeout(total_s):
            return await _exchange(session, url, body, headers, timeouts, provider.dialect, started, secrets)
    except TimeoutError:
        return ProbeResult(False, f"timed out after {total_s:g}s", total_ms=_r((time.monotonic() - started) * 1000))
    except UpstreamError as exc:
        return ProbeResult(False, _scrub(str(exc), secrets), total_ms=_r((time.monotonic() - started) * 1000),
                           reached=exc.kind.reached)


async def _exchange(session: aiohttp.ClientSession, url: str, body: bytes, headers: dict[str, str], timeouts: Timeouts,
                    dialect: str, started: float, secrets: Any) -> ProbeResult:
    opened = await open_stream(session, url, body, headers, timeouts)
    try:
        if opened.status >= 400:
            text = (await opened.read_all(timeouts.idle, limit=65536)).decode(errors="replace")
            return ProbeResult(False, f"HTTP {opened.status}: {_scrub(_message(text), secrets)}", status=opened.status)
        collector = Collector(dialect, started)
        decoder = SSEDecoder()
        chunk = opened.first
        while chunk:
            for ev in decoder.feed(chunk):
                collector.event(ev.data, time.monotonic())
            chunk = await opened.next_chunk(timeouts.idle)
        for ev in decoder.flush():
            collector.event(ev.data, time.monotonic())
        return collector.result(time.monotonic(), opened.status)
    finally:
        opened.close_now()


def _message(text: str) -> str:
    try:
        obj = json.loads(text)
        err = obj.get("error", obj) if isinstance(obj, dict) else obj
        return str(err.get("message") if isinstance(err, dict) and err.get("message") else text)[:200]
    except ValueError:
        return text[:200]


def _scrub(text: str, secrets: Any) -> str:
    return scrub(text, secrets)
