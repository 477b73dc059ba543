"""The simulated provider's HTTP side: an aiohttp app serving the three provider APIs.

It is a real server on a loopback port because the gateway's behaviour under failure
(resets, stalls, slow chunks) only shows over a real socket. The hot path does no logging
and one JSON parse; the benchmarks compare direct vs through-the-gateway against it.
"""

from __future__ import annotations

import asyncio
import socket
import struct
import time
from dataclasses import dataclass
from typing import Any

import orjson
from aiohttp import web

from gateway.simulator import anthropic, catalog, chat, responses
from gateway.simulator.answers import Prompt, Reply, decide
from gateway.simulator.cache import prompt_tokens
from gateway.simulator.config import SIM_MODEL_IDS
from gateway.simulator.control import Control
from gateway.simulator.errors import (
    BadRequest,
    default_message,
    error_body,
    fault_headers,
    stream_error_event,
)
from gateway.simulator.faults import Fault
from gateway.simulator.state import SimState, redact_headers
from gateway.simulator.wire import Rendered, Tokens

_JSON = "application/json"
_SSE_HEADERS = {"Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-cache"}
_BAD_JSON = {
    "anthropic": "There was an error parsing the body of your request: it is not valid JSON.",
    "chat": "We could not parse the JSON body of your request.",
    "responses": "We could not parse the JSON body of your request.",
}
_GARBAGE = {"json": b'data: {"type": "content_block_delta", "index": 0, "delta": {"te\n\n', "garbage": b"%%SIM-GARBAGE%%\n\n"}


@dataclass(frozen=True, slots=True)
class _Answer:
    prompt: Prompt
    reply: Reply
    tokens: Tokens
    rid: str
    created: int


