"""One gate for every route: a `before_request` hook with an explicit allow-list.

Why one hook and not a check per view: views were added that forgot it (count_tokens, the
model lists, Gemini's countTokens), and the admin views each repeated it by hand. A hook
runs before every route, present or future; `tests/gateway/routes/test_auth.py` walks the
app's URL map so a new route cannot slip past it.

The rule: with no token configured (the gateway then binds loopback only) or from a loopback
client, everything is open; otherwise a request must carry the token (`x-xx-token`,
`x-api-key` or `Authorization: Bearer`), compared in constant time. `/health` alone answers
anyone: liveness tells a launcher whether a gateway is there (what it reveals beyond that
is decided by the view, through `authorized()`). A team token (routes/team_auth.py) is a
client's key: from anywhere it opens the provider API and the launcher's `/xx/ready`; the
other admin routes (everyone's rows and events, stats, model resets) answer it 403.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Mapping

from quart import Quart, Response, g, request

from gateway.config.dialects import dialect_for_path, json_error
from gateway.runtime import Runtime

OPEN_PATHS = frozenset({"/health"})
# A team token (xx gateway token) is a client's key: it calls models, and reads the launcher's preflight.
# The other admin routes (everyone's rows, events, stats, model resets) need the gateway's own token.
TEAM_TOKEN_ADMIN = frozenset({"/ready", "/xx/ready"})


def team_token_may(path: str) -> bool:
    """Pure: may a request admitted by its team token reach `path` from off loopback?"""
    admin = path.startswith("/xx/") or path in ("/metrics", "/ready")
    return not admin or path in TEAM_TOKEN_ADMIN
LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost", "<local>"})


def presented(headers: Mapping[str, str]) -> str:
    """The token a request carries, whichever header the client could set."""
    given = headers.get("x-xx-token") or headers.get("x-api-key") or ""
    auth = headers.get("authorization", "")
    if not given and auth.lower().startswith("bearer "):
        given = auth[7:]
    return given


def allowed(token: str | None, remote: str | None, headers: Mapping[str, str]) -> bool:
    """Pure: may this request pass? Constant-time compare, so timing reveals nothing of the token."""
    if not token or remote in LOOPBACK:
        return True
    return hmac.compare_digest(presented(headers).encode(), token.encode())


def install(app: Quart, rt: Runtime) -> Callable[[], bool]:
    """Register the hook; returns `authorized()` for views whose answer depends on it (/health)."""

    def authorized() -> bool:
        ok = allowed(rt.config.gateway.token, request.remote_addr, request.headers)  # loopback: all open
        if g.get("xx_team_token"):  # admitted by its team token (routes/team_auth.py)
            return ok or team_token_may(request.path)
        return ok

    @app.before_request
    async def _gate() -> Response | None:
        if request.path in OPEN_PATHS or authorized():
            return None
        if g.get("xx_team_token"):
            return json_error(dialect_for_path(request.path), 403,
                              "a team token calls models and /xx/ready; admin routes need the gateway's token")
        return json_error(dialect_for_path(request.path), 401,
                          "this gateway needs its token (x-xx-token, x-api-key or Authorization: Bearer)")

    return authorized
