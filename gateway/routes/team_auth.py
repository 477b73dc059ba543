"""Team tokens at the gate: admit, attribute and budget each request by its client token.

Runs before the general auth hook (routes/auth.py). A request that presents an `xxt_` token
is judged here: an unknown or revoked one gets 401, one over its daily budget gets the
client dialect's 429 (with Retry-After at the UTC reset), an active one is admitted (also off
loopback) and its name is set for the ledger row. Requests without one pass on unchanged.
"""

from __future__ import annotations

import logging
from typing import Any

from quart import Quart, Response, g, request

from gateway.accounting import tokens
from gateway.config.dialects import dialect_for_path, json_error
from gateway.routes.auth import OPEN_PATHS, presented
from gateway.routes.provider import ENDPOINTS
from gateway.runtime import Runtime
from gateway.tasks import spawn

log = logging.getLogger("xx.gateway.tokens")
REFRESH_S = 2.0


def install(app: Quart, rt: Runtime) -> tokens.Registry:
    state_dir = rt.ledger_path.parent
    registry = tokens.Registry(tokens.store_for(rt.config.ledger.url, state_dir), clock=rt.clock)
    app.extensions["xx_tokens"] = registry
    tasks: list[Any] = []

    async def refresh_loop() -> None:
        import asyncio

        while True:
            await asyncio.sleep(REFRESH_S)
            await _refresh(registry, rt)

    @app.before_serving
    async def _start() -> None:
        await _refresh(registry, rt)
        tasks.append(spawn(refresh_loop(), name="xx-tokens"))

    @app.after_serving
    async def _stop() -> None:
        for task in tasks:
            task.cancel()
        try:
            await registry.store.aclose()
        except Exception:  # shutting down: the connection goes with the process
            pass

    @app.before_request
    async def _team_gate() -> Response | None:
        given = presented(request.headers)
        if not given.startswith(tokens.PREFIX):
            return None
        dialect = dialect_for_path(request.path)
        tok = registry.lookup(given)
        if not isinstance(tok, tokens.Token):
            if request.path in OPEN_PATHS:  # liveness answers anyone
                return None
            return json_error(dialect, 401, "this team token is unknown or revoked (xx gateway token list)")
        why = registry.over_budget(tok) if spends_budget(request.method, request.endpoint, request.path) else None
        if why is not None:
            wait = max(1, int(registry.reset_at() - rt.clock()))
            return json_error(dialect, 429, f"{why}; it resets at 00:00 UTC", {"retry-after": str(wait)})
        g.xx_team_token = tok.name
        tokens.current.set(tok.name)
        return None

    return registry


# The routes that call a model (routes/provider.py names them): only these count against a token's requests.
MODEL_ENDPOINTS = frozenset({*(f"{kind}_{d}" for kind in ("bare", "prefixed") for d in ENDPOINTS.values()),
                             "gemini_bare", "gemini_prefixed"})


def spends_budget(method: str, endpoint: str | None, path: str) -> bool:
    """Pure: does this request count against its token's daily budget? Model calls only: a token
    count (answered locally), a model list or an admin call costs the provider nothing, and the
    ledger, which the budget is counted from after a refresh or a restart, has no row for them."""
    return method == "POST" and endpoint in MODEL_ENDPOINTS and not path.endswith(":countTokens")


async def _refresh(registry: tokens.Registry, rt: Runtime) -> None:
    try:
        await registry.refresh(rt.ledger)
    except Exception as exc:  # keep the last list: a ledger restart must not lock the team out
        log.warning("team tokens: refresh failed (%s); keeping the last list", type(exc).__name__)