class Handlers:
    """The provider endpoints, bound to one `SimState`."""

    def __init__(self, state: SimState) -> None:
        self.state = state

    async def messages(self, request: web.Request) -> web.StreamResponse:
        return await self._serve(request, "anthropic")

    async def chat(self, request: web.Request) -> web.StreamResponse:
        return await self._serve(request, "chat")

    async def responses(self, request: web.Request) -> web.StreamResponse:
        return await self._serve(request, "responses")

    async def count_tokens(self, request: web.Request) -> web.StreamResponse:
        body, err = await self._body(request, "anthropic", count=False)
        if err is not None:
            return err
        try:
            prompt = anthropic.parse({"max_tokens": 1, **body} if isinstance(body, dict) else body)
        except BadRequest as exc:
            return _error("anthropic", 400, exc.message)
        return web.Response(body=orjson.dumps({"input_tokens": prompt_tokens(prompt.segments)}), content_type=_JSON)

    async def models(self, request: web.Request) -> web.StreamResponse:
        ids = list(dict.fromkeys([*SIM_MODEL_IDS, *self.state.counts()]))
        data = [
            {"id": m, "object": "model", "type": "model", "display_name": m, "created": 1_700_000_000,
             "created_at": "2023-11-14T22:13:20Z", "owned_by": "simulator"}
            for m in ids
        ]  # fmt: skip
        body = {"object": "list", "data": data, "has_more": False, "first_id": ids[0], "last_id": ids[-1]}
        return web.Response(body=orjson.dumps(body), content_type=_JSON)

    async def key_info(self, request: web.Request) -> web.StreamResponse:
        """OpenRouter's GET /api/v1/key under /p/openrouter/v1/key: the free day's counter for this key."""
        from gateway.simulator.limits import key_id

        doc = self.state.limits.key_info(request.match_info["provider"], key_id(request.headers)) if self.state.limits else None
        if doc is None:
            return _error("chat", 404, "not found")
        return web.Response(body=orjson.dumps(doc), content_type=_JSON)

    # -- the request path -----------------------------------------------------------------

    async def _body(self, request: web.Request, dialect: str, *, count: bool = True) -> tuple[Any, web.Response | None]:
        raw = await request.read()
        headers = redact_headers(request.headers.items())
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError:
            self.state.record(request.path, None, False, headers, raw[:4096].decode(errors="replace"), count=count)
            return None, _error(dialect, 400, _BAD_JSON[dialect])
        model = body.get("model") if isinstance(body, dict) else None
        stream = bool(body.get("stream")) if isinstance(body, dict) else False
        self.state.record(request.path, model if isinstance(model, str) else None, stream, headers, body, count=count)
        return body, None

    async def _serve(self, request: web.Request, dialect: str) -> web.StreamResponse:
        body, err = await self._body(request, dialect)
        if err is not None:
            return err
        try:
            if dialect == "anthropic":
                prompt = anthropic.parse(body, default_ttl=self.state.cache.ttl)
            elif dialect == "chat":
                prompt = chat.parse(body)
            else:
                prompt = responses.parse(body)
        except BadRequest as exc:
            return _error(dialect, 400, exc.message, exc.param)
        catalog.steer(prompt, body)
        verdict = self._limits(request, prompt)
        if verdict is not None and verdict.status != 200:
            return web.Response(status=verdict.status, body=verdict.body, content_type=_JSON, headers=verdict.headers)
        try:
            return await self._answer(request, dialect, prompt, verdict.headers if verdict is not None else {})
        finally:
            if verdict is not None:
                self.state.limits.release(verdict)

    def _limits(self, request: web.Request, prompt: Prompt) -> Any:
        """A free plan's verdict when the request came in as /p/<provider>/... and limits are on."""
        provider = request.match_info.get("provider")
        if self.state.limits is None or not provider:
            return None
        from gateway.simulator.limits import key_id

        return self.state.limits.admit(provider, key_id(request.headers), prompt.model,
                                       prompt_tokens(prompt.segments))

    async def _answer(self, request: web.Request, dialect: str, prompt: Prompt,
                      limit_headers: dict[str, str]) -> web.StreamResponse:
        fault = self.state.take_fault(prompt.model) or catalog.fault_for(prompt.model)
        if fault is not None:
            if fault.stall:
                await asyncio.sleep(fault.stall)
            if fault.is_status or (fault.error_after is not None and not prompt.stream):
                status = fault.status or 529  # an in-stream error event is a plain error without a stream
                return _error(dialect, status, fault.message, headers=fault_headers(_error_dialect(dialect), fault))
        reply = decide(prompt, self.state.take_script(prompt.model))
        tokens = Tokens(prompt_tokens(prompt.segments), reply.output_tokens, self.state.cache_for(prompt))
        ans = _Answer(prompt, reply, tokens, self.state.next_id(), int(time.time()))
        headers = {"request-id": f"req_{ans.rid}"} if dialect == "anthropic" else {"x-request-id": f"req_{ans.rid}"}
        headers.update(limit_headers)
        if not prompt.stream:
            return await _send_json(request, _render_json(dialect, ans), headers, fault)
        with_usage = prompt.include_usage or self.state.usage_always or request.headers.get("x-sim-usage") == "always"
        return await _send_stream(request, dialect, _render_events(dialect, ans, with_usage), headers, fault)


def _error_dialect(dialect: str) -> str:
    return "anthropic" if dialect == "anthropic" else "openai"


def _error(
    dialect: str, status: int, message: str | None, param: str | None = None, headers: dict[str, str] | None = None
) -> web.Response:
    body = error_body(_error_dialect(dialect), status, message or default_message(status), param)
    return web.Response(status=status, body=orjson.dumps(body), content_type=_JSON, headers=headers)


def _render_json(dialect: str, a: _Answer) -> bytes:
    if dialect == "anthropic":
        obj = anthropic.render_json(a.prompt, a.reply, a.tokens, a.rid)
    elif dialect == "chat":
        obj = chat.render_json(a.prompt, a.reply, a.tokens, a.rid, a.created)
    else:
        obj = responses.render_json(a.prompt, a.reply, a.tokens, a.rid, a.created)
    return orjson.dumps(obj)


def _render_events(dialect: str, a: _Answer, with_usage: bool) -> Rendered:
    if dialect == "anthropic":
        return anthropic.render_events(a.prompt, a.reply, a.tokens, a.rid)
    if dialect == "chat":
        return chat.render_events(a.prompt, a.reply, a.tokens, a.rid, a.created, with_usage=with_usage)
    return responses.render_events(a.prompt, a.reply, a.tokens, a.rid, a.created)


def _abort(request: web.Request) -> None:
    """Really reset the connection: SO_LINGER 0 makes close() send RST, as a crashed upstream does."""
    transport = request.transport
    if transport is None:
        return
    sock = transport.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
    transport.abort()


