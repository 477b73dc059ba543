"""The control API under `/_sim/`: how out-of-process users (the demo, subprocess tests, a
person with curl) script the simulator. It is a thin JSON skin over `SimState`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from aiohttp import web

from gateway.simulator.state import SimState

_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _json(obj: Any, status: int = 200) -> web.Response:
    return web.Response(status=status, body=orjson.dumps(obj), content_type="application/json")


def _problem(message: str) -> web.Response:
    return _json({"error": {"message": message}}, 400)


async def _body(request: web.Request) -> dict[str, Any]:
    raw = await request.read()
    if not raw.strip():
        return {}
    body = orjson.loads(raw)
    if not isinstance(body, dict):
        raise ValueError("the body must be a JSON object")
    return body


def _checked(fn: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> _Handler:
    async def wrapper(request: web.Request) -> web.StreamResponse:
        try:
            return await fn(request)
        except (ValueError, TypeError) as exc:  # orjson.JSONDecodeError is a ValueError
            return _problem(str(exc))

    return wrapper


class Control:
    def __init__(self, state: SimState) -> None:
        self.state = state

    def register(self, router: web.UrlDispatcher) -> None:
        router.add_post("/_sim/faults", _checked(self.faults))
        router.add_post("/_sim/script", _checked(self.script))
        router.add_get("/_sim/calls", self.calls)
        router.add_post("/_sim/reset", self.reset)
        router.add_get("/_sim/cache", self.cache)
        router.add_get("/_sim/state", self.describe)
        router.add_get("/_sim/health", self.health)

    async def faults(self, request: web.Request) -> web.StreamResponse:
        """{"model", "faults": [...]} queues; {"model", "always": {...}|null}; {"model", "fail_rate", "seed", "fault"}."""
        body = await _body(request)
        model = body.get("model")
        if not isinstance(model, str) or not model:
            return _problem('"model" is required (a model id, or "*" for every model)')
        if not {"faults", "always", "fail_rate"} & body.keys():
            return _problem('give "faults" (a one-shot queue), "always" (a fault or null) or "fail_rate"')
        out: dict[str, Any] = {"ok": True, "model": model}
        if "faults" in body:
            out["queued"] = self.state.add_faults(model, body["faults"])
        if "always" in body:
            self.state.set_always(model, body["always"])
        if "fail_rate" in body:
            seed = body.get("seed")
            if seed is not None and not isinstance(seed, int):
                return _problem("seed must be an integer")
            self.state.set_fail_rate(model, body["fail_rate"], seed, body.get("fault"))
        return _json(out)

    async def script(self, request: web.Request) -> web.StreamResponse:
        body = await _body(request)
        model = body.get("model")
        if not isinstance(model, str) or not model:
            return _problem('"model" is required')
        if "responses" not in body:
            return _problem('"responses" is required: [{"text": ...} | {"tool": {"name", "arguments"}}]')
        return _json({"ok": True, "model": model, "queued": self.state.add_script(model, body["responses"])})

    async def calls(self, request: web.Request) -> web.StreamResponse:
        model = request.query.get("model")
        return _json({"counts": self.state.counts(), "requests": self.state.requests(model)})

    async def reset(self, request: web.Request) -> web.StreamResponse:
        self.state.reset()
        return _json({"ok": True})

    async def cache(self, request: web.Request) -> web.StreamResponse:
        return _json(self.state.cache_stats())

    async def describe(self, request: web.Request) -> web.StreamResponse:
        return _json(self.state.describe())

    async def health(self, request: web.Request) -> web.StreamResponse:
        return _json({"ok": True, "simulator": True})
