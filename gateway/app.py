"""The app factory: `create_app(config)` builds a Quart app with no import-time state.

Resources (the upstream client, the ledger writer) open in `before_serving` and close in
`after_serving`, so Hypercorn's graceful shutdown drains in-flight streams first.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import orjson
from quart import Quart, Response, request

from gateway import upstream
from gateway.config import Config
from gateway.errors import error_body
from gateway.identify import Ident, agent_from_headers, from_prefix
from gateway.ledger import Ledger
from gateway.proxy import Incoming, Proxy, json_error, validate
from gateway.routes import admin
from gateway.runtime import Runtime

PREFIX = "/x/<agent>/<route>/<tier>"
ENDPOINTS = {
    "/v1/messages": "anthropic",
    "/v1/chat/completions": "openai",
    "/v1/responses": "responses",
}
LOOPBACK = ("127.0.0.1", "::1", "localhost", "<local>")


def dialect_for(path: str) -> str:
    if "/messages" in path:
        return "anthropic"
    if "/v1beta/" in path:
        return "gemini"
    return "openai"


def create_app(config: Config, *, ledger_path: Path | None = None, clock: Callable[[], float] = time.time) -> Quart:
    app = Quart("xx-gateway")
    app.config["MAX_CONTENT_LENGTH"] = config.gateway.body_limit
    app.config["BODY_TIMEOUT"] = 120
    app.config["RESPONSE_TIMEOUT"] = None
    rt = Runtime(config, ledger_path=ledger_path, clock=clock)
    app.extensions["xx"] = rt
    proxy = Proxy(rt)

    @app.before_serving
    async def _open() -> None:
        rt.client = upstream.make_client(config.gateway.timeouts)
        rt.ledger = Ledger(rt.ledger_path)

    @app.after_serving
    async def _close() -> None:
        rt.broker.close()
        if rt.client is not None:
            await rt.client.aclose()
        if rt.ledger is not None:
            rt.ledger.close()

    def authorized() -> bool:
        token = rt.config.gateway.token
        if not token or request.remote_addr in LOOPBACK:
            return True
        given = request.headers.get("x-xx-token") or request.headers.get("x-api-key") or ""
        auth = request.headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            given = given or auth[7:]
        return given == token

    async def serve(endpoint: str, ident: Ident) -> Response:
        if not authorized():
            return json_error(endpoint, 401, "this gateway needs its token (x-xx-token or Bearer)")
        raw = await request.get_data(cache=False)
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            return json_error(endpoint, 400, f"request body is not valid JSON: {exc}")
        problem = validate(endpoint, body)
        if problem:
            return json_error(endpoint, 400, problem)
        return await proxy.handle(Incoming(endpoint, ident, request.path, raw, body, request.headers))

    def bare_ident() -> Ident:
        return Ident(agent_from_headers(request.headers), "p", None)

    for suffix, endpoint in ENDPOINTS.items():

        async def bare(endpoint: str = endpoint) -> Response:
            return await serve(endpoint, bare_ident())

        async def prefixed(agent: str, route: str, tier: str, endpoint: str = endpoint) -> Response:
            ident = from_prefix(agent, route, tier)
            if isinstance(ident, str):
                return json_error(endpoint, 404, ident)
            return await serve(endpoint, ident)

        app.add_url_rule(suffix, f"bare_{endpoint}", bare, methods=["POST"])
        app.add_url_rule(PREFIX + suffix, f"prefixed_{endpoint}", prefixed, methods=["POST"])

    async def models() -> Response:
        data = [{"id": name, "object": "model", "owned_by": "xx", "type": "model", "display_name": name}
                for name in rt.config.models]
        return Response(orjson.dumps({"object": "list", "data": data}), content_type="application/json")

    app.add_url_rule("/v1/models", "models", models, methods=["GET"])
    app.add_url_rule(PREFIX + "/v1/models", "models_prefixed", lambda **_: models(), methods=["GET"])

    admin.register(app, rt, authorized)

    @app.errorhandler(404)
    async def _not_found(_: Exception) -> Response:
        return json_error(dialect_for(request.path), 404, f"no such endpoint: {request.method} {request.path}")

    @app.errorhandler(405)
    async def _bad_method(_: Exception) -> Response:
        return json_error(dialect_for(request.path), 405, f"method {request.method} is not allowed on {request.path}")

    @app.errorhandler(413)
    async def _too_large(_: Exception) -> Response:
        limit = rt.config.gateway.body_limit // (1024 * 1024)
        return json_error(dialect_for(request.path), 413, f"request body is larger than the gateway's limit of {limit} MB")

    @app.errorhandler(Exception)
    async def _crash(exc: Exception) -> Response:
        """Last line of defence: never a bare 500 page; the message names no secret."""
        code = getattr(exc, "code", 500)
        if not isinstance(code, int) or code < 400:
            code = 500
        app.logger.exception("unhandled error on %s", request.path)
        body = error_body(dialect_for(request.path), code, rt.scrub(f"gateway error: {type(exc).__name__}"))
        return Response(orjson.dumps(body), status=code, content_type="application/json")

    return app
