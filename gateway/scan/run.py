"""One scan: read each provider's catalog, keep what an agent can use, probe within budget, score.

Used by `xx models scan` (its own HTTP session, quotas rebuilt from today's ledger) and by the
gateway's background refresh (the gateway's session and live quotas). Probes are requests like
any other: each is checked against and recorded in the quotas, and written to the ledger as
an Exchange of agent `xx-scan`, so a restarted gateway counts them too. Nothing here raises
for a provider's misbehaviour: every problem becomes a reason in the report.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from gateway.config import Config, Model, Provider, Timeouts
from gateway.exchange import Attempt, Exchange
from gateway.scan import catalog, score
from gateway.scan.catalog import CatalogError, Entry, Rejected
from gateway.scan.probe import Budget, ProbeResult, probe
from gateway.scrubbing import scrub
from gateway.upstream import auth_headers

SCAN_AGENT = "xx-scan"
HISTORY_DAYS = 7
CONCURRENCY = 4
PROBE_TIMEOUTS = Timeouts(connect=10.0, first_byte=30.0, idle=30.0)


@dataclass
class _Provider:
    """What one provider's catalog gave."""

    name: str
    entries: list[Entry] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    error: str | None = None
    requests: int = 0


async def scan(config: Config, *, budget: int, session: aiohttp.ClientSession | None = None, quotas: Any = None,
               ledger: Any = None, now: Callable[[], float] = time.time, only: str | None = None,
               timeouts: Timeouts = PROBE_TIMEOUTS) -> dict[str, Any]:
    """The scan report (what `store.save` keeps and `xx models scan --json` prints)."""
    own = session is None
    if session is None:
        from gateway.upstream import make_client

        session = make_client(timeouts)
    try:
        started = now()
        providers = [p for p in config.providers.values() if only is None or p.name == only]
        cats = await asyncio.gather(*(_catalog(session, config, p, started, timeouts, budget) for p in providers))
        candidates = sorted((e for c in cats for e in c.entries), key=lambda e: _order(e, config))
        b = Budget(budget)
        probes, sent = await _probe_all(session, config, candidates, b, quotas, ledger, timeouts, now)
        rows = ledger.since(started - HISTORY_DAYS * 86400) if ledger is not None else []
        hist = score.history(r for r in rows if r.get("agent") != SCAN_AGENT)
        models = [_judge(e, probes.get((e.provider, e.id)), hist, config, quotas) for e in candidates]
        return {
            "scanned_at": started, "seconds": round(now() - started, 2), "budget": budget, "spent": b.spent,
            "sent": sent,  # the probes that reached a provider: a gateway that did not send them counts them
            "catalog_requests": sum(c.requests for c in cats),
            "providers": {c.name: {"ok": c.error is None, "error": c.error, "models": len(c.entries)} for c in cats},
            "models": sorted(models, key=lambda m: (not m["usable"], -m["score"])),
            "skipped": [r.as_dict() for c in cats for r in c.rejected],
        }
    finally:
        if own:
            await session.close()


def _order(e: Entry, config: Config) -> tuple[int, float]:
    """Configured models first (the user's choice), then discovered ones by catalog facts."""
    configured = any(m.provider == e.provider and m.id == e.id for m in config.models.values())
    return (0 if configured else 1, -catalog.prescore(e))


def _configured(config: Config, provider: str) -> dict[str, int | None]:
    return {m.id: m.context for m in config.models.values() if m.provider == provider}


async def _get(session: aiohttp.ClientSession, url: str, headers: Mapping[str, str], timeouts: Timeouts) -> bytes:
    """A catalog GET within the probe timeouts; every transport problem becomes a CatalogError (a reason)."""
    try:
        async with asyncio.timeout(timeouts.first_byte + timeouts.idle):
            async with session.get(url, headers=dict(headers), allow_redirects=False) as resp:
                body = await resp.content.read(8 * 1024 * 1024)
                if resp.status >= 400:
                    raise CatalogError(f"GET {url.split('?')[0]} answered HTTP {resp.status}: {body[:120].decode(errors='replace')}")
                return body
    except TimeoutError:
        raise CatalogError(f"GET {url} timed out") from None
    except (aiohttp.ClientError, ConnectionError, OSError) as exc:
        raise CatalogError(f"GET {url} failed: {type(exc).__name__}") from None


