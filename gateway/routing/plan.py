"""The routing decision: which models to try for one request, in which order, and why not others.

`plan()` is pure over its inputs (the config and the read-only queries of `RoutingState`):
it claims nothing and records nothing. The proxy loop walks `Plan.candidates`, calling
`state.health.begin(model)` right before each attempt (a plan can go stale across awaits)
and `quotas.record` when the attempt goes out. `Plan.skipped` is what the Exchange records
as "not called"; `Plan.error` is the answer when nothing can be called, with a message that
names what exists so a person can fix the URL or the config.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

from gateway.config import Config, Model, Provider, Tier
from gateway.routing import context
from gateway.routing.affinity import Affinity
from gateway.routing.governor import prefer_plentiful
from gateway.routing.health import Health, Unavailable
from gateway.routing.quotas import Quotas
from gateway.scan.view import ScanView


@dataclass(frozen=True)
class RouteRequest:
    agent: str
    route: str  # p (proxy: tier cascade) | b (bypass: the model asked for) | d (treated as b)
    tier: str | None  # a tier name or letter; None → config.gateway.default_tier
    role: str
    requested_model: str = ""
    session: str | None = None  # affinity.session_key(...)
    tokens: int = 0  # prompt token estimate (gateway.protocols.count_tokens.estimate)


@dataclass(frozen=True)
class Candidate:
    model: Model
    provider: Provider
    sticky: bool = False  # chosen first because it served this conversation's last turn


@dataclass(frozen=True)
class Skip:
    model: str
    reason: str
    until: float | None = None

    def as_dict(self) -> dict[str, object]:
        return {"model": self.model, "reason": self.reason, "until": self.until}


@dataclass(frozen=True)
class PlanError:
    status: int  # 400 unknown tier · 404 unknown model (route b) · 429 all busy · 503 none usable
    message: str
    retry_after: float | None = None  # whole seconds, for a Retry-After header
    code: str | None = None  # an error code for dialects that carry one (context_length_exceeded)


@dataclass
class Plan:
    candidates: list[Candidate] = field(default_factory=list)
    skipped: list[Skip] = field(default_factory=list)
    error: PlanError | None = None
    tier: str | None = None  # the resolved tier name (None on bypass)
    role: str = "big"


@dataclass
class RoutingState:
    health: Health
    quotas: Quotas
    affinity: Affinity
    clock: Callable[[], float]
    scan: ScanView = field(default_factory=ScanView)  # windows, discovered models, ranking (gateway.scan)
    learned: dict[str, int] = field(default_factory=dict)  # windows providers named in their context-length errors


def plan(req: RouteRequest, config: Config, state: RoutingState) -> Plan:
    if req.route in ("b", "d"):
        names, err = _bypass_models(req, config)
        tier_name = None
    else:
        tier = config.tier_named(req.tier or config.gateway.default_tier)
        if tier is None:
            return Plan(error=PlanError(400, _unknown_tier(req.tier or config.gateway.default_tier, config)), role=req.role)
        names, err = _tier_models(tier, req.role, config, state), None
        tier_name = tier.name
    out = Plan(tier=tier_name, role=req.role, error=err)
    if err is not None:
        return out

    sticky = state.affinity.lookup(req.session, req.role)
    if sticky in names:
        names = [sticky, *(n for n in names if n != sticky)]
    windows: list[int] = []  # of the models skipped because the prompt exceeds them
    for name in names:
        model = state.scan.model(name, config)
        if model is None or model.provider not in config.providers:
            out.skipped.append(Skip(name, "not configured"))
            continue
        provider = config.providers[model.provider]
        window = context.window_of(model, state.scan.windows) or state.learned.get(name)
        if context.exceeds(req.tokens, window):
            out.skipped.append(Skip(name, context.skip_reason(req.tokens, window)))
            windows.append(window)
            continue
        why = _why_not(model, provider, req.tokens, state)
        if why is None:
            out.candidates.append(Candidate(model, provider, sticky=name == sticky))
        else:
            out.skipped.append(Skip(name, why.reason, why.until))
    if len(out.candidates) > 1:  # small calls to the most plentiful pools first (gateway.routing.governor)
        out.candidates = prefer_plentiful(out.candidates, req.role, lambda c: state.quotas.left_today(c.model))
    if not out.candidates:
        out.error = _too_long(out.skipped, windows, tier_name, req) or _nothing_available(out.skipped, tier_name, req, state.clock())
    return out


def _too_long(skipped: list[Skip], windows: list[int], tier: str | None, req: RouteRequest) -> PlanError | None:
    """Every model that could serve is too small: the compaction error, not "try later"."""
    if not windows:
        return None
    permanent = ("not configured", "no API key")
    if any(not context.is_context_skip(s.reason) and not s.reason.startswith(permanent) for s in skipped):
        return None  # a model that fits is only busy: the usual 429 and Retry-After
    what = f"tier {tier!r} ({req.role})" if tier else f"model {req.requested_model!r}"
    return PlanError(400, context.too_long_message(req.tokens, windows, what), code=context.CODE)


def _why_not(model: Model, provider: Provider, tokens: int, state: RoutingState) -> Unavailable | None:
    if provider.api_key_ref and not provider.api_key:
        return Unavailable(f"no API key ({provider.api_key_ref} unset)")
    return state.health.unavailable(model.name) or state.quotas.check(model, tokens)


def _tier_models(tier: Tier, role: str, config: Config, state: RoutingState) -> list[str]:
    listed = list(dict.fromkeys(tier.models_for(role)))
    if tier.rank == "scan" and state.scan.exists:
        return state.scan.ranking(tier, role, config)
    if tier.rank not in ("health", "scan") or (tier.rank == "scan" and listed):
        return listed  # a scan-ranked tier keeps its configured lists until a scan exists
    pool = listed or list(config.models)
    return sorted(pool, key=state.health.score)  # stable: config order breaks ties


def _bypass_models(req: RouteRequest, config: Config) -> tuple[list[str], PlanError | None]:
    """The configured models that *are* the requested one: same name or same upstream id."""
    wanted = req.requested_model
    names = [m.name for m in config.models.values() if m.name == wanted]
    names += [m.name for m in config.models.values() if m.id == wanted and m.name != wanted]
    if names:
        return names, None
    known = ", ".join(f"{m.name} ({m.id})" for m in config.models.values()) or "none"
    return [], PlanError(404, f"model {wanted!r} is not configured (bypass forwards only configured models: {known})",
                         code="model_not_found")


def _unknown_tier(name: str, config: Config) -> str:
    tiers = ", ".join(f"{t.name} {t.letter}" for t in config.tiers.values()) or "none configured"
    return f"unknown tier {name!r} (tiers: {tiers})"


def _nothing_available(skipped: list[Skip], tier: str | None, req: RouteRequest, now: float) -> PlanError:
    what = f"tier {tier!r} ({req.role})" if tier else f"model {req.requested_model!r}"
    if not skipped:
        return PlanError(503, f"no models listed for {what}")
    reasons = "; ".join(f"{s.model}: {s.reason}{_in(s.until, now)}" for s in skipped)
    temporary = [s for s in skipped if not s.reason.startswith(("no API key", "not configured"))]
    if not temporary:
        if all(s.reason.startswith("no API key") for s in skipped):
            # not "overloaded": agents retry 5xx for minutes; a missing key must say so at once
            return PlanError(401, f"the xx gateway has no API key for {what}: {reasons}; set the variable and retry")
        return PlanError(503, f"no model of {what} can be called: {reasons}")
    untils = [s.until for s in temporary if s.until is not None]
    retry = max(1, math.ceil(min(untils) - now)) if untils else 1
    return PlanError(429, f"every model of {what} is unavailable: {reasons}", float(retry))


def _in(until: float | None, now: float) -> str:
    return "" if until is None else f" (back in {max(0, math.ceil(until - now))}s)"
