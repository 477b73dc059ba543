"""The app factory: `create_app(config)` builds a Quart app with no import-time state.

Resources (the upstream client, the ledger writer, the replay store) open in
`before_serving` and close in `after_serving`, so Hypercorn's graceful shutdown drains
in-flight streams first. Provider APIs are served bare (`/v1/...`) and under the
launcher's `/x/<agent>/<route>/<tier>` prefix (routes/provider.py); routes/auth.py gates
every route with one hook; routes/admin.py serves the views under `/xx/`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import orjson
from quart import Quart, Response, request

from gateway import upstream
from gateway.config import Config
from gateway.config.dialects import dialect_for_path, error_body, json_error
from gateway.proxy import Proxy
from gateway.routes import admin, auth, provider, team_auth
from gateway.runtime import Runtime
from gateway.startup import open_runtime
from gateway.tasks import spawn


def create_app(config: Config, *, ledger_path: Path | None = None, clock: Callable[[], float] = time.time,
               replay_path: Path | None = None) -> Quart:
    app = Quart("xx-gateway")
    app.config["MAX_CONTENT_LENGTH"] = config.gateway.body_limit
    app.config["BODY_TIMEOUT"] = None  # on 3.11 a timeout here costs a Task per request; loopback clients only
    app.config["RESPONSE_TIMEOUT"] = None
    rt = Runtime(config, ledger_path=ledger_path, clock=clock, replay_path=replay_path)
    app.extensions["xx"] = rt
    tasks: list = []

    @app.before_serving
    async def _open() -> None:
        open_runtime(rt)  # first: a ledger that cannot open stops the start before a client needs closing
        rt.client = upstream.make_client(config.gateway.timeouts)
        tasks.append(spawn(rt.background(), name="xx-background"))

    @app.after_serving
    async def _close() -> None:
        for task in tasks:
            task.cancel()
        if rt.client is not None:
            await rt.client.close()
        rt.close()

    team_auth.install(app, rt)  # team tokens (xx gateway token): admit, attribute, budget; before auth's gate
    authorized = auth.install(app, rt)
    provider.register(app, rt, Proxy(rt))
    admin.register(app, rt, authorized)
    _error_pages(app, rt)
    app.after_request(_settle_body)
    return app


UNREAD_WAIT_S = 1.0  # how long an early answer waits for the rest of a body it did not need


async def _settle_body(resp: Response) -> Response:
    """An answer given before the request's body was read (401, 403, 404, 405, 429 from a hook) made Hypercorn
    drop the connection silently, and a client reusing it (every SDK pools connections) saw "Server
    disconnected" on its next request. Read the rest, bounded by the body limit and a second, so the
    connection stays usable; past either, say `connection: close` so the client does not reuse it."""
    body = request.body
    done = getattr(body, "_complete", None)
    if done is None or done.is_set():
        return resp
    try:
        async with asyncio.timeout(UNREAD_WAIT_S):
            await body
    except Exception:  # too large, too slow, or the client left: this connection ends with the answer
        resp.headers["connection"] = "close"
    return resp


def _error_pages(app: Quart, rt: Runtime) -> None:
    """Every error in the dialect of the endpoint that was called; never a bare HTML page."""

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
