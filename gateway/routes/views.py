"""The JSON documents the admin routes serve: /health, /xx/stats, /xx/models (the dashboard's contract).

Pure reads of the Runtime's state, kept out of runtime.py (state and lifecycle only) so a view
can change without touching what it views.
"""

from __future__ import annotations

import os
from typing import Any

from gateway.runtime import Runtime
from gateway.scan import view as scan_view


def _counts(d: dict[str, Any]) -> dict[str, Any]:
    """One aggregate in the stats contract's names (cache_read, not cache_read_tokens)."""
    return {
        "requests": d.get("requests", 0), "errors": d.get("errors", 0), "classes": d.get("classes", {}),
        "input_tokens": d.get("input_tokens", 0), "cache_read": d.get("cache_read_tokens", 0),
        "cache_write": d.get("cache_write_tokens", 0), "output_tokens": d.get("output_tokens", 0),
        "hit_ratio": d.get("hit_ratio", 0.0), "hit_rate": d.get("hit_rate", 0.0),
        "saved_usd": d.get("saved_usd", 0.0), "cost_usd": d.get("cost_usd", 0.0),
    }


def health(rt: Runtime) -> dict[str, Any]:
    return {
        "status": "ok",
        "service": "xx-gateway",
        "version": rt.version,
        "pid": os.getpid(),
        "instance": rt.instance,
        "started": rt.started,
        "uptime_s": round(rt.clock() - rt.started, 3),
        "url": rt.config.gateway.url,
        "config": rt.config.source,
        "config_error": rt.config_error,
    }

def snapshot(rt: Runtime) -> dict[str, Any]:
    """The `/xx/stats` document (the dashboard's contract: see xx/dash)."""
    agg = rt.aggregate.to_dict()
    overall = _counts(agg.get("overall", {}))
    overall["series"] = [
        {"t": p["minute"], "requests": p["requests"], "errors": p["errors"], "input": p["input_tokens"],
         "cache_read": p["cache_read_tokens"], "hit_ratio": p["hit_ratio"], "saved_usd": p["saved_usd"]}
        for p in agg.get("overall", {}).get("series", [])
    ]
    return {
        "version": rt.version,
        "started": rt.started,
        "uptime_s": round(rt.clock() - rt.started, 3),
        "requests": rt.stats.requests(rt.in_flight),
        "cache": overall,
        **{dim: {k: _counts(v) for k, v in agg.get(dim, {}).items()} for dim in ("by_model", "by_agent", "by_tier")},
        "replay": rt.replay.stats() if rt.replay is not None else None,
        "config": {"source": rt.config.source, "error": rt.config_error},
    }

def model_row(rt: Runtime, name: str) -> dict[str, Any]:
    cfg = rt.config
    model = cfg.models.get(name) or rt.routing.scan.models[name]  # or one the scan found (tiers m, f)
    provider = cfg.providers.get(model.provider)
    row: dict[str, Any] = {
        "name": name, "provider": model.provider, "id": model.id,
        "dialect": provider.dialect if provider else None, "free": model.free, "pool": cfg.pool_of(model),
        "tiers": {t.name: [r for r, names in t.roles.items() if name in names] or (["ranked"] if t.rank else [])
                  for t in cfg.tiers.values() if t.rank or any(name in names for names in t.roles.values())},
    }
    row.update(rt.routing.health.row(name))
    quota = rt.routing.quotas.snapshot(model)
    row.update(rpm=quota["rpm"], rpd=quota["rpd"], tpm=quota["tpm"], key=quota["key"],
               keys=rt.routing.quotas.key_rows(model))
    if provider is not None and provider.api_key_ref and not provider.api_key:
        row["state"], row["detail"] = "unconfigured", f"{provider.api_key_ref} is not set"
    elif row.get("state") == "healthy" and (why := rt.routing.quotas.check(model, 0)) is not None:
        row["state"], row["detail"], row["until"] = "quota", why.reason, why.until
    counters = rt.aggregate.by["model"].get(name)  # not to_dict(): that serialises every key's series
    row["cache_hit_ratio"] = round(counters.total.hit_ratio, 4) if counters else None
    row.update(scan_view.model_fields(rt.routing.scan, model), discovered=name not in cfg.models)
    return row

def models(rt: Runtime) -> list[dict[str, Any]]:
    """The configured models, then those only the last scan knows (a scan-ranked tier routes to them)."""
    found = [n for n in rt.routing.scan.models if n not in rt.config.models]
    return [model_row(rt, name) for name in [*rt.config.models, *found]]

def pools(rt: Runtime) -> list[dict[str, Any]]:
    """Each pool and key: used, limit, window, reset, in flight, why skipped (gateway.routing.attempt_hooks)."""
    return rt.governor.pools_view()


def readiness(rt: Runtime, tier_problem: str | None) -> tuple[int, dict[str, Any]]:
    """The /ready document and its status: 503 while the gateway cannot serve at all."""
    problems = []
    if rt.ledger is None:
        problems.append("ledger not open")
    if rt.client is None:
        problems.append("upstream client not open")
    missing = sorted({p.api_key_ref for p in rt.config.providers.values() if p.api_key_ref and not p.api_key})
    if missing:
        problems.append(f"no API key in the gateway's environment: {', '.join(missing)} unset (those providers' models are skipped)")
    if rt.config_error:
        problems.append(f"config reload failed (serving the last valid config): {rt.config_error}")
    if tier_problem:
        problems.append(tier_problem)
    status = 503 if rt.ledger is None or rt.client is None or tier_problem else 200
    body: dict[str, Any] = {"ready": status == 200, "problems": problems}
    if rt.team is not None:  # team mode: shared state, or degraded to local limits (still serving)
        body["state"] = team_state = rt.team.status()
        if not team_state["shared"]:
            problems.append(f"shared state degraded: {team_state['reason']}")
    spooled = spooled_rows(rt)
    if spooled is not None:  # PostgreSQL ledger in spool mode: rows answered but not yet in the team's ledger
        body["ledger"] = {"spooled": spooled}
        if spooled >= SPOOL_WARN:
            problems.append(f"ledger: {spooled} rows wait in the local spool for PostgreSQL (still serving; "
                            "they are sent when it answers)")
    return status, body


SPOOL_WARN = 1000  # rows: well above a normal group-commit batch, so only an absent or stalled PostgreSQL says so


def spooled_rows(rt: Runtime) -> int | None:
    """Rows in the PostgreSQL ledger's local journal not yet committed (None: no spool)."""
    journal = getattr(rt.ledger, "journal", None)
    return None if journal is None else int(journal.pending)
