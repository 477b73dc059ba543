"""The proxy loop: parse once, plan candidates, try them in order, stream bytes through.

Fallback happens only before the first byte reaches the client; after that a failure ends
the stream with an error event in the client's dialect (two models are never spliced into
one answer). Every request, however it ends, becomes one Exchange: `Flow` (gateway/attempt.py)
records it exactly once, and each try of a candidate is one `UpstreamAttempt`. Which
answers let the next candidate try is policy, in gateway/fallback.py.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from quart import Response

from gateway import upstream
from gateway.attempt import Flow, UpstreamAttempt
from gateway.caching import replay
from gateway.caching.shaping import options_for, shape
from gateway.config import Model, Provider
from gateway.config.dialects import json_error
from gateway.errors import UpstreamError
from gateway.exchange import Exchange
from gateway.fallback import client_status, falls_back, redirect_error, status_for_kind
from gateway.guards.body import Broken
from gateway.guards.hooks import local_answer
from gateway.identify import Ident
from gateway.protocols.dispatch import (
    TranslationError,
    drop_foreign_thinking,
    translate_request,
    translate_response,
)
from gateway.protocols.errors import UpstreamMalformed
from gateway.relay import Relay
from gateway.routing import context, finality
from gateway.routing.affinity import session_key
from gateway.routing.health import retry_after_from_headers
from gateway.routing.plan import Candidate, Plan, RouteRequest, plan
from gateway.routing.roles import classify
from gateway.runtime import Runtime
from gateway.upstream import Opened

log = logging.getLogger("xx.gateway.proxy")

# What a translator raises on a body of a shape validation did not foresee (`inlineData: 1`, a
# `tool_result` whose content is `[5]`): the input's fault, so a 400 for a request and a failed
# attempt (the next model tries) for an upstream answer, never a 500.
MALFORMED = (TypeError, AttributeError, KeyError, IndexError, ValueError)
ERROR_BODY_LIMIT = 65536  # bytes of an upstream error body read for its message
ERROR_MESSAGE_LIMIT = 1000  # characters of it kept: whole provider messages (Google's end with a docs URL)


@dataclass
class Incoming:
    dialect: str  # the dialect the agent speaks: anthropic | openai | responses | gemini
    ident: Ident
    path: str
    raw: bytes
    body: dict[str, Any]  # the planning copy: attempts parse their own from `raw`
    headers: Mapping[str, str]
    stream: bool
    model: str  # what the agent asked for (Gemini: from the URL)
    tokens: int = 0  # the prompt's estimated tokens (routing.context.estimate_tokens), set once by `plan`


def _carries_a_turn(body: dict[str, Any], dialect: str) -> bool:
    """A translated request still has a conversation: a Chat or Anthropic message other than system, or an input."""
    if dialect == "responses":
        return bool(body.get("input"))
    return any(isinstance(m, dict) and m.get("role") not in ("system", "developer") for m in body.get("messages") or [])


class Proxy:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.relay = Relay(rt)

    async def handle(self, inc: Incoming) -> Response:
        rt = self.rt
        ex = Exchange(started=rt.clock(), agent=inc.ident.agent, route=inc.ident.route, tier=inc.ident.tier or "",
                      dialect=inc.dialect, path=inc.path, requested_model=inc.model, stream=inc.stream)
        ex.session = session_key(inc.headers, inc.body, inc.dialect)
        async with Flow(rt, ex) as flow:
            if (rec := rt.capture.begin(ex.id, agent=ex.agent, dialect=inc.dialect, path=inc.path)) is not None:
                rec.request(inc.headers, inc.raw)
            said = rt.guards.before(inc, ex, rt.routing.quotas.snapshot)  # gateway/guards/hooks.py
            if said is not None:
                return await self.guard_answer(inc, flow, said)
            choice = self.plan(inc, ex)
            if choice.error is not None:
                err = choice.error
                headers = {"retry-after": str(int(err.retry_after))} if err.retry_after else {}
                headers |= finality.headers(finality.is_final([], ex.skipped, rt.clock()))  # stop agents' retries
                await flow.end("error", err.status, err.message)
                return json_error(inc.dialect, err.status, err.message, headers, code=err.code)
            entry = await self.coalesce(inc, flow)
            if entry is not None:
                return await self.replayed(flow, entry)
            for cand in choice.candidates:
                resp = await self.attempt(inc, flow, cand)
                if resp is None and rt.guards.ask_again(ex):  # an unrepairable tool call: the same model once more
                    resp = await self.attempt(inc, flow, cand)
                if resp is not None:
                    return resp
                if flow.stop:
                    break
            return await self.give_up(inc, flow)

    async def guard_answer(self, inc: Incoming, flow: Flow, text: str) -> Response:
        """The gateway's own answer (an in-chat command, a stopped loop): no upstream call."""
        data, content_type = local_answer(text, inc.dialect, inc.stream, inc.model)
        if (rec := self.rt.capture.get(flow.ex.id)) is not None:
            rec.client_bytes(data)
        await flow.end(flow.ex.outcome, 200)  # "command" or "loop": set by guards.hooks.answered_here
        return Response(data, status=200, content_type=content_type, headers={"x-xx-exchange": flow.ex.id})

    def plan(self, inc: Incoming, ex: Exchange) -> Plan:
        cfg = self.rt.config
        tokens = inc.tokens = context.estimate_tokens(inc.raw, inc.dialect)  # an order of magnitude, not a tokenizer
        tier = cfg.tier_named(inc.ident.tier or cfg.gateway.default_tier)
        if tier is not None:
            ex.tier = tier.name
            ex.role = classify(inc.body, inc.dialect, inc.headers, tier, long_threshold=cfg.gateway.long_context_tokens,
                               model=inc.model, tokens=tokens)
        route = RouteRequest(inc.ident.agent, inc.ident.route, inc.ident.tier, ex.role, inc.model, ex.session, tokens)
        choice = plan(route, cfg, self.rt.routing)
        ex.skipped = [s.as_dict() for s in choice.skipped]
        return choice

    async def coalesce(self, inc: Incoming, flow: Flow) -> replay.Entry | None:
        """A stored or concurrent identical answer; else this request may lead a flight (`flow.flight`)."""
        rt, ex = self.rt, flow.ex
        tier = rt.config.tiers.get(ex.tier)
        if tier is None or rt.replay is None or not replay.enabled(rt.config.cache.replay, tier.replay, inc.headers):
            return None
        key = replay.make_key(inc.dialect, tier.name, inc.body)
        entry = await rt.replay.aget(key)
        if entry is not None:
            return entry
        flight = rt.coalescer.join(key)
        if flight.leader:
            flow.flight = flight
            return None
        return await flight.wait()  # None: the leader had nothing to share, so call upstream ourselves

    async def attempt(self, inc: Incoming, flow: Flow, cand: Candidate) -> Response | None:
        """One candidate: a Response, or None (the attempt recorded why) to try the next."""
        model, provider = cand.model, cand.provider
        try:
            body = self.upstream_body(inc, model, provider, flow.ex.session)
        except MALFORMED as exc:  # validation lets an odd shape through: the request is at fault, never a 500
            if not isinstance(exc, TranslationError):
                log.debug("request could not be translated for %s", model.name, exc_info=True)
                exc = TranslationError(f"malformed request: a field has an unexpected shape ({type(exc).__name__})")
            att = UpstreamAttempt(flow, model, provider, b"", {}, 0)
            att.row.outcome, att.row.error = "error", f"cannot translate: {exc}"
            flow.ex.attempts.append(att.row)
            flow.failed(400, str(exc))
            return None
        tokens = inc.tokens
        async with UpstreamAttempt(flow, model, provider, body, self.headers_for(inc, provider), tokens) as att:
            if not await att.claim():
                return None
            try:
                opened = await att.send()
            except UpstreamError as exc:
                att.fail(str(exc))
                flow.failed(status_for_kind(exc.kind), f"{model.name}: {exc}")
                return None
            if not 200 <= opened.status < 300:
                await self.refused(flow, att, opened)
                return None
            if inc.stream:
                return await self.relay.start(inc, att)
            return await self.complete(inc, att)

    async def refused(self, flow: Flow, att: UpstreamAttempt, opened: Opened) -> None:
        """An error status (or a redirect): fail the attempt; stop when the request itself is at fault."""
        status = opened.status
        if 300 <= status < 400:
            message = redirect_error(status, opened.headers.get("location"))
            opened.close_now()
            att.fail(message, status)
            flow.failed(502, f"{att.model.name}: {message}")
            return
        message = await self.read_error(opened)
        if (rec := self.rt.capture.get(flow.ex.id)) is not None:
            rec.upstream_bytes(message.encode())  # the refusal's message (scrubbed, cut at ERROR_MESSAGE_LIMIT)
        wait = retry_after_from_headers(opened.headers, self.rt.clock())
        other_key = self.rt.governor.other_key_serves(att)  # a refused key is retired alone, not the model
        att.fail(f"HTTP {status}: {message}", None if other_key else status, wait)
        hdrs = {"retry-after": str(max(1, int(wait)))} if wait else {}
        flow.failed(status, f"{att.model.name}: {att.row.error}", hdrs)
        flow.stop = not other_key and not falls_back(status, message)  # the next model would refuse it too
        if (over := context.overflow(message)) is not None and over[1]:
            self.rt.routing.learned[att.model.name] = over[1]  # later prompts this long skip it at once

    async def give_up(self, inc: Incoming, flow: Flow) -> Response:
        status, message, headers = flow.last or (503, "no candidate could be tried", {})
        status = client_status(status)
        text = self.rt.scrub(f"every candidate failed; last: {message}")
        code = None
        if status == 400 and (over := context.overflow(message)) is not None:  # in the words agents compact on
            tokens, window = over
            text = context.too_long_message(tokens or inc.tokens, [window or 0], f"model {message.split(':')[0]!r}")
            code = context.CODE
        headers = {**headers, **finality.headers(finality.is_final(flow.ex.attempts, flow.ex.skipped, self.rt.clock()))}
        await flow.end("error", status, message)
        return json_error(inc.dialect, status, text, headers, code=code)

    def upstream_body(self, inc: Incoming, model: Model, provider: Provider, session: str | None) -> bytes:
        """The original bytes when nothing changes; otherwise translate/shape and serialise once.

        Re-serialising JSON that needed no change can break prefix caches and thinking
        signatures, so the common pass-through case forwards `inc.raw` untouched. Shaping
        edits in place, so every attempt parses its own copy: what was shaped for one
        candidate (a stripped billing block) never reaches the next.
        """
        own = orjson.loads(inc.raw)
        if inc.dialect == provider.dialect:
            body = own
            changed = body.get("model") != model.id
            if changed and inc.dialect != "gemini":
                body["model"] = model.id
        else:
            body = translate_request(own, inc.dialect, provider.dialect, model=model.id, stream=inc.stream,
                                     reasoning_style="openrouter" if provider.is_openrouter else "effort")
            if not _carries_a_turn(body, provider.dialect):  # only parts no dialect here knows: say so, call nobody
                raise TranslationError(f"nothing in this request can be carried to a {provider.dialect} model: "
                                       "its messages hold only parts of unknown types")
            changed = True
        if provider.dialect == "anthropic":
            changed |= drop_foreign_thinking(body, provider.dialect, model.id, target=provider.dialect)
        changed |= bool(shape(body, provider.dialect, options_for(provider, model), session=session))
        return orjson.dumps(body) if changed else inc.raw

    def headers_for(self, inc: Incoming, provider: Provider) -> dict[str, str]:
        h = {"content-type": "application/json", "accept": "text/event-stream" if inc.stream else "application/json"}
        if provider.dialect == "anthropic":
            h["anthropic-version"] = inc.headers.get("anthropic-version", "2023-06-01")
            beta = inc.headers.get("anthropic-beta")
            if beta and inc.dialect == "anthropic":
                h["anthropic-beta"] = beta
        if provider.is_openrouter:
            h["http-referer"] = "https://github.com/xx-agents/xx"
            h["x-title"] = "xx"
        h.update(upstream.auth_headers(provider))
        return h

    async def read_error(self, opened: Opened) -> str:
        try:
            payload = (await opened.read_all(idle=5.0, limit=ERROR_BODY_LIMIT))[:ERROR_BODY_LIMIT]
        except UpstreamError:
            payload = opened.first[:ERROR_BODY_LIMIT]
        try:
            obj = orjson.loads(payload)
            err = obj.get("error", obj) if isinstance(obj, dict) else obj
            msg = err.get("message") if isinstance(err, dict) else None
            text = str(msg or payload[:ERROR_MESSAGE_LIMIT].decode(errors="replace"))
        except orjson.JSONDecodeError:
            text = payload[:ERROR_MESSAGE_LIMIT].decode(errors="replace")
        return self.rt.scrub(text)[:ERROR_MESSAGE_LIMIT]

    async def complete(self, inc: Incoming, att: UpstreamAttempt) -> Response | None:
        """A whole JSON answer; None (the attempt failed) when it was unusable and the next model may try."""
        rt, flow, ex = self.rt, att.flow, att.ex
        opened = att.opened
        assert opened is not None
        try:
            data = await opened.read_all(rt.config.gateway.timeouts.idle)
            if (rec := rt.capture.get(ex.id)) is not None:
                rec.upstream_bytes(data)
            parsed = orjson.loads(data)
            if rt.guards.body(parsed, att.provider.dialect, inc, ex):  # repaired or blocked tool calls
                data = orjson.dumps(parsed)
            usage = provider_usage(att.provider.dialect, parsed)
            if att.provider.dialect != inc.dialect:
                data = orjson.dumps(translate_response(parsed, att.provider.dialect, inc.dialect,
                                                       requested_model=inc.model, upstream_model=att.model.id))
        except (UpstreamError, UpstreamMalformed, Broken, *MALFORMED) as exc:  # a 200 of an odd shape: next model
            att.fail(f"unusable answer: {exc or type(exc).__name__}", opened.status)
            flow.failed(502, f"{att.model.name}: {att.row.error}")
            return None
        data = rt.scrub_bytes(data)
        if (rec := rt.capture.get(ex.id)) is not None:
            rec.client_bytes(data)
        ex.first_byte = rt.clock()
        ex.usage = usage
        att.succeed()
        if flow.flight is not None:
            await flow.share(replay.Entry(opened.status, {"content-type": "application/json"}, [data], False,
                                          inc.dialect, ex.tier, att.model.name, att.provider.name, usage, rt.clock()))
        await flow.end("ok", opened.status)
        return Response(data, status=opened.status, content_type="application/json",
                        headers={"x-xx-model": att.model.name, "x-xx-exchange": ex.id})

    async def replayed(self, flow: Flow, entry: replay.Entry) -> Response:
        rt, ex = self.rt, flow.ex
        ex.model, ex.provider, ex.usage = entry.model, entry.provider, entry.usage
        ex.first_byte = rt.clock()
        flow.price = rt.config.models[entry.model].price if entry.model in rt.config.models else None
        await flow.end("ok", entry.status, replay=True)
        headers = {**entry.headers, "x-xx-model": entry.model or "", "x-xx-exchange": ex.id, "x-xx-replay": "1"}
        return Response(entry.body, status=entry.status, headers=headers)


def provider_usage(dialect: str, body: Any):
    from gateway.config.dialects import DIALECTS

    return DIALECTS[dialect].usage_from_body(body)
