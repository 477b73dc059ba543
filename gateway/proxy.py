"""The proxy loop: parse once, plan candidates, try them in order, stream bytes through.

Fallback happens only before the first byte reaches the client; after that a failure ends
the stream with an error event in the client's dialect (two models are never spliced into
one answer). Every request, however it ends, becomes one Exchange.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from quart import Response

from gateway import upstream
from gateway.caching import replay
from gateway.caching.shaping import options_for, shape
from gateway.config import Model, Provider
from gateway.config.dialects import json_error
from gateway.exchange import Attempt, Exchange
from gateway.identify import Ident
from gateway.protocols.dispatch import (
    TranslationError,
    drop_foreign_thinking,
    translate_request,
    translate_response,
)
from gateway.protocols.errors import UpstreamMalformed
from gateway.relay import Relay
from gateway.routing.affinity import session_key
from gateway.routing.health import retry_after_from_headers
from gateway.routing.plan import RouteRequest, plan
from gateway.routing.roles import classify
from gateway.runtime import Runtime
from gateway.upstream import Opened, UpstreamError

RETRYABLE = {408, 409, 425, 429, 500, 502, 503, 504, 529}
# Provider errors that mean "this model cannot serve now" even under a client-error status.
CANNOT_SERVE = ("model_not_found", "no endpoints found", "is not available", "overloaded", "capacity", "quota",
                "rate limit", "rate-limit", "temporarily", "not supported for this model")
UPSTREAM_SUFFIX = {"anthropic": "/v1/messages", "openai": "/chat/completions", "responses": "/responses"}


@dataclass
class Incoming:
    endpoint: str  # the protocol the agent speaks: anthropic | openai | responses | gemini
    ident: Ident
    path: str
    raw: bytes
    body: dict[str, Any]
    headers: Mapping[str, str]
    stream: bool
    model: str  # what the agent asked for (Gemini: from the URL)


def retryable(status: int, message: str) -> bool:
    if status in RETRYABLE:
        return True
    low = message.lower()
    return status in (400, 403, 404, 422) and any(s in low for s in CANNOT_SERVE)


class Proxy:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.relay = Relay(rt)

    async def handle(self, inc: Incoming) -> Response:
        rt = self.rt
        cfg = rt.config
        ex = Exchange(
            started=rt.clock(), agent=inc.ident.agent, route=inc.ident.route, tier=inc.ident.tier or "",
            endpoint=inc.endpoint, path=inc.path, requested_model=inc.model, stream=inc.stream,
        )
        ex.session = session_key(inc.headers, inc.body, inc.endpoint)
        tokens = len(inc.raw) // 4  # routing needs an order of magnitude, not a tokenizer: O(1), not a walk
        tier = cfg.tier_named(inc.ident.tier or cfg.gateway.default_tier)
        if tier is not None:
            ex.tier = tier.name
            ex.role = classify(inc.body, inc.endpoint, inc.headers, tier, long_threshold=cfg.gateway.long_context_tokens,
                               model=inc.model, tokens=tokens)
        route = RouteRequest(inc.ident.agent, inc.ident.route, inc.ident.tier, ex.role, inc.model, ex.session, tokens)
        choice = plan(route, cfg, rt.routing)
        ex.skipped = [s.as_dict() for s in choice.skipped]
        if choice.error is not None:
            headers = {"retry-after": str(int(choice.error.retry_after))} if choice.error.retry_after else {}
            return await self.fail(ex, json_error(inc.endpoint, choice.error.status, choice.error.message, headers),
                                   choice.error.message)

        flight = None
        if tier is not None and replay.enabled(cfg.cache.replay, tier.replay, inc.headers) and rt.replay is not None:
            key = replay.make_key(inc.endpoint, tier.name, inc.body)
            entry = await rt.replay.aget(key)
            if entry is None:
                flight = rt.coalescer.join(key)
                if not flight.leader:
                    entry = await flight.wait()
                    flight = None
            if entry is not None:
                return await self.replayed(ex, entry)

        rt.in_flight += 1
        handed_off = False
        try:
            last: tuple[int, str, dict[str, str]] | None = None
            for cand in choice.candidates:
                model, provider = cand.model, cand.provider
                attempt = Attempt(model=model.name, provider=provider.name)
                try:
                    body = self.upstream_body(inc, model, provider, ex.session)
                except TranslationError as exc:
                    attempt.outcome, attempt.error = "error", f"cannot translate: {exc}"
                    ex.attempts.append(attempt)
                    last = (400, str(exc), {})
                    continue
                if not rt.routing.health.begin(model.name):
                    ex.skipped.append({"model": model.name, "reason": "half-open probe in flight", "until": None})
                    continue
                ex.attempts.append(attempt)
                t0 = rt.clock()
                rt.routing.quotas.record(model, tokens)
                try:
                    opened = await upstream.open_stream(
                        rt.client, provider.base_url + UPSTREAM_SUFFIX[provider.protocol], body,
                        self.headers_for(inc, provider), cfg.gateway.timeouts,
                    )
                except UpstreamError as exc:
                    attempt.outcome, attempt.error, attempt.ms = "error", str(exc), (rt.clock() - t0) * 1000
                    rt.routing.health.failure(model.name, None, str(exc))
                    last = (504 if "timeout" in exc.kind else 502, f"{model.name}: {exc}", {})
                    continue
                attempt.status = opened.status
                if opened.status >= 400:
                    message = await self.read_error(opened)
                    attempt.outcome, attempt.ms = "error", (rt.clock() - t0) * 1000
                    attempt.error = f"HTTP {opened.status}: {message}"
                    wait = retry_after_from_headers(opened.headers, rt.clock())
                    rt.routing.health.failure(model.name, opened.status, attempt.error, wait)
                    hdrs = {"retry-after": str(max(1, int(wait)))} if wait else {}
                    last = (opened.status, f"{model.name}: {attempt.error}", hdrs)
                    if retryable(opened.status, message):
                        continue
                    break  # the client's request is at fault: the next model would refuse it too
                ex.model, ex.provider = model.name, provider.name
                if inc.stream:
                    resp = await self.relay.start(inc, ex, attempt, opened, model, provider, t0, flight)
                    if resp is None:  # the upstream failed before anything reached the client
                        rt.routing.health.failure(model.name, opened.status, attempt.error or "stream failed")
                        ex.model = ex.provider = None
                        last = (502, f"{model.name}: {attempt.error}", {})
                        continue
                    handed_off = True
                    return resp
                resp = await self.complete(inc, ex, attempt, opened, model, provider, t0, flight)
                if resp is None:
                    ex.model = ex.provider = None
                    last = (502, f"{model.name}: {attempt.error}", {})
                    continue
                flight = None  # complete() resolved it for the followers
                return resp
            status, message, headers = last or (503, "no candidate could be tried", {})
            if status >= 500 and status not in (502, 503, 504):
                status = 502  # the upstream's 500/529 is not the gateway crashing: say "bad gateway"
            return await self.fail(ex, json_error(inc.endpoint, status, rt.scrub(f"every candidate failed; last: {message}"), headers), message)
        finally:
            if not handed_off:
                rt.in_flight -= 1
                if flight is not None:
                    flight.release()

    async def fail(self, ex: Exchange, resp: Response, error: str) -> Response:
        ex.status, ex.outcome, ex.error = resp.status_code, "error", error
        await self.rt.record(ex)
        return resp

    def upstream_body(self, inc: Incoming, model: Model, provider: Provider, session: str | None) -> bytes:
        """The original bytes when nothing changes; otherwise translate/shape and serialise once.

        Re-serialising JSON that needed no change can break prefix caches and thinking
        signatures, so the common pass-through case forwards `inc.raw` untouched.
        """
        if inc.endpoint == provider.protocol:
            body = {**inc.body, "model": model.id}
            changed = inc.body.get("model") != model.id
        else:
            body = translate_request(inc.body, inc.endpoint, provider.protocol, model=model.id, stream=inc.stream,
                                     reasoning_style="openrouter" if provider.is_openrouter else "effort")
            changed = True
        if provider.protocol == "anthropic":
            changed |= drop_foreign_thinking(body, provider.protocol, model.id, target=provider.protocol)
        changed |= bool(shape(body, provider.protocol, options_for(provider, model), session=session))
        return orjson.dumps(body) if changed else inc.raw

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

    async def read_error(self, opened: Opened) -> str:
        try:
            payload = (await opened.read_all(idle=5.0))[:65536]
        except UpstreamError:
            payload = opened.first[:65536]
        try:
            obj = orjson.loads(payload)
            err = obj.get("error", obj) if isinstance(obj, dict) else obj
            msg = err.get("message") if isinstance(err, dict) else None
            text = str(msg or payload[:300].decode(errors="replace"))
        except orjson.JSONDecodeError:
            text = payload[:300].decode(errors="replace")
        return self.rt.scrub(text)[:300]

    async def complete(self, inc: Incoming, ex: Exchange, attempt: Attempt, opened: Opened, model: Model,
                       provider: Provider, t0: float, flight: replay.Flight | None) -> Response | None:
        """A whole JSON answer; None (with attempt.error set) when it was unusable and the next model may try."""
        rt = self.rt
        try:
            data = await opened.read_all(rt.config.gateway.timeouts.idle)
            parsed = orjson.loads(data)
            usage = provider_usage(provider.protocol, parsed)
            if provider.protocol != inc.endpoint:
                data = orjson.dumps(translate_response(parsed, provider.protocol, inc.endpoint, requested_model=inc.model,
                                                      upstream_model=model.id))
        except (UpstreamError, orjson.JSONDecodeError, UpstreamMalformed, TranslationError) as exc:
            attempt.outcome, attempt.error = "error", f"unusable answer: {exc}"
            attempt.ms = (rt.clock() - t0) * 1000
            rt.routing.health.failure(model.name, opened.status, attempt.error)
            return None
        ex.first_byte = rt.clock()
        attempt.ms = (ex.first_byte - t0) * 1000
        attempt.outcome = "ok"
        ex.usage = usage
        ex.status, ex.outcome = opened.status, "ok"
        rt.routing.health.success(model.name, attempt.ms, attempt.ms)
        rt.routing.affinity.remember(ex.session, ex.role, model.name)
        content_type = "application/json"
        if flight is not None:
            entry = replay.Entry(opened.status, {"content-type": content_type}, [data], False, inc.endpoint, ex.tier,
                                 model.name, provider.name, usage, rt.clock())
            await rt.replay.aput(flight.key, entry)
            flight.resolve(entry)
        await rt.record(ex, model.price)
        return Response(data, status=opened.status, content_type=content_type,
                        headers={"x-xx-model": model.name, "x-xx-exchange": ex.id})

    async def replayed(self, ex: Exchange, entry: replay.Entry) -> Response:
        rt = self.rt
        ex.model, ex.provider, ex.usage = entry.model, entry.provider, entry.usage
        ex.status, ex.outcome, ex.first_byte = entry.status, "ok", rt.clock()
        price = rt.config.models[entry.model].price if entry.model in rt.config.models else None
        await rt.record(ex, price, replay=True)
        headers = {**entry.headers, "x-xx-model": entry.model or "", "x-xx-exchange": ex.id, "x-xx-replay": "1"}
        return Response(entry.body, status=entry.status, headers=headers)


def provider_usage(protocol: str, body: Any):
    from gateway.config.dialects import DIALECTS

    return DIALECTS[protocol].usage_from_body(body)