async def _catalog(session: aiohttp.ClientSession, config: Config, p: Provider, now: float, timeouts: Timeouts,
                   budget: int) -> _Provider:
    out = _Provider(p.name)
    if p.api_key_ref and not p.api_key:
        out.error = f"no API key ({p.api_key_ref} unset)"
        return out
    headers = auth_headers(p) | ({"anthropic-version": "2023-06-01"} if p.dialect == "anthropic" else {})
    url = p.base_url + ("/v1/models" if p.dialect == "anthropic" else "/models")
    try:
        out.requests += 1
        raw = await _get(session, url, headers, timeouts)
        rich = _is_openrouter_shape(raw)
        entries = catalog.openrouter_models(raw, p.name) if rich else catalog.openai_models(raw, p.name)
    except CatalogError as exc:
        out.error = config_scrub(str(exc), config)
        return out
    configured = _configured(config, p.name)
    keep, out.rejected = catalog.select(entries, now, configured=configured, discover_free=rich)
    listed = {e.id for e in entries}
    out.rejected += [Rejected(p.name, mid, "not in the provider's catalog (retired or renamed?)")
                     for mid in configured if mid not in listed]
    keep.sort(key=lambda e: _order(e, config))
    mine = [e for e in keep if e.id in configured]
    out.entries = mine + [e for e in keep if e.id not in configured][: max(0, budget - len(mine))]
    if rich:  # endpoint details for as many as can be probed: the rest keep the list's facts
        refined = await asyncio.gather(*(_endpoints(session, p, e, headers, timeouts, out) for e in out.entries[:budget]))
        out.entries[: len(refined)] = refined
    return out


async def _endpoints(session: aiohttp.ClientSession, p: Provider, e: Entry, headers: Mapping[str, str],
                     timeouts: Timeouts, out: _Provider) -> Entry:
    out.requests += 1
    try:
        raw = await _get(session, f"{p.base_url}/models/{e.id}/endpoints", headers, timeouts)
        return catalog.openrouter_endpoints(raw, e)
    except CatalogError:
        return e  # the list's facts stand; the probe still decides


def _is_openrouter_shape(raw: bytes) -> bool:
    head = raw[:200_000]
    return b'"supported_parameters"' in head or b'"architecture"' in head


async def _probe_all(session: aiohttp.ClientSession, config: Config, entries: list[Entry], budget: Budget,
                     quotas: Any, ledger: Any, timeouts: Timeouts, now: Callable[[], float],
                     ) -> tuple[dict[tuple[str, str], dict], list[dict[str, Any]]]:
    sem = asyncio.Semaphore(CONCURRENCY)
    out: dict[tuple[str, str], dict] = {}
    sent: list[dict[str, Any]] = []

    async def one(e: Entry) -> None:
        async with sem:
            model = _model_for(e, config)
            why = quotas.check(model) if quotas is not None else None
            if why is not None:
                out[(e.provider, e.id)] = ProbeResult(False, f"quota: {why.reason}").as_dict()
                return
            if budget.spent >= budget.limit:
                return  # not probed: the verdict says so
            t0 = now()
            result = await probe(session, config.providers[e.provider], e.id, budget, timeouts, config.secrets())
            if result.reached:
                sent.append({"provider": e.provider, "id": e.id, "at": t0})
                if quotas is not None:
                    quotas.record(model, 0)
                if ledger is not None:
                    await ledger.write(_exchange(model, result, t0, now()))
            out[(e.provider, e.id)] = result.as_dict()

    await asyncio.gather(*(one(e) for e in entries))
    return out, sent


def _model_for(e: Entry, config: Config) -> Model:
    for m in config.models.values():
        if m.provider == e.provider and m.id == e.id:
            return m
    return Model(name=e.id, provider=e.provider, id=e.id, free=e.free, context=e.context)


def _exchange(model: Model, r: ProbeResult, t0: float, t1: float) -> Exchange:
    ok = r.ok
    ex = Exchange(started=t0, ended=t1, agent=SCAN_AGENT, route="scan", dialect="probe", path="/xx/scan",
                  requested_model=model.id, stream=True, status=r.status or 0, outcome="ok" if ok else "error",
                  model=model.name if ok else None, provider=model.provider if ok else None, error=None if ok else r.reason)
    ex.attempts.append(Attempt(model.name, model.provider, "ok" if ok else "error", r.status, r.total_ms or 0.0,
                               None if ok else r.reason, reached=True))
    return ex


def _judge(e: Entry, probe_result: dict | None, hist: dict[str, score.History], config: Config, quotas: Any) -> dict[str, Any]:
    model = _model_for(e, config)
    v = score.score(e.as_dict(), probe_result, hist.get(model.name), _headroom(quotas, model))
    return {
        "provider": e.provider, "id": e.id, "name": model.name if model.name in config.models else None,
        "context": e.context, "free": e.free, "price": dict(e.price), "usable": v.usable, "score": v.score,
        "reason": v.reason, "parts": dict(v.parts), "probe": probe_result,
        "history": hist[model.name].as_dict() if model.name in hist else None,
        "catalog": {k: v for k, v in e.as_dict().items() if k in ("uptime", "latency_s", "throughput", "caching", "expires")},
    }


def _headroom(quotas: Any, model: Model) -> float | None:
    """The largest share of today's limits left under any key (0: none now); None without quota state."""
    if quotas is None:
        return None
    if quotas.check(model) is not None:
        return 0.0
    try:
        return max((quotas.headroom(model, k.fp) for k in quotas.active_keys(model)), default=1.0)
    except AttributeError:  # an older Quotas without keys
        return None


def config_scrub(text: str, config: Config) -> str:
    return scrub(text, config.secrets())