async def _send_json(request: web.Request, body: bytes, headers: dict[str, str], fault: Fault | None) -> web.StreamResponse:
    if fault is None or not (fault.malformed_after is not None or fault.reset_after is not None
                             or fault.truncate or fault.stall_after is not None):  # fmt: skip
        return web.Response(body=body, content_type=_JSON, headers=headers)
    if fault.malformed_after is not None:
        return web.Response(body=body[: len(body) // 2], content_type=_JSON, headers=headers)
    if fault.reset_after == 0:
        _abort(request)
        return web.Response()
    resp = web.StreamResponse(headers={**headers, "Content-Type": _JSON})
    resp.content_length = len(body)
    await resp.prepare(request)
    try:
        if fault.stall_after is not None:
            await asyncio.sleep(fault.stall_seconds)
        if fault.reset_after is None and not fault.truncate:
            await resp.write(body)
            await resp.write_eof()
            return resp
        await resp.write(body[: len(body) // 2])
        await asyncio.sleep(0.02)
    except ConnectionError:
        return resp
    if fault.reset_after is not None:
        _abort(request)
    elif request.transport is not None:
        request.transport.close()
    return resp


async def _send_stream(
    request: web.Request, dialect: str, rendered: Rendered, headers: dict[str, str], fault: Fault | None
) -> web.StreamResponse:
    resp = web.StreamResponse(headers={**headers, **_SSE_HEADERS})
    await resp.prepare(request)
    events = rendered.events
    try:
        if fault is None:
            await resp.write(b"".join(events))
            await resp.write_eof()
            return resp
        end = len(events)
        if fault.truncate:
            end = len(events) - rendered.final if fault.truncate_after is None else min(fault.truncate_after, end)
        for i in range(end + 1):
            if i == fault.reset_after:
                await asyncio.sleep(0.02)  # let the chunks already written reach the client first
                _abort(request)
                return resp
            if i == fault.error_after:
                await resp.write(stream_error_event(dialect, fault.status or 529, fault.message or "Overloaded", i))
                break
            if i == fault.stall_after:
                await asyncio.sleep(fault.stall_seconds)
            if i == fault.malformed_after:
                await resp.write(_GARBAGE[fault.malformed])
            if i == end:
                break
            if fault.delay and i:
                await asyncio.sleep(fault.delay)
            await resp.write(events[i])
        if fault.reset_after is not None and fault.reset_after > end:
            _abort(request)
            return resp
        await resp.write_eof()
    except ConnectionError:
        pass
    return resp


def catalog_routes(app: web.Application, h: Handlers) -> None:
    """OpenRouter's shape under /api/v1 (catalog, endpoints, chat), and a catalog that is not JSON under /bad."""

    async def models(_: web.Request) -> web.Response:
        return web.Response(body=orjson.dumps(catalog.models_json()), content_type=_JSON)

    async def endpoints(request: web.Request) -> web.Response:
        found = catalog.endpoints_json(f"{request.match_info['author']}/{request.match_info['slug']}")
        if found is None:
            return _error("chat", 404, "No endpoints found for this model")
        return web.Response(body=orjson.dumps(found), content_type=_JSON)

    async def not_json(_: web.Request) -> web.Response:
        return web.Response(status=200, text="<html><body>502 Bad Gateway</body></html>", content_type="text/html")

    app.router.add_get("/api/v1/models", models)
    app.router.add_get("/api/v1/models/{author}/{slug}/endpoints", endpoints)
    app.router.add_post("/api/v1/chat/completions", h.chat)
    app.router.add_get("/bad/api/v1/models", not_json)


def build_app(state: SimState) -> web.Application:
    app = web.Application(client_max_size=64 * 1024 * 1024)
    h = Handlers(state)
    app.router.add_post("/v1/messages", h.messages)
    app.router.add_post("/v1/messages/count_tokens", h.count_tokens)
    app.router.add_post("/v1/chat/completions", h.chat)
    app.router.add_post("/v1/responses", h.responses)
    app.router.add_get("/v1/models", h.models)
    catalog_routes(app, h)
    # /p/<provider>/...: one simulator playing several providers, each with its free plan (gateway.simulator.limits)
    app.router.add_post("/p/{provider}/v1/messages", h.messages)
    app.router.add_post("/p/{provider}/v1/chat/completions", h.chat)
    app.router.add_post("/p/{provider}/v1/responses", h.responses)
    app.router.add_get("/p/{provider}/v1/key", h.key_info)
    Control(state).register(app.router)
    return app
