"""The provider APIs agents call: Messages, Chat Completions, Responses, Gemini, model lists.

Each is served bare (`/v1/...`, the default tier, the agent guessed from headers) and under
the launcher's `/x/<agent>/<route>/<tier>` prefix. A body is parsed and validated once here;
anything malformed gets a 400 in the client's own dialect before the proxy sees it.
`count_tokens` (Claude Code calls it often) and the model lists are answered locally and
never spend upstream quota. Authentication is not here: routes/auth.py gates every route.
"""

from __future__ import annotations

import orjson
from quart import Quart, Response, request

from gateway.config.dialects import json_error, validate
from gateway.identify import Ident, agent_from_headers, from_prefix
from gateway.protocols.count_tokens import estimate
from gateway.proxy import Incoming, Proxy
from gateway.runtime import Runtime
from gateway.scan.view import advertised_window

PREFIX = "/x/<agent>/<route>/<tier>"
ENDPOINTS = {
    "/v1/messages": "anthropic",
    "/v1/chat/completions": "openai",
    "/v1/responses": "responses",
}
CONTEXT = 131072  # what a model list advertises when the config does not say


def _json(obj: object) -> Response:
    return Response(orjson.dumps(obj), content_type="application/json")


async def read_json(dialect: str) -> tuple[dict | None, bytes, Response | None]:
    raw = await request.get_data(cache=False)
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        return None, raw, json_error(dialect, 400, f"request body is not valid JSON: {exc}")
    problem = validate(dialect, body)
    if problem:
        return None, raw, json_error(dialect, 400, problem)
    return body, raw, None


def bare_ident() -> Ident:
    return Ident(agent_from_headers(request.headers), "p", None)


def register(app: Quart, rt: Runtime, proxy: Proxy) -> None:
    async def serve(dialect: str, ident: Ident, model: str | None = None, stream: bool | None = None) -> Response:
        body, raw, problem = await read_json(dialect)
        if problem is not None or body is None:
            return problem  # type: ignore[return-value]
        inc = Incoming(dialect, ident, request.path, raw, body, request.headers,
                       stream=body.get("stream") is True if stream is None else stream,
                       model=model if model is not None else str(body.get("model", "")))
        return await proxy.handle(inc)

    for suffix, dialect in ENDPOINTS.items():

        async def bare(dialect: str = dialect) -> Response:
            return await serve(dialect, bare_ident())

        async def prefixed(agent: str, route: str, tier: str, dialect: str = dialect) -> Response:
            ident = from_prefix(agent, route, tier)
            if isinstance(ident, str):
                return json_error(dialect, 404, ident)
            return await serve(dialect, ident)

        app.add_url_rule(suffix, f"bare_{dialect}", bare, methods=["POST"])
        app.add_url_rule(PREFIX + suffix, f"prefixed_{dialect}", prefixed, methods=["POST"])

    async def gemini(call: str, agent: str | None = None, route: str | None = None, tier: str | None = None) -> Response:
        """Gemini puts the model and streaming in the URL (`/v1beta/models/<m>:streamGenerateContent`)."""
        model, _, method = call.rpartition(":")
        if method == "countTokens":
            body, _, problem = await read_json("gemini")
            return problem or _json({"totalTokens": estimate(body or {}, "gemini")})
        if method not in ("generateContent", "streamGenerateContent") or not model:
            return json_error("gemini", 404, f"unknown Gemini method {call!r}")
        ident = bare_ident() if agent is None else from_prefix(agent, route or "p", tier or "")
        if isinstance(ident, str):
            return json_error("gemini", 404, ident)
        return await serve("gemini", ident, model=model, stream=method == "streamGenerateContent")

    app.add_url_rule("/v1beta/models/<call>", "gemini_bare", gemini, methods=["POST"])
    app.add_url_rule(PREFIX + "/v1beta/models/<call>", "gemini_prefixed", gemini, methods=["POST"])
    _local(app, rt)


def _local(app: Quart, rt: Runtime) -> None:
    """What the gateway answers itself: token counts and model lists."""

    async def count_tokens(**_: str) -> Response:
        raw = await request.get_data(cache=False)
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            return json_error("anthropic", 400, f"request body is not valid JSON: {exc}")
        if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
            return json_error("anthropic", 400, "'messages' is required and must be a list")
        return _json({"input_tokens": estimate(body, "anthropic")})

    def window(name: str, tier: str | None) -> int:  # the real window where known (gateway.scan.view)
        return advertised_window(rt.routing.scan, rt.config, name, tier, CONTEXT)

    async def models(tier: str | None = None, **_: str) -> Response:
        data = [{"id": name, "object": "model", "owned_by": "xx", "type": "model", "display_name": name,
                 "created": 0, "context_length": window(name, tier)} for name in rt.config.models]
        return _json({"object": "list", "data": data, "has_more": False})

    async def one_model(model: str, tier: str | None = None, **_: str) -> Response:
        """Agents (Hermes) probe a model's metadata before each turn; any name a tier can serve is fine."""
        return _json({"id": model, "object": "model", "owned_by": "xx", "created": 0,
                      "context_length": window(model, tier)})

    app.add_url_rule("/v1/messages/count_tokens", "count_tokens", count_tokens, methods=["POST"])
    app.add_url_rule(PREFIX + "/v1/messages/count_tokens", "count_tokens_prefixed", count_tokens, methods=["POST"])
    for path, name in (("/v1/models", "models"), ("/api/v1/models", "models_openrouter")):
        app.add_url_rule(path, name, models, methods=["GET"])
        app.add_url_rule(PREFIX + path, f"{name}_prefixed", models, methods=["GET"])
    app.add_url_rule("/v1/models/<path:model>", "model_one", one_model, methods=["GET"])
    app.add_url_rule(PREFIX + "/v1/models/<path:model>", "model_one_prefixed", one_model, methods=["GET"])
