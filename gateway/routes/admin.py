"""Admin endpoints: liveness, readiness, metrics, stats, recent requests, live events.

They answer loopback clients, or a request carrying the gateway token: routes/auth.py's
hook checks that for every route, so no view here repeats it.
"""

from __future__ import annotations

from collections.abc import Callable

import orjson
from quart import Quart, Response, request

from gateway.accounting import usage
from gateway.accounting.metrics import render as render_metrics
from gateway.config.dialects import error_body
from gateway.routes import identity, views
from gateway.runtime import Runtime


def _json(obj: object, status: int = 200) -> Response:
    return Response(orjson.dumps(obj), status=status, content_type="application/json")


def register(app: Quart, rt: Runtime, authorized: Callable[[], bool]) -> None:
    rt.model_view = lambda name: views.model_row(rt, name)  # what a model-change event carries
    who = identity.IdentityCache()

    @app.get("/health")
    async def health() -> Response:
        return _json({**views.health(rt), **(who.get(rt) if authorized() else {})})  # identity: loopback or token

    @app.get("/ready")
    async def ready() -> Response:
        status, body = views.readiness(rt, identity.default_tier_problem(rt))
        return _json(body, status)

    identity.register(app, rt, lambda: None)  # routes/auth.py gates every route
    _reports(app, rt)
    _models(app, rt)


def _reports(app: Quart, rt: Runtime) -> None:
    """Counters and history: /metrics, /xx/stats, /xx/requests, /xx/usage, /xx/events."""

    @app.get("/metrics")
    async def metrics() -> Response:
        return Response(render_metrics(rt), content_type="text/plain; version=0.0.4")

    @app.get("/xx/stats")
    async def stats() -> Response:
        return _json(views.snapshot(rt))

    @app.get("/xx/requests")
    async def requests() -> Response:
        try:
            limit = max(1, min(1000, int(request.args.get("limit", "100"))))
        except ValueError:
            return _json(error_body("openai", 400, "limit must be an integer"), 400)
        rows = await app.ensure_async(rt.ledger.recent)(limit) if rt.ledger else []
        return _json({"requests": rows})

    @app.get("/xx/usage")
    async def usage_view() -> Response:
        try:
            since = usage.parse_since(request.args.get("since", "7d"), rt.clock())
            by = request.args.get("by", "day")
            rows = await app.ensure_async(rt.ledger.since)(since) if rt.ledger else []
            prices = usage.prices_of(rt.config, usage.load_catalog())
            report = usage.summarize(rows, by, prices, since=since, until=rt.clock())
        except usage.UsageError as e:
            return _json(error_body("openai", 400, str(e)), 400)
        return _json(report)

    @app.get("/xx/events")
    async def events() -> Response:
        hello = {"version": rt.version, "started": rt.started, "instance": rt.instance}
        resp = Response(rt.broker.stream(hello), content_type="text/event-stream", headers={"cache-control": "no-cache"})
        resp.timeout = None
        return resp


def _models(app: Quart, rt: Runtime) -> None:
    """Model state and the one write: /xx/models, /xx/models/<name>/reset."""

    @app.get("/xx/models")
    async def admin_models() -> Response:
        return _json({"models": views.models(rt), "pools": views.pools(rt)})

    @app.post("/xx/models/<name>/reset")
    async def admin_reset(name: str) -> Response:
        if name not in rt.config.models:
            return _json(error_body("openai", 404, f"unknown model {name!r} (models: {', '.join(rt.config.models)})"), 404)
        rt.routing.health.reset(name)
        row = views.model_row(rt, name)
        rt.broker.publish("model", row)
        return _json({"ok": True, "model": row})
