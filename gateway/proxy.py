"""The proxy loop: parse once, plan candidates, try them in order, stream bytes through.

Fallback happens only before the first byte reaches the client; after that a failure ends
the stream with an error event in the client's dialect (two models are never spliced into
one answer). Every request, however it ends, becomes one Exchange.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from quart import Response

from gateway import upstream
from gateway.config import Model, Provider
from gateway.errors import error_body
from gateway.exchange import Attempt, Exchange
from gateway.identify import Ident
from gateway.protocols.sse import encode
from gateway.runtime import Runtime
from gateway.upstream import Opened, UpstreamError
from gateway.usage import UsageTap, from_body

RETRYABLE = {408, 409, 425, 429, 500, 502, 503, 504, 529}
HOP_HEADERS = ("content-type",)


@dataclass
class Incoming:
    endpoint: str  # the protocol the agent speaks: anthropic | openai | responses
    ident: Ident
    path: str
    raw: bytes
    body: dict[str, Any]
    headers: Mapping[str, str]

    @property
    def stream(self) -> bool:
        return self.body.get("stream") is True


def json_error(dialect: str, status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    body = orjson.dumps(error_body(dialect, status, message))
    return Response(body, status=status, content_type="application/json", headers=headers or {})


def validate(endpoint: str, body: Any) -> str | None:
    """A human-actionable problem with the request, or None."""
    if not isinstance(body, dict):
        return "request body must be a JSON object"
    model = body.get("model")
    if not isinstance(model, str) or not model:
        return "'model' is required and must be a non-empty string"
    if "stream" in body and not isinstance(body["stream"], bool):
        return "'stream' must be true or false"
    if endpoint == "responses":
        inp = body.get("input")
        if not isinstance(inp, (str, list)) or not inp:
            return "'input' is required: a string or a non-empty list of items"
        return None
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return "'messages' is required and must be a non-empty list"
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or not isinstance(m.get("role"), str):
            return f"messages[{i}] must be an object with a 'role'"
    if endpoint == "anthropic":
        mt = body.get("max_tokens")
        if not isinstance(mt, int) or isinstance(mt, bool) or mt < 1:
            return "'max_tokens' is required and must be a positive integer"
    return None


class Proxy:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    def candidates(self, inc: Incoming, ex: Exchange) -> list[tuple[Model, Provider]] | Response:
        cfg = self.rt.config
        tier_key = inc.ident.tier or cfg.gateway.default_tier
        tier = cfg.tier_named(tier_key)
        if tier is None:
            names = ", ".join(f"{t.name} ({t.letter})" for t in cfg.tiers.values())
            return json_error(inc.endpoint, 404, f"unknown tier {tier_key!r} (tiers: {names})")
        ex.tier = tier.name
        if inc.ident.route == "b":
            found = [m for m in cfg.models.values() if inc.body["model"] in (m.name, m.id)]
            if not found:
                return json_error(
                    inc.endpoint, 404,
                    f"model {inc.body['model']!r} is not configured (models: {', '.join(cfg.models)})",
                )
            names = [found[0].name]
        else:
            names = list(tier.models_for(ex.role))
        out = []
        for name in names:
            model = cfg.models[name]
            provider = cfg.providers[model.provider]
            if provider.protocol != inc.endpoint:
                ex.skipped.append({"model": name, "reason": f"speaks {provider.protocol}, endpoint is {inc.endpoint}"})
                continue
            out.append((model, provider))
        return out

    async def handle(self, inc: Incoming) -> Response:
        rt = self.rt
        ex = Exchange(
            started=rt.clock(), agent=inc.ident.agent, route=inc.ident.route, tier=inc.ident.tier or "",
            endpoint=inc.endpoint, path=inc.path, requested_model=str(inc.body.get("model", "")), stream=inc.stream,
        )
        rt.in_flight += 1
        handed_off = False
        try:
            chosen = self.candidates(inc, ex)
            if isinstance(chosen, Response):
                return await self.fail(ex, chosen, "no route")
            if not chosen:
                return await self.fail(ex, json_error(inc.endpoint, 503, "no configured model can serve this request"), "no candidate")
            last: tuple[int, bytes, str] | None = None
            for model, provider in chosen:
                attempt = Attempt(model=model.name, provider=provider.name)
                ex.attempts.append(attempt)
                t0 = rt.clock()
                try:
                    opened = await upstream.open_stream(
                        rt.client, upstream.url_for(provider), self.body_for(inc, model),
                        self.headers_for(inc, provider), rt.config.gateway.timeouts,
                    )
                except UpstreamError as exc:
                    attempt.outcome, attempt.error, attempt.ms = "error", str(exc), (rt.clock() - t0) * 1000
                    last = (504 if "timeout" in exc.kind else 502, b"", f"{model.name}: {exc}")
                    continue
                attempt.status = opened.status
                if opened.status >= 400:
                    payload = await self.read_error(opened)
                    attempt.outcome, attempt.ms = "error", (rt.clock() - t0) * 1000
                    attempt.error = f"HTTP {opened.status}: {self.error_text(payload)}"
                    last = (opened.status, payload, attempt.error)
                    if opened.status in RETRYABLE:
                        continue
                    break
                ex.model, ex.provider = model.name, provider.name
                if inc.stream:
                    handed_off = True
                    return self.stream_response(ex, attempt, opened, provider, t0)
                return await self.complete(ex, attempt, opened, provider, t0)
            status, payload, message = last or (502, b"", "no upstream answered")
            ex.status = status
            resp = json_error(inc.endpoint, status, rt.scrub(f"every candidate failed; last: {message}"))
            return await self.fail(ex, resp, message)
        finally:
            if not handed_off:
                rt.in_flight -= 1

    async def fail(self, ex: Exchange, resp: Response, error: str) -> Response:
        ex.status, ex.outcome, ex.error = resp.status_code, "error", error
        await self.rt.record(ex)
        return resp

    def body_for(self, inc: Incoming, model: Model) -> bytes:
        """The original bytes when nothing changes; otherwise one re-serialisation."""
        if inc.body.get("model") == model.id:
            return inc.raw
        body = dict(inc.body)
        body["model"] = model.id
        return orjson.dumps(body)

    def headers_for(self, inc: Incoming, provider: Provider) -> dict[str, str]:
        h = {"content-type": "application/json", "accept": "text/event-stream" if inc.stream else "application/json"}
        if provider.protocol == "anthropic":
            h["anthropic-version"] = inc.headers.get("anthropic-version", "2023-06-01")
            beta = inc.headers.get("anthropic-beta")
            if beta and inc.endpoint == "anthropic":
                h["anthropic-beta"] = beta
        if provider.is_openrouter:
            h["http-referer"] = "https://github.com/xx-agents/xx"
            h["x-title"] = "xx"
        h.update(upstream.auth_headers(provider))
        return h

    async def read_error(self, opened: Opened) -> bytes:
        try:
            return (await opened.read_all(idle=5.0))[:65536]
        except UpstreamError:
            return opened.first[:65536]

    def error_text(self, payload: bytes) -> str:
        try:
            obj = orjson.loads(payload)
            err = obj.get("error", obj) if isinstance(obj, dict) else obj
            msg = err.get("message") if isinstance(err, dict) else None
            return self.rt.scrub(str(msg or payload[:200].decode(errors="replace")))[:300]
        except orjson.JSONDecodeError:
            return self.rt.scrub(payload[:200].decode(errors="replace"))

    async def complete(self, ex: Exchange, attempt: Attempt, opened: Opened, provider: Provider, t0: float) -> Response:
        rt = self.rt
        try:
            data = await opened.read_all(rt.config.gateway.timeouts.idle)
        except UpstreamError as exc:
            attempt.outcome, attempt.error = "error", str(exc)
            return await self.fail(ex, json_error(ex.endpoint, 502, f"{ex.model}: {exc}"), str(exc))
        ex.first_byte = ex.first_byte or rt.clock()
        attempt.ms = (rt.clock() - t0) * 1000
        attempt.outcome = "ok"
        try:
            ex.usage = from_body(provider.protocol, orjson.loads(data))
        except orjson.JSONDecodeError:
            pass
        ex.status, ex.outcome = opened.status, "ok"
        await rt.record(ex)
        return Response(data, status=opened.status, content_type=opened.headers.get("content-type", "application/json"),
                        headers={"x-xx-model": ex.model or "", "x-xx-exchange": ex.id})

    def stream_response(self, ex: Exchange, attempt: Attempt, opened: Opened, provider: Provider, t0: float) -> Response:
        resp = Response(
            self.relay(ex, attempt, opened, provider, t0),
            status=opened.status,
            content_type=opened.headers.get("content-type", "text/event-stream"),
            headers={"cache-control": "no-cache", "x-xx-model": ex.model or "", "x-xx-exchange": ex.id},
        )
        resp.timeout = None  # streams may outlive Quart's response timeout; idle gaps are ours to police
        return resp

    async def relay(self, ex: Exchange, attempt: Attempt, opened: Opened, provider: Provider, t0: float) -> AsyncIterator[bytes]:
        rt = self.rt
        tap = UsageTap(provider.protocol)
        done = False
        try:
            ex.first_byte = rt.clock()
            tap.feed(opened.first)
            yield opened.first
            async for chunk in opened.rest(rt.config.gateway.timeouts.idle):
                tap.feed(chunk)
                yield chunk
            tap.close()
            if tap.finished:
                attempt.outcome, ex.outcome, ex.status = "ok", "ok", opened.status
            else:
                attempt.outcome, ex.outcome, ex.status = "error", "error", 502
                attempt.error = ex.error = tap.error or "upstream stream ended before its final event"
                yield self.stream_error(ex.endpoint, ex.error)
        except UpstreamError as exc:
            attempt.outcome, ex.outcome, ex.status = "error", "error", 502
            attempt.error = ex.error = f"{ex.model}: {exc}"
            yield self.stream_error(ex.endpoint, ex.error)
        except (asyncio.CancelledError, GeneratorExit):
            attempt.outcome, ex.outcome, ex.status, ex.error = "aborted", "aborted", 499, "client disconnected"
            attempt.ms = (rt.clock() - t0) * 1000
            ex.usage = tap.usage
            await opened.close()
            rt.in_flight -= 1
            done = True
            rt.record_nowait(ex)
            raise
        finally:
            if not done:
                attempt.ms = (rt.clock() - t0) * 1000
                ex.usage = tap.usage
                rt.in_flight -= 1
                await rt.record(ex)

    def stream_error(self, dialect: str, message: str) -> bytes:
        body = error_body(dialect, 502, self.rt.scrub(message))
        if dialect == "anthropic":
            return encode(orjson.dumps(body).decode(), event="error")
        if dialect == "responses":
            return encode(orjson.dumps({"type": "error", "code": "upstream_error", "message": body["error"]["message"]}).decode(), event="error")
        return encode(orjson.dumps(body).decode())
