"""Who this gateway is (`/health` fields) and whether a tier can serve an agent now (`/xx/ready`).

The launcher compares the identity with its own (gateway.config.identity) before handing an
agent to this gateway, and asks `/xx/ready?tier=T&agent=A` before exec so an agent that
would spin for minutes on 401s or 429s is never started. `readiness()` is pure over the
config and the routing state: it asks `routing.plan` per role, claiming and recording nothing.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable
from typing import Any

import orjson
from quart import Quart, Response, request

from gateway.config import Config
from gateway.config import identity as ident
from gateway.config.dialects import error_body
from gateway.routing.plan import RouteRequest, RoutingState, plan
from gateway.runtime import Runtime

REQUIRED_ROLE = "big"  # every agent's main turn; other roles are reported, not required
_KEY_UNSET = re.compile(r"no API key \(\$\{?([A-Za-z_][A-Za-z0-9_]*)\}? unset\)")


def _json(obj: object, status: int = 200) -> Response:
    return Response(orjson.dumps(obj), status=status, content_type="application/json")


class IdentityCache:
    """The identity document of the config object currently applied (recomputed after a reload)."""

    def __init__(self) -> None:
        self._for: Config | None = None
        self._doc: dict[str, Any] = {}

    def get(self, rt: Runtime) -> dict[str, Any]:
        if self._for is not rt.config:
            demo = os.environ.get(ident.DEMO_ENV) == "1"
            self._doc = ident.describe(rt.config.source, os.environ, demo=demo)
            self._for = rt.config
        return {**self._doc, "in_flight": getattr(rt, "in_flight", 0)}


def _role_view(config: Config, state: RoutingState, req: RouteRequest) -> dict[str, Any]:
    p = plan(req, config, state)
    view: dict[str, Any] = {
        "usable": [c.model.name for c in p.candidates],
        "skipped": [s.as_dict() for s in p.skipped],
    }
    if p.error is not None:
        view["error"] = {"status": p.error.status, "message": p.error.message, "retry_after": p.error.retry_after}
    return view


def readiness(config: Config, state: RoutingState, *, tier: str | None, agent: str, route: str = "p",
              model: str = "") -> dict[str, Any]:
    """Usable models per role now and why not the others; `ok` when the main role can be served.

    `fix` names what to do: which variable to set, how long to wait, which tier has capacity.
    """
    tier_obj = config.tier_named(tier or config.gateway.default_tier) if route == "p" else None
    roles = list(tier_obj.roles) if tier_obj is not None and tier_obj.roles else [REQUIRED_ROLE]
    if REQUIRED_ROLE not in roles:
        roles.insert(0, REQUIRED_ROLE)
    views = {role: _role_view(config, state, RouteRequest(agent, route, tier, role, requested_model=model))
             for role in roles}
    main = views[REQUIRED_ROLE]
    out: dict[str, Any] = {"ok": not main.get("error"), "agent": agent, "route": route,
                           "tier": tier_obj.name if tier_obj else None, "roles": views}
    if route == "b":
        out["model"] = model
    if out["ok"]:
        empty = [r for r, v in views.items() if v.get("error")]
        if empty:
            out["warnings"] = [f"role {r}: {views[r]['error']['message']}" for r in empty]
        return out
    err = main["error"]
    out.update(status=err["status"], reason=err["message"], retry_after=err["retry_after"])
    out["fix"] = _fix(config, state, main, agent, route, tier_obj.name if tier_obj else None)
    return out


def _fix(config: Config, state: RoutingState, main: dict[str, Any], agent: str, route: str,
         tier: str | None) -> str:
    """One actionable sentence: set which variable, wait how long, or use which tier."""
    parts = []
    unset = sorted({m.group(1) for s in main["skipped"] if (m := _KEY_UNSET.search(s["reason"]))})
    if unset:
        parts.append(f"set {' or '.join(unset)} in this shell and launch again (xx restarts the gateway with it)")
    untils = [s["until"] for s in main["skipped"] if s.get("until")]
    if untils:
        parts.append(f"wait {max(1, math.ceil(min(untils) - state.clock()))}s")
    if route == "p":
        others = [t for t in config.tiers.values() if t.name != tier and not plan(
            RouteRequest(agent, "p", t.name, REQUIRED_ROLE), config, state).error]
        if others:
            parts.append("use a tier with capacity now: " + ", ".join(f"{t.name} ({t.letter})" for t in others))
    if not parts:
        known = ", ".join(f"{t.name} ({t.letter})" for t in config.tiers.values()) or "none"
        parts.append(f"check the config ({config.source}); tiers: {known}")
    return "; or ".join(parts)


def register(app: Quart, rt: Runtime, guard: Callable[[], Response | None]) -> None:
    @app.get("/xx/ready")
    async def preflight() -> Response:
        if (denied := guard()) is not None:
            return denied
        route = request.args.get("route", "p")
        if route not in ("p", "b"):
            return _json(error_body("openai", 400, f"route must be p or b, got {route!r}"), 400)
        tier = request.args.get("tier") or None
        if route == "p" and rt.config.tier_named(tier or rt.config.gateway.default_tier) is None:
            known = ", ".join(f"{t.name} ({t.letter})" for t in rt.config.tiers.values()) or "none"
            return _json(error_body("openai", 404, f"unknown tier {tier!r} (tiers: {known})"), 404)
        agent = (request.args.get("agent") or "unknown")[:40]
        doc = readiness(rt.config, rt.routing, tier=tier, agent=agent, route=route, model=request.args.get("model", ""))
        return _json(doc)


def default_tier_problem(rt: Runtime) -> str | None:
    """For `/ready`: why a launch on the default tier would fail now, or None."""
    doc = readiness(rt.config, rt.routing, tier=None, agent="unknown")
    if doc["ok"]:
        return None
    return f"the default tier {doc['tier']!r} cannot serve now: {doc['reason']} — {doc['fix']}"
