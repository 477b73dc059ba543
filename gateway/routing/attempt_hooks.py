"""The governor's hooks on every upstream attempt (see `gateway.attempt` for when each runs).

- before_send: choose the key with most headroom (and a free pool slot), put it in the
  request's auth header, wait briefly in line for the pool's `max_concurrency`, or skip the
  candidate (nothing spent) so the next model is tried;
- on_response: correct the local counters from the provider's rate-limit headers; on a
  refusal retire the key (401/403) or cool the model or its whole account (429);
- on_finish: give the pool slot back; name the key that served in the Exchange;
- tick (from the runtime's background loop): OpenRouter's key endpoint, whose free-day
  counter corrects each key's pool.

Key values go only into the outgoing request's headers; everything recorded names the key
by its fingerprint.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import aiohttp

from gateway.config import Model
from gateway.errors import SkipCandidate
from gateway.routing.governor import DEFAULT_WAIT_S, Gates, refusal
from gateway.routing.keys import Key, keys_of
from gateway.routing.quotas import day_bounds
from gateway.routing.ratelimit_headers import flavor_of, from_key_endpoint, parse

KEY_POLL_S = 300.0  # OpenRouter's key endpoint, per key: every five minutes

if TYPE_CHECKING:
    from gateway.attempt import UpstreamAttempt
    from gateway.runtime import Runtime
    from gateway.upstream import Opened


class Governor:
    """Owns the pool gates; its three methods are the attempt hooks."""

    def __init__(self, rt: Runtime, *, max_wait: float = DEFAULT_WAIT_S, scale: float = 1.0) -> None:
        self.rt = rt
        self.max_wait = max_wait
        self.gates = Gates(rt.clock, scale=scale)
        self._held: dict[int, tuple[str, str]] = {}  # id(attempt) -> the gate it holds
        self._next_poll = 0.0

    async def tick(self) -> None:
        """From the runtime's background loop: read OpenRouter's key endpoint for each key every KEY_POLL_S."""
        now = self.rt.clock()
        if now < self._next_poll or self.rt.client is None:
            return
        self._next_poll = now + KEY_POLL_S
        for provider in self.rt.config.providers.values():
            if flavor_of(provider.base_url) != "openrouter":
                continue
            model = next((m for m in self.rt.config.models.values() if m.provider == provider.name), None)
            for key in keys_of(provider) if model is not None else []:
                if key.value:
                    await self._poll_key(provider.base_url, model, key)

    async def _poll_key(self, base_url: str, model: Model, key: Key) -> None:
        """One GET /key (costs no model request); its free-day counter corrects that key's pool."""
        try:
            async with self.rt.client.get(f"{base_url}/key", headers={"authorization": f"Bearer {key.value}"},
                                          timeout=aiohttp.ClientTimeout(total=5)) as r:
                if r.status != 200:
                    return
                doc = await r.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError):
            return
        limits = from_key_endpoint(doc, self.rt.clock())
        if not limits.empty:
            self.rt.routing.quotas.correct(model, key.fp, limits)

    def install(self) -> Governor:
        hooks = self.rt.hooks
        hooks.before_send.append(self.before_send)
        hooks.on_response.append(self.on_response)
        hooks.on_finish.append(self.on_finish)
        return self

    def _limit(self, attempt: UpstreamAttempt) -> tuple[str | None, int | None]:
        cfg = self.rt.config
        pool = cfg.pool_of(attempt.model) if attempt.model.provider in cfg.providers else attempt.model.pool
        spec = cfg.pools.get(pool) if pool else None
        return pool, spec.max_concurrency if spec else None

    def _account_limited(self, attempt: UpstreamAttempt) -> bool:
        """The pool carries account-wide request limits (OpenRouter's, Mistral's): a 429 there spends them all."""
        pool, _ = self._limit(attempt)
        spec = self.rt.config.pools.get(pool) if pool else None
        return spec is not None and bool(spec.rpm or spec.rpd or spec.tpm)

    def _choose(self, attempt: UpstreamAttempt, pool: str | None, limit: int | None) -> Key:
        quotas = self.rt.routing.quotas
        keys = quotas.active_keys(attempt.model)
        room = {k.fp: quotas.headroom(attempt.model, k.fp, attempt.tokens) for k in keys}
        usable = [k for k in keys if room[k.fp] > 0]
        if not usable:
            why = quotas.check(attempt.model, attempt.tokens)
            raise SkipCandidate(why.reason if why else "no key with room", why.until if why else None)
        with_slot = [k for k in usable if pool is None or self.gates.free((pool, k.fp), limit)]
        return max(with_slot or usable, key=lambda k: room[k.fp])  # max keeps config order on ties

    async def before_send(self, attempt: UpstreamAttempt) -> None:
        pool, limit = self._limit(attempt)
        key = self._choose(attempt, pool, limit)
        if pool is not None and limit is not None:
            gate = (pool, key.fp)
            if not await self.gates.acquire(gate, limit, self.max_wait):
                raise SkipCandidate(f"pool {pool!r} busy: {limit} requests in flight for {self.max_wait:g}s")
            self._held[id(attempt)] = gate
            why = self.rt.routing.quotas.check(attempt.model, attempt.tokens, key=key.fp)
            if why is not None:  # the requests ahead in line spent what was left
                raise SkipCandidate(why.reason, why.until)  # on_finish releases the slot
        attempt.key = key.fp or None
        attempt.row.key = attempt.key
        if key.value:
            set_auth(attempt.headers, attempt.provider.dialect, key.value)

    def on_response(self, attempt: UpstreamAttempt, opened: Opened) -> None:
        rt, model = self.rt, attempt.model
        now = rt.clock()
        status = opened.status
        body = opened.first if status >= 400 else b""
        limits = parse(opened.headers, now, flavor_of(attempt.provider.base_url), body)
        quotas = rt.routing.quotas
        if not limits.empty:
            quotas.correct(model, attempt.key, limits)
        pool, _ = self._limit(attempt)
        spec = self.rt.config.pools.get(pool) if pool else None
        day_ends = day_bounds(now, spec.day_tz if spec else "UTC")[1]
        what = refusal(status, limits, body, now, self._account_limited(attempt), day_ends)
        if what is None:
            return
        if what.scope == "key":
            # Retire it only while another key can take over: a lone key stays with the breaker
            # (open, then probe), so a passing 401 never takes a provider away until a restart.
            if attempt.key and len(quotas.active_keys(model)) > 1:
                quotas.retire(attempt.key, what.reason)
        else:
            quotas.cool(model, what.until or now, what.reason, key=attempt.key, whole_pool=what.scope == "pool")

    def other_key_serves(self, attempt: UpstreamAttempt) -> bool:
        """The provider refused this attempt's key (now retired) and another key of it still works."""
        quotas = self.rt.routing.quotas
        if not attempt.key or quotas.keyring.retired(attempt.key) is None:
            return False
        return bool(quotas.active_keys(attempt.model))

    def on_finish(self, attempt: UpstreamAttempt) -> None:
        gate = self._held.pop(id(attempt), None)
        if gate is not None:
            self.gates.release(gate)
        if attempt.outcome == "ok":
            attempt.ex.key_fp = attempt.key

    def pools_view(self) -> list[dict[str, Any]]:
        """/xx/models "pools": limits, the models drawing on each, and one row per key (see Quotas.key_rows)."""
        cfg, quotas = self.rt.config, self.rt.routing.quotas
        out = []
        for name, spec in cfg.pools.items():
            models = [m for m in cfg.models.values() if m.provider in cfg.providers and cfg.pool_of(m) == name]
            if not models:
                continue
            keys = quotas.key_rows(models[0])
            for row in keys:
                row["in_flight"] = self.gates.in_flight((name, str(row["key"] or "")))
            out.append({"name": name, "provider": models[0].provider, "models": [m.name for m in models],
                        "rpm": spec.rpm, "rpd": spec.rpd, "tpm": spec.tpm, "max_concurrency": spec.max_concurrency,
                        "keys": keys})
        return out

    def view(self) -> dict[str, Any]:
        """Pool gates for /xx/models: in flight per (pool, key), timeouts, queueing delay p95 (seconds)."""
        waits = sorted(self.gates.waits)
        p95 = waits[int(len(waits) * 0.95)] if waits else 0.0
        return {"timeouts": self.gates.timeouts, "queued": len(waits), "wait_p95_s": round(p95, 3)}


def set_auth(headers: dict[str, str], dialect: str, value: str) -> None:
    """The chosen key in the provider's auth header (the same places upstream.auth_headers uses)."""
    if dialect == "anthropic":
        headers["x-api-key"] = value
    else:
        headers["authorization"] = f"Bearer {value}"
