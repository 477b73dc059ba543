"""The app factory: `create_app(config)` builds a Quart app with no import-time state.

Resources (the upstream client, the ledger writer, the replay store) open in
`before_serving` and close in `after_serving`, so Hypercorn's graceful shutdown drains
in-flight streams first. Provider APIs are served bare (`/v1/...`) and under the
launcher's `/x/<agent>/<route>/<tier>` prefix.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import orjson
from quart import Quart, Response, request

from gateway import upstream
from gateway.config import Config
from gateway.config.dialects import dialect_for_path, error_body, json_error, validate
from gateway.identify import Ident, agent_from_headers, from_prefix
from gateway.protocols.count_tokens import estimate
from gateway.proxy import Incoming, Proxy
from gateway.routes import admin
from gateway.runtime import Runtime
from gateway.tasks import spawn

PREFIX = "/x/<agent>/<route>/<tier>"
ENDPOINTS = {
    "/v1/messages": "anthropic",
    "/v1/chat/completions": "openai",
    "/v1/responses": "responses",
}
LOOPBACK = ("127.0.0.1", "::1", "localhost", "<local>")


def create_app(config: Config, *, ledger_path: Path | None = None, clock: Callable[[], float] = time.time,
               replay_path: Path | None = None) -> Quart:
    app = Quart("xx-gateway")
    app.config["MAX_CONTENT_LENGTH"] = config.gateway.body_limit
    app.config["BODY_TIMEOUT"] = None  # on 3.11 a timeout here costs a Task per request; loopback clients only
    app.config["RESPONSE_TIMEOUT"] = None
    rt = Runtime(config, ledger_path=ledger_path, clock=clock, replay_path=replay_path)
    app.extensions["xx"] = rt
    proxy = Proxy(rt)
    tasks: list = []

    @app.before_serving
    async def _open() -> None:
        rt.client = upstream.make_client(config.gateway.timeouts)
        rt.open()
        tasks.append(spawn(rt.background(), name="xx-background"))

    @app.after_serving
    async def _close() -> None:
        for task in tasks:
            task.cancel()
        if rt.client is not None:
            await rt.client.close()
        rt.close()

    def authorized() -> bool:
        token = rt.config.gateway.token
        if not token or request.remote_addr in LOOPBACK:
            return True
        given = request.headers.get("x-xx-token") or request.headers.get("x-api-key") or ""
        auth = request.headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            given = given or auth[7:]
        return given == token

    async def read_json(endpoint: str) -> tuple[dict | None, bytes, Response | None]:
        raw = await request.get_data(cache=False)
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            return None, raw, json_error(endpoint, 400, f"request body is not valid JSON: {exc}")
        problem = validate(endpoint, body)
        if problem:
            return None, raw, json_error(endpoint, 400, problem)
        return body, raw, None

    async def serve(endpoint: str, ident: Ident, model: str | None = None, stream: bool | None = None) -> Response:
        if not authorized():
            return json_error(endpoint, 401, "this gateway needs its token (x-xx-token or Bearer)")
        body, raw, problem = await read_json(endpoint)
        if problem is not None or body is None:
            return problem  # type: ignore[return-value]
        inc = Incoming(endpoint, ident, request.path, raw, body, request.headers,
                       stream=body.get("stream") is True if stream is None else stream,
                       model=model if model is not None else str(body.get("model", "")))
        return await proxy.handle(inc)

    def bare_ident() -> Ident:
        return Ident(agent_from_headers(request.headers), "p", None)

    def prefixed_ident(agent: str, route: str, tier: str) -> Ident | str:
        return from_prefix(agent, route, tier)

    for suffix, endpoint in ENDPOINTS.items():

        async def bare(endpoint: str = endpoint) -> Response:
            return await serve(endpoint, bare_ident())

        async def prefixed(agent: str, route: str, tier: str, endpoint: str = endpoint) -> Response:
            ident = prefixed_ident(agent, route, tier)
            if isinstance(ident, str):
                return json_error(endpoint, 404, ident)
            return await serve(endpoint, ident)

        app.add_url_rule(suffix, f"bare_{endpoint}", bare, methods=["POST"])
        app.add_url_rule(PREFIX + suffix, f"prefixed_{endpoint}", prefixed, methods=["POST"])

    # Gemini: the model and streaming are in the URL (`/v1beta/models/<m>:streamGenerateContent`).
    async def gemini(call: str, agent: str | None = None, route: str | None = None, tier: str | None = None) -> Response:
        model, _, method = call.rpartition(":")
        if method == "countTokens":
            body, _, problem = await read_json("gemini")
            return problem or Response(orjson.dumps({"totalTokens": estimate(body or {}, "gemini")}),
                                       content_type="application/json")
        if method not in ("generateContent", "streamGenerateContent") or not model:
            return json_error("gemini", 404, f"unknown Gemini method {call!r}")
        ident = bare_ident() if agent is None else prefixed_ident(agent, route or "p", tier or "")
        if isinstance(ident, str):
            return json_error("gemini", 404, ident)
        return await serve("gemini", ident, model=model, stream=method == "streamGenerateContent")

    app.add_url_rule("/v1beta/models/<call>", "gemini_bare", gemini, methods=["POST"])
    app.add_url_rule(PREFIX + "/v1beta/models/<call>", "gemini_prefixed", gemini, methods=["POST"])

    # count_tokens is called often by Claude Code: answered locally, never spending upstream quota.
    async def count_tokens(**_: str) -> Response:
        raw = await request.get_data(cache=False)
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            return json_error("anthropic", 400, f"request body is not valid JSON: {exc}")
        if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
            return json_error("anthropic", 400, "'messages' is required and must be a list")
        return Response(orjson.dumps({"input_tokens": estimate(body, "anthropic")}), content_type="application/json")

    app.add_url_rule("/v1/messages/count_tokens", "count_tokens", count_tokens, methods=["POST"])
    app.add_url_rule(PREFIX + "/v1/messages/count_tokens", "count_tokens_prefixed", count_tokens, methods=["POST"])

    async def models(**_: str) -> Response:
        data = [{"id": name, "object": "model", "owned_by": "xx", "type": "model", "display_name": name,
                 "created": 0, "context_length": 131072} for name in rt.config.models]
        return Response(orjson.dumps({"object": "list", "data": data, "has_more": False}), content_type="application/json")

    async def one_model(model: str, **_: str) -> Response:
        """Agents (Hermes) probe a model's metadata before each turn; any name a tier can serve is fine."""
        entry = {"id": model, "object": "model", "owned_by": "xx", "created": 0, "context_length": 131072}
        return Response(orjson.dumps(entry), content_type="application/json")

    app.add_url_rule("/v1/models", "models", models, methods=["GET"])
    app.add_url_rule(PREFIX + "/v1/models", "models_prefixed", models, methods=["GET"])
    app.add_url_rule("/api/v1/models", "models_openrouter", models, methods=["GET"])
    app.add_url_rule(PREFIX + "/api/v1/models", "models_openrouter_prefixed", models, methods=["GET"])
    app.add_url_rule("/v1/models/<path:model>", "model_one", one_model, methods=["GET"])
    app.add_url_rule(PREFIX + "/v1/models/<path:model>", "model_one_prefixed", one_model, methods=["GET"])

    admin.register(app, rt, authorized)

    @app.errorhandler(404)
    async def _not_found(_: Exception) -> Response:
        return json_error(dialect_for_path(request.path), 404, f"no such endpoint: {request.method} {request.path}")

    @app.errorhandler(405)
    async def _bad_method(_: Exception) -> Response:
        return json_error(dialect_for_path(request.path), 405, f"method {request.method} is not allowed on {request.path}")

    @app.errorhandler(413)
    async def _too_large(_: Exception) -> Response:
        limit = rt.config.gateway.body_limit // (1024 * 1024)
        return json_error(dialect_for_path(request.path), 413, f"request body is larger than the gateway's limit of {limit} MB")

    @app.errorhandler(Exception)
    async def _crash(exc: Exception) -> Response:
        """Last line of defence: never a bare 500 page; the message names no secret."""
        code = getattr(exc, "code", 500)
        if not isinstance(code, int) or code < 400:
            code = 500
        app.logger.exception("unhandled error on %s", request.path)
        body = error_body(dialect_for_path(request.path), code, rt.scrub(f"gateway error: {type(exc).__name__}"))
        return Response(orjson.dumps(body), status=code, content_type="application/json")

    return app
